package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// BenchmarkCommit measures a write's commit latency (raft.Apply through
// commit and apply on the leader, with fsync'd bolt log) and throughput
// with 16 concurrent writers, for 1 and 3 replicas on loopback.
func BenchmarkCommit(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			c := newCluster(b, replicas, 0)
			f := newFixture(b, c)
			n := c.leader().n
			cmd := func(i int) *Command {
				// A small change, so the answer's size does not grow with the run.
				return &Command{Op: OpUpdateComponent, At: time.Now(), Site: f.site, ID: f.api,
					ComponentIn: &ComponentInput{Description: ptrTo(fmt.Sprintf("update %d", i))}}
			}
			ctx := context.Background()
			// Latency: one writer.
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := n.Propose(ctx, cmd(i)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			// Throughput: 16 writers, 2000 writes.
			const writers, total = 16, 2000
			var wg sync.WaitGroup
			t0 := time.Now()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < total; i += writers {
						if _, err := n.Propose(ctx, cmd(i)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(total/time.Since(t0).Seconds(), "writes/s")
		})
	}
}

// syntheticSite builds a site with comps components and days days of
// history: each component has an incident-like blip every few days.
func syntheticSite(id string, comps, days int, now time.Time, rng *rand.Rand) *content.Site {
	s := &content.Site{ID: id, Name: "Site " + id, Slug: id, Hostnames: []string{id + ".status.test"}, TimeZone: "America/New_York",
		Visibility: content.Public, CreatedAt: now.AddDate(0, 0, -days), UpdatedAt: now}
	loc := s.Location()
	start := now.AddDate(0, 0, -days)
	for i := range comps {
		c := &content.Component{ID: fmt.Sprintf("%sc%04d", id, i), Name: fmt.Sprintf("Component %d", i), Position: i,
			Status: content.Operational, Showcase: true, CreatedAt: start, UpdatedAt: start}
		s.Components = append(s.Components, c)
		s.History.Track(c.ID, start, content.Operational)
		for at := start.Add(time.Duration(rng.IntN(72)) * time.Hour); at.Before(now); at = at.Add(time.Duration(24+rng.IntN(24*6)) * time.Hour) {
			st := []content.ComponentStatus{content.DegradedPerformance, content.PartialOutage, content.MajorOutage}[rng.IntN(3)]
			s.History.Record(c.ID, at, st, "bench", loc)
			s.History.Record(c.ID, at.Add(time.Duration(5+rng.IntN(120))*time.Minute), content.Operational, "bench", loc)
		}
	}
	return s
}

// BenchmarkUptime1000Components90Days reads 90 days of uptime for every
// component of a 1,000-component site (what one page render needs).
func BenchmarkUptime1000Components90Days(b *testing.B) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s := syntheticSite("big", 1000, 90, now, rand.New(rand.NewPCG(1, 2)))
	loc := s.Location()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := content.NewWindow(now, 90, loc) // once per page, as the renderer does
		for _, c := range s.Components {
			s.History.UptimeIn(c.ID, w)
		}
	}
}

// BenchmarkSnapshot1000Sites measures a state of 1,000 sites × 50
// components with 90 days of history: its heap, its snapshot's size and
// encoding time (Persist), and the time to restore it (Restore), for the
// current format (v2: zstd JSON lines, decoded on every core) and the old
// one (v1: one JSON document), which still restores. One iteration is one
// restore.
func BenchmarkSnapshot1000Sites(b *testing.B) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	st := newState()
	for i := range 1000 {
		s := syntheticSite(fmt.Sprintf("s%04d", i), 50, 90, now, rng)
		s.Version = uint64(i + 1)
		st.Sites[s.ID] = s
	}
	st.Index, st.Changed = 1000, 1000
	st.reindex()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	heap := float64(m1.HeapAlloc-m0.HeapAlloc) / (1 << 20)

	f := newFSM()
	f.st = st
	snap, err := f.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []struct {
		name   string
		encode func(io.Writer, *state) error
	}{
		{"v2", encodeState},
		{"v1-json", func(w io.Writer, st *state) error { return json.NewEncoder(w).Encode(st) }},
	} {
		b.Run("format="+format.name, func(b *testing.B) {
			var buf bytes.Buffer
			t0 := time.Now()
			if err := format.encode(&buf, snap.(*fsmSnapshot).st); err != nil {
				b.Fatal(err)
			}
			persist := time.Since(t0)
			data := buf.Bytes()
			b.ResetTimer()
			for b.Loop() {
				g := newFSM()
				if err := g.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
					b.Fatal(err)
				}
				if len(g.st.Sites) != 1000 {
					b.Fatal("restore lost sites")
				}
			}
			b.ReportMetric(heap, "heap-MiB")
			b.ReportMetric(persist.Seconds()*1000, "persist-ms")
			b.ReportMetric(float64(buf.Len())/(1<<20), "snapshot-MiB")
		})
	}
}

// BenchmarkApplyAmongSites applies one small change (a component status) to
// one site of a state holding n sites: what a write costs the state machine
// as the number of sites grows. It should not grow with n.
func BenchmarkApplyAmongSites(b *testing.B) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			st := newState()
			for i := range n {
				s := syntheticSite(fmt.Sprintf("s%05d", i), 5, 1, now, rng)
				s.Hostnames = []string{s.ID + ".example.test"}
				st.Sites[s.ID] = s
				st.Tokens[s.ID] = HashToken("tok" + s.ID)
			}
			st.reindex()
			target := st.Sites["s00000"]
			var comp string
			for _, c := range target.Components {
				if !c.Group {
					comp = c.ID
					break
				}
			}
			statuses := []content.ComponentStatus{content.DegradedPerformance, content.Operational}
			idx := uint64(n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				idx++
				res := st.apply(idx, &Command{Op: OpUpdateComponent, At: now.Add(time.Duration(i) * time.Second), Site: target.ID, ID: comp,
					ComponentIn: &ComponentInput{Status: &statuses[i%2]}})
				if res.Err != nil {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
