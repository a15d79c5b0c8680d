package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/origin/render"
	"github.com/statusedge/statusedge/skeleton"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchEdge is an edge in front of a real origin with the demo site, its
// gzip demo page warm in L1.
func benchEdge(b *testing.B) *Server {
	b.Helper()
	_, url, _ := realOrigin(b, demo.Site(time.Now()))
	cfg := DefaultConfig()
	cfg.Origin = NewHTTPOrigin(url, testSecret, nil)
	cfg.SessionKey = testKey
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	if err := s.WaitReady(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

func demoRequest(ctx *fasthttp.RequestCtx) {
	var req fasthttp.Request
	req.SetRequestURI("http://" + demo.Hostname + "/")
	req.Header.Set("Accept-Encoding", "gzip, deflate, br;q=0")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, nil)
}

// BenchmarkCacheHitHandler measures the handler alone on an L1 hit of the
// demo page (gzip): ns and allocations per hit.
func BenchmarkCacheHitHandler(b *testing.B) {
	s := benchEdge(b)
	var ctx fasthttp.RequestCtx
	demoRequest(&ctx)
	s.handle(&ctx)
	if string(ctx.Response.Header.Peek("X-Statusedge-Cache")) == "l1" {
		b.Fatal("first request was already a hit")
	}
	for i := 0; string(ctx.Response.Header.Peek("X-Statusedge-Cache")) != "l1"; i++ {
		if i > 1000 {
			b.Fatalf("no L1 hit: %d %s %q", ctx.Response.StatusCode(), ctx.Response.Header.String(), ctx.Response.Body())
		}
		time.Sleep(5 * time.Millisecond)
		ctx.Response.Reset()
		s.handle(&ctx)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		ctx.Response.Reset()
		s.handle(&ctx)
	})
	page := len(ctx.Response.Body())
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		s.handle(&ctx)
	}
	b.ReportMetric(allocs, "allocs/hit")
	b.ReportMetric(float64(page), "gzip-bytes/page")
}

// BenchmarkFlood404Handler measures the handler alone on what the soak's
// cache-busting flood sends (made-up incident and maintenance ids, pages
// past the last): ns and allocations per 404, next to an L1 hit
// (BenchmarkCacheHitHandler). None may render.
func BenchmarkFlood404Handler(b *testing.B) {
	s := benchEdge(b)
	paths := []string{"/incidents/0123456789abcdef", "/maintenances/0123456789abcdef", "/history?page=4000", "/uptime?page=4000"}
	ctxs := make([]fasthttp.RequestCtx, len(paths))
	for i, p := range paths {
		var req fasthttp.Request
		req.SetRequestURI("http://" + demo.Hostname + p)
		req.Header.Set("Accept-Encoding", "br")
		ctxs[i].Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, nil)
		s.handle(&ctxs[i])
		if ctxs[i].Response.StatusCode() != 404 {
			b.Fatalf("%s: %d", p, ctxs[i].Response.StatusCode())
		}
	}
	renders := counter(s.m.renders)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		ctx := &ctxs[i%len(ctxs)]
		i++
		ctx.Response.Reset()
		s.handle(ctx)
	})
	b.ReportAllocs()
	for b.Loop() {
		ctx := &ctxs[i%len(ctxs)]
		i++
		ctx.Response.Reset()
		s.handle(ctx)
	}
	if n := counter(s.m.renders) - renders; n != 0 {
		b.Fatalf("%v renders for the flood", n)
	}
	b.ReportMetric(allocs, "allocs/404")
}

// BenchmarkCacheHitServer measures whole requests (parsing, handler,
// response writing) over in-memory connections, in parallel: req/s of
// cache hits for the demo page (gzip), next to bare fasthttp handing out
// the same bytes.
func BenchmarkCacheHitServer(b *testing.B) {
	s := benchEdge(b)
	var ctx fasthttp.RequestCtx
	demoRequest(&ctx)
	s.handle(&ctx)
	body := append([]byte(nil), ctx.Response.Body()...)
	for _, tc := range []struct {
		name string
		h    fasthttp.RequestHandler
	}{
		{"edge", s.handle},
		{"bare-fasthttp", func(c *fasthttp.RequestCtx) {
			c.Response.Header.SetContentType("text/html; charset=utf-8")
			c.Response.Header.Set("Content-Encoding", "gzip")
			c.Response.SetBodyRaw(body)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ln := fasthttputil.NewInmemoryListener()
			srv := &fasthttp.Server{Handler: tc.h}
			go func() { _ = srv.Serve(ln) }()
			defer func() { _ = srv.Shutdown() }()
			client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConnsPerHost: 1024}
			var n atomic.Int64
			b.SetParallelism(4)
			start := time.Now()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				req.SetRequestURI("http://" + demo.Hostname + "/")
				req.Header.Set("Accept-Encoding", "gzip")
				for pb.Next() {
					if err := client.Do(req, res); err != nil || res.StatusCode() != 200 {
						b.Errorf("request: %v %d", err, res.StatusCode())
						return
					}
					n.Add(1)
				}
			})
			b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
		})
	}
}

// BenchmarkL1Overhead fills L1 with 10,000 sites' demo-sized gzip pages
// (every encoding, as a render stores them) and reports the heap it takes
// beyond the page bytes: fixed-MiB what the empty cache takes (ristretto's
// admission counters, sized by the bound: here 4 GiB, so that every entry
// is kept), overhead-B/entry the heap per entry beyond the page bytes, and
// struct-overhead-B/entry the same beyond the bodies' allocated capacity.
func BenchmarkL1Overhead(b *testing.B) {
	const sites = 10000
	for b.Loop() {
		runtime.GC()
		var before, empty, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := newL1(4 << 30) // above the payload: every entry is kept
		if err != nil {
			b.Fatal(err)
		}
		// The admission counters are sized by the bound, not by what is
		// stored: a fixed cost, measured apart from the per-entry one.
		runtime.GC()
		runtime.ReadMemStats(&empty)
		comp := compressor{brotliLevel: 9}
		r, err := render.New()
		if err != nil {
			b.Fatal(err)
		}
		page, _, err := r.Render(demo.Site(time.Now()), "", "/", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		var payload, capacity int64
		entries := 0
		vs, err := comp.variants([]byte("se1|site|1|public|1|/"), pageOf(page))
		if err != nil {
			b.Fatal(err)
		}
		for i := range sites {
			base := appendBaseKey(nil, "site"+itoa(uint64(i)), 1, audPublic, 20000, []byte("/"))
			for e := range numEnc {
				v := vs[e].clone()
				v.key = string(appendEnc(append([]byte(nil), base...), e))
				v.body = append([]byte(nil), vs[e].body...) // own bytes, as separate renders have
				payload += int64(len(v.body))
				capacity += int64(cap(v.body))
				c.set(v, 0)
				entries++
			}
			if i%500 == 0 {
				c.c.Wait()
			}
		}
		c.c.Wait()
		runtime.GC()
		runtime.ReadMemStats(&after)
		fixed := int64(empty.HeapInuse) - int64(before.HeapInuse)
		heap := int64(after.HeapInuse) - int64(empty.HeapInuse)
		b.ReportMetric(float64(fixed)/(1<<20), "fixed-MiB")
		b.ReportMetric(float64(heap-payload)/float64(entries), "overhead-B/entry")
		b.ReportMetric(float64(heap-capacity)/float64(entries), "struct-overhead-B/entry")
		b.ReportMetric(float64(len(page)), "identity-B")
		b.ReportMetric(float64(payload)/(1<<20), "payload-MiB")
		b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(entries), "entries")
		runtime.KeepAlive(c)
		c.c.Close()
	}
}

func pageOf(body []byte) page {
	return page{status: 200, version: 1, renderedAt: time.Now(), ctype: "text/html; charset=utf-8", body: body}
}

// BenchmarkEdgeRSS fills a real edge's L1 with the demo page of 10,000
// sites (identity, gzip and brotli, each site's bytes its own as separate
// renders have them, stored through the edge's own store path with the
// stale-fallback copies) on top of a 10,000-site registry, and reports the
// process's resident memory (VmRSS and peak VmHWM from /proc/self/status)
// beyond what L1 holds. Run it alone, once:
//
//	go test ./edge -run '^$' -bench EdgeRSS -benchtime 1x
//
// Metrics: registry-MiB is the RSS the 10,000 registry entries take;
// l1-bytes-MiB what L1 holds (bodies as allocated, keys, headers; a body
// shared by a page and its stale-fallback copy once); rss-over-l1-MiB the
// RSS growth (registry included) beyond that, after a GC; peak-over-l1-MiB
// the same for the peak during the fill; overhead-B/entry the RSS growth
// beyond the registry and l1-bytes per L1 entry (page variants and their
// fallback copies).
//
// all-kept has an L1 bound that keeps every page; default-bound uses
// DefaultL1Bytes (the aim: RSS within the bound plus 64 MiB);
// default-bound-memlimit adds a soft memory limit, as GOMEMLIMIT would.
func BenchmarkEdgeRSS(b *testing.B) {
	for _, tc := range []struct {
		name     string
		l1       int64
		memLimit bool
	}{{"all-kept", 3 << 30, false}, {"default-bound", DefaultL1Bytes, false}, {"default-bound-memlimit", DefaultL1Bytes, true}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				rssFill(b, tc.l1, tc.memLimit)
			}
		})
	}
}

// rssFill is one BenchmarkEdgeRSS run. With memLimit, the Go runtime's
// soft memory limit is set to what the process holds before the fill plus
// the L1 bound plus 64 MiB (as GOMEMLIMIT would in production), so the
// garbage of evicted pages is collected before the heap doubles.
func rssFill(b *testing.B, l1Bytes int64, memLimit bool) {
	const sites = 10000
	now := time.Now()
	_, url, _ := realOrigin(b, demo.Site(now))
	cfg := DefaultConfig()
	cfg.Origin = NewHTTPOrigin(url, testSecret, nil)
	cfg.SessionKey = testKey
	cfg.L1Bytes = l1Bytes
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Shutdown(context.Background()) }()
	if err := s.WaitReady(context.Background()); err != nil {
		b.Fatal(err)
	}
	r, err := render.New()
	if err != nil {
		b.Fatal(err)
	}
	ds := demo.Site(now)
	body, _, err := r.Render(ds, "", "/", now)
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := s.comp.variants([]byte("se1|x|1|public|1|/"), pageOf(body))
	if err != nil {
		b.Fatal(err)
	}
	// The registry as the edge gets it: JSON from the origin.
	reg := content.Registry{Version: 1}
	for i := range sites {
		e := ds.Entry()
		e.ID, e.Hostnames, e.Version = "site"+itoa(uint64(i)), []string{"site" + itoa(uint64(i)) + ".example"}, 1
		reg.Sites = append(reg.Sites, e)
	}
	js, err := json.Marshal(reg)
	if err != nil {
		b.Fatal(err)
	}
	reg = content.Registry{}
	b.ReportMetric(float64(len(tpl[encIdentity].body)), "identity-B")
	b.ReportMetric(float64(len(tpl[encGzip].body)), "gzip-B")
	b.ReportMetric(float64(len(tpl[encBrotli].body)), "br-B")

	settle()
	rss0, _ := procStatus(b)
	resetPeak()
	if err := json.Unmarshal(js, &reg); err != nil {
		b.Fatal(err)
	}
	s.applyRegistry(reg)
	reg = content.Registry{}
	settle()
	rssReg, _ := procStatus(b)
	resetPeak()

	if memLimit {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		old := debug.SetMemoryLimit(int64(ms.Sys-ms.HeapReleased) + l1Bytes + 64<<20)
		defer debug.SetMemoryLimit(old)
	}
	day := int32(20000)
	for i := range sites {
		st := s.table.Load().byID["site"+itoa(uint64(i))]
		fr := fillReq{st: st, version: 1, aud: audPublic, day: day, path: "/"}
		fr.base = string(appendBaseKey(nil, st.id, 1, audPublic, day, []byte("/")))
		for e := range numEnc {
			v := tpl[e].clone()
			v.key = string(appendEnc([]byte(fr.base), e))
			// The capacity a render's body has (the compressor's or the
			// origin response's buffer), in bytes of this site's own.
			v.body = append(make([]byte, 0, cap(tpl[e].body)), tpl[e].body...)
			v.ctype, v.etag, v.verHdr = bytes.Clone(v.ctype), bytes.Clone(v.etag), bytes.Clone(v.verHdr)
			s.storeL1(v, fr, e)
		}
		if i%200 == 0 {
			s.l1.c.Wait()
		}
	}
	s.l1.c.Wait()
	_, hwm1 := procStatus(b)
	settle()
	rss1, _ := procStatus(b)

	// What L1 holds: page variants and their stale-fallback copies (which
	// share the variant's bytes), each body counted once.
	var kept, entries, keptBytes, keptCost int64
	bodies := map[*byte]bool{}
	count := func(v *variant) {
		entries++
		keptCost += v.cost()
		keptBytes += int64(len(v.key) + cap(v.ctype) + cap(v.etag) + cap(v.verHdr))
		if p := unsafe.SliceData(v.body); !bodies[p] {
			bodies[p] = true
			keptBytes += int64(allocSize(cap(v.body)))
		}
	}
	for i := range sites {
		id := "site" + itoa(uint64(i))
		base := appendBaseKey(nil, id, 1, audPublic, day, []byte("/"))
		for e := range numEnc {
			if v := s.l1.get(appendEnc(bytes.Clone(base), e)); v != nil {
				kept++
				count(v)
			}
			if v := s.l1.get(lastKey(id, audPublic, "/", e)); v != nil {
				count(v)
			}
		}
	}
	const mib = 1 << 20
	b.ReportMetric(float64(kept), "variants-kept")
	b.ReportMetric(float64(entries), "l1-entries")
	b.ReportMetric(float64(keptBytes)/mib, "l1-bytes-MiB")
	b.ReportMetric(float64(keptCost)/mib, "l1-cost-MiB")
	b.ReportMetric(float64(rssReg-rss0)/mib, "registry-MiB")
	b.ReportMetric(float64(rss1-rss0)/mib, "rss-growth-MiB")
	b.ReportMetric(float64(hwm1-rss0)/mib, "peak-growth-MiB")
	if entries > 0 {
		b.ReportMetric(float64(rss1-rssReg-keptBytes)/float64(entries), "overhead-B/entry")
	}
	b.ReportMetric(float64(rss1-rss0-keptBytes)/mib, "rss-over-l1-MiB")
	b.ReportMetric(float64(hwm1-rss0-keptBytes)/mib, "peak-over-l1-MiB")
	runtime.KeepAlive(tpl)
	runtime.KeepAlive(js) // held from before rss0 to the end: a constant
}

// settle collects garbage and returns free memory to the OS.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// resetPeak restarts VmHWM at the current RSS.
func resetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procStatus returns VmRSS and VmHWM (the peak since resetPeak), in bytes.
func procStatus(tb testing.TB) (rss, hwm int64) {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			tb.Fatalf("%s: %v", line, err)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	return rss, hwm
}

// BenchmarkMissWaits measures what a visitor waits for on a miss, the
// timings the pass/fail tests leave out: past the render budget (the origin
// holds the render) the skeleton arrives after the budget plus the reported
// overhead; at midnight the previous day's copy answers at once.
func BenchmarkMissWaits(b *testing.B) {
	b.Run("skeleton past a 50ms budget", func(b *testing.B) {
		o := startOrigin(b, testSite("s1", "one.test", content.Public))
		sk, err := skeleton.New()
		if err != nil {
			b.Fatal(err)
		}
		const budget = 50 * time.Millisecond
		e := startEdge(b, o, func(c *Config) { c.RenderBudget = budget; c.Shell = sk })
		release := o.Hold() // every visitor joins the one held fill
		defer release()
		b.ResetTimer()
		for range b.N {
			if r := e.get(b, "one.test", "/"); r.header.Get("X-Statusedge-Skeleton") != "1" {
				b.Fatalf("not the skeleton: %d", r.status)
			}
		}
		b.ReportMetric(float64(b.Elapsed()/time.Duration(b.N)-budget)/1e6, "ms-over-budget/op")
	})
	b.Run("previous day's copy", func(b *testing.B) {
		var now atomic.Int64
		now.Store(testNow.UnixNano())
		o := startOrigin(b, testSite("s1", "one.test", content.Public))
		e := startEdge(b, o, func(c *Config) { c.Now = func() time.Time { return time.Unix(0, now.Load()) } })
		if r := e.get(b, "one.test", "/"); r.status != 200 {
			b.Fatalf("warm: %d", r.status)
		}
		release := o.Hold()
		defer release()
		now.Add(int64(24 * time.Hour))
		b.ResetTimer()
		for range b.N {
			if r := e.get(b, "one.test", "/"); r.status != 200 || r.header.Get("X-Statusedge-Cache") != "previous" {
				b.Fatalf("not the previous copy: %d %v", r.status, r.header)
			}
		}
	})
}
