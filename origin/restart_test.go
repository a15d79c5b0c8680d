package origin

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// TestRestartFromDiskAndSnapshot restarts a single voter twice: once with
// only the log on disk, once after a forced snapshot (and more writes on
// top of it). Each time the state and versions come back exactly and the
// versions observed by a subscriber never go backwards.
func TestRestartFromDiskAndSnapshot(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c)
	ctx, cancel := contextWithTimeout(30 * time.Second)
	defer cancel()
	d := demo.Site(time.Now())
	d.Slug, d.Hostnames = "acmedemo", []string{"demo.acme.test"}
	if _, err := c.leader().n.ImportSite(ctx, d); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []uint64
	watch := func() {
		c.nodes[0].n.Subscribe(func(ch Change) {
			if ch.SiteID == f.site {
				mu.Lock()
				seen = append(seen, ch.Version)
				mu.Unlock()
			}
		})
	}
	watch()
	post := func(i int) {
		a := call(t, c.nodes[0].url(), "POST", "/v1/sites/acme/incidents/"+f.incidentID+"/updates", f.token,
			map[string]any{"status": "identified", "body": fmt.Sprintf("u%d", i)})
		if a.status != 201 {
			t.Fatalf("post: %d %s", a.status, a.body)
		}
	}
	for i := range 5 {
		post(i)
	}
	want := c.nodes[0].n.Site("acme")
	wantDemo := c.nodes[0].n.Site(demo.SiteID)

	check := func(stage string) {
		t.Helper()
		n := c.nodes[0].n
		ctx, cancel := contextWithTimeout(10 * time.Second)
		defer cancel()
		if err := n.WaitReady(ctx); err != nil {
			t.Fatalf("%s: not ready: %v", stage, err)
		}
		got := n.Site("acme")
		if got == nil || got.Version < want.Version || len(got.Incident(f.incidentID).Updates) != len(want.Incident(f.incidentID).Updates) {
			t.Fatalf("%s: site = %+v", stage, got)
		}
		if d := n.Site(demo.SiteID); d == nil || d.Version != wantDemo.Version || len(d.History.Components) != len(wantDemo.History.Components) {
			t.Fatalf("%s: demo site lost", stage)
		}
		if n.SiteByHost("demo.acme.test") == nil {
			t.Fatalf("%s: hostname index not rebuilt", stage)
		}
		if !n.Ready() {
			t.Fatalf("%s: not ready after catching up", stage)
		}
	}

	c.kill(0)
	c.restart(0)
	check("restart from the log")
	watch()

	// Force a snapshot, write on top of it, restart: snapshot + log tail.
	if err := c.nodes[0].n.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 8; i++ {
		post(i)
	}
	want = c.nodes[0].n.Site("acme")
	c.kill(0)
	c.restart(0)
	check("restart from a snapshot")
	// The site token survived too.
	if a := call(t, c.nodes[0].url(), "GET", "/v1/sites/acme", f.token, nil); a.status != 200 {
		t.Fatalf("token after restore: %d", a.status)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.IsSorted(seen) {
		t.Fatalf("versions went backwards: %v", seen)
	}
}

// TestNonVoterCatchesUp writes while a non-voter is down and after a
// snapshot compacted the log, then restarts it: it catches up (by snapshot
// install) and serves the same content; it never votes.
func TestNonVoterCatchesUp(t *testing.T) {
	c := newCluster(t, 3, 1, func(cfg *Config) { cfg.TrailingLogs = 5; cfg.SnapshotThreshold = 10 })
	f := newFixture(t, c)
	nv := 3
	c.kill(nv)
	leader := c.leader()
	for i := range 20 {
		a := call(t, leader.url(), "POST", "/v1/sites/acme/incidents/"+f.incidentID+"/updates", f.token,
			map[string]any{"status": "identified", "body": fmt.Sprintf("u%d", i)})
		if a.status != 201 {
			t.Fatalf("post: %d %s", a.status, a.body)
		}
	}
	if err := leader.n.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	c.restart(nv)
	c.waitApplied(leader.n.AppliedIndex())
	got, want := c.nodes[nv].n.Site("acme"), leader.n.Site("acme")
	if got.Version != want.Version || len(got.Incident(f.incidentID).Updates) != len(want.Incident(f.incidentID).Updates) {
		t.Fatalf("non-voter at version %d, leader at %d", got.Version, want.Version)
	}
	st, err := leader.n.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Servers {
		if (s.ID == c.nodes[nv].id) != (s.Suffrage == "nonvoter") {
			t.Fatalf("suffrage: %+v", st.Servers)
		}
	}
	// Internal reads on the non-voter are local and current.
	a := call(t, c.nodes[nv].url(), "GET", "/internal/v1/render?site=acme&path=/&min_version="+fmt.Sprint(want.Version), testSecret, nil)
	if a.status != 200 {
		t.Fatalf("render on the non-voter: %d %s", a.status, a.body)
	}
}

// TestIncidentModelRejectsLostWrite checks that the linearizability model
// can fail: a history where an acknowledged append vanished is rejected.
func TestIncidentModelRejectsLostWrite(t *testing.T) {
	ok := []porcupine.Operation{
		{ClientId: 0, Input: "a", Call: 0, Output: appendOutput{bodies: []string{"a"}}, Return: 10},
		{ClientId: 1, Input: "b", Call: 20, Output: appendOutput{bodies: []string{"a", "b"}}, Return: 30},
	}
	if !porcupine.CheckOperations(incidentModel, ok) {
		t.Fatal("a good history was rejected")
	}
	lost := slices.Clone(ok)
	lost[1].Output = appendOutput{bodies: []string{"b"}} // "a" was lost
	if porcupine.CheckOperations(incidentModel, lost) {
		t.Fatal("a lost write was accepted")
	}
	reordered := []porcupine.Operation{
		{ClientId: 0, Input: "a", Call: 0, Output: appendOutput{bodies: []string{"b", "a"}}, Return: 10},
		{ClientId: 1, Input: "b", Call: 20, Output: appendOutput{bodies: []string{"b"}}, Return: 30},
	}
	if porcupine.CheckOperations(incidentModel, reordered) {
		t.Fatal("a write ordered before one that started after it returned was accepted")
	}
}

var _ = content.Operational

// TestIdempotencyAcrossLeaderChange posts through a follower, kills the
// leader, and retries with the same key through another replica: the
// retry is answered with the first answer and nothing is applied twice.
func TestIdempotencyAcrossLeaderChange(t *testing.T) {
	c := newCluster(t, 3, 0)
	f := newFixture(t, c)
	leader := c.leader()
	var others []int
	for i, tn := range c.nodes {
		if tn != leader {
			others = append(others, i)
		}
	}
	path := "/v1/sites/acme/incidents/" + f.incidentID + "/updates"
	body := map[string]any{"status": "monitoring", "body": "fix deployed"}
	first := call(t, c.nodes[others[0]].url(), "POST", path, f.token, body, "Idempotency-Key", "failover-1")
	if first.status != 201 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	c.kill(slices.Index(c.nodes, leader))
	c.waitLeader()
	var retry answer
	poll(t, 15*time.Second, "the retry to be answered", func() bool {
		a, err := tryCall(c.nodes[others[1]].url(), "POST", path, f.token, body, "Idempotency-Key", "failover-1")
		retry = a
		return err == nil && a.status == 201
	})
	if retry.header.Get("Idempotent-Replayed") != "true" || string(retry.body) != string(first.body) {
		t.Fatalf("retry after failover: replayed=%q body differs=%v", retry.header.Get("Idempotent-Replayed"), string(retry.body) != string(first.body))
	}
	n := c.nodes[others[1]].n
	ups := n.Site("acme").Incident(f.incidentID).Updates
	count := 0
	for _, u := range ups {
		if u.Body == "fix deployed" {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("update applied %d times", count)
	}
}
