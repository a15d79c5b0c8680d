package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	_ "time/tzdata" // --time-zone is checked locally, also where the OS has no zoneinfo

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/client"
	"github.com/statusedge/statusedge/origin/render/style"
)

func siteNoun() ctlNoun {
	return ctlNoun{name: "site", short: "status pages (create and list need the operator token)", verbs: []ctlVerb{
		{name: "create", short: "create a site; prints its API token once", setup: siteCreate},
		{name: "list", short: "list every site", setup: siteList},
		{name: "get", args: "SITE", short: "show a site (id or slug)", setup: siteGet},
		{name: "update", args: "SITE", short: "change a site's settings", setup: siteUpdate},
		{name: "delete", args: "SITE", short: "delete a site and all its content (needs --yes)", setup: siteDelete},
		{name: "rotate-token", args: "SITE", short: "give a site a new API token (the old one stops working); prints it once", setup: siteRotateToken},
	}}
}

// siteFlags are the settable fields of a site.
type ctlSiteFlags struct {
	name, slug, timeZone, visibility, url, logoURL, accent, password string
	faviconURL, description, staffPassword                           string
	hostnames, cidrs                                                 ctlMulti
	addHostnames, removeHostnames                                    ctlMulti
}

func registerSiteFlags(fs *flag.FlagSet) *ctlSiteFlags {
	f := &ctlSiteFlags{}
	fs.StringVar(&f.name, "name", "", "the page's name")
	fs.StringVar(&f.slug, "slug", "", "short lowercase name, e.g. acme")
	fs.Var(&f.hostnames, "hostname", "a hostname of the page, repeatable (the default subdomain first); on update it replaces the list")
	fs.Var(&f.addHostnames, "add-hostname", "update: add a hostname (e.g. a custom domain), keeping the others; repeatable")
	fs.Var(&f.removeHostnames, "remove-hostname", "update: remove a hostname, keeping the others; repeatable")
	fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone, e.g. Europe/Berlin (a new site's default UTC)")
	fs.StringVar(&f.visibility, "visibility", "", "one of "+ctlEnumList(content.Visibilities)+" (a new site's default public)")
	fs.StringVar(&f.url, "url", "", "the page's public URL (a new site's default https://<first hostname>)")
	fs.StringVar(&f.logoURL, "logo-url", "", "logo image URL, http or https (default: none, the name alone; empty removes it)")
	fs.StringVar(&f.accent, "accent-color", "", "accent colour #rrggbb (default "+style.DefaultAccent+"; empty restores it)")
	fs.StringVar(&f.faviconURL, "favicon-url", "", "the page's icon, an http or https URL (default: a dot in the accent colour; empty restores it)")
	fs.StringVar(&f.description, "description", "", fmt.Sprintf("the page's meta description for search results and link previews, at most %d bytes (default: a sentence naming the site; empty restores it)", content.MaxDescription))
	fs.StringVar(&f.password, "password", "", "page password of a private site (8-72 bytes; empty removes it)")
	fs.StringVar(&f.staffPassword, "staff-password", "", "an audience site's full-view password: staff sign in at "+content.StaffLoginPath+
		" and see every component (8-72 bytes; default none; empty removes it)")
	fs.Var(&f.cidrs, "allow-cidr", "admit visitors from this prefix without a password, repeatable")
	return f
}

// input checks the flags that were given and builds the request.
func (f *ctlSiteFlags) input(set map[string]bool, create bool) (client.SiteInput, error) {
	var in client.SiteInput
	if create || set["name"] {
		if create && !set["name"] {
			return in, ctlFlagErr("name", "required")
		}
		if err := ctlCheckName("name", f.name); err != nil {
			return in, err
		}
		in.Name = &f.name
	}
	if create || set["slug"] {
		if create && !set["slug"] {
			return in, ctlFlagErr("slug", "required (e.g. acme)")
		}
		if !ctlSlugRE.MatchString(f.slug) {
			return in, ctlFlagErr("slug", "must be 1-63 lowercase letters, digits and dashes")
		}
		in.Slug = &f.slug
	}
	for _, l := range []struct {
		flag string
		list ctlMulti
		dst  **[]string
	}{{"hostname", f.hostnames, &in.Hostnames}, {"add-hostname", f.addHostnames, &in.AddHostnames}, {"remove-hostname", f.removeHostnames, &in.RemoveHostnames}} {
		if !set[l.flag] {
			continue
		}
		if create && l.flag != "hostname" {
			return in, ctlFlagErr(l.flag, "only on update (give --hostname to create)")
		}
		hs, err := ctlHostnames(l.flag, l.list)
		if err != nil {
			return in, err
		}
		*l.dst = &hs
	}
	if set["hostname"] && (set["add-hostname"] || set["remove-hostname"]) {
		return in, ctlFlagErr("hostname", "replaces the list: use it or --add-hostname/--remove-hostname, not both")
	}
	if set["time-zone"] {
		if err := ctlCheckTimeZone("time-zone", f.timeZone); err != nil {
			return in, err
		}
		in.TimeZone = &f.timeZone
	}
	if set["visibility"] {
		if err := ctlCheckEnum("visibility", f.visibility, content.Visibilities); err != nil {
			return in, err
		}
		in.Visibility = client.Ptr(content.Visibility(f.visibility))
	}
	if set["url"] {
		if err := ctlCheckURL("url", f.url); err != nil {
			return in, err
		}
		in.URL = &f.url
	}
	if set["logo-url"] || set["accent-color"] || set["favicon-url"] || set["description"] {
		// Only the flags given change (an empty value clears that one).
		in.Branding = &client.BrandingInput{}
		if set["logo-url"] {
			if err := ctlCheckURL("logo-url", f.logoURL); err != nil {
				return in, err
			}
			in.Branding.LogoURL = &f.logoURL
		}
		if set["accent-color"] {
			if f.accent != "" && !ctlColorRE.MatchString(f.accent) {
				return in, ctlFlagErr("accent-color", "must be #rrggbb")
			}
			in.Branding.AccentColor = &f.accent
		}
		if set["favicon-url"] {
			if err := ctlCheckURL("favicon-url", f.faviconURL); err != nil {
				return in, err
			}
			in.Branding.FaviconURL = &f.faviconURL
		}
		if set["description"] {
			if err := ctlCheckText("description", f.description, content.MaxDescription); err != nil {
				return in, err
			}
			in.Branding.Description = &f.description
		}
	}
	if set["password"] || set["allow-cidr"] || set["staff-password"] {
		in.Access = &client.AccessInput{}
		for _, pw := range []struct {
			flag string
			v    *string
			dst  **string
		}{{"password", &f.password, &in.Access.Password}, {"staff-password", &f.staffPassword, &in.Access.StaffPassword}} {
			if set[pw.flag] {
				if err := ctlCheckPassword(pw.flag, *pw.v); err != nil {
					return in, err
				}
				*pw.dst = pw.v
			}
		}
		if set["allow-cidr"] {
			if err := ctlCheckCIDRs("allow-cidr", f.cidrs); err != nil {
				return in, err
			}
			in.Access.AllowCIDRs = (*[]string)(&f.cidrs)
		}
	}
	return in, nil
}

// ctlHostnames checks and lowercases the hostnames given to flag.
func ctlHostnames(flag string, l ctlMulti) ([]string, error) {
	hs := slices.Clone([]string(l))
	for i, h := range hs {
		hs[i] = strings.ToLower(strings.TrimSpace(h))
		if !strings.Contains(hs[i], ".") || strings.ContainsAny(hs[i], "/: ") {
			return nil, ctlFlagErr(flag, "%q must be a hostname such as status.example.com", ctlClean(h))
		}
	}
	if err := ctlCheckRefs(flag, hs); err != nil {
		return nil, err
	}
	return hs, nil
}

func siteCreate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	f := registerSiteFlags(fs)
	return func(ctx context.Context) error {
		in, err := f.input(s.set, true)
		if err != nil {
			return err
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		var replayed bool
		out, err := c.CreateSite(ctx, in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			if out.Site != nil {
				fmt.Fprintf(w, "created site %s %q (slug %s)%s\n", ctlClean(out.Site.ID), ctlClean(out.Site.Name), ctlClean(out.Site.Slug), ctlReplayNote(replayed))
			}
			if out.APIToken != "" {
				fmt.Fprintf(w, "api token (shown once; store it now): %s\n", ctlClean(out.APIToken))
			}
		})
		return nil
	}
}

func siteList(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		list, err := c.Sites(ctx, client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			if len(list) == 0 {
				fmt.Fprintln(w, "no sites")
				return
			}
			tw := ctlTable(w)
			fmt.Fprintln(tw, "ID\tSLUG\tVISIBILITY\tVERSION\tNAME\tHOSTNAMES")
			for _, st := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", ctlClean(st.ID), ctlClean(st.Slug), st.Visibility, st.Version,
					ctlFirstLine(st.Name, 40), ctlClean(strings.Join(st.Hostnames, " ")))
			}
			tw.Flush()
		})
		return nil
	}
}

func siteGet(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := s.idClient()
		if err != nil {
			return err
		}
		var raw []byte
		st, err := c.Site(ctx, s.args[0], client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { ctlPrintSite(w, st, raw) })
		return nil
	}
}

// ctlSiteAccess is what the site view says of access (never a hash).
type ctlSiteAccess struct {
	AllowCIDRs       []string `json:"allow_cidrs"`
	HasPassword      bool     `json:"has_password"`
	HasStaffPassword bool     `json:"has_staff_password"`
}

// ctlPrintSite prints a site; raw is the site view it was decoded from
// (for what content.Site does not carry: whether passwords are set).
func ctlPrintSite(w io.Writer, st *content.Site, raw []byte) {
	var acc ctlSiteAccess
	_ = json.Unmarshal(raw, &acc) // the client decoded the same bytes
	open := 0
	for _, in := range st.Incidents {
		if in.Status.Unresolved() {
			open++
		}
	}
	tw := ctlTable(w)
	fmt.Fprintf(tw, "id:\t%s\n", ctlClean(st.ID))
	fmt.Fprintf(tw, "name:\t%s\n", ctlClean(st.Name))
	fmt.Fprintf(tw, "slug:\t%s\n", ctlClean(st.Slug))
	fmt.Fprintf(tw, "hostnames:\t%s\n", ctlDash(ctlClean(strings.Join(st.Hostnames, " "))))
	fmt.Fprintf(tw, "url:\t%s\n", ctlDash(ctlClean(st.URL)))
	fmt.Fprintf(tw, "time zone:\t%s\n", ctlDash(ctlClean(st.TimeZone)))
	fmt.Fprintf(tw, "visibility:\t%s\n", st.Visibility)
	var access []string
	if acc.HasPassword {
		access = append(access, "site password set")
	}
	if len(acc.AllowCIDRs) > 0 {
		access = append(access, "allow "+strings.Join(acc.AllowCIDRs, " "))
	}
	if acc.HasStaffPassword {
		access = append(access, "staff password set (staff sign in at "+strings.TrimRight(st.URL, "/")+content.StaffLoginPath+")")
	}
	fmt.Fprintf(tw, "access:\t%s\n", ctlDash(ctlClean(strings.Join(access, "; "))))
	b := st.Branding
	fmt.Fprintf(tw, "logo:\t%s\n", ctlDash(ctlClean(b.LogoURL)))
	fmt.Fprintf(tw, "accent colour:\t%s\n", ctlClean(cmp.Or(b.AccentColor, style.DefaultAccent+" (default)")))
	fmt.Fprintf(tw, "favicon:\t%s\n", ctlClean(cmp.Or(b.FaviconURL, "a dot in the accent colour (default)")))
	fmt.Fprintf(tw, "description:\t%s\n", ctlClean(cmp.Or(b.Description, content.PageDescription(st.Name, b)+" (default)")))
	fmt.Fprintf(tw, "version:\t%d\n", st.Version)
	// The management API's site view may leave the content out.
	if len(st.Components)+len(st.Incidents)+len(st.Maintenances)+len(st.Audiences) > 0 {
		fmt.Fprintf(tw, "content:\t%d components, %d incidents (%d open), %d maintenances, %d audiences\n",
			len(st.Components), len(st.Incidents), open, len(st.Maintenances), len(st.Audiences))
	}
	tw.Flush()
}

func siteUpdate(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	f := registerSiteFlags(fs)
	return func(ctx context.Context) error {
		if err := s.checkID(); err != nil {
			return err
		}
		in, err := f.input(s.set, false)
		if err != nil {
			return err
		}
		if in == (client.SiteInput{}) {
			return ctlUsagef("site update: nothing to change (see 'statusedge ctl site update -h')")
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		st, err := c.UpdateSite(ctx, s.args[0], in, s.write(&raw, nil)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			fmt.Fprintf(w, "updated site %s %q (version %d)\n", ctlClean(st.ID), ctlClean(st.Name), st.Version)
			if f.staffPassword != "" {
				fmt.Fprintf(w, "staff sign in at %s%s\n", ctlClean(strings.TrimRight(st.URL, "/")), content.StaffLoginPath)
			}
		})
		return nil
	}
}

func siteDelete(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	yes := fs.Bool("yes", false, "really delete the site and all of its content")
	return func(ctx context.Context) error {
		if err := s.checkID(); err != nil {
			return err
		}
		if !*yes {
			return ctlFlagErr("yes", "required: deleting site %q removes its page and all its content", ctlClean(s.args[0]))
		}
		c, err := s.client()
		if err != nil {
			return err
		}
		var raw []byte
		if err := c.DeleteSite(ctx, s.args[0], s.write(&raw, nil)...); err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { fmt.Fprintf(w, "deleted site %s\n", ctlClean(s.args[0])) })
		return nil
	}
}

func siteRotateToken(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := s.idClient()
		if err != nil {
			return err
		}
		var raw []byte
		var replayed bool
		out, err := c.RotateToken(ctx, s.args[0], s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			if out.APIToken == "" {
				fmt.Fprintf(w, "the token of site %s was rotated by an earlier try whose answer was lost; rotate again (with the operator token if you used the old site token)\n", ctlClean(s.args[0]))
				return
			}
			fmt.Fprintf(w, "new api token of site %s (shown once; store it now; the old one no longer works): %s\n", ctlClean(s.args[0]), ctlClean(out.APIToken))
		})
		return nil
	}
}

// mustJSON encodes a value the client already decoded (cannot fail).
func ctlJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
