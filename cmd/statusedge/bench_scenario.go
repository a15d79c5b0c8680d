package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/statusedge/statusedge/bench"
	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/dev"
	"github.com/statusedge/statusedge/edge"
	"github.com/statusedge/statusedge/gossip"
	"github.com/statusedge/statusedge/gossip/gossiptest"
)

// Bounds on what one scenario may ask for: a benchmark is a bounded test,
// never an open-ended load on somebody's hosts.
const (
	maxScenarioDuration = 10 * time.Minute
	maxScenarioRate     = 50_000
	maxHerd             = 20_000
	maxSites            = 10_000
)

// scenarioPaths are the paths a visitor mix asks for: the page, the JSON
// API and the feeds (the edge renders exactly these ahead of visitors).
var scenarioPaths = []struct {
	class, path string
	weight      float64
}{{"page", "/", 0.6}, {"json", "/api/v2/summary.json", 0.25}, {"feed", "/history.rss", 0.1}, {"feed", "/history.atom", 0.05}}

// scenarioEncodings are the Accept-Encoding headers of the mix, by share.
var scenarioEncodings = []struct {
	enc    string
	weight float64
}{{"gzip, deflate, br", 0.7}, {"gzip", 0.2}, {"", 0.1}}

// scenario is what one `statusedge bench SCENARIO` run is given.
type scenario struct {
	name     string
	out      string
	duration time.Duration
	rate     int
	sites    int
	regions  int
	herd     int
	conns    int
	every    time.Duration // spike: time between updates
	seed     uint64
	command  string

	// --target mode
	targets []string
	hosts   []string
	api     string
	token   string
	allowed []string

	targetSite, targetComp string
	gossipOnly             bool
	cpuProfile             string
	traceFile              string
	connsSet               bool

	// propagation
	changes  int
	latency  time.Duration
	loss     float64
	variants []string

	progress *bench.Progress
	stdout   io.Writer
}

// system is what a scenario runs against: a local one it started, or the
// edges an SRE named.
type system struct {
	edges  []bench.Target // name, URL, Host of the busiest site
	hosts  []string       // site hostnames, most popular first
	writer bench.Writer   // nil API: no writes possible
	site   string         // the site updates go to (slug)
	comp   string         // its component whose status flips
	local  *dev.System
	client *http.Client
	// maxConns caps the connections per edge (0: none).
	maxConns int
	stop     func()
}

func benchScenario(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	sc, code := parseScenario(name, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "statusedge bench %s: %v\n", name, err); return 1 }
	if sc.cpuProfile != "" {
		f, err := os.Create(sc.cpuProfile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	if sc.traceFile != "" {
		f, err := os.Create(sc.traceFile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return fail(err)
		}
		defer trace.Stop()
	}
	var rep bench.Report
	var err error
	switch name {
	case "steady":
		rep, err = runSteady(ctx, sc)
	case "herd":
		rep, err = runHerd(ctx, sc)
	case "spike":
		rep, err = runSpike(ctx, sc)
	case "outage":
		rep, err = runOutage(ctx, sc)
	case "propagation":
		rep, err = runPropagationScenario(ctx, sc)
	}
	if err != nil {
		return fail(err)
	}
	rep.Command = sc.command
	files, err := rep.Write(sc.out)
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, rep.Markdown())
	fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(files, ", "))
	return 0
}

// parseScenario reads the flags; a code ≥ 0 means stop with it.
func parseScenario(name string, args []string, stdout, stderr io.Writer) (*scenario, int) {
	sc := &scenario{name: name, stdout: stdout, command: "statusedge bench " + strings.Join(append([]string{name}, args...), " ")}
	fs := flag.NewFlagSet("statusedge bench "+name, flag.ContinueOnError)
	defDur, defRate, defSites := 20*time.Second, 1000, 100
	switch name {
	case "steady":
		defSites = 1000
	case "outage":
		defDur = 30 * time.Second
	case "herd":
		defSites = 1
	case "propagation":
		defRate = 1000
	}
	fs.StringVar(&sc.out, "out", "bench-out/"+name, "directory for report.md, report.json and plots")
	fs.DurationVar(&sc.duration, "duration", defDur, "length of the load (at most "+maxScenarioDuration.String()+")")
	fs.IntVar(&sc.rate, "rate", defRate, "requests per second offered (open loop)")
	fs.IntVar(&sc.sites, "sites", defSites, "sites of the local system (Zipf popularity; the demo site is the most popular)")
	fs.IntVar(&sc.regions, "regions", 1, "regions of the local system (the multi-region harness for more than 1)")
	fs.IntVar(&sc.herd, "visitors", 10_000, "herd: visitors arriving at once")
	fs.IntVar(&sc.conns, "connections", 4000, "herd: most connections per edge (client and edge share the process's file limit)")
	fs.DurationVar(&sc.every, "every", time.Second, "spike: time between two updates")
	seed := fs.Uint64("seed", 1, "seed of the visitor mix")
	fs.Func("target", "an edge `URL` to load instead of a local system (repeatable; loopback or a host named by --allow-host)", func(s string) error {
		sc.targets = append(sc.targets, s)
		return nil
	})
	fs.Func("host", "with --target: a site `hostname` the edges serve (repeatable; the first is the busiest)", func(s string) error {
		sc.hosts = append(sc.hosts, s)
		return nil
	})
	fs.Func("allow-host", "with --target: a non-loopback `host` that may be loaded (repeatable)", func(s string) error {
		sc.allowed = append(sc.allowed, strings.ToLower(s))
		return nil
	})
	fs.StringVar(&sc.api, "api", "", "with --target: the management API `URL` updates go to (herd, spike, propagation)")
	fs.StringVar(&sc.token, "token", os.Getenv("STATUSEDGE_TOKEN"), "with --api: an operator or site token ($STATUSEDGE_TOKEN)")
	site := fs.String("site", "", "with --api: the site (slug or id) to update and its --component")
	comp := fs.String("component", "", "with --api: the component id whose status the updates flip")
	fs.StringVar(&sc.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (system and load) to `file`")
	fs.StringVar(&sc.traceFile, "trace", "", "write a runtime execution trace of the whole run to `file` (go tool trace)")
	fs.IntVar(&sc.changes, "changes", 30, "propagation: writes per variant")
	sc.latency = 100 * time.Millisecond
	fs.Func("latency", "propagation: one-way `latency` between regions (gossip, raft) and from the writer to the API (default 100ms)", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("--latency: %q is not a duration", s)
		}
		sc.latency = d
		return nil
	})
	fs.Float64Var(&sc.loss, "loss", 0.3, "propagation: gossip packet loss of the loss variant")
	variants := fs.String("variants", "plain,spike,loss", "propagation: which variants to run (plain, spike, loss)")
	fs.BoolVar(&sc.gossipOnly, "gossip-only", false, "propagation: edges learn of versions by gossip alone (the versions long poll off), to measure gossip itself")
	if ok, code := parseFlags(fs, args, stdout, stderr); !ok {
		return nil, code
	}
	usage := func(format string, a ...any) (*scenario, int) {
		fmt.Fprintf(stderr, "statusedge bench %s: "+format+"\n", append([]any{name}, a...)...)
		return nil, 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	sc.seed = *seed
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "connections" {
			sc.connsSet = true
		}
	})
	sc.progress = bench.NewProgress(stderr, isTerminal(stderr))
	switch {
	case sc.duration < time.Second || sc.duration > maxScenarioDuration:
		return usage("--duration must be between 1s and %s", maxScenarioDuration)
	case sc.rate < 1 || sc.rate > maxScenarioRate:
		return usage("--rate must be between 1 and %d", maxScenarioRate)
	case sc.herd < 1 || sc.herd > maxHerd:
		return usage("--visitors must be between 1 and %d", maxHerd)
	case sc.conns < 1:
		return usage("--connections must be ≥ 1")
	case sc.sites < 1 || sc.sites > maxSites:
		return usage("--sites must be between 1 and %d", maxSites)
	case sc.regions < 1 || sc.regions > 6:
		return usage("--regions must be between 1 and 6")
	case sc.every < 100*time.Millisecond:
		return usage("--every must be ≥ 100ms")
	case sc.changes < 1 || sc.changes > 10_000:
		return usage("--changes must be between 1 and 10000")
	case sc.latency < 0 || sc.latency > 5*time.Second:
		return usage("--latency must be between 0 and 5s")
	case sc.loss < 0 || sc.loss >= 1:
		return usage("--loss must be in [0, 1)")
	}
	for _, v := range strings.Split(*variants, ",") {
		v = strings.TrimSpace(v)
		if v != "plain" && v != "spike" && v != "loss" {
			return usage("--variants: unknown variant %q (plain, spike, loss)", v)
		}
		sc.variants = append(sc.variants, v)
	}
	if len(sc.targets) == 0 {
		if len(sc.hosts) > 0 || sc.api != "" || len(sc.allowed) > 0 || *site != "" || *comp != "" {
			return usage("--host, --api, --allow-host, --site and --component go with --target")
		}
	} else {
		if name == "outage" {
			return usage("outage stops the origin and Redis, so it runs only against the local system it starts (no --target)")
		}
		if len(sc.hosts) == 0 {
			return usage("--target needs at least one --host (a site the edges serve)")
		}
		for _, t := range append(slices.Clone(sc.targets), sc.api) {
			if t == "" {
				continue
			}
			if err := allowedURL(t, sc.allowed); err != nil {
				return usage("%v", err)
			}
		}
		for _, h := range sc.hosts {
			if h == "" || strings.ContainsAny(h, "/:@ ") {
				return usage("--host %q: want a bare hostname", h)
			}
		}
		needWrites := name == "herd" || name == "spike" || name == "propagation"
		if needWrites && (sc.api == "" || sc.token == "" || *site == "" || *comp == "") {
			return usage("%s publishes updates: give --api, --token, --site and --component", name)
		}
		sc.api = strings.TrimSuffix(sc.api, "/")
		sc.hosts = slices.Compact(sc.hosts)
		sc.sitesTarget(*site, *comp)
	}
	if name == "propagation" && len(sc.targets) == 0 && sc.regions == 1 {
		sc.regions = 3
	}
	return sc, -1
}

// sitesTarget keeps the --site and --component of a --target run.
func (sc *scenario) sitesTarget(site, comp string) { sc.targetSite, sc.targetComp = site, comp }

// allowedURL accepts http URLs to loopback or to a host named by
// --allow-host, with no path, query or credentials.
func allowedURL(raw string, allowed []string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL (want http://host:port)", raw)
	}
	switch {
	case u.Scheme == "https":
		return fmt.Errorf("%q: https is not yet supported (the tls scenario comes with the tls issue)", raw)
	case u.Scheme != "http":
		return fmt.Errorf("%q: want an http:// URL", raw)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: want only scheme, host and port", raw)
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || slices.Contains(allowed, host) {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q: refusing to load %s: only loopback, or a host also named with --allow-host %s", raw, host, host)
}

// start gives the scenario its system: the edges named, or a local one.
func (sc *scenario) start(ctx context.Context, cfg dev.Config) (*system, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	if len(sc.targets) > 0 {
		s := &system{hosts: sc.hosts, client: client, site: sc.targetSite, comp: sc.targetComp, stop: func() {}}
		// An edge closes a client's connections past its per-client bound
		// (edge.DefaultMaxConnsPerClient): all of this load is one client.
		if !sc.connsSet {
			sc.conns = edge.DefaultMaxConnsPerClient * 3 / 4
		}
		s.maxConns = sc.conns
		for i, t := range sc.targets {
			s.edges = append(s.edges, bench.Target{Name: fmt.Sprintf("edge %d (%s)", i+1, t), URL: strings.TrimSuffix(t, "/"), Host: sc.hosts[0]})
		}
		if sc.api != "" {
			s.writer = bench.Writer{API: sc.api, Token: sc.token, Client: client}
		}
		return s, nil
	}
	dir, err := os.MkdirTemp("", "statusedge-bench-")
	if err != nil {
		return nil, err
	}
	cfg.DataDir = filepath.Join(dir, "data")
	if cfg.Regions == 0 {
		cfg.Regions = sc.regions
	}
	cfg.StartRedis = true
	// The load comes from one address standing for many visitors: the
	// edge's bound on one client's connections would cut it.
	cfg.EdgeHook = func(_ string, c *edge.Config) { c.MaxConnsPerClient = 1 << 20 }
	sc.progress.Printf("starting a local system: %d region(s), %d site(s)…", cfg.Regions, sc.sites)
	sys, err := dev.Start(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &system{local: sys, client: client, site: "acme"}
	s.stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = sys.Shutdown(sctx)
		os.RemoveAll(dir)
	}
	if err := addSites(ctx, sys, sc.sites-1); err != nil {
		s.stop()
		return nil, err
	}
	s.hosts = append(s.hosts, demo.Hostname)
	for i := 1; i < sc.sites; i++ {
		s.hosts = append(s.hosts, benchSiteHost(i))
	}
	for _, r := range sys.Regions {
		s.edges = append(s.edges, bench.Target{Name: "edge " + r.Name, URL: r.PageURL, Host: demo.Hostname})
	}
	for _, c := range sys.Regions[0].Origin.Site("acme").Components {
		if !c.Group {
			s.comp = c.ID
			break
		}
	}
	s.writer = bench.Writer{API: sys.Regions[0].APIURL, Token: sys.OperatorToken, Client: client}
	return s, nil
}

func benchSiteHost(i int) string { return fmt.Sprintf("s%05d.localhost", i) }

// addSites imports n copies of the demo site under their own ids and
// hostnames, a few at a time (raft batches them), and waits until every
// replica has them.
func addSites(ctx context.Context, sys *dev.System, n int) error {
	if n <= 0 {
		return nil
	}
	leader := sys.Regions[0].Origin
	now := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		last uint64
	)
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s := demo.Operational(now) // all operational: its pages hold all day (a live site's hold a minute)
				s.ID = fmt.Sprintf("bench%07d", i)
				s.Slug = fmt.Sprintf("s%05d", i)
				s.Name = fmt.Sprintf("Bench site %d", i)
				s.Hostnames = []string{benchSiteHost(i)}
				s.URL = "http://" + benchSiteHost(i)
				// Calm sites, as most are on any day: every component
				// operational, so their pages hold all day (a live site's
				// hold a minute). The demo site, the busiest, stays live.
				for _, c := range s.Components {
					c.Status = content.Operational
				}
				got, err := leader.ImportSite(ctx, s)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("site %d: %w", i, err))
				} else {
					last = max(last, got.Version)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 1; i <= n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, r := range sys.Regions {
		if err := r.Origin.WaitVersion(ctx, fmt.Sprintf("bench%07d", n), 0); err != nil {
			return fmt.Errorf("region %s: %w", r.Name, err)
		}
	}
	// The edges route by the registry they follow: wait until each serves
	// the last site.
	for _, r := range sys.Regions {
		if err := waitServed(ctx, r.PageURL, benchSiteHost(n)); err != nil {
			return fmt.Errorf("edge %s: %w", r.Name, err)
		}
	}
	return nil
}

func waitServed(ctx context.Context, edgeURL, host string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, edgeURL+"/", nil)
		req.Host = host
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not served after 60s", host)
}

// mix chooses requests: a site by Zipf popularity over hosts (exponent 1;
// hot, if > 0, gets hot times the weight of the busiest other site), a
// path and an encoding by share, an edge in turn. It is deterministic in
// the request number, so any worker may call it.
type mix struct {
	edges    []bench.Target
	hosts    []string
	cum      []float64 // cumulative site weights, normalized
	paths    []float64
	encs     []float64
	seed     uint64
	hotClass string
}

func newMix(edges []bench.Target, hosts []string, hot float64, seed uint64) *mix {
	m := &mix{edges: edges, hosts: hosts, seed: seed}
	w := make([]float64, len(hosts))
	for i := range w {
		w[i] = 1 / float64(i+1)
	}
	if hot > 0 && len(w) > 1 {
		w[0] = hot * w[1]
		m.hotClass = "spiked site"
	}
	m.cum = cumulative(w)
	pw := make([]float64, len(scenarioPaths))
	for i, p := range scenarioPaths {
		pw[i] = p.weight
	}
	m.paths = cumulative(pw)
	ew := make([]float64, len(scenarioEncodings))
	for i, e := range scenarioEncodings {
		ew[i] = e.weight
	}
	m.encs = cumulative(ew)
	return m
}

func cumulative(w []float64) []float64 {
	var sum float64
	for _, x := range w {
		sum += x
	}
	out := make([]float64, len(w))
	var acc float64
	for i, x := range w {
		acc += x / sum
		out[i] = acc
	}
	out[len(out)-1] = 1
	return out
}

func pick(cum []float64, u float64) int {
	i, _ := slices.BinarySearch(cum, u)
	return min(i, len(cum)-1)
}

// splitmix64: three independent uniform numbers per request number.
func uniform(seed, n uint64, k uint64) float64 {
	z := seed + n*0x9e3779b97f4a7c15 + k*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

func (m *mix) next(n uint64) bench.Hit {
	s := pick(m.cum, uniform(m.seed, n, 1))
	p := scenarioPaths[pick(m.paths, uniform(m.seed, n, 2))]
	e := scenarioEncodings[pick(m.encs, uniform(m.seed, n, 3))]
	edge := m.edges[n%uint64(len(m.edges))]
	class := p.class
	if s == 0 && m.hotClass != "" {
		class = m.hotClass
	}
	return bench.Hit{Class: class, URL: edge.URL + p.path, Host: m.hosts[s], Encoding: e.enc}
}

// warm asks every edge for every site's paths in every encoding until
// each answers a full page (twice: ristretto may drop a first Set), so the
// load that follows measures cache hits and every site is "served" (the
// edge renders ahead only sites it has served).
func (s *system) warm(ctx context.Context, p *bench.Progress, hosts []string) error {
	type job struct{ edge, host, path, enc string }
	var jobs []job
	for _, e := range s.edges {
		for _, h := range hosts {
			for _, sp := range scenarioPaths {
				for _, se := range scenarioEncodings {
					jobs = append(jobs, job{e.URL, h, sp.path, se.enc})
				}
			}
		}
	}
	p.Printf("warming %d pages on %d edge(s)…", len(jobs)/len(scenarioEncodings)/len(s.edges), len(s.edges))
	for pass := range 2 {
		ch := make(chan job)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range ch {
					if err := fetchFull(ctx, s.client, j.edge+j.path, j.host, j.enc); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
				}
			}()
		}
		for _, j := range jobs {
			ch <- j
		}
		close(ch)
		wg.Wait()
		if firstErr != nil {
			return fmt.Errorf("warm-up pass %d: %w", pass+1, firstErr)
		}
	}
	return nil
}

// fetchFull gets url until the edge answers a full page (not the skeleton).
func fetchFull(ctx context.Context, client *http.Client, u, host, enc string) error {
	var last string
	for range 100 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Host = host
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Statusedge-Skeleton") == "" {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s (Host %s): %s", u, host, last)
}

// scrape reads every edge's counters; an edge that does not answer
// /metrics (not on loopback, or not an edge) is left out with a note.
func (s *system) scrape(ctx context.Context) ([]bench.EdgeCounts, []string) {
	var out []bench.EdgeCounts
	var notes []string
	for _, e := range s.edges {
		c, err := bench.ScrapeEdge(ctx, s.client, e.Name, e.URL)
		if err != nil {
			notes = append(notes, err.Error())
			c = bench.EdgeCounts{Edge: e.Name}
		}
		out = append(out, c)
	}
	return out, notes
}

func sub(after, before []bench.EdgeCounts) []bench.EdgeCounts {
	out := make([]bench.EdgeCounts, len(after))
	for i := range after {
		out[i] = after[i].Sub(before[i])
	}
	return out
}

// measureOpts are what runs around a measured load.
type measureOpts struct {
	// before runs after the first scrape, just before the load (a write).
	before func(ctx context.Context) error
	// during runs alongside the load (updates, faults) and returns its
	// marks, from the moment it started.
	during func(ctx context.Context, start time.Time) []bench.Mark
	// endWithDuring stops the load when during returns.
	endWithDuring bool
}

// measured runs one load between two scrapes of the edges.
func (s *system) measured(ctx context.Context, o bench.Open, mo measureOpts) (bench.LoadRun, []string, error) {
	before, notes := s.scrape(ctx)
	if mo.before != nil {
		if err := mo.before(ctx); err != nil {
			return bench.LoadRun{}, notes, err
		}
	}
	var marks []bench.Mark
	var wg sync.WaitGroup
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	dctx, stopDuring := context.WithCancel(ctx)
	start := time.Now()
	if mo.during != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			marks = mo.during(dctx, start)
			if mo.endWithDuring {
				stopLoad()
			}
		}()
	}
	res, err := bench.Attack(lctx, o)
	stopDuring()
	wg.Wait()
	if err != nil {
		return bench.LoadRun{}, notes, err
	}
	if ctx.Err() != nil {
		return bench.LoadRun{}, notes, ctx.Err()
	}
	// The edges count a request once they have answered it: a short pause
	// lets the last answers' counters land before the second scrape.
	time.Sleep(200 * time.Millisecond)
	after, n2 := s.scrape(ctx)
	if len(notes) == 0 {
		notes = n2
	}
	off := res.Started.Sub(start)
	for i := range marks {
		marks[i].At -= off
	}
	return bench.LoadRun{Load: res, Edges: sub(after, before), Before: before, After: after, Marks: marks}, notes, nil
}

func (sc *scenario) report(title string, sys *system) bench.Report {
	setup := map[string]string{
		"cores":      strconv.Itoa(runtime.NumCPU()),
		"GOMAXPROCS": strconv.Itoa(runtime.GOMAXPROCS(0)),
		"load":       "open loop, vegeta as a library; the latency of each request from the moment a worker takes it up",
		"visitors":   fmt.Sprintf("Zipf over %d site(s); paths: page 60%%, JSON summary 25%%, RSS 10%%, Atom 5%%; Accept-Encoding: gzip+br 70%%, gzip 20%%, none 10%%", len(sys.hosts)),
	}
	if sys.local != nil {
		setup["system"] = fmt.Sprintf("local, started by the benchmark in its own process: %d region(s), each an origin replica (raft on disk), an edge, gossip and a redis-server; the load generator shares the machine", len(sys.local.Regions))
	} else {
		setup["system"] = fmt.Sprintf("--target: %d edge(s) given on the command line", len(sys.edges))
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		setup["load average before"] = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	return bench.Report{Title: title, When: time.Now(), Setup: setup}
}

// startWarm starts the system and warms every site's pages.
func (sc *scenario) startWarm(ctx context.Context) (*system, error) {
	sys, err := sc.start(ctx, dev.Config{})
	if err != nil {
		return nil, err
	}
	if err := sys.warm(ctx, sc.progress, sys.hosts); err != nil {
		sys.stop()
		return nil, err
	}
	return sys, nil
}

func runSteady(ctx context.Context, sc *scenario) (bench.Report, error) {
	sys, err := sc.startWarm(ctx)
	if err != nil {
		return bench.Report{}, err
	}
	defer sys.stop()
	rep := sc.report("steady: cache hits over many sites", sys)
	m := newMix(sys.edges, sys.hosts, 0, sc.seed)
	run, notes, err := sys.measured(ctx, bench.Open{Name: "steady", Rate: sc.rate, Duration: sc.duration, Next: m.next, MaxConnections: sys.maxConns, Progress: sc.progress}, measureOpts{})
	if err != nil {
		return rep, err
	}
	rep.Runs, rep.Notes = append(rep.Runs, run), append(rep.Notes, notes...)
	rep.Checks = append(rep.Checks, checkErrors(run, "no visitor errors"), checkNoWait(run))
	rep.Notes = append(rep.Notes, "The closed-loop maximum next to nginx and bare fasthttp is `statusedge bench load`.")
	return rep, nil
}

func checkErrors(run bench.LoadRun, goal string) bench.Check {
	n := run.Load.ErrorCount()
	return bench.Check{Goal: goal, Got: fmt.Sprintf("%d errors of %d requests", n, run.Load.Requests), Met: n == 0}
}

// checkNoWait: no visitor waited for a render (no answer from the origin
// layer, no skeleton). Misses answered at once with an earlier copy, and
// misses that joined another's fill, are shown too.
func checkNoWait(run bench.LoadRun) bench.Check {
	var origin, sk, co, prev float64
	for _, e := range run.Edges {
		origin += e.Hits["origin"]
		sk += e.Skeletons
		co += e.Coalesced
		prev += e.Previous
	}
	return bench.Check{Goal: "no visitor waits for a render",
		Got: fmt.Sprintf("%.0f answers from a render, %.0f skeletons (%.0f misses joined a fill, %.0f answered with an earlier copy)", origin, sk, co, prev),
		Met: origin == 0 && sk == 0}
}

func runHerd(ctx context.Context, sc *scenario) (bench.Report, error) {
	sys, err := sc.start(ctx, dev.Config{})
	if err != nil {
		return bench.Report{}, err
	}
	defer sys.stop()
	host := sys.hosts[0]
	if err := sys.warm(ctx, sc.progress, []string{host}); err != nil {
		return bench.Report{}, err
	}
	// Half the herd wants the page, a quarter the JSON summary (both
	// rendered ahead of visitors), a quarter /history, which the edge does
	// not render ahead: at the new version its first visitor's render is
	// the herd's to share.
	paths := []struct{ class, path string }{{"page", "/"}, {"page", "/"}, {"json", "/api/v2/summary.json"}, {"cold page", "/history"}}
	for _, e := range sys.edges {
		if err := fetchFull(ctx, sys.client, e.URL+"/history", host, "gzip, deflate, br"); err != nil {
			return bench.Report{}, err
		}
	}
	rep := sc.report("herd: an update, then visitors all at once", sys)
	next := func(n uint64) bench.Hit {
		p := paths[n%uint64(len(paths))]
		e := sys.edges[(n/uint64(len(paths)))%uint64(len(sys.edges))]
		return bench.Hit{Class: p.class, URL: e.URL + p.path, Host: host, Encoding: "gzip, deflate, br"}
	}
	var version uint64
	var ack time.Duration
	publish := func(ctx context.Context) (err error) {
		version, ack, err = sys.writer.SetStatus(ctx, sys.site, sys.comp, "degraded_performance")
		return err
	}
	run, notes, err := sys.measured(ctx, bench.Open{Name: "herd", Burst: sc.herd, Next: next, MaxConnections: sc.conns, Timeout: 30 * time.Second, Progress: sc.progress}, measureOpts{before: publish})
	if err != nil {
		return rep, err
	}
	run.Marks = []bench.Mark{{At: -ack, Label: "update published"}}
	rep.Runs, rep.Notes = append(rep.Runs, run), append(rep.Notes, notes...)
	rep.Setup["visitors"] = "a quarter each: the page twice, the JSON summary, /history (not rendered ahead); Accept-Encoding gzip+br"
	rep.Setup["herd"] = fmt.Sprintf("%d visitors at once over at most %d connections per edge, sent right after the write of version %d was acknowledged (%s)", sc.herd, sc.conns, version, ms(ack))
	// One render per key per edge: the four paths the edge renders ahead
	// and /history, each for one audience (public). /history renders only
	// if the herd met the new version (the edge serves the old one until
	// the four hot paths are ready).
	// The demo site is live: a minute beginning meanwhile renders its
	// four hot paths again.
	minutes := minutesSpanned(run.Load.Started, run.Load.Duration)
	keys := 5 + 4*minutes
	newer := run.Load.Versions[strconv.FormatUint(version, 10)]
	for _, e := range run.Edges {
		rep.Checks = append(rep.Checks, bench.Check{Goal: "at most one origin render per key (" + e.Edge + ")",
			Got: fmt.Sprintf("%.0f renders for %d keys (4 rendered ahead, /history by the herd if it met the new version, 4 per minute begun: %d); %.0f misses joined another's render, %.0f got an earlier copy", e.Renders, keys, minutes, e.Coalesced, e.Previous), Met: e.Renders <= float64(keys)})
	}
	rep.Checks = append(rep.Checks, bench.Check{Goal: "visitors of the new version (reported)", Got: fmt.Sprintf("%d of %d answers carried version %d (the others the one before)", newer, run.Load.Requests, version), Met: true})
	rep.Checks = append(rep.Checks, checkErrors(run, "no visitor errors"),
		bench.Check{Goal: "p99 of the herd (reported)", Got: ms(run.Load.P99), Met: true})
	return rep, nil
}

func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// updates publishes one status flip every `every` until ctx ends, and
// returns the marks, at the moment of each acknowledgment.
func (s *system) updates(every time.Duration, acks *[]time.Duration) func(ctx context.Context, start time.Time) []bench.Mark {
	return func(ctx context.Context, start time.Time) []bench.Mark {
		var marks []bench.Mark
		statuses := []string{"degraded_performance", "operational"}
		t := time.NewTicker(every)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return marks
			case <-t.C:
			}
			// A write once started is seen through, so every published
			// update is counted even when the load ends meanwhile.
			_, ack, err := s.writer.SetStatus(context.WithoutCancel(ctx), s.site, s.comp, statuses[n%2])
			if err != nil {
				marks = append(marks, bench.Mark{At: time.Since(start), Label: "update failed"})
				continue
			}
			if acks != nil {
				*acks = append(*acks, ack)
			}
			marks = append(marks, bench.Mark{At: time.Since(start), Label: "update published"})
		}
	}
}

func runSpike(ctx context.Context, sc *scenario) (bench.Report, error) {
	sys, err := sc.startWarm(ctx)
	if err != nil {
		return bench.Report{}, err
	}
	defer sys.stop()
	rep := sc.report("spike: one site at 100× the others, an update every "+sc.every.String(), sys)
	// The same offered load twice: without updates (the baseline), then
	// with them.
	m := newMix(sys.edges, sys.hosts, 100, sc.seed)
	base, notes, err := sys.measured(ctx, bench.Open{Name: "spike baseline (no updates)", Rate: sc.rate, Duration: sc.duration, Next: m.next, MaxConnections: sys.maxConns, Progress: sc.progress}, measureOpts{})
	if err != nil {
		return rep, err
	}
	var acks []time.Duration
	spike, n2, err := sys.measured(ctx, bench.Open{Name: "spike with updates", Rate: sc.rate, Duration: sc.duration, Next: m.next, MaxConnections: sys.maxConns, Progress: sc.progress}, measureOpts{during: sys.updates(sc.every, &acks)})
	if err != nil {
		return rep, err
	}
	rep.Runs = append(rep.Runs, base, spike)
	rep.Notes = append(rep.Notes, notes...)
	rep.Notes = append(rep.Notes, n2...)
	rep.Samples = append(rep.Samples, bench.Samples{Name: "write ack (spike)", Values: acks})
	published := 0
	for _, mk := range spike.Marks {
		if mk.Label == "update published" {
			published++
		}
	}
	bt, st := base.Load.Throughput, spike.Load.Throughput
	rep.Checks = append(rep.Checks,
		bench.Check{Goal: "throughput ≥ 0.9× without updates", Got: fmt.Sprintf("%.0f vs %.0f ok/s (%.2f×)", st, bt, st/bt), Met: st >= 0.9*bt},
		bench.Check{Goal: "p99 ≤ 2× without updates", Got: fmt.Sprintf("%s vs %s (%.2f×)", ms(spike.Load.P99), ms(base.Load.P99), float64(spike.Load.P99)/float64(max(base.Load.P99, 1))), Met: spike.Load.P99 <= 2*base.Load.P99},
		checkNoWait(spike), checkErrors(spike, "no visitor errors"))
	// The busiest site is live (not all operational): its pages are also
	// rendered ahead for each new minute.
	minutes := minutesSpanned(spike.Load.Started, spike.Load.Duration)
	for _, e := range spike.Edges {
		want := float64((published + minutes) * len(scenarioPaths))
		rep.Checks = append(rep.Checks, bench.Check{Goal: "renders only ahead, at most one per (site, version, minute, path, audience) (" + e.Edge + ")",
			Got: fmt.Sprintf("%.0f renders for (%d updates + %d minutes) × %d hot paths; %.0f render-ahead switches", e.Renders, published, minutes, len(scenarioPaths), e.RenderAheadSwaps),
			Met: e.Renders <= want && e.Hits["origin"] == 0})
	}
	return rep, nil
}

// minutesSpanned counts the minutes a live site's pages are rendered ahead
// for during a load: each minute that begins within it or within the
// edge's lead (10 s) after it.
func minutesSpanned(start time.Time, d time.Duration) int {
	first := start.Truncate(time.Minute).Add(time.Minute)
	n := 0
	for m := first; !m.After(start.Add(d).Add(edge.DefaultMinuteLead)); m = m.Add(time.Minute) {
		n++
	}
	return n
}

func runOutage(ctx context.Context, sc *scenario) (bench.Report, error) {
	sys, err := sc.startWarm(ctx)
	if err != nil {
		return bench.Report{}, err
	}
	defer sys.stop()
	rep := sc.report("outage: the origin, then Redis, stopped mid-run; then both back", sys)
	m := newMix(sys.edges, sys.hosts, 0, sc.seed)
	// One request in 20 asks for the busiest site's /history, which the
	// edge does not render ahead: after an update it is a miss that needs
	// the origin, so while the origin is down it is answered from an
	// earlier copy (stale) or not at all. Updates go on through the run.
	hist := func(n uint64) bench.Hit {
		if n%20 != 7 {
			return m.next(n)
		}
		e := sys.edges[n%uint64(len(sys.edges))]
		return bench.Hit{Class: "history (not rendered ahead)", URL: e.URL + "/history", Host: sys.hosts[0], Encoding: "gzip, deflate, br"}
	}
	for _, e := range sys.edges {
		if err := fetchFull(ctx, sys.client, e.URL+"/history", sys.hosts[0], "gzip, deflate, br"); err != nil {
			return rep, err
		}
	}
	updates := sys.updates(sc.every, nil)
	d := sc.duration
	steps := []struct {
		at    time.Duration
		label string
		do    func(ctx context.Context) error
	}{
		{d / 5, "origin stopped", func(ctx context.Context) error {
			return eachRegion(sys, func(i int) error { return sys.local.StopOrigin(ctx, i) })
		}},
		{d * 2 / 5, "redis stopped", func(ctx context.Context) error {
			return eachRegion(sys, func(i int) error { sys.local.Regions[i].Redis.Stop(); return nil })
		}},
		{d * 3 / 5, "origin back", func(ctx context.Context) error {
			return eachRegion(sys, func(i int) error { return sys.local.StartOrigin(ctx, i) })
		}},
		{d * 3 / 5, "redis back", func(ctx context.Context) error {
			return eachRegion(sys, func(i int) error { return sys.local.Regions[i].Redis.Restart(ctx) })
		}},
	}
	var stepErr error
	during := func(ctx context.Context, start time.Time) (marks []bench.Mark) {
		var upd []bench.Mark
		done := make(chan struct{})
		go func() { defer close(done); upd = updates(ctx, start) }()
		defer func() { <-done; marks = append(marks, upd...) }()
		for _, st := range steps {
			select {
			case <-ctx.Done():
				return marks
			case <-time.After(time.Until(start.Add(st.at))):
			}
			if err := st.do(context.WithoutCancel(ctx)); err != nil && stepErr == nil {
				stepErr = fmt.Errorf("%s: %w", st.label, err)
			}
			marks = append(marks, bench.Mark{At: time.Since(start), Label: st.label})
		}
		return marks
	}
	run, notes, err := sys.measured(ctx, bench.Open{Name: "outage", Rate: sc.rate, Duration: d, Next: hist, MaxConnections: sys.maxConns, Progress: sc.progress}, measureOpts{during: during})
	if err != nil {
		return rep, err
	}
	rep.Runs, rep.Notes = append(rep.Runs, run), append(rep.Notes, notes...)
	if stepErr != nil {
		rep.Notes = append(rep.Notes, "A step of the outage failed: "+stepErr.Error())
	}
	var stale float64
	for _, e := range run.Edges {
		stale += e.Stales
	}
	rep.Checks = append(rep.Checks, checkErrors(run, "0 visitor errors for pages seen before"),
		bench.Check{Goal: "stale serves counted", Got: fmt.Sprintf("%.0f misses answered stale (the edges' stale_serves_total); %d answers marked X-Statusedge-Stale in all", stale, run.Load.MarkedStale), Met: true})
	rep.Setup["outage"] = fmt.Sprintf("every page of the mix was seen before the load; one request in 20 is the busiest site's /history (not rendered ahead); an update to that site every %s (they fail while the origin is down); the origin's API stopped at %s, Redis at %s, both back at %s", sc.every, d/5, d*2/5, d*3/5)
	return rep, nil
}

func eachRegion(sys *system, f func(i int) error) error {
	var errs []error
	for i := range sys.local.Regions {
		errs = append(errs, f(i))
	}
	return errors.Join(errs...)
}

func runPropagationScenario(ctx context.Context, sc *scenario) (bench.Report, error) {
	var rep bench.Report
	for i, v := range sc.variants {
		samples, run, setup, err := propagationVariant(ctx, sc, v)
		if err != nil {
			return rep, fmt.Errorf("variant %s: %w", v, err)
		}
		if i == 0 {
			rep = bench.Report{Title: fmt.Sprintf("propagation: write acknowledged → every edge serves it, %s one way between regions", sc.latency), When: time.Now(), Setup: setup}
		}
		rep.Samples = append(rep.Samples, samples...)
		if run != nil {
			rep.Runs = append(rep.Runs, *run)
		}
		limit := sc.latency + 100*time.Millisecond
		var worst time.Duration
		for _, s := range samples {
			if !strings.HasPrefix(s.Name, "write ack") {
				worst = max(worst, s.Quantile(0.99))
			}
		}
		rep.Checks = append(rep.Checks, bench.Check{Goal: fmt.Sprintf("%s: p99 ack → every edge ≤ %s", v, limit), Got: "p99 of the slowest edge " + ms(worst), Met: worst <= limit})
		for _, s := range samples {
			if strings.HasPrefix(s.Name, "write ack") {
				rep.Checks = append(rep.Checks, bench.Check{Goal: v + ": write acknowledgment (reported)", Got: fmt.Sprintf("p50 %s, p99 %s", ms(s.Quantile(0.5)), ms(s.Quantile(0.99))), Met: true})
			}
		}
	}
	return rep, nil
}

// propagationVariant runs one propagation measurement on a fresh system:
// plain, under the spike's load, or with gossip loss.
func propagationVariant(ctx context.Context, sc *scenario, variant string) ([]bench.Samples, *bench.LoadRun, map[string]string, error) {
	network := gossiptest.NewNetwork(sc.seed)
	network.SetLatency(sc.latency)
	if variant == "loss" {
		network.SetLoss(sc.loss, 0, 0)
	}
	var hookErr error
	cfg := dev.Config{GossipOnly: sc.gossipOnly, RaftLatency: sc.latency, GossipHook: func(name string, c *gossip.Config) {
		tr, err := network.Listen(name[strings.LastIndex(name, "-")+1:], 0, nil)
		if err != nil {
			hookErr = err
			return
		}
		c.Transport = tr
	}}
	sites := sc.sites
	if variant != "spike" {
		sc.sites = 1
	}
	sys, err := sc.start(ctx, cfg)
	sc.sites = sites
	if err != nil {
		return nil, nil, nil, err
	}
	defer sys.stop()
	if hookErr != nil {
		return nil, nil, nil, hookErr
	}
	w := sys.writer
	if sys.local != nil && sc.latency > 0 {
		// The writer is a region away from the API too.
		px, err := dev.ListenDelay("127.0.0.1:0", strings.TrimPrefix(w.API, "http://"), sc.latency)
		if err != nil {
			return nil, nil, nil, err
		}
		defer px.Close()
		w.API = "http://" + px.Addr
		w.Client = &http.Client{Timeout: 10 * time.Second}
	}
	var targets []bench.Target
	for _, e := range sys.edges {
		targets = append(targets, bench.Target{Name: fmt.Sprintf("%s, %s", e.Name, variant), URL: e.URL, Host: sys.hosts[0]})
	}
	setup := map[string]string{
		"cores": strconv.Itoa(runtime.NumCPU()), "changes": strconv.Itoa(sc.changes) + " per variant",
		"gap":     "500ms at least between changes",
		"latency": fmt.Sprintf("%s one way, added between regions to gossip (a delaying memberlist transport) and raft (a delaying TCP proxy each replica advertises), and from the writer to the API (the same proxy)", sc.latency),
		"edges":   "learn of new versions by gossip and by the versions long poll on their own region's replica (as deployed)",
		"spike":   fmt.Sprintf("the spike variant loads every edge at %d req/s (one site at 100× the others, %d sites) while measuring; its writes are the updates", sc.rate, sc.sites),
		"loss":    fmt.Sprintf("the loss variant drops %.0f%% of gossip packets", sc.loss*100),
	}
	if sc.gossipOnly {
		setup["edges"] = "learn of new versions by gossip only (--gossip-only: the versions long poll is off)"
	}
	if sys.local != nil {
		setup["regions"] = strconv.Itoa(len(sys.local.Regions))
	}
	if variant != "spike" {
		samples, err := bench.Propagation(ctx, w, sys.site, sys.comp, targets, sc.changes, 0, 500*time.Millisecond)
		renameAck(samples, variant)
		return samples, nil, setup, err
	}
	if err := sys.warm(ctx, sc.progress, sys.hosts); err != nil {
		return nil, nil, nil, err
	}
	m := newMix(sys.edges, sys.hosts, 100, sc.seed)
	var samples []bench.Samples
	var perr error
	var marks []bench.Mark
	during := func(ctx context.Context, start time.Time) []bench.Mark {
		samples, perr = bench.Propagation(ctx, w, sys.site, sys.comp, targets, sc.changes, 0, 500*time.Millisecond)
		return marks
	}
	// The load lasts as long as the changes take: Propagation ends it.
	run, _, err := sys.measured(ctx, bench.Open{Name: "propagation under the spike's load", Rate: sc.rate, Duration: maxScenarioDuration, Next: m.next, MaxConnections: sys.maxConns, Progress: sc.progress},
		measureOpts{during: during, endWithDuring: true})
	if err != nil {
		return nil, nil, nil, err
	}
	if perr != nil {
		return nil, nil, nil, perr
	}
	renameAck(samples, variant)
	return samples, &run, setup, nil
}

func renameAck(samples []bench.Samples, variant string) {
	for i := range samples {
		if samples[i].Name == "write ack" {
			samples[i].Name = "write ack, " + variant
		}
	}
}

// isTerminal reports whether w is a terminal (the progress bar) or not
// (plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
