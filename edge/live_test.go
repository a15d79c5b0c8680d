package edge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// countingOrigin counts the renders the edge asks the real origin for.
type countingOrigin struct {
	Origin
	renders atomic.Int64
}

func (o *countingOrigin) Render(ctx context.Context, r RenderRequest) (Rendered, error) {
	o.renders.Add(1)
	return o.Origin.Render(ctx, r)
}

// liveClock is a fixed clock for an edge serving the demo site, 5 s into a
// minute: within 10 minutes of the real one (the origin renders within
// that of its own clock) and clear of the site's midnight for them.
func liveClock() time.Time {
	base := time.Now().Truncate(time.Minute).Add(5 * time.Second)
	if loc := demo.Site(base).Location(); content.DayNumber(base, loc) != content.DayNumber(base.Add(9*time.Minute), loc) {
		base = base.Add(-10 * time.Minute)
	}
	return base
}

// While something on a site is not operational its pages are right at
// read time within a minute (as of, time down, uptime) though nothing was
// written: the edge keys them by the minute, and renders the next minute's
// hot paths ahead. An all-operational site keeps one page a day.
func TestLiveSitePagesFollowTheClock(t *testing.T) {
	base := liveClock()
	live := demo.Site(base.Add(-time.Hour)) // the API in a partial outage
	quiet := demo.Operational(base.Add(-time.Hour))
	quiet.ID, quiet.Slug, quiet.Hostnames = "quietsite001", "quiet", []string{"quiet.test"}
	_, url, _ := realOrigin(t, live, quiet)
	o := &countingOrigin{Origin: NewHTTPOrigin(url, testSecret, nil)}
	var skew atomic.Int64
	e := realEdge(t, url, func(cfg *Config) {
		cfg.Origin, cfg.RenderBudget = o, 5*time.Second
		cfg.Now = func() time.Time { return base.Add(time.Duration(skew.Load())) }
	})
	loc := live.Location()
	asOf := func(at time.Time) string {
		return ">" + at.Truncate(time.Minute).In(loc).Format("Jan 2, 2006 15:04 MST") + "<"
	}
	page := func(host string, at time.Duration) string {
		t.Helper()
		skew.Store(int64(at))
		r := e.get(t, host, "/")
		if r.status != 200 {
			t.Fatalf("%s at +%s: %d", host, at, r.status)
		}
		return r.body
	}
	rendersOf := func(f func()) int64 {
		n := o.renders.Load()
		f()
		return o.renders.Load() - n
	}

	var first, sameMinute, later string
	rendersOf(func() { first = page(demo.Hostname, 0) })
	if n := rendersOf(func() { sameMinute = page(demo.Hostname, 40*time.Second) }); n != 0 || sameMinute != first {
		t.Fatalf("same minute: %d renders, same bytes %v", n, sameMinute == first)
	}
	// A new minute's first visitor may get the previous minute's page while
	// the new one renders (as at midnight); the next gets the new one.
	if n := rendersOf(func() {
		eventually(t, 10*time.Second, "the new minute's page", func() bool {
			later = page(demo.Hostname, 2*time.Minute)
			return strings.Contains(later, asOf(base.Add(2*time.Minute)))
		})
	}); n != 1 {
		t.Fatalf("two minutes later: %d renders, want 1", n)
	}
	if !strings.Contains(first, asOf(base)) {
		t.Fatalf("as of: want %s then %s", asOf(base), asOf(base.Add(2*time.Minute)))
	}
	if first == later {
		t.Fatal("the live page did not move with the clock")
	}
	// Rendered ahead for the next minute: its first visitor causes no render.
	st := e.table.Load().byID[live.ID]
	next := base.Truncate(time.Minute).Add(3 * time.Minute)
	e.renderMinute(st, st.serveVersion(), next)
	var ahead string
	if n := rendersOf(func() { ahead = page(demo.Hostname, next.Sub(base)+time.Second) }); n != 0 || !strings.Contains(ahead, asOf(next)) {
		t.Fatalf("the minute rendered ahead: %d renders on its first visit, as of %s in it: %v", n, asOf(next), strings.Contains(ahead, asOf(next)))
	}

	// All operational: one page for the whole day, keyed as always.
	q0 := page("quiet.test", 0)
	if n := rendersOf(func() {
		for _, at := range []time.Duration{time.Minute, 5 * time.Minute, 9 * time.Minute} {
			if page("quiet.test", at) != q0 {
				t.Fatalf("the all-operational page changed at +%s", at)
			}
		}
	}); n != 0 {
		t.Fatalf("the all-operational page rendered %d times more within the day", n)
	}
	qs := e.table.Load().byID[quiet.ID]
	if key := string(appendMinuteKey(nil, qs.id, qs.serveVersion(), audPublic, qs.today(base), qs.minute(qs.serveVersion(), base), []byte("/"))); strings.Contains(key, "@") {
		t.Fatalf("an all-operational site's key has a minute: %s", key)
	}
}

// failOnceOrigin fails the first render of path for a version newer than
// after (once after is set) when armed, and counts the renders of such
// versions (newer): a render of an older version still in flight is
// neither failed nor counted.
type failOnceOrigin struct {
	countingOrigin
	path  string
	armed atomic.Bool
	after atomic.Uint64
	newer atomic.Int64
}

func (o *failOnceOrigin) Render(ctx context.Context, r RenderRequest) (Rendered, error) {
	if after := o.after.Load(); after != 0 && r.MinVersion > after {
		o.newer.Add(1)
		if r.Path == o.path && o.armed.CompareAndSwap(true, false) {
			o.renders.Add(1)
			return Rendered{}, fmt.Errorf("%w: failed once by the test", ErrUnavailable)
		}
	}
	return o.countingOrigin.Render(ctx, r)
}

// A render-ahead that fails on one hot path is retried by the sweep; for a
// live site (its pages keyed by the minute) the retry renders only what
// failed, not again the paths it already has.
func TestLiveRenderAheadRetryRendersOnlyWhatFailed(t *testing.T) {
	base := liveClock()
	live := demo.Site(base.Add(-time.Hour)) // the API in a partial outage
	n, url, _ := realOrigin(t, live)
	o := &failOnceOrigin{countingOrigin: countingOrigin{Origin: NewHTTPOrigin(url, testSecret, nil)}, path: hotPaths[2]}
	e := realEdge(t, url, func(cfg *Config) {
		cfg.Origin, cfg.RenderAheadRetry, cfg.MinuteLead = o, 100*time.Millisecond, -1
		cfg.Now = func() time.Time { return base } // one minute throughout
	})
	r := e.get(t, demo.Hostname, "/")
	v1, err := strconv.ParseUint(r.header.Get("X-Statusedge-Version"), 10, 64)
	if r.status != 200 || err != nil {
		t.Fatalf("first page: %d, version %q", r.status, r.header.Get("X-Statusedge-Version"))
	}
	o.after.Store(v1) // renders of v1 still in flight (a loaded machine) count for nothing
	o.armed.Store(true)
	changed := demo.Site(base.Add(-time.Hour))
	changed.Name = "Acme Cloud Renamed"
	s2, err := n.ImportSite(context.Background(), changed)
	if err != nil {
		t.Fatal(err)
	}
	v2 := strconv.FormatUint(s2.Version, 10)
	eventually(t, 20*time.Second, "the new version served", func() bool {
		r := e.get(t, demo.Hostname, "/")
		return r.header.Get("X-Statusedge-Version") == v2 && strings.Contains(r.body, "Acme Cloud Renamed")
	})
	if o.armed.Load() {
		t.Fatal("no render of " + o.path + " failed")
	}
	if got, want := o.newer.Load(), int64(len(hotPaths)+1); got != want {
		t.Fatalf("%d renders for the new version, want %d (each hot path once, and the one that failed)", got, want)
	}
}
