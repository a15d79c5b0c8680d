package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/bench"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/dev"
)

func TestBenchScenarioRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // on stderr
	}{
		{"tls with no rounds", []string{"bench", "tls", "--rounds", "0"}, "--rounds"},
		{"remote target", []string{"bench", "steady", "--target", "http://example.com:8080", "--host", "acme.localhost"}, "only loopback"},
		{"remote target named as a host of another flag", []string{"bench", "steady", "--target", "http://10.0.0.8:80", "--host", "10.0.0.8"}, "only loopback"},
		{"https target", []string{"bench", "steady", "--target", "https://127.0.0.1:8443", "--host", "acme.localhost"}, "not yet"},
		{"target with a path", []string{"bench", "steady", "--target", "http://127.0.0.1:8080/admin", "--host", "acme.localhost"}, "only scheme, host and port"},
		{"target with credentials", []string{"bench", "steady", "--target", "http://u:p@127.0.0.1:8080", "--host", "acme.localhost"}, "only scheme, host and port"},
		{"target without a host header", []string{"bench", "steady", "--target", "http://127.0.0.1:8080"}, "--host"},
		{"remote api", []string{"bench", "spike", "--target", "http://127.0.0.1:8080", "--host", "a.test", "--api", "http://203.0.113.5", "--token", "t", "--site", "a", "--component", "c"}, "only loopback"},
		{"spike without a writer", []string{"bench", "spike", "--target", "http://127.0.0.1:8080", "--host", "a.test"}, "--api"},
		{"outage on targets", []string{"bench", "outage", "--target", "http://127.0.0.1:8080", "--host", "a.test"}, "local system"},
		{"unbounded duration", []string{"bench", "steady", "--duration", "11m"}, "--duration"},
		{"zero rate", []string{"bench", "steady", "--rate", "0"}, "--rate"},
		{"huge rate", []string{"bench", "steady", "--rate", "1000000"}, "--rate"},
		{"huge herd", []string{"bench", "herd", "--visitors", "1000000"}, "--visitors"},
		{"host without target", []string{"bench", "steady", "--host", "a.test"}, "go with --target"},
		{"bad variant", []string{"bench", "propagation", "--variants", "plain,moon"}, "moon"},
		{"loss of everything", []string{"bench", "propagation", "--loss", "1"}, "--loss"},
		{"stray argument", []string{"bench", "steady", "now"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr does not say %q:\n%s", tt.want, stderr.String())
			}
		})
	}
	if err := allowedURL("http://edge.example:8080", []string{"edge.example"}); err != nil {
		t.Errorf("a host named with --allow-host was refused: %v", err)
	}
}

// readReport reads a report a run wrote and checks that it is whole: the
// Markdown, the JSON and every plot it links.
func readReport(t *testing.T, dir string) bench.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(md), "\n") {
		if i := strings.Index(line, "]("); strings.HasPrefix(line, "![") && i > 0 {
			png := strings.TrimSuffix(line[i+2:], ")")
			p, err := os.ReadFile(filepath.Join(dir, png))
			if err != nil || !bytes.HasPrefix(p, []byte("\x89PNG")) {
				t.Errorf("plot %s linked from report.md is not a PNG (%v)", png, err)
			}
		}
	}
	if len(rep.Runs) == 0 {
		t.Fatalf("report has no runs:\n%s", md)
	}
	return rep
}

// agrees checks that what the visitors saw is what the edges counted: every
// request of the load is one answer on the edges' /metrics, and each
// X-Statusedge-Cache layer the visitors were answered from is that layer's
// hit count.
func agrees(t *testing.T, run bench.LoadRun) {
	t.Helper()
	var visitors, l1, l2, origin, previous, skeleton, stale float64
	for _, e := range run.Edges {
		visitors += e.Visitors()
		l1, l2, origin = l1+e.Hits["l1"], l2+e.Hits["l2"], origin+e.Hits["origin"]
		previous, skeleton, stale = previous+e.Previous, skeleton+e.Skeletons, stale+e.Stales
	}
	l := run.Load
	if float64(l.Requests) != visitors {
		t.Errorf("%s: %d requests sent, the edges answered %.0f", l.Name, l.Requests, visitors)
	}
	for _, c := range []struct {
		layer string
		edge  float64
	}{{"l1", l1}, {"l2", l2}, {"origin", origin}, {"previous", previous}, {"skeleton", skeleton}, {"stale", stale}} {
		if float64(l.Served[c.layer]) != c.edge {
			t.Errorf("%s: visitors saw %d answers from %s, the edges counted %.0f", l.Name, l.Served[c.layer], c.layer, c.edge)
		}
	}
}

// TestBenchSteadyAgainstTargets is a short steady run with --target against
// a system the test starts: the report is whole, and its counts are the
// edge's own, read again by the test after the run.
func TestBenchSteadyAgainstTargets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sys, err := dev.Start(ctx, dev.Config{DataDir: t.TempDir(), StartRedis: true, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = sys.Shutdown(sctx)
	})
	edgeURL := sys.Regions[0].PageURL
	out := filepath.Join(t.TempDir(), "steady")
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"bench", "steady", "--target", edgeURL, "--host", demo.Hostname,
		"--duration", "2s", "--rate", "100", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	rep := readReport(t, out)
	r := rep.Runs[0]
	agrees(t, r)
	if r.Load.Requests == 0 || r.Load.ErrorCount() != 0 {
		t.Errorf("%d requests, errors %v", r.Load.Requests, r.Load.Errors)
	}
	// Nothing has happened on the edge since the report's last scrape
	// but that scrape: the test reads the same counts.
	now, err := bench.ScrapeEdge(ctx, http.DefaultClient, "edge", edgeURL)
	if err != nil {
		t.Fatal(err)
	}
	after := r.After[0]
	if now.Visitors() != after.Visitors() || now.Renders != after.Renders || now.Hits["l1"] != after.Hits["l1"] {
		t.Errorf("the edge now says %.0f answers, %.0f renders, %.0f l1 hits; the report %.0f, %.0f, %.0f",
			now.Visitors(), now.Renders, now.Hits["l1"], after.Visitors(), after.Renders, after.Hits["l1"])
	}
}

// TestBenchSpikeCounts is a short spike run against the local system the
// tool starts: visitors' counts match the edge's, and every render was a
// render-ahead of the four hot paths of a published version.
func TestBenchSpikeCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "spike")
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"bench", "spike", "--sites", "5", "--duration", "3s", "--rate", "100", "--every", "500ms", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	rep := readReport(t, out)
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want the baseline and the spike", len(rep.Runs))
	}
	for _, r := range rep.Runs {
		agrees(t, r)
	}
	spike := rep.Runs[1]
	published := 0
	for _, m := range spike.Marks {
		if m.Label == "update published" {
			published++
		}
	}
	e := spike.Edges[0]
	if published == 0 || e.RenderAheadSwaps == 0 {
		t.Fatalf("%d updates published, %.0f switches", published, e.RenderAheadSwaps)
	}
	// Each switch rendered the four hot paths of its version first. (How
	// many renders beyond that — none, if no key renders twice — is the
	// report's to say: a live site's minutes and a superseded render-ahead
	// depend on the clock.)
	if e.Renders < 4*e.RenderAheadSwaps {
		t.Errorf("%.0f renders for %.0f switches and %d published versions; want 4 per switch", e.Renders, e.RenderAheadSwaps, published)
	}
	if e.Hits["origin"] != 0 || e.Skeletons != 0 {
		t.Errorf("visitors waited for renders: %.0f origin answers, %.0f skeletons", e.Hits["origin"], e.Skeletons)
	}
}
