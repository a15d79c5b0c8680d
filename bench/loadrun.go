package bench

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LoadRun is one open-loop load of a scenario with what the edges counted
// meanwhile and what happened during it.
type LoadRun struct {
	Load OpenResult `json:"load"`
	// Edges are the differences of each edge's /metrics over the load;
	// Before and After the counters themselves.
	Edges  []EdgeCounts `json:"edges"`
	Before []EdgeCounts `json:"edges_before"`
	After  []EdgeCounts `json:"edges_after"`
	// Marks are the events during the load (an update published, the
	// origin stopped …), from the load's start.
	Marks []Mark `json:"marks,omitempty"`
}

// Mark is an event during a load.
type Mark struct {
	At    time.Duration `json:"at_ns"`
	Label string        `json:"label"`
}

// Check is a goal of the scenario and whether this run met it.
type Check struct {
	Goal string `json:"goal"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// slug names a run's files.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func ms(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

func (r LoadRun) markdown(b *strings.Builder) {
	l := r.Load
	fmt.Fprintf(b, "\n## %s\n\n", l.Name)
	rate := fmt.Sprintf("%d/s for %s", l.Rate, l.Duration.Round(100*time.Millisecond))
	if l.Burst > 0 {
		rate = fmt.Sprintf("%d at once", l.Burst)
	}
	b.WriteString("| offered | requests | throughput (ok/s) | p50 | p90 | p99 | p99.9 | max | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(b, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %d |\n", rate, l.Requests, l.Throughput,
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), l.ErrorCount())
	if len(l.Errors) > 0 {
		fmt.Fprintf(b, "\nErrors by kind: %s\n", counts(l.Errors))
	}
	if len(l.Served) > 0 {
		fmt.Fprintf(b, "\nAnswers by X-Statusedge-Cache, as visitors saw them: %s; marked stale (X-Statusedge-Stale): %d\n", counts(l.Served), l.MarkedStale)
	}
	if len(l.Classes) > 1 {
		b.WriteString("\n| class | requests | errors | p50 | p99 | max |\n|---|---:|---:|---:|---:|---:|\n")
		for _, c := range l.Classes {
			fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s |\n", c.Class, c.Requests, c.Errors, ms(c.P50), ms(c.P99), ms(c.Max))
		}
	}
	if len(r.Edges) > 0 {
		b.WriteString("\nFrom each edge's /metrics, after minus before:\n\n| edge | answers | hits l1 | hits l2 | hits origin | origin renders | render errors | coalesced | previous copy | skeleton | stale | redis errors | render-ahead switches |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, e := range r.Edges {
			fmt.Fprintf(b, "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", e.Edge, e.Visitors(),
				e.Hits["l1"], e.Hits["l2"], e.Hits["origin"], e.Renders, e.RenderErrors, e.Coalesced, e.Previous, e.Skeletons, e.Stales, e.RedisErrors, e.RenderAheadSwaps)
		}
	}
	if len(r.Marks) > 0 {
		n := map[string]uint64{}
		for _, m := range r.Marks {
			n[m.Label]++
		}
		fmt.Fprintf(b, "\nEvents during the load (marked on the plot): %s\n", counts(n))
	}
	s := slug(l.Name)
	fmt.Fprintf(b, "\n![latency over time](%s-latency.png)\n![latency histogram](%s-histogram.png)\n", s, s)
}

// counts lists "name n" by name.
func counts(m map[string]uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// writeFiles writes the run's plots and vegeta's HDR histogram text.
func (r LoadRun) writeFiles(dir string) ([]string, error) {
	s := slug(r.Load.Name)
	var files []string
	p := filepath.Join(dir, s+"-latency.png")
	if err := r.plotOverTime(p); err != nil {
		return files, err
	}
	files = append(files, p)
	p = filepath.Join(dir, s+"-histogram.png")
	if err := r.plotHistogram(p); err != nil {
		return files, err
	}
	files = append(files, p)
	if len(r.Load.hdr) > 0 {
		p = filepath.Join(dir, s+"-hdr.txt")
		if err := os.WriteFile(p, r.Load.hdr, 0o644); err != nil {
			return files, fmt.Errorf("bench: %w", err)
		}
		files = append(files, p)
	}
	return files, nil
}

func (r LoadRun) plotOverTime(path string) error {
	p := plot.New()
	p.Title.Text = r.Load.Name + ": latency over time (bins of " + r.Load.SeriesBin.String() + ")"
	p.X.Label.Text = "seconds"
	p.Y.Label.Text = "milliseconds (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	series := []struct {
		name string
		get  func(Bin) time.Duration
	}{{"p50", func(b Bin) time.Duration { return b.P50 }}, {"p99", func(b Bin) time.Duration { return b.P99 }}, {"max", func(b Bin) time.Duration { return b.Max }}}
	var lines []any
	top := 0.01
	for _, sr := range series {
		pts := make(plotter.XYs, 0, len(r.Load.Series))
		for _, b := range r.Load.Series {
			v := math.Max(float64(sr.get(b))/float64(time.Millisecond), 0.01)
			top = math.Max(top, v)
			pts = append(pts, plotter.XY{X: (b.At + r.Load.SeriesBin/2).Seconds(), Y: v})
		}
		if len(pts) > 0 {
			lines = append(lines, sr.name, pts)
		}
	}
	if len(lines) > 0 {
		if err := plotutil.AddLines(p, lines...); err != nil {
			return fmt.Errorf("bench: plot: %w", err)
		}
	}
	p.Y.Min = 0.01
	// Events as vertical lines, one colour per kind.
	kinds := map[string]int{}
	for _, m := range r.Marks {
		if _, ok := kinds[m.Label]; !ok {
			kinds[m.Label] = len(kinds)
		}
	}
	for _, label := range slices.Sorted(maps.Keys(kinds)) {
		first := true
		for _, m := range r.Marks {
			if m.Label != label {
				continue
			}
			l, err := plotter.NewLine(plotter.XYs{{X: m.At.Seconds(), Y: 0.01}, {X: m.At.Seconds(), Y: top * 2}})
			if err != nil {
				return fmt.Errorf("bench: plot: %w", err)
			}
			l.Color = plotutil.Color(3 + kinds[label])
			l.Dashes = plotutil.Dashes(1 + kinds[label])
			l.Width = vg.Points(1)
			p.Add(l)
			if first {
				p.Legend.Add(label, l)
				first = false
			}
		}
	}
	p.Legend.Top = true
	if err := p.Save(8*vg.Inch, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}

func (r LoadRun) plotHistogram(path string) error {
	p := plot.New()
	p.Title.Text = r.Load.Name + ": latency histogram"
	p.X.Label.Text = "milliseconds (log)"
	p.Y.Label.Text = "requests"
	lat := r.Load.latencies
	if len(lat) == 0 {
		lat = []time.Duration{0}
	}
	// Log-spaced buckets from 10 µs: latencies span four decades.
	const perDecade = 10
	counts := map[int]float64{}
	lo, hi := math.MaxInt, math.MinInt
	for _, d := range lat {
		us := math.Max(float64(d)/float64(time.Microsecond), 10)
		i := int(math.Floor(math.Log10(us/10) * perDecade))
		counts[i]++
		lo, hi = min(lo, i), max(hi, i)
	}
	var bins []plotter.HistogramBin
	for i := lo; i <= hi; i++ {
		bins = append(bins, plotter.HistogramBin{
			Min: 0.01 * math.Pow(10, float64(i)/perDecade), Max: 0.01 * math.Pow(10, float64(i+1)/perDecade), Weight: counts[i]})
	}
	h := &plotter.Histogram{Bins: bins, Width: 1, FillColor: plotutil.Color(0), LineStyle: draw.LineStyle{Color: plotutil.Color(0), Width: vg.Points(0.5)}}
	p.Add(h)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	if err := p.Save(8*vg.Inch, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}
