package origin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAPIGatedUntilReapplied: a replica restarted alone (its peers down,
// so it cannot re-apply its log) answers every site route, reads and
// writes, site token and operator token alike, with 503 and Retry-After,
// never from its empty state (404 for a site that exists, 401 for its
// valid token); once a peer is back it answers as before.
func TestAPIGatedUntilReapplied(t *testing.T) {
	c := newCluster(t, 3, 0)
	f := newFixture(t, c)
	for i := range c.nodes {
		c.kill(i)
	}
	c.restart(0)
	base := c.nodes[0].url()
	for _, tc := range []struct {
		method, path, token string
		body                any
	}{
		{"GET", "/v1/sites/acme", f.token, nil},
		{"GET", "/v1/sites/acme/incidents/" + f.incidentID, f.token, nil},
		{"GET", "/v1/sites", testOperator, nil},
		{"GET", "/v1/sites/acme/components", testOperator, nil},
		{"PATCH", "/v1/sites/acme", f.token, map[string]any{"name": "Acme 2"}},
		{"POST", "/v1/sites/acme/incidents/" + f.incidentID + "/updates", f.token, map[string]any{"status": "identified", "body": "x"}},
		{"GET", "/v1/sites/nosuch", "se_wrong", nil}, // no answer from the empty state either
	} {
		a := call(t, base, tc.method, tc.path, tc.token, tc.body)
		if a.status != 503 || a.header.Get("Retry-After") == "" {
			t.Errorf("%s %s before catching up: %d %s (Retry-After %q)", tc.method, tc.path, a.status, a.body, a.header.Get("Retry-After"))
		}
	}
	if a := call(t, base, "GET", "/readyz", "", nil); a.status != 503 || string(a.body) != `{"status":"catching_up"}`+"\n" {
		t.Errorf("readyz before catching up: %d %q", a.status, a.body)
	}
	if a := call(t, base, "GET", "/livez", "", nil); a.status != 200 {
		t.Errorf("livez: %d %s", a.status, a.body)
	}
	c.restart(1)
	poll(t, 20*time.Second, "n0 to catch up", func() bool { return c.nodes[0].n.Ready() })
	if a := call(t, base, "GET", "/v1/sites/acme", f.token, nil); a.status != 200 {
		t.Fatalf("after catching up: %d %s", a.status, a.body)
	}
	poll(t, 10*time.Second, "readyz 200", func() bool {
		a := call(t, base, "GET", "/readyz", "", nil)
		return a.status == 200 && string(a.body) == `{"status":"ready"}`+"\n"
	})
}

// TestRecoverLostQuorum is the README's runbook for a cluster that lost
// quorum for good: with two of three voters gone, writes fail; the survivor
// restarts with a peers.json naming only itself, leads, keeps every site
// and takes writes again.
func TestRecoverLostQuorum(t *testing.T) {
	c := newCluster(t, 3, 0, func(cfg *Config) { cfg.ApplyTimeout = time.Second })
	f := newFixture(t, c)
	leader := c.leader()
	c.waitApplied(leader.n.AppliedIndex())
	c.kill(1)
	c.kill(2)
	if c.nodes[0].n.IsLeader() {
		poll(t, 10*time.Second, "n0 to lose leadership", func() bool { return !c.nodes[0].n.IsLeader() })
	}
	if a := call(t, c.nodes[0].url(), "POST", "/v1/sites/acme/incidents/"+f.incidentID+"/updates", f.token,
		map[string]any{"status": "identified", "body": "lost"}); a.status != 503 {
		t.Fatalf("write without quorum: %d %s", a.status, a.body)
	}
	c.kill(0)
	peers, _ := json.Marshal([]map[string]any{{"id": "n0", "address": c.nodes[0].raftAddr, "non_voter": false}})
	if err := os.WriteFile(filepath.Join(c.nodes[0].dir, peersFile), peers, 0o600); err != nil {
		t.Fatal(err)
	}
	c.restart(0)
	c.waitLeader()
	a := call(t, c.nodes[0].url(), "POST", "/v1/sites/acme/incidents/"+f.incidentID+"/updates", f.token,
		map[string]any{"status": "identified", "body": "recovered"})
	if a.status != 201 {
		t.Fatalf("write after recovery: %d %s", a.status, a.body)
	}
	if _, err := os.Stat(filepath.Join(c.nodes[0].dir, peersFile)); err == nil {
		t.Fatal("peers.json is still there: the next restart would recover again")
	}
	st, err := c.nodes[0].n.Status()
	if err != nil || len(st.Servers) != 1 {
		t.Fatalf("servers after recovery: %+v %v", st.Servers, err)
	}
}
