package edge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/internal/testenv"
)

// signInStaff posts the staff sign-in form (content.StaffLoginPath) and
// returns the session cookie ("" if refused).
func signInStaff(t *testing.T, e *testEdge, host, pw string) (string, resp) {
	t.Helper()
	r := e.postLogin(t, host, url.Values{"password": {pw}, "next": {"/"}, "staff": {"1"}})
	return sessionOf(r), r
}

// sessionOf is the session cookie an answer sets ("" for none).
func sessionOf(r resp) string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			return SessionCookie + "=" + c.Value
		}
	}
	return ""
}

// patchSite sends PATCH /v1/sites/{site} to the origin's management API
// with the operator token and returns the status and body.
func patchSite(t *testing.T, api, site, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, api+"/v1/sites/"+site, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer operator-token-for-tests")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// An audience site with a staff password (set through the management API,
// as ctl site update --staff-password does) has a full view: staff, signed
// in at StaffLoginPath, see every component and incident; an audience's
// visitor sees only theirs; an anonymous one gets the sign-in page. The
// pages live under keys of their own (staff, a:<id>) in L1 and Redis, and
// no session reaches another viewer's bytes: the attack rows below try.
// The parts are real: an origin on raft, its renderer, the edge, Redis.
func TestStaffSeeTheWholeAudienceSite(t *testing.T) {
	red := testenv.StartRedis(t)
	now := time.Now()
	site := demo.Site(now)
	site.Visibility = content.AudienceSpecific
	site.Audiences = []*content.Audience{
		{ID: "partners0001", Name: "Partners", ComponentIDs: []string{"b1w3i3exvmpm"}, PasswordHash: mustHash("partner-pass")}, // API
		{ID: "storage00001", Name: "Storage", ComponentIDs: []string{"oiolk121uq5i"}, PasswordHash: mustHash("storage-pass")},  // Object Storage
	}
	other := testSite("othersite001", "other.test", content.AudienceSpecific)
	other.Slug = "other"
	other.Audiences = []*content.Audience{{ID: "otheraud0001", Name: "Them", ComponentIDs: []string{"b1w3i3exvmpm"}, PasswordHash: mustHash("them-pass-1")}}
	_, api, _ := realOrigin(t, site, other)
	e := realEdge(t, api, func(c *Config) {
		c.RedisAddr = red.Addr()
		c.Now = func() time.Time { return now } // the demo site is live: its pages hold one minute
		c.LoginBurst = 1000                     // sign-ins are polled from one address
	})
	host := demo.Hostname
	waitVersion := func(what string, ok func() bool) { eventually(t, 10*time.Second, what, ok) }

	// No staff password yet: the staff form signs no one in.
	if c, r := signInStaff(t, e, host, "staff-pass-1"); c != "" || r.status != 401 {
		t.Fatalf("staff sign-in before any staff password: %d %q", r.status, c)
	}
	for _, body := range []string{`{"access":{"staff_password":"short"}}`, `{"access":{"staff_password":"` + strings.Repeat("x", 73) + `"}}`} {
		if st, b := patchSite(t, api, site.ID, body); st != 422 || !strings.Contains(b, `"field":"access.staff_password"`) {
			t.Errorf("PATCH %s: %d %s", body, st, b)
		}
	}
	if st, b := patchSite(t, api, site.ID, `{"access":{"staff_password":"staff-pass-1"}}`); st != 200 || !strings.Contains(b, `"has_staff_password":true`) || strings.Contains(b, "staff-pass-1") {
		t.Fatalf("PATCH staff_password: %d %s", st, b)
	}

	// The staff sign-in page: no audience field, the staff flag carried.
	form := e.get(t, host, content.StaffLoginPath)
	if form.status != 200 || !strings.Contains(form.body, `<input type="hidden" name="staff" value="1">`) || strings.Contains(form.body, `name="audience"`) {
		t.Errorf("staff sign-in page: %d %.300q", form.status, form.body)
	}
	var staff string
	waitVersion("the staff password at the edge", func() bool { staff, _ = signInStaff(t, e, host, "staff-pass-1"); return staff != "" })
	partner, _ := loginAs(t, e, host, "Partners", "partner-pass")
	if partner == "" {
		t.Fatal("the partner could not sign in")
	}

	everything := []string{"API", "Dashboard", "Virtual Machines", "Object Storage", "DNS", "Load Balancers",
		"Elevated error rates on the API", "Object Storage upload failures in us-east"}
	notPartners := []string{"Virtual Machines", "Object Storage", "DNS", "Load Balancers", "Object Storage upload failures in us-east"}
	page := func(who, cookie, path string) string {
		t.Helper()
		r := e.get(t, host, path, "Cookie: "+cookie)
		if r.status != 200 {
			t.Fatalf("%s %s: %d %.200q", who, path, r.status, r.body)
		}
		return decode(t, r)
	}
	for range 2 { // a fill, then a cache hit: the same for each viewer
		body := page("staff", staff, "/")
		for _, w := range everything {
			if !strings.Contains(body, w) {
				t.Errorf("the staff page lacks %q", w)
			}
		}
		if !strings.Contains(body, `action="/_statusedge/logout"`) {
			t.Error("the staff page has no Sign out")
		}
		body = page("partner", partner, "/")
		if !strings.Contains(body, "Elevated error rates on the API") {
			t.Error("the partner page lacks its incident")
		}
		for _, w := range notPartners {
			if strings.Contains(body, w) {
				t.Errorf("the partner page shows %q", w)
			}
		}
		sum := page("staff", staff, "/api/v2/summary.json")
		if !strings.Contains(sum, `"DNS"`) {
			t.Errorf("the staff summary lacks DNS: %.200s", sum)
		}
		if sum := page("partner", partner, "/api/v2/summary.json"); strings.Contains(sum, `"DNS"`) {
			t.Errorf("the partner summary shows DNS")
		}
	}
	for _, path := range []string{"/", "/api/v2/summary.json", "/history", "/incidents/" + site.Incidents[0].ID} {
		if r := e.get(t, host, path); r.status != 401 || strings.Contains(r.body, "DNS") {
			t.Errorf("anonymous %s: %d", path, r.status)
		}
	}

	// Keys: the staff's pages under "staff", the partner's under its
	// audience, in Redis as in L1, each with its own bytes.
	st := e.table.Load().byHost[host]
	v := st.serveVersion()
	key := func(aud string) []byte {
		return appendEnc(appendMinuteKey(nil, st.id, v, aud, st.today(now), st.minute(v, now), []byte("/")), encIdentity)
	}
	eventually(t, 20*time.Second, "both pages in redis", func() bool {
		got := e.l2.getAll(e.ctx, key(audStaff), key("a:partners0001"))
		return got[0] != nil && got[1] != nil
	})
	got := e.l2.getAll(e.ctx, key(audStaff), key("a:partners0001"), key(audPrivate), key(audPublic), key("a:"))
	if !bytes.Contains(got[0].body, []byte("DNS")) || bytes.Contains(got[1].body, []byte("DNS")) {
		t.Error("redis: the staff key lacks DNS or the partner key has it")
	}
	for i, k := range []string{"private", "public", "a:"} {
		if got[2+i] != nil {
			t.Errorf("redis holds the site's page under %q", k)
		}
	}

	// Attack rows: each must get the sign-in page (or only its own view).
	rows := []struct {
		name   string
		signIn func() string
	}{
		{"the staff password given as an audience's", func() string {
			c, _ := loginAs(t, e, host, "Partners", "staff-pass-1")
			return c
		}},
		{"the staff password naming no audience", func() string {
			c, _ := loginAs(t, e, host, "", "staff-pass-1")
			return c
		}},
		{"an audience's password at the staff form", func() string {
			c, _ := signInStaff(t, e, host, "partner-pass")
			return c
		}},
		{"another site's staff form with this one's password", func() string {
			c, _ := signInStaff(t, e, "other.test", "staff-pass-1")
			return c
		}},
	}
	for _, row := range rows {
		if c := row.signIn(); c != "" {
			t.Errorf("%s: signed in (%s)", row.name, c)
		}
	}
	if r := e.get(t, "other.test", "/", "Cookie: "+staff); r.status != 401 {
		t.Errorf("the staff cookie on another audience site: %d", r.status)
	}
	if r := e.get(t, host, "/", "Cookie: "+strings.Replace(staff, "=", "=x", 1)); r.status != 401 {
		t.Errorf("a tampered staff cookie: %d", r.status)
	}
	// The origin's own check: a staff render of a site without a staff
	// password, or a staff render naming an audience.
	if _, err := e.origin.Render(context.Background(), RenderRequest{SiteID: other.ID, Path: "/", Viewer: "staff"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("origin: staff render of a site without a staff password: %v", err)
	}
	if _, err := e.origin.Render(context.Background(), RenderRequest{SiteID: site.ID, Path: "/", Viewer: "staff", Audience: "partners0001"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("origin: staff render naming an audience: %v", err)
	}

	// Signing out sends staff back to their own sign-in page.
	if out := e.do(t, http.MethodPost, host, logoutPath, nil, "Cookie: "+staff); out.status != 303 || out.header.Get("Location") != content.StaffLoginPath {
		t.Errorf("staff sign out: %d to %q", out.status, out.header.Get("Location"))
	}
	if out := e.do(t, http.MethodPost, host, logoutPath, nil, "Cookie: "+partner); out.status != 303 || out.header.Get("Location") != loginPath {
		t.Errorf("partner sign out: %d to %q", out.status, out.header.Get("Location"))
	}

	// A new staff password ends the old staff sessions; the audience's
	// session is untouched.
	if st, b := patchSite(t, api, site.ID, `{"access":{"staff_password":"staff-pass-2"}}`); st != 200 {
		t.Fatalf("PATCH: %d %s", st, b)
	}
	waitVersion("the old staff session refused", func() bool { return e.get(t, host, "/", "Cookie: "+staff).status == 401 })
	staff2, _ := signInStaff(t, e, host, "staff-pass-2")
	if staff2 == "" || !strings.Contains(page("staff", staff2, "/"), "DNS") {
		t.Fatal("the new staff password does not show the whole site")
	}
	if strings.Contains(page("partner", partner, "/"), "DNS") {
		t.Error("after the staff change the partner sees DNS")
	}
	// Removed: no staff view at all, at the edge or the origin.
	if st, b := patchSite(t, api, site.ID, `{"access":{"staff_password":""}}`); st != 200 || !strings.Contains(b, `"has_staff_password":false`) {
		t.Fatalf("PATCH remove: %d %s", st, b)
	}
	waitVersion("the staff session refused", func() bool { return e.get(t, host, "/", "Cookie: "+staff2).status == 401 })
	if c, _ := signInStaff(t, e, host, "staff-pass-2"); c != "" {
		t.Error("the removed staff password still signs in")
	}
	if _, err := e.origin.Render(context.Background(), RenderRequest{SiteID: site.ID, Path: "/", Viewer: "staff"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("origin: staff render after removal: %v", err)
	}
	// Only an audience site takes one.
	if st, b := patchSite(t, api, site.ID, `{"visibility":"private","access":{"password":"private-pass","staff_password":"staff-pass-3"}}`); st != 422 || !strings.Contains(b, `"field":"access.staff_password"`) {
		t.Errorf("a staff password on a private site: %d %s", st, b)
	}
}

// loginAs posts the audience sign-in form naming audience.
func loginAs(t *testing.T, e *testEdge, host, audience, pw string) (string, resp) {
	t.Helper()
	r := e.postLogin(t, host, url.Values{"password": {pw}, "audience": {audience}, "next": {"/"}})
	return sessionOf(r), r
}
