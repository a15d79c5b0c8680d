package edge

import (
	"net/http"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/origin/render/style"
)

// The sign-in page wears the status page's stylesheet (accent, light and
// dark), name, logo and icon (so a browser asks for no /favicon.ico, which
// would be a 401 on a private site); signing out clears the session.
func TestLoginPageAndSignOut(t *testing.T) {
	sites := accessSites()
	sites[1].Branding.AccentColor, sites[1].Branding.LogoURL = "#7b2cbf", "https://priv.test/logo.png"
	o := startOrigin(t, sites...)
	e := startEdge(t, o)
	r := e.get(t, "priv.test", loginPath)
	for _, want := range []string{style.Sheet("#7b2cbf"), `<img src="https://priv.test/logo.png" alt="">`, "<span>Site priv</span>",
		`name="color-scheme" content="light dark"`, `<link rel="icon" href="` + style.Icon("#7b2cbf") + `">`, `<form method="post" action="` + loginPath + `">`} {
		if r.status != 200 || !strings.Contains(r.body, want) {
			t.Errorf("sign-in page (%d) lacks %.80q", r.status, want)
		}
	}
	cookie, _ := login(t, e, "priv.test", "pw-private", "/")
	if r := e.get(t, "priv.test", "/", "Cookie: "+cookie); r.status != 200 {
		t.Fatalf("signed in: %d", r.status)
	}
	if r := e.get(t, "priv.test", logoutPath, "Cookie: "+cookie); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET sign-out: %d, want 405 (a link must not sign anyone out)", r.status)
	}
	out := e.do(t, http.MethodPost, "priv.test", logoutPath, nil, "Cookie: "+cookie)
	sc := out.header.Get("Set-Cookie")
	if out.status != 303 || out.header.Get("Location") != loginPath || !strings.HasPrefix(sc, SessionCookie+"=;") || !strings.Contains(sc, "expires=Tue, 10 Nov 2009") {
		t.Fatalf("sign out: %d %q %q", out.status, out.header.Get("Location"), sc)
	}
	// (The pages' Sign out button is the renderer's, origin/render, and the
	// shell's: skeleton's TestShellSignsOut clicks it in Chromium.)
}
