//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts only mean something without it.

package edge

import (
	"net"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/content"
	"github.com/valyala/fasthttp"
)

// TestCacheHitAllocs: an L1 hit allocates nothing, whatever the encoding,
// for public and private pages, and for a 304.
func TestCacheHitAllocs(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public), testSite("priv", "priv.test", content.Private))
	e := startEdge(t, o)
	cookie, _ := login(t, e, "priv.test", "pw-private", "/")
	if cookie == "" {
		t.Fatal("login failed")
	}
	tests := []struct{ name, host, ae, cookie, inm string }{
		{"identity", "pub.test", "", "", ""},
		{"gzip", "pub.test", "gzip", "", ""},
		{"br, parsed", "pub.test", "gzip;q=0.5, br;q=1", "", ""},
		{"private", "priv.test", "gzip", cookie, ""},
		{"304", "pub.test", "gzip", "", "etag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := []string{}
			if tt.ae != "" {
				hs = append(hs, "Accept-Encoding: "+tt.ae)
			}
			if tt.cookie != "" {
				hs = append(hs, "Cookie: "+tt.cookie)
			}
			warm := hitUntil(t, e, tt.host, "/", hs...)
			var req fasthttp.Request
			req.SetRequestURI("http://" + tt.host + "/")
			for _, h := range hs {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			if tt.inm != "" {
				req.Header.Set("If-None-Match", warm.header.Get("ETag"))
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, nil)
			run := func() {
				ctx.Response.Reset()
				e.handle(&ctx)
			}
			run()
			if got := string(ctx.Response.Header.Peek("X-Statusedge-Cache")); got != "l1" {
				t.Fatalf("not an L1 hit: %q %d", got, ctx.Response.StatusCode())
			}
			if tt.inm != "" && ctx.Response.StatusCode() != fasthttp.StatusNotModified {
				t.Fatalf("status %d, want 304", ctx.Response.StatusCode())
			}
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Fatalf("%v allocations per hit, want 0", n)
			}
		})
	}
}
