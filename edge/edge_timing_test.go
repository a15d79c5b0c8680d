package edge

import (
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/origin/render"
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
// beyond the page bytes: overhead per cached entry, and the total against
// the L1 bound.
func BenchmarkL1Overhead(b *testing.B) {
	const sites = 10000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := newL1(1 << 30)
		if err != nil {
			b.Fatal(err)
		}
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
				v := *vs[e]
				v.key = string(appendEnc(append([]byte(nil), base...), e))
				v.body = append([]byte(nil), vs[e].body...) // own bytes, as separate renders have
				payload += int64(len(v.body))
				capacity += int64(cap(v.body))
				c.set(&v, 0)
				entries++
			}
			if i%500 == 0 {
				c.c.Wait()
			}
		}
		c.c.Wait()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := int64(after.HeapInuse) - int64(before.HeapInuse)
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
