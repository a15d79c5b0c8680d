package edge

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/statusedge/statusedge/content"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// ErrServerClosed is returned by Serve and ServeWith after Shutdown (it
// matches net.ErrClosed too).
var ErrServerClosed = fmt.Errorf("edge: server closed: %w", net.ErrClosed)

// Server is one edge node. Build it with New, serve with Serve or
// ListenAndServe, stop it with Shutdown.
type Server struct {
	cfg    Config
	log    *slog.Logger
	origin Origin
	shell  Shell
	signer *SessionSigner
	logins *loginThrottle
	m      *metrics
	l1     *l1
	l2     *l2 // nil without Redis
	comp   compressor

	tableMu sync.Mutex
	table   atomic.Pointer[table]
	domains atomic.Pointer[domainTable] // custom domains by name (https.go)
	zones   zoneCache                   // under tableMu
	ready   chan struct{}
	readyMu sync.Once

	flights       flightGroup
	fills         atomic.Int32 // visitor-started fills in flight (Config.MaxFills)
	lastOriginErr atomic.Int64 // unix ns of the last failed render
	// lastHeard is when (unix ns) an origin replica last answered; with a
	// Pinger origin, pages are marked stale once it is StaleAfter old.
	lastHeard atomic.Int64
	pinged    bool // the origin is a Pinger (so lastHeard is kept fresh)
	fatal     chan error
	aheadQ    *aheadQueue
	twins     chan twinJob // stale twins to encode (staleTwin)
	entries   entryFetcher

	csp      []byte
	ccPublic []byte
	hdr      *headerBlocks
	clock    func() time.Time // Config.Now if one was given, else nil
	metricH  fasthttp.RequestHandler
	keyBufs  sync.Pool

	closing atomic.Bool
	lnMu    sync.Mutex
	lns     []net.Listener     // every listener Serve and ServeWith were given, closed by Shutdown
	servers []*fasthttp.Server // ServeWith's, shut down with srv
	lim     *limiter           // every listener's connections
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	srv     *fasthttp.Server
}

// New validates cfg, builds the caches and starts the background work:
// loading the registry, following the versions stream, rendering ahead and
// (with RedisAddr) connecting to Redis.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	clock := cfg.Now // nil: the real clock, which the hot path reads from fasthttp
	cfg.fill()
	signer, err := NewSessionSigner(cfg.SessionKey)
	if err != nil {
		return nil, err
	}
	c1, err := newL1(cfg.L1Bytes)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, log: cfg.Logger.With("component", "edge", "region", cfg.Region), origin: cfg.Origin,
		shell: cfg.Shell, signer: signer, m: newMetrics(cfg.Region), l1: c1,
		logins: newLoginThrottle(cfg.LoginEvery, cfg.LoginBurst, cfg.LoginClients),
		comp:   compressor{brotliLevel: cfg.BrotliLevel},
		ready:  make(chan struct{}), aheadQ: newAheadQueue(), twins: make(chan twinJob, twinQueue), fatal: make(chan error, 1),
		flights: flightGroup{m: map[string]*call{}}, zones: zoneCache{},
		ctx: ctx, cancel: cancel, clock: clock,
	}
	s.keyBufs.New = func() any { b := make([]byte, 0, 256); return &b }
	if len(cfg.Collectors) > 0 {
		reg := prometheus.WrapRegistererWith(prometheus.Labels{"region": cfg.Region}, s.m.reg)
		for _, c := range cfg.Collectors {
			if err := reg.Register(c); err != nil {
				cancel()
				return nil, fmt.Errorf("%w: Collectors: %w", ErrBadConfig, err)
			}
		}
	}
	s.entries = entryFetcher{slots: make(chan struct{}, maxEntryFetches), absent: map[string]uint64{}}
	s.table.Store(&table{byHost: map[string]*site{}, byID: map[string]*site{}})
	s.csp = []byte(pageCSP)
	s.ccPublic = buildPublicCC(cfg.PublicMaxAge)
	s.hdr = newHeaderBlocks(s.csp, s.ccPublic)
	s.metricH = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	s.lim = newLimiter(cfg.MaxConns, cfg.MaxConnsPerClient, cfg.PressureIdle, cfg.TrustedProxies, s.m)
	s.srv = s.httpServer(s.PlainHandler(nil, false, ""), false) // pages, and pending domains' ownership tokens (https.go)
	if cfg.RedisAddr != "" {
		s.l2 = &l2{addr: cfg.RedisAddr, ttl: cfg.RedisTTL, localTTL: cfg.RedisLocalTTL, timeout: cfg.RedisTimeout,
			m: s.m, log: s.log, writes: make(chan l2Write, l2WriteQueue)}
		s.goBackground(func() {
			s.l2.connect(s.ctx, DefaultRedisRetry)
			if t := s.table.Load(); len(t.order) > 0 { // loaded before Redis was up
				if b, err := json.Marshal(t.registry()); err == nil {
					s.l2.putRegistry(s.ctx, b)
				}
			}
		})
		s.goBackground(func() { s.l2.writer(s.ctx) })
	}
	s.heard()
	if p, ok := cfg.Origin.(Pinger); ok {
		s.pinged = true
		s.goBackground(func() { s.pingLoop(p) })
	}
	s.goBackground(s.follow)
	s.goBackground(s.sweepLoop)
	if s.cfg.MinuteLead > 0 {
		s.goBackground(s.minuteLoop)
	}
	for range aheadWorkers {
		s.goBackground(s.renderAheadLoop)
	}
	s.goBackground(s.twinLoop)
	return s, nil
}

// HTTPServer is the fasthttp server an edge runs h in: its timeouts, limits
// and buffers. The load benchmark runs its bare yardstick in the same one,
// so that the comparison measures the edge's handler and nothing else.
// The edge's own servers (httpServer) leave the read timeouts, the same
// ones, to its connection limiter.
//
// An answer larger than the 4 KiB write buffer (a page is, compressed:
// 9 KiB for the demo) leaves in one writev of its headers and its cached
// bytes, uncopied: fasthttp does so on a *net.TCPConn, which is why the
// limiter hands out the connection itself. A smaller one is copied into
// the buffer and leaves in one write. Over TLS (no writev) the buffer is
// 16 KiB, so that a page and its headers leave in one record.
func HTTPServer(h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler: h, Name: "statusedge",
		ReadTimeout: readTimeout, WriteTimeout: 30 * time.Second, IdleTimeout: idleTimeout,
		MaxRequestBodySize: 16 << 10, ReadBufferSize: 8 << 10, WriteBufferSize: plainWriteBuffer,
		DisablePreParseMultipartForm: true, NoDefaultContentType: true,
		ErrorHandler: errorHandler(nil),
	}
}

// Write buffers: plain HTTP (answers past it go out by writev) and TLS.
const (
	plainWriteBuffer = 4 << 10
	tlsWriteBuffer   = 16 << 10
)

// httpServer is HTTPServer for h under the edge's connection limiter (its
// read deadlines, slots and first-byte tracking) and logger.
func (s *Server) httpServer(h fasthttp.RequestHandler, overTLS bool) *fasthttp.Server {
	srv := HTTPServer(h)
	srv.Logger = slogPrinter{s.log}
	srv.ReadTimeout, srv.IdleTimeout = 0, 0 // the limiter sets them (limiter)
	srv.ConnState = s.lim.connState
	srv.ErrorHandler = errorHandler(s.lim.sent)
	if overTLS {
		srv.WriteBufferSize = tlsWriteBuffer
	}
	return srv
}

// errorHandler answers a request fasthttp could not read as fasthttp
// would (431, 408, 400), but for a connection that timed out before its
// client sent a byte (sent reports it; nil: always sent): that one is
// closed unanswered, as an idle keep-alive is. A client that opened it
// and left it in its pool (an HTTP client that dialed for a request
// another connection then took) may be writing its first request on it
// just then, and would read an unsolicited 408 as the answer to that
// request; a connection closed unanswered it retries.
func errorHandler(sent func(net.Conn) bool) func(*fasthttp.RequestCtx, error) {
	return func(ctx *fasthttp.RequestCtx, err error) {
		var small *fasthttp.ErrSmallBuffer
		var ne net.Error
		switch {
		case errors.As(err, &small):
			ctx.Error("Too big request header", fasthttp.StatusRequestHeaderFieldsTooLarge)
		case errors.As(err, &ne) && ne.Timeout():
			if sent != nil && !sent(ctx.Conn()) {
				_ = ctx.Conn().Close()
				return
			}
			ctx.Error("Request timeout", fasthttp.StatusRequestTimeout)
		default:
			ctx.Error("Error when parsing request", fasthttp.StatusBadRequest)
		}
	}
}

func (s *Server) goBackground(f func()) {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); f() }()
}

type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }

// pageCSP is sent with every page: no inline script at all (the renderer
// emits none; the skeleton sends its own policy with its script's hash).
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: https: http:; connect-src 'self'; form-action 'self'; base-uri 'none'; " +
	"object-src 'none'; frame-ancestors 'none'"

// WaitReady blocks until the first registry is loaded or ctx ends.
func (s *Server) WaitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("edge: waiting for the registry: %w", ctx.Err())
	}
}

// Ready reports whether the edge has a registry (from its origin, or from
// Redis while the origin is down): before, it answers 503 to visitors and
// on GET /readyz.
func (s *Server) Ready() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// Err delivers the error that stopped the edge for good: the origin
// refused its secret (ErrUnauthorized), which no retry can mend. The
// caller should shut the edge down and exit.
func (s *Server) Err() <-chan error { return s.fatal }

// heard records that an origin replica answered.
func (s *Server) heard() { s.lastHeard.Store(time.Now().UnixNano()) }

// pingLoop keeps lastHeard fresh while any origin replica answers, so a
// quiet versions long poll does not mark pages stale.
// When the origin answers again after it did not (an outage or a
// partition healed), the edge catches up on every site's version at once.
func (s *Server) pingLoop(p Pinger) {
	every := s.cfg.StaleAfter / 5
	up := true
	s.every(every, func() {
		ctx, cancel := context.WithTimeout(s.ctx, every)
		defer cancel()
		if p.Ping(ctx) != nil {
			up = false
			return
		}
		s.heard()
		if !up {
			up = true
			s.catchUp()
		}
	})
}

// maxOriginBackoff bounds the wait between two tries of a failed registry
// load or versions poll, so an edge resumes soon after the origin does.
const maxOriginBackoff = time.Second

// catchUp asks the origin for every site's version now, instead of waiting
// for the long poll's next turn or gossip's anti-entropy.
func (s *Server) catchUp() {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RenderTimeout)
	defer cancel()
	vs, err := s.origin.Versions(ctx, 0, 0)
	if err != nil {
		s.log.Debug("catch up", "err", err)
		return
	}
	if err := s.takeVersions(vs); err != nil {
		s.log.Debug("catch up", "err", err)
	}
}

// every runs fn every d until the server stops.
func (s *Server) every(d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// originSilent reports whether no origin replica has answered for
// StaleAfter at now (unix ns).
func (s *Server) originSilent(now int64) bool {
	return s.pinged && now-s.lastHeard.Load() > int64(s.cfg.StaleAfter)
}

// Handler is the visitor-facing fasthttp handler (for tests and embedding).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Serve answers visitors on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.serveOn(s.srv, ln, nil)
}

// ServeWith answers on ln with h (HTTPSHandler, or the HTTPS layer's
// PlainHandler) until Shutdown, in a server of its own with Serve's
// timeouts (HTTPServer) and under the same connection limits: ln's
// connections count against MaxConns and MaxConnsPerClient together with
// every other listener's, accept failures are retried, and pressure cuts
// them all. With tlsCfg, ln is served with TLS (the handshake inside the
// read timeout).
func (s *Server) ServeWith(ln net.Listener, tlsCfg *tls.Config, h fasthttp.RequestHandler) error {
	srv := s.httpServer(h, tlsCfg != nil)
	s.lnMu.Lock()
	s.servers = append(s.servers, srv)
	s.lnMu.Unlock()
	return s.serveOn(srv, ln, tlsCfg)
}

// ServeMetrics answers GET /metrics (Prometheus text) on ln, and 404 to
// anything else, until Shutdown: the operator's own address
// (statusedge edge --metrics-listen), which visitors do not reach. The
// visitors' listener answers /metrics only to a loopback peer that no
// proxy forwarded (Server.operator).
func (s *Server) ServeMetrics(ln net.Listener) error {
	return s.ServeWith(ln, nil, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/metrics" || !(ctx.IsGet() || ctx.IsHead()) {
			ctx.Error("Not found.\n", fasthttp.StatusNotFound)
			return
		}
		s.metricH(ctx)
	})
}

func (s *Server) serveOn(srv *fasthttp.Server, ln net.Listener, tlsCfg *tls.Config) error {
	lim := s.lim.listen(ln)
	// A Serve that starts as Shutdown runs (or after it) must not accept:
	// fasthttp closes only the listeners it already serves.
	s.lnMu.Lock()
	if s.closing.Load() {
		s.lnMu.Unlock()
		_ = lim.Close()
		return ErrServerClosed
	}
	s.lns = append(s.lns, lim)
	s.lnMu.Unlock()
	var served net.Listener = lim
	if tlsCfg != nil {
		served = tls.NewListener(lim, tlsCfg)
	}
	err := srv.Serve(served)
	if s.closing.Load() {
		return ErrServerClosed
	}
	if err != nil {
		return fmt.Errorf("edge: serve: %w", err)
	}
	return nil
}

// ListenAndServe listens on addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("edge: listen: %w", err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting, drains in-flight requests (until ctx ends),
// then stops the background work and closes Redis.
func (s *Server) Shutdown(ctx context.Context) error {
	s.lnMu.Lock()
	s.closing.Store(true)
	lns, servers := s.lns, s.servers
	s.lnMu.Unlock()
	err := s.srv.ShutdownWithContext(ctx)
	for _, srv := range servers {
		if serr := srv.ShutdownWithContext(ctx); err == nil {
			err = serr
		}
	}
	for _, ln := range lns { // one fasthttp had not taken up yet
		_ = ln.Close()
	}
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	if s.l2 != nil {
		s.l2.close()
	}
	s.l1.c.Close()
	if err != nil {
		return fmt.Errorf("edge: shutdown: %w", err)
	}
	return nil
}

// Invalidate tells the edge that site siteID has reached version (gossip
// calls it; the versions long poll is the fallback). The edge fetches the
// site's registry entry if it is older than version (or the site is new to
// it), renders the hot paths of the new version in the background and
// switches when they are ready. Older versions are ignored.
func (s *Server) Invalidate(siteID string, version uint64) {
	st := s.table.Load().byID[siteID]
	if st == nil {
		s.newSite(siteID, version)
		return
	}
	if raise(&st.known, version) {
		st.behindSince.CompareAndSwap(0, time.Now().UnixNano())
		if st.entry.Load().e.Version < version {
			s.refreshEntry(siteID) // its access rules or hostnames may have changed
		}
		s.queueAhead(st)
	}
}

// Fresh reports whether every site the edge serves is served at the newest
// version it knows of (no render-ahead outstanding).
func (s *Server) Fresh() bool {
	for _, st := range s.table.Load().byID {
		if c := st.current.Load(); c != 0 && c < st.known.Load() {
			return false
		}
	}
	return true
}

// WaitFresh waits until Fresh: a restarted edge that has caught up on the
// versions it missed (gossip's anti-entropy) has also rendered them.
func (s *Server) WaitFresh(ctx context.Context) error {
	for !s.Fresh() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("edge: waiting for render-ahead: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// applyRegistry swaps in a new routing table built from a whole registry
// (a full load), keeping each site's state.
func (s *Server) applyRegistry(reg content.Registry) {
	s.tableMu.Lock()
	old := s.table.Load()
	order := make([]*site, 0, len(reg.Sites))
	var raised []*site
	for _, e := range reg.Sites {
		if e.ID == "" {
			continue
		}
		st := old.byID[e.ID]
		if st == nil {
			st = &site{id: e.ID}
		}
		s.storeEntry(st, e)
		order = append(order, st)
		if raise(&st.known, e.Version) {
			raised = append(raised, st)
		}
	}
	s.install(reg.Version, order)
	s.tableMu.Unlock()
	for _, st := range raised {
		s.queueAhead(st)
	}
	s.readyMu.Do(func() { close(s.ready) })
}

// follow loads the registry and then follows the versions long poll (or,
// gossip only, asks for the versions every DefaultVersionsWait), fetching
// the entries of the sites that moved (takeVersions). The whole registry is
// loaded again only when too many sites moved at once (errRegistryGap).
func (s *Server) follow() {
	backoff := 100 * time.Millisecond
	var after uint64
	loaded := false
	retry := func() bool {
		if !sleepCtx(s.ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, maxOriginBackoff)
		return true
	}
	for s.ctx.Err() == nil {
		if !loaded {
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RenderTimeout)
			reg, err := s.origin.Registry(ctx)
			cancel()
			if errors.Is(err, ErrUnauthorized) {
				s.log.Error("the origin refused the edge secret; stopping", "err", err)
				s.fatal <- fmt.Errorf("edge: registry: %w (check the edge secret)", err)
				return
			}
			if err != nil {
				s.log.Warn("registry load failed", "err", err)
				s.registryFromRedis()
				if !retry() {
					return
				}
				continue
			}
			s.heard()
			s.m.registryLoads.Inc()
			s.applyRegistry(reg)
			if s.l2 != nil { // else the Redis connect puts it once it is up
				if b, err := json.Marshal(reg); err == nil {
					s.l2.putRegistry(s.ctx, b)
				}
			}
			after, loaded, backoff = reg.Version, true, 100*time.Millisecond
			continue
		}
		var vs Versions
		var err error
		if s.cfg.VersionsWait < 0 {
			if !sleepCtx(s.ctx, DefaultVersionsWait) {
				return
			}
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RenderTimeout)
			vs, err = s.origin.Versions(ctx, after, 0) // a delta since the last
			cancel()
		} else {
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.VersionsWait+10*time.Second)
			vs, err = s.origin.Versions(ctx, after, s.cfg.VersionsWait)
			cancel()
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Warn("versions poll failed", "err", err)
			if !retry() {
				return
			}
			continue
		}
		s.heard()
		switch err := s.takeVersions(vs); {
		case errors.Is(err, errRegistryGap):
			s.log.Info("many sites moved at once: loading the whole registry", "err", err)
			loaded = false
		case err != nil:
			// Some entries could not be fetched: ask again (the answer
			// comes at once, after stays behind) after a pause.
			if !retry() {
				return
			}
		default:
			after, backoff = vs.Version, 100*time.Millisecond
		}
	}
}

// clampVersions takes back any version the edge heard of (gossip) that
// its origin says does not exist: the origin has applied the log past it
// and the site is not there, or the origin has still not got it a render
// timeout after the edge first saw it unconfirmed (a replica that lags
// that much cannot render it anyway; its versions answer raises the site
// again once it has it). Left in place, such a version would keep the
// site from ever moving (render-ahead would wait for it) or, for a site
// not yet served, answer 503 for good.
func (s *Server) clampVersions(vs Versions) {
	now := s.cfg.Now().UnixNano()
	for id, st := range s.table.Load().byID {
		truth, ok := vs.Sites[id]
		if !ok {
			continue
		}
		k := st.known.Load()
		if k <= truth {
			st.unconfirmed.Store(0)
			continue
		}
		since := st.unconfirmed.Load()
		if since == 0 {
			st.unconfirmed.CompareAndSwap(0, now)
		}
		if k > vs.Applied && (since == 0 || time.Duration(now-since) < s.cfg.RenderTimeout) {
			continue // not yet applied here; give it time
		}
		s.log.Warn("version heard of does not exist at the origin; clamped back", "site", id, "heard", k, "origin", truth, "applied", vs.Applied)
		for _, a := range []*atomic.Uint64{&st.known, &st.current} {
			for {
				v := a.Load()
				if v <= truth || a.CompareAndSwap(v, truth) {
					break
				}
			}
		}
		st.unconfirmed.Store(0)
	}
}

// registryFromRedis routes with the region's last known registry while the
// origin cannot be reached and this edge has none yet.
func (s *Server) registryFromRedis() {
	if s.l2 == nil || len(s.table.Load().byID) > 0 {
		return
	}
	b, ok := s.l2.getRegistry(s.ctx)
	if !ok {
		return
	}
	var reg content.Registry
	if err := json.Unmarshal(b, &reg); err != nil {
		s.log.Warn("registry in redis is malformed", "err", err)
		return
	}
	s.log.Warn("origin unreachable: routing with the registry from redis", "version", reg.Version)
	s.applyRegistry(reg)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sweepAhead queues every site whose known version is ahead of its served
// one (a render-ahead that failed is retried here).
func (s *Server) sweepAhead() {
	for _, st := range s.table.Load().byID {
		if st.known.Load() > st.current.Load() {
			s.queueAhead(st)
		}
	}
}

func (s *Server) sweepLoop() {
	s.every(s.cfg.RenderAheadRetry, func() {
		s.sweepAhead()
		s.saveRegistry()
	})
}

// minuteLoop renders, MinuteLead before each minute begins, the hot paths of
// every live site (its pages hold one minute) as of that minute, so the
// visitors of the new minute find them ready.
func (s *Server) minuteLoop() {
	for {
		now := s.cfg.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		if d := next.Sub(now) - s.cfg.MinuteLead; d > 0 && !sleepCtx(s.ctx, d) {
			return
		}
		for _, st := range s.table.Load().order {
			if s.ctx.Err() != nil {
				return
			}
			if ver := st.serveVersion(); st.minute(ver, next) != 0 {
				s.renderMinute(st, ver, next)
			}
		}
		if d := next.Sub(s.cfg.Now()); d > 0 && !sleepCtx(s.ctx, d) {
			return
		}
	}
}

// renderMinute renders the hot paths of version ver of a live site, for
// the viewers seen recently (as render-ahead does), as of the minute
// beginning at at.
func (s *Server) renderMinute(st *site, ver uint64, at time.Time) {
	se := st.entry.Load()
	day, minute := content.DayNumber(at, se.loc), at.Unix()/60
	for _, r := range s.aheadRenders(st, se, ver, day, minute, at, s.cfg.Now()) {
		s.m.aheadRenders.Inc()
		if c := s.fillNow(r); c.err != nil {
			s.log.Debug("minute render-ahead failed", "site", st.id, "version", ver, "path", r.path, "err", c.err)
			return
		}
	}
}

// fillNow fills r in this goroutine, or waits for the fill of the same key
// already running, and returns its call.
func (s *Server) fillNow(r fillReq) *call {
	c, leader := s.flights.join(r.base)
	if leader {
		s.fill(c, r)
	} else {
		<-c.done
	}
	return c
}

// freshEntry refreshes st's registry entry from the origin (one fetch per
// site at a time) and returns it, or nil if the origin did not answer
// within EntryWait (RenderBudget when no origin has answered lately: the
// visitor gets its 503 at once rather than after a wait that cannot end
// well). The origin's entry is as new as what it can render, so it is
// taken even if a replica behind the news is older than the version the
// edge heard of.
func (s *Server) freshEntry(st *site) *siteEntry {
	c := s.refreshEntry(st.id)
	wait := s.cfg.EntryWait
	if s.originSilent(time.Now().UnixNano()) {
		wait = min(wait, s.cfg.RenderBudget)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		return nil
	}
	if c.err != nil {
		return nil
	}
	return st.entry.Load()
}
