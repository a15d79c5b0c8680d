package bench

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Hit is one visitor request of an open-loop load.
type Hit struct {
	// Class groups requests in the report (e.g. "page", "json", "feed",
	// "spike"); empty is "all".
	Class    string
	URL      string // the edge and path, e.g. http://127.0.0.1:8080/history.rss
	Host     string // the site's hostname
	Encoding string // Accept-Encoding, "" for identity
}

// Open describes one open-loop load: requests are sent at Rate whether or not
// earlier ones have been answered (vegeta starts another worker when all are
// busy), so a slow answer cannot slow the load down and hide itself
// (coordinated omission). Latency is measured from the moment a worker takes
// the request up (at once, as a busy pool grows) to the end of its body.
type Open struct {
	Name     string
	Rate     int           // requests per second (> 0)
	Duration time.Duration // > 0
	// Burst, if > 0, sends Burst requests at once and stops (Rate and
	// Duration are then ignored): a herd.
	Burst int
	// Next chooses the n-th request; it is called from many goroutines.
	Next func(n uint64) Hit
	// Timeout bounds one request (default 5 s); past it the request
	// counts as an error of kind "timeout".
	Timeout time.Duration
	// MaxConnections caps the connections per edge (default 0: no cap).
	MaxConnections int
	// MaxWorkers caps the requests in flight (default 4000, and at least
	// Burst). An overloaded target would otherwise draw ever more workers,
	// sockets and memory from the machine it shares; past the cap requests
	// are sent late, so a run that reaches it reports errors (timeouts)
	// rather than its own collapse.
	MaxWorkers int
	// Progress, if set, is told of the run as it goes.
	Progress *Progress
}

// OpenResult is what an open-loop load measured, seen from the visitors.
type OpenResult struct {
	Name       string        `json:"name"`
	Rate       int           `json:"target_rate"`
	Burst      int           `json:"burst,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	Requests   uint64        `json:"requests"`
	Throughput float64       `json:"throughput"` // answered 2xx/3xx per second
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	P999       time.Duration `json:"p999_ns"`
	Max        time.Duration `json:"max_ns"`
	// Errors counts failed requests by kind ("timeout", "connection
	// refused", "status 503", …).
	Errors map[string]uint64 `json:"errors"`
	// Served counts answered requests by the edge's X-Statusedge-Cache
	// header (l1, l2, origin, previous, skeleton, stale), as the visitors
	// saw it.
	Served map[string]uint64 `json:"served_by"`
	// MarkedStale counts answers marked X-Statusedge-Stale (the origin
	// failing: a page from L1 or an earlier copy, whatever its layer).
	MarkedStale uint64 `json:"marked_stale"`
	// Versions counts answered requests by the site version they carried
	// (X-Statusedge-Version).
	Versions map[string]uint64 `json:"versions"`
	// Classes are the same figures per Hit.Class.
	Classes []ClassResult `json:"classes,omitempty"`
	// Series is the latency over time, in bins of SeriesBin.
	Series    []Bin         `json:"series"`
	SeriesBin time.Duration `json:"series_bin_ns"`
	Started   time.Time     `json:"started"`

	latencies []time.Duration // every request's, for the histogram
	hdr       []byte          // vegeta's HDR histogram plot text
}

// ClassResult is one class of requests.
type ClassResult struct {
	Class    string        `json:"class"`
	Requests uint64        `json:"requests"`
	Errors   uint64        `json:"errors"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
}

// Bin is one slice of time of a load: when it starts (from the load's
// start), how many requests were sent in it and their latency.
type Bin struct {
	At       time.Duration `json:"at_ns"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
}

// ErrorCount is the total of r.Errors.
func (r OpenResult) ErrorCount() uint64 {
	var n uint64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Attack runs an open-loop load with vegeta and gathers its result. It
// stops early when ctx ends: the result then holds what was sent until then
// (a load may be ended by what runs beside it).
func Attack(ctx context.Context, o Open) (OpenResult, error) {
	if o.Next == nil || (o.Burst <= 0 && (o.Rate <= 0 || o.Duration <= 0)) {
		return OpenResult{}, errors.New("bench: an open load needs Next and a Rate and Duration, or a Burst")
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Timeout(o.Timeout), vegeta.KeepAlive(true), vegeta.Redirects(vegeta.NoFollow),
		vegeta.Workers(64), vegeta.HTTP2(false),
	}
	if o.MaxConnections > 0 {
		opts = append(opts, vegeta.MaxConnections(o.MaxConnections), vegeta.Connections(o.MaxConnections))
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 4000
	}
	if o.Burst > 0 {
		o.MaxWorkers = max(o.MaxWorkers, o.Burst)
		opts = append(opts, vegeta.Workers(uint64(o.Burst)))
	}
	opts = append(opts, vegeta.MaxWorkers(uint64(o.MaxWorkers)))
	atk := vegeta.NewAttacker(opts...)
	var (
		mu  sync.Mutex // vegeta's workers call the targeter at once
		seq uint64
	)
	targeter := func(t *vegeta.Target) error {
		mu.Lock()
		n := seq
		seq++
		mu.Unlock()
		h := o.Next(n)
		// The class rides on the URL's fragment, which is never sent, so
		// each result says which class it was.
		t.Method, t.URL = http.MethodGet, h.URL+"#"+h.Class
		t.Header = http.Header{"Host": {h.Host}}
		if h.Encoding != "" {
			t.Header.Set("Accept-Encoding", h.Encoding)
		}
		return nil
	}
	var pacer vegeta.Pacer = vegeta.ConstantPacer{Freq: o.Rate, Per: time.Second}
	dur := o.Duration
	if o.Burst > 0 {
		pacer = burst(o.Burst)
		dur = 0
	}
	started := time.Now()
	results := atk.Attack(targeter, pacer, dur, o.Name)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	res := OpenResult{Name: o.Name, Rate: o.Rate, Burst: o.Burst, Errors: map[string]uint64{}, Served: map[string]uint64{}, Versions: map[string]uint64{}, Started: started}
	var m vegeta.Metrics
	var samples []sample
	phase := o.Progress.Phase(o.Name, o.Duration, uint64(o.Burst))
	for r := range results {
		r.Body = nil
		m.Add(r)
		class := classFromURL(r.URL)
		failed := false
		switch {
		case r.Error != "":
			res.Errors[errorKind(r.Error)]++
			failed = true
		case r.Code >= 400 || r.Code == 0:
			res.Errors["status "+strconv.Itoa(int(r.Code))]++
			failed = true
		default:
			layer := r.Headers.Get("X-Statusedge-Cache")
			if layer == "" {
				layer = "none"
			}
			res.Served[layer]++
			if r.Headers.Get("X-Statusedge-Stale") != "" {
				res.MarkedStale++
			}
			if v := r.Headers.Get("X-Statusedge-Version"); v != "" {
				res.Versions[v]++
			}
		}
		samples = append(samples, sample{at: r.Timestamp.Sub(started), lat: r.Latency, err: failed, class: class})
		phase.Add(failed)
	}
	phase.Done()
	m.Close()
	res.Requests = m.Requests
	res.Duration = m.Duration + m.Wait
	if res.Duration > 0 {
		res.Throughput = float64(m.Requests-res.ErrorCount()) / res.Duration.Seconds()
	}
	res.P50, res.P90, res.P99 = m.Latencies.P50, m.Latencies.P90, m.Latencies.P99
	res.P999, res.Max = m.Latencies.Quantile(0.999), m.Latencies.Max
	var hdr strings.Builder
	if err := vegeta.NewHDRHistogramPlotReporter(&m).Report(&hdr); err == nil {
		res.hdr = []byte(hdr.String())
	}

	// Per class and over time, from the samples.
	byClass := map[string][]sample{}
	for _, s := range samples {
		res.latencies = append(res.latencies, s.lat)
		byClass[s.class] = append(byClass[s.class], s)
	}
	for _, c := range slices.Sorted(maps.Keys(byClass)) {
		errs, p50, p99, mx := summarize(byClass[c])
		res.Classes = append(res.Classes, ClassResult{Class: c, Requests: uint64(len(byClass[c])), Errors: uint64(errs), P50: p50, P99: p99, Max: mx})
	}
	total := res.Duration
	if o.Burst > 0 || total <= 0 {
		total = time.Since(started)
	}
	res.SeriesBin = max(100*time.Millisecond, (total / 200).Round(100*time.Millisecond))
	bins := map[int][]sample{}
	for _, s := range samples {
		bins[int(s.at/res.SeriesBin)] = append(bins[int(s.at/res.SeriesBin)], s)
	}
	for _, i := range slices.Sorted(maps.Keys(bins)) {
		errs, p50, p99, mx := summarize(bins[i])
		res.Series = append(res.Series, Bin{At: time.Duration(i) * res.SeriesBin, Requests: len(bins[i]), Errors: errs, P50: p50, P99: p99, Max: mx})
	}
	return res, nil
}

// sample is one request's result, kept for the histogram, the classes
// and the series.
type sample struct {
	at, lat time.Duration
	err     bool
	class   string
}

// summarize counts the failed samples of ss (not empty) and gives their
// latency's p50, p99 and max.
func summarize(ss []sample) (errs int, p50, p99, mx time.Duration) {
	lat := make([]time.Duration, len(ss))
	for i, s := range ss {
		lat[i] = s.lat
		if s.err {
			errs++
		}
	}
	slices.Sort(lat)
	return errs, nearestRank(lat, 0.5), nearestRank(lat, 0.99), lat[len(lat)-1]
}

// burst is a vegeta Pacer that sends n requests at once, then stops.
type burst uint64

func (b burst) Pace(_ time.Duration, hits uint64) (time.Duration, bool) { return 0, hits >= uint64(b) }
func (b burst) Rate(time.Duration) float64                              { return float64(b) }

// classFromURL recovers a request's class from the fragment the load put
// on its URL ("#class"); a fragment is never sent.
func classFromURL(u string) string {
	if i := strings.LastIndexByte(u, '#'); i >= 0 && i < len(u)-1 {
		return u[i+1:]
	}
	return "all"
}

// errorKind sorts a transport error into a few kinds a reader can act on.
func errorKind(msg string) string {
	switch {
	case strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return "timeout"
	case strings.Contains(msg, syscall.ECONNREFUSED.Error()):
		return "connection refused"
	case strings.Contains(msg, syscall.ECONNRESET.Error()) || strings.Contains(msg, "EOF"):
		return "connection reset"
	case strings.Contains(msg, "too many open files"):
		return "too many open files (client)"
	}
	return "other: " + truncate(msg, 80)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func nearestRank(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
