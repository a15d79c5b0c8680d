package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/statusedge/statusedge/bench"
)

// standardSet is what `statusedge bench standard` (make bench) runs: every
// scenario, sized to finish within five minutes on a 2-core machine.
var standardSet = []struct {
	name string
	args []string
}{
	{"steady", []string{"--sites", "200", "--duration", "15s", "--rate", "1000"}},
	{"herd", []string{"--visitors", "10000"}},
	{"spike", []string{"--sites", "50", "--duration", "12s", "--rate", "1000"}},
	{"outage", []string{"--sites", "50", "--duration", "15s", "--rate", "1000"}},
	{"propagation", []string{"--changes", "15", "--sites", "20", "--rate", "500"}},
	{"load", []string{"--duration", "5s", "--rounds", "1"}},
}

func benchStandard(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statusedge bench standard", flag.ContinueOnError)
	out := fs.String("out", "bench-out", "directory; each scenario writes into its own subdirectory")
	skip := fs.String("skip", "", "comma-separated scenarios to leave out")
	if ok, code := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "statusedge bench standard: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	skipped := map[string]bool{}
	for _, s := range strings.Split(*skip, ",") {
		skipped[strings.TrimSpace(s)] = true
	}
	start := time.Now()
	var index strings.Builder
	fmt.Fprintf(&index, "# statusedge bench standard\n\n%s\n\n| scenario | took | goals met | report |\n|---|---:|---|---|\n", start.UTC().Format(time.RFC3339))
	code := 0
	for _, s := range standardSet {
		if skipped[s.name] {
			continue
		}
		dir := filepath.Join(*out, s.name)
		a := append([]string{s.name, "--out", dir}, s.args...)
		fmt.Fprintf(stderr, "== statusedge bench %s\n", strings.Join(a, " "))
		t0 := time.Now()
		c := runBench(ctx, a, io.Discard, stderr)
		took := time.Since(t0).Round(time.Second)
		met := "failed to run"
		if c == 0 {
			met = goalsMet(filepath.Join(dir, "report.json"))
		} else {
			code = 1
		}
		fmt.Fprintf(&index, "| %s | %s | %s | [%s/report.md](%s/report.md) |\n", s.name, took, met, s.name, s.name)
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintf(&index, "\nTotal %s.\n", time.Since(start).Round(time.Second))
	if err := os.MkdirAll(*out, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(*out, "README.md"), []byte(index.String()), 0o644)
	}
	fmt.Fprint(stdout, index.String())
	return code
}

// goalsMet summarizes a report's checks: "5/6 (not: …)".
func goalsMet(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no report"
	}
	var r bench.Report
	if json.Unmarshal(b, &r) != nil {
		return "unreadable report"
	}
	if len(r.Checks) == 0 {
		return "–"
	}
	n := 0
	var not []string
	for _, c := range r.Checks {
		if c.Met {
			n++
		} else {
			not = append(not, c.Goal)
		}
	}
	s := fmt.Sprintf("%d/%d", n, len(r.Checks))
	if len(not) > 0 {
		s += " (not: " + strings.Join(not, "; ") + ")"
	}
	return s
}
