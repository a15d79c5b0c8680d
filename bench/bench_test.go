package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := []byte(`Running 2s test @ http://127.0.0.1:8080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.11us  201.21us   8.02ms   91.12%
    Req/Sec   101.23k     3.01k  108.00k    80.00%
  Latency Distribution
     50%  590.00us
     75%  650.00us
     90%  720.00us
     99%    1.20ms
  203012 requests in 2.00s, 1.21GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec: 101480.51
Transfer/sec:    604.12MB
`)
	r, err := ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Requests: 203012, Duration: 2 * time.Second, RPS: 101480.51,
		P50: 590 * time.Microsecond, P90: 720 * time.Microsecond, P99: 1200 * time.Microsecond, Errors: 8}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	if _, err := ParseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused")); err == nil {
		t.Fatal("a failed run parsed as a report")
	}
}

func TestQuantile(t *testing.T) {
	s := Samples{Values: []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}, {0, 1}} {
		if got := s.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

// TestNginxUnderWrk runs the real tools briefly: nginx serves a precompressed
// page, wrk loads it, and the report comes out with its plot.
func TestNginxUnderWrk(t *testing.T) {
	page := bytes.Repeat([]byte("<p>all systems operational</p>\n"), 200)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page)
	zw.Close()
	ctx := context.Background()
	csp := "default-src 'none'; style-src 'sha256-abc='"
	n, err := StartNginx(ctx, t.TempDir(), map[string][]byte{"index.html": page, "index.html.gz": gz.Bytes()},
		http.Header{"Content-Security-Policy": {csp}}, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	resp, err := http.Get(n.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Security-Policy"); got != csp {
		t.Fatalf("nginx sent CSP %q, want %q", got, csp)
	}
	if _, err := StartNginx(ctx, t.TempDir(), nil, http.Header{"X-Bad": {`a"b`}}, -1); err == nil {
		t.Fatal("a header value nginx.conf cannot hold was accepted")
	}
	r, err := Run(ctx, Load{Name: "nginx", URL: n.URL + "/", Duration: time.Second, Connections: 8,
		Headers: []string{"Accept-Encoding: gzip"}, PID: n.PID()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests < 100 || r.Errors != 0 || r.P99 <= 0 {
		t.Fatalf("implausible run: %+v", r)
	}
	if r.LoadCoreBusy != 0 {
		t.Errorf("an unpinned load generator's core busy %v: which core?", r.LoadCoreBusy)
	}
	pinned, err := Run(ctx, Load{Name: "nginx", URL: n.URL + "/", Duration: time.Second, Connections: 8,
		Headers: []string{"Accept-Encoding: gzip"}, CPUs: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	// wrk on core 0 kept it busy (with nginx, unpinned, perhaps beside it).
	if pinned.LoadCoreBusy <= 0.2 || pinned.LoadCoreBusy > 1 {
		t.Errorf("load generator's core busy %v under a closed loop", pinned.LoadCoreBusy)
	}
	// On every core, a thread each (bench load's wrk on a larger machine):
	// the mean of the cores' shares.
	all := make([]int, runtime.NumCPU())
	for i := range all {
		all[i] = i
	}
	spread, err := Run(ctx, Load{Name: "nginx", URL: n.URL + "/", Duration: time.Second, Connections: 8,
		Headers: []string{"Accept-Encoding: gzip"}, CPUs: all})
	if err != nil {
		t.Fatal(err)
	}
	if spread.Requests < 100 || spread.LoadCoreBusy <= 0.1 || spread.LoadCoreBusy > 1 {
		t.Errorf("wrk on %d cores: %d requests, cores busy %v", len(all), spread.Requests, spread.LoadCoreBusy)
	}
	// The worker (a child of the master whose pid was given) did the work.
	if r.ServerCPU <= 0 || r.CPUPerRequest <= 0 || r.CPUPerRequest > r.ServerCPU {
		t.Fatalf("server CPU not measured: %+v", r)
	}
	dir := t.TempDir()
	rounds := r // as bench load reports a median of rounds: drawn with a whisker
	rounds.Name, rounds.RPSLow, rounds.RPSHigh = "rounds", r.RPS*0.9, r.RPS*1.1
	files, err := Report{Title: "nginx", When: time.Now(), Loads: []Result{r, rounds},
		Samples: []Samples{{Name: "x", Values: []time.Duration{time.Millisecond, 2 * time.Millisecond}}}}.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.md", "report.json", "throughput.png", "latency-cdf.png"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(files) != 4 {
		t.Errorf("Write listed %v", files)
	}
}

func TestParseCore(t *testing.T) {
	const stat = "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 1 4 50 10 1 2 3 0 0\ncpu1 7 0 3 60 0 0 0 0 0 0\ncpu10 1 1 1 1 1 1 1 1 0 0\nintr 1\n"
	for _, tc := range []struct {
		name       string
		stat       string
		cpu        int
		busy, idle uint64
		wantErr    bool
	}{
		{"core 0: user nice system irq softirq steal busy, idle and iowait idle", stat, 0, 16, 60, false},
		{"core 1 is not core 10", stat, 1, 10, 60, false},
		{"core 10", stat, 10, 6, 2, false},
		{"a core the machine lacks", stat, 3, 0, 0, true},
		{"a line cut short", "cpu0 1 2 3\n", 0, 0, 0, true},
		{"a field that is no number", "cpu0 1 2 3 x 5 6 7 8\n", 0, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCore(tc.stat, tc.cpu)
			if (err != nil) != tc.wantErr || got.Busy != tc.busy || got.Idle != tc.idle {
				t.Fatalf("parseCore = %+v, %v; want busy %d idle %d, error %v", got, err, tc.busy, tc.idle, tc.wantErr)
			}
		})
	}
	if b := (CoreTimes{Busy: 30, Idle: 30}).BusySince(CoreTimes{Busy: 10, Idle: 20}); b != 2.0/3 {
		t.Errorf("BusySince = %v, want 2/3", b)
	}
	if b := (CoreTimes{Busy: 3}).BusySince(CoreTimes{Busy: 3}); b != 0 {
		t.Errorf("BusySince with no ticks = %v, want 0", b)
	}
}

func TestMedian(t *testing.T) {
	run := func(rps float64) Result { return Result{Name: "x", RPS: rps, Requests: int64(rps)} }
	for _, tc := range []struct {
		name         string
		in           []Result
		want, lo, hi float64
	}{
		{"none", nil, 0, 0, 0},
		{"one", []Result{run(5)}, 5, 5, 5},
		{"odd, unsorted", []Result{run(9), run(3), run(7)}, 7, 3, 9},
		{"even takes the lower middle", []Result{run(4), run(1), run(3), run(2)}, 2, 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			med, lo, hi := Median(tc.in)
			if med.RPS != tc.want || lo != tc.lo || hi != tc.hi || (tc.in != nil && med.Requests != int64(tc.want)) {
				t.Fatalf("Median = %v (%v..%v), want %v (%v..%v)", med.RPS, lo, hi, tc.want, tc.lo, tc.hi)
			}
			if wantRange := len(tc.in) > 1; wantRange != (med.RPSHigh > 0) || (wantRange && (med.RPSLow != tc.lo || med.RPSHigh != tc.hi)) {
				t.Fatalf("range on the median = %v..%v", med.RPSLow, med.RPSHigh)
			}
		})
	}
}
