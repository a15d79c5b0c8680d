package edge

import (
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/internal/testenv"
)

// allMarked reports whether every stale case on host is served marked.
func allMarked(t testing.TB, e *testEdge, host string) bool {
	for _, c := range staleCases {
		var hs []string
		if c.ae != "" {
			hs = append(hs, "Accept-Encoding: "+c.ae)
		}
		r := e.get(t, host, c.path, hs...)
		if r.header.Get("X-Statusedge-Stale") != "1" || (c.path == "/" && !strings.Contains(decoded(t, r), "may be out of date")) {
			return false
		}
	}
	return true
}

// BenchmarkTimeToStaleAfterOriginOutage measures, with the default
// settings (StaleAfter 5 s, versions long poll 30 s), the time from every
// origin replica going away (killed) to every page the edge serves from L1
// being marked stale. Goal: at most one versions-poll interval (30 s).
//
//	go test ./edge -run '^$' -bench TimeToStale -benchtime 3x
func BenchmarkTimeToStaleAfterOriginOutage(b *testing.B) {
	var total time.Duration
	for range b.N {
		o := startOrigin(b, testSite("pub", "pub.test", content.Public))
		e := startEdge(b, o, func(c *Config) { c.VersionsWait = DefaultVersionsWait })
		warm(b, e, "pub.test")
		start := time.Now()
		o.Kill()
		for !allMarked(b, e, "pub.test") {
			if time.Since(start) > time.Minute {
				b.Fatal("pages not marked stale after a minute")
			}
			time.Sleep(10 * time.Millisecond)
		}
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-to-stale")
}

// BenchmarkPartitionedEdgeCatchUp measures the time from a healed
// partition between an edge and its origin (a cut TCP link; the origin
// took a write meanwhile) to the edge serving the new version. Goal: 2 s.
//
//	go test ./edge -run '^$' -bench PartitionedEdgeCatchUp -benchtime 3x
func BenchmarkPartitionedEdgeCatchUp(b *testing.B) {
	var total time.Duration
	for range b.N {
		o := startOrigin(b, testSite("pub", "pub.test", content.Public))
		link := testenv.StartLink(b, strings.TrimPrefix(o.url, "http://"))
		e := startEdge(b, o, func(c *Config) {
			c.VersionsWait = DefaultVersionsWait
			c.Origin = NewHTTPOrigin("http://"+link.Addr(), testSecret, nil)
		})
		warm(b, e, "pub.test")
		link.Cut()
		v := o.Bump("pub")
		time.Sleep(8 * time.Second) // long enough for every retry backoff to reach its bound
		start := time.Now()
		link.Heal()
		for e.get(b, "pub.test", "/").header.Get("X-Statusedge-Version") != itoa(v) {
			if time.Since(start) > time.Minute {
				b.Fatal("the edge did not catch up in a minute")
			}
			time.Sleep(10 * time.Millisecond)
		}
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-to-catch-up")
}
