package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoWrk is returned when the wrk load generator is not installed.
var ErrNoWrk = errors.New("bench: wrk not found (apt-get install wrk)")

// Load describes one wrk run.
type Load struct {
	Name        string        // what is measured, e.g. "edge" or "nginx"
	URL         string        // the target, on loopback
	Duration    time.Duration // default 10s
	Connections int           // default 64
	Threads     int           // default: one per core in CPUs, or 1
	Headers     []string      // "Name: value"
	// Script, when set, is a Lua script for wrk (-s): e.g. one that makes
	// up each request's path, or paces requests with delay().
	Script string
	// CPUs pins wrk to these cores with taskset (none: unpinned).
	CPUs []int
	// PID, when set, is the server process: the CPU time it and its
	// children use during the run is reported (Result.ServerCPU).
	PID int
}

// Result is what one run measured.
type Result struct {
	Name     string        `json:"name"`
	URL      string        `json:"url"`
	Requests int64         `json:"requests"`
	Duration time.Duration `json:"duration_ns"`
	RPS      float64       `json:"requests_per_second"`
	P50      time.Duration `json:"p50_ns"`
	P90      time.Duration `json:"p90_ns"`
	P99      time.Duration `json:"p99_ns"`
	// Errors counts socket errors and non-2xx/3xx answers.
	Errors int64 `json:"errors"`
	// ServerCPU is the CPU time the server used during the run (Load.PID),
	// and CPUPerRequest that divided by Requests: the server's cost per
	// request even when the load generator, not the server, is the limit.
	ServerCPU     time.Duration `json:"server_cpu_ns,omitempty"`
	CPUPerRequest time.Duration `json:"cpu_per_request_ns,omitempty"`
	// LoadCoreBusy is the share of the time the load generator's cores
	// (Load.CPUs, on average) were busy during the run, from /proc/stat,
	// whoever used them.
	// Near 1, the load generator limits the throughput as much as the
	// server does: CPUPerRequest is then the figure that compares servers.
	LoadCoreBusy float64 `json:"load_core_busy,omitempty"`
	// RPSLow and RPSHigh, when set, are the lowest and highest throughput
	// of the runs this result is the median of (see Median).
	RPSLow  float64 `json:"requests_per_second_low,omitempty"`
	RPSHigh float64 `json:"requests_per_second_high,omitempty"`
}

// Run runs wrk with --latency and parses its report.
func Run(ctx context.Context, l Load) (Result, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return Result{}, ErrNoWrk
	}
	if l.Duration <= 0 {
		l.Duration = 10 * time.Second
	}
	if l.Connections <= 0 {
		l.Connections = 64
	}
	if l.Threads <= 0 {
		l.Threads = max(len(l.CPUs), 1)
	}
	args := []string{"wrk", "--latency", "-t", strconv.Itoa(l.Threads), "-c", strconv.Itoa(l.Connections),
		"-d", fmt.Sprintf("%ds", int(l.Duration.Seconds()))}
	for _, h := range l.Headers {
		args = append(args, "-H", h)
	}
	if l.Script != "" {
		args = append(args, "-s", l.Script)
	}
	args = append(args, l.URL)
	if len(l.CPUs) > 0 {
		list := make([]string, len(l.CPUs))
		for i, c := range l.CPUs {
			list[i] = strconv.Itoa(c)
		}
		args = append([]string{"taskset", "-c", strings.Join(list, ",")}, args...)
	}
	var cpu0 time.Duration
	if l.PID > 0 {
		var err error
		if cpu0, err = ProcessCPU(l.PID); err != nil {
			return Result{}, err
		}
	}
	cores0 := readCores(l.CPUs)
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("bench: %s: %w: %s", strings.Join(args, " "), err, out)
	}
	busy := busySince(l.CPUs, cores0)
	r, err := ParseWrk(out)
	if err != nil {
		return Result{}, fmt.Errorf("bench: %s: %w", l.Name, err)
	}
	r.Name, r.URL, r.LoadCoreBusy = l.Name, l.URL, busy
	if l.PID > 0 {
		cpu1, err := ProcessCPU(l.PID)
		if err != nil {
			return Result{}, err
		}
		r.ServerCPU = cpu1 - cpu0
		if r.Requests > 0 {
			r.CPUPerRequest = r.ServerCPU / time.Duration(r.Requests)
		}
	}
	return r, nil
}

var (
	wrkTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct     = regexp.MustCompile(`^\s*(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// ParseWrk reads the report that `wrk --latency` prints.
func ParseWrk(out []byte) (Result, error) {
	var r Result
	var sawTotal, sawRPS bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := wrkTotal.FindStringSubmatch(line); m != nil {
			r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
			r.Duration = dur(m[2], m[3])
			sawTotal = true
		}
		if m := wrkRPS.FindStringSubmatch(line); m != nil {
			r.RPS, _ = strconv.ParseFloat(m[1], 64)
			sawRPS = true
		}
		if m := wrkPct.FindStringSubmatch(line); m != nil {
			d := dur(m[2], m[3])
			switch m[1] {
			case "50":
				r.P50 = d
			case "90":
				r.P90 = d
			case "99":
				r.P99 = d
			}
		}
		if m := wrkSockErr.FindStringSubmatch(line); m != nil {
			for _, s := range m[1:] {
				n, _ := strconv.ParseInt(s, 10, 64)
				r.Errors += n
			}
		}
		if m := wrkNon2xx.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			r.Errors += n
		}
	}
	if !sawTotal || !sawRPS {
		return r, fmt.Errorf("not a wrk --latency report: %.200q", out)
	}
	return r, nil
}

func dur(num, unit string) time.Duration {
	f, _ := strconv.ParseFloat(num, 64)
	switch unit {
	case "us":
		return time.Duration(f * float64(time.Microsecond))
	case "ms":
		return time.Duration(f * float64(time.Millisecond))
	case "m":
		return time.Duration(f * float64(time.Minute))
	}
	return time.Duration(f * float64(time.Second))
}

// Median is the run with the median throughput of runs of one target
// (the lower middle one of an even count), and the lowest and highest
// throughput among them. Taking it over rounds that alternate the order of
// the targets keeps a noisy machine, or being measured first, from
// deciding a comparison.
func Median(runs []Result) (med Result, lo, hi float64) {
	if len(runs) == 0 {
		return Result{}, 0, 0
	}
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b Result) int { return cmp.Compare(a.RPS, b.RPS) })
	med, lo, hi = s[(len(s)-1)/2], s[0].RPS, s[len(s)-1].RPS
	if len(s) > 1 {
		med.RPSLow, med.RPSHigh = lo, hi
	}
	return med, lo, hi
}
