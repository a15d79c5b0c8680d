package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/client"
)

func componentNoun() ctlNoun {
	return ctlNoun{name: "component", short: "a site's components (a component's status change is recorded in its history)", verbs: []ctlVerb{
		{name: "create", short: "add a component", setup: componentCreate},
		{name: "list", short: "list components and groups", setup: componentList},
		{name: "get", args: "NAME_OR_ID", short: "show a component", setup: componentGet},
		{name: "update", args: "NAME_OR_ID", short: "change a component (e.g. --status degraded_performance)", setup: componentUpdate},
		{name: "delete", args: "NAME_OR_ID", short: "delete a component", setup: componentDelete},
	}}
}

func groupNoun() ctlNoun {
	return ctlNoun{name: "group", short: "component groups (one level deep)", verbs: []ctlVerb{
		{name: "create", short: "add a group holding --component components", setup: groupCreate},
		{name: "update", args: "NAME_OR_ID", short: "change a group", setup: groupUpdate},
		{name: "delete", args: "NAME_OR_ID", short: "delete a group (its components become ungrouped)", setup: groupDelete},
	}}
}

type ctlComponentFlags struct {
	name, description, group, status, startDate string
	position                                    int
	onlyIfDegraded, showcase                    bool
}

// registerComponentFlags registers a component's flags; on update (create
// false) a flag not given leaves its field as it is, whatever its default.
func registerComponentFlags(fs *flag.FlagSet, create bool) *ctlComponentFlags {
	f := &ctlComponentFlags{}
	fs.StringVar(&f.name, "name", "", "component name")
	fs.StringVar(&f.description, "description", "", "one-line description")
	fs.StringVar(&f.group, "group", "", "group NAME_OR_ID (empty ungroups)")
	fs.IntVar(&f.position, "position", 0, "position on the page")
	fs.StringVar(&f.status, "status", "", "one of "+ctlEnumList(content.ComponentStatuses))
	fs.BoolVar(&f.onlyIfDegraded, "only-show-if-degraded", false, "hide the component while it is operational")
	showcase := "show its 90-day uptime bar (--showcase=false hides it)"
	if !create {
		showcase += "; unchanged unless given"
	}
	fs.BoolVar(&f.showcase, "showcase", create, showcase) // a new one's default: shown
	fs.StringVar(&f.startDate, "start-date", "", "first day of uptime history, YYYY-MM-DD")
	return f
}

// input checks the given flags; the group is resolved later (it needs a call).
func (f *ctlComponentFlags) input(set map[string]bool, create bool) (client.ComponentInput, error) {
	var in client.ComponentInput
	if create && !set["name"] {
		return in, ctlFlagErr("name", "required")
	}
	if set["name"] {
		if err := ctlCheckName("name", f.name); err != nil {
			return in, err
		}
		in.Name = &f.name
	}
	if set["description"] {
		if err := ctlCheckText("description", f.description, 4096); err != nil {
			return in, err
		}
		in.Description = &f.description
	}
	if set["position"] {
		if err := ctlCheckPosition("position", f.position); err != nil {
			return in, err
		}
		in.Position = &f.position
	}
	if set["status"] {
		if err := ctlCheckEnum("status", f.status, content.ComponentStatuses); err != nil {
			return in, err
		}
		in.Status = client.Ptr(content.ComponentStatus(f.status))
	}
	if set["only-show-if-degraded"] {
		in.OnlyShowIfDegraded = &f.onlyIfDegraded
	}
	if set["showcase"] {
		in.Showcase = &f.showcase
	}
	if set["start-date"] {
		if err := ctlCheckDate("start-date", f.startDate); err != nil {
			return in, err
		}
		in.StartDate = &f.startDate
	}
	return in, nil
}

// groupID resolves --group (if given) into in.GroupID.
func (s *ctlSession) groupID(ctx context.Context, c *client.Client, site string, f *ctlComponentFlags, in *client.ComponentInput) error {
	if !s.set["group"] {
		return nil
	}
	if f.group == "" {
		in.GroupID = client.Ptr("")
		return nil
	}
	ids, err := s.resolve(ctx, c, site, "group", ctlGroupKind, []string{f.group})
	if err != nil {
		return err
	}
	in.GroupID = &ids[0]
	return nil
}

func componentCreate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerComponentFlags(fs, true)
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		in, err := f.input(s.set, true)
		if err != nil {
			return err
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		if err := s.groupID(ctx, c, site, f, &in); err != nil {
			return err
		}
		var raw []byte
		var replayed bool
		comp, err := c.CreateComponent(ctx, site, in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "created component %s %q: %s%s\n", ctlClean(comp.ID), ctlClean(comp.Name), comp.Status, ctlReplayNote(replayed))
		})
		return nil
	}
}

func componentList(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		list, err := c.Components(ctx, site, client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			if len(list) == 0 {
				fmt.Fprintln(w, "no components")
				return
			}
			names := map[string]string{}
			for _, x := range list {
				names[x.ID] = x.Name
			}
			tw := ctlTable(w)
			fmt.Fprintln(tw, "ID\tSTATUS\tGROUP\tNAME")
			for _, x := range list {
				group := "-"
				switch {
				case x.Group:
					group = "(group)"
				case x.GroupID != nil:
					group = ctlFirstLine(ctlDash(names[*x.GroupID]), 30)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ctlClean(x.ID), x.Status, group, ctlFirstLine(x.Name, 60))
			}
			tw.Flush()
		})
		return nil
	}
}

func componentGet(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		id, err := s.resolveOne(ctx, c, site, ctlAnyKind)
		if err != nil {
			return err
		}
		var raw []byte
		x, err := c.Component(ctx, site, id, client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			tw := ctlTable(w)
			fmt.Fprintf(tw, "id:\t%s\n", ctlClean(x.ID))
			fmt.Fprintf(tw, "name:\t%s\n", ctlClean(x.Name))
			fmt.Fprintf(tw, "status:\t%s\n", x.Status)
			if x.Description != nil {
				fmt.Fprintf(tw, "description:\t%s\n", ctlClean(*x.Description))
			}
			if x.Group {
				fmt.Fprintf(tw, "group:\t(this is a group)\n")
			} else if x.GroupID != nil {
				fmt.Fprintf(tw, "group:\t%s\n", ctlClean(*x.GroupID))
			}
			fmt.Fprintf(tw, "position:\t%d\n", x.Position)
			fmt.Fprintf(tw, "showcase:\t%v\n", x.Showcase)
			fmt.Fprintf(tw, "only if degraded:\t%v\n", x.OnlyShowIfDegraded)
			fmt.Fprintf(tw, "updated:\t%s\n", ctlTime(x.UpdatedAt))
			tw.Flush()
		})
		return nil
	}
}

func componentUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerComponentFlags(fs, false)
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		in, err := f.input(s.set, false)
		if err != nil {
			return err
		}
		if in == (client.ComponentInput{}) && !s.set["group"] {
			return ctlUsagef("component update: nothing to change (see 'statusedge ctl component update -h')")
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		id, err := s.resolveOne(ctx, c, site, ctlComponentKind)
		if err != nil {
			return err
		}
		if err := s.groupID(ctx, c, site, f, &in); err != nil {
			return err
		}
		var raw []byte
		comp, err := c.UpdateComponent(ctx, site, id, in, s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "updated component %s %q: %s\n", ctlClean(comp.ID), ctlClean(comp.Name), comp.Status)
		})
		return nil
	}
}

func componentDelete(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		id, err := s.resolveOne(ctx, c, site, ctlComponentKind)
		if err != nil {
			return err
		}
		var raw []byte
		if err := c.DeleteComponent(ctx, site, id, s.write(&raw, nil)...); err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted component %s\n", ctlClean(id)) })
		return nil
	}
}

type ctlGroupFlags struct {
	name, description string
	position          int
	components        ctlMulti
	edits             ctlComponentEdits
}

func registerGroupFlags(fs *flag.FlagSet) *ctlGroupFlags {
	f := &ctlGroupFlags{}
	fs.StringVar(&f.name, "name", "", "group name")
	fs.StringVar(&f.description, "description", "", "one-line description")
	fs.IntVar(&f.position, "position", 0, "position on the page")
	fs.Var(&f.components, "component", "a member component NAME_OR_ID, repeatable; on update it replaces the members")
	f.edits.register(fs, "member")
	return f
}

func (f *ctlGroupFlags) input(ctx context.Context, s *ctlSession, site string, create bool) (client.GroupInput, error) {
	var in client.GroupInput
	if create && !s.set["name"] {
		return in, ctlFlagErr("name", "required")
	}
	if s.set["name"] {
		if err := ctlCheckName("name", f.name); err != nil {
			return in, err
		}
		in.Name = &f.name
	}
	if s.set["description"] {
		if err := ctlCheckText("description", f.description, 4096); err != nil {
			return in, err
		}
		in.Description = &f.description
	}
	if s.set["position"] {
		if err := ctlCheckPosition("position", f.position); err != nil {
			return in, err
		}
		in.Position = &f.position
	}
	if err := ctlCheckRefs("component", f.components); err != nil {
		return in, err
	}
	ids, err := s.componentsInput(ctx, site, "group", !create && in == (client.GroupInput{}), ctlComponentKind, f.components)
	if err != nil {
		return in, err
	}
	in.Components = ids
	in.AddComponents, in.RemoveComponents, err = f.edits.input(ctx, s, site, create, ctlComponentKind)
	return in, err
}

func groupCreate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerGroupFlags(fs)
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
		g, err := s.c.CreateGroup(ctx, site, in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "created group %s %q%s\n", ctlClean(g.ID), ctlClean(g.Name), ctlReplayNote(replayed))
		})
		return nil
	}
}

func groupUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerGroupFlags(fs)
	return func(ctx context.Context) error {
		site, err := s.siteRef()
		if err != nil {
			return err
		}
		in, err := f.input(ctx, s, site, false)
		if err != nil {
			return err
		}
		id, err := s.resolveOne(ctx, s.c, site, ctlGroupKind)
		if err != nil {
			return err
		}
		var raw []byte
		g, err := s.c.UpdateGroup(ctx, site, id, in, s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "updated group %s %q\n", ctlClean(g.ID), ctlClean(g.Name)) })
		return nil
	}
}

func groupDelete(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		id, err := s.resolveOne(ctx, c, site, ctlGroupKind)
		if err != nil {
			return err
		}
		var raw []byte
		if err := c.DeleteGroup(ctx, site, id, s.write(&raw, nil)...); err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted group %s\n", ctlClean(id)) })
		return nil
	}
}
