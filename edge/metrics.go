package edge

import (
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func netDialer(timeout time.Duration) net.Dialer {
	return net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
}

// outcome is how a request was answered (the latency histogram's label).
type outcome uint8

const (
	outL1 outcome = iota
	outL2
	outOrigin
	outPrevious // a miss answered with the page's copy from an earlier day or version
	outSkeleton
	outStale
	outNotModified
	outDenied
	outError
	outOther
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"l1", "l2", "origin", "previous", "skeleton", "stale", "not_modified", "denied", "error", "other"}

// metrics are one Server's Prometheus collectors, on its own registry.
type metrics struct {
	reg         *prometheus.Registry
	hits        [3]prometheus.Counter // l1, l2, origin (per visitor)
	renders     prometheus.Counter
	renderErrs  prometheus.Counter
	coalesced   prometheus.Counter
	previous    prometheus.Counter
	skeletons   prometheus.Counter
	stales      prometheus.Counter
	markedStale prometheus.Counter
	throttled   prometheus.Counter
	redisErrors prometheus.Counter
	aheads      prometheus.Counter
	// Registry: whole-table loads and single entries fetched from the origin.
	registryLoads, entryFetches prometheus.Counter
	// aheadRenders counts render-ahead renders (new versions' and the
	// next minute's hot paths).
	aheadRenders prometheus.Counter
	// Connection handling (limitListener).
	conns          prometheus.Gauge
	connsRefused   prometheus.Counter
	acceptRetries  prometheus.Counter
	pressureEvents prometheus.Counter
	fillsRefused   prometheus.Counter
	passwordChecks prometheus.Counter
	latency        [numOutcomes]prometheus.Observer
}

func newMetrics(region string) *metrics {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"region": region}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "statusedge", Subsystem: "edge",
			Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(c)
		return c
	}
	hits := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "statusedge", Subsystem: "edge",
		Name: "hits_total", Help: "Visitor responses by the layer that had the page.", ConstLabels: labels},
		[]string{"layer"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "statusedge", Subsystem: "edge",
		Name: "request_duration_seconds", Help: "Time to answer a visitor, by outcome.", ConstLabels: labels,
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .15, .25, .5, 1, 2.5, 5, 10}},
		[]string{"outcome"})
	reg.MustRegister(hits, lat)
	m := &metrics{
		reg:           reg,
		renders:       counter("origin_renders_total", "Renders requested from the origin."),
		renderErrs:    counter("origin_errors_total", "Origin renders that failed."),
		coalesced:     counter("coalesced_waits_total", "Misses that waited on an identical in-flight fill."),
		previous:      counter("previous_serves_total", "Misses answered at once with the page's copy from an earlier day or version while the new one renders."),
		skeletons:     counter("skeleton_serves_total", "Skeleton shells served past the render budget."),
		stales:        counter("stale_serves_total", "Stale pages served because the origin failed."),
		markedStale:   counter("marked_stale_total", "Cached pages served marked stale: no origin answered, or a newer version is not served yet, for StaleAfter."),
		throttled:     counter("login_throttled_total", "Password attempts refused for too many attempts or too busy a check queue."),
		redisErrors:   counter("redis_errors_total", "Redis errors (each opens the breaker for a second)."),
		aheads:        counter("render_ahead_switches_total", "Sites switched to a newer version after rendering ahead."),
		aheadRenders:  counter("render_ahead_renders_total", "Pages rendered ahead of visitors (a new version's or the next minute's hot paths, for viewers seen recently)."),
		registryLoads: counter("registry_loads_total", "Whole registry tables loaded from the origin (at start, and to recover when too many sites moved at once)."),
		entryFetches:  counter("registry_entry_fetches_total", "Single sites' registry entries fetched from the origin (a site's version passed its entry's, or a new site)."),

		connsRefused:   counter("conns_refused_total", "Connections closed at accept: their client already held MaxConnsPerClient."),
		acceptRetries:  counter("accept_retries_total", "Accept failures retried (descriptors exhausted, connection aborted)."),
		passwordChecks: counter("password_checks_total", "Password hashes checked at login (one per attempt)."),
		fillsRefused:   counter("fills_refused_total", "Misses that started no fill: MaxFills or MaxFillsPerSite were in flight."),
		pressureEvents: counter("conn_pressure_total", "Times the edge cut idle timeouts because it neared MaxConns or ran out of descriptors."),
	}
	m.conns = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "statusedge", Subsystem: "edge",
		Name: "conns", Help: "Open visitor connections.", ConstLabels: labels})
	reg.MustRegister(m.conns)
	for i, l := range []string{"l1", "l2", "origin"} {
		m.hits[i] = hits.WithLabelValues(l)
	}
	for i := range numOutcomes {
		m.latency[i] = lat.WithLabelValues(outcomeNames[i])
	}
	return m
}
