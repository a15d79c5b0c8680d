package edge

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// TestRenderAheadKeepsServingOldVersion: after a change, visitors keep
// getting the previous version from memory (no skeleton, no wait) until
// the new version's hot paths are rendered, then switch, and the version
// they see never goes backwards.
func TestRenderAheadKeepsServingOldVersion(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.RenderBudget = 20 * time.Millisecond })
	if r := e.get(t, "one.test", "/"); !strings.Contains(r.body, marker("s1", 1, "", "/")) {
		t.Fatalf("warm: %q", r.body)
	}
	o.SetDelay(400 * time.Millisecond)
	v2 := o.Bump("s1") // the versions long poll tells the edge
	eventually(t, 5*time.Second, "edge knows v2", func() bool {
		return e.table.Load().byID["s1"].known.Load() == v2
	})
	var last uint64
	sawOld := false
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.get(t, "one.test", "/")
		if r.header.Get("X-Statusedge-Skeleton") != "" || r.status != 200 {
			t.Fatalf("visitor got a skeleton or %d during render-ahead", r.status)
		}
		v, _ := strconv.ParseUint(r.header.Get("X-Statusedge-Version"), 10, 64)
		if v < last {
			t.Fatalf("version went back from %d to %d", last, v)
		}
		last = v
		if v == 1 {
			sawOld = true
		}
		if v == v2 {
			if !strings.Contains(r.body, marker("s1", v2, "", "/")) {
				t.Fatalf("v%d body: %q", v2, r.body[:200])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never switched to v2")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawOld {
		t.Fatal("the old version was not served while the new one rendered")
	}
	for range 20 {
		r := e.get(t, "one.test", "/")
		if v, _ := strconv.ParseUint(r.header.Get("X-Statusedge-Version"), 10, 64); v != v2 {
			t.Fatalf("after switching, got version %d", v)
		}
	}
	// The hot JSON and feeds were rendered ahead too: no render on request.
	before := o.renders.Load()
	for _, p := range hotPaths {
		if r := e.get(t, "one.test", p); r.status != 200 || r.header.Get("X-Statusedge-Version") != strconv.FormatUint(v2, 10) {
			t.Fatalf("%s after render-ahead: %d version %s", p, r.status, r.header.Get("X-Statusedge-Version"))
		}
	}
	if o.renders.Load() != before {
		t.Fatal("hot paths rendered again after render-ahead")
	}
}

// TestInvalidateAndFailedRenderAhead: Invalidate (the gossip hook) raises
// the known version; while the origin cannot render it the edge stays on
// the old one; older or unknown invalidations are ignored.
func TestInvalidateAndFailedRenderAhead(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.VersionsWait = -1; c.RenderAheadRetry = 100 * time.Millisecond })
	e.get(t, "one.test", "/")
	st := e.table.Load().byID["s1"]
	o.fail.Store(true)
	v2 := o.Bump("s1")
	e.Invalidate("s1", v2)
	e.Invalidate("s1", 1) // older: ignored
	e.Invalidate("nosuchsite", 99)
	if st.known.Load() != v2 {
		t.Fatalf("known = %d, want %d", st.known.Load(), v2)
	}
	eventually(t, 5*time.Second, "render-ahead attempt", func() bool { return counter(e.m.renderErrs) > 0 })
	if r := e.get(t, "one.test", "/"); r.header.Get("X-Statusedge-Version") != "1" || r.status != 200 {
		t.Fatalf("during failing render-ahead: %d v%s", r.status, r.header.Get("X-Statusedge-Version"))
	}
	o.fail.Store(false)
	e.Invalidate("s1", v2) // no-op for the version, but the sweep retries anyway
	eventually(t, 15*time.Second, "switch after the origin recovers", func() bool {
		return e.get(t, "one.test", "/").header.Get("X-Statusedge-Version") == strconv.FormatUint(v2, 10)
	})
}

// TestRegistryFollowsNewSites: a site added at the origin is routed once the
// versions stream reports the change.
func TestRegistryFollowsNewSites(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o)
	if r := e.get(t, "two.test", "/"); r.status != 404 {
		t.Fatalf("before: %d", r.status)
	}
	o.AddSite(testSite("s2", "Two.Test", content.Public))
	eventually(t, 5*time.Second, "new site routed", func() bool {
		return e.get(t, "two.test", "/").status == 200
	})
}
