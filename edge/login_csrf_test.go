package edge

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// Login CSRF (the review): another site's page could post its own password
// to the form and sign the visitor in as someone else. A POST is checked
// only with the form's token and its SameSite=Strict cookie, equal.
func TestLoginCSRF(t *testing.T) {
	o := startOrigin(t, accessSites()...)
	e := startEdge(t, o)
	tok, cookie := e.loginToken(t, "priv.test")
	_, other := e.loginToken(t, "priv.test")
	form := func(token string) url.Values {
		f := url.Values{"password": {"pw-private"}, "next": {"/"}}
		if token != "" {
			f.Set(loginField, token)
		}
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		cookie string
		want   int
	}{
		{"a cross-site post: no token, no cookie", form(""), "", 403},
		{"a token with no cookie", form(tok), "", 403},
		{"the cookie with no token", form(""), cookie, 403},
		{"another form's cookie", form(tok), other, 403},
		{"a made-up token and cookie", form("AAAAAAAAAAAAAAAAAAAAAA"), loginCookie + "=AAAAAAAAAAAAAAAAAAAAAB", 403},
		{"a short token equal to its cookie", form("x"), loginCookie + "=x", 403},
		{"the form's token and cookie", form(tok), cookie, 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hs []string
			if tt.cookie != "" {
				hs = append(hs, "Cookie: "+tt.cookie)
			}
			r := e.do(t, http.MethodPost, "priv.test", loginPath, tt.form, hs...)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d", r.status, tt.want)
			}
			session := strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), SessionCookie+"=")
			if session != (tt.want == 303) {
				t.Fatalf("session cookie set: %v (%v)", session, r.header.Values("Set-Cookie"))
			}
			if tt.want == 403 && !strings.Contains(r.body, `name="`+loginField+`"`) {
				t.Fatalf("the refusal shows no fresh form: %.200q", r.body)
			}
		})
	}
	if got := counter(e.m.passwordChecks); got != 1 {
		t.Errorf("password checks %v, want 1 (refused posts cost no bcrypt)", got)
	}
}

// Behind a TLS-terminating proxy the visitor's connection is HTTPS though
// the edge's is not: a trusted proxy's X-Forwarded-Proto makes the session
// and form cookies Secure; anyone else's is ignored.
func TestSessionCookieSecureBehindProxy(t *testing.T) {
	o := startOrigin(t, accessSites()...)
	trusting := startEdge(t, o, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	untrusting := startEdge(t, o, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} })
	tests := []struct {
		name   string
		e      *testEdge
		proto  string
		secure bool
	}{
		{"plain HTTP, no proxy header", trusting, "", false},
		{"a trusted proxy that terminated TLS", trusting, "https", true},
		{"a trusted proxy's list, nearest last", trusting, "http, https", true},
		{"a trusted proxy on plain HTTP", trusting, "http", false},
		{"an untrusted peer claiming https", untrusting, "https", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hs []string
			if tt.proto != "" {
				hs = append(hs, "X-Forwarded-Proto: "+tt.proto)
			}
			r := tt.e.postLogin(t, "priv.test", url.Values{"password": {"pw-private"}, "next": {"/"}}, hs...)
			if r.status != 303 {
				t.Fatalf("login: %d", r.status)
			}
			for _, c := range r.header.Values("Set-Cookie") {
				if strings.Contains(strings.ToLower(c), "; secure") != tt.secure {
					t.Errorf("Secure %v wanted: %s", tt.secure, c)
				}
			}
		})
	}
}
