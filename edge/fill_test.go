package edge

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/internal/testenv"
	"github.com/statusedge/statusedge/skeleton"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// TestCoalescing: 10,000 concurrent cold requests for one key cause exactly
// one origin render (counted at the origin).
func TestCoalescing(t *testing.T) {
	r := testenv.StartRedis(t)
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.RedisAddr = r.Addr(); c.RenderBudget = 10 * time.Second })
	o.SetDelay(300 * time.Millisecond) // long enough that the requests pile up

	ln := fasthttputil.NewInmemoryListener()
	go func() { _ = e.srv.Serve(ln) }()
	// e.Shutdown closes ln.
	// No per-request timeout: its deadline timers would outlive the test
	// (the test's own timeout bounds it). Closing the idle connections at
	// the end ends the client's cleaner goroutine.
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConnsPerHost: 20000}
	defer client.CloseIdleConnections()

	const n = 10000
	var wg sync.WaitGroup
	var bad atomic.Int64
	var firstErr atomic.Value
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			req.SetRequestURI("http://one.test/history")
			req.Header.Set("Accept-Encoding", "gzip")
			<-start
			err := client.Do(req, res)
			if err != nil || res.StatusCode() != 200 || string(res.Header.Peek("Content-Encoding")) != "gzip" {
				bad.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if b := bad.Load(); b != 0 {
		t.Fatalf("%d of %d requests failed (first error %v)", b, n, firstErr.Load())
	}
	if got := o.renders.Load(); got != 1 {
		t.Fatalf("origin renders = %d for %d concurrent cold requests, want exactly 1", got, n)
	}
	t.Logf("coalesced waits: %v", counter(e.m.coalesced))
}

// TestBudgetSkeletonThenFull: past the budget the visitor gets the skeleton
// (no-store) at once; the render finishes in the background and the next
// visitor gets the full page without another render.
func TestBudgetSkeletonThenFull(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	sk, err := skeleton.New()
	if err != nil {
		t.Fatal(err)
	}
	e := startEdge(t, o, func(c *Config) { c.RenderBudget = 50 * time.Millisecond; c.Shell = sk })
	release := o.Hold() // the render cannot finish within the budget
	r := e.get(t, "one.test", "/")
	release()
	if r.status != 200 || r.header.Get("X-Statusedge-Skeleton") != "1" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first answer = %d %v", r.status, r.header)
	}
	if !strings.Contains(r.body, "Site s1") || strings.Contains(r.body, "site=s1") || !strings.Contains(r.body, "<script") {
		t.Fatalf("skeleton body = %q", r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); csp != sk.ContentSecurityPolicy(e.table.Load().byID["s1"].entry.Load().e) || !strings.Contains(csp, sk.ScriptHash()) {
		t.Fatalf("skeleton CSP = %q", csp)
	}
	var full resp
	eventually(t, 5*time.Second, "full page", func() bool {
		full = e.get(t, "one.test", "/")
		return full.header.Get("X-Statusedge-Skeleton") == ""
	})
	if !strings.Contains(full.body, marker("s1", 1, "", "/")) {
		t.Fatalf("after the background render: %v %q", full.header, full.body[:100])
	}
	if n := o.renders.Load(); n != 1 {
		t.Fatalf("renders = %d, want 1", n)
	}
	// JSON has no skeleton: it waits for the render.
	j := e.get(t, "one.test", "/api/v2/summary.json")
	if j.status != 200 || !strings.Contains(j.body, "site=s1") {
		t.Fatalf("json over budget = %d %q", j.status, j.body)
	}
	if got := counter(e.m.skeletons); got < 1 {
		t.Fatalf("skeleton serves = %v", got)
	}
}

func TestStaleNoteAndNeverRendered(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	for _, p := range []string{"/", "/api/v2/summary.json"} {
		for _, enc := range []string{"", "gzip", "br"} {
			if r := e.get(t, "one.test", p, "Accept-Encoding: "+enc); r.status != 200 {
				t.Fatalf("warm %s %s: %d", p, enc, r.status)
			}
		}
	}
	o.Kill()
	now.Add(int64(24 * time.Hour)) // a new day: every current key is cold
	// The first visitor of the new day cannot know the origin is gone yet:
	// it gets yesterday's copy while the fill tries (and fails).
	if r := e.get(t, "one.test", "/"); r.status != 200 || !strings.Contains(r.body, marker("s1", 1, "", "/")) {
		t.Fatalf("first visitor of the day: %d", r.status)
	}
	eventually(t, 5*time.Second, "the failed render noticed", func() bool { return counter(e.m.renderErrs) > 0 })
	// Every stale answer has the note. The first of a compressed page comes
	// in identity encoding (no compression runs in a visitor's request);
	// the page in the asked encoding follows from the twin worker.
	stale := func(enc string) resp {
		r := e.get(t, "one.test", "/", "Accept-Encoding: "+enc)
		body := decode(t, r)
		if ce := r.header.Get("Content-Encoding"); r.status != 200 || r.header.Get("X-Statusedge-Stale") != "1" || (ce != enc && ce != "") {
			t.Fatalf("stale %q: %d %v", enc, r.status, r.header)
		}
		i := strings.Index(body, `<body class="page">`)
		if i < 0 || !strings.HasPrefix(body[i+len(`<body class="page">`):], `<div class="se-stale"`) || !strings.Contains(body, "Last updated at 2026-11-24 10:00 EST") {
			t.Fatalf("stale %q body lacks the note after <body>: %q", enc, body[:min(400, len(body))])
		}
		if !strings.Contains(body, marker("s1", 1, "", "/")) {
			t.Fatalf("stale body is not the last page")
		}
		return r
	}
	for _, enc := range []string{"", "gzip", "br"} {
		stale(enc)
		eventually(t, 5*time.Second, "the stale page in "+enc, func() bool { return stale(enc).header.Get("Content-Encoding") == enc })
	}
	j := e.get(t, "one.test", "/api/v2/summary.json")
	if j.status != 200 || j.header.Get("X-Statusedge-Stale") != "1" || strings.Contains(j.body, "se-stale") || !strings.Contains(j.body, "site=s1") {
		t.Fatalf("stale json: %d %v %q", j.status, j.header, j.body)
	}
	n := e.get(t, "one.test", "/uptime")
	if n.status != 503 || n.header.Get("Retry-After") == "" {
		t.Fatalf("never rendered, origin down: %d %q", n.status, n.body)
	}
}

// TestEdgeStartsWhileOriginDown: a new edge in a region whose origin is
// down routes with the registry its peers left in Redis and serves the
// pages Redis has.
func TestEdgeStartsWhileOriginDown(t *testing.T) {
	r := testenv.StartRedis(t)
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e1 := startEdge(t, o, func(c *Config) { c.RedisAddr = r.Addr() })
	eventually(t, 5*time.Second, "redis", func() bool { _, ok := e1.l2.up(); return ok })
	eventually(t, 5*time.Second, "registry in redis", func() bool {
		_, ok := e1.l2.getRegistry(e1.ctx)
		return ok
	})
	e1.get(t, "one.test", "/", "Accept-Encoding: gzip")
	eventually(t, 30*time.Second, "page in redis", func() bool {
		return e1.l2.getAll(e1.ctx, lastKey("s1", audPublic, "/", encBrotli))[0] != nil
	})
	o.Kill()
	e2 := startEdge(t, o, func(c *Config) { c.RedisAddr = r.Addr() })
	res := e2.get(t, "one.test", "/", "Accept-Encoding: gzip")
	if res.status != 200 || res.header.Get("X-Statusedge-Stale") != "" || !strings.Contains(decode(t, res), "site=s1") {
		t.Fatalf("new edge with the origin down: %d %v", res.status, res.header)
	}
}

// TestMidnightServesPreviousDay: when a site's day rolls over, visitors get
// the page's newest copy at once (no skeleton storm) while the new day's
// page renders in the background; once it has, they get the new day's.
func TestMidnightServesPreviousDay(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	sk, err := skeleton.New()
	if err != nil {
		t.Fatal(err)
	}
	e := startEdge(t, o, func(c *Config) {
		c.RenderBudget = time.Millisecond // any wait for a render would be a skeleton
		c.Shell = sk
		c.Now = func() time.Time { return time.Unix(0, now.Load()) }
	})
	eventually(t, 5*time.Second, "yesterday's page", func() bool {
		return e.get(t, "one.test", "/").header.Get("X-Statusedge-Skeleton") == ""
	})
	if n := o.renders.Load(); n != 1 {
		t.Fatalf("renders before midnight = %d, want 1", n)
	}
	release := o.Hold() // the new day's render is in flight while visitors come
	now.Add(int64(24 * time.Hour))
	for range 5 {
		r := e.get(t, "one.test", "/")
		if r.status != 200 || r.header.Get("X-Statusedge-Skeleton") != "" || r.header.Get("X-Statusedge-Stale") != "" ||
			!strings.Contains(r.body, marker("s1", 1, "", "/")) {
			t.Fatalf("after midnight: %d %v", r.status, r.header)
		}
	}
	if got := counter(e.m.previous); got != 5 {
		t.Fatalf("previous-copy serves = %v, want 5", got)
	}
	release()
	eventually(t, 5*time.Second, "the new day's page", func() bool {
		return e.l1.get([]byte(e.currentBase("one.test", "/")+"|identity")) != nil
	})
	if n := o.renders.Load(); n != 2 {
		t.Fatalf("renders = %d, want 2 (one per day, coalesced)", n)
	}
	before := counter(e.m.previous)
	if r := e.get(t, "one.test", "/"); r.status != 200 || counter(e.m.previous) != before {
		t.Fatalf("the new day's page is not served as itself: %d, previous %v → %v", r.status, before, counter(e.m.previous))
	}
}
