package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/statusedge/statusedge/origin/client"
)

func audienceNoun() ctlNoun {
	return ctlNoun{name: "audience", short: "named groups of viewers that see a subset of components", verbs: []ctlVerb{
		{name: "create", short: "add an audience", setup: audienceCreate},
		{name: "list", short: "list a site's audiences", setup: audienceList},
		{name: "get", args: "ID", short: "show an audience", setup: audienceGet},
		{name: "update", args: "ID", short: "change an audience", setup: audienceUpdate},
		{name: "delete", args: "ID", short: "delete an audience", setup: audienceDelete},
	}}
}

type ctlAudienceFlags struct {
	name, password string
	components     ctlMulti
	edits          ctlComponentEdits
}

func registerAudienceFlags(fs *flag.FlagSet) *ctlAudienceFlags {
	f := &ctlAudienceFlags{}
	fs.StringVar(&f.name, "name", "", "audience name")
	fs.Var(&f.components, "component", "a component or group NAME_OR_ID it sees, repeatable; on update it replaces the list")
	f.edits.register(fs, "visible")
	fs.StringVar(&f.password, "password", "", "password that admits its viewers (8-72 bytes; - reads stdin)")
	return f
}

func (f *ctlAudienceFlags) input(ctx context.Context, s *ctlSession, site string, create bool) (client.AudienceInput, error) {
	var in client.AudienceInput
	if create && !s.set["name"] {
		return in, ctlFlagErr("name", "required")
	}
	if s.set["name"] {
		if err := ctlCheckName("name", f.name); err != nil {
			return in, err
		}
		in.Name = &f.name
	}
	if err := ctlCheckRefs("component", f.components); err != nil {
		return in, err
	}
	if s.set["password"] {
		pw := f.password
		if pw == "-" {
			text, err := ctlReadLimited(s.env.stdin)
			if err != nil {
				return in, ctlFlagErr("password", "reading stdin: %v", err)
			}
			pw = strings.TrimSpace(text)
		}
		if err := ctlCheckPassword("password", pw); err != nil {
			return in, err
		}
		in.Password = &pw
	}
	ids, err := s.componentsInput(ctx, site, "audience", !create && in == (client.AudienceInput{}), ctlAnyKind, f.components)
	if err != nil {
		return in, err
	}
	in.Components = ids
	in.AddComponents, in.RemoveComponents, err = f.edits.input(ctx, s, site, create, ctlAnyKind)
	return in, err
}

func audienceCreate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerAudienceFlags(fs)
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
		a, err := s.c.CreateAudience(ctx, site, in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "created audience %s %q: %d component(s)%s\n", ctlClean(a.ID), ctlClean(a.Name), len(a.ComponentIDs), ctlReplayNote(replayed))
		})
		return nil
	}
}

func audienceList(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		list, err := c.Audiences(ctx, site, client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			if len(list) == 0 {
				fmt.Fprintln(w, "no audiences")
				return
			}
			tw := ctlTable(w)
			fmt.Fprintln(tw, "ID\tCOMPONENTS\tNAME")
			for _, a := range list {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", ctlClean(a.ID), len(a.ComponentIDs), ctlFirstLine(a.Name, 60))
			}
			tw.Flush()
		})
		return nil
	}
}

func audienceGet(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		a, err := c.Audience(ctx, site, s.args[0], client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			tw := ctlTable(w)
			fmt.Fprintf(tw, "id:\t%s\n", ctlClean(a.ID))
			fmt.Fprintf(tw, "name:\t%s\n", ctlClean(a.Name))
			fmt.Fprintf(tw, "components:\t%s\n", ctlDash(ctlClean(strings.Join(a.ComponentIDs, ", "))))
			tw.Flush()
		})
		return nil
	}
}

func audienceUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	f := registerAudienceFlags(fs)
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
		a, err := s.c.UpdateAudience(ctx, site, s.args[0], in, s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "updated audience %s %q: %d component(s)\n", ctlClean(a.ID), ctlClean(a.Name), len(a.ComponentIDs))
		})
		return nil
	}
}

func audienceDelete(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		if err := c.DeleteAudience(ctx, site, s.args[0], s.write(&raw, nil)...); err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted audience %s\n", ctlClean(s.args[0])) })
		return nil
	}
}
