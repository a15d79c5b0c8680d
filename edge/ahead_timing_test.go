package edge

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// BenchmarkRenderAheadFanOut measures the review's case on a real origin
// and edge: a site with MaxAudiences (100) audiences, every one seen on the
// edge, changes; right after, another tenant's public site changes. It
// reports the renders the first change cost the edge (renders/op; the
// review: 4 hot paths × every audience) and how long the other tenant's
// change took to show there (other-ms; the review: 0.1 s → 50 s). The
// uncapped row lifts RenderAheadPerSite, for comparison (every seen
// audience's four hot paths, sites still taking turns).
//
//	go test ./edge -run '^$' -bench RenderAheadFanOut -benchtime 5x
func BenchmarkRenderAheadFanOut(b *testing.B) {
	for _, bc := range []struct {
		name    string
		perSite int
	}{{"default", 0}, {"uncapped", 1 << 20}} {
		b.Run(bc.name, func(b *testing.B) { benchFanOut(b, bc.perSite) })
	}
}

func benchFanOut(b *testing.B, perSite int) {
	hash := mustHash("pw-a")
	big := audienceTenant("bigtenant001", "big.test", 100, hash)
	other := tenant("othertenant1", "other.test", content.Public)
	n, url, _ := realOrigin(b, big, other)
	e := realEdge(b, url, func(c *Config) { c.RenderAheadPerSite = perSite })
	now := time.Now()
	for _, a := range big.Audiences {
		v, err := e.signer.Sign(Session{SiteID: big.ID, Audience: a.ID, Method: "password", Subject: passwordTag(hash), Expires: now.Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		if r := e.get(b, "big.test", "/", "Cookie: "+SessionCookie+"="+v); r.status != 200 {
			b.Fatalf("audience %s: %d", a.ID, r.status)
		}
	}
	if r := e.get(b, "other.test", "/"); r.status != 200 {
		b.Fatalf("other: %d", r.status)
	}
	ctx := context.Background()
	var renders float64
	var otherTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		before := counter(e.m.aheadRenders)
		big.Name = fmt.Sprintf("Big %d", i)
		sb, err := n.ImportSite(ctx, big)
		if err != nil {
			b.Fatal(err)
		}
		other.Name = fmt.Sprintf("Other %d", i)
		start := time.Now()
		if _, err := n.ImportSite(ctx, other); err != nil {
			b.Fatal(err)
		}
		for !strings.Contains(e.get(b, "other.test", "/").body, other.Name) {
			time.Sleep(5 * time.Millisecond)
		}
		otherTime += time.Since(start)
		for e.table.Load().byID[big.ID].current.Load() < sb.Version {
			time.Sleep(5 * time.Millisecond)
		}
		renders += counter(e.m.aheadRenders) - before
	}
	b.ReportMetric(renders/float64(b.N), "renders/op")
	b.ReportMetric(float64(otherTime.Milliseconds())/float64(b.N), "other-ms")
}
