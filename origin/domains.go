package origin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statusedge/statusedge/content"
)

// Custom domains: a site claims status.example.com (domain.add), the owner
// publishes the token the answer shows, the receiving replica checks it
// (DNS TXT or the edge's HTTP answer, outside raft: it is not deterministic)
// and only then proposes domain.verify. A verified domain routes like a
// hostname and may get a certificate; a pending one does neither.

// MaxDomains bounds a site's custom domains.
const MaxDomains = 16

// DomainInput is the body of POST /v1/sites/{site}/domains.
type DomainInput struct {
	Name          string `json:"name"`
	HTTPSRedirect *bool  `json:"https_redirect,omitempty"`
	HSTS          *bool  `json:"hsts,omitempty"`
}

// DomainVerifyInput is the (optional) body of POST .../domains/{domain}/verify.
type DomainVerifyInput struct {
	// Method is "dns", "http" or "" (try DNS, then HTTP).
	Method string `json:"method,omitempty"`
}

// DomainCommand is the domain a domain.* command acts on. Token is chosen
// by the receiving replica on add; on verify it is the token that was
// checked, so a check of an old claim never verifies a newer one.
type DomainCommand struct {
	Name          string `json:"name"`
	Token         string `json:"token,omitempty"`
	Method        string `json:"method,omitempty"`
	HTTPSRedirect *bool  `json:"https_redirect,omitempty"`
	HSTS          *bool  `json:"hsts,omitempty"`
}

// DomainView is a custom domain as the API shows it, with what to publish.
type DomainView struct {
	Name          string     `json:"name"`
	Verified      bool       `json:"verified"`
	Method        string     `json:"method,omitempty"`
	VerifiedAt    *time.Time `json:"verified_at,omitempty"`
	HTTPSRedirect bool       `json:"https_redirect"`
	HSTS          bool       `json:"hsts"`
	// CNAME is where to point the domain (the site's default hostname).
	CNAME string `json:"cname,omitempty"`
	// Either proof verifies: a TXT record TXTName = TXTValue, or (once the
	// domain points at us) HTTPURL answering HTTPBody, which the edges do.
	TXTName  string `json:"txt_name"`
	TXTValue string `json:"txt_value"`
	HTTPURL  string `json:"http_url"`
	HTTPBody string `json:"http_body"`
}

// ViewDomain returns the API view of d on site s.
func ViewDomain(s *content.Site, d content.Domain) DomainView {
	v := DomainView{
		Name: d.Name, Verified: d.Verified, Method: d.Method, HTTPSRedirect: d.HTTPSRedirect, HSTS: d.HSTS,
		TXTName: content.DomainTXTPrefix + d.Name, TXTValue: content.DomainTXTValue(d.Token),
		HTTPURL: "http://" + d.Name + content.DomainHTTPPath + d.Token, HTTPBody: d.Token,
	}
	if d.Verified {
		at := d.VerifiedAt
		v.VerifiedAt = &at
	}
	if len(s.Hostnames) > 0 {
		v.CNAME = s.Hostnames[0]
	}
	return v
}

// checkDomainName checks a custom domain: a lowercase DNS name of at least
// two labels, not an address, not a name that never resolves publicly, and
// not under the platform's own default domain.
func checkDomainName(name, defaultDomain string) *Error {
	if e := checkHostname("name", name); e != nil {
		return e
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return invalid("name", "must be a domain name, not an address")
	}
	labels := strings.Split(name, ".")
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return invalid("name", "must be a domain name, not an address")
	}
	for _, tld := range []string{"localhost", "local", "internal", "invalid", "onion", "arpa", "home", "lan"} {
		if labels[len(labels)-1] == tld {
			return invalid("name", "%q names no public domain", name)
		}
	}
	if defaultDomain != "" && (name == defaultDomain || strings.HasSuffix(name, "."+defaultDomain)) {
		return invalid("name", "is under the platform's own domain %q", defaultDomain)
	}
	return nil
}

func (n *Node) domainRoutes(mux *http.ServeMux) {
	st := n.siteScoped
	mux.Handle("POST /v1/sites/{site}/domains", st(n.addDomain))
	mux.Handle("GET /v1/sites/{site}/domains", st(n.listDomains))
	mux.Handle("POST /v1/sites/{site}/domains/{domain}/verify", st(n.verifyDomain))
	mux.Handle("DELETE /v1/sites/{site}/domains/{domain}", st(func(w http.ResponseWriter, r *http.Request, p principal) error {
		name := strings.ToLower(r.PathValue("domain"))
		return n.propose(w, r, p, &Command{Op: OpRemoveDomain, Domain: &DomainCommand{Name: name}}, nil, nil)
	}))
}

func (n *Node) addDomain(w http.ResponseWriter, r *http.Request, p principal) error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	in := &DomainInput{}
	if e := DecodeStrict(body, in); e != nil {
		return e
	}
	in.Name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(in.Name)), ".")
	if e := checkDomainName(in.Name, n.cfg.DefaultDomain); e != nil {
		return e
	}
	var tok [16]byte
	rand.Read(tok[:])
	cmd := &Command{Op: OpAddDomain, Domain: &DomainCommand{
		Name: in.Name, Token: hex.EncodeToString(tok[:]), HTTPSRedirect: in.HTTPSRedirect, HSTS: in.HSTS,
	}}
	return n.propose(w, r, p, cmd, body, nil)
}

func (n *Node) listDomains(w http.ResponseWriter, r *http.Request, p principal) error {
	s := n.Site(r.PathValue("site"))
	if s == nil {
		return notFound("site", "site")
	}
	out := make([]DomainView, 0, len(s.Domains))
	for _, d := range s.Domains {
		out = append(out, ViewDomain(s, d))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (n *Node) verifyDomain(w http.ResponseWriter, r *http.Request, p principal) error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	in := &DomainVerifyInput{}
	if len(strings.TrimSpace(string(body))) > 0 {
		if e := DecodeStrict(body, in); e != nil {
			return e
		}
	}
	if in.Method != "" && in.Method != "dns" && in.Method != "http" {
		return invalid("method", "must be dns, http or empty (both)")
	}
	s := n.Site(r.PathValue("site"))
	if s == nil {
		return notFound("site", "site")
	}
	name := strings.ToLower(r.PathValue("domain"))
	i := slices.IndexFunc(s.Domains, func(d content.Domain) bool { return d.Name == name })
	if i < 0 {
		return notFound("domain", "domain")
	}
	d := s.Domains[i]
	if d.Verified {
		writeJSON(w, http.StatusOK, ViewDomain(s, d))
		return nil
	}
	method, found := n.domainChecker().Check(r.Context(), d.Name, d.Token, in.Method)
	if method == "" {
		return invalid("domain", "%s is not verified yet: %s", d.Name, found)
	}
	cmd := &Command{Op: OpVerifyDomain, Domain: &DomainCommand{Name: d.Name, Token: d.Token, Method: method}}
	return n.propose(w, r, p, cmd, body, nil)
}

// domain applies domain.add, domain.verify and domain.remove.
func (a *applier) domain(t *siteTx) (int, any, *Error) {
	c := a.cmd.Domain
	if c == nil || c.Name == "" {
		return 0, nil, invalid("domain", "is required")
	}
	i := slices.IndexFunc(t.s.Domains, func(d content.Domain) bool { return d.Name == c.Name })
	switch a.cmd.Op {
	case OpAddDomain:
		if other, ok := a.st.hosts[c.Name]; ok && other != t.s.ID {
			return 0, nil, conflict("name", "%q belongs to another site", c.Name)
		}
		status := http.StatusOK
		if i < 0 {
			if len(t.s.Domains) >= MaxDomains {
				return 0, nil, invalid("name", "a site has at most %d domains", MaxDomains)
			}
			if c.Token == "" {
				return 0, nil, invalid("token", "is required")
			}
			t.s.Domains = append(t.s.Domains, content.Domain{Name: c.Name, Token: c.Token, AddedAt: a.at})
			i, status = len(t.s.Domains)-1, http.StatusCreated
		}
		d := &t.s.Domains[i] // Domains is the transaction's own copy
		d.HTTPSRedirect = deref(c.HTTPSRedirect, d.HTTPSRedirect)
		d.HSTS = deref(c.HSTS, d.HSTS)
		return status, ViewDomain(t.s, *d), nil
	case OpVerifyDomain:
		if i < 0 {
			return 0, nil, notFound("domain", "domain")
		}
		d := &t.s.Domains[i]
		if d.Token != c.Token {
			return 0, nil, conflict("domain", "the domain was added again since the check; verify again")
		}
		if other, ok := a.st.hosts[c.Name]; ok && other != t.s.ID {
			return 0, nil, conflict("domain", "%q belongs to another site", c.Name)
		}
		if !d.Verified {
			d.Verified, d.Method, d.VerifiedAt = true, c.Method, a.at
		}
		return http.StatusOK, ViewDomain(t.s, *d), nil
	default: // OpRemoveDomain
		if i < 0 {
			return 0, nil, notFound("domain", "domain")
		}
		t.s.Domains = slices.Delete(t.s.Domains, i, i+1)
		return http.StatusNoContent, nil, nil
	}
}

// DomainCheckConfig says how the origin checks a domain's ownership proof.
type DomainCheckConfig struct {
	// DNSServer (host:port) answers the TXT lookups and the HTTP check's
	// address lookups; "" is the system resolver.
	DNSServer string
	// HTTPPort is the port of the HTTP check; 0 is 80.
	HTTPPort int
	// AllowPrivate lets the HTTP check connect to loopback and private
	// addresses (tests and dev only: otherwise a claimed domain pointing
	// inside our network would make the origin fetch from there).
	AllowPrivate bool
	// Timeout bounds each check; 0 is 5 s.
	Timeout time.Duration
}

// DomainChecker checks ownership proofs.
type DomainChecker struct {
	cfg      DomainCheckConfig
	resolver *net.Resolver
}

// NewDomainChecker returns a checker for cfg.
func NewDomainChecker(cfg DomainCheckConfig) *DomainChecker {
	c := &DomainChecker{cfg: cfg, resolver: net.DefaultResolver}
	if c.cfg.HTTPPort == 0 {
		c.cfg.HTTPPort = 80
	}
	if c.cfg.Timeout <= 0 {
		c.cfg.Timeout = 5 * time.Second
	}
	if cfg.DNSServer != "" {
		var d net.Dialer
		c.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, cfg.DNSServer)
		}}
	}
	return c
}

func (n *Node) domainChecker() *DomainChecker { return NewDomainChecker(n.cfg.DomainCheck) }

// Check looks for token's proof for name by method ("dns", "http", or ""
// for both, DNS first). It returns the method that proved it, or "" and
// what it found instead, for the person who published it.
func (c *DomainChecker) Check(ctx context.Context, name, token, method string) (string, string) {
	var found []string
	if method == "" || method == "dns" {
		ok, what := c.checkTXT(ctx, name, token)
		if ok {
			return "dns", ""
		}
		found = append(found, what)
	}
	if method == "" || method == "http" {
		ok, what := c.checkHTTP(ctx, name, token)
		if ok {
			return "http", ""
		}
		found = append(found, what)
	}
	return "", strings.Join(found, "; ")
}

func (c *DomainChecker) checkTXT(ctx context.Context, name, token string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	qname := content.DomainTXTPrefix + name
	want := content.DomainTXTValue(token)
	txts, err := c.resolver.LookupTXT(ctx, qname)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return false, fmt.Sprintf("DNS: no TXT record at %s (want %q)", qname, want)
	case err != nil:
		return false, fmt.Sprintf("DNS: no TXT record found at %s (%s; want %q)", qname, lookupReason(err), want)
	}
	for _, t := range txts {
		if strings.TrimSpace(t) == want {
			return true, ""
		}
	}
	shown := make([]string, 0, 4)
	for _, t := range txts[:min(len(txts), 4)] {
		shown = append(shown, strconv.Quote(truncate(t)))
	}
	if len(txts) == 0 {
		return false, fmt.Sprintf("DNS: TXT %s has no values (want %q)", qname, want)
	}
	return false, fmt.Sprintf("DNS: TXT %s has %s, not %q", qname, strings.Join(shown, ", "), want)
}

func lookupReason(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return "timed out"
		}
		return truncate(dnsErr.Err)
	}
	return truncate(err.Error())
}

func (c *DomainChecker) checkHTTP(ctx context.Context, name, token string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	url := "http://" + name + content.DomainHTTPPath + token
	var d net.Dialer
	tr := &http.Transport{
		Proxy: nil, DisableKeepAlives: true, MaxResponseHeaderBytes: 8 << 10,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			addrs, err := c.resolver.LookupNetIP(ctx, "ip", name)
			if err != nil {
				return nil, fmt.Errorf("no address for %s: %s", name, lookupReason(err))
			}
			var last error = fmt.Errorf("no address for %s", name)
			for _, ip := range addrs {
				ip = ip.Unmap()
				if !c.cfg.AllowPrivate && !publicAddr(ip) {
					last = fmt.Errorf("%s resolves to %s, which is not a public address", name, ip)
					continue
				}
				conn, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(c.cfg.HTTPPort)).String())
				if err == nil {
					return conn, nil
				}
				last = err
			}
			return nil, last
		},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, "HTTP: " + truncate(err.Error())
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return false, fmt.Sprintf("HTTP: GET %s failed: %s", url, err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	got := strings.TrimSpace(string(b))
	switch {
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Sprintf("HTTP: GET %s answered %d (is the domain pointed at us?)", url, resp.StatusCode)
	case got != token:
		return false, fmt.Sprintf("HTTP: GET %s answered %q, not the token", url, truncate(got))
	}
	return true, ""
}

// publicAddr reports whether ip is a globally routable unicast address.
func publicAddr(ip netip.Addr) bool {
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(ip) && !netip.MustParsePrefix("fc00::/7").Contains(ip)
}
