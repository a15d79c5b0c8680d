package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/internal/testenv"
	"github.com/statusedge/statusedge/origin"
)

const testOperator = "operator-token-for-tests" // realOrigin's

// tenant is testSite with a slug of its own (a real origin wants them
// unique) and no maintenances (the leader would move them on its own, a
// change the tests counting fetches would see at random).
func tenant(id, host string, vis content.Visibility) *content.Site {
	s := testSite(id, host, vis)
	s.Slug, s.Maintenances = id, nil
	return s
}

// originAPI calls the origin's management API with the operator token and
// returns the status and the decoded JSON answer.
func originAPI(tb testing.TB, url, method, path string, body any) (int, map[string]any) {
	tb.Helper()
	var rd bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd.Reset(b)
	}
	req, err := http.NewRequest(method, url+path, &rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testOperator)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// registryServed reads, from the origin's /metrics, how many registry
// answers of each kind it has served: whole tables, entries, and "the entry
// you hold is current" (304).
func registryServed(tb testing.TB, url string) (full, entry, unchanged int) {
	tb.Helper()
	m := originMetrics(tb, url)
	return m[`statusedge_origin_registry_served_total{kind="full"}`], m[`statusedge_origin_registry_served_total{kind="entry"}`],
		m[`statusedge_origin_registry_served_total{kind="unchanged"}`]
}

// originMetrics reads the origin's counters, by name and labels as written.
func originMetrics(tb testing.TB, url string) map[string]int {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testOperator)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if n, err := strconv.ParseFloat(v, 64); ok && err == nil && !strings.HasPrefix(k, "#") {
			m[k] = int(n)
		}
	}
	return m
}

// A change on one site costs every edge that one site's entry, not the
// whole registry: counted by the origin (what it served) on a real origin
// (raft on disk), a real edge and a real Redis. A deleted site goes
// without a fetch, a new one costs its own entry, and the edge never loads
// the whole table again.
func TestRegistryChangeFetchesOnlyItsEntry(t *testing.T) {
	red := testenv.StartRedis(t)
	a := tenant("sitea0000001", "a.test", content.Public)
	b := tenant("siteb0000001", "b.test", content.Public)
	c := tenant("sitec0000001", "c.test", content.Private)
	n, url, _ := realOrigin(t, a, b, c)
	e := realEdge(t, url, func(cfg *Config) { cfg.RedisAddr = red.Addr() })
	for _, h := range []string{"a.test", "b.test"} {
		if r := e.get(t, h, "/"); r.status != 200 {
			t.Fatalf("%s: %d", h, r.status)
		}
	}
	full0, entry0, _ := registryServed(t, url)
	m0 := originMetrics(t, url)
	ctx := context.Background()

	// Site A renamed, with a new hostname.
	a2 := tenant("sitea0000001", "a.test", content.Public)
	a2.Name, a2.Hostnames = "Site A renamed", []string{"a.test", "a2.test"}
	if _, err := n.ImportSite(ctx, a2); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the new hostname on the edge", func() bool {
		r := e.get(t, "a2.test", "/")
		return r.status == 200 && strings.Contains(r.body, "Site A renamed")
	})
	if full, entry, _ := registryServed(t, url); full != full0 || entry != entry0+1 {
		t.Fatalf("after a change on A the origin served %d full registries and %d entries; want 0 and 1", full-full0, entry-entry0)
	}
	if r := e.get(t, "b.test", "/"); r.status != 200 {
		t.Fatalf("b.test: %d", r.status)
	}

	// An update to one of B's incidents changes B's pages, not its entry:
	// the edge asks (it cannot know) and the origin says its entry is
	// current, sending no entry.
	_, _, unchanged0 := registryServed(t, url)
	st, body := originAPI(t, url, http.MethodPost, "/v1/sites/"+b.ID+"/incidents/"+b.Incidents[0].ID+"/updates",
		map[string]any{"status": "monitoring", "body": "Watching it closely"})
	if st != http.StatusCreated {
		t.Fatalf("incident update: %d %v", st, body)
	}
	eventually(t, 20*time.Second, "B's update on the edge", func() bool {
		return strings.Contains(e.get(t, "b.test", "/").body, "Watching it closely")
	})
	if full, entry, unchanged := registryServed(t, url); full != full0 || entry != entry0+1 || unchanged != unchanged0+1 {
		t.Fatalf("after an incident update on B the origin served %d full registries, %d entries and %d unchanged answers; want 0, 0, 1",
			full-full0, entry-entry0-1, unchanged-unchanged0)
	}

	// Site C deleted: gone from the edge, with nothing fetched.
	if st, body := originAPI(t, url, http.MethodDelete, "/v1/sites/"+c.ID, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d %v", st, body)
	}
	eventually(t, 20*time.Second, "the deleted site gone", func() bool { return e.get(t, "c.test", "/").status == 404 })

	// A new site: its own entry.
	d := tenant("sited0000001", "d.test", content.Public)
	if _, err := n.ImportSite(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the new site on the edge", func() bool { return e.get(t, "d.test", "/").status == 200 })
	if full, entry, _ := registryServed(t, url); full != full0 || entry != entry0+2 {
		t.Fatalf("after a change, a deletion and a new site the origin served %d full registries and %d entries; want 0 and 2", full-full0, entry-entry0)
	}
	if got := counter(e.m.registryLoads); got != 1 {
		t.Fatalf("the edge loaded the whole registry %v times; want once (at start)", got)
	}
	// The versions answers were deltas too: they listed the sites that
	// moved (A, B, D; C as removed), not every site each time.
	m := originMetrics(t, url)
	deltas := m[`statusedge_origin_versions_served_total{kind="delta"}`] - m0[`statusedge_origin_versions_served_total{kind="delta"}`]
	listed := m[`statusedge_origin_versions_sites_total{kind="delta"}`] - m0[`statusedge_origin_versions_sites_total{kind="delta"}`]
	if deltas < 4 || listed > 2*3 {
		t.Fatalf("%d versions deltas listing %d sites; want one per change at least, listing the sites that moved", deltas, listed)
	}
}

// A tenant at its registry bound (its entry near MaxEntryBytes, every write
// that would grow it refused with a 422 naming the field) still changes and
// costs edges its one entry per change; it cannot keep another tenant's
// site from going private nor a new site from appearing, and no edge loads
// the whole registry for it.
func TestTenantAtItsBoundDoesNotHoldBackOthers(t *testing.T) {
	red := testenv.StartRedis(t)
	x := tenant("tenantx00001", "x.test", content.Public)
	desc := strings.Repeat("d", origin.MaxDescBytes)
	for i := 0; ; i++ {
		id := fmt.Sprintf("big%04d", i)
		x.Components = append(x.Components, &content.Component{ID: id, Name: "component " + id, Description: &desc,
			Status: content.Operational, Position: 1000 + i, CreatedAt: testNow, UpdatedAt: testNow})
		b, _ := json.Marshal(x.Entry())
		if len(b) > origin.MaxEntryBytes-2*origin.MaxDescBytes {
			break
		}
	}
	y := tenant("tenanty00001", "y.test", content.Public)
	n, url, _ := realOrigin(t, x, y)
	e := realEdge(t, url, func(cfg *Config) { cfg.RedisAddr = red.Addr() })
	for _, h := range []string{"x.test", "y.test"} {
		if r := e.get(t, h, "/"); r.status != 200 {
			t.Fatalf("%s: %d", h, r.status)
		}
	}
	full0, _, _ := registryServed(t, url)

	// X at its bound: the write that would pass it is refused, naming the field.
	for i := range 3 {
		st, body := originAPI(t, url, http.MethodPost, "/v1/sites/"+x.ID+"/components", map[string]any{"name": fmt.Sprintf("more %d", i), "description": desc})
		if i < 2 {
			continue // two more fit
		}
		errBody, _ := body["error"].(map[string]any)
		if st != http.StatusUnprocessableEntity || errBody["field"] != "component" {
			t.Fatalf("component past the entry bound: %d %v", st, body)
		}
	}
	// X keeps changing (a rename that keeps its size) while Y goes private
	// and a new site Z is created.
	if st, body := originAPI(t, url, http.MethodPatch, "/v1/sites/"+x.ID, map[string]any{"name": "Site tenantx0000Z"}); st != 200 {
		t.Fatalf("rename X: %d %v", st, body)
	}
	if st, body := originAPI(t, url, http.MethodPatch, "/v1/sites/"+y.ID, map[string]any{"visibility": "private", "access": map[string]any{"password": "pw-private-y"}}); st != 200 {
		t.Fatalf("Y private: %d %v", st, body)
	}
	if st, body := originAPI(t, url, http.MethodPost, "/v1/sites", map[string]any{"name": "Z", "slug": "zeta", "hostnames": []string{"z.test"}}); st != 201 {
		t.Fatalf("create Z: %d %v", st, body)
	}
	// The edge takes Y's new rules without a visitor asking (no fail-closed
	// refresh), and serves Z.
	eventually(t, 20*time.Second, "Y private on the edge", func() bool {
		st := e.table.Load().byID[y.ID]
		return st != nil && st.entry.Load().e.Visibility == content.Private
	})
	if r := e.get(t, "y.test", "/"); r.status != 401 || strings.Contains(r.body, "Site tenanty00001</h1>") {
		t.Fatalf("Y after going private: %d", r.status)
	}
	eventually(t, 20*time.Second, "Z on the edge", func() bool { return e.get(t, "z.test", "/").status == 200 })
	eventually(t, 20*time.Second, "X renamed on the edge", func() bool {
		r := e.get(t, "x.test", "/")
		return r.status == 200 && strings.Contains(r.body, "tenantx0000Z")
	})
	if full, _, _ := registryServed(t, url); full != full0 {
		t.Fatalf("the origin served %d full registries after start; want 0", full-full0)
	}
	_ = n
}

// Gossip-only edges (no versions poll) took access changes and new sites
// only at their 30 s registry reload. Now the news of a version newer than a
// site's entry fetches that entry at once, before any visitor comes, and the
// news of a site the edge does not know fetches its entry: an access change
// is as fast as a content version.
func TestGossipOnlyEdgeTakesAccessChangesAtOnce(t *testing.T) {
	a := tenant("sitea0000001", "a.test", content.Public)
	n, url, _ := realOrigin(t, a)
	e := realEdge(t, url, func(c *Config) { c.VersionsWait = -1 })
	if r := e.get(t, "a.test", "/"); r.status != 200 {
		t.Fatalf("public page: %d", r.status)
	}
	ctx := context.Background()
	private := tenant("sitea0000001", "a.test", content.Private)
	s2, err := n.ImportSite(ctx, private)
	if err != nil {
		t.Fatal(err)
	}
	e.Invalidate(a.ID, s2.Version) // gossip's news
	eventually(t, 10*time.Second, "the private entry on the edge", func() bool {
		return e.table.Load().byID[a.ID].entry.Load().e.Visibility == content.Private
	})
	if r := e.get(t, "a.test", "/"); r.status != 401 {
		t.Fatalf("after the switch to private: %d", r.status)
	}
	b := tenant("siteb0000001", "b.test", content.Public)
	sb, err := n.ImportSite(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	e.Invalidate(b.ID, sb.Version)
	eventually(t, 10*time.Second, "the new site on the edge", func() bool { return e.get(t, "b.test", "/").status == 200 })
	// News of a site the origin does not have costs one fetch per version.
	before := counter(e.m.entryFetches)
	for range 3 {
		e.Invalidate("nosuchsite01", 7)
	}
	eventually(t, 10*time.Second, "the fetch for the unknown site", func() bool { return counter(e.m.entryFetches) == before+1 })
	if got := counter(e.m.registryLoads); got != 1 {
		t.Fatalf("the edge loaded the whole registry %v times; want once", got)
	}
}
