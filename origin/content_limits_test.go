package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/statusedge/statusedge/content"
)

// stateBytes is the replicated state's size: its JSON and its snapshot.
func stateBytes(t *testing.T, st *state) (jsonBytes, snapshotBytes int) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := encodeState(&snap, st); err != nil {
		t.Fatal(err)
	}
	return len(b), snap.Len()
}

// postUpdate applies update k of incident inc under an Idempotency-Key, as
// the API proposes it.
func postUpdate(m *machine, site, inc string, k int, body string, limits int) *Result {
	return m.apply(&Command{Op: OpAddIncidentUpdate, Site: site, ID: inc, NewIDs: []string{fmt.Sprintf("u%04d", k)}, Limits: limits,
		Idem:     &IdemKey{Key: "site\x00key-" + inc + fmt.Sprint(k), Fingerprint: "fp" + fmt.Sprint(k)},
		UpdateIn: &UpdateInput{Status: ptrTo("identified"), Body: &body}})
}

func createIncident(m *machine, site, id string, limits int) *Result {
	return m.apply(&Command{Op: OpCreateIncident, Site: site, NewIDs: []string{id, id + "u0"}, Limits: limits,
		Idem:       &IdemKey{Key: "site\x00create-" + id, Fingerprint: "fp-create"},
		IncidentIn: &IncidentInput{Name: ptrTo("Outage"), Status: ptrTo(content.Investigating), Body: ptrTo("looking")}})
}

// 100 updates of 30 KB under Idempotency-Keys make replicated state about
// the size of their text, not the sum of every answer (the review: 153 MB
// from 3 MB of text). A retry of any of them replays its first answer
// byte for byte, after all the later ones.
func TestIdempotencyRecordsAreCompact(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	if r := createIncident(m, s, "inc", CurrentLimits); r.Err != nil {
		t.Fatal(r.Err)
	}
	j0, s0 := stateBytes(t, m.st)
	const n, size = 100, 30 << 10
	answers := make([][]byte, n)
	texts := make([]string, n)
	rnd := rand.New(rand.NewPCG(1, 2))
	for k := range n {
		b := make([]byte, size)
		for i := range b {
			b[i] = 'a' + byte(rnd.IntN(26))
		}
		texts[k] = string(b)
		r := postUpdate(m, s, "inc", k, texts[k], CurrentLimits)
		if r.Err != nil || r.Status != http.StatusCreated {
			t.Fatalf("update %d: %+v", k, r)
		}
		answers[k] = r.Body
	}
	j1, s1 := stateBytes(t, m.st)
	text := n * size
	t.Logf("%d updates of %d bytes: state JSON %d -> %d bytes, snapshot %d -> %d bytes", n, size, j0, j1, s0, s1)
	if grown := j1 - j0; grown > 2*text {
		t.Errorf("state JSON grew by %d bytes for %d bytes of text", grown, text)
	}
	if grown := s1 - s0; grown > 2*text {
		t.Errorf("snapshot grew by %d bytes for %d bytes of text", grown, text)
	}
	for _, k := range []int{0, 41, n - 1} {
		r := postUpdate(m, s, "inc", k, texts[k], CurrentLimits)
		if r.Err != nil || !r.Replayed || r.Status != http.StatusCreated {
			t.Fatalf("retry of %d: %+v", k, r)
		}
		if !bytes.Equal(r.Body, answers[k]) {
			t.Errorf("retry of %d answers %d bytes, first answer was %d", k, len(r.Body), len(answers[k]))
		}
	}
	// The records survive a snapshot and still replay the same.
	var snap bytes.Buffer
	if err := encodeState(&snap, m.st); err != nil {
		t.Fatal(err)
	}
	restored, err := decodeState(&snap)
	if err != nil {
		t.Fatal(err)
	}
	m.st = restored
	if r := postUpdate(m, s, "inc", 7, texts[7], CurrentLimits); !r.Replayed || !bytes.Equal(r.Body, answers[7]) {
		t.Errorf("retry after restore: replayed %v, %d bytes, want %d", r.Replayed, len(r.Body), len(answers[7]))
	}
}

// An entry proposed before LimitsContent still records its whole answer
// and replays it as before (the raft log replays the same), and a record
// of that format in a snapshot still replays.
func TestIdempotencyOldRecordFormat(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	if r := createIncident(m, s, "inc", LimitsAudiences); r.Err != nil {
		t.Fatal(r.Err)
	}
	first := postUpdate(m, s, "inc", 1, "first", LimitsAudiences)
	postUpdate(m, s, "inc", 2, "second", LimitsAudiences)
	rec := m.st.Idem["site\x00key-inc1"]
	if rec == nil || rec.Ref != nil || !bytes.Equal(rec.Result.Body, first.Body) {
		t.Fatalf("old-format record: %+v", rec)
	}
	// The retry is proposed by a new replica (CurrentLimits) and meets the
	// old record: the stored answer, not one rebuilt.
	if r := postUpdate(m, s, "inc", 1, "first", CurrentLimits); !r.Replayed || !bytes.Equal(r.Body, first.Body) {
		t.Fatalf("replay of an old record: %s, want %s", r.Body, first.Body)
	}
	// A record as an older build wrote it into a snapshot (no "ref").
	old := []byte(`{"at":"2026-01-01T00:00:00Z","fingerprint":"fpx","result":{"status":201,"body":{"id":"inc","x":1},"index":9,"site_id":"sacme","version":9}}`)
	var r idemRecord
	if err := json.Unmarshal(old, &r); err != nil {
		t.Fatal(err)
	}
	r.At = t0.Add(1000 * 60e9)
	m.st.Idem["site\x00legacy"] = &r
	m.st.IdemOrder = append(m.st.IdemOrder, "site\x00legacy")
	got := m.apply(&Command{Op: OpAddIncidentUpdate, Site: s, ID: "inc", NewIDs: []string{"ux"}, Limits: CurrentLimits,
		Idem: &IdemKey{Key: "site\x00legacy", Fingerprint: "fpx"}, UpdateIn: &UpdateInput{Status: ptrTo("identified"), Body: ptrTo("b")}})
	if !got.Replayed || string(got.Body) != `{"id":"inc","x":1}` || got.Version != 9 {
		t.Fatalf("legacy record replays %+v %s", got, got.Body)
	}
}

// The content bounds: MaxUpdates per incident and MaxContentBytes per
// site, each refused with a 422 naming the field; entries from before the
// limits apply as they did; another tenant is not affected.
func TestContentLimits(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	other := m.site("other")
	if r := createIncident(m, s, "full", CurrentLimits); r.Err != nil {
		t.Fatal(r.Err)
	}
	for k := 1; k < MaxUpdates; k++ {
		if r := postUpdate(m, s, "full", k, "x", CurrentLimits); r.Err != nil {
			t.Fatalf("update %d: %v", k, r.Err)
		}
	}
	// Fill the site's content with 64 KiB updates on other incidents.
	big := strings.Repeat("y", MaxBodyBytes)
	for i := 0; contentBytes(m.st.Sites[s])+MaxBodyBytes+contentOverhead <= MaxContentBytes; i++ {
		inc := fmt.Sprintf("big%d", i/100)
		if i%100 == 0 {
			if r := createIncident(m, s, inc, CurrentLimits); r.Err != nil {
				t.Fatal(r.Err)
			}
			continue
		}
		if r := postUpdate(m, s, inc, i, big, CurrentLimits); r.Err != nil {
			t.Fatalf("big update %d: %v", i, r.Err)
		}
	}
	// ... to the byte.
	if rest := MaxContentBytes - contentBytes(m.st.Sites[s]) - contentOverhead; rest > 0 {
		if r := postUpdate(m, s, "big0", 8999, strings.Repeat("z", rest), CurrentLimits); r.Err != nil {
			t.Fatalf("last update: %v", r.Err)
		}
	}
	tests := []limitRow{
		{"update past MaxUpdates", func() *Result { return postUpdate(m, s, "full", 9000, "x", CurrentLimits) }, http.StatusUnprocessableEntity, "body"},
		{"update past MaxContentBytes", func() *Result { return postUpdate(m, s, "big0", 9001, big, CurrentLimits) }, http.StatusUnprocessableEntity, "body"},
		{"edit past MaxContentBytes", func() *Result {
			return m.apply(&Command{Op: OpEditIncidentUpdate, Site: s, ID: "big0", UpdateID: "u0001", Limits: CurrentLimits, UpdateIn: &UpdateInput{Body: &big}})
		}, http.StatusUnprocessableEntity, "body"},
		{"a new incident past MaxContentBytes", func() *Result { return createIncident(m, s, "onemore", CurrentLimits) }, http.StatusUnprocessableEntity, "body"},
		{"an entry from before the limits", func() *Result { return postUpdate(m, s, "full", 9002, big, LimitsAudiences) }, 0, ""},
		{"another tenant", func() *Result {
			if r := createIncident(m, other, "theirs", CurrentLimits); r.Err != nil {
				return r
			}
			return postUpdate(m, other, "theirs", 1, big, CurrentLimits)
		}, 0, ""},
		{"a delete on the full site", func() *Result {
			return m.apply(&Command{Op: OpDeleteIncident, Site: s, ID: "big0", Limits: CurrentLimits})
		}, 0, ""},
		{"an update once there is room", func() *Result { return postUpdate(m, s, "big1", 9003, big, CurrentLimits) }, 0, ""},
	}
	runLimitRows(t, tests)
}

// A slug that is a reserved name is refused for commands proposed under
// LimitsContent (create, rename, import); an older entry still applies.
func TestReservedSlugs(t *testing.T) {
	m := newMachine(t)
	s := m.site("acme")
	create := func(id, slug string, limits int) *Result {
		return m.apply(&Command{Op: OpCreateSite, NewIDs: []string{id}, Limits: limits, SiteIn: &SiteInput{Name: ptrTo(slug), Slug: ptrTo(slug)}})
	}
	tests := []struct {
		name  string
		cmd   func() *Result
		field string
	}{
		{"create www", func() *Result { return create("s1", "www", CurrentLimits) }, "slug"},
		{"create api", func() *Result { return create("s2", "api", CurrentLimits) }, "slug"},
		{"create metrics", func() *Result { return create("s3", "metrics", CurrentLimits) }, "slug"},
		{"rename to admin", func() *Result {
			return m.apply(&Command{Op: OpPatchSite, Site: s, Limits: CurrentLimits, SiteIn: &SiteInput{Slug: ptrTo("admin")}})
		}, "slug"},
		{"import as status", func() *Result {
			return m.apply(&Command{Op: OpImportSite, Limits: CurrentLimits, Import: &content.Site{ID: "s4", Name: "x", Slug: "status", TimeZone: "UTC", Visibility: content.Public}})
		}, "slug"},
		{"a slug that only starts like one", func() *Result { return create("s5", "www2", CurrentLimits) }, ""},
		{"an entry from before the limits", func() *Result { return create("s6", "cdn", LimitsAudiences) }, ""},
		{"a rename of an old reserved slug's other fields", func() *Result {
			return m.apply(&Command{Op: OpPatchSite, Site: "s6", Limits: CurrentLimits, SiteIn: &SiteInput{Name: ptrTo("CDN"), Slug: ptrTo("cdn")}})
		}, ""},
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
}

// Over the API: the update bound's refusal is a 422 JSON naming the field,
// another tenant posts as before, and a retry of an update after later
// ones replays its first answer byte for byte.
func TestContentBoundsOverHTTP(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	at := time.Now().UTC().Add(-time.Hour)
	full := &content.Site{ID: "sfull", Name: "Full", Slug: "full", TimeZone: "UTC", Visibility: content.Public,
		CreatedAt: at, UpdatedAt: at, Incidents: []*content.Incident{{ID: "big", Name: "Long one", Status: content.Investigating,
			Impact: content.ImpactMinor, CreatedAt: at, UpdatedAt: at, StartedAt: at}}}
	for i := range MaxUpdates {
		full.Incidents[0].Updates = append(full.Incidents[0].Updates, &content.Update{ID: fmt.Sprintf("u%d", i), Status: "investigating",
			Body: "still looking", CreatedAt: at, UpdatedAt: at, DisplayAt: at})
	}
	if _, err := c.leader().n.ImportSite(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	a := call(t, f.base, "POST", "/v1/sites/full/incidents/big/updates", testOperator, map[string]any{"status": "identified", "body": "one more"})
	if field, status := a.errField(); a.status != 422 || status != 422 || field != "body" {
		t.Fatalf("update past MaxUpdates: %d field %q: %s", a.status, field, a.body)
	}
	upd := "/v1/sites/acme/incidents/" + f.incidentID + "/updates"
	first := call(t, f.base, "POST", upd, f.token, map[string]any{"status": "identified", "body": "found it"}, "Idempotency-Key", "upd-1")
	if first.status != 201 {
		t.Fatalf("another tenant's update: %d %s", first.status, first.body)
	}
	if a := call(t, f.base, "POST", upd, f.token, map[string]any{"status": "monitoring", "body": "fixed"}, "Idempotency-Key", "upd-2"); a.status != 201 {
		t.Fatalf("second update: %d %s", a.status, a.body)
	}
	again := call(t, f.base, "POST", upd, f.token, map[string]any{"status": "identified", "body": "found it"}, "Idempotency-Key", "upd-1")
	if again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, first.body) {
		t.Fatalf("retry: %d replayed %q\n%s\nwant\n%s", again.status, again.header.Get("Idempotent-Replayed"), again.body, first.body)
	}
}

// The stricter names are for API input only: the raft log decodes as it
// always did (encoding/json: a name in another case still matches).
func TestLogDecodesAsBefore(t *testing.T) {
	f := newFSM()
	entry := `{"op":"site.create","at":"2026-01-01T00:00:00Z","new_ids":["sx"],"Site_In":{"name":"X","slug":"x"}}`
	res, _ := f.Apply(&raft.Log{Index: 1, Data: []byte(entry)}).(*Result)
	if res == nil || res.Err != nil || f.st.Sites["sx"] == nil {
		t.Fatalf("an entry with a name in another case: %+v", res)
	}
}
