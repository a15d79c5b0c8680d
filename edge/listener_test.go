package edge

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
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
