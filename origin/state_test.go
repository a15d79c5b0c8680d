package origin

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// machine drives a state with increasing indexes, as raft would.
type machine struct {
	t   *testing.T
	st  *state
	idx uint64
}

func newMachine(t *testing.T) *machine { return &machine{t: t, st: newState()} }

func (m *machine) apply(cmd *Command) *Result {
	m.t.Helper()
	m.idx++
	if cmd.At.IsZero() {
		cmd.At = t0.Add(time.Duration(m.idx) * time.Minute)
	}
	// Round-trip through JSON, as the raft log does.
	b, err := json.Marshal(cmd)
	if err != nil {
		m.t.Fatal(err)
	}
	var c Command
	if err := json.Unmarshal(b, &c); err != nil {
		m.t.Fatal(err)
	}
	return m.st.apply(m.idx, &c)
}

func (m *machine) ok(cmd *Command) map[string]any {
	m.t.Helper()
	res := m.apply(cmd)
	if res.Err != nil {
		m.t.Fatalf("%s: %v", cmd.Op, res.Err)
	}
	var out map[string]any
	if len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, &out); err != nil {
			m.t.Fatal(err)
		}
	}
	return out
}

func (m *machine) site(name string, hosts ...string) string {
	m.t.Helper()
	id := "s" + name
	m.ok(&Command{Op: OpCreateSite, NewIDs: []string{id}, TokenHash: HashToken("tok-" + name),
		SiteIn: &SiteInput{Name: ptrTo(name), Slug: ptrTo(name), Hostnames: &hosts, TimeZone: ptrTo("Europe/Berlin")}})
	return id
}

func (m *machine) component(site, id, name string) {
	m.t.Helper()
	m.ok(&Command{Op: OpCreateComponent, Site: site, NewIDs: []string{id}, ComponentIn: &ComponentInput{Name: &name}})
}

func TestApplyIncidentChangesComponentsInOneCommand(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme", "status.acme.test")
	m.component(s, "api", "API")
	m.component(s, "web", "Web")
	before := m.st.Sites[s]

	out := m.ok(&Command{Op: OpCreateIncident, Site: "acme", NewIDs: []string{"inc1", "upd1"}, IncidentIn: &IncidentInput{
		Name: ptrTo("API down"), Status: ptrTo(content.Investigating), Impact: ptrTo(content.ImpactMajor), Body: ptrTo("looking"),
		Components: map[string]content.ComponentStatus{"api": content.MajorOutage, "web": content.Operational},
	}})
	if out["id"] != "inc1" {
		t.Fatalf("answer = %v", out)
	}
	after := m.st.Sites[s]
	if after.Component("api").Status != content.MajorOutage {
		t.Fatalf("api status = %s", after.Component("api").Status)
	}
	in := after.Incident("inc1")
	if len(in.Updates) != 1 || len(in.Updates[0].AffectedComponents) != 1 || in.Updates[0].AffectedComponents[0].OldStatus != content.Operational {
		t.Fatalf("update = %+v", in.Updates[0])
	}
	if h := after.History.Components["api"]; h.Status != content.MajorOutage || len(h.Changes) != 1 || h.Changes[0].By != "inc1" {
		t.Fatalf("history = %+v", h)
	}
	if after.Version != m.idx || after.Version <= before.Version {
		t.Fatalf("version = %d, want %d", after.Version, m.idx)
	}
	// Copy-on-write: the old snapshot is untouched.
	if before.Component("api").Status != content.Operational || len(before.Incidents) != 0 ||
		before.History.Components["api"].Status != content.Operational {
		t.Fatal("apply modified the previous snapshot")
	}

	// Resolve with the component back to operational.
	m.ok(&Command{Op: OpAddIncidentUpdate, Site: s, ID: "inc1", NewIDs: []string{"upd2"}, UpdateIn: &UpdateInput{
		Status: ptrTo("resolved"), Body: ptrTo("fixed"), Components: map[string]content.ComponentStatus{"api": content.Operational}}})
	in = m.st.Sites[s].Incident("inc1")
	if in.Status != content.Resolved || in.ResolvedAt == nil || len(in.Updates) != 2 {
		t.Fatalf("incident = %+v", in)
	}
	if got := m.st.Sites[s].History.Uptime("api", t0.Add(time.Hour), 1, time.UTC)[0]; got.Major == 0 {
		t.Fatalf("uptime has no major outage: %+v", got)
	}
}

func TestApplyRejectsWithoutChanging(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme", "status.acme.test")
	m.component(s, "api", "API")
	m.ok(&Command{Op: OpCreateGroup, Site: s, NewIDs: []string{"grp"}, GroupIn: &GroupInput{Name: ptrTo("G"), Components: &[]string{"api"}}})
	m.site("other", "status.other.test")
	tests := []struct {
		name   string
		cmd    *Command
		status int
		field  string
	}{
		{"unknown site", &Command{Op: OpCreateComponent, Site: "nope", NewIDs: []string{"x"}, ComponentIn: &ComponentInput{Name: ptrTo("x")}}, 404, "site"},
		{"unknown component in incident", &Command{Op: OpCreateIncident, Site: s, NewIDs: []string{"i", "u"}, IncidentIn: &IncidentInput{Name: ptrTo("x"), Status: ptrTo(content.Investigating),
			Components: map[string]content.ComponentStatus{"api": content.MajorOutage, "ghost": content.MajorOutage}}}, 422, "components"},
		{"group in incident", &Command{Op: OpCreateIncident, Site: s, NewIDs: []string{"i", "u"}, IncidentIn: &IncidentInput{Name: ptrTo("x"), Status: ptrTo(content.Investigating),
			Components: map[string]content.ComponentStatus{"grp": content.MajorOutage}}}, 422, "components"},
		{"bad impact", &Command{Op: OpCreateIncident, Site: s, NewIDs: []string{"i", "u"}, IncidentIn: &IncidentInput{Name: ptrTo("x"), Status: ptrTo(content.Investigating), Impact: ptrTo(content.Impact("apocalyptic"))}}, 422, "impact"},
		{"slug taken", &Command{Op: OpCreateSite, NewIDs: []string{"s2"}, SiteIn: &SiteInput{Name: ptrTo("x"), Slug: ptrTo("other")}}, 409, "slug"},
		{"slug equals a site id", &Command{Op: OpCreateSite, NewIDs: []string{"s3"}, SiteIn: &SiteInput{Name: ptrTo("x"), Slug: ptrTo(s)}}, 409, "slug"},
		{"hostname taken", &Command{Op: OpUpdateSite, Site: s, SiteIn: &SiteInput{Hostnames: &[]string{"status.other.test"}}}, 409, "hostnames"},
		{"bad time zone", &Command{Op: OpUpdateSite, Site: s, SiteIn: &SiteInput{TimeZone: ptrTo("Mars/Olympus")}}, 422, "time_zone"},
		{"maintenance window backwards", &Command{Op: OpCreateMaintenance, Site: s, NewIDs: []string{"m", "u"}, MaintenanceIn: &MaintenanceInput{Name: ptrTo("m"),
			ScheduledFor: ptrTo("2026-03-02T10:00:00Z"), ScheduledUntil: ptrTo("2026-03-02T09:00:00Z"), Components: &[]string{"api"}}}, 422, "scheduled_until"},
		{"unknown group", &Command{Op: OpCreateComponent, Site: s, NewIDs: []string{"c"}, ComponentIn: &ComponentInput{Name: ptrTo("c"), GroupID: ptrTo("api")}}, 422, "group_id"},
		{"update unknown incident", &Command{Op: OpAddIncidentUpdate, Site: s, ID: "nope", NewIDs: []string{"u"}, UpdateIn: &UpdateInput{Status: ptrTo("resolved"), Body: ptrTo("x")}}, 404, "id"},
		{"huge body", &Command{Op: OpCreateIncident, Site: s, NewIDs: []string{"i", "u"}, IncidentIn: &IncidentInput{Name: ptrTo("x"), Status: ptrTo(content.Investigating), Body: ptrTo(strings.Repeat("a", MaxBodyBytes+1))}}, 422, "body"},
		{"missing new id", &Command{Op: OpCreateComponent, Site: s, ComponentIn: &ComponentInput{Name: ptrTo("c")}}, 422, "new_ids"},
		{"unknown op", &Command{Op: "site.explode", Site: s}, 422, "op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := m.st.Sites[s]
			changed := m.st.Changed
			res := m.apply(tt.cmd)
			if res.Err == nil {
				t.Fatalf("applied: %s", res.Body)
			}
			if res.Err.Status != tt.status || res.Err.Field != tt.field {
				t.Fatalf("got %d %q (%s), want %d %q", res.Err.Status, res.Err.Field, res.Err.Message, tt.status, tt.field)
			}
			if m.st.Sites[s] != before || m.st.Changed != changed {
				t.Fatal("a failed command changed the state")
			}
		})
	}
}

func TestApplyIdempotency(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	m.component(s, "api", "API")
	cmd := func(key, fp, id string, at time.Time) *Command {
		return &Command{Op: OpCreateIncident, Site: s, At: at, NewIDs: []string{id, id + "u"}, Idem: &IdemKey{Key: key, Fingerprint: fp},
			IncidentIn: &IncidentInput{Name: ptrTo("x"), Status: ptrTo(content.Investigating)}}
	}
	at := t0.Add(time.Hour)
	first := m.apply(cmd("k", "fp1", "inca", at))
	second := m.apply(cmd("k", "fp1", "incb", at.Add(time.Minute)))
	if !second.Replayed || string(second.Body) != string(first.Body) || len(m.st.Sites[s].Incidents) != 1 {
		t.Fatalf("retry applied again: replayed=%v incidents=%d", second.Replayed, len(m.st.Sites[s].Incidents))
	}
	if r := m.apply(cmd("k", "fp2", "incc", at.Add(2*time.Minute))); r.Err == nil || r.Err.Status != http.StatusConflict || r.Err.Field != "Idempotency-Key" {
		t.Fatalf("other body under the same key: %+v", r.Err)
	}
	// After 24 hours (command time) the key is forgotten.
	if r := m.apply(cmd("k", "fp1", "incd", at.Add(IdempotencyTTL+time.Minute))); r.Replayed || r.Err != nil {
		t.Fatalf("expired key replayed: %+v", r)
	}
	if len(m.st.Sites[s].Incidents) != 2 {
		t.Fatalf("incidents = %d, want 2", len(m.st.Sites[s].Incidents))
	}
}

func TestApplyMaintenanceAutoTransitions(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	m.component(s, "db", "DB")
	m.ok(&Command{Op: OpCreateMaintenance, Site: s, NewIDs: []string{"mnt", "mu"}, MaintenanceIn: &MaintenanceInput{
		Name: ptrTo("upgrade"), ScheduledFor: ptrTo("2026-03-05T10:00:00Z"), ScheduledUntil: ptrTo("2026-03-05T12:00:00Z"), Components: &[]string{"db"}}})
	if due := m.st.dueTransitions(time.Date(2026, 3, 5, 9, 59, 0, 0, time.UTC)); len(due) != 0 {
		t.Fatalf("due early: %v", due)
	}
	start := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	due := m.st.dueTransitions(start)
	if len(due) != 1 || *due[0].UpdateIn.Status != "in_progress" {
		t.Fatalf("due = %+v", due)
	}
	due[0].At, due[0].NewIDs = start, []string{"a1"}
	m.ok(due[0])
	if c := m.st.Sites[s].Component("db"); c.Status != content.UnderMaintenance {
		t.Fatalf("db = %s", c.Status)
	}
	// A duplicate of the same transition (a second leader tick) is refused.
	dup := *due[0]
	dup.NewIDs = []string{"a2"}
	if r := m.apply(&dup); r.Err == nil {
		t.Fatal("duplicate transition applied")
	}
	end := start.Add(2 * time.Hour)
	due = m.st.dueTransitions(end)
	due[0].At, due[0].NewIDs = end, []string{"a3"}
	m.ok(due[0])
	mt := m.st.Sites[s].Maintenance("mnt")
	if mt.Status != content.Completed || m.st.Sites[s].Component("db").Status != content.Operational || len(mt.Updates) != 3 {
		t.Fatalf("maintenance = %s, db = %s, updates %d", mt.Status, m.st.Sites[s].Component("db").Status, len(mt.Updates))
	}
	day := m.st.Sites[s].History.Uptime("db", end, 1, time.UTC)[0]
	if day.Maintenance != 7200 {
		t.Fatalf("maintenance seconds = %d, want 7200", day.Maintenance)
	}
}

func TestApplyImportDemoAndSnapshotRoundTrip(t *testing.T) {
	m := newMachine(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	m.ok(&Command{Op: OpImportSite, Import: demo.Site(now)})
	s := m.st.Sites[demo.SiteID]
	if s == nil || s.Version != m.idx || len(s.Components) != 15 {
		t.Fatalf("imported %+v", s)
	}
	if m.st.hosts[demo.Hostname] != demo.SiteID {
		t.Fatal("hostname not indexed")
	}
	b, err := json.Marshal(m.st)
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Index != m.st.Index || st.Sites[demo.SiteID].Version != s.Version || st.slugs["acme"] != demo.SiteID {
		t.Fatal("snapshot round trip lost state")
	}
	api := ""
	for _, c := range s.Components {
		if c.Name == "API" {
			api = c.ID
		}
	}
	if got, want := st.Sites[demo.SiteID].History.Uptime(api, now, 90, s.Location()), s.History.Uptime(api, now, 90, s.Location()); len(got) != 90 || *got[50].Uptime != *want[50].Uptime {
		t.Fatal("history differs after the round trip")
	}
	// A second import with a taken hostname is refused.
	other := demo.Site(now)
	other.ID, other.Slug = "other", "other"
	if r := m.apply(&Command{Op: OpImportSite, Import: other}); r.Err == nil || !errors.Is(sentinelFor(&Error{Status: r.Err.Status}), ErrConflict) {
		t.Fatalf("import with a taken hostname: %+v", r.Err)
	}
}

// The lookup tables kept up to date write by write (slugs, hosts, token
// hashes) are always what a full rebuild from the sites and tokens gives.
func TestIncrementalIndexesMatchRebuild(t *testing.T) {
	m := newMachine(t)
	rng := rand.New(rand.NewPCG(7, 11))
	host := func() string { return fmt.Sprintf("h%d.example.test", rng.IntN(1000)) }
	var ids []string
	for step := range 400 {
		switch op := rng.IntN(10); {
		case op < 3 || len(ids) == 0:
			name := fmt.Sprintf("site%d", step)
			hosts := []string{host(), host()}
			res := m.apply(&Command{Op: OpCreateSite, NewIDs: []string{"id" + name}, TokenHash: HashToken("tok-" + name),
				SiteIn: &SiteInput{Name: ptrTo(name), Slug: ptrTo(name), Hostnames: &hosts, TimeZone: ptrTo("UTC")}})
			if res.Err == nil {
				ids = append(ids, "id"+name)
			}
		case op < 6: // new slug and hostnames (taken ones are refused)
			id := ids[rng.IntN(len(ids))]
			hosts := []string{host()}
			m.apply(&Command{Op: OpUpdateSite, Site: id, SiteIn: &SiteInput{Slug: ptrTo(fmt.Sprintf("slug%d", step)), Hostnames: &hosts}})
		case op < 8:
			m.apply(&Command{Op: OpRotateToken, Site: ids[rng.IntN(len(ids))], TokenHash: HashToken(fmt.Sprintf("rot%d", step))})
		default:
			i := rng.IntN(len(ids))
			m.apply(&Command{Op: OpDeleteSite, Site: ids[i]})
			ids = slices.Delete(ids, i, i+1)
		}
		want := m.st.clone()
		want.reindex()
		if !maps.Equal(m.st.slugs, want.slugs) || !maps.Equal(m.st.hosts, want.hosts) || !maps.Equal(m.st.tokenSites, want.tokenSites) {
			t.Fatalf("step %d: indexes drifted:\nslugs %v\nwant  %v\nhosts %v\nwant  %v\ntokens %v\nwant   %v",
				step, m.st.slugs, want.slugs, m.st.hosts, want.hosts, m.st.tokenSites, want.tokenSites)
		}
	}
	if len(ids) < 5 {
		t.Fatalf("only %d sites left: the walk did not exercise much", len(ids))
	}
}

// Status history is shared between versions of a site: every version keeps
// showing exactly the changes it had, whatever came after it, failed
// commands included.
func TestHistoryVersionsAreImmutable(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme", "status.acme.test")
	m.component(s, "api", "API")
	type saved struct {
		site    *content.Site
		changes []content.StatusChange
	}
	var versions []saved
	statuses := []content.ComponentStatus{content.DegradedPerformance, content.MajorOutage, content.Operational, content.PartialOutage}
	for i := range 60 {
		st := statuses[i%len(statuses)]
		m.ok(&Command{Op: OpUpdateComponent, Site: s, ID: "api", ComponentIn: &ComponentInput{Status: &st}})
		if i%7 == 3 { // a command that fails, on the same component
			if res := m.apply(&Command{Op: OpCreateIncident, Site: s, NewIDs: []string{fmt.Sprintf("i%d", i), fmt.Sprintf("u%d", i)},
				IncidentIn: &IncidentInput{Name: ptrTo("x"), Status: ptrTo(content.Investigating), Body: ptrTo("x"),
					Components: map[string]content.ComponentStatus{"api": content.MajorOutage, "nosuch": content.MajorOutage}}}); res.Err == nil {
				t.Fatal("an incident naming an unknown component was accepted")
			}
			// A change made and then dropped, as a command failing after
			// setting a status would: it appends to the shared history.
			tx := &siteTx{s: cow(m.st.Sites[s]), at: t0.Add(time.Duration(m.idx)*time.Minute + time.Second)}
			tx.setStatus("api", content.UnderMaintenance, "dropped")
		}
		site := m.st.Sites[s]
		versions = append(versions, saved{site, slices.Clone(site.History.Components["api"].Changes)})
	}
	for i, v := range versions {
		got := v.site.History.Components["api"].Changes
		if len(got) != i+1 || !slices.Equal(got, v.changes) {
			t.Fatalf("version %d now shows %d changes (had %d): %+v", i, len(got), len(v.changes), got)
		}
	}
}
