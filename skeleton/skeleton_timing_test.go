package skeleton_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/skeleton"
)

// navTimes are a page load's milestones, in ms since navigation start.
type navTimes struct {
	FCP      float64 `json:"fcp"`      // first contentful paint
	Complete float64 `json:"complete"` // the page shows the live status
}

// BenchmarkTimeToComplete loads the demo page in headless Chromium, from a
// loopback server that holds every response pre-rendered (the edge's cache),
// and reports the time from navigation start to first contentful paint and to
// a complete page: for the skeleton, when the script has filled in the JSON
// (performance mark "skeleton-complete"); for the full page, at
// DOMContentLoaded. Variants add a delay to every response (rtt50: 50 ms, a
// far visitor) and to the full page only (slow-origin: the render takes
// 500 ms, the case where the edge sends the skeleton).
func BenchmarkTimeToComplete(b *testing.B) {
	now := demoNow()
	const (
		skeletonDone = `performance.getEntriesByName("skeleton-complete")[0].startTime`
		fullDone     = `performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd`
	)
	for _, bc := range []struct {
		name, path, complete string
		every, full          time.Duration
	}{
		{"skeleton/cached", "/", skeletonDone, 0, 0},
		{"full/cached", "/?full", fullDone, 0, 0},
		{"skeleton/rtt50", "/", skeletonDone, 50 * time.Millisecond, 0},
		{"full/rtt50", "/?full", fullDone, 50 * time.Millisecond, 0},
		{"full/slow-origin", "/?full", fullDone, 0, 500 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := newOrigin(b, demo.Site(now), now, released(), withCache(), withDelay(bc.every, bc.full))
			tab := browser.Tab(b)
			var fcp, complete float64
			n := 0
			for b.Loop() {
				run(b, tab, "navigate", chromedp.Navigate(o.URL+bc.path))
				if bc.path == "/" {
					run(b, tab, "wait for completion", chromedp.Poll[bool](completeJS, chromedp.WithPollingTimeout(stepTimeout)))
				}
				t := eval[navTimes](b, tab, `new Promise(r => new PerformanceObserver((l, obs) => {
				  const e = l.getEntries().find(e => e.name === "first-contentful-paint");
				  if (e) { obs.disconnect(); r({fcp: e.startTime, complete: `+bc.complete+`}); }
				}).observe({type: "paint", buffered: true}))`)
				fcp += t.FCP
				complete += t.Complete
				n++
			}
			b.ReportMetric(fcp/float64(n), "ms-fcp")
			b.ReportMetric(complete/float64(n), "ms-complete")
		})
	}
}

// BenchmarkShell is the cost of building a shell (the edge does it when the
// origin is slow, unless it caches it by site version and audience).
func BenchmarkShell(b *testing.B) {
	sk, err := skeleton.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		entry content.RegistryEntry
	}{{"demo", demo.Site(demoNow()).Entry()}, {"2000-components", bigLayout(40, 50)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = sk.Shell(bc.entry, "")
			}
		})
	}
}
