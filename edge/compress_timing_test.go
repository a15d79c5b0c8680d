package edge

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/statusedge/statusedge/demo"
	"github.com/valyala/fasthttp"
)

// BenchmarkCompressPage measures what one render costs the edge beyond the
// origin: the demo page compressed in each encoding it stores (gzip at
// gzipLevel, brotli at several qualities), with a GC between two bodies as
// under a real load (B/op is then what a render allocates: a writer kept
// across GCs, or a new one).
func BenchmarkCompressPage(b *testing.B) {
	s := benchEdge(b)
	var req fasthttp.Request
	req.SetRequestURI("http://" + demo.Hostname + "/")
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, nil)
	s.handle(&ctx)
	p := page{status: 200, version: 1, renderedAt: time.Now(), ctype: "text/html; charset=utf-8", body: append([]byte(nil), ctx.Response.Body()...)}
	for _, tc := range []struct {
		name  string
		e     encoding
		level int
	}{{"gzip", encGzip, 0}, {"br-4", encBrotli, 4}, {"br-5", encBrotli, 5}, {"br-6", encBrotli, 6}, {"br-9", encBrotli, 9}} {
		b.Run(tc.name, func(b *testing.B) {
			c := compressor{brotliLevel: tc.level}
			var n int
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				out, err := c.encode(tc.e, p.body)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportAllocs()
			b.ReportMetric(float64(len(p.body)), "page-bytes")
			b.ReportMetric(float64(n), "out-bytes")
		})
	}
}
