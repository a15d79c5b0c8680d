package origin

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Settings of the origin's HTTP servers (management, internal and public
// APIs): every phase of a request is bounded, so a client that drips its
// headers or body, or never reads the answer, holds a connection for
// seconds, not as long as it likes.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout bounds reading a whole request (headers and
	// body: MaxApplyBytes between replicas on a slow link fits).
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds a request from the end of its headers to
	// the end of its answer. Long polls (the internal versions stream) and
	// waits (a render waiting for a version) extend their own deadline by
	// what they wait (see extendWrite).
	DefaultWriteTimeout = 30 * time.Second
	DefaultIdleTimeout  = 60 * time.Second
	// MaxHeaderBytes caps a request's headers.
	MaxHeaderBytes = 64 << 10
	// DefaultMaxConns caps the connections one server holds at once; at
	// the cap it stops accepting until one closes.
	DefaultMaxConns = 4096
)

// HTTPServer returns the http.Server an origin replica serves h in, with
// the timeouts and caps above. Serve it on Listener(ln) to cap connections.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// Listener caps ln at max connections at once (0: DefaultMaxConns).
func Listener(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		max = DefaultMaxConns
	}
	return netutil.LimitListener(ln, max)
}

// extendWrite gives a request that waits (a long poll) wait more than the
// server's write timeout to answer. Servers without a write timeout are
// unaffected.
func extendWrite(w http.ResponseWriter, wait time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + DefaultWriteTimeout))
}
