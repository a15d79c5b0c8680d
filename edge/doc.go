// Package edge is the node every visitor hits: a valyala/fasthttp gateway
// that maps the Host header to a site, admits the visitor (public, password
// session, CIDR allowlist, audience), and answers from memory.
//
// What flows in:
//   - the site registry and per-site versions from the origin's internal API
//     (an [Origin]: registry, render with min_version, the versions long
//     poll), and [Server.Invalidate] calls from the gossip layer;
//   - visitor requests (GET, HEAD, and the login form's POST).
//
// What flows out: page bytes, in identity, gzip and brotli, each compressed
// once per render. The read path is
//
//	Host → site → access → L1 (ristretto, cost = bytes)
//	     → L2 (regional Redis via rueidis, with client-side caching)
//	     → origin render (coalesced per key, under a time budget)
//
// The cache key is (site, version, audience-or-public, normalized path with
// the only honoured query parameter "page", site-local day, encoding), so
// nothing is ever purged: a new version makes new keys. Per site the edge
// holds the newest known version and the version it serves; it renders the
// hot paths of a newer version ahead of visitors (for the viewers it has seen
// recently, sites taking turns: ahead.go) and switches only when they are
// ready, and it never goes back to an older version. The registry it routes
// by is followed site by site (registry.go).
//
// While something on a site is not operational (the origin's render says
// X-Statusedge-Live) its pages hold one minute: the key's day gains the unix
// minute ("day@minute"), the origin renders as of the request's minute (at=),
// and MinuteLead before each minute the hot paths of every live site are
// rendered for it. An all-operational site's keys are the day's, as before.
// A version's first render tells which: it is stored under the right key.
//
// When a site's day (or, live, its minute) rolls over every key goes cold;
// while the origin is healthy the page's newest copy (same or newer version)
// answers at once and the new page renders behind it.
//
// Failure modes: past the render budget an HTML visitor gets the skeleton
// shell (no-store) and the render finishes in the background; with the
// origin unreachable the edge serves the newest copy it has with a visible
// "last updated" note and X-Statusedge-Stale: 1; with Redis down it uses L1
// and the origin; a page never rendered gives 503. Whenever the edge may be
// out of date (no origin replica has answered for StaleAfter, pinged every
// StaleAfter/5, or a site's newest known version has not been served for
// StaleAfter) every page of every layer and encoding is marked the same way:
// the note (HTML), the header and a short Cache-Control. The marked copy of
// a cached page (its stale twin) is built once, the first time it is
// served stale, and kept on the page, so a stale hit costs what a fresh one
// does. Nothing is compressed in a visitor's request for it (when the
// origin fails every page needs its twin at once): the first stale answer
// of a compressed page carries the note in identity encoding, and one
// worker builds the twin in the page's encoding behind it. An HTTPOrigin given fallbacks (other regions' replicas) renders
// from the next one when its own cannot answer. Before its first registry
// the edge answers 503 (never "no page here"); GET /livez and /readyz on
// any host that serves no site are its probes; an origin that refuses the
// edge's secret stops it (Server.Err).
//
// Hot path: an L1 hit allocates nothing (a session check included) and
// formats no header: the constant headers (security, Cache-Control, Vary,
// X-Statusedge-Cache) come from a block built once per Server (headerBlocks)
// and copied in one go, the page's bytes are handed to fasthttp without a
// copy, and the clock is the one fasthttp read as the request arrived.
//
// Memory: L1's cost is a variant's bytes (capacity, not length: bodies are
// trimmed to size when stored) plus a fixed allowance per entry; the
// stale-fallback copy of a page shares its bytes but is costed again, so
// the bound is conservative. Time zones are loaded once per name, the
// registry is kept once (decoded), and rueidis' client-side cache is bounded
// in total. Compression runs in at most GOMAXPROCS-1 slots (at least one),
// so visitors keep a core while a render compresses; each slot keeps its
// gzip and brotli writers (a brotli writer holds a hash table of 2 MiB at
// the default quality 6, 32 MiB at quality 9) across GCs instead of
// building them per render. Beside L1,
// the Go heap needs headroom for evicted pages not yet
// collected: run the edge with a soft memory limit (GOMEMLIMIT, or
// debug.SetMemoryLimit) of about the L1 bound plus 128 MiB. BenchmarkEdgeRSS
// measures all of this with 10,000 sites.
//
// Connections: the listener retries failed accepts (EMFILE and the like)
// with a backoff instead of ending the server, holds at most MaxConns (the
// fd limit less a reserve for Redis and the origin; at the bound it waits
// for a slot and the kernel's backlog queues the rest), closes a client's
// connections past MaxConnsPerClient (trusted proxies exempt), and under
// pressure (past 3/4 of MaxConns, or out of descriptors) closes each
// connection after its answer and cuts read deadlines to PressureIdle, so
// idle keep-alives cannot hold the edge. A connection whose client sent
// nothing by its read deadline is closed unanswered, never sent a 408
// (a client writing its first request on it would take that for its
// answer). The limiter sets every read deadline itself (fasthttp's rules:
// 10 s for a new connection's first request, 2 min for a kept-alive one's
// next first byte, 10 s from that byte), so pressure cuts each one; it
// hands fasthttp the *net.TCPConn itself and learns of each close from
// the server's ConnState hook. On such a connection fasthttp writes a page
// larger than the 4 KiB write buffer as one writev of its headers and its
// cached bytes, uncopied (see HTTPServer); over TLS the write buffer is
// 16 KiB, so a page and its headers leave in one record. A connection
// holds an 8 KiB read buffer.
//
// Each edge also leaves the registry in Redis, so an edge that starts while
// the origin is down still routes and serves what Redis holds.
//
// Private and audience pages are cached (L1 and Redis) only under their own
// audience's key ("private", "a:<audience id>", or "staff" for an audience
// site's staff, who see it whole): the audience in a key comes
// from a verified session or allowlist, never from the request, and access is
// decided before any cache read, so no visitor of another audience can reach
// such a key. Redis is internal to the region and never visitor-addressable.
//
// Example (example_test.go, run by go test): an edge in front of a
// one-replica origin, serving a page.
package edge
