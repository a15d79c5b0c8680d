package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// EdgeCounts are the counters an edge exposes on /metrics that a benchmark
// reports: taken before and after a load, their difference is what the
// load did to the edge (Sub).
type EdgeCounts struct {
	Edge string `json:"edge"`
	// Hits are visitor answers by the layer that had the page (l1, l2,
	// origin: the visitor waited for a render).
	Hits map[string]float64 `json:"hits_by_layer"`
	// Outcomes are every answer by how it ended (l1 … error, other), from
	// the request latency histogram's counts.
	Outcomes         map[string]float64 `json:"requests_by_outcome"`
	Renders          float64            `json:"origin_renders"`
	RenderErrors     float64            `json:"origin_errors"`
	Coalesced        float64            `json:"coalesced_waits"`
	Previous         float64            `json:"previous_serves"`
	Skeletons        float64            `json:"skeleton_serves"`
	Stales           float64            `json:"stale_serves"`
	RedisErrors      float64            `json:"redis_errors"`
	RenderAheadSwaps float64            `json:"render_ahead_switches"`
}

// Visitors is the number of page answers (every outcome but "other", which
// is /metrics itself, 404s and the like).
func (c EdgeCounts) Visitors() float64 {
	var n float64
	for k, v := range c.Outcomes {
		if k != "other" {
			n += v
		}
	}
	return n
}

// Sub returns c − before, counter by counter.
func (c EdgeCounts) Sub(before EdgeCounts) EdgeCounts {
	d := EdgeCounts{Edge: c.Edge, Hits: map[string]float64{}, Outcomes: map[string]float64{},
		Renders: c.Renders - before.Renders, RenderErrors: c.RenderErrors - before.RenderErrors,
		Coalesced: c.Coalesced - before.Coalesced, Previous: c.Previous - before.Previous, Skeletons: c.Skeletons - before.Skeletons,
		Stales: c.Stales - before.Stales, RedisErrors: c.RedisErrors - before.RedisErrors,
		RenderAheadSwaps: c.RenderAheadSwaps - before.RenderAheadSwaps}
	for k, v := range c.Hits {
		d.Hits[k] = v - before.Hits[k]
	}
	for k, v := range c.Outcomes {
		d.Outcomes[k] = v - before.Outcomes[k]
	}
	return d
}

// ScrapeEdge reads an edge's /metrics (answered on its --metrics-listen
// address, or on its own address to a loopback peer no proxy forwarded,
// with a Host no site uses).
func ScrapeEdge(ctx context.Context, client *http.Client, name, edgeURL string) (EdgeCounts, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(edgeURL, "/")+"/metrics", nil)
	if err != nil {
		return EdgeCounts{}, fmt.Errorf("bench: metrics of %s: %w", name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return EdgeCounts{}, fmt.Errorf("bench: metrics of %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return EdgeCounts{}, fmt.Errorf("bench: metrics of %s: %d %s", name, resp.StatusCode, b)
	}
	return ParseEdgeMetrics(name, resp.Body)
}

// ParseEdgeMetrics reads the Prometheus text an edge's /metrics answers.
func ParseEdgeMetrics(name string, r io.Reader) (EdgeCounts, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return EdgeCounts{}, fmt.Errorf("bench: metrics of %s: %w", name, err)
	}
	c := EdgeCounts{Edge: name, Hits: map[string]float64{}, Outcomes: map[string]float64{}}
	scalar := map[string]*float64{
		"statusedge_edge_origin_renders_total":        &c.Renders,
		"statusedge_edge_origin_errors_total":         &c.RenderErrors,
		"statusedge_edge_coalesced_waits_total":       &c.Coalesced,
		"statusedge_edge_previous_serves_total":       &c.Previous,
		"statusedge_edge_skeleton_serves_total":       &c.Skeletons,
		"statusedge_edge_stale_serves_total":          &c.Stales,
		"statusedge_edge_redis_errors_total":          &c.RedisErrors,
		"statusedge_edge_render_ahead_switches_total": &c.RenderAheadSwaps,
	}
	for fname, f := range fams {
		for _, m := range f.GetMetric() {
			label := func(n string) string {
				for _, l := range m.GetLabel() {
					if l.GetName() == n {
						return l.GetValue()
					}
				}
				return ""
			}
			switch {
			case scalar[fname] != nil:
				*scalar[fname] += m.GetCounter().GetValue()
			case fname == "statusedge_edge_hits_total":
				c.Hits[label("layer")] += m.GetCounter().GetValue()
			case fname == "statusedge_edge_request_duration_seconds":
				c.Outcomes[label("outcome")] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if _, ok := fams["statusedge_edge_hits_total"]; !ok {
		return c, fmt.Errorf("bench: metrics of %s: no statusedge_edge_hits_total (is this an edge?)", name)
	}
	return c, nil
}
