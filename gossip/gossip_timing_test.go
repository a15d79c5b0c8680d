package gossip

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/statusedge/statusedge/gossip/gossiptest"
)

// benchCluster starts regions × (1 origin + edgesPerRegion edges) with the
// WAN profile (what production runs), every node's traffic through net with
// its region as group.
func benchCluster(b *testing.B, net *gossiptest.Network, regions []string, edgesPerRegion int, hook func(node string, site string, version uint64), extra ...nodeOpt) *cluster {
	b.Helper()
	c := &cluster{}
	for _, region := range regions {
		for i := range 1 + edgesPerRegion {
			role, name := RoleOrigin, "origin-"+region
			if i > 0 {
				role, name = RoleEdge, fmt.Sprintf("edge-%s-%d", region, i)
			}
			opts := []nodeOpt{withName(name), withRole(role), withRegion(region), withNetwork(net, 0),
				withConfig(func(c *Config) {
					c.Profile = ProfileWAN
					c.GossipInterval = 0 // DefaultGossipInterval
					c.ProbeInterval, c.ProbeTimeout, c.PushPullInterval = 0, 0, 0
				})}
			if len(c.all) > 0 {
				opts = append(opts, withSeeds(c.all[0]))
			}
			n := newTestNode(b, append(opts, extra...)...)
			if hook != nil {
				n.rec.onSite = func(site string, v uint64) { hook(name, site, v) }
			}
			c.all = append(c.all, n)
			if role == RoleOrigin {
				c.origins = append(c.origins, n)
			} else {
				c.edges = append(c.edges, n)
			}
		}
	}
	c.waitFormed(b, 30*time.Second)
	return c
}

// BenchmarkPropagation measures publish → every other node delivered, over
// at least 200 sequential publishes (each to its own site: a second change
// to one site within a gossip interval waits for the interval's trailing
// edge, by design), in a 9-node cluster (3 regions × 1
// origin + 2 edges), without and with 100 ms one-way latency between regions
// (gossiptest's delaying transport: packets are held 100 ms, streams wait
// 100 ms per dial and write). Run:
//
//	go test ./gossip -run '^$' -bench Propagation -benchtime 200x
//
// The fanout=off rows turn the direct send off (gossip only) to show why it
// is on: a node that every gossip round misses waits for anti-entropy.
func BenchmarkPropagation(b *testing.B) {
	for _, tc := range []struct {
		lat    time.Duration
		fanout int
	}{{0, 0}, {100 * time.Millisecond, 0}, {0, -1}, {100 * time.Millisecond, -1}} {
		lat := tc.lat
		mode := "on"
		if tc.fanout < 0 {
			mode = "off"
		}
		b.Run(fmt.Sprintf("interregion=%v/fanout=%s", lat, mode), func(b *testing.B) {
			type delivery struct {
				version uint64
				at      time.Time
			}
			ch := make(chan delivery, 4096)
			net := gossiptest.NewNetwork(7)
			c := benchCluster(b, net, []string{"eu", "us", "ap"}, 2, func(_, _ string, v uint64) {
				ch <- delivery{v, time.Now()}
			}, withConfig(func(c *Config) { c.Fanout = tc.fanout }))
			net.SetLatency(lat)
			pub := c.origins[0]
			others := len(c.all) - 1
			publishes := max(b.N, 200)
			var all, each []time.Duration
			var sentBefore uint64
			for _, n := range c.all {
				sentBefore += n.Metrics().InvalidatesSent
			}
			b.ResetTimer()
			for v := uint64(1); v <= uint64(publishes); v++ {
				start := time.Now()
				if err := pub.Publish(fmt.Sprintf("site-%d", v), v); err != nil {
					b.Fatal(err)
				}
				timeout := time.After(30 * time.Second)
				var last time.Duration
				for got := 0; got < others; {
					select {
					case d := <-ch:
						if d.version != v {
							continue
						}
						got++
						last = d.at.Sub(start)
						each = append(each, last)
					case <-timeout:
						b.Fatalf("publish %d: %d of %d nodes delivered in 30 s", v, got, others)
					}
				}
				all = append(all, last)
			}
			b.StopTimer()
			var sent uint64
			for _, n := range c.all {
				sent += n.Metrics().InvalidatesSent
			}
			slices.Sort(all)
			slices.Sort(each)
			b.ReportMetric(ms(pct(all, 50)), "p50-all-ms")
			b.ReportMetric(ms(pct(all, 99)), "p99-all-ms")
			b.ReportMetric(ms(all[len(all)-1]), "max-all-ms")
			b.ReportMetric(ms(pct(each, 50)), "p50-node-ms")
			b.ReportMetric(float64(sent-sentBefore)/float64(publishes), "msgs/publish")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkBurst publishes 100 versions of one site at 100 per second in
// the 9-node cluster and reports the invalidate messages it cost per node
// and the publishes PublishInterval coalesced away. Run:
//
//	go test ./gossip -run '^$' -bench Burst -benchtime 3x
func BenchmarkBurst(b *testing.B) {
	net := gossiptest.NewNetwork(8)
	c := benchCluster(b, net, []string{"eu", "us", "ap"}, 2, nil)
	pub := c.origins[0]
	var before uint64
	for _, n := range c.all {
		before += n.Metrics().InvalidatesSent
	}
	v := uint64(0)
	b.ResetTimer()
	for range b.N {
		tick := time.NewTicker(10 * time.Millisecond)
		for range 100 {
			v++
			if err := pub.Publish("acme", v); err != nil {
				b.Fatal(err)
			}
			<-tick.C
		}
		tick.Stop()
		eventually(b, 10*time.Second, func() error { return allDelivered(c.all, pub, map[string]uint64{"acme": v}) })
	}
	b.StopTimer()
	eventually(b, 10*time.Second, func() error {
		for _, n := range c.all {
			if q := n.queue.NumQueued(); q != 0 {
				return fmt.Errorf("%s has %d queued", n.Name(), q)
			}
		}
		return nil
	})
	var sent uint64
	for _, n := range c.all {
		sent += n.Metrics().InvalidatesSent
		n.rec.checkMonotonic(b)
	}
	b.ReportMetric(float64(sent-before)/float64(b.N)/float64(len(c.all)), "msgs/node/burst")
	b.ReportMetric(float64(pub.Metrics().PublishesCoalesced)/float64(b.N), "coalesced/burst")
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
