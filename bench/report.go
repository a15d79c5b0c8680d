package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Report is what a benchmark run writes to its output directory:
// report.md for people, report.json for tools, and PNG plots.
type Report struct {
	Title   string            `json:"title"`
	When    time.Time         `json:"when"`
	Setup   map[string]string `json:"setup"` // machine, pinning, versions
	Loads   []Result          `json:"loads,omitempty"`
	Samples []Samples         `json:"samples,omitempty"`
	// Runs are a scenario's open-loop loads.
	Runs []LoadRun `json:"runs,omitempty"`
	// Checks are the scenario's goals, each met or not.
	Checks []Check  `json:"checks,omitempty"`
	Notes  []string `json:"notes,omitempty"`
	// Command is how the report was made.
	Command string `json:"command,omitempty"`
}

// Samples is a named set of latencies, e.g. propagation times to one region.
type Samples struct {
	Name   string          `json:"name"`
	Values []time.Duration `json:"values_ns"`
}

// Quantile returns the q-quantile (0..1) of the samples (nearest rank).
func (s Samples) Quantile(q float64) time.Duration {
	if len(s.Values) == 0 {
		return 0
	}
	v := slices.Clone(s.Values)
	slices.Sort(v)
	i := int(q*float64(len(v)) + 0.5)
	i = min(max(i-1, 0), len(v)-1)
	return v[i]
}

// Write writes report.md, report.json and the plots into dir.
func (r Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: report dir: %w", err)
	}
	var files []string
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: report json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), j, 0o644); err != nil {
		return nil, fmt.Errorf("bench: report json: %w", err)
	}
	files = append(files, filepath.Join(dir, "report.json"))
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644); err != nil {
		return nil, fmt.Errorf("bench: report md: %w", err)
	}
	files = append(files, filepath.Join(dir, "report.md"))
	if len(r.Loads) > 0 {
		p := filepath.Join(dir, "throughput.png")
		if err := r.plotLoads(p); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	for _, run := range r.Runs {
		fs, err := run.writeFiles(dir)
		files = append(files, fs...)
		if err != nil {
			return files, err
		}
	}
	if len(r.Samples) > 0 {
		p := filepath.Join(dir, "latency-cdf.png")
		if err := r.plotCDF(p); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	return files, nil
}

// Markdown renders the report as a Markdown document.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\n", r.Title, r.When.UTC().Format(time.RFC3339))
	if r.Command != "" {
		fmt.Fprintf(&b, "Made with `%s`\n\n", r.Command)
	}
	keys := make([]string, 0, len(r.Setup))
	for k := range r.Setup {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %s\n", k, r.Setup[k])
	}
	if len(r.Loads) > 0 {
		b.WriteString("\n| target | req/s | p50 | p90 | p99 | requests | errors | server CPU/request | load generator's core busy |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range r.Loads {
			cpu, busy := "–", "–"
			if l.ServerCPU > 0 {
				cpu = fmt.Sprintf("%.2fµs", float64(l.CPUPerRequest)/float64(time.Microsecond))
			}
			if l.LoadCoreBusy > 0 {
				busy = fmt.Sprintf("%.0f%%", 100*l.LoadCoreBusy)
			}
			fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %d | %d | %s | %s |\n", l.Name, l.RPS,
				l.P50.Round(time.Microsecond), l.P90.Round(time.Microsecond), l.P99.Round(time.Microsecond), l.Requests, l.Errors, cpu, busy)
		}
	}
	if len(r.Samples) > 0 {
		b.WriteString("\n| series | n | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|\n")
		for _, s := range r.Samples {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", s.Name, len(s.Values),
				s.Quantile(0.5).Round(time.Microsecond), s.Quantile(0.9).Round(time.Microsecond),
				s.Quantile(0.99).Round(time.Microsecond), s.Quantile(1).Round(time.Microsecond))
		}
	}
	if len(r.Checks) > 0 {
		b.WriteString("\n| goal | measured | met |\n|---|---|---|\n")
		for _, c := range r.Checks {
			met := "yes"
			if !c.Met {
				met = "**no**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Goal, c.Got, met)
		}
	}
	for _, run := range r.Runs {
		run.markdown(&b)
	}
	if len(r.Samples) > 0 {
		b.WriteString("\n![propagation CDF](latency-cdf.png)\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

func (r Report) plotLoads(path string) error {
	p := plot.New()
	p.Title.Text = r.Title
	p.Y.Label.Text = "requests per second"
	vals := make(plotter.Values, len(r.Loads))
	names := make([]string, len(r.Loads))
	for i, l := range r.Loads {
		vals[i], names[i] = l.RPS, l.Name
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(40))
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	bars.Color = plotutil.Color(0)
	p.Add(bars)
	// Whiskers from the lowest to the highest run, where there were rounds.
	var pts plotter.XYs
	var errs plotter.YErrors
	for i, l := range r.Loads {
		if l.RPSHigh > 0 {
			pts = append(pts, plotter.XY{X: float64(i), Y: l.RPS})
			errs = append(errs, struct{ Low, High float64 }{l.RPS - l.RPSLow, l.RPSHigh - l.RPS})
		}
	}
	if len(pts) > 0 {
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return fmt.Errorf("bench: plot: %w", err)
		}
		p.Add(eb)
		p.Title.Text += "\nmedians of rounds; whiskers from the lowest to the highest"
	}
	p.NominalX(names...)
	if err := p.Save(6*vg.Inch, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}

func (r Report) plotCDF(path string) error {
	p := plot.New()
	p.Title.Text = r.Title + " (CDF)"
	p.X.Label.Text = "milliseconds"
	p.Y.Label.Text = "fraction of samples"
	var lines []any
	for _, s := range r.Samples {
		v := slices.Clone(s.Values)
		slices.Sort(v)
		pts := make(plotter.XYs, len(v))
		for i, d := range v {
			pts[i].X = float64(d) / float64(time.Millisecond)
			pts[i].Y = float64(i+1) / float64(len(v))
		}
		lines = append(lines, s.Name, pts)
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	p.Legend.Left, p.Legend.Top = false, false
	if err := p.Save(9*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}
