package origin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is what a replica reports at GET /metrics (Prometheus text
// format, operator token): its place in raft, how far it has applied, and
// the latency of API requests and of proposed writes.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.HistogramVec // by route pattern and status code
	proposals *prometheus.HistogramVec // by outcome
	// diskStalls counts the times this replica stepped down on a stalled disk.
	diskStalls prometheus.Counter
	// registry counts what the internal registry route served: the whole
	// table ("full"), one site's entry ("entry"), or a 304 for an entry the
	// edge holds as it is ("unchanged"); registryBytes the bytes of the
	// first two.
	registry, registryBytes *prometheus.CounterVec
	// versions counts the versions answers, every site's (kind=full) or
	// the changes since the edge's last (kind=delta), and versionsSites
	// the sites they listed.
	versions, versionsSites *prometheus.CounterVec
	handler                 http.Handler
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "statusedge_origin_http_request_seconds", Help: "API requests by route and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"route", "code"})
	m.proposals = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "statusedge_origin_proposal_seconds",
		Help:    "Writes from proposal to commit (or forward and answer): applied, rejected by validation, or failed.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
	}, []string{"outcome"})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "statusedge_origin_" + name, Help: help}, f)
	}
	m.diskStalls = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "statusedge_origin_disk_stalls_total", Help: "Times this replica stepped down because a write to raft.db took longer than the stall bound.",
	})
	byKind := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statusedge_origin_" + name, Help: help}, []string{"kind"})
	}
	m.registry = byKind("registry_served_total", "Registry answers to edges: the whole table (kind=full), one site's entry (kind=entry), or that the entry the edge holds is current (kind=unchanged, a 304).")
	m.registryBytes = byKind("registry_served_bytes_total", "Bytes of registry answers to edges, by kind (full, entry).")
	m.versions = byKind("versions_served_total", "Versions answers to edges: every site's version (kind=full) or the changes since the edge's last answer (kind=delta).")
	m.versionsSites = byKind("versions_sites_total", "Sites listed in versions answers, by kind (full, delta).")
	m.reg.MustRegister(m.requests, m.proposals, m.diskStalls, m.registry, m.registryBytes, m.versions, m.versionsSites,
		gauge("fenced", "1 while this replica is cut off from raft because its disk stalled.", func() float64 { return b2f(n.Fenced()) }),
		gauge("is_leader", "1 while this replica is the raft leader.", func() float64 { return b2f(n.IsLeader()) }),
		gauge("ready", "1 once this replica has caught up with what it served before its last stop.", func() float64 { return b2f(n.Ready()) }),
		gauge("applied_index", "The last raft index this replica applied (site versions are raft indexes).", func() float64 { return float64(n.AppliedIndex()) }),
		gauge("last_index", "The last raft index in this replica's log.", func() float64 { return float64(n.raft.LastIndex()) }),
		gauge("raft_voters", "Voters in the raft configuration, as this replica knows it.", func() float64 { return float64(n.servers(raft.Voter)) }),
		gauge("raft_nonvoters", "Non-voters in the raft configuration, as this replica knows it.", func() float64 { return float64(n.servers(raft.Nonvoter)) }),
		gauge("sites", "Sites this replica holds.", func() float64 {
			var k int
			n.fsm.read(func(st *state) { k = len(st.Sites) })
			return float64(k)
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// servers counts the servers of one suffrage in the raft configuration.
func (n *Node) servers(s raft.ServerSuffrage) int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	k := 0
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == s {
			k++
		}
	}
	return k
}

// instrument records each request's latency by the route it matched.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern // set by the mux on this request
		if route == "" || route == "/" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

// observeProposal records one write's outcome and latency.
func (m *metrics) observeProposal(start time.Time, res *Result, err error) {
	outcome := "applied"
	switch {
	case err != nil:
		outcome = "failed"
	case res != nil && res.Err != nil:
		outcome = "rejected"
	}
	m.proposals.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
