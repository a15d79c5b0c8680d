package edge

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/internal/testenv"
	"github.com/statusedge/statusedge/origin"
	"github.com/statusedge/statusedge/origin/render"
	"github.com/statusedge/statusedge/skeleton"
)

// realOrigin starts one real origin replica (raft on disk in a temp dir,
// the real renderer) serving its APIs on loopback, seeded with sites.
func realOrigin(tb testing.TB, sites ...*content.Site) (*origin.Node, string, func()) {
	tb.Helper()
	r, err := render.New()
	if err != nil {
		tb.Fatalf("render.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := origin.DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.RaftAddr = "o1", tb.TempDir(), "127.0.0.1:0"
	cfg.APIAddr, cfg.Bootstrap = "http://"+ln.Addr().String(), true
	cfg.OperatorToken, cfg.ClusterSecret = "operator-token-for-tests", testSecret
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	cfg.Renderer = r
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "origin", Level: hclog.Error, Output: io.Discard})
	n, err := origin.Open(cfg)
	if err != nil {
		tb.Fatalf("origin.Open: %v", err)
	}
	srv := &http.Server{Handler: n.Handler()}
	go func() { _ = srv.Serve(ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}
	tb.Cleanup(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eventually(tb, 20*time.Second, "origin leader", n.IsLeader)
	for _, s := range sites {
		if _, err := n.ImportSite(ctx, s); err != nil {
			tb.Fatalf("ImportSite %s: %v", s.ID, err)
		}
	}
	return n, "http://" + ln.Addr().String(), stop
}

// TestRealOrigin runs the edge against a real origin replica and renderer:
// the demo page (all encodings, layering through Redis), a private site,
// a change propagating through the versions stream with render-ahead, and
// the origin going away (stale with the note).
func TestRealOrigin(t *testing.T) {
	red := testenv.StartRedis(t)
	now := time.Now()
	d := demo.Site(now)
	priv := testSite("privsite0001", "private.test", content.Private)
	priv.Slug = "priv"
	n, url, stopOrigin := realOrigin(t, d, priv)
	sk, err := skeleton.New()
	if err != nil {
		t.Fatal(err)
	}
	var skew atomic.Int64
	e := realEdge(t, url, func(cfg *Config) {
		cfg.RedisAddr, cfg.Shell = red.Addr(), sk
		cfg.Now = func() time.Time { return now.Add(time.Duration(skew.Load())) } // a fixed clock: the demo site is live, its pages hold one minute
	})

	var first resp
	for _, enc := range []string{"", "gzip", "br"} {
		r := e.get(t, demo.Hostname, "/", "Accept-Encoding: "+enc)
		body := decode(t, r)
		if r.status != 200 || !strings.Contains(body, "Acme Cloud") || r.header.Get("Content-Encoding") != enc {
			t.Fatalf("demo page (%q): %d %q", enc, r.status, body[:min(300, len(body))])
		}
		if enc == "" {
			first = r
		}
	}
	for _, p := range []string{"/api/v2/summary.json", "/history.atom", "/uptime", "/history?page=2"} {
		if r := e.get(t, demo.Hostname, p); r.status != 200 {
			t.Fatalf("%s: %d %q", p, r.status, r.body)
		}
	}
	if r := e.get(t, demo.Hostname, "/incidents/nosuchincident"); r.status != 404 {
		t.Fatalf("unknown incident: %d", r.status)
	}
	if r := e.get(t, "private.test", "/"); r.status != 401 {
		t.Fatalf("private without session: %d", r.status)
	}
	c, _ := login(t, e, "private.test", "pw-private", "/")
	if r := e.get(t, "private.test", "/", "Cookie: "+c); r.status != 200 || !strings.Contains(r.body, "Site privsite0001") {
		t.Fatalf("private with session: %d", r.status)
	}

	// A change at the origin reaches visitors through the versions stream.
	changed := demo.Site(now)
	changed.Name = "Acme Cloud Renamed"
	s2, err := n.ImportSite(context.Background(), changed)
	if err != nil {
		t.Fatal(err)
	}
	v2 := strconv.FormatUint(s2.Version, 10)
	eventually(t, 10*time.Second, "the new version served", func() bool {
		r := e.get(t, demo.Hostname, "/")
		return r.header.Get("X-Statusedge-Version") == v2 && strings.Contains(r.body, "Acme Cloud Renamed")
	})
	if first.header.Get("X-Statusedge-Version") == v2 {
		t.Fatal("version did not change")
	}

	// Redis is written behind the visitor: wait for the page's encodings
	// and its newest copies there before the origin goes.
	eventually(t, 30*time.Second, "the renamed page in redis", func() bool {
		k := []byte(e.currentBase(demo.Hostname, "/"))
		got := e.l2.getAll(e.ctx, appendEnc(bytes.Clone(k), encIdentity), appendEnc(bytes.Clone(k), encGzip), appendEnc(bytes.Clone(k), encBrotli),
			lastKey(d.ID, audPublic, "/", encIdentity), lastKey(d.ID, audPublic, "/", encBrotli))
		for _, v := range got {
			if v == nil || v.version < s2.Version {
				return false
			}
		}
		return true
	})
	// The origin goes away: cold keys fall back to the newest copy, marked.
	stopOrigin()
	e.l1.c.Clear() // the "last" copies come back from Redis
	r := e.get(t, demo.Hostname, "/")
	if r.status != 200 || r.header.Get("X-Statusedge-Stale") != "" || !strings.Contains(r.body, "Acme Cloud Renamed") {
		t.Fatalf("after origin stop, warm key (from Redis): %d %v", r.status, r.header)
	}
	skew.Store(int64(24 * time.Hour)) // a new day: the current key is cold
	e.l1.c.Clear()
	r = e.get(t, demo.Hostname, "/", "Accept-Encoding: br")
	body := decode(t, r)
	if r.status != 200 || r.header.Get("X-Statusedge-Stale") != "1" || !strings.Contains(body, `class="se-stale"`) || !strings.Contains(body, "Acme Cloud Renamed") {
		t.Fatalf("stale demo page: %d %v", r.status, r.header)
	}
	r = e.get(t, demo.Hostname, "/uptime?page=3")
	if r.status != 503 {
		t.Fatalf("never-rendered page with the origin down: %d", r.status)
	}
}

// realEdge starts an edge in front of the origin at url, serving on
// loopback (budget 5 s, versions poll 2 s, no Redis unless tune sets it),
// stopped when the test ends, ready (registry loaded) when it returns.
func realEdge(tb testing.TB, url string, tune func(*Config)) *testEdge {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Origin = NewHTTPOrigin(url, testSecret, nil)
	cfg.SessionKey = testKey
	cfg.RenderBudget = 5 * time.Second
	cfg.VersionsWait = 2 * time.Second
	cfg.RedisTimeout = 10 * time.Second // a loaded machine: see startEdge
	// The demo site is live (an outage in progress), so its pages hold a
	// minute: no render ahead of each minute, which tests counting renders
	// would see at random (TestLiveSitePagesFollowTheClock calls it).
	cfg.MinuteLead = -1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if tune != nil {
		tune(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	if err := srv.WaitReady(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return &testEdge{Server: srv, addr: ln.Addr().String(), client: &http.Client{
		Transport: &http.Transport{DisableCompression: true}, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}
