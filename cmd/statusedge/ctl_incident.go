package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/client"
)

func incidentNoun() ctlNoun {
	return ctlNoun{name: "incident", short: "open, update and resolve incidents", verbs: []ctlVerb{
		{name: "create", short: "open an incident (its components' statuses change with it)", setup: incidentCreate},
		{name: "list", short: "list a site's incidents, newest first", setup: incidentList},
		{name: "get", args: "ID", short: "show an incident and its timeline", setup: incidentGet},
		{name: "update", args: "ID", short: "change an incident's name or impact", setup: incidentUpdate},
		{name: "delete", args: "ID", short: "delete an incident", setup: incidentDelete},
		{name: "post", args: "ID", short: "post an update (status, body, component statuses)", setup: incidentPost},
		{name: "edit-update", args: "ID UPDATE_ID", short: "correct an update's text or display time (the earlier one is kept on record)", setup: incidentEditUpdate},
		{name: "delete-update", args: "ID UPDATE_ID", short: "take an update off the timeline (kept on record; the statuses it set stay)", setup: incidentDeleteUpdate},
	}}
}

func incidentCreate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	name := fs.String("name", "", "incident name (required)")
	status := fs.String("status", string(content.Investigating), "one of "+ctlEnumList(content.IncidentStatuses))
	impact := fs.String("impact", string(content.ImpactNone), "one of "+ctlEnumList(content.Impacts))
	startedAt := fs.String("started-at", "", "when it started: RFC 3339, now, or relative such as -30m (default now)")
	var comps ctlMulti
	fs.Var(&comps, "component", "NAME_OR_ID=STATUS, repeatable (e.g. api=major_outage)")
	body := s.bodyFlags("the first update's text (none: the first update has no text)")
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		if !s.set["name"] {
			return ctlFlagErr("name", "required")
		}
		if err := ctlCheckName("name", *name); err != nil {
			return err
		}
		if err := ctlCheckEnum("status", *status, content.IncidentStatuses); err != nil {
			return err
		}
		in := client.IncidentInput{Name: name, Status: client.Ptr(content.IncidentStatus(*status))}
		if s.set["impact"] {
			if err := ctlCheckEnum("impact", *impact, content.Impacts); err != nil {
				return err
			}
			in.Impact = client.Ptr(content.Impact(*impact))
		}
		if s.set["started-at"] {
			if _, err := ctlCheckTime("started-at", startedAt); err != nil {
				return err
			}
			in.StartedAt = startedAt
		}
		cs, err := ctlParseComponentStatuses("component", comps)
		if err != nil {
			return err
		}
		if in.Body, err = s.readBody(body, false); err != nil {
			return err
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		if in.Components, err = s.statusMap(ctx, c, site, cs); err != nil {
			return err
		}
		var raw []byte
		var replayed bool
		inc, err := c.CreateIncident(ctx, site, in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "created incident %s %q: %s, impact %s, %d component(s)%s\n",
				ctlClean(inc.ID), ctlClean(inc.Name), inc.Status, ctlDash(string(inc.Impact)), len(inc.ComponentIDs), ctlReplayNote(replayed))
		})
		return nil
	}
}

// ctlDuplicateWindow is how recent an identical last update must be for
// incident post to refuse a new one without --again.
const ctlDuplicateWindow = 10 * time.Minute

// ctlDuplicateOf reports whether in repeats inc's last update (status and
// text) posted within ctlDuplicateWindow of now, and how long ago it was.
func ctlDuplicateOf(inc *content.Incident, in client.UpdateInput, now time.Time) (time.Duration, bool) {
	if inc == nil || len(inc.Updates) == 0 {
		return 0, false
	}
	last := inc.Updates[len(inc.Updates)-1]
	ago := now.Sub(last.CreatedAt)
	same := last.Status == in.Status && strings.TrimSpace(last.Body) == strings.TrimSpace(in.Body)
	return ago, same && ago < ctlDuplicateWindow
}

// statusMap resolves --component NAME_OR_ID=STATUS values to {id: status}.
func (s *ctlSession) statusMap(ctx context.Context, c *client.Client, site string, cs []ctlComponentStatus) (map[string]content.ComponentStatus, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	refs := make([]string, len(cs))
	for i, x := range cs {
		refs[i] = x.ref
	}
	ids, err := s.resolve(ctx, c, site, "component", ctlComponentKind, refs)
	if err != nil {
		return nil, err
	}
	m := map[string]content.ComponentStatus{}
	for i, id := range ids {
		if _, dup := m[id]; dup {
			return nil, ctlFlagErr("component", "%q and another value name the same component", ctlClean(cs[i].ref))
		}
		m[id] = cs[i].status
	}
	return m, nil
}

func incidentList(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	unresolved := fs.Bool("unresolved", false, "only incidents that are not resolved")
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		list, err := c.Incidents(ctx, site, client.RawBody(&raw))
		if err != nil {
			return err
		}
		if *unresolved {
			var open []*content.Incident
			for _, in := range list {
				if in.Status.Unresolved() {
					open = append(open, in)
				}
			}
			list = open
			if s.g.json {
				raw = ctlJSON(list)
			}
		}
		s.outZoned(ctx, site, raw, func(w io.Writer) {
			if len(list) == 0 {
				fmt.Fprintln(w, "no incidents")
				return
			}
			tw := ctlTable(w)
			fmt.Fprintln(tw, "ID\tSTATUS\tIMPACT\tSTARTED\tUPDATES\tNAME")
			for _, in := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", ctlClean(in.ID), in.Status, ctlDash(string(in.Impact)),
					s.tm(in.StartedAt), len(in.Updates), ctlFirstLine(in.Name, 60))
			}
			tw.Flush()
		})
		return nil
	}
}

func incidentGet(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		c, err := s.idClient()
		if err != nil {
			return err
		}
		var raw []byte
		in, err := c.Incident(ctx, site, s.args[0], client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.outZoned(ctx, site, raw, func(w io.Writer) { s.printIncident(w, in) })
		return nil
	}
}

func (s *ctlSession) printIncident(w io.Writer, in *content.Incident) {
	tw := ctlTable(w)
	fmt.Fprintf(tw, "id:\t%s\n", ctlClean(in.ID))
	fmt.Fprintf(tw, "name:\t%s\n", ctlClean(in.Name))
	fmt.Fprintf(tw, "status:\t%s\n", in.Status)
	fmt.Fprintf(tw, "impact:\t%s\n", ctlDash(string(in.Impact)))
	fmt.Fprintf(tw, "started:\t%s\n", s.tm(in.StartedAt))
	if in.ResolvedAt != nil {
		fmt.Fprintf(tw, "resolved:\t%s\n", s.tmPtr(in.ResolvedAt))
	}
	fmt.Fprintf(tw, "components:\t%s\n", ctlDash(ctlClean(strings.Join(ctlComponentNames(in.ComponentIDs, in.Updates), ", "))))
	tw.Flush()
	s.printTimeline(w, in.Updates)
}

// ctlComponentNames names ids by the names the updates recorded for them
// (the id where none did).
func ctlComponentNames(ids []string, us []*content.Update) []string {
	names := map[string]string{}
	for _, u := range us {
		for _, a := range u.AffectedComponents {
			if a.Name != "" {
				names[a.ComponentID] = a.Name
			}
		}
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmp.Or(names[id], id)
	}
	return out
}

func (s *ctlSession) printTimeline(w io.Writer, us []*content.Update) {
	if len(us) == 0 {
		return
	}
	fmt.Fprintln(w, "timeline (by display time, oldest first; the update ids are what edit-update and delete-update take):")
	tw := ctlTable(w)
	for _, u := range content.Timeline(us) {
		var changes []string
		for _, a := range u.AffectedComponents {
			changes = append(changes, fmt.Sprintf("%s %s→%s", ctlDash(ctlClean(a.Name)), a.OldStatus, a.NewStatus))
		}
		line := ctlFirstLine(u.Body, 70)
		if len(changes) > 0 {
			line += " [" + strings.Join(changes, ", ") + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.tm(u.DisplayAt), ctlClean(u.ID), ctlClean(u.Status), line)
	}
	tw.Flush()
}

func incidentUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	name := fs.String("name", "", "new name")
	impact := fs.String("impact", "", "new impact: one of "+ctlEnumList(content.Impacts))
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		if err := s.checkID(); err != nil {
			return err
		}
		var in client.IncidentInput
		if s.set["name"] {
			if err := ctlCheckName("name", *name); err != nil {
				return err
			}
			in.Name = name
		}
		if s.set["impact"] {
			if err := ctlCheckEnum("impact", *impact, content.Impacts); err != nil {
				return err
			}
			in.Impact = client.Ptr(content.Impact(*impact))
		}
		if in.Name == nil && in.Impact == nil {
			return ctlUsagef("incident update: nothing to change: give --name or --impact (a status change is 'incident post')")
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		inc, err := c.UpdateIncident(ctx, site, s.args[0], in, s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "updated incident %s %q: %s, impact %s\n", ctlClean(inc.ID), ctlClean(inc.Name), inc.Status, ctlDash(string(inc.Impact)))
		})
		return nil
	}
}

func incidentDelete(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		c, err := s.idClient()
		if err != nil {
			return err
		}
		var raw []byte
		if err := c.DeleteIncident(ctx, site, s.args[0], s.write(&raw, nil)...); err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted incident %s\n", ctlClean(s.args[0])) })
		return nil
	}
}

func incidentPost(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	status := fs.String("status", "", "the incident's new status (required): one of "+ctlEnumList(content.IncidentStatuses))
	displayAt := fs.String("display-at", "", "when to show the update: RFC 3339, now, or relative such as -10m, at most 5m ahead (default now)")
	var comps ctlMulti
	fs.Var(&comps, "component", "NAME_OR_ID=STATUS, repeatable (e.g. api=operational)")
	body := s.bodyFlags("the update's text (required)")
	again := fs.Bool("again", false, "post even if the last update, posted minutes ago, has the same status and text")
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		if err := s.checkID(); err != nil {
			return err
		}
		if !s.set["status"] {
			return ctlFlagErr("status", "required: one of %s", ctlEnumList(content.IncidentStatuses))
		}
		if err := ctlCheckEnum("status", *status, content.IncidentStatuses); err != nil {
			return err
		}
		in := client.UpdateInput{Status: *status}
		if s.set["display-at"] {
			if _, err := ctlCheckTime("display-at", displayAt); err != nil {
				return err
			}
			in.DisplayAt = displayAt
		}
		cs, err := ctlParseComponentStatuses("component", comps)
		if err != nil {
			return err
		}
		b, err := s.readBody(body, true)
		if err != nil {
			return err
		}
		in.Body = *b
		c, err := s.client()
		if err != nil {
			return err
		}
		if in.Components, err = s.statusMap(ctx, c, site, cs); err != nil {
			return err
		}
		// The same update twice is almost always a command run again by
		// mistake (each run has a new Idempotency-Key). A retry with
		// --idempotency-key is safe and not checked.
		// If the check cannot read the incident the post goes ahead and
		// reports what went wrong itself.
		if !*again && s.g.idemKey == "" {
			cur, err := c.Incident(ctx, site, s.args[0])
			if ago, dup := ctlDuplicateOf(cur, in, time.Now()); err == nil && dup {
				return ctlUsagef("incident post: the last update, %s ago, has the same status and text: nothing posted (--again posts it anyway)", ago.Round(time.Second))
			}
		}
		var raw []byte
		var replayed bool
		inc, err := c.PostIncidentUpdate(ctx, site, s.args[0], in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			uid := "-"
			if n := len(inc.Updates); n > 0 {
				uid = ctlClean(inc.Updates[n-1].ID)
			}
			fmt.Fprintf(w, "posted update %s to incident %s %q: now %s (%d updates)%s\n",
				uid, ctlClean(inc.ID), ctlClean(inc.Name), inc.Status, len(inc.Updates), ctlReplayNote(replayed))
		})
		return nil
	}
}

func ctlDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func incidentEditUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	displayAt := fs.String("display-at", "", "when to show the update: RFC 3339, now, or relative such as -10m, at most 5m ahead")
	body := s.bodyFlags("the update's corrected text")
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		if err := s.checkIDs(); err != nil {
			return err
		}
		var in client.UpdateEdit
		if s.set["display-at"] {
			if _, err := ctlCheckTime("display-at", displayAt); err != nil {
				return err
			}
			in.DisplayAt = displayAt
		}
		if in.Body, err = s.readBody(body, false); err != nil {
			return err
		}
		if in.Body == nil && in.DisplayAt == nil {
			return ctlUsagef("incident edit-update: nothing to change (give --body or --display-at)")
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		inc, err := c.EditIncidentUpdate(ctx, site, s.args[0], s.args[1], in, s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "edited update %s of incident %s %q\n", ctlClean(s.args[1]), ctlClean(inc.ID), ctlClean(inc.Name))
		})
		return nil
	}
}

func incidentDeleteUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		if err := s.checkIDs(); err != nil {
			return err
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		inc, err := c.DeleteIncidentUpdate(ctx, site, s.args[0], s.args[1], s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "deleted update %s of incident %s %q (%d updates left)\n", ctlClean(s.args[1]), ctlClean(inc.ID), ctlClean(inc.Name), len(inc.Updates))
		})
		return nil
	}
}
