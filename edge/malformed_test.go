package edge

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// TestMalformedRequests sends raw bytes: the edge answers 4xx (never 5xx,
// never a page) and keeps serving.
func TestMalformedRequests(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o)
	for _, tt := range []struct {
		name, raw string
		status    int
	}{
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400},
		{"host with space", "GET / HTTP/1.1\r\nHost: one .test\r\n\r\n", 400},
		{"host with slash", "GET / HTTP/1.1\r\nHost: one.test/x\r\n\r\n", 400},
		{"host with userinfo", "GET / HTTP/1.1\r\nHost: a@one.test\r\n\r\n", 400},
		{"garbage request line", "NOT HTTP AT ALL\r\n\r\n", 400},
		{"header without colon", "GET / HTTP/1.1\r\nHost: one.test\r\nBroken header\r\n\r\n", 400},
		{"huge header", "GET / HTTP/1.1\r\nHost: one.test\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\n\r\n", 431},
		{"absolute URI for another host", "GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n", 404},
		{"control bytes in cookie", "GET / HTTP/1.1\r\nHost: one.test\r\nCookie: statusedge_session=\x01\x02\r\n\r\n", 400},
		{"cookie junk", "GET / HTTP/1.1\r\nHost: one.test\r\nCookie: ;;==;statusedge_session=..;statusedge_session=x.y\r\n\r\n", 200},
		{"encoding junk", "GET / HTTP/1.1\r\nHost: one.test\r\nAccept-Encoding: ;q=;,,br;q=x\r\n\r\n", 200},
		{"if-none-match junk", "GET / HTTP/1.1\r\nHost: one.test\r\nIf-None-Match: ,,\"\r\n\r\n", 200},
		{"path traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: one.test\r\n\r\n", 404},
		{"encoded separator", "GET /incidents/a%7Cb HTTP/1.1\r\nHost: one.test\r\n\r\n", 404},
		{"NUL in path", "GET /%00 HTTP/1.1\r\nHost: one.test\r\n\r\n", 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(tt.raw)); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
	if r := e.get(t, "one.test", "/"); r.status != 200 {
		t.Fatalf("after malformed requests: %d", r.status)
	}
}
