package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/client"
)

func maintenanceNoun() ctlNoun {
	return ctlNoun{name: "maintenance", short: "scheduled maintenances (their components are under maintenance while in progress)", verbs: []ctlVerb{
		{name: "create", short: "schedule a maintenance", setup: maintenanceCreate},
		{name: "list", short: "list a site's maintenances", setup: maintenanceList},
		{name: "get", args: "ID", short: "show a maintenance and its timeline", setup: maintenanceGet},
		{name: "update", args: "ID", short: "change a maintenance's name, window, components or automation (its text changes by 'maintenance post')", setup: maintenanceUpdate},
		{name: "delete", args: "ID", short: "delete a maintenance", setup: maintenanceDelete},
		{name: "post", args: "ID", short: "post an update (status and body)", setup: maintenancePost},
	}}
}

type ctlMaintenanceFlags struct {
	name, from, until string
	components        ctlMulti
	auto              bool
	body              *ctlBody
}

// registerMaintenanceFlags registers a maintenance's flags; only create
// takes a body (later text is an update: 'maintenance post').
func registerMaintenanceFlags(s *ctlSession, create bool) *ctlMaintenanceFlags {
	f := &ctlMaintenanceFlags{}
	s.fs.StringVar(&f.name, "name", "", "maintenance name")
	s.fs.StringVar(&f.from, "scheduled-for", "", "start: RFC 3339, now, or relative such as +1h")
	s.fs.StringVar(&f.until, "scheduled-until", "", "end, after --scheduled-for: RFC 3339 or relative such as +2h")
	s.fs.Var(&f.components, "component", "an affected component NAME_OR_ID, repeatable")
	auto := "start and complete it automatically at its times (--auto-transition=false: by hand with 'maintenance post')"
	if !create {
		auto += "; unchanged unless given"
	}
	s.fs.BoolVar(&f.auto, "auto-transition", create, auto) // a new one's default: on
	if create {
		f.body = s.bodyFlags("what is planned (default \"Scheduled maintenance.\")")
	}
	return f
}

func (f *ctlMaintenanceFlags) input(ctx context.Context, s *ctlSession, site string, create bool) (client.MaintenanceInput, error) {
	var in client.MaintenanceInput
	if create && !s.set["name"] {
		return in, ctlFlagErr("name", "required")
	}
	if s.set["name"] {
		if err := ctlCheckName("name", f.name); err != nil {
			return in, err
		}
		in.Name = &f.name
	}
	var from, until time.Time
	var err error
	if create && !s.set["scheduled-for"] {
		return in, ctlFlagErr("scheduled-for", "required (RFC 3339, e.g. 2026-11-25T02:00:00Z)")
	}
	if s.set["scheduled-for"] {
		if from, err = ctlCheckTime("scheduled-for", &f.from); err != nil {
			return in, err
		}
		in.ScheduledFor = &f.from
	}
	if create && !s.set["scheduled-until"] {
		return in, ctlFlagErr("scheduled-until", "required (RFC 3339, after --scheduled-for)")
	}
	if s.set["scheduled-until"] {
		if until, err = ctlCheckTime("scheduled-until", &f.until); err != nil {
			return in, err
		}
		in.ScheduledUntil = &f.until
	}
	if in.ScheduledFor != nil && in.ScheduledUntil != nil && !until.After(from) {
		return in, ctlFlagErr("scheduled-until", "must be after --scheduled-for")
	}
	if create && len(f.components) == 0 {
		return in, ctlFlagErr("component", "required: at least one affected component")
	}
	if err := ctlCheckRefs("component", f.components); err != nil {
		return in, err
	}
	if s.set["auto-transition"] {
		in.AutoTransition = &f.auto
	}
	if f.body != nil {
		if in.Body, err = s.readBody(f.body, false); err != nil {
			return in, err
		}
	}
	ids, err := s.componentsInput(ctx, site, "maintenance", !create && in == (client.MaintenanceInput{}), ctlComponentKind, f.components)
	if err != nil {
		return in, err
	}
	in.Components = ids
	return in, nil
}

func maintenanceCreate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerMaintenanceFlags(s, true)
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		in, err := f.input(ctx, s, site, true)
		if err != nil {
			return err
		}
		var raw []byte
		var replayed bool
		m, err := s.c.CreateMaintenance(ctx, site, in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.outZoned(ctx, site, raw, func(w io.Writer) {
			fmt.Fprintf(w, "created maintenance %s %q: %s, %s to %s, %d component(s)%s\n", ctlClean(m.ID), ctlClean(m.Name), m.Status,
				s.tm(m.ScheduledFor), s.tm(m.ScheduledUntil), len(m.ComponentIDs), ctlReplayNote(replayed))
		})
		return nil
	}
}

func maintenanceList(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
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
		list, err := c.Maintenances(ctx, site, client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.outZoned(ctx, site, raw, func(w io.Writer) {
			if len(list) == 0 {
				fmt.Fprintln(w, "no maintenances")
				return
			}
			tw := ctlTable(w)
			fmt.Fprintln(tw, "ID\tSTATUS\tFROM\tUNTIL\tNAME")
			for _, m := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ctlClean(m.ID), m.Status, s.tm(m.ScheduledFor), s.tm(m.ScheduledUntil), ctlFirstLine(m.Name, 60))
			}
			tw.Flush()
		})
		return nil
	}
}

func maintenanceGet(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		m, err := c.Maintenance(ctx, site, s.args[0], client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.outZoned(ctx, site, raw, func(w io.Writer) { s.printMaintenance(w, m) })
		return nil
	}
}

func (s *ctlSession) printMaintenance(w io.Writer, m *content.Maintenance) {
	tw := ctlTable(w)
	fmt.Fprintf(tw, "id:\t%s\n", ctlClean(m.ID))
	fmt.Fprintf(tw, "name:\t%s\n", ctlClean(m.Name))
	fmt.Fprintf(tw, "status:\t%s\n", m.Status)
	fmt.Fprintf(tw, "window:\t%s to %s\n", s.tm(m.ScheduledFor), s.tm(m.ScheduledUntil))
	fmt.Fprintf(tw, "auto transition:\t%v\n", m.AutoTransition)
	fmt.Fprintf(tw, "components:\t%d\n", len(m.ComponentIDs))
	tw.Flush()
	s.printTimeline(w, m.Updates)
}

func maintenanceUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerMaintenanceFlags(s, false)
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		if err := s.checkID(); err != nil {
			return err
		}
		in, err := f.input(ctx, s, site, false)
		if err != nil {
			return err
		}
		var raw []byte
		m, err := s.c.UpdateMaintenance(ctx, site, s.args[0], in, s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.outZoned(ctx, site, raw, func(w io.Writer) {
			fmt.Fprintf(w, "updated maintenance %s %q: %s, %s to %s\n", ctlClean(m.ID), ctlClean(m.Name), m.Status, s.tm(m.ScheduledFor), s.tm(m.ScheduledUntil))
		})
		return nil
	}
}

func maintenanceDelete(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		if err := c.DeleteMaintenance(ctx, site, s.args[0], s.write(&raw, nil)...); err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted maintenance %s\n", ctlClean(s.args[0])) })
		return nil
	}
}

func maintenancePost(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	status := fs.String("status", "", "the new status (required): one of "+ctlEnumList(content.MaintenanceStatuses))
	body := s.bodyFlags("the update's text (required)")
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		if err := s.checkID(); err != nil {
			return err
		}
		if !s.set["status"] {
			return ctlFlagErr("status", "required: one of %s", ctlEnumList(content.MaintenanceStatuses))
		}
		if err := ctlCheckEnum("status", *status, content.MaintenanceStatuses); err != nil {
			return err
		}
		b, err := s.readBody(body, true)
		if err != nil {
			return err
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		var replayed bool
		m, err := c.PostMaintenanceUpdate(ctx, site, s.args[0], client.UpdateInput{Status: *status, Body: *b}, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "posted update to maintenance %s %q: now %s (%d updates)%s\n",
				ctlClean(m.ID), ctlClean(m.Name), m.Status, len(m.Updates), ctlReplayNote(replayed))
		})
		return nil
	}
}
