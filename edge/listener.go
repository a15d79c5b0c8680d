package edge

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
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
type limiter struct {
	max, perClient int
	pressureIdle   time.Duration
	trusted        []netip.Prefix
	m              *metrics

	// pressure is read on every request (Server.handle closes connections
	// after their answer while it is set) and every read deadline.
	pressure atomic.Bool

	mu      sync.Mutex
	cond    *sync.Cond
	open    int
	clients map[netip.Prefix]int
	conns   map[*limitConn]struct{}
}

func newLimiter(max, perClient int, pressureIdle time.Duration, trusted []netip.Prefix, m *metrics) *limiter {
	l := &limiter{max: max, perClient: perClient, pressureIdle: pressureIdle,
		trusted: trusted, m: m, clients: map[netip.Prefix]int{}, conns: map[*limitConn]struct{}{}}
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
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// admit counts c in, or closes it if its client is over its bound.
func (l *limiter) admit(c net.Conn) *limitConn {
	var key netip.Prefix
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		addr := a.AddrPort().Addr().Unmap()
		if !slices.ContainsFunc(l.trusted, func(p netip.Prefix) bool { return p.Contains(addr) }) {
			key = clientKey(addr)
		}
	}
	l.mu.Lock()
	if key.IsValid() && l.clients[key] >= l.perClient {
		l.mu.Unlock()
		l.m.connsRefused.Inc()
		_ = c.Close()
		return nil
	}
	if key.IsValid() {
		l.clients[key]++
	}
	l.open++
	lc := &limitConn{Conn: c, l: l, key: key}
	l.conns[lc] = struct{}{}
	if l.open*pressureDen > l.max*pressureNum {
		l.setPressureLocked(true)
	}
	l.mu.Unlock()
	l.m.conns.Inc()
	if l.pressure.Load() {
		_ = lc.SetReadDeadline(time.Now().Add(l.pressureIdle))
	}
	return lc
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
	for c := range l.conns {
		_ = c.Conn.SetReadDeadline(deadline)
	}
}

func (l *limiter) release(c *limitConn) {
	l.mu.Lock()
	if _, ok := l.conns[c]; ok {
		delete(l.conns, c)
		l.open--
		if c.key.IsValid() {
			if l.clients[c.key]--; l.clients[c.key] <= 0 {
				delete(l.clients, c.key)
			}
		}
		if l.open*2 < l.max { // well below the bound again
			l.setPressureLocked(false)
		}
		l.cond.Signal()
	}
	l.mu.Unlock()
	l.m.conns.Dec()
}

// Close implements net.Listener and wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

// limitConn is one counted connection. Under pressure, a read deadline
// later than pressureIdle from now is cut to it.
type limitConn struct {
	net.Conn
	l    *limiter
	key  netip.Prefix
	once sync.Once
	// sent is set once the client sent a byte (read by the goroutine that
	// serves the connection, as errorHandler is).
	sent bool
}

func (c *limitConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.sent = true
	}
	return n, err
}

func (c *limitConn) SetReadDeadline(t time.Time) error {
	if c.l.pressure.Load() {
		if short := time.Now().Add(c.l.pressureIdle); t.IsZero() || t.After(short) {
			t = short
		}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *limitConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
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
