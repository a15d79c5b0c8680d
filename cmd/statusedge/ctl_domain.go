package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/statusedge/statusedge/origin/client"
)

// domainNoun is `ctl site domain VERB`: a site's custom domains.
func domainNoun() ctlNoun {
	return ctlNoun{name: "site domain", short: "a site's custom domains: add one, publish its proof, verify it (then it routes and gets HTTPS)", verbs: []ctlVerb{
		{name: "add", args: "DOMAIN", short: "claim DOMAIN for --site; prints the DNS TXT record (or HTTP token) to publish", setup: domainAdd},
		{name: "verify", args: "DOMAIN", short: "check the published proof; on failure says what was found", setup: domainVerify},
		{name: "remove", args: "DOMAIN", short: "remove DOMAIN: every edge stops serving it", setup: domainRemove},
		{name: "list", short: "list --site's domains and their state", setup: domainList},
	}}
}

// ctlDomainArg checks the DOMAIN argument.
func ctlDomainArg(s *ctlSession) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s.args[0])), ".")
	if !strings.Contains(d, ".") || strings.ContainsAny(d, "/:@ *") || len(d) > 253 {
		return "", ctlUsagef("DOMAIN: %q must be a domain name such as status.example.com", ctlClean(s.args[0]))
	}
	return d, nil
}

// domainCall resolves --site, the DOMAIN argument and the client.
func domainCall(s *ctlSession) (*client.Client, string, string, error) {
	site, err := s.siteRef()
	if err != nil {
		return nil, "", "", err
	}
	name, err := ctlDomainArg(s)
	if err != nil {
		return nil, "", "", err
	}
	c, err := s.client()
	return c, site, name, err
}

func printDomain(w io.Writer, d *client.Domain) {
	if d.Verified {
		fmt.Fprintf(w, "%s is verified (%s): it routes to the site and gets a certificate on its first HTTPS visit\n", ctlClean(d.Name), ctlClean(d.Method))
		return
	}
	fmt.Fprintf(w, "%s is added, not verified yet. Publish one of:\n", ctlClean(d.Name))
	fmt.Fprintf(w, "  DNS:  %s  TXT  %q\n", ctlClean(d.TXTName), ctlClean(d.TXTValue))
	fmt.Fprintf(w, "  HTTP: once %s points at us (CNAME %s), the edges answer %s themselves\n", ctlClean(d.Name), ctlClean(d.CNAME), ctlClean(d.HTTPURL))
	fmt.Fprintf(w, "then: statusedge ctl site domain verify %s\n", ctlClean(d.Name))
}

func domainAdd(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	redirect := fs.Bool("https-redirect", false, "send plain-HTTP visitors of this domain to HTTPS")
	hsts := fs.Bool("hsts", false, "send Strict-Transport-Security on this domain's HTTPS answers")
	return func(ctx context.Context) error {
		c, site, name, err := domainCall(s)
		if err != nil {
			return err
		}
		in := client.DomainInput{Name: name}
		if s.set["https-redirect"] {
			in.HTTPSRedirect = redirect
		}
		if s.set["hsts"] {
			in.HSTS = hsts
		}
		var raw []byte
		var replayed bool
		d, err := c.AddDomain(ctx, site, in, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { printDomain(w, d) })
		return nil
	}
}

func domainVerify(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	method := fs.String("method", "", "dns or http (default: try both)")
	return func(ctx context.Context) error {
		if *method != "" && *method != "dns" && *method != "http" {
			return ctlFlagErr("method", "must be dns or http")
		}
		c, site, name, err := domainCall(s)
		if err != nil {
			return err
		}
		var raw []byte
		var replayed bool
		d, err := c.VerifyDomain(ctx, site, name, *method, s.write(&raw, &replayed)...)
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) { printDomain(w, d) })
		return nil
	}
}

func domainRemove(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
	s.siteFlag()
	return func(ctx context.Context) error {
		c, site, name, err := domainCall(s)
		if err != nil {
			return err
		}
		if err := c.RemoveDomain(ctx, site, name); err != nil {
			return err
		}
		s.out(nil, func(w io.Writer) { fmt.Fprintf(w, "removed %s\n", ctlClean(name)) })
		return nil
	}
}

func domainList(fs *flag.FlagSet, s *ctlSession) func(context.Context) error {
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
		list, err := c.Domains(ctx, site, client.RawBody(&raw))
		if err != nil {
			return err
		}
		s.out(raw, func(w io.Writer) {
			if len(list) == 0 {
				fmt.Fprintln(w, "no custom domains")
				return
			}
			tw := ctlTable(w)
			fmt.Fprintln(tw, "DOMAIN\tSTATE\tHTTPS-REDIRECT\tHSTS\tPROOF (TXT)")
			for _, d := range list {
				state, proof := "pending", ctlClean(d.TXTName)+" = "+ctlClean(d.TXTValue)
				if d.Verified {
					state, proof = "verified ("+ctlClean(d.Method)+")", "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\n", ctlClean(d.Name), state, d.HTTPSRedirect, d.HSTS, proof)
			}
			tw.Flush()
		})
		return nil
	}
}
