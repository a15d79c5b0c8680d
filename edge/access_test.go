package edge

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

func accessSites() []*content.Site {
	priv := testSite("priv", "priv.test", content.Private)
	priv.Access.AllowCIDRs = []string{"10.1.0.0/16", "2001:db8::/32"}
	priv2 := testSite("priv2", "priv2.test", content.Private)
	local := testSite("local", "local.test", content.Private)
	local.Access.AllowCIDRs = []string{"127.0.0.0/8"}
	return []*content.Site{testSite("pub", "pub.test", content.Public), priv, priv2, local,
		testSite("aud", "aud.test", content.AudienceSpecific)}
}

// login posts the form and returns the session cookie ("" if refused).
// login posts the login form. The test sites' audience passwords are
// "pw-<x>" for audience "aud<x>", which it names as the audience.
func login(t *testing.T, e *testEdge, host, pw, next string) (string, resp) {
	t.Helper()
	form := url.Values{"password": {pw}, "next": {next}}
	if x, ok := strings.CutPrefix(pw, "pw-"); ok && len(x) == 1 {
		form.Set("audience", "aud"+x)
	}
	r := e.postLogin(t, host, form)
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == SessionCookie {
			return SessionCookie + "=" + c.Value, r
		}
	}
	return "", r
}

func TestAccess(t *testing.T) {
	o := startOrigin(t, accessSites()...)
	e := startEdge(t, o, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	untrusting := startEdge(t, o, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})

	privCookie, lr := login(t, e, "priv.test", "pw-private", "/history")
	if privCookie == "" || lr.status != 303 || lr.header.Get("Location") != "/history" {
		t.Fatalf("login: %d %v", lr.status, lr.header)
	}
	sc := lr.header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(strings.ToLower(sc), "samesite=lax") || strings.Contains(sc, "Secure") {
		t.Fatalf("Set-Cookie = %q", sc)
	}
	audA, _ := login(t, e, "aud.test", "pw-a", "/")
	audB, _ := login(t, e, "aud.test", "pw-b", "/")
	if audA == "" || audB == "" {
		t.Fatal("audience logins failed")
	}
	if c, r := login(t, e, "priv.test", "wrong", "/"); c != "" || r.status != 401 || !strings.Contains(r.body, "not right") {
		t.Fatalf("wrong password: %q %d", c, r.status)
	}
	if c, _ := login(t, e, "aud.test", "pw-private", "/"); c != "" {
		t.Fatal("another site's password opened an audience site")
	}
	if _, r := login(t, e, "priv.test", "pw-private", "//evil.test/x"); r.header.Get("Location") != "/" {
		t.Fatalf("open redirect: Location = %q", r.header.Get("Location"))
	}
	sign := func(s Session) string {
		v, err := e.signer.Sign(s)
		if err != nil {
			t.Fatal(err)
		}
		return SessionCookie + "=" + v
	}
	later := testNow.Add(time.Hour)
	if time.Now().After(later) {
		later = time.Now().Add(time.Hour)
	}
	forged := privCookie[:len(privCookie)-3] + "AAA"
	otherKey, _ := NewSessionSigner([]byte("another key that is 32 bytes long!!"))
	otherSigned, _ := otherKey.Sign(Session{SiteID: "priv", Method: "password", Expires: later})

	tests := []struct {
		name, edge, host string
		headers          []string
		status           int
		want             string // marker audience, or "" for the login form
	}{
		{"public", "e", "pub.test", nil, 200, "audience= path=/"},
		{"private without cookie", "e", "priv.test", nil, 401, ""},
		{"private with cookie", "e", "priv.test", []string{"Cookie: " + privCookie}, 200, "site=priv"},
		{"private cookie on another private site", "e", "priv2.test", []string{"Cookie: " + strings.Replace(privCookie, "priv", "priv2", 1)}, 401, ""},
		{"private cookie replayed on another site", "e", "priv2.test", []string{"Cookie: " + privCookie}, 401, ""},
		{"forged cookie", "e", "priv.test", []string{"Cookie: " + forged}, 401, ""},
		{"cookie signed with another key", "e", "priv.test", []string{"Cookie: " + SessionCookie + "=" + otherSigned}, 401, ""},
		{"expired cookie", "e", "priv.test", []string{"Cookie: " + sign(Session{SiteID: "priv", Method: "password", Expires: time.Now().Add(-time.Second)})}, 401, ""},
		{"audience cookie on private site", "e", "priv.test", []string{"Cookie: " + sign(Session{SiteID: "priv", Audience: "auda", Expires: later})}, 401, ""},
		{"garbage cookie", "e", "priv.test", []string{"Cookie: " + SessionCookie + "=%%%..."}, 401, ""},
		{"huge cookie", "e", "priv.test", []string{"Cookie: " + SessionCookie + "=" + strings.Repeat("A", 4000)}, 401, ""},
		{"CIDR v4 via trusted proxy", "e", "priv.test", []string{"X-Forwarded-For: 10.1.2.3"}, 200, "site=priv"},
		{"CIDR v6 via trusted proxy", "e", "priv.test", []string{"X-Forwarded-For: 2001:db8::7"}, 200, "site=priv"},
		{"CIDR v4-mapped v6", "e", "priv.test", []string{"X-Forwarded-For: ::ffff:10.1.9.9"}, 200, "site=priv"},
		{"address outside the allowlist", "e", "priv.test", []string{"X-Forwarded-For: 10.2.0.1"}, 401, ""},
		{"v6 outside the allowlist", "e", "priv.test", []string{"X-Forwarded-For: 2001:db9::1"}, 401, ""},
		{"spoofed left hop", "e", "priv.test", []string{"X-Forwarded-For: 10.1.2.3, 192.0.2.1"}, 401, ""},
		{"malformed hop", "e", "priv.test", []string{"X-Forwarded-For: 10.1.2.3, nonsense"}, 401, ""},
		{"two XFF headers, right one counts", "e", "priv.test", []string{"X-Forwarded-For: 10.1.2.3", "X-Forwarded-For: 192.0.2.9"}, 401, ""},
		{"XFF from an untrusted peer", "untrusting", "priv.test", []string{"X-Forwarded-For: 10.1.2.3"}, 401, ""},
		{"direct address in allowlist", "untrusting", "local.test", nil, 200, "site=local"},
		{"direct address, XFF ignored", "untrusting", "local.test", []string{"X-Forwarded-For: 10.9.9.9"}, 200, "site=local"},
		{"audience A", "e", "aud.test", []string{"Cookie: " + audA}, 200, "audience=auda "},
		{"audience B", "e", "aud.test", []string{"Cookie: " + audB}, 200, "audience=audb "},
		{"audience site without cookie", "e", "aud.test", nil, 401, ""},
		{"audience site, whole-site session", "e", "aud.test", []string{"Cookie: " + sign(Session{SiteID: "aud", Expires: later})}, 401, ""},
		{"audience site, deleted audience", "e", "aud.test", []string{"Cookie: " + sign(Session{SiteID: "aud", Audience: "gone", Expires: later})}, 401, ""},
		{"audience site, CIDR does not pick an audience", "e", "aud.test", []string{"X-Forwarded-For: 10.1.2.3"}, 401, ""},
		{"private login form on CIDR-less site", "e", "priv2.test", nil, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ed := e
			if tt.edge == "untrusting" {
				ed = untrusting
			}
			r := ed.get(t, tt.host, "/", tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d", r.status, tt.status)
			}
			switch {
			case tt.status == 401:
				if !strings.Contains(r.body, `<form method="post"`) || r.header.Get("Cache-Control") != "no-store" || strings.Contains(r.body, "site=") {
					t.Fatalf("denied answer = %v %q", r.header, r.body)
				}
			case !strings.Contains(r.body, tt.want):
				t.Fatalf("body lacks %q", tt.want)
			}
			if tt.status == 200 && tt.host != "pub.test" {
				if cc := r.header.Get("Cache-Control"); cc != "private, no-store" || !strings.Contains(r.header.Get("Vary"), "Cookie") {
					t.Fatalf("private page: Cache-Control %q Vary %q", cc, r.header.Get("Vary"))
				}
			}
		})
	}
	// The audience's view is narrowed: A does not see B's components.
	a := e.get(t, "aud.test", "/", "Cookie: "+audA)
	if !strings.Contains(a.body, "<li>API ") || strings.Contains(a.body, "<li>Kubernetes ") {
		t.Fatalf("audience A view: %q", a.body)
	}
	// The login form on a public site sends visitors home.
	if r := e.get(t, "pub.test", loginPath); r.status != 303 {
		t.Fatalf("public login = %d", r.status)
	}
}

func TestSessionSigner(t *testing.T) {
	if _, err := NewSessionSigner([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
	g, _ := NewSessionSigner(testKey)
	exp := time.Unix(2_000_000_000, 0)
	s := Session{SiteID: "s", Audience: "a", Method: "sso", Subject: "ann@example.test", Expires: exp}
	v, err := g.Sign(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Verify([]byte(v), "s", exp.Add(-time.Second))
	if err != nil || got != s {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		v    string
		site string
		at   time.Time
	}{
		"expired":      {v, "s", exp},
		"other site":   {v, "t", exp.Add(-time.Second)},
		"empty":        {"", "s", exp.Add(-time.Hour)},
		"no dot":       {strings.ReplaceAll(v, ".", ""), "s", exp.Add(-time.Hour)},
		"mac swapped":  {v[:strings.IndexByte(v, '.')] + "." + v[:strings.IndexByte(v, '.')], "s", exp.Add(-time.Hour)},
		"payload edit": {"x" + v[1:], "s", exp.Add(-time.Hour)},
	} {
		if _, err := g.Verify([]byte(tc.v), tc.site, tc.at); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := g.Sign(Session{SiteID: "s\nx", Expires: exp}); err == nil {
		t.Error("newline in a field accepted")
	}
}
