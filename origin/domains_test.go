package origin

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/internal/acmeserver"
	"github.com/statusedge/statusedge/internal/testenv"
)

func TestDomainAddVerifyRemove(t *testing.T) {
	// challtestsrv is the DNS server: TXT records as published, every name → 127.0.0.1.
	dns := testenv.StartPebble(t, acmeserver.Config{HTTPPort: 1, TLSPort: 1})
	// The "edge" the domain points at, for the HTTP proof.
	var httpToken string
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == content.DomainHTTPPath+httpToken {
			w.Write([]byte(httpToken))
			return
		}
		http.NotFound(w, r)
	}))
	defer web.Close()
	port, _ := strconv.Atoi(web.URL[strings.LastIndex(web.URL, ":")+1:])
	c := newCluster(t, 1, 0, func(cfg *Config) {
		cfg.DomainCheck = DomainCheckConfig{DNSServer: dns.DNSAddr, HTTPPort: port, AllowPrivate: true}
	})
	f := newFixture(t, c)

	// Bad names: the field is named, nothing is stored.
	for _, bad := range []string{"", "localhost", "status", "127.0.0.1", "1.2.3.4", "x.localhost", "a.b.internal", "acme.localhost", "UPPER..case", "a/b.com", "-x.example.com"} {
		a := call(t, f.base, "POST", "/v1/sites/acme/domains", f.token, map[string]any{"name": bad})
		if field, status := a.errField(); status != 422 || field != "name" {
			t.Errorf("add %q: %d %s", bad, a.status, a.body)
		}
	}
	a := call(t, f.base, "POST", "/v1/sites/acme/domains", f.token, map[string]any{"name": "Status.Example.COM.", "https_redirect": true, "hsts": true})
	if a.status != 201 {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	var d DomainView
	a.json(t, &d)
	if d.Name != "status.example.com" || d.Verified || d.TXTName != "_statusedge-challenge.status.example.com" ||
		!strings.HasPrefix(d.TXTValue, "statusedge-verify=") || d.CNAME != "acme.localhost" || !d.HTTPSRedirect || !d.HSTS {
		t.Fatalf("added = %+v", d)
	}
	// Pending: does not route.
	if s := c.leader().n.SiteByHost("status.example.com"); s != nil {
		t.Fatal("a pending domain routes")
	}
	// Another site's token cannot touch it; another site may claim it too while pending.
	if a := call(t, f.base, "POST", "/v1/sites/acme/domains/status.example.com/verify", f.otherTok, nil); a.status != 403 {
		t.Fatalf("other site's verify: %d", a.status)
	}
	if a := call(t, f.base, "POST", "/v1/sites/other/domains", f.otherTok, map[string]any{"name": "status.example.com"}); a.status != 201 {
		t.Fatalf("second pending claim: %d %s", a.status, a.body)
	}

	// Nothing published: the answer says what was looked at and found.
	a = call(t, f.base, "POST", "/v1/sites/acme/domains/status.example.com/verify", f.token, map[string]any{"method": "dns"})
	if field, status := a.errField(); status != 422 || field != "domain" || !strings.Contains(string(a.body), "no TXT record found at _statusedge-challenge.status.example.com") {
		t.Fatalf("verify unpublished: %d %s", a.status, a.body)
	}
	dns.SetTXT("_statusedge-challenge.status.example.com", "statusedge-verify=wrong")
	a = call(t, f.base, "POST", "/v1/sites/acme/domains/status.example.com/verify", f.token, nil)
	if a.status != 422 || !strings.Contains(string(a.body), `has \"statusedge-verify=wrong\"`) || !strings.Contains(string(a.body), "HTTP: GET http://status.example.com/.well-known/statusedge-challenge/") {
		t.Fatalf("verify wrong value: %d %s", a.status, a.body)
	}
	dns.SetTXT("_statusedge-challenge.status.example.com", d.TXTValue)
	a = call(t, f.base, "POST", "/v1/sites/acme/domains/status.example.com/verify", f.token, nil)
	if a.status != 200 {
		t.Fatalf("verify: %d %s", a.status, a.body)
	}
	a.json(t, &d)
	if !d.Verified || d.Method != "dns" {
		t.Fatalf("verified = %+v", d)
	}
	if s := c.leader().n.SiteByHost("status.example.com"); s == nil || s.Slug != "acme" {
		t.Fatal("a verified domain does not route")
	}
	var entry content.RegistryEntry
	for _, e := range c.leader().n.Registry().Sites {
		if e.Slug == "acme" {
			entry = e
		}
	}
	if !strings.Contains(strings.Join(entry.Hostnames, ","), "status.example.com") || len(entry.Domains) != 1 || !entry.Domains[0].Verified || entry.Domains[0].Token != "" {
		t.Fatalf("registry entry = %+v %+v", entry.Hostnames, entry.Domains)
	}
	// The other site's pending claim can no longer verify, nor set it as a hostname.
	var other DomainView
	call(t, f.base, "GET", "/v1/sites/other/domains", f.otherTok, nil).json(t, &[]*DomainView{&other})
	dns.SetTXT("_statusedge-challenge.status.example.com", other.TXTValue)
	if a := call(t, f.base, "POST", "/v1/sites/other/domains/status.example.com/verify", f.otherTok, nil); a.status != 409 {
		t.Fatalf("second site's verify: %d %s", a.status, a.body)
	}
	if a := call(t, f.base, "PATCH", "/v1/sites/other", testOperator, map[string]any{"hostnames": []string{"status.example.com"}}); a.status != 409 {
		t.Fatalf("hostname = another site's verified domain: %d %s", a.status, a.body)
	}

	// The HTTP proof, through the "edge".
	a = call(t, f.base, "POST", "/v1/sites/acme/domains", f.token, map[string]any{"name": "www.example.org"})
	a.json(t, &d)
	a = call(t, f.base, "POST", "/v1/sites/acme/domains/www.example.org/verify", f.token, map[string]any{"method": "http"})
	if a.status != 422 || !strings.Contains(string(a.body), "answered 404") {
		t.Fatalf("http verify before the edge answers: %d %s", a.status, a.body)
	}
	httpToken = d.HTTPBody
	if a := call(t, f.base, "POST", "/v1/sites/acme/domains/www.example.org/verify", f.token, map[string]any{"method": "http"}); a.status != 200 {
		t.Fatalf("http verify: %d %s", a.status, a.body)
	}

	// Removed: routes no more.
	if a := call(t, f.base, "DELETE", "/v1/sites/acme/domains/status.example.com", f.token, nil); a.status != 204 {
		t.Fatalf("remove: %d %s", a.status, a.body)
	}
	if s := c.leader().n.SiteByHost("status.example.com"); s != nil {
		t.Fatal("a removed domain routes")
	}
	var list []DomainView
	call(t, f.base, "GET", "/v1/sites/acme/domains", f.token, nil).json(t, &list)
	if len(list) != 1 || list[0].Name != "www.example.org" {
		t.Fatalf("list = %+v", list)
	}
	// A restarted replica replays the same.
	applied := c.leader().n.AppliedIndex()
	c.kill(0)
	c.restart(0)
	n := c.waitLeader().n
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if err := n.WaitIndex(ctx, applied); err != nil {
		t.Fatal(err)
	}
	if s := n.SiteByHost("www.example.org"); s == nil || s.Slug != "acme" {
		t.Fatal("after restart the verified domain does not route")
	}
}

func TestDomainHTTPCheckRefusesPrivateAddresses(t *testing.T) {
	dns := testenv.StartPebble(t, acmeserver.Config{HTTPPort: 1, TLSPort: 1})
	ch := NewDomainChecker(DomainCheckConfig{DNSServer: dns.DNSAddr})
	method, found := ch.Check(t.Context(), "status.example.com", "tok", "http")
	if method != "" || !strings.Contains(found, "resolves to 127.0.0.1, which is not a public address") {
		t.Fatalf("check = %q %q", method, found)
	}
	for _, tc := range []struct {
		ip     string
		public bool
	}{{"8.8.8.8", true}, {"127.0.0.1", false}, {"10.1.2.3", false}, {"192.168.1.1", false}, {"169.254.169.254", false},
		{"100.64.0.1", false}, {"::1", false}, {"fd00::1", false}, {"fe80::1", false}, {"2001:4860::8888", true}, {"0.0.0.0", false}} {
		if got := publicAddr(netip.MustParseAddr(tc.ip)); got != tc.public {
			t.Errorf("publicAddr(%s) = %v", tc.ip, got)
		}
	}
}
