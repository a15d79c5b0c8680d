package skeleton_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/dev"
	"github.com/statusedge/statusedge/edge"
	"github.com/statusedge/statusedge/internal/testenv"
	"github.com/statusedge/statusedge/origin/client"
)

// slowPages is the origin as a signed-in visitor meets it past the edge's
// budget: HTML renders of "/" never finish (until the edge gives up on
// them), everything else answers at once, so the visitor gets the skeleton
// and its script completes it from the JSON.
type slowPages struct{ edge.Origin }

func (o slowPages) Render(ctx context.Context, r edge.RenderRequest) (edge.Rendered, error) {
	if r.Path == "/" {
		<-ctx.Done()
		return edge.Rendered{}, ctx.Err()
	}
	return o.Origin.Render(ctx, r)
}

// TestShellSignsOut: on a private and on an audience site, and as an
// audience site's staff (the whole site), a visitor who
// signed in and got the skeleton shell (the whole system: raft origin, edge,
// the shell and its script) sees a Sign out button in the header, and
// clicking it ends the session: the cookie is gone, the page and its JSON
// ask for the password again. A public site's shell has no button.
func TestShellSignsOut(t *testing.T) {
	sys, err := dev.Start(context.Background(), dev.Config{
		DataDir: t.TempDir(), Fast: true, RenderBudget: 100 * time.Millisecond,
		EdgeHook: func(_ string, c *edge.Config) {
			c.Origin = slowPages{c.Origin}
			c.RenderTimeout = 2 * time.Second
			c.MinuteLead = -1   // the demo site is live: no minute renders to wait out
			c.LoginBurst = 1000 // the test polls sign-ins from one address
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := sys.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	api, err := client.New(client.Config{BaseURL: sys.Regions[0].APIURL, Token: sys.OperatorToken})
	if err != nil {
		t.Fatal(err)
	}
	page := sys.Regions[0].PageURL
	ctx := context.Background()

	pub := browser.Tab(t, chromedp.WithNewBrowserContext())
	run(t, pub, "navigate to the public shell", chromedp.Navigate(page+"/"))
	run(t, pub, "wait for the skeleton to complete", chromedp.Poll[bool](completeJS, chromedp.WithPollingTimeout(stepTimeout)))
	if n := eval[int](t, pub, `document.querySelectorAll("form.signout").length`); n != 0 {
		t.Errorf("the public shell offers to sign out (%d buttons)", n)
	}

	var api1 string
	for _, c := range demo.Site(time.Now()).Components {
		if c.Name == "API" {
			api1 = c.ID
		}
	}
	rows := []struct {
		name     string
		make     func(t *testing.T)
		login    string // the sign-in page's path and query
		password string
		// sees and hidden are components the page shows and does not.
		sees, hidden []string
	}{
		{"private", func(t *testing.T) {
			if _, err := api.UpdateSite(ctx, demo.SiteID, client.SiteInput{Visibility: client.Ptr(content.Private),
				Access: &client.AccessInput{Password: client.Ptr("site-password-1")}}); err != nil {
				t.Fatal(err)
			}
		}, "/_statusedge/login?next=/", "site-password-1", []string{"API", "DNS"}, nil},
		{"audience", func(t *testing.T) {
			if _, err := api.CreateAudience(ctx, demo.SiteID, client.AudienceInput{Name: client.Ptr("Partners"),
				Components: &[]string{api1}, Password: client.Ptr("partner-password")}); err != nil {
				t.Fatal(err)
			}
			if _, err := api.UpdateSite(ctx, demo.SiteID, client.SiteInput{Visibility: client.Ptr(content.AudienceSpecific)}); err != nil {
				t.Fatal(err)
			}
		}, "/_statusedge/login?next=/", "partner-password", []string{"API"}, []string{"DNS", "Object Storage"}},
		{"staff", func(t *testing.T) {
			if _, err := api.UpdateSite(ctx, demo.SiteID, client.SiteInput{Access: &client.AccessInput{StaffPassword: client.Ptr("staff-password")}}); err != nil {
				t.Fatal(err)
			}
		}, content.StaffLoginPath + "&next=/", "staff-password", []string{"API", "DNS", "Object Storage"}, nil},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			row.make(t)
			// The edge hears of the change at once (the versions poll);
			// until then the page may still be the old one.
			for deadline := time.Now().Add(stepTimeout); status(t, page+"/") != http.StatusUnauthorized || !signsIn(t, page+row.login, row.password); time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the edge never took the new access rules")
				}
			}
			tab := browser.Tab(t, chromedp.WithNewBrowserContext())
			run(t, tab, "open the sign-in page", chromedp.Navigate(page+row.login))
			run(t, tab, "type the password", chromedp.SendKeys(chromedp.CSS("#pw"), row.password))
			run(t, tab, "sign in", chromedp.Submit(chromedp.CSS("#pw")))
			run(t, tab, "wait for the skeleton to complete", chromedp.WaitReady(chromedp.CSS(`main[data-skeleton="complete"]`)))
			if errs := tab.Errors(); len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
			if n := eval[int](t, tab, `document.querySelectorAll("header form.signout[method=post][action='/_statusedge/logout'] button").length`); n != 1 {
				t.Fatalf("the signed-in shell has %d Sign out buttons, want 1", n)
			}
			shown := eval[string](t, tab, `document.getElementById("components").innerText`)
			for _, c := range row.sees {
				if !strings.Contains(shown, c) {
					t.Errorf("the completed shell lacks %q", c)
				}
			}
			for _, c := range row.hidden {
				if strings.Contains(shown, c) {
					t.Errorf("the completed shell shows %q", c)
				}
			}
			if len(cookies(t, tab)) != 1 {
				t.Fatalf("signed in, the browser holds no session cookie")
			}

			run(t, tab, "click Sign out", chromedp.Click(chromedp.CSS("header form.signout button")))
			run(t, tab, "wait for the sign-in page", chromedp.WaitVisible(chromedp.CSS("form[action='/_statusedge/login'] #pw")))
			want := "/_statusedge/login"
			if row.name == "staff" {
				want = content.StaffLoginPath // staff go back to their own
			}
			if loc := run(t, tab, "read the location", chromedp.Location()); !strings.HasSuffix(loc, want) {
				t.Errorf("after Sign out the browser is at %s, want %s", loc, want)
			}
			if c := cookies(t, tab); len(c) != 0 {
				t.Errorf("after Sign out the browser still holds %q", c)
			}
			for _, p := range []string{"/", "/api/v2/summary.json"} {
				if st := eval[int](t, tab, `fetch("`+p+`", {redirect: "manual"}).then(r => r.status)`); st != 401 {
					t.Errorf("%s after Sign out: %d, want 401", p, st)
				}
			}
		})
	}
}

// status is the status code of a GET of url without cookies.
func status(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// signsIn reports whether posting password to the sign-in page at login
// (its query's fields too) gets a session.
func signsIn(t *testing.T, login, password string) bool {
	t.Helper()
	u, err := url.Parse(login)
	if err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(login) // the form's token, and its cookie in the jar
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		return false
	}
	form := u.Query()
	form.Set("password", password)
	form.Set("csrf", string(m[1]))
	if res, err = c.PostForm(u.Scheme+"://"+u.Host+u.Path, form); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return true
		}
	}
	return false
}

// cookies are the session cookies the tab's browser holds.
func cookies(t *testing.T, tab *testenv.Tab) []string {
	t.Helper()
	var out []string
	run(t, tab, "read the cookies", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
		for _, c := range res.Cookies {
			if c.Name == sessionCookie && c.Value != "" {
				out = append(out, c.Value)
			}
		}
		return err
	}))
	return out
}
