package dev

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusedge/statusedge/bench"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/gossip"
)

// BenchmarkSoak measures what issue 10's attacks cost the visitors of
// cached pages: wrk on the demo page (cached, keep-alive) for a quiet run,
// then again next to a cache-busting flood (made-up incident and
// maintenance ids and history/uptime pages, 400 req/s on fresh
// connections) and a forged gossip member announcing (site, 2^62) and
// random sites every 10 ms. It reports the attacked run's req/s and p99 as
// ratios of the quiet run's (goal: ≥ 0.9× and ≤ 2×) and the origin renders
// the flood cost.
//
//	go test ./dev -run '^$' -bench Soak -benchtime 1x
func BenchmarkSoak(b *testing.B) {
	s := startSystem(b, Config{StartRedis: true})
	r := s.Regions[0]
	waitServes(b, r.PageURL, "/", "Acme Cloud", 10*time.Second)
	load := bench.Load{Name: "cached", URL: r.PageURL + "/", Duration: 10 * time.Second, Connections: 32,
		Headers: []string{"Host: " + demo.Hostname, "Accept-Encoding: br"}, CPU: -1}
	ctx := context.Background()
	for b.Loop() {
		quiet, err := bench.Run(ctx, load)
		if err != nil {
			b.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var flood, flood404 atomic.Int64
		rendersBefore := metric(b, r.PageURL, "statusedge_edge_origin_renders_total")
		wg.Add(2)
		go func() { defer wg.Done(); cacheBust(r.PageURL, stop, &flood, &flood404) }()
		go func() { defer wg.Done(); forgeGossip(b, s, stop) }()
		attacked, err := bench.Run(ctx, load)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		renders := metric(b, r.PageURL, "statusedge_edge_origin_renders_total") - rendersBefore
		b.Logf("quiet:    %.0f req/s, p50 %v, p99 %v, errors %d", quiet.RPS, quiet.P50, quiet.P99, quiet.Errors)
		b.Logf("attacked: %.0f req/s, p50 %v, p99 %v, errors %d; flood %d requests (%d answered 404), %v origin renders",
			attacked.RPS, attacked.P50, attacked.P99, attacked.Errors, flood.Load(), flood404.Load(), renders)
		b.ReportMetric(quiet.RPS, "quiet-req/s")
		b.ReportMetric(attacked.RPS, "attacked-req/s")
		b.ReportMetric(attacked.RPS/quiet.RPS, "req/s-ratio")
		b.ReportMetric(float64(quiet.P99)/1e6, "quiet-p99-ms")
		b.ReportMetric(float64(attacked.P99)/1e6, "attacked-p99-ms")
		b.ReportMetric(float64(attacked.P99)/float64(quiet.P99), "p99-ratio")
		b.ReportMetric(renders, "flood-renders")
	}
}

// cacheBust sends made-up pages at 400 req/s, each on a fresh connection.
func cacheBust(edgeURL string, stop <-chan struct{}, sent, notFound *atomic.Int64) {
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	rng := rand.New(rand.NewPCG(7, 8))
	paths := []func() string{
		func() string { return fmt.Sprintf("/incidents/%016x", rng.Uint64()) },
		func() string { return fmt.Sprintf("/maintenances/%016x", rng.Uint64()) },
		func() string { return fmt.Sprintf("/history?page=%d", 100+rng.IntN(9000)) },
		func() string { return fmt.Sprintf("/uptime?page=%d", 100+rng.IntN(9000)) },
	}
	tick := time.NewTicker(time.Second / 400)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		p := paths[i%len(paths)]()
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, edgeURL+p, nil)
			req.Host = demo.Hostname
			req.Header.Set("Accept-Encoding", "br")
			resp, err := cl.Do(req)
			sent.Add(1)
			if err != nil {
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				notFound.Add(1)
			}
		}()
	}
}

// forgeGossip joins the system's gossip as a stranger (dev binds loopback:
// no key needed) and announces forged versions every 10 ms.
func forgeGossip(tb testing.TB, s *System, stop <-chan struct{}) {
	gc := gossip.DefaultConfig()
	gc.Name, gc.Role, gc.Region = "forger", gossip.RoleEdge, "eu"
	gc.BindAddr, gc.BindPort, gc.Profile = "127.0.0.1", 0, gossip.ProfileLocal
	gc.Seeds = s.seeds
	g, err := gossip.New(gc)
	if err != nil {
		tb.Error(err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	}()
	acme := demo.Site(time.Now()).ID
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := uint64(1); ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		_ = g.Publish(acme, 1<<62+i)
		_ = g.Publish(fmt.Sprintf("forged%06d", i%1000), 1<<62+i)
	}
}
