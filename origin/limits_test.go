package origin

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/content"
)

// A tenant filling its audiences hits MaxAudiences and MaxAudienceRefs, so
// its registry entry stays small (the review's 4,300 audiences of 1,000
// components pushed the registry past the edges' limit, and every edge
// stopped learning of any site's change). Entries from before the limits
// (Command.Limits 0) still apply as they did: the raft log replays the same.
func TestAudienceLimits(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	other := m.site("other")
	comps := make([]string, 200)
	for i := range comps {
		comps[i] = fmt.Sprintf("c%03d", i)
		m.component(s, comps[i], comps[i])
	}
	audience := func(site, id string, limits int, ids []string) *Result {
		return m.apply(&Command{Op: OpCreateAudience, Site: site, NewIDs: []string{id}, Limits: limits,
			AudienceIn: &AudienceInput{Name: ptrTo(id), Components: &ids}})
	}
	// 10,000 references: 50 audiences of 200 components.
	for i := range MaxAudienceRefs / len(comps) {
		if r := audience(s, fmt.Sprintf("a%03d", i), CurrentLimits, comps); r.Err != nil {
			t.Fatalf("audience %d: %v", i, r.Err)
		}
	}
	tests := []limitRow{
		{"one reference past the bound", func() *Result { return audience(s, "over", CurrentLimits, comps[:1]) }, http.StatusUnprocessableEntity, "components"},
		{"an update that grows past the bound", func() *Result {
			ids := append(append([]string(nil), comps...), comps[:1]...)
			return m.apply(&Command{Op: OpUpdateAudience, Site: s, ID: "a000", Limits: CurrentLimits, AudienceIn: &AudienceInput{Components: &ids}})
		}, http.StatusUnprocessableEntity, "components"},
		{"an update within the bound", func() *Result {
			ids := comps[:10]
			return m.apply(&Command{Op: OpUpdateAudience, Site: s, ID: "a000", Limits: CurrentLimits, AudienceIn: &AudienceInput{Components: &ids}})
		}, 0, ""},
		{"an entry from before the limits", func() *Result { return audience(s, "legacy", 0, comps) }, 0, ""},
	}
	runLimitRows(t, tests)
	// Audience count: fill up to MaxAudiences with empty audiences.
	for i := len(m.st.Sites[s].Audiences); i < MaxAudiences; i++ {
		if r := audience(s, fmt.Sprintf("e%03d", i), CurrentLimits, nil); r.Err != nil {
			t.Fatalf("audience %d: %v", i, r.Err)
		}
	}
	if r := audience(s, "onemore", CurrentLimits, nil); r.Err == nil || r.Err.Field != "name" {
		t.Fatalf("audience past MaxAudiences: %+v", r.Err)
	}
	// Another tenant is not affected by acme's count.
	if r := audience(other, "theirs", CurrentLimits, nil); r.Err != nil {
		t.Fatalf("other site's audience: %v", r.Err)
	}
}

// A retry that names the site by id after the first try named it by slug
// (or the other way round) is the same request: replayed, not 409.
func TestIdempotencyKeyAcrossSiteRefs(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	body := map[string]any{"name": "Retry", "status": "investigating", "impact": "minor", "body": "b"}
	first := call(t, f.base, "POST", "/v1/sites/acme/incidents", f.token, body, "Idempotency-Key", "ref-1")
	second := call(t, f.base, "POST", "/v1/sites/"+f.site+"/incidents", f.token, body, "Idempotency-Key", "ref-1")
	if first.status != 201 || second.status != 201 || second.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("by slug %d, then by id %d (replayed %q): %s", first.status, second.status, second.header.Get("Idempotent-Replayed"), second.body)
	}
	n := 0
	for _, in := range c.leader().n.Site("acme").Incidents {
		if in.Name == "Retry" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d incidents named Retry, want 1", n)
	}
}

// A site token may set only its own default hostname: no IP literal (the
// review took over an edge's own address and /metrics), no other slug's
// default, no custom domain (those go through the domains API and route
// once verified). The operator may add a custom domain.
func TestSiteTokenHostnames(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	tests := []struct {
		name   string
		token  string
		body   map[string]any
		status int
	}{
		{"own default hostname", f.token, map[string]any{"hostnames": []string{"acme.localhost"}}, 200},
		{"IP literal", f.token, map[string]any{"add_hostnames": []string{"127.0.0.1"}}, 422},
		{"IPv4 with a numeric last label", f.token, map[string]any{"add_hostnames": []string{"10.0.0.300"}}, 422},
		{"another slug's default", f.token, map[string]any{"add_hostnames": []string{"other.localhost"}}, 422},
		{"a custom domain by the site token", f.token, map[string]any{"add_hostnames": []string{"status.acme.example"}}, 422},
		{"a custom domain by the operator", testOperator, map[string]any{"add_hostnames": []string{"status.acme.example"}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, f.base, "PATCH", "/v1/sites/acme", tt.token, tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if field, _ := a.errField(); tt.status == 422 && field != "add_hostnames" && field != "hostnames" {
				t.Errorf("error field %q", field)
			}
		})
	}
	if hs := c.leader().n.Site("other").Hostnames; len(hs) != 1 || hs[0] != "other.localhost" {
		t.Errorf("other site's hostnames: %v", hs)
	}
}

// Groups count against MaxComponents (the review: groups bypassed it),
// for commands proposed under the limits; an older entry still applies.
func TestGroupsCountAgainstComponentLimit(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	for i := range MaxComponents {
		m.component(s, fmt.Sprintf("c%04d", i), "c")
	}
	group := func(id string, limits int) *Result {
		return m.apply(&Command{Op: OpCreateGroup, Site: s, NewIDs: []string{id}, Limits: limits, GroupIn: &GroupInput{Name: ptrTo("g")}})
	}
	if r := group("g1", CurrentLimits); r.Err == nil || r.Err.Field != "name" {
		t.Errorf("group past MaxComponents: %+v", r.Err)
	}
	if r := group("g2", 0); r.Err != nil {
		t.Errorf("an entry from before the limits: %v", r.Err)
	}
}

// A tenant that fills its components with the longest descriptions would
// make its registry entry (what every edge fetches on each of its changes)
// several megabytes: from LimitsEntryBytes on, a change that grows an entry
// past MaxEntryBytes is refused naming the field; one that shrinks it or
// keeps its size passes, and commands from before the bound replay as
// they were applied.
func TestEntryByteBound(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	other := m.site("other")
	desc := strings.Repeat("d", MaxDescBytes)
	create := func(site, id string, limits int, desc string) *Result {
		name := "component " + id
		return m.apply(&Command{Op: OpCreateComponent, Site: site, NewIDs: []string{id}, Limits: limits,
			ComponentIn: &ComponentInput{Name: &name, Description: &desc}})
	}
	// Fill past the bound under the limits of before it (as the log may hold).
	for i := 0; entryBytes(m.st.Sites[s]) <= MaxEntryBytes; i++ {
		if r := create(s, fmt.Sprintf("c%03d", i), LimitsAudiences, desc); r.Err != nil {
			t.Fatalf("component %d: %v", i, r.Err)
		}
	}
	over := entryBytes(m.st.Sites[s])
	short := "short"
	tests := []struct {
		name  string
		cmd   func() *Result
		field string // "" = applies
	}{
		{"a component past the bound", func() *Result { return create(s, "new1", CurrentLimits, desc) }, "component"},
		{"a tiny component past the bound", func() *Result { return create(s, "new2", CurrentLimits, "") }, "component"},
		{"an audience past the bound", func() *Result {
			return m.apply(&Command{Op: OpCreateAudience, Site: s, NewIDs: []string{"aud1"}, Limits: CurrentLimits, AudienceIn: &AudienceInput{Name: ptrTo("A")}})
		}, "audience"},
		{"an incident past the bound, under the limits that held posts to it", func() *Result {
			return m.apply(&Command{Op: OpCreateIncident, Site: s, NewIDs: []string{"inc1", "upd1"}, Limits: LimitsContent,
				IncidentIn: &IncidentInput{Name: ptrTo("Down"), Status: ptrTo(content.Investigating), Body: ptrTo("down")}})
		}, "incident"},
		// A responder posts mid-outage whatever the site's configuration
		// weighs: the post is bounded by MaxContentBytes, not the entry.
		{"an incident at the bound", func() *Result {
			return m.apply(&Command{Op: OpCreateIncident, Site: s, NewIDs: []string{"inc2", "upd2"}, Limits: CurrentLimits,
				IncidentIn: &IncidentInput{Name: ptrTo("Down"), Status: ptrTo(content.Investigating), Body: ptrTo("down")}})
		}, ""},
		{"a site rename that grows it", func() *Result {
			return m.apply(&Command{Op: OpPatchSite, Site: s, Limits: CurrentLimits, SiteIn: &SiteInput{Name: ptrTo("acme renamed")}})
		}, "site"},
		{"an update that shrinks it", func() *Result {
			return m.apply(&Command{Op: OpUpdateComponent, Site: s, ID: "c000", Limits: CurrentLimits, ComponentIn: &ComponentInput{Description: &short}})
		}, ""},
		{"a component from before the bound", func() *Result { return create(s, "legacy", LimitsAudiences, desc) }, ""},
		{"another tenant's component", func() *Result { return create(other, "theirs", CurrentLimits, desc) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.cmd()
			switch {
			case tt.field == "" && r.Err != nil:
				t.Fatalf("err %v", r.Err)
			case tt.field != "" && (r.Err == nil || r.Err.Status != http.StatusUnprocessableEntity || r.Err.Field != tt.field):
				t.Fatalf("got %+v, want 422 on %q", r.Err, tt.field)
			}
		})
	}
	if over <= MaxEntryBytes || entryBytes(m.st.Sites[other]) > MaxEntryBytes {
		t.Fatalf("entry sizes: acme %d, other %d", over, entryBytes(m.st.Sites[other]))
	}
}

// limitRow is a command against a limit: refused with status on field, or
// (status 0) applied.
type limitRow struct {
	name   string
	cmd    func() *Result
	status int
	field  string
}

func runLimitRows(t *testing.T, rows []limitRow) {
	t.Helper()
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.cmd()
			switch {
			case tt.status == 0 && r.Err != nil:
				t.Fatalf("err %v", r.Err)
			case tt.status != 0 && (r.Err == nil || r.Err.Status != tt.status || r.Err.Field != tt.field):
				t.Fatalf("got %+v, want %d on %q", r.Err, tt.status, tt.field)
			}
		})
	}
}
