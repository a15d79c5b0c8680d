package render

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// benchSite builds a site with n components (in groups of 10, all showcase),
// 90 days of status history with a blip every few days per component, and
// 20 incidents (2 active) of 3 updates each.
func benchSite(n int) *content.Site {
	now := demoNow
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	created := now.AddDate(0, 0, -120)
	s := &content.Site{ID: "bench" + strconv.Itoa(n), Name: "Bench", URL: "https://status.bench.test",
		TimeZone: "Europe/Berlin", Visibility: content.Public, CreatedAt: created, UpdatedAt: now}
	loc := s.Location()
	var gid string
	var leaves []*content.Component
	for i := 0; i < n; i++ {
		if i%10 == 0 {
			gid = fmt.Sprintf("group%05d", i/10)
			s.Components = append(s.Components, &content.Component{ID: gid, Name: "Group " + strconv.Itoa(i/10),
				Group: true, Status: content.Operational, Position: len(s.Components), CreatedAt: created, UpdatedAt: created})
		}
		g := gid
		desc := "Component number " + strconv.Itoa(i)
		c := &content.Component{ID: fmt.Sprintf("comp%07d", i), Name: "Service " + strconv.Itoa(i), Description: &desc,
			GroupID: &g, Status: content.Operational, Showcase: true, Position: len(s.Components), CreatedAt: created, UpdatedAt: created}
		s.Components = append(s.Components, c)
		leaves = append(leaves, c)
		s.History.Track(c.ID, created, content.Operational)
		for at := now.AddDate(0, 0, -95); ; {
			at = at.Add(time.Duration(24+rng.IntN(24*8)) * time.Hour)
			if at.After(now.Add(-24 * time.Hour)) {
				break
			}
			st := []content.ComponentStatus{content.DegradedPerformance, content.PartialOutage, content.MajorOutage}[rng.IntN(3)]
			s.History.Record(c.ID, at, st, "api", loc)
			s.History.Record(c.ID, at.Add(time.Duration(5+rng.IntN(120))*time.Minute), content.Operational, "api", loc)
		}
	}
	for i := 0; i < 20; i++ {
		start := now.Add(-time.Duration(i*100+1) * time.Hour)
		c := leaves[rng.IntN(len(leaves))]
		in := &content.Incident{ID: fmt.Sprintf("inc%05d", i), Name: "Incident " + strconv.Itoa(i) + " on " + c.Name,
			Status: content.Resolved, Impact: content.ImpactMinor, CreatedAt: start, StartedAt: start, ComponentIDs: []string{c.ID}}
		for j, st := range []content.IncidentStatus{content.Investigating, content.Identified, content.Resolved} {
			at := start.Add(time.Duration(j*20) * time.Minute)
			in.Updates = append(in.Updates, &content.Update{ID: fmt.Sprintf("upd%05d%d", i, j), Status: string(st),
				Body:      "We are **looking** at `errors` on " + c.Name + ".\n\n- one\n- two\n\nSee [details](https://example.com/x).",
				CreatedAt: at, UpdatedAt: at, DisplayAt: at})
			in.UpdatedAt = at
		}
		if i < 2 {
			in.Status = content.Identified
			in.Updates = in.Updates[:2]
			c.Status = content.PartialOutage
		} else {
			r := in.UpdatedAt
			in.ResolvedAt = &r
		}
		s.Incidents = append(s.Incidents, in)
	}
	return s
}

func BenchmarkRender(b *testing.B) {
	r := newRenderer(b)
	for _, n := range []int{10, 100, 1000} {
		s := benchSite(n)
		for _, p := range []struct{ name, path string }{
			{"index", "/"}, {"summary.json", "/api/v2/summary.json"}, {"uptime.json", "/api/statusedge/uptime.json"},
			{"history", "/history"}, {"uptime", "/uptime"}, {"atom", "/history.atom"},
		} {
			path := p.path
			b.Run(fmt.Sprintf("components=%d/%s", n, p.name), func(b *testing.B) {
				b.ReportAllocs()
				var size int
				cpu0 := processCPU()
				for b.Loop() {
					body, _, err := r.Render(s, "", path, demoNow)
					if err != nil {
						b.Fatal(err)
					}
					size = len(body)
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(size), "bytes/page")
			})
		}
	}
}

// processCPU is the CPU time (user + system) this process has used, in ns.
// With -cpu 1 it is the render's own cost (GC included) even when other
// processes load the machine, where ns/op (wall time) is not.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
