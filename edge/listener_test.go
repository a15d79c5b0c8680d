package edge

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/valyala/fasthttp"
)

// dialFrom opens a connection to addr from the loopback address src and
// sends one request for host's page.
func dialFrom(tb testing.TB, src, addr, host string) net.Conn {
	tb.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatalf("dial from %s: %v", src, err)
	}
	tb.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	return c
}

// answered reports whether c got an HTTP answer (false: closed unanswered).
func answered(tb testing.TB, c net.Conn) bool {
	tb.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return false
		}
		tb.Fatalf("read: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// One client (an address) holding its MaxConnsPerClient gets its next
// connections closed unanswered; another client, and a trusted proxy that
// carries many visitors, are served as usual.
func TestConnsPerClientBounded(t *testing.T) {
	o := startOrigin(t, testSite("site00000001", "a.test", content.Public))
	proxy := netip.MustParsePrefix("127.0.3.1/32")
	e := startEdge(t, o, func(c *Config) { c.MaxConnsPerClient, c.TrustedProxies = 8, []netip.Prefix{proxy} })
	tests := []struct {
		name       string
		src        string
		conns      int
		wantServed int
	}{
		{"a client within its bound", "127.0.2.1", 8, 8},
		{"a client past its bound", "127.0.2.2", 20, 8},
		{"a trusted proxy is exempt", "127.0.3.1", 20, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conns []net.Conn
			for range tt.conns {
				conns = append(conns, dialFrom(t, tt.src, e.addr, "a.test"))
			}
			served := 0
			for _, c := range conns {
				if answered(t, c) {
					served++
				}
			}
			if served != tt.wantServed {
				t.Errorf("%d of %d connections served, want %d", served, tt.conns, tt.wantServed)
			}
			// Everyone else meanwhile: served.
			if !answered(t, dialFrom(t, "127.0.2.200", e.addr, "a.test")) {
				t.Error("another client was refused")
			}
		})
	}
	if n := counter(e.m.connsRefused); n != 12 {
		t.Errorf("conns_refused_total = %v, want 12", n)
	}
}

// At MaxConns the edge stops accepting and cuts keep-alive: the idle
// connections holding every slot are closed after their answer, so the
// visitors queued behind them are served.
func TestConnsAtTheBoundGiveWay(t *testing.T) {
	o := startOrigin(t, testSite("site00000001", "a.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.MaxConns = 16 })
	var held []net.Conn
	for i := range 16 {
		held = append(held, dialFrom(t, fmt.Sprintf("127.0.4.%d", i+1), e.addr, "a.test"))
	}
	for _, c := range held {
		if !answered(t, c) {
			t.Fatal("a connection within MaxConns was refused")
		}
	}
	// 16 more, from others: queued in the backlog until slots free.
	for i := range 16 {
		if !answered(t, dialFrom(t, fmt.Sprintf("127.0.5.%d", i+1), e.addr, "a.test")) {
			t.Fatalf("queued visitor %d got no page", i)
		}
	}
	if counter(e.m.pressureEvents) < 1 {
		t.Error("no pressure event at the bound")
	}
}

func TestRetryAccept(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}, true},
		{os.ErrDeadlineExceeded, true},
		{net.ErrClosed, false},
		{&net.OpError{Op: "accept", Err: net.ErrClosed}, false},
		{errors.New("something else"), false},
	}
	for _, tt := range tests {
		if got := retryAccept(tt.err); got != tt.want {
			t.Errorf("retryAccept(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// selfSigned is a certificate for names, and a pool that trusts it.
func selfSigned(tb testing.TB, names ...string) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// The HTTPS layer's listeners (ServeWith) are under the edge's limits, and
// one count covers every listener: a client holding connections on the
// plain port has that many fewer on HTTPS; past its bound, a connection
// gets no handshake. The page is served over TLS meanwhile.
func TestServeWithSharesTheLimits(t *testing.T) {
	o := startOrigin(t, testSite("site00000001", "a.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.MaxConnsPerClient = 4 })
	cert, pool := selfSigned(t, "a.test")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- e.ServeWith(ln, &tls.Config{Certificates: []tls.Certificate{cert}}, e.HTTPSHandler())
	}()
	tlsAddr := ln.Addr().String()

	dialTLS := func(t *testing.T, src string) (net.Conn, bool) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		raw, err := d.Dial("tcp", tlsAddr)
		if err != nil {
			t.Fatalf("dial from %s: %v", src, err)
		}
		t.Cleanup(func() { raw.Close() })
		c := tls.Client(raw, &tls.Config{ServerName: "a.test", RootCAs: pool})
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.Handshake(); err != nil {
			return nil, false
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		return c, true
	}
	tests := []struct {
		name             string
		src              string
		plain, https     int
		wantHTTPSAnswers int
	}{
		{"HTTPS alone, within the bound", "127.0.6.1", 0, 4, 4},
		{"HTTPS alone, past the bound", "127.0.6.2", 0, 7, 4},
		{"plain connections count against HTTPS", "127.0.6.3", 3, 3, 1},
		{"the bound held on plain: no handshake", "127.0.6.4", 4, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range tt.plain {
				if !answered(t, dialFrom(t, tt.src, e.addr, "a.test")) {
					t.Fatal("plain connection within the bound refused")
				}
			}
			got := 0
			for range tt.https {
				if c, ok := dialTLS(t, tt.src); ok && answered(t, c) {
					got++
				}
			}
			if got != tt.wantHTTPSAnswers {
				t.Errorf("%d HTTPS connections answered, want %d", got, tt.wantHTTPSAnswers)
			}
		})
	}
	_ = served // ends with the edge's Shutdown (cleanup)
}

// countingListener counts the writes on the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// An HTTPS answer larger than fasthttp's default 4 KiB write buffer leaves
// in one write: headers and body in one TLS record.
func TestHTTPSAnswerIsOneWrite(t *testing.T) {
	site := testSite("site00000001", "a.test", content.Public)
	for i := range 40 { // a page of about 8 KiB
		site.Components = append(site.Components, &content.Component{ID: fmt.Sprintf("extra%02d", i),
			Name: fmt.Sprintf("Extra component %02d", i), Position: 100 + i, Status: content.Operational})
	}
	o := startOrigin(t, site)
	e := startEdge(t, o)
	hitUntil(t, e, "a.test", "/")
	cert, pool := selfSigned(t, "a.test")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	go func() {
		// Record sizing as the TLS layer sets it (tls.Manager): full
		// records from the start, so the first answers count too.
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, DynamicRecordSizingDisabled: true}
		_ = e.ServeWith(countingListener{raw, &writes}, cfg, e.HTTPSHandler())
	}()
	c, err := tls.Dial("tcp", raw.Addr().String(), &tls.Config{ServerName: "a.test", RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func(path string) int {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return len(b)
	}
	get("/") // the handshake's and the session tickets' writes are behind us
	for i := range 5 {
		before := writes.Load()
		n := get("/")
		if n <= 4<<10 || n > 15<<10 {
			t.Fatalf("page of %d bytes: not between fasthttp's default write buffer and a record", n)
		}
		if w := writes.Load() - before; w != 1 {
			t.Errorf("answer %d (%d bytes): %d writes, want 1", i, n, w)
		}
	}
}

// A connection whose client sends nothing is closed unanswered when its
// read deadline passes (here cut to PressureIdle: the edge is near
// MaxConns), never answered 408: a client that kept it in its pool may be
// writing a request on it just then and would take the 408 for its answer.
// A client that sent part of a request and stalled gets the 408.
func TestSilentConnectionClosedUnanswered(t *testing.T) {
	o := startOrigin(t, testSite("site00000001", "a.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.MaxConns, c.PressureIdle = 8, 200*time.Millisecond })
	dial := func(i int) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.6.%d", i+1))}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var silent []net.Conn
	for i := range 6 {
		silent = append(silent, dial(i))
	}
	partial := dial(6) // the 7th open connection: past 3/4 of MaxConns
	fmt.Fprintf(partial, "GET / HTTP/1.1\r\nHost: a.te")
	for i, c := range append(silent, partial) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("connection %d: %v", i, err)
		}
		switch {
		case c == partial && !bytes.HasPrefix(got, []byte("HTTP/1.1 408 ")):
			t.Errorf("a stalled request got %q, want a 408", got)
		case c != partial && len(got) > 0:
			t.Errorf("silent connection %d got %q, want it closed unanswered", i, got)
		}
	}
	if r := e.get(t, "a.test", "/"); r.status != 200 {
		t.Fatalf("the edge after: %d", r.status)
	}
}

// However a connection ends (answered, refused, reset, a failed TLS
// handshake, a server that closed it after a bad request), its slot is
// free again: one client at its MaxConnsPerClient that opened and ended
// many more connections than that is served on as many again, and the
// edge counts no connection open once they closed.
func TestSlotsFreedHoweverAConnectionEnds(t *testing.T) {
	const perClient = 4
	o := startOrigin(t, testSite("site00000001", "a.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.MaxConnsPerClient = perClient })
	cert, pool := selfSigned(t, "a.test")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.ServeWith(ln, &tls.Config{Certificates: []tls.Certificate{cert}}, e.HTTPSHandler()) }()
	dial := func(t *testing.T, addr string) *net.TCPConn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.8.1")}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c.(*net.TCPConn)
	}
	readAll := func(c net.Conn) string { b, _ := io.ReadAll(c); return string(b) }
	// closedByEdge sends req and reads until the edge closes, which must
	// have answered with want.
	closedByEdge := func(req, want string) func(t *testing.T) {
		return func(t *testing.T) {
			c := dial(t, e.addr)
			fmt.Fprint(c, req)
			if got := readAll(c); !strings.HasPrefix(got, want) {
				t.Fatalf("got %.40q, want %q…", got, want)
			}
			c.Close()
		}
	}
	ends := []struct {
		name string
		end  func(t *testing.T)
	}{
		{"answered, then closed by the client", func(t *testing.T) {
			c := dial(t, e.addr)
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
			if !answered(t, c) {
				t.Fatal("not answered")
			}
			c.Close()
		}},
		{"closed before a byte", func(t *testing.T) { dial(t, e.addr).Close() }},
		{"closed mid-request", func(t *testing.T) {
			c := dial(t, e.addr)
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHo")
			c.Close()
		}},
		{"reset", func(t *testing.T) {
			c := dial(t, e.addr)
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
			_ = c.SetLinger(0)
			c.Close()
		}},
		{"closed by the edge after Connection: close", closedByEdge("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 ")},
		{"closed by the edge after a bad request", closedByEdge("NOT HTTP\r\n\r\n", "HTTP/1.1 400 ")},
		{"a TLS handshake that fails", func(t *testing.T) {
			c := dial(t, ln.Addr().String())
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
			readAll(c)
			c.Close()
		}},
		{"answered over TLS", func(t *testing.T) {
			c := tls.Client(dial(t, ln.Addr().String()), &tls.Config{ServerName: "a.test", RootCAs: pool})
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
			if !answered(t, c) {
				t.Fatal("not answered")
			}
			c.Close()
		}},
	}
	for _, tt := range ends {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 * perClient {
				tt.end(t)
			}
			eventually(t, 10*time.Second, "no connection counted open", func() bool { return gauge(e.m.conns) == 0 })
			var held []net.Conn
			for range perClient {
				c := dial(t, e.addr)
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
				held = append(held, c)
			}
			for i, c := range held {
				if !answered(t, c) {
					t.Errorf("connection %d of %d within the bound refused", i+1, perClient)
				}
				c.Close()
			}
			eventually(t, 10*time.Second, "no connection counted open", func() bool { return gauge(e.m.conns) == 0 })
		})
	}
}

// Pressure that begins while a connection is kept alive cuts the read
// deadlines the limiter sets for its next request too: left idle, it is
// closed unanswered after PressureIdle; sending half of its next request,
// it gets a 408 after PressureIdle. (A connection answered under pressure
// is closed after its answer.)
func TestKeptAliveConnectionsUnderPressure(t *testing.T) {
	o := startOrigin(t, testSite("site00000001", "a.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.MaxConns, c.PressureIdle = 8, 200*time.Millisecond })
	for _, tt := range []struct {
		name    string
		next    string // sent after the first answer, once pressure is on
		want408 bool
	}{
		{"left idle", "", false},
		{"half a second request", "GET / HTTP/1.1\r\nHo", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eventually(t, 10*time.Second, "no connection counted open", func() bool { return gauge(e.m.conns) == 0 })
			var crowd []net.Conn
			press := func() { // 6 more silent connections: 7 of 8 open, past 3/4
				for i := range 6 {
					d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.9.%d", i+1))}}
					c, err := d.Dial("tcp", e.addr)
					if err != nil {
						t.Fatal(err)
					}
					crowd = append(crowd, c)
				}
				eventually(t, 10*time.Second, "pressure", func() bool { return e.lim.pressure.Load() })
			}
			defer func() {
				for _, c := range crowd {
					c.Close()
				}
			}()
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
			br := bufio.NewReader(c)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Close {
				t.Fatal("closed after the first answer: pressure already?")
			}
			press()
			fmt.Fprint(c, tt.next)
			rest, err := io.ReadAll(br) // until the edge closes, within the 10 s above
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("not closed: %v", err)
			}
			if got := bytes.HasPrefix(rest, []byte("HTTP/1.1 408 ")); got != tt.want408 {
				t.Errorf("after the first answer got %.40q, want a 408: %v", rest, tt.want408)
			}
		})
	}
}

// Accept hands fasthttp the *net.TCPConn itself: only on a connection it
// knows the type of does fasthttp write an answer past its write buffer
// as one writev from the cached bytes (HTTPServer).
func TestAcceptHandsOutTheTCPConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := newLimiter(8, 8, time.Second, nil, newMetrics("test"))
	ll := lim.listen(ln)
	defer ll.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := ll.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(*net.TCPConn); !ok {
		t.Errorf("Accept gave a %T", got)
	}
	lim.connState(got, fasthttp.StateClosed)
	got.Close()
	if lim.open != 0 {
		t.Errorf("%d connections counted open after the close", lim.open)
	}
}
