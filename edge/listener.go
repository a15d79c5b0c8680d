package edge

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Connection limits (Config.MaxConns, MaxConnsPerClient, PressureIdle).
const (
	// DefaultMaxConnsPerClient bounds one client's (an IPv4 address or an
	// IPv6 /64) open connections; trusted proxies are exempt.
	DefaultMaxConnsPerClient = 256
	// DefaultPressureIdle is the idle timeout once the edge holds more than
	// pressureShare of MaxConns (or an accept failed for want of fds).
	DefaultPressureIdle = 5 * time.Second
	// fdReserve is what MaxConns leaves of the fd limit for Redis, the
	// origin, the listener itself, files and the runtime.
	fdReserve = 128
	// minMaxConns is the floor of the MaxConns derived from the fd limit.
	minMaxConns = 64
	// pressureShare: past 3/4 of MaxConns, idle connections get
	// PressureIdle instead of the full idle timeout.
	pressureNum, pressureDen = 3, 4
	maxAcceptBackoff         = time.Second
)

// defaultMaxConns is the fd limit less fdReserve: the edge refuses
// connections before the process runs out of descriptors, so it never sees
// EMFILE from its own visitors.
func defaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<20 {
		return 1 << 16
	}
	return max(int(rl.Cur)-fdReserve, minMaxConns)
}

// limiter bounds the visitors' connections over every listener the edge
// serves (Serve's, and the HTTPS layer's through ServeWith): one MaxConns
// and one per-client count for all of them. Each listener's Accept:
//   - retries temporary failures (EMFILE, ENFILE, ECONNABORTED, ...) with a
//     backoff of 5 ms doubling to 1 s, as net/http does, instead of ending
//     the server as fasthttp would;
//   - holds at most max connections: at the bound it waits for one to
//     close (the kernel's backlog holds the rest), so the process keeps
//     descriptors for Redis and the origin;
//   - closes a client's connection past perClient at once (trusted
//     proxies, which carry many visitors, are exempt);
//   - under pressure (past 3/4 of max, or after an fd failure) cuts every
//     connection's read deadline to pressureIdle and the Server closes
//     each connection after its answer, so idle keep-alives (the cheapest
//     way to hold a slot) give way at once to the visitors queued behind
//     them, and a connection that sends nothing goes after pressureIdle.
//
// Accept hands fasthttp the connection itself (a *net.TCPConn), not a
// wrapper: only on a connection it knows the type of does fasthttp write
// an answer larger than its write buffer as one writev from where the
// bytes are (HTTPServer). So the limiter learns of a connection's life
// from the server's ConnState hook (connState), and sets its read
// deadlines there itself, where pressure can cut each of them: fasthttp
// sets none (its ReadTimeout and IdleTimeout are 0, httpServer). They are
// fasthttp's own rules: a new connection has readTimeout from its accept
// for its first request, a kept-alive one idleTimeout for its next
// request's first byte and readTimeout from that byte for the rest.
type limiter struct {
	max, perClient int
	pressureIdle   time.Duration
	trusted        []netip.Prefix
	m              *metrics

	// pressure is read on every request (Server.handle closes connections
	// after their answer while it is set) and every read deadline.
	pressure atomic.Bool

	// conns holds a *connRec for each open connection, by the connection
	// Accept got from its listener: written at accept and close, read on
	// every request (connState) without a lock.
	conns sync.Map

	mu      sync.Mutex
	cond    *sync.Cond
	open    int
	clients map[netip.Prefix]int
}

// connRec is one counted connection.
type connRec struct {
	key netip.Prefix // the client's; invalid for a trusted proxy
	// sent is set at the first byte of the first request: from then on the
	// connection has requests behind it (errorHandler answers a timeout
	// with a 408), and the next first bytes restart readTimeout.
	sent atomic.Bool
}

// The read timeouts the limiter sets (see limiter): the first request's
// from the accept, a kept-alive connection's wait for its next request,
// and a request's from its first byte.
const (
	readTimeout = 10 * time.Second
	idleTimeout = 2 * time.Minute
)

func newLimiter(max, perClient int, pressureIdle time.Duration, trusted []netip.Prefix, m *metrics) *limiter {
	l := &limiter{max: max, perClient: perClient, pressureIdle: pressureIdle,
		trusted: trusted, m: m, clients: map[netip.Prefix]int{}}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// limitListener is one listener under a limiter.
type limitListener struct {
	net.Listener
	*limiter
	closed bool // under limiter.mu
}

func (l *limiter) listen(ln net.Listener) *limitListener {
	return &limitListener{Listener: ln, limiter: l}
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	backoff := time.Duration(0)
	for {
		l.mu.Lock()
		for l.open >= l.max && !l.closed {
			l.setPressureLocked(true)
			l.cond.Wait()
		}
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			if !retryAccept(err) {
				return nil, err
			}
			l.m.acceptRetries.Inc()
			if isFDErr(err) {
				l.mu.Lock()
				l.setPressureLocked(true)
				l.mu.Unlock()
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if l.admit(c) {
			return c, nil
		}
	}
}

// admit counts c in and arms its first read deadline, or closes it if its
// client is over its bound.
func (l *limiter) admit(c net.Conn) bool {
	var key netip.Prefix
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		addr := a.AddrPort().Addr().Unmap()
		if !slices.ContainsFunc(l.trusted, func(p netip.Prefix) bool { return p.Contains(addr) }) {
			key = clientKey(addr)
		}
	}
	// Armed before c is counted, so that pressure starting meanwhile cuts
	// this deadline rather than being undone by it.
	_ = l.setReadDeadline(c, readTimeout)
	l.mu.Lock()
	if key.IsValid() && l.clients[key] >= l.perClient {
		l.mu.Unlock()
		l.m.connsRefused.Inc()
		_ = c.Close()
		return false
	}
	if key.IsValid() {
		l.clients[key]++
	}
	l.open++
	l.conns.Store(c, &connRec{key: key})
	if l.open*pressureDen > l.max*pressureNum {
		l.setPressureLocked(true)
	}
	l.mu.Unlock()
	l.m.conns.Inc()
	if l.pressure.Load() {
		_ = l.setReadDeadline(c, l.pressureIdle)
	}
	return true
}

// setReadDeadline sets c's read deadline d from now, or pressureIdle from
// now if that is sooner and the edge is under pressure.
func (l *limiter) setReadDeadline(c net.Conn, d time.Duration) error {
	if l.pressure.Load() {
		d = min(d, l.pressureIdle)
	}
	return c.SetReadDeadline(time.Now().Add(d))
}

// setPressureLocked turns pressure on or off; turning it on cuts every
// open connection's read deadline. l.mu must be held.
func (l *limiter) setPressureLocked(on bool) {
	if on == l.pressure.Load() {
		return
	}
	l.pressure.Store(on)
	if !on {
		return
	}
	l.m.pressureEvents.Inc()
	deadline := time.Now().Add(l.pressureIdle)
	l.conns.Range(func(c, _ any) bool {
		_ = c.(net.Conn).SetReadDeadline(deadline)
		return true
	})
}

// connState is the ConnState hook of the servers under l: it sets the read
// deadlines of a connection's requests (see limiter), and a connection
// that closed (or left the server) gives up its slot.
func (l *limiter) connState(c net.Conn, st fasthttp.ConnState) {
	switch st {
	case fasthttp.StateActive: // a request's first byte
		v, ok := l.conns.Load(acceptedConn(c))
		if !ok {
			return
		}
		if r := v.(*connRec); !r.sent.Load() {
			r.sent.Store(true) // the first request: readTimeout from the accept
			return
		}
		_ = l.setReadDeadline(c, readTimeout)
	case fasthttp.StateIdle: // answered: waiting for the next request
		_ = l.setReadDeadline(c, idleTimeout)
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		l.release(c)
	}
}

// sent reports whether the client of c (as fasthttp serves it) has sent a
// byte; true for a connection the limiter does not count.
func (l *limiter) sent(c net.Conn) bool {
	v, ok := l.conns.Load(acceptedConn(c))
	return !ok || v.(*connRec).sent.Load()
}

// release frees the slot of c (as Accept returned it, or its TLS layer); a
// connection released before is ignored.
func (l *limiter) release(c net.Conn) {
	v, ok := l.conns.LoadAndDelete(acceptedConn(c))
	if !ok {
		return
	}
	r := v.(*connRec)
	l.mu.Lock()
	l.open--
	if r.key.IsValid() {
		if l.clients[r.key]--; l.clients[r.key] <= 0 {
			delete(l.clients, r.key)
		}
	}
	if l.open*2 < l.max { // well below the bound again
		l.setPressureLocked(false)
	}
	l.cond.Signal()
	l.mu.Unlock()
	l.m.conns.Dec()
}

// acceptedConn is the connection Accept got from its listener under c:
// c itself, or the one under its TLS layer.
func acceptedConn(c net.Conn) net.Conn {
	if t, ok := c.(*tls.Conn); ok {
		return t.NetConn()
	}
	return c
}

// Close implements net.Listener and wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

// retryAccept reports whether an Accept error is worth retrying: anything
// but a closed listener (fds running out, a connection reset before it was
// accepted, a timeout).
func retryAccept(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func isFDErr(err error) bool { return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) }
