package origin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serveTuned serves the leader's handler in HTTPServer with short timeouts
// (so the test sees them act) behind Listener(max).
func serveTuned(t *testing.T, n *Node, max int) string {
	t.Helper()
	srv := HTTPServer(n.Handler())
	srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = time.Second, 2*time.Second, time.Second, 2*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(Listener(ln, max)) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes c (a read ends) within d,
// reading and discarding whatever it sends first.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	// EOF or a reset (it closed with our bytes unread): closed by the
	// server; a timeout: still open.
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// The review held 500 unauthenticated connections dripping a body for as
// long as it liked. Every phase now has a bound: a request's headers, its
// body, a connection left idle; a wrong secret closes the connection; the
// versions long poll still waits its full time past the write timeout.
func TestOriginServerBoundsEveryPhase(t *testing.T) {
	c := newCluster(t, 1, 0)
	addr := serveTuned(t, c.leader().n, 64)
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	attacks := []struct {
		name  string
		start string // sent at once
		drip  string // then one byte every 200 ms
	}{
		{"headers dripped", "POST /v1/sites HTTP/1.1\r\nHost: x\r\n", strings.Repeat("X-Pad: a\r\n", 100)},
		{"body dripped", "POST /v1/sites HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", strings.Repeat("{", 1000)},
		{"body dripped with a token", "POST /v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testOperator +
			"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", strings.Repeat(" ", 1000)},
		{"idle after connecting", "", ""},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			var conns []net.Conn
			for range 20 {
				conn := dial()
				fmt.Fprint(conn, a.start)
				conns = append(conns, conn)
			}
			stop := make(chan struct{})
			defer close(stop)
			if a.drip != "" {
				for _, conn := range conns {
					go func() {
						for i := 0; i < len(a.drip); i++ {
							select {
							case <-stop:
								return
							case <-time.After(200 * time.Millisecond):
							}
							if _, err := conn.Write([]byte{a.drip[i]}); err != nil {
								return
							}
						}
					}()
				}
			}
			for i, conn := range conns {
				if !closedWithin(conn, 15*time.Second) {
					t.Fatalf("connection %d still open after 15 s", i)
				}
			}
		})
	}

	// A wrong secret: the answer says close, and the server closes.
	conn := dial()
	fmt.Fprint(conn, "GET /v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Errorf("wrong token: %d, close %v", resp.StatusCode, resp.Close)
	}
	if !closedWithin(conn, 5*time.Second) {
		t.Error("connection open after a 401")
	}

	// The long poll outlives the write timeout (1 s) by what it waits.
	v, _ := c.leader().n.Versions()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/internal/v1/versions?after=%d&wait=3s", addr, v), nil)
	req.Header.Set("Authorization", "Bearer "+testEdgeSec)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("long poll: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), `"sites"`) {
		t.Errorf("long poll: %d %q %v", resp.StatusCode, body, err)
	}
}

// At the connection cap, idle connections cannot keep a visitor out: the
// header timeout frees their slots and the waiting request is answered.
func TestOriginServerConnectionCap(t *testing.T) {
	c := newCluster(t, 1, 0)
	addr := serveTuned(t, c.leader().n, 4)
	for range 4 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/sites", nil)
	req.Header.Set("Authorization", "Bearer "+testOperator)
	cl := &http.Client{Timeout: 15 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("request behind 4 idle connections at a cap of 4: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}
