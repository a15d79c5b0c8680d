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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
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
