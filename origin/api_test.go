package origin

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// fixture is a site with two components on a running cluster.
type fixture struct {
	c             *testCluster
	base          string
	site, token   string
	api, web, grp string
	otherTok      string
	incidentID    string
	maintenanceID string
}

func newFixture(t testing.TB, c *testCluster) *fixture {
	t.Helper()
	f := &fixture{c: c, base: c.leader().url()}
	var created struct {
		Site     SiteView `json:"site"`
		APIToken string   `json:"api_token"`
	}
	a := call(t, f.base, "POST", "/v1/sites", testOperator, map[string]any{"name": "Acme", "slug": "acme", "time_zone": "Europe/Berlin"})
	if a.status != 201 {
		t.Fatalf("create site: %d %s", a.status, a.body)
	}
	a.json(t, &created)
	f.site, f.token = created.Site.ID, created.APIToken
	if created.Site.Hostnames[0] != "acme.localhost" || !strings.HasPrefix(f.token, "se_") {
		t.Fatalf("created = %+v", created)
	}
	a = call(t, f.base, "POST", "/v1/sites", testOperator, map[string]any{"name": "Other", "slug": "other"})
	a.json(t, &created)
	f.otherTok = created.APIToken

	var comp content.Component
	call(t, f.base, "POST", "/v1/sites/acme/components", f.token, map[string]any{"name": "API"}).json(t, &comp)
	f.api = comp.ID
	call(t, f.base, "POST", "/v1/sites/acme/components", f.token, map[string]any{"name": "Web"}).json(t, &comp)
	f.web = comp.ID
	a = call(t, f.base, "POST", "/v1/sites/acme/groups", f.token, map[string]any{"name": "Core", "components": []string{f.web}})
	if a.status != 201 {
		t.Fatalf("group: %d %s", a.status, a.body)
	}
	a.json(t, &comp)
	f.grp = comp.ID
	var inc content.Incident
	a = call(t, f.base, "POST", "/v1/sites/acme/incidents", f.token, map[string]any{"name": "API errors", "status": "investigating", "impact": "major",
		"body": "looking", "components": map[string]string{f.api: "partial_outage"}})
	if a.status != 201 {
		t.Fatalf("incident: %d %s", a.status, a.body)
	}
	a.json(t, &inc)
	f.incidentID = inc.ID
	var m content.Maintenance
	a = call(t, f.base, "POST", "/v1/sites/acme/maintenances", f.token, map[string]any{"name": "DB", "scheduled_for": "2030-01-01T10:00:00Z",
		"scheduled_until": "2030-01-01T11:00:00Z", "components": []string{f.web}})
	if a.status != 201 {
		t.Fatalf("maintenance: %d %s", a.status, a.body)
	}
	a.json(t, &m)
	f.maintenanceID = m.ID
	return f
}

func TestAPIValidation(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	inc := "/v1/sites/acme/incidents"
	upd := inc + "/" + f.incidentID + "/updates"
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"malformed JSON", "POST", inc, `{"name": "x",`, 400, ""},
		{"not an object", "POST", inc, `[1,2]`, 400, ""},
		{"trailing data", "POST", inc, `{"name":"x","status":"investigating"} {}`, 400, ""},
		{"empty body", "POST", inc, ``, 400, ""},
		{"unknown field", "POST", inc, `{"name":"x","status":"investigating","severity":"high"}`, 400, "severity"},
		{"wrong type", "POST", inc, `{"name":5,"status":"investigating"}`, 400, "name"},
		{"unknown status", "POST", inc, map[string]any{"name": "x", "status": "panicking"}, 422, "status"},
		{"unknown impact", "POST", inc, map[string]any{"name": "x", "status": "investigating", "impact": "apocalyptic"}, 422, "impact"},
		{"empty name", "POST", inc, map[string]any{"name": "  ", "status": "investigating"}, 422, "name"},
		{"missing name", "POST", inc, map[string]any{"status": "investigating"}, 422, "name"},
		{"body over 64 KiB", "POST", inc, map[string]any{"name": "x", "status": "investigating", "body": strings.Repeat("x", 64<<10+1)}, 422, "body"},
		{"request over 1 MiB", "POST", inc, `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 413, ""},
		{"unknown component id", "POST", inc, map[string]any{"name": "x", "status": "investigating", "components": map[string]string{"nosuchcomp": "major_outage"}}, 422, "components"},
		{"traversal component id", "POST", inc, map[string]any{"name": "x", "status": "investigating", "components": map[string]string{"../../etc": "major_outage"}}, 422, "components"},
		{"bad component status", "POST", upd, map[string]any{"status": "identified", "body": "b", "components": map[string]string{f.api: "on_fire"}}, 422, "components." + f.api},
		{"update without body", "POST", upd, map[string]any{"status": "identified"}, 422, "body"},
		{"update of unknown incident", "POST", inc + "/nosuch/updates", map[string]any{"status": "identified", "body": "b"}, 404, "id"},
		{"bad display_at", "POST", upd, map[string]any{"status": "identified", "body": "b", "display_at": "yesterday"}, 422, "display_at"},
		{"bad time zone", "PATCH", "/v1/sites/acme", map[string]any{"time_zone": "Mars/Olympus_Mons"}, 422, "time_zone"},
		{"Local time zone", "PATCH", "/v1/sites/acme", map[string]any{"time_zone": "Local"}, 422, "time_zone"},
		{"bad accent colour", "PATCH", "/v1/sites/acme", map[string]any{"branding": map[string]string{"accent_color": "red"}}, 422, "branding.accent_color"},
		{"javascript logo", "PATCH", "/v1/sites/acme", map[string]any{"branding": map[string]string{"logo_url": "javascript:alert(1)"}}, 422, "branding.logo_url"},
		{"javascript favicon", "PATCH", "/v1/sites/acme", map[string]any{"branding": map[string]string{"favicon_url": "javascript:alert(1)"}}, 422, "branding.favicon_url"},
		{"data favicon", "PATCH", "/v1/sites/acme", map[string]any{"branding": map[string]string{"favicon_url": "data:image/svg+xml,<svg/>"}}, 422, "branding.favicon_url"},
		{"description too long", "PATCH", "/v1/sites/acme", map[string]any{"branding": map[string]string{"description": strings.Repeat("x", 301)}}, 422, "branding.description"},
		{"bad CIDR", "PATCH", "/v1/sites/acme", map[string]any{"access": map[string]any{"allow_cidrs": []string{"10.0.0.0/33"}}}, 422, "access.allow_cidrs"},
		{"bad hostname", "PATCH", "/v1/sites/acme", map[string]any{"hostnames": []string{"Status.Acme.Test"}}, 422, "hostnames"},
		{"another slug's default hostname", "PATCH", "/v1/sites/acme", map[string]any{"hostnames": []string{"other.localhost"}}, 422, "hostnames"},
		{"IP literal hostname", "PATCH", "/v1/sites/acme", map[string]any{"add_hostnames": []string{"127.0.0.1"}}, 422, "add_hostnames"},
		{"reserved platform name", "PATCH", "/v1/sites/acme", map[string]any{"add_hostnames": []string{"www.localhost"}}, 422, "add_hostnames"},
		{"new site on another's default hostname", "POST", "/v1/sites", map[string]any{"name": "x", "slug": "thief", "hostnames": []string{"acme.localhost"}}, 422, "hostnames"},
		{"slug taken", "POST", "/v1/sites", map[string]any{"name": "x", "slug": "other"}, 409, "slug"},
		{"bad slug", "POST", "/v1/sites", map[string]any{"name": "x", "slug": "Not A Slug"}, 422, "slug"},
		{"window backwards", "POST", "/v1/sites/acme/maintenances", map[string]any{"name": "m", "scheduled_for": "2030-01-02T10:00:00Z", "scheduled_until": "2030-01-02T10:00:00Z", "components": []string{f.api}}, 422, "scheduled_until"},
		{"window backwards on patch", "PATCH", "/v1/sites/acme/maintenances/" + f.maintenanceID, map[string]any{"scheduled_until": "2029-01-01T00:00:00Z"}, 422, "scheduled_until"},
		{"maintenance of a group", "POST", "/v1/sites/acme/maintenances", map[string]any{"name": "m", "scheduled_for": "2030-01-02T10:00:00Z", "scheduled_until": "2030-01-02T11:00:00Z", "components": []string{f.grp}}, 422, "components"},
		{"bad maintenance status", "POST", "/v1/sites/acme/maintenances/" + f.maintenanceID + "/updates", map[string]any{"status": "investigating", "body": "b"}, 422, "status"},
		{"component in unknown group", "POST", "/v1/sites/acme/components", map[string]any{"name": "x", "group_id": f.api}, 422, "group_id"},
		{"negative position", "POST", "/v1/sites/acme/components", map[string]any{"name": "x", "position": -1}, 422, "position"},
		{"bad start date", "POST", "/v1/sites/acme/components", map[string]any{"name": "x", "start_date": "2026-13-01"}, 422, "start_date"},
		{"audience short password", "POST", "/v1/sites/acme/audiences", map[string]any{"name": "a", "password": "short"}, 422, "password"},
		{"audience unknown component", "POST", "/v1/sites/acme/audiences", map[string]any{"name": "a", "components": []string{"nosuch"}}, 422, "components"},
		{"unknown site", "POST", "/v1/sites/nosuch/incidents", map[string]any{"name": "x", "status": "investigating"}, 404, "site"},
		{"unknown incident", "GET", inc + "/nosuch", nil, 404, "id"},
		{"invalid UTF-8 name", "POST", inc, "{\"name\":\"\xff\xfe\",\"status\":\"investigating\"}", 400, ""},
		{"NUL in name", "POST", inc, map[string]any{"name": "a\x00b", "status": "investigating"}, 422, "name"},
		{"status patched directly", "PATCH", inc + "/" + f.incidentID, map[string]any{"status": "resolved"}, 422, "status"},
		{"long idempotency key", "POST", inc, map[string]any{"name": "x", "status": "investigating"}, 422, "Idempotency-Key"},
		{"join bad address", "POST", "/v1/cluster/join", map[string]any{"id": "x", "address": "nowhere"}, 422, "address"},
		{"join unknown field", "POST", "/v1/cluster/join", map[string]any{"id": "x", "address": "127.0.0.1:1", "votre": true}, 400, "votre"},
		{"reserved slug", "POST", "/v1/sites", map[string]any{"name": "x", "slug": "www"}, 422, "slug"},
		{"renamed to a reserved slug", "PATCH", "/v1/sites/acme", map[string]any{"slug": "admin"}, 422, "slug"},
		{"key in another case", "POST", inc, `{"Name":"x","status":"investigating"}`, 400, "Name"},
		{"nested key in another case", "PATCH", "/v1/sites/acme", `{"branding":{"Accent_Color":"#112233"}}`, 400, "branding.Accent_Color"},
		{"key given twice", "POST", inc, `{"name":"x","status":"investigating","name":"y"}`, 400, "name"},
		{"nested key given twice", "PATCH", "/v1/sites/acme", `{"branding":{"accent_color":"#112233","accent_color":"#445566"}}`, 400, "branding.accent_color"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.leader().n.Site("acme").Version
			var hdr []string
			if tt.field == "Idempotency-Key" {
				hdr = []string{"Idempotency-Key", strings.Repeat("k", 300)}
			}
			a := call(t, f.base, tt.method, tt.path, testOperator, tt.body, hdr...)
			field, status := a.errField()
			if a.status != tt.status || status != tt.status || field != tt.field {
				t.Fatalf("got %d (body status %d) field %q: %s; want %d field %q", a.status, status, field, a.body, tt.status, tt.field)
			}
			if a.header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", a.header.Get("Content-Type"))
			}
			if after := c.leader().n.Site("acme").Version; after != before {
				t.Errorf("site version moved %d → %d on a refused request", before, after)
			}
		})
	}
}

func TestAPIAuth(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	tests := []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", "GET", "/v1/sites/acme", "", 401},
		{"wrong token", "GET", "/v1/sites/acme", "se_nope", 401},
		{"operator token prefix", "GET", "/v1/sites/acme", testOperator[:10], 401},
		{"site token on its site", "GET", "/v1/sites/acme", f.token, 200},
		{"site token by id", "GET", "/v1/sites/" + f.site, f.token, 200},
		{"site token on another site", "GET", "/v1/sites/acme", f.otherTok, 403},
		{"site token on an unknown site", "GET", "/v1/sites/nosuch", f.otherTok, 403},
		{"site token on an operator route", "GET", "/v1/sites", f.token, 403},
		{"site token on cluster", "GET", "/v1/cluster", f.token, 403},
		{"site token on internal", "GET", "/internal/v1/registry", f.token, 401},
		{"operator on internal", "GET", "/internal/v1/registry", testOperator, 401},
		{"secret on internal", "GET", "/internal/v1/registry", testSecret, 200},
		{"edge secret reads the registry", "GET", "/internal/v1/registry", testEdgeSec, 200},
		{"edge secret reads a render", "GET", "/internal/v1/render?site=acme&path=/", testEdgeSec, 200},
		{"edge secret cannot apply", "POST", "/internal/v1/apply", testEdgeSec, 403},
		{"site token cannot apply", "POST", "/internal/v1/apply", f.token, 401},
		{"edge secret on the management API", "GET", "/v1/sites", testEdgeSec, 401},
		{"operator on unknown site", "GET", "/v1/sites/nosuch", testOperator, 404},
		{"unknown route", "GET", "/v1/nope", testOperator, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := call(t, f.base, tt.method, tt.path, tt.token, nil); a.status != tt.want {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.want)
			}
		})
	}
}

func TestAPIIncidentFlowAndReads(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	a := call(t, f.base, "POST", "/v1/sites/acme/incidents/"+f.incidentID+"/updates", f.token,
		map[string]any{"status": "resolved", "body": "fixed", "components": map[string]string{f.api: "operational"}})
	if a.status != 201 {
		t.Fatalf("update: %d %s", a.status, a.body)
	}
	v, _ := strconv.ParseUint(a.header.Get("X-Statusedge-Version"), 10, 64)
	if v == 0 || v != c.leader().n.Site("acme").Version {
		t.Fatalf("version header %q", a.header.Get("X-Statusedge-Version"))
	}
	var comps []content.Component
	call(t, f.base, "GET", "/v1/sites/acme/components", f.token, nil).json(t, &comps)
	if len(comps) != 3 {
		t.Fatalf("components = %d, want 3 (groups included)", len(comps))
	}
	for _, cp := range comps {
		if cp.ID == f.api && cp.Status != content.Operational {
			t.Fatalf("api = %s", cp.Status)
		}
	}
	var incs []content.Incident
	call(t, f.base, "GET", "/v1/sites/acme/incidents", f.token, nil).json(t, &incs)
	if len(incs) != 1 || incs[0].Status != content.Resolved || len(incs[0].Updates) != 2 {
		t.Fatalf("incidents = %+v", incs)
	}
	// Audiences never show their hash.
	a = call(t, f.base, "POST", "/v1/sites/acme/audiences", f.token, map[string]any{"name": "Partners", "components": []string{f.api}, "password": "correct horse"})
	if a.status != 201 || strings.Contains(string(a.body), "hash") || strings.Contains(string(a.body), "correct horse") {
		t.Fatalf("audience: %d %s", a.status, a.body)
	}
	// Deleting the group ungroups its child.
	if a := call(t, f.base, "DELETE", "/v1/sites/acme/groups/"+f.grp, f.token, nil); a.status != 204 {
		t.Fatalf("delete group: %d %s", a.status, a.body)
	}
	if w := c.leader().n.Site("acme").Component(f.web); w.GroupID != nil {
		t.Fatal("child still grouped")
	}
	// The registry and versions long poll.
	var reg content.Registry
	call(t, f.base, "GET", "/internal/v1/registry", testSecret, nil).json(t, &reg)
	if len(reg.Sites) != 2 || reg.Version == 0 {
		t.Fatalf("registry = %+v", reg)
	}
	done := make(chan VersionsAnswer)
	go func() {
		var va VersionsAnswer
		a, _ := tryCall(f.base, "GET", "/internal/v1/versions?after="+strconv.FormatUint(reg.Version, 10)+"&wait=10s", testSecret, nil)
		a.json(t, &va)
		done <- va
	}()
	time.Sleep(50 * time.Millisecond) // let the poll start; the assertion below does not depend on it
	call(t, f.base, "PATCH", "/v1/sites/acme", f.token, map[string]any{"name": "Acme Corp"})
	select {
	case va := <-done:
		if va.Version <= reg.Version || va.Sites[f.site] != va.Version {
			t.Fatalf("versions = %+v (registry was %d)", va, reg.Version)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return after a change")
	}
}

func TestAPIIdempotency(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	path := "/v1/sites/acme/incidents/" + f.incidentID + "/updates"
	body := map[string]any{"status": "identified", "body": "found it"}
	first := call(t, f.base, "POST", path, f.token, body, "Idempotency-Key", "retry-1")
	second := call(t, f.base, "POST", path, f.token, body, "Idempotency-Key", "retry-1")
	if first.status != 201 || second.status != 201 || second.header.Get("Idempotent-Replayed") != "true" || string(first.body) != string(second.body) {
		t.Fatalf("first %d, second %d replayed=%q", first.status, second.status, second.header.Get("Idempotent-Replayed"))
	}
	if n := len(c.leader().n.Site("acme").Incident(f.incidentID).Updates); n != 2 {
		t.Fatalf("updates = %d, want 2", n)
	}
	other := call(t, f.base, "POST", path, f.token, map[string]any{"status": "identified", "body": "something else"}, "Idempotency-Key", "retry-1")
	if field, _ := other.errField(); other.status != 409 || field != "Idempotency-Key" {
		t.Fatalf("same key, other body: %d %s", other.status, other.body)
	}
	// Another principal's identical key is its own.
	a := call(t, f.base, "POST", "/v1/sites/other/components", f.otherTok, map[string]any{"name": "x"}, "Idempotency-Key", "retry-1")
	if a.status != 201 || a.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("other site's key: %d %s", a.status, a.body)
	}
	// Concurrent retries with one key: exactly one update.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, f.base, "POST", path, f.token, map[string]any{"status": "monitoring", "body": "watching"}, "Idempotency-Key", "retry-2")
		}()
	}
	wg.Wait()
	if n := len(c.leader().n.Site("acme").Incident(f.incidentID).Updates); n != 3 {
		t.Fatalf("updates after concurrent retries = %d, want 3", n)
	}
	// Site creation replays without the token.
	sb := map[string]any{"name": "Idem", "slug": "idem"}
	s1 := call(t, f.base, "POST", "/v1/sites", testOperator, sb, "Idempotency-Key", "site-1")
	s2 := call(t, f.base, "POST", "/v1/sites", testOperator, sb, "Idempotency-Key", "site-1")
	var c1, c2 CreatedSite
	s1.json(t, &c1)
	s2.json(t, &c2)
	if s2.status != 201 || c1.APIToken == "" || c2.APIToken != "" || string(c1.Site) != string(c2.Site) {
		t.Fatalf("site replay: %s / %s", s1.body, s2.body)
	}
}

func TestFollowerForwardsWrites(t *testing.T) {
	c := newCluster(t, 3, 0)
	var follower *testNode
	for _, tn := range c.nodes {
		if !tn.n.IsLeader() {
			follower = tn
			break
		}
	}
	a := call(t, follower.url(), "POST", "/v1/sites", testOperator, map[string]any{"name": "Acme", "slug": "acme"})
	if a.status != 201 {
		t.Fatalf("create via follower: %d %s", a.status, a.body)
	}
	// Read-your-writes on the follower that forwarded.
	if s := follower.n.Site("acme"); s == nil {
		t.Fatal("the forwarding follower has not applied its own write")
	}
	v, _ := strconv.ParseUint(a.header.Get("X-Statusedge-Version"), 10, 64)
	c.waitApplied(v)
	for _, tn := range c.nodes {
		if s := tn.n.Site("acme"); s == nil || s.Version != v {
			t.Fatalf("%s: %+v", tn.id, s)
		}
	}
	// Cluster status and a join through a follower (forwarded to the leader).
	var st ClusterStatus
	call(t, follower.url(), "GET", "/v1/cluster", testOperator, nil).json(t, &st)
	if len(st.Servers) != 3 || st.Leader == "" || st.LeaderAPI == "" {
		t.Fatalf("status = %+v", st)
	}
	tn := &testNode{id: "n3", dir: t.TempDir(), raftAddr: "127.0.0.1:0"}
	c.nodes = append(c.nodes, tn)
	c.start(tn, false)
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if err := tn.n.JoinCluster(ctx, follower.url()); err != nil {
		t.Fatal(err)
	}
	c.waitApplied(v)
	if s := tn.n.Site("acme"); s == nil || s.Version != v {
		t.Fatal("the non-voter joined through a follower did not catch up")
	}
	call(t, follower.url(), "GET", "/v1/cluster", testOperator, nil).json(t, &st)
	if len(st.Servers) != 4 || st.Servers[3].Suffrage != "nonvoter" {
		t.Fatalf("status = %+v", st)
	}
	if a := call(t, follower.url(), "POST", "/v1/cluster/remove", testOperator, map[string]any{"id": "n3"}); a.status != 200 {
		t.Fatalf("remove: %d %s", a.status, a.body)
	}
	// The follower that forwarded the removal shows it at once.
	call(t, follower.url(), "GET", "/v1/cluster", testOperator, nil).json(t, &st)
	if len(st.Servers) != 3 {
		t.Fatalf("after remove: status = %+v", st)
	}
	for _, s := range st.Servers {
		if s.ID == "n3" {
			t.Fatalf("n3 still listed: %+v", st)
		}
	}
}

func TestRenderAndPublicHandler(t *testing.T) {
	c := newCluster(t, 1, 0)
	n := c.leader().n
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	s, err := n.ImportSite(ctx, demo.Site(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	base := c.leader().url()
	v := strconv.FormatUint(s.Version, 10)
	tests := []struct {
		name, query string
		want        int
		body        string
	}{
		{"page", "site=" + s.ID + "&path=/&min_version=" + v, 200, "acme v" + v + "  /"},
		{"slug works too", "site=acme&path=/history", 200, "acme v" + v + "  /history"},
		{"missing path", "site=" + s.ID + "&path=/missing", 404, ""},
		{"unknown audience", "site=" + s.ID + "&path=/&audience=nobody", 403, ""},
		{"unknown site", "site=nosuch&path=/", 404, ""},
		{"relative path", "site=" + s.ID + "&path=etc/passwd", 400, ""},
		{"bad min_version", "site=" + s.ID + "&min_version=-1", 400, ""},
		{"future version", "site=" + s.ID + "&min_version=999999", 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, base, "GET", "/internal/v1/render?"+tt.query, testSecret, nil, "X-Statusedge-Wait", "100ms")
			if a.status != tt.want {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.want)
			}
			if tt.body != "" && (string(a.body) != tt.body || a.header.Get("X-Statusedge-Version") != v || a.header.Get("ETag") == "") {
				t.Fatalf("body %q headers %v", a.body, a.header)
			}
		})
	}
	ph := n.PublicHandler()
	for host, want := range map[string]int{"acme.localhost": 200, "ACME.localhost:8080": 200, "nosuch.localhost": 404} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/?page=2", nil)
		req.Host = host
		ph.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("host %s: %d %s", host, rec.Code, rec.Body)
		}
		if want == 200 && rec.Body.String() != "acme v"+v+"  /?page=2" {
			t.Errorf("host %s: %q", host, rec.Body)
		}
	}
}

var _ = http.StatusOK

func TestLeaderStartsAndCompletesMaintenance(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	now := time.Now().UTC()
	a := call(t, f.base, "POST", "/v1/sites/acme/maintenances", f.token, map[string]any{"name": "now",
		"scheduled_for": now.Add(-time.Second).Format(time.RFC3339), "scheduled_until": now.Add(3 * time.Second).Format(time.RFC3339),
		"components": []string{f.api}})
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var m content.Maintenance
	a.json(t, &m)
	n := c.leader().n
	poll(t, 10*time.Second, "the maintenance to start", func() bool {
		return n.Site("acme").Maintenance(m.ID).Status == content.InProgress
	})
	if st := n.Site("acme").Component(f.api).Status; st != content.UnderMaintenance {
		t.Fatalf("component during maintenance = %s", st)
	}
	poll(t, 15*time.Second, "the maintenance to complete", func() bool {
		return n.Site("acme").Maintenance(m.ID).Status == content.Completed
	})
	s := n.Site("acme")
	// The fixture's incident had it in a partial outage before the window.
	if st := s.Component(f.api).Status; st != content.PartialOutage {
		t.Fatalf("component after maintenance = %s, want partial_outage (its status before)", st)
	}
	if got := len(s.Maintenance(m.ID).Updates); got != 3 {
		t.Fatalf("updates = %d, want scheduled, in_progress, completed", got)
	}
}

func TestTokenRotation(t *testing.T) {
	c := newCluster(t, 3, 0)
	f := newFixture(t, c)
	var follower *testNode
	for _, tn := range c.nodes {
		if !tn.n.IsLeader() {
			follower = tn
			break
		}
	}
	var rot RotatedToken
	// The site rotates its own token through a follower (forwarded).
	a := call(t, follower.url(), "POST", "/v1/sites/acme/token", f.token, nil, "Idempotency-Key", "rot-1")
	if a.status != 200 {
		t.Fatalf("rotate: %d %s", a.status, a.body)
	}
	a.json(t, &rot)
	if rot.SiteID != f.site || !strings.HasPrefix(rot.APIToken, "se_") || rot.APIToken == f.token {
		t.Fatalf("rotated = %+v", rot)
	}
	c.waitApplied(c.leader().n.AppliedIndex())
	for _, tn := range c.nodes {
		if a := call(t, tn.url(), "GET", "/v1/sites/acme", f.token, nil); a.status != 401 {
			t.Errorf("%s: the old token still answers %d", tn.id, a.status)
		}
		if a := call(t, tn.url(), "GET", "/v1/sites/acme", rot.APIToken, nil); a.status != 200 {
			t.Errorf("%s: the new token answers %d %s", tn.id, a.status, a.body)
		}
	}
	// A retry with the same key changes nothing and cannot show the token again.
	a = call(t, f.base, "POST", "/v1/sites/acme/token", f.token, nil, "Idempotency-Key", "rot-1")
	if a.status != 401 {
		t.Fatalf("replay with the old token: %d %s", a.status, a.body)
	}
	// The key belongs to the site, whichever of its tokens sends it.
	a = call(t, f.base, "POST", "/v1/sites/acme/token", rot.APIToken, nil, "Idempotency-Key", "rot-1")
	var again RotatedToken
	a.json(t, &again)
	if a.status != 200 || a.header.Get("Idempotent-Replayed") != "true" || again.APIToken != "" || again.SiteID != f.site {
		t.Fatalf("replay: %d %v %s", a.status, a.header, a.body)
	}
	if a := call(t, f.base, "GET", "/v1/sites/acme", rot.APIToken, nil); a.status != 200 {
		t.Fatalf("a replay rotated again: %d", a.status)
	}
	for _, tt := range []struct {
		name, token string
		body        any
		want        int
		field       string
	}{
		{"another site's token", f.otherTok, nil, 403, ""},
		{"no token", "", nil, 401, ""},
		{"a body with a field", rot.APIToken, map[string]any{"token": "mine"}, 400, "token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, f.base, "POST", "/v1/sites/acme/token", tt.token, tt.body)
			if a.status != tt.want || !strings.Contains(string(a.body), tt.field) {
				t.Fatalf("got %d %s, want %d naming %q", a.status, a.body, tt.want, tt.field)
			}
		})
	}
	// The operator can always rotate, e.g. for a site that lost its token.
	a = call(t, f.base, "POST", "/v1/sites/acme/token", testOperator, nil)
	a.json(t, &again)
	if a.status != 200 || again.APIToken == "" {
		t.Fatalf("operator rotation: %d %s", a.status, a.body)
	}
	if a := call(t, f.base, "GET", "/v1/sites/acme", rot.APIToken, nil); a.status != 401 {
		t.Fatalf("the token before the operator's rotation answers %d", a.status)
	}
}
