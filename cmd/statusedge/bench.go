package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/statusedge/statusedge/bench"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/edge"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, `usage: statusedge bench <scenario> [flags]

Scenarios run against a local system they start (one region, or --regions N)
or against edges named with --target (loopback, or hosts named by --allow-host).
Load is open loop (vegeta); each writes report.md, report.json and plots.

  steady        cache hits of pages, JSON and feeds over many sites (Zipf popularity)
  herd          an update, then 10,000 visitors at once
  spike         one site at 100× the others while an update is published every second
  outage        the origin, then Redis, stopped mid-run; then both back
  propagation   write acknowledged → every region's edge serves it, with latency on
                gossip, raft and the writer's link; plain, under the spike, with gossip loss
  load          closed-loop yardstick: an edge next to nginx and a bare fasthttp server
                serving the same precompressed page, each pinned to core 0, wrk on the others
  standard      all of the above, short, into --out (what make bench runs)
  tls           HTTPS: the edge next to nginx with the same certificate, keep-alive and a
                new TLS connection per request, each pinned to core 0, wrk on core 1

statusedge bench <scenario> -h lists its flags.`)
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "load":
		return benchLoad(ctx, args[1:], stdout, stderr)
	case "steady", "herd", "spike", "outage", "propagation":
		return benchScenario(ctx, args[0], args[1:], stdout, stderr)
	case "standard":
		return benchStandard(ctx, args[1:], stdout, stderr)
	case "tls":
		return bench.TLSMain(ctx, args[1:], stdout, stderr)
	case "bare": // internal: the bare fasthttp yardstick, run pinned by "load"
		return benchBare(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "statusedge bench: unknown benchmark %q (see statusedge bench -h)\n", args[0])
	return 2
}

func benchLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statusedge bench load", flag.ContinueOnError)
	out := fs.String("out", "bench-out/load", "directory for report.md, report.json and plots")
	dur := fs.Duration("duration", 6*time.Second, "length of each wrk run")
	conns := fs.Int("connections", 64, "wrk connections")
	rounds := fs.Int("rounds", 5, "rounds; each loads every target once, starting with another one")
	if ok, code := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if *dur < time.Second || *conns < 1 || *rounds < 1 {
		fmt.Fprintln(stderr, "statusedge bench load: --duration must be ≥ 1s, --connections and --rounds ≥ 1")
		return 2
	}
	// The servers share core 0; wrk has every other core, a thread on each,
	// so that on a machine of more than two cores the server, not wrk, sets
	// the pace (on two, wrk's one core is often as busy as the server's:
	// the report says so).
	serverCPU, loadCPUs := 0, []int{}
	for c := 1; c < runtime.NumCPU(); c++ {
		loadCPUs = append(loadCPUs, c)
	}
	if len(loadCPUs) == 0 {
		serverCPU, loadCPUs = -1, nil
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "statusedge bench load: %v\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "statusedge-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "statusedge bench load: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	fail := func(err error) int { fmt.Fprintf(stderr, "statusedge bench load: %v\n", err); return 1 }

	// 1. The edge (with its origin, idle once the page is cached) pinned to one core.
	apiAddr, pageAddr := freeAddr(), freeAddr()
	devCmd, err := startPinned(ctx, serverCPU, self, "dev", "--data", filepath.Join(tmp, "data"), "--api-addr", apiAddr, "--listen", pageAddr)
	if err != nil {
		return fail(err)
	}
	defer stopProcess(devCmd)
	edgeURL := "http://" + pageAddr + "/"
	gz, edgeHdr, err := fetchGzip(ctx, edgeURL, demo.Hostname, 30*time.Second)
	if err != nil {
		return fail(fmt.Errorf("edge: %w", err))
	}
	// nginx and bare fasthttp send the edge's own headers too (security
	// headers, caching, version), so all three send the same response.
	same := sameHeaders(edgeHdr)
	identity, err := gunzip(gz)
	if err != nil {
		return fail(err)
	}

	// 2. nginx with the same bytes, gzip_static, one worker on the same core.
	ng, err := bench.StartNginx(ctx, filepath.Join(tmp, "nginx"), map[string][]byte{"index.html": identity, "index.html.gz": gz}, same, serverCPU)
	if err != nil {
		return fail(err)
	}
	defer ng.Stop()

	// 3. Bare fasthttp handing out the same gzip bytes, on the same core.
	gzFile := filepath.Join(tmp, "page.html.gz")
	if err := os.WriteFile(gzFile, gz, 0o644); err != nil {
		return fail(err)
	}
	bareAddr := freeAddr()
	bareArgs := []string{"bench", "bare", "--listen", bareAddr, "--file", gzFile}
	for _, k := range slices.Sorted(maps.Keys(same)) {
		for _, v := range same[k] {
			bareArgs = append(bareArgs, "--header", k+": "+v)
		}
	}
	bareCmd, err := startPinned(ctx, serverCPU, self, bareArgs...)
	if err != nil {
		return fail(err)
	}
	defer stopProcess(bareCmd)
	if _, _, err := fetchGzip(ctx, "http://"+bareAddr+"/", demo.Hostname, 10*time.Second); err != nil {
		return fail(fmt.Errorf("bare fasthttp: %w", err))
	}

	headers := []string{"Accept-Encoding: gzip", "Host: " + demo.Hostname}
	rep := bench.Report{Title: "cache-hit throughput: demo page, gzip", When: time.Now(), Command: "statusedge bench load " + strings.Join(args, " "), Setup: map[string]string{
		"cores":           strconv.Itoa(runtime.NumCPU()),
		"servers pinned":  fmt.Sprintf("core %d", serverCPU),
		"wrk pinned":      fmt.Sprintf("%s, %d thread(s), %d connections, %s per run", coreList(loadCPUs), max(len(loadCPUs), 1), *conns, *dur),
		"rounds":          fmt.Sprintf("%d, the order of the targets rotating; medians shown", *rounds),
		"page bytes gzip": strconv.Itoa(len(gz)),
	}}
	targets := []struct {
		name, url string
		pid       int
	}{{"edge", edgeURL, devCmd.Process.Pid}, {"nginx", ng.URL + "/", ng.PID()}, {"bare fasthttp", "http://" + bareAddr + "/", bareCmd.Process.Pid}}
	// A short unmeasured load first: connections, caches and the heap of
	// each server settle before any round counts.
	for _, t := range targets {
		fmt.Fprintf(stdout, "warming up %s…\n", t.name)
		if _, err := bench.Run(ctx, bench.Load{Name: t.name, URL: t.url, Duration: 2 * time.Second, Connections: *conns, Headers: headers, CPUs: loadCPUs}); err != nil {
			return fail(err)
		}
	}
	runs := make([][]bench.Result, len(targets))
	for round := range *rounds {
		for j := range targets {
			i := (j + round) % len(targets) // each round starts with another target
			t := targets[i]
			fmt.Fprintf(stdout, "round %d/%d: loading %s for %s…\n", round+1, *rounds, t.name, *dur)
			r, err := bench.Run(ctx, bench.Load{Name: t.name, URL: t.url, Duration: *dur, Connections: *conns, Headers: headers, CPUs: loadCPUs, PID: t.pid})
			if err != nil {
				return fail(err)
			}
			runs[i] = append(runs[i], r)
		}
	}
	for i, t := range targets {
		med, lo, hi := bench.Median(runs[i])
		rep.Loads = append(rep.Loads, med)
		if *rounds > 1 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: median of %d rounds shown; %.0f to %.0f req/s", t.name, *rounds, lo, hi))
		}
	}
	rep.Checks, rep.Notes = loadVerdict(runs[0], runs[1], runs[2], rep.Notes)
	files, err := rep.Write(*out)
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, rep.Markdown())
	fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(files, ", "))
	return 0
}

// coreList names cores for the report ("cores 1, 2, 3"; none: unpinned).
func coreList(cores []int) string {
	switch len(cores) {
	case 0:
		return "not pinned"
	case 1:
		return fmt.Sprintf("core %d", cores[0])
	}
	s := make([]string, len(cores))
	for i, c := range cores {
		s[i] = strconv.Itoa(c)
	}
	return "cores " + strings.Join(s, ", ")
}

// loadVerdict compares the edge's runs to nginx's and bare fasthttp's,
// round by round (a round loads each target once, back to back, so a
// machine that is slower for a while slows all three): the median of the
// rounds' ratios, of throughput and of server CPU per request, against the
// goals (≥ 1.15× nginx's throughput on one core, p99 no higher). Under a
// closed loop on two cores the load generator's core is often as busy as
// the server's, and then throughput says as much about wrk as about the
// server; CPU per request ("requests per core-second") does not.
func loadVerdict(edge, ngx, bare []bench.Result, notes []string) ([]bench.Check, []string) {
	ratio := func(a, b []bench.Result, f func(x, y bench.Result) float64) float64 {
		var rs []float64
		for i := range min(len(a), len(b)) {
			if v := f(a[i], b[i]); v > 0 && !math.IsInf(v, 0) {
				rs = append(rs, v)
			}
		}
		if len(rs) == 0 {
			return 0
		}
		slices.Sort(rs)
		return rs[(len(rs)-1)/2]
	}
	rps := func(x, y bench.Result) float64 { return x.RPS / y.RPS }
	perCore := func(x, y bench.Result) float64 { return float64(y.CPUPerRequest) / float64(x.CPUPerRequest) }
	p99 := func(x, y bench.Result) float64 { return float64(x.P99) / float64(y.P99) }
	vsNginx, vsBare := ratio(edge, ngx, rps), ratio(edge, bare, rps)
	coreNginx, coreBare := ratio(edge, ngx, perCore), ratio(edge, bare, perCore)
	p99Nginx := ratio(edge, ngx, p99)
	checks := []bench.Check{
		{Goal: "edge req/s ≥ 1.15× nginx's (median of the rounds' ratios)", Got: fmt.Sprintf("%.2f×", vsNginx), Met: vsNginx >= 1.15},
		{Goal: "edge requests per server core-second ≥ 1.15× nginx's", Got: fmt.Sprintf("%.2f×", coreNginx), Met: coreNginx >= 1.15},
		{Goal: "edge p99 ≤ nginx's", Got: fmt.Sprintf("%.2f×", p99Nginx), Met: p99Nginx > 0 && p99Nginx <= 1},
	}
	notes = append(notes, fmt.Sprintf("Round by round (medians of the ratios): edge / nginx %.2f× req/s and %.2f× requests per server core-second; "+
		"edge / bare fasthttp %.2f× and %.2f×. The edge's CPU includes its idle origin's (statusedge dev).", vsNginx, coreNginx, vsBare, coreBare))
	var busy []float64
	for _, rs := range [][]bench.Result{edge, ngx, bare} {
		for _, r := range rs {
			busy = append(busy, r.LoadCoreBusy)
		}
	}
	if slices.Max(busy) >= 0.85 {
		notes = append(notes, fmt.Sprintf("The load generator's core was up to %.0f%% busy: near 100%% wrk, not the server, sets the pace, "+
			"and requests per server core-second is the comparison to read.", 100*slices.Max(busy)))
	}
	return checks, notes
}

// benchBare serves one gzip file for every request with bare fasthttp, in
// the edge's server settings: the ceiling the edge's cache-hit path is
// compared to.
func benchBare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statusedge bench bare", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address")
	file := fs.String("file", "", "gzip file to serve")
	var extra [][2]string
	fs.Func("header", "`Name: value` to send with every answer (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return errors.New("want Name: value")
		}
		extra = append(extra, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		return nil
	})
	if ok, code := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if *file == "" {
		fmt.Fprintln(stderr, "statusedge bench bare: --file is required")
		return 2
	}
	body, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// The edge's own server settings (timeouts, buffers), another handler.
	srv := edge.HTTPServer(func(c *fasthttp.RequestCtx) {
		c.Response.Header.SetContentType("text/html; charset=utf-8")
		c.Response.Header.Set("Content-Encoding", "gzip")
		for _, kv := range extra {
			c.Response.Header.Set(kv[0], kv[1])
		}
		c.Response.SetBodyRaw(body)
	})
	go func() { <-ctx.Done(); _ = srv.Shutdown() }()
	if err := srv.ListenAndServe(*listen); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}

// startPinned starts a child process pinned to cpu (>= 0) with taskset.
func startPinned(ctx context.Context, cpu int, bin string, args ...string) (*exec.Cmd, error) {
	if cpu >= 0 {
		args = append([]string{"-c", strconv.Itoa(cpu), bin}, args...)
		bin = "taskset"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = io.Discard
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	go func() { // keep the child's warnings visible without blocking it
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(os.Stderr, "  |", sc.Text())
		}
	}()
	return cmd, nil
}

func stopProcess(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// fetchGzip polls url until it answers 200 with a gzip body, and returns it.
func fetchGzip(ctx context.Context, url, host string, within time.Duration) ([]byte, http.Header, error) {
	deadline := time.Now().Add(within)
	tr := &http.Transport{DisableCompression: true}
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Host = host
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := tr.RoundTrip(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Encoding") == "gzip" && resp.Header.Get("X-Statusedge-Skeleton") == "" {
				return b, resp.Header, nil
			}
			last = fmt.Errorf("answer %d, encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		last = errors.New("no answer")
	}
	return nil, nil, fmt.Errorf("%s not ready: %w", url, last)
}

// sameHeaders are the headers of h that a plain file server does not
// write by itself.
func sameHeaders(h http.Header) http.Header {
	out := h.Clone()
	for _, k := range []string{"Date", "Server", "Connection", "Content-Length", "Content-Type", "Content-Encoding", "Etag", "Last-Modified", "Accept-Ranges"} {
		out.Del(k)
	}
	return out
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
