//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts only mean something without it.

package edge

import (
	"crypto/tls"
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

// TestHTTPSHitAllocs: on HTTPS, an L1 hit allocates nothing either (the
// SNI check reads the connection's state in place).
func TestHTTPSHitAllocs(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public))
	e := startEdge(t, o)
	hitUntil(t, e, "pub.test", "/", "Accept-Encoding: gzip")
	cert, pool := selfSigned(t, "pub.test")
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{cert}})
	cli := tls.Client(cc, &tls.Config{ServerName: "pub.test", RootCAs: pool})
	errc := make(chan error, 1)
	go func() { errc <- cli.Handshake() }()
	if err := srv.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	h := e.HTTPSHandler()
	var ctx fasthttp.RequestCtx
	ctx.Init2(srv, nil, false)
	run := func() {
		ctx.Request.Reset()
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.SetHost("pub.test")
		ctx.Request.Header.Set("Accept-Encoding", "gzip")
		ctx.Response.Reset()
		h(&ctx)
	}
	run()
	if got := string(ctx.Response.Header.Peek("X-Statusedge-Cache")); got != "l1" {
		t.Fatalf("not an L1 hit: %q %d", got, ctx.Response.StatusCode())
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Fatalf("%v allocations per HTTPS hit, want 0", n)
	}
}
