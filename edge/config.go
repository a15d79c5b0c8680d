package edge

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Config.
const (
	DefaultL1Bytes        = 256 << 20
	DefaultRenderBudget   = 150 * time.Millisecond
	DefaultRenderTimeout  = 10 * time.Second
	DefaultEntryWait      = time.Second
	DefaultRedisTTL       = 24 * time.Hour
	DefaultRedisLocalTTL  = 30 * time.Second
	DefaultSessionTTL     = 12 * time.Hour
	DefaultVersionsWait   = 30 * time.Second
	DefaultRedisRetry     = time.Second
	DefaultRedisTimeout   = 100 * time.Millisecond
	DefaultPublicMaxAge   = 10 * time.Second
	DefaultBrotliLevel    = 6
	DefaultRenderAheadTry = 5 * time.Second
	DefaultMinuteLead     = 10 * time.Second
	// Render-ahead renders for the viewers seen on the edge within
	// DefaultRenderAheadSeen, at most DefaultRenderAheadPerSite pages per
	// site and version.
	DefaultRenderAheadSeen    = 10 * time.Minute
	DefaultRenderAheadPerSite = 32
	DefaultStaleAfter         = 5 * time.Second
	// A client may try DefaultLoginBurst passwords at once, then one per
	// DefaultLoginEvery; DefaultLoginClients clients are tracked at most.
	DefaultLoginBurst   = 10
	DefaultLoginEvery   = 6 * time.Second
	DefaultLoginClients = 100_000
	// Visitors' fills in flight at once, in total and per site.
	DefaultMaxFills        = 256
	DefaultMaxFillsPerSite = 32
)

// Config configures a Server. Zero fields take the documented defaults (see
// DefaultConfig); Origin is required.
type Config struct {
	// Region names the edge's region (logs and metrics).
	Region string
	// Origin is the region's origin replica (required).
	Origin Origin
	// Shell draws the skeleton page; nil uses PlainShell.
	Shell Shell
	// RedisAddr is the regional Redis (host:port); empty means no L2.
	RedisAddr string
	// L1Bytes bounds the in-process cache (cost = bytes).
	L1Bytes int64
	// RenderBudget is how long a visitor waits for a render before getting
	// the skeleton shell.
	RenderBudget time.Duration
	// RenderTimeout bounds one origin render (it runs in the background).
	RenderTimeout time.Duration
	// EntryWait is how long a visitor of a site that changed since the
	// edge's registry entry waits for the fresh entry (its access rules may
	// have changed, so nobody is admitted with the old one) while an origin
	// answers; past it, or at once when no origin has answered within
	// StaleAfter, RenderBudget bounds the wait, then 503. Default
	// DefaultEntryWait: the fetch is one small round trip, begun when the
	// edge heard of the version, so a visitor waits only on a slow origin.
	EntryWait time.Duration
	// RedisTTL is how long a page lives in Redis; RedisLocalTTL how long the
	// rueidis client-side cache may keep it (tracking invalidates it sooner).
	RedisTTL, RedisLocalTTL time.Duration
	// RedisTimeout bounds one Redis call; a call past it counts as Redis
	// being down (L1 and the origin only, for a second). Default
	// DefaultRedisTimeout: a regional Redis answers in well under it.
	RedisTimeout time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// SessionKey signs session cookies (HMAC-SHA256), at least 32 bytes.
	SessionKey []byte
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
	// PublicMaxAge is the max-age of public pages.
	PublicMaxAge time.Duration
	// BrotliLevel is the brotli quality used once per render (0..11).
	// DefaultBrotliLevel 6: on the demo page (142 KB) 7,850 bytes in about
	// 2.5–3.9 ms against quality 9's 7,420 bytes in 5.4–8.1 ms and a hash
	// table of 2 MiB against 32 MiB per compression slot
	// (BenchmarkCompressPage). Every update compresses each hot path once
	// per edge, so the quality decides how soon an edge switches to a new
	// version and how much CPU visitors lose meanwhile.
	BrotliLevel int
	// VersionsWait is the long poll's wait; 0 means the default, negative
	// disables the poll (gossip only).
	VersionsWait time.Duration
	// RenderAheadRetry is how often failed render-aheads are retried.
	RenderAheadRetry time.Duration
	// RenderAheadSeen: a new version's hot paths are rendered ahead only for
	// the viewers (the public, a private site's visitors, each audience)
	// admitted on this edge within it, most recent first and every viewer's
	// "/" before any other path; RenderAheadPerSite bounds the renders per
	// site and version (the rest render at their first visitor's miss).
	// Sites take turns (round robin), so one tenant's many viewers cannot
	// hold back another tenant's update. 0 means DefaultRenderAheadSeen and
	// DefaultRenderAheadPerSite.
	RenderAheadSeen    time.Duration
	RenderAheadPerSite int
	// MinuteLead is how long before a minute begins the hot paths of every
	// live site (something not operational: its pages hold one minute) are
	// rendered for it; 0 means DefaultMinuteLead, negative disables it
	// (visitors then get the previous minute's page while it renders).
	MinuteLead time.Duration
	// LoginBurst password attempts per client (an IPv4 address or an IPv6
	// /64) at once, then one per LoginEvery; LoginClients bounds how many
	// clients are tracked (past it, new clients wait).
	LoginBurst   int
	LoginEvery   time.Duration
	LoginClients int
	// MaxConns bounds the open visitor connections (0: the fd limit less
	// 128, at least 64); at the bound the edge stops accepting until one
	// closes. MaxConnsPerClient bounds one client's (IPv4 address or IPv6
	// /64; trusted proxies exempt) and closes the excess at once (0:
	// DefaultMaxConnsPerClient). Past 3/4 of MaxConns, or when an accept
	// fails for want of descriptors, every connection's idle (read)
	// timeout is cut to PressureIdle (0: DefaultPressureIdle).
	MaxConns          int
	MaxConnsPerClient int
	PressureIdle      time.Duration
	// StaleAfter bounds how out of date a page may be before it is marked
	// stale (the "last updated" note, X-Statusedge-Stale and a short
	// Cache-Control, from every layer and in every encoding): when no origin
	// replica has answered for StaleAfter (an Origin that is a Pinger is
	// pinged every StaleAfter/5), or a site's newest known version has not
	// been served for StaleAfter. 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// MaxFills bounds the fills (Redis, then an origin render) visitors'
	// misses run at once, MaxFillsPerSite one site's share of them (0:
	// DefaultMaxFills, DefaultMaxFillsPerSite). A miss past a bound starts
	// no fill: it gets the page's earlier copy, the skeleton (HTML) or 503,
	// so a flood of distinct keys cannot queue unbounded work or starve
	// other sites. Render-ahead is not counted (it has its own workers).
	MaxFills, MaxFillsPerSite int
	// LoopbackSite, when set, is the id of the site served for the Hosts
	// localhost, 127.0.0.0/8 and [::1] (any port), which no tenant can
	// claim. statusedge dev sets it to the demo site, so the URL it prints
	// works in every HTTP client; in production it stays empty and those
	// hosts serve no site.
	LoopbackSite string
	// Logger gets structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnDomains, if set, gets the verified custom domains of every site
	// after each registry load (the TLS layer's decision set; see https.go).
	OnDomains func(verified []string)
	// Collectors are more metrics on the edge's /metrics, labelled with its
	// region like its own (the TLS layer's handshake counts).
	Collectors []prometheus.Collector
}

// DefaultConfig returns a Config with every default filled in (Origin and
// SessionKey still need to be set).
func DefaultConfig() Config {
	return Config{
		L1Bytes: DefaultL1Bytes, RenderBudget: DefaultRenderBudget, RenderTimeout: DefaultRenderTimeout,
		RedisTTL: DefaultRedisTTL, RedisLocalTTL: DefaultRedisLocalTTL, RedisTimeout: DefaultRedisTimeout, SessionTTL: DefaultSessionTTL,
		RenderAheadRetry: DefaultRenderAheadTry, PublicMaxAge: DefaultPublicMaxAge, BrotliLevel: DefaultBrotliLevel, VersionsWait: DefaultVersionsWait,
		LoginBurst: DefaultLoginBurst, LoginEvery: DefaultLoginEvery, LoginClients: DefaultLoginClients,
	}
}

// ErrBadConfig is wrapped by Validate's errors.
var ErrBadConfig = errors.New("edge: bad config")

func (c *Config) fill() {
	d := DefaultConfig()
	c.L1Bytes = cmp.Or(c.L1Bytes, d.L1Bytes)
	c.RenderBudget = cmp.Or(c.RenderBudget, d.RenderBudget)
	c.RenderTimeout = cmp.Or(c.RenderTimeout, d.RenderTimeout)
	c.EntryWait = cmp.Or(c.EntryWait, DefaultEntryWait)
	c.RedisTTL = cmp.Or(c.RedisTTL, d.RedisTTL)
	c.RedisLocalTTL = cmp.Or(c.RedisLocalTTL, d.RedisLocalTTL)
	c.RedisTimeout = cmp.Or(c.RedisTimeout, d.RedisTimeout)
	c.SessionTTL = cmp.Or(c.SessionTTL, d.SessionTTL)
	c.PublicMaxAge = cmp.Or(c.PublicMaxAge, d.PublicMaxAge)
	c.BrotliLevel = cmp.Or(c.BrotliLevel, d.BrotliLevel)
	c.VersionsWait = cmp.Or(c.VersionsWait, d.VersionsWait)
	c.LoginBurst = cmp.Or(c.LoginBurst, d.LoginBurst)
	c.LoginEvery = cmp.Or(c.LoginEvery, d.LoginEvery)
	c.LoginClients = cmp.Or(c.LoginClients, d.LoginClients)
	c.MaxConnsPerClient = cmp.Or(c.MaxConnsPerClient, DefaultMaxConnsPerClient)
	c.MaxFills = cmp.Or(c.MaxFills, DefaultMaxFills)
	c.MaxFillsPerSite = cmp.Or(c.MaxFillsPerSite, DefaultMaxFillsPerSite)
	c.PressureIdle = cmp.Or(c.PressureIdle, DefaultPressureIdle)
	if c.MaxConns == 0 {
		c.MaxConns = defaultMaxConns()
	}
	if c.RenderAheadRetry <= 0 {
		c.RenderAheadRetry = DefaultRenderAheadTry
	}
	c.MinuteLead = cmp.Or(c.MinuteLead, DefaultMinuteLead)
	c.RenderAheadSeen = cmp.Or(c.RenderAheadSeen, DefaultRenderAheadSeen)
	c.RenderAheadPerSite = cmp.Or(c.RenderAheadPerSite, DefaultRenderAheadPerSite)
	c.StaleAfter = cmp.Or(c.StaleAfter, DefaultStaleAfter)
	if c.Shell == nil {
		c.Shell = PlainShell{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports the first problem with c (after defaults are applied).
func (c Config) Validate() error {
	c.fill()
	switch {
	case c.Origin == nil:
		return fmt.Errorf("%w: Origin is required", ErrBadConfig)
	case len(c.SessionKey) < 32:
		return fmt.Errorf("%w: SessionKey must be at least 32 bytes", ErrBadConfig)
	case c.L1Bytes < 1<<20:
		return fmt.Errorf("%w: L1Bytes %d is under 1 MiB", ErrBadConfig, c.L1Bytes)
	case c.RenderBudget < 0 || c.RenderTimeout < c.RenderBudget:
		return fmt.Errorf("%w: need 0 <= RenderBudget <= RenderTimeout", ErrBadConfig)
	case c.EntryWait < 0:
		return fmt.Errorf("%w: EntryWait %v < 0", ErrBadConfig, c.EntryWait)
	case c.BrotliLevel < 0 || c.BrotliLevel > 11:
		return fmt.Errorf("%w: BrotliLevel must be 0..11", ErrBadConfig)
	case c.RedisTimeout < 0:
		return fmt.Errorf("%w: RedisTimeout must not be negative", ErrBadConfig)
	case c.RedisTTL < time.Second || c.RedisLocalTTL < 0:
		return fmt.Errorf("%w: RedisTTL must be at least 1s", ErrBadConfig)
	case c.SessionTTL < time.Minute:
		return fmt.Errorf("%w: SessionTTL must be at least a minute", ErrBadConfig)
	case c.LoginBurst < 1 || c.LoginEvery <= 0 || c.LoginClients < 1:
		return fmt.Errorf("%w: LoginBurst, LoginEvery and LoginClients must be positive", ErrBadConfig)
	case c.RenderAheadSeen < 0 || c.RenderAheadPerSite < 1:
		return fmt.Errorf("%w: RenderAheadSeen must not be negative and RenderAheadPerSite must be positive", ErrBadConfig)
	case c.MaxFills < 1 || c.MaxFillsPerSite < 1:
		return fmt.Errorf("%w: MaxFills and MaxFillsPerSite must be positive", ErrBadConfig)
	case c.MaxConns < 1 || c.MaxConnsPerClient < 1 || c.PressureIdle <= 0:
		return fmt.Errorf("%w: MaxConns, MaxConnsPerClient and PressureIdle must be positive", ErrBadConfig)
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			return fmt.Errorf("%w: invalid trusted proxy prefix", ErrBadConfig)
		}
	}
	return nil
}
