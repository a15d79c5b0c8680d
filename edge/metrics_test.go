package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// The review: behind a trusted proxy every visitor's request comes from the
// proxy, so /metrics answered everyone. On the visitors' listener it now
// answers only a loopback peer that is no proxy and forwarded nothing; the
// operator's own address (ServeMetrics) answers /metrics and nothing else.
func TestMetricsNotForVisitorsBehindAProxy(t *testing.T) {
	o := startOrigin(t, accessSites()...)
	proxied := startEdge(t, o, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	direct := startEdge(t, o)
	tests := []struct {
		name    string
		e       *testEdge
		headers []string
		want    int
	}{
		{"a visitor through the trusted proxy", proxied, []string{"X-Forwarded-For: 203.0.113.5"}, 404},
		{"the trusted proxy itself", proxied, nil, 404},
		{"a forwarded request on loopback", direct, []string{"X-Forwarded-For: 203.0.113.5"}, 404},
		{"an RFC 7239 forwarded request", direct, []string{"Forwarded: for=203.0.113.5"}, 404},
		{"an X-Real-IP forwarded request", direct, []string{"X-Real-IP: 203.0.113.5"}, 404},
		{"the operator on loopback", direct, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.e.get(t, "127.0.0.1", "/metrics", tt.headers...)
			if r.status != tt.want || strings.Contains(r.body, "statusedge_edge_hits_total") != (tt.want == 200) {
				t.Fatalf("status %d, want %d: %.80q", r.status, tt.want, r.body)
			}
		})
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- proxied.ServeMetrics(ln) }()
	get := func(path string) (int, string) {
		res, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "statusedge_edge_hits_total") {
		t.Errorf("metrics listener: %d %.80q", code, body)
	}
	if code, body := get("/"); code != 404 || strings.Contains(body, "Acme") {
		t.Errorf("metrics listener serves pages: %d %.80q", code, body)
	}
	if err := proxied.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != ErrServerClosed {
		t.Errorf("ServeMetrics after Shutdown: %v", err)
	}
}
