package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/gossip"
	"github.com/statusedge/statusedge/gossip/gossiptest"
)

// startSystem starts a topology for one test and stops it at the end.
func startSystem(tb testing.TB, cfg Config) *System {
	tb.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	cfg.Fast = true
	if cfg.RenderBudget == 0 {
		// Visitors wait for the render: what a page shows must not depend
		// on whether a loaded machine rendered within the budget (the edge's
		// tests cover the skeleton).
		cfg.RenderBudget = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// page fetches path from an edge as a visitor of the demo site would.
func page(tb testing.TB, edgeURL, path string) (int, http.Header, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, edgeURL+path, nil)
	req.Host = demo.Hostname
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// postIncident creates an incident through the management API, retrying
// with the same Idempotency-Key while no leader is reachable (as the CLI
// does), and returns the site version its acknowledgment carries.
func postIncident(tb testing.TB, s *System, apiURL, name string) uint64 {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "status": "investigating", "impact": "minor", "body": "Looking into " + name})
	key := fmt.Sprintf("test-%d-%s", time.Now().UnixNano(), name)
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodPost, apiURL+"/v1/sites/acme/incidents", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.OperatorToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatalf("post incident: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if resp.StatusCode != http.StatusCreated {
			tb.Fatalf("post incident: %d %s", resp.StatusCode, b)
		}
		v, err := strconv.ParseUint(resp.Header.Get("X-Statusedge-Version"), 10, 64)
		if err != nil {
			tb.Fatalf("post incident: no version in the answer: %v", err)
		}
		return v
	}
}

// waitServes polls an edge until its page contains want, and returns how
// long that took.
func waitServes(tb testing.TB, edgeURL, path, want string, within time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	for {
		code, _, body := page(tb, edgeURL, path)
		if code == http.StatusOK && strings.Contains(body, want) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			tb.Fatalf("%s%s does not show %q after %v (last answer %d)", edgeURL, path, want, within, code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSingleRegionServesAndUpdates(t *testing.T) {
	s := startSystem(t, Config{})
	r := s.Regions[0]
	code, h, body := page(t, r.PageURL, "/")
	if code != http.StatusOK || !strings.Contains(body, "Acme Cloud") || !strings.Contains(body, "Elevated error rates on the API") {
		t.Fatalf("demo page: %d %.200s", code, body)
	}
	if h.Get("X-Statusedge-Version") == "" {
		t.Error("the page carries no version header")
	}
	code, _, body = page(t, r.PageURL, "/api/v2/summary.json")
	if code != http.StatusOK || !strings.Contains(body, `"indicator"`) {
		t.Fatalf("summary.json: %d %.200s", code, body)
	}
	postIncident(t, s, r.APIURL, "Queue backlog in eu-west")
	waitServes(t, r.PageURL, "/", "Queue backlog in eu-west", 10*time.Second)
	waitServes(t, r.PageURL, "/api/v2/incidents/unresolved.json", "Queue backlog in eu-west", 10*time.Second)
}

// TestRestartKeepsContentAndVersions stops a system and starts it again on
// the same data: the content is there and versions did not go back.
func TestRestartKeepsContentAndVersions(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Start(ctx, Config{DataDir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	postIncident(t, s, s.Regions[0].APIURL, "Before the restart")
	before := s.Regions[0].Origin.Site("acme").Version
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := startSystem(t, Config{DataDir: dir})
	if err := s2.Regions[0].Origin.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if v := s2.Regions[0].Origin.Site("acme").Version; v < before {
		t.Fatalf("version went back from %d to %d", before, v)
	}
	waitServes(t, s2.Regions[0].PageURL, "/", "Before the restart", 10*time.Second)
	if s2.OperatorToken != s.OperatorToken {
		t.Error("the operator token changed across a restart")
	}
}

// multiRegion starts three regions whose gossip runs over a fault-injecting
// network, one group per region.
func multiRegion(t *testing.T) (*System, *gossiptest.Network) {
	t.Helper()
	network := gossiptest.NewNetwork(1)
	s := startSystem(t, Config{Regions: 3, StartRedis: true, GossipOnly: true, GossipHook: func(name string, c *gossip.Config) {
		tr, err := network.Listen(name, 0, nil) // one fault group per node
		if err != nil {
			t.Fatalf("gossip transport: %v", err)
		}
		c.Transport = tr
		c.PushPullInterval = time.Second // anti-entropy every second
	}})
	return s, network
}

func TestPublishReachesEveryRegion(t *testing.T) {
	s, _ := multiRegion(t)
	if len(s.Regions) != 3 {
		t.Fatalf("%d regions", len(s.Regions))
	}
	for _, r := range s.Regions {
		if r.RedisURL == "" {
			t.Errorf("region %s has no Redis", r.Name)
		}
		waitServes(t, r.PageURL, "/", "Acme Cloud", 10*time.Second)
	}
	for i := range 3 {
		name := fmt.Sprintf("Published change %d", i)
		postIncident(t, s, s.Regions[i].APIURL, name) // writes to followers are forwarded
		for _, r := range s.Regions {
			waitServes(t, r.PageURL, "/", name, 10*time.Second)
		}
	}
}

func TestPartitionedRegionConvergesAfterHeal(t *testing.T) {
	s, network := multiRegion(t)
	for _, r := range s.Regions {
		waitServes(t, r.PageURL, "/", "Acme Cloud", 10*time.Second)
	}
	network.Partition("edge-ap") // the ap edge hears no gossip at all
	postIncident(t, s, s.Regions[0].APIURL, "While ap was cut off")
	waitServes(t, s.Regions[0].PageURL, "/", "While ap was cut off", 10*time.Second)
	if _, _, body := page(t, s.Regions[2].PageURL, "/"); strings.Contains(body, "While ap was cut off") {
		t.Fatal("region ap learned of the change through the partition: the test does not test gossip")
	}
	network.Heal()
	waitServes(t, s.Regions[2].PageURL, "/", "While ap was cut off", 20*time.Second)
}

func TestLossyGossipConverges(t *testing.T) {
	s, network := multiRegion(t)
	network.SetLoss(0.3, 0.3, 50*time.Millisecond)
	for i := range 5 {
		postIncident(t, s, s.Regions[0].APIURL, fmt.Sprintf("Lossy %d", i))
	}
	for _, r := range s.Regions {
		waitServes(t, r.PageURL, "/", "Lossy 4", 20*time.Second)
	}
	if st := network.Stats(); st.Dropped == 0 {
		t.Errorf("the lossy network dropped nothing: %+v", st)
	}
}

// metric reads one counter from an edge's /metrics (a loopback peer may).
func metric(tb testing.TB, edgeURL, name string) float64 {
	tb.Helper()
	resp, err := http.Get(edgeURL + "/metrics")
	if err != nil {
		tb.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name) && (len(line) == len(name) || line[len(name)] == ' ' || line[len(name)] == '{') {
			f, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
			if err != nil {
				tb.Fatalf("metrics line %q: %v", line, err)
			}
			return f
		}
	}
	tb.Fatalf("metric %s not found in:\n%.500s", name, b)
	return 0
}

func TestEdgeRestartedDuringPropagationCatchesUp(t *testing.T) {
	s, _ := multiRegion(t)
	ctx := context.Background()
	for _, r := range s.Regions {
		waitServes(t, r.PageURL, "/", "Acme Cloud", 10*time.Second)
	}
	postIncident(t, s, s.Regions[0].APIURL, "Propagation 1")
	if err := s.StopEdge(ctx, 2); err != nil { // the ap edge dies as the news spreads
		t.Fatal(err)
	}
	postIncident(t, s, s.Regions[0].APIURL, "Propagation 2")
	v := postIncident(t, s, s.Regions[1].APIURL, "Propagation 3")
	// The change reaches region ap (its replica, a non-voter, applies it)
	// while its edge is down: acknowledged by a majority elsewhere, it may
	// get there later on a loaded machine, and until then ap's visitors
	// rightly see the page before it.
	for deadline := time.Now().Add(10 * time.Second); s.Regions[2].Origin.AppliedIndex() < v; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ap's replica did not apply index %d", v)
		}
	}
	if err := s.StartEdge(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// Ready means caught up: the first answer already shows the last change
	// its region has.
	if _, _, body := page(t, s.Regions[2].PageURL, "/"); !strings.Contains(body, "Propagation 3") {
		t.Fatalf("the restarted edge called itself ready but serves an old page")
	}
	postIncident(t, s, s.Regions[0].APIURL, "After the restart")
	waitServes(t, s.Regions[2].PageURL, "/", "After the restart", 10*time.Second)
}

// TestBurstIsCoalesced posts a burst of changes to one site and checks that
// the edges rendered a few versions of it, not one per change.
func TestBurstIsCoalesced(t *testing.T) {
	s, _ := multiRegion(t)
	for _, r := range s.Regions {
		waitServes(t, r.PageURL, "/", "Acme Cloud", 10*time.Second)
	}
	before := make([]float64, len(s.Regions))
	for i, r := range s.Regions {
		before[i] = metric(t, r.PageURL, "statusedge_edge_origin_renders_total")
	}
	// 40 changes from 8 concurrent writers, as fast as raft takes them.
	const burst, writers = 40, 8
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < burst; i += writers {
				postIncident(t, s, s.Regions[0].APIURL, fmt.Sprintf("Burst %d", i))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("burst of %d changes took %v", burst, took)
	for _, r := range s.Regions {
		for i := range burst {
			waitServes(t, r.PageURL, "/", fmt.Sprintf("Burst %d<", i), 10*time.Second)
		}
	}
	// Publishes are paced per site (gossip.DefaultPublishInterval), and an edge
	// renders the newest version it knows, one site at a time: the versions an
	// edge renders are bounded by the burst's length, not by its size.
	// A few more for the first publish, the last (trailing) one, and a version
	// learned from a follower through anti-entropy in between.
	// The window is until every edge served the last change: publishes (and
	// the trailing one) go on after the last write's acknowledgment.
	settled := time.Since(start)
	maxVersions := int(settled/gossip.DefaultPublishInterval) + 5
	// The demo site is live (an outage in progress): its hot paths are also
	// rendered once for each minute the measurement reaches, ahead of it.
	minutes := int(time.Now().Unix()/60-start.Unix()/60) + 1
	for i, r := range s.Regions {
		renders := metric(t, r.PageURL, "statusedge_edge_origin_renders_total") - before[i]
		switches := metric(t, r.PageURL, "statusedge_edge_render_ahead_switches_total")
		t.Logf("edge %s: %v origin renders, %v version switches for %d changes", r.Name, renders, switches, burst)
		if bound := (maxVersions + minutes) * 4; renders > float64(bound) {
			t.Errorf("edge %s rendered %v times for a burst of %d changes in %v, served in %v (bound %d)", r.Name, renders, burst, took, settled, bound)
		}
	}
}

// TestRenderWaitsForVersion is read-your-version: a replica asked for a
// version it has not applied yet waits for it instead of rendering an older
// one, so gossip outrunning raft never caches an old page under a new key.
func TestRenderWaitsForVersion(t *testing.T) {
	s, _ := multiRegion(t)
	follower := s.Regions[2]
	type answer struct {
		code    int
		version string
		body    string
	}
	// A version is a raft index, and other entries (a member joining, a
	// maintenance starting) take indexes too: an attempt whose index went to
	// another entry proves nothing and is tried again.
	for attempt := 1; ; attempt++ {
		next := follower.Origin.AppliedIndex() + 1
		got := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/internal/v1/render?site=%s&path=/&min_version=%d",
				follower.APIURL, demo.SiteID, next), nil)
			req.Header.Set("Authorization", "Bearer "+s.ClusterSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				got <- answer{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			got <- answer{resp.StatusCode, resp.Header.Get("X-Statusedge-Version"), string(b)}
		}()
		time.Sleep(100 * time.Millisecond) // the render is waiting now
		select {
		case a := <-got:
			if applied := follower.Origin.AppliedIndex(); applied < next {
				t.Fatalf("the render did not wait for index %d (applied %d): %d %s", next, applied, a.code, a.version)
			}
			continue // another entry took the index
		default:
		}
		name := fmt.Sprintf("Rendered at its own version (%d)", attempt)
		v := postIncident(t, s, s.Regions[0].APIURL, name)
		a := <-got
		if applied := follower.Origin.AppliedIndex(); applied < next {
			t.Fatalf("rendered before the replica applied index %d (applied %d)", next, applied)
		}
		if v != next && attempt < 10 {
			continue
		}
		if a.code != http.StatusOK || !strings.Contains(a.body, name) {
			t.Fatalf("render answered %d (version %s) without the change", a.code, a.version)
		}
		if rv, _ := strconv.ParseUint(a.version, 10, 64); rv < v {
			t.Fatalf("rendered version %d, the write was acknowledged at %d", rv, v)
		}
		return
	}
}
