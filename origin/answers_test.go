package origin

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/render"
)

// Every write's answer shows the state the write made: the version and
// updated_at its commit stamped, and the status every surface shows.
func TestWriteAnswersShowTheCommittedChange(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"site patch", "PATCH", "/v1/sites/acme", map[string]any{"name": "Acme Cloud"}},
		{"site patch, same value", "PATCH", "/v1/sites/acme", map[string]any{"name": "Acme Cloud"}},
		{"site patch, branding", "PATCH", "/v1/sites/acme", map[string]any{"branding": map[string]any{"accent_color": "#112233"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, f.base, tc.method, tc.path, f.token, tc.body)
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.body)
			}
			var v SiteView
			a.json(t, &v)
			var now SiteView
			call(t, f.base, "GET", "/v1/sites/acme", f.token, nil).json(t, &now)
			if v.Version != now.Version || !v.UpdatedAt.Equal(now.UpdatedAt) || a.header.Get("X-Statusedge-Version") != itoa(now.Version) {
				t.Fatalf("answer version %d updated %s (header %s), site now %d %s",
					v.Version, v.UpdatedAt, a.header.Get("X-Statusedge-Version"), now.Version, now.UpdatedAt)
			}
		})
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// A group's status is the worst of its children's in the management API,
// as on the page and in the v2 JSON.
func TestGroupStatusIsOneRule(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	if a := call(t, f.base, "PATCH", "/v1/sites/acme/components/"+f.web, f.token, map[string]any{"status": "partial_outage"}); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var list []content.Component
	call(t, f.base, "GET", "/v1/sites/acme/components", f.token, nil).json(t, &list)
	var got content.ComponentStatus
	for _, x := range list {
		if x.ID == f.grp {
			got = x.Status
		}
	}
	var one content.Component
	call(t, f.base, "GET", "/v1/sites/acme/components/"+f.grp, f.token, nil).json(t, &one)
	var patched content.Component
	call(t, f.base, "PATCH", "/v1/sites/acme/groups/"+f.grp, f.token, map[string]any{"name": "Core services"}).json(t, &patched)
	var summary struct {
		Components []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"components"`
	}
	if err := json.Unmarshal(renderPage(t, c, "/api/v2/components.json"), &summary); err != nil {
		t.Fatal(err)
	}
	var page string
	for _, x := range summary.Components {
		if x.ID == f.grp {
			page = x.Status
		}
	}
	if got != content.PartialOutage || one.Status != got || patched.Status != got || page != string(got) {
		t.Fatalf("group status: list %s, get %s, patch answer %s, v2 JSON %s; want partial_outage everywhere", got, one.Status, patched.Status, page)
	}
}

// Completing a maintenance gives each component back the status it had
// before the window, unless an update changed it during the window.
func TestMaintenanceEndRestoresPriorStatuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(m *machine, s string) // completes or deletes the window
	}{
		{"posted completion", func(m *machine, s string) {
			m.ok(&Command{Op: OpAddMaintUpdateRestoring, Site: s, ID: "mnt", NewIDs: []string{"u9"},
				UpdateIn: &UpdateInput{Status: ptrTo("completed"), Body: ptrTo("done")}})
		}},
		{"automatic completion", func(m *machine, s string) {
			end := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
			due := m.st.dueTransitions(end)
			if len(due) != 1 {
				m.t.Fatalf("due = %v", due)
			}
			due[0].At, due[0].NewIDs = end, []string{"u9"}
			m.ok(due[0])
		}},
		{"deleted while running", func(m *machine, s string) {
			m.ok(&Command{Op: OpDeleteMaintenanceRestoring, Site: s, ID: "mnt"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			s := m.site("acme")
			m.component(s, "db", "DB")
			m.component(s, "cache", "Cache")
			m.component(s, "api", "API")
			m.ok(&Command{Op: OpUpdateComponent, Site: s, ID: "db", ComponentIn: &ComponentInput{Status: ptrTo(content.DegradedPerformance)}})
			m.ok(&Command{Op: OpCreateMaintenance, Site: s, NewIDs: []string{"mnt", "mu"}, MaintenanceIn: &MaintenanceInput{
				Name: ptrTo("upgrade"), ScheduledFor: ptrTo("2026-03-05T10:00:00Z"), ScheduledUntil: ptrTo("2026-03-05T12:00:00Z"),
				Components: &[]string{"db", "cache", "api"}}})
			start := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
			due := m.st.dueTransitions(start)
			due[0].At, due[0].NewIDs = start, []string{"u1"}
			m.ok(due[0])
			// An incident during the window sets API to a partial outage.
			m.ok(&Command{Op: OpCreateIncident, Site: s, NewIDs: []string{"inc", "iu"}, At: start.Add(time.Minute), IncidentIn: &IncidentInput{
				Name: ptrTo("API slow"), Status: ptrTo(content.Investigating), Body: ptrTo("looking"),
				Components: map[string]content.ComponentStatus{"api": content.PartialOutage}}})
			tc.end(m, s)
			site := m.st.Sites[s]
			for id, want := range map[string]content.ComponentStatus{"db": content.DegradedPerformance, "cache": content.Operational, "api": content.PartialOutage} {
				if got := site.Component(id).Status; got != want {
					t.Errorf("%s = %s, want %s", id, got, want)
				}
			}
		})
	}
}

// The ops already in raft logs replay as they always did: completing a
// window set its components operational.
func TestOldMaintenanceOpsReplayUnchanged(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	m.component(s, "db", "DB")
	m.ok(&Command{Op: OpUpdateComponent, Site: s, ID: "db", ComponentIn: &ComponentInput{Status: ptrTo(content.DegradedPerformance)}})
	m.ok(&Command{Op: OpCreateMaintenance, Site: s, NewIDs: []string{"mnt", "mu"}, MaintenanceIn: &MaintenanceInput{
		Name: ptrTo("upgrade"), ScheduledFor: ptrTo("2026-03-05T10:00:00Z"), ScheduledUntil: ptrTo("2026-03-05T12:00:00Z"), Components: &[]string{"db"}}})
	m.ok(&Command{Op: OpAddMaintUpdate, Site: s, ID: "mnt", NewIDs: []string{"u1"}, UpdateIn: &UpdateInput{Status: ptrTo("in_progress"), Body: ptrTo("go")}})
	m.ok(&Command{Op: OpAddMaintUpdate, Site: s, ID: "mnt", NewIDs: []string{"u2"}, UpdateIn: &UpdateInput{Status: ptrTo("completed"), Body: ptrTo("done")}})
	if got := m.st.Sites[s].Component("db").Status; got != content.Operational {
		t.Fatalf("old op: db = %s, want operational", got)
	}
}

// A timeline is ordered by display_at, and display_at may not be set
// far ahead of the time it is posted.
func TestDisplayAtOrdersAndIsBounded(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	path := "/v1/sites/acme/incidents/" + f.incidentID + "/updates"
	now := time.Now().UTC()
	for _, tc := range []struct {
		name, displayAt string
		want            int
	}{
		{"an hour ahead", now.Add(time.Hour).Format(time.RFC3339), 422},
		{"a year ahead", now.AddDate(1, 0, 0).Format(time.RFC3339), 422},
		{"a minute ahead (a fast clock)", now.Add(time.Minute).Format(time.RFC3339), 201},
		{"back-dated", now.Add(-30 * time.Minute).Format(time.RFC3339), 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, f.base, "POST", path, f.token, map[string]any{"status": "identified", "body": tc.name, "display_at": tc.displayAt})
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if field, _ := a.errField(); tc.want == 422 && field != "display_at" {
				t.Fatalf("field %q, want display_at", field)
			}
		})
	}
	body := renderPage(t, c, "/api/v2/incidents.json")
	var doc struct {
		Incidents []struct {
			ID      string `json:"id"`
			Updates []struct {
				Body      string `json:"body"`
				DisplayAt string `json:"display_at"`
			} `json:"incident_updates"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range doc.Incidents {
		if in.ID == f.incidentID {
			for _, u := range in.Updates {
				got = append(got, u.Body)
			}
		}
	}
	want := []string{"a minute ahead (a fast clock)", "looking", "back-dated"} // newest first
	if !slices.Equal(got, want) {
		t.Fatalf("timeline %q, want %q", got, want)
	}
	html := renderPage(t, c, "/incidents/"+f.incidentID)
	i, j, k := bytes.Index(html, []byte(want[0])), bytes.Index(html, []byte(">looking<")), bytes.Index(html, []byte(want[2]))
	if i < 0 || j < 0 || k < 0 || i > j || j > k {
		t.Fatalf("incident page order: %d %d %d", i, j, k)
	}
}

// renderPage renders path of the leader's acme site with the real renderer.
func renderPage(t testing.TB, c *testCluster, path string) []byte {
	t.Helper()
	r, err := render.New()
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := r.Render(c.leader().n.Site("acme"), "", path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// site.update entries already in raft logs replace the branding whole, as
// they always did; site.patch (what PATCH proposes now) changes the fields
// given.
func TestSiteUpdateOpReplaysBrandingWhole(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme", "acme.test")
	m.ok(&Command{Op: OpUpdateSite, Site: s, SiteIn: &SiteInput{Branding: &BrandingInput{LogoURL: ptrTo("https://a.test/l.png"), AccentColor: ptrTo("#112233")}}})
	m.ok(&Command{Op: OpUpdateSite, Site: s, SiteIn: &SiteInput{Branding: &BrandingInput{LogoURL: ptrTo("https://a.test/2.png")}}})
	if b := m.st.Sites[s].Branding; b.AccentColor != "" || b.LogoURL != "https://a.test/2.png" {
		t.Fatalf("old op: branding %+v, want the accent wiped as before", b)
	}
	m.ok(&Command{Op: OpPatchSite, Site: s, SiteIn: &SiteInput{Branding: &BrandingInput{AccentColor: ptrTo("#445566")}}})
	if b := m.st.Sites[s].Branding; b.AccentColor != "#445566" || b.LogoURL != "https://a.test/2.png" {
		t.Fatalf("patch: branding %+v, want the logo kept", b)
	}
}

// The staff password is a field old entries never carry: site.update and
// site.patch entries as they were logged (password and all) leave it as it
// is, and only an entry that names it sets or clears it.
func TestStaffPasswordIsANewField(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme", "acme.test")
	m.ok(&Command{Op: OpPatchSite, Site: s, SiteIn: &SiteInput{Visibility: ptrTo(content.AudienceSpecific)}, StaffPasswordHash: ptrTo("$2a$10$staff")})
	for _, old := range []string{ // raw log entries, as written before the field existed
		`{"op":"site.update","at":"2026-11-20T10:00:00Z","site":"` + s + `","password_hash":"$2a$10$site","site_in":{"name":"Acme 2"}}`,
		`{"op":"site.patch","at":"2026-11-20T10:01:00Z","site":"` + s + `","password_hash":"","site_in":{"access":{"allow_cidrs":[]}}}`,
	} {
		var cmd Command
		if err := json.Unmarshal([]byte(old), &cmd); err != nil {
			t.Fatal(err)
		}
		m.ok(&cmd)
		if got := m.st.Sites[s].Access.StaffPasswordHash; got != "$2a$10$staff" {
			t.Fatalf("after %s: staff hash %q, want it kept", cmd.Op, got)
		}
	}
	if a := m.st.Sites[s].Access; a.PasswordHash != "" || m.st.Sites[s].Name != "Acme 2" {
		t.Fatalf("the old entries did not apply as before: %+v", a)
	}
	m.ok(&Command{Op: OpPatchSite, Site: s, SiteIn: &SiteInput{}, StaffPasswordHash: ptrTo("")})
	if got := m.st.Sites[s].Access.StaffPasswordHash; got != "" {
		t.Fatalf("cleared: %q", got)
	}
}

// A private site must have a way in; a site token naming a site that does
// not exist is told so, not that the site is someone else's.
func TestSiteAccessErrors(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string
	}{
		{"private without a password", "POST", "/v1/sites", testOperator, map[string]any{"name": "P", "slug": "p", "visibility": "private"}, 422, "access.password"},
		{"private with a password", "POST", "/v1/sites", testOperator, map[string]any{"name": "P", "slug": "p", "visibility": "private", "access": map[string]any{"password": "a-long-password"}}, 201, ""},
		{"private with an allowlist", "POST", "/v1/sites", testOperator, map[string]any{"name": "Q", "slug": "q", "visibility": "private", "access": map[string]any{"allow_cidrs": []string{"10.0.0.0/8"}}}, 201, ""},
		{"made private with no way in", "PATCH", "/v1/sites/acme", f.token, map[string]any{"visibility": "private"}, 422, "access.password"},
		{"password removed from a private site", "PATCH", "/v1/sites/p", testOperator, map[string]any{"access": map[string]any{"password": ""}}, 422, "access.password"},
		{"a staff password on a public site", "PATCH", "/v1/sites/acme", f.token, map[string]any{"access": map[string]any{"staff_password": "staff-password"}}, 422, "access.staff_password"},
		{"a staff password on a private site", "PATCH", "/v1/sites/p", testOperator, map[string]any{"access": map[string]any{"staff_password": "staff-password"}}, 422, "access.staff_password"},
		{"a short staff password", "PATCH", "/v1/sites/acme", f.token, map[string]any{"visibility": "audience", "access": map[string]any{"staff_password": "short"}}, 422, "access.staff_password"},
		{"an audience site with a staff password", "POST", "/v1/sites", testOperator, map[string]any{"name": "A", "slug": "aud", "visibility": "audience", "access": map[string]any{"staff_password": "staff-password"}}, 201, ""},
		{"removing it anywhere", "PATCH", "/v1/sites/acme", f.token, map[string]any{"access": map[string]any{"staff_password": ""}}, 200, ""},
		{"a typo in the site", "GET", "/v1/sites/acmee", f.token, nil, 403, "site"},
		{"another site", "GET", "/v1/sites/other", f.token, nil, 403, "site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, f.base, tc.method, tc.path, tc.token, tc.body)
			field, _ := a.errField()
			if a.status != tc.status || field != tc.field {
				t.Fatalf("%d field %q, want %d %q: %s", a.status, field, tc.status, tc.field, a.body)
			}
			if tc.status == 403 && !strings.Contains(string(a.body), `this token is for site \"acme\" only`) {
				t.Fatalf("the answer does not name the token's site: %s", a.body)
			}
		})
	}
}
