package dev

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
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
// maintenance ids and history/uptime pages, 400 req/s) and a forged gossip
// member announcing (site, 2^62) and random sites every 10 ms. It reports
// the attacked run's req/s and p99 as ratios of the quiet run's (goal:
// ≥ 0.9× and ≤ 2×) and the origin renders the flood cost.
//
// The flood comes three ways, a sub-benchmark each, so that what the flood
// costs the edge can be told from what the flood's own client costs on the
// same cores:
//
//   - go-fresh: a Go client in this process, a new TCP connection per
//     request (the review's attack as first measured);
//
//   - wrk-fresh: a second wrk process, paced by its script, a new
//     connection per request (Connection: close); the two wrk processes
//     pinned to different cores (taskset), in the quiet run too;
//
//   - wrk-keepalive: the same on 6 kept-alive connections.
//
//     go test ./dev -run '^$' -bench Soak -benchtime 3x
func BenchmarkSoak(b *testing.B) {
	s := startSystem(b, Config{StartRedis: true})
	r := s.Regions[0]
	waitServes(b, r.PageURL, "/", "Acme Cloud", 10*time.Second)
	script := filepath.Join(b.TempDir(), "flood.lua")
	if err := os.WriteFile(script, []byte(floodScript), 0o644); err != nil {
		b.Fatal(err)
	}
	pinned := runtime.NumCPU() >= 2
	for _, mode := range []string{"go-fresh", "wrk-fresh", "wrk-keepalive"} {
		b.Run(mode, func(b *testing.B) {
			load := bench.Load{Name: "cached", URL: r.PageURL + "/", Duration: 10 * time.Second, Connections: 32,
				Headers: []string{"Host: " + demo.Hostname, "Accept-Encoding: br"}}
			floodLoad := bench.Load{Name: "flood", URL: r.PageURL, Duration: 10 * time.Second, Connections: 6,
				Headers: []string{"Host: " + demo.Hostname, "Accept-Encoding: br"}, Script: script}
			if mode == "wrk-fresh" {
				floodLoad.Headers = append(floodLoad.Headers, "Connection: close")
			}
			if mode != "go-fresh" && pinned {
				load.CPUs, floodLoad.CPUs = []int{0}, []int{1}
			}
			for b.Loop() {
				soakRound(b, s, r.PageURL, mode, load, floodLoad)
			}
		})
	}
}

// soakRound runs one quiet and one attacked run and reports them.
func soakRound(b *testing.B, s *System, pageURL, mode string, load, floodLoad bench.Load) {
	ctx := context.Background()
	quiet, err := bench.Run(ctx, load)
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var flood, flood404 atomic.Int64
	rendersBefore := metric(b, pageURL, "statusedge_edge_origin_renders_total")
	wg.Add(2)
	go func() {
		defer wg.Done()
		if mode == "go-fresh" {
			cacheBust(pageURL, stop, &flood, &flood404)
			return
		}
		fr, err := bench.Run(ctx, floodLoad)
		if err != nil {
			b.Error(err)
			return
		}
		flood.Store(fr.Requests)
		flood404.Store(fr.Errors) // every non-2xx answer: 404s, as the edge's metrics say
	}()
	go func() { defer wg.Done(); forgeGossip(b, s, stop) }()
	attacked, err := bench.Run(ctx, load)
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	renders := metric(b, pageURL, "statusedge_edge_origin_renders_total") - rendersBefore
	b.Logf("%s quiet:    %.0f req/s, p50 %v, p99 %v, errors %d", mode, quiet.RPS, quiet.P50, quiet.P99, quiet.Errors)
	b.Logf("%s attacked: %.0f req/s, p50 %v, p99 %v, errors %d; flood %d requests (%d answered non-2xx), %v origin renders",
		mode, attacked.RPS, attacked.P50, attacked.P99, attacked.Errors, flood.Load(), flood404.Load(), renders)
	b.ReportMetric(quiet.RPS, "quiet-req/s")
	b.ReportMetric(attacked.RPS, "attacked-req/s")
	b.ReportMetric(attacked.RPS/quiet.RPS, "req/s-ratio")
	b.ReportMetric(float64(quiet.P99)/1e6, "quiet-p99-ms")
	b.ReportMetric(float64(attacked.P99)/1e6, "attacked-p99-ms")
	b.ReportMetric(float64(attacked.P99)/float64(quiet.P99), "p99-ratio")
	b.ReportMetric(renders, "flood-renders")
}

// floodScript is the wrk flood: the same made-up paths as cacheBust, each
// connection pausing 10 ms between requests (6 connections: about 400
// req/s on a loaded machine, each answer taking its share of the cycle).
const floodScript = `
local i = 0
math.randomseed(7)
local function hex16()
  return string.format("%08x%08x", math.random(0, 2147483646), math.random(0, 2147483646))
end
request = function()
  i = i + 1
  local k = i % 4
  local p
  if k == 0 then p = "/incidents/" .. hex16()
  elseif k == 1 then p = "/maintenances/" .. hex16()
  elseif k == 2 then p = "/history?page=" .. math.random(100, 9099)
  else p = "/uptime?page=" .. math.random(100, 9099) end
  return wrk.format(nil, p)
end
delay = function() return 10 end
`

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
