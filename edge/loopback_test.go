package edge

import (
	"strings"
	"testing"

	"github.com/statusedge/statusedge/content"
)

// TestLoopbackSite: with LoopbackSite set (statusedge dev), the loopback
// names serve that site with any port; other addresses, and every name
// without the option, serve none. A tenant's own hostname keeps its site, and
// /metrics from loopback stays the edge's.
func TestLoopbackSite(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public), testSite("s2", "two.test", content.Public))
	with := startEdge(t, o, func(c *Config) { c.LoopbackSite = "s1" })
	without := startEdge(t, o)
	for _, tt := range []struct {
		name string
		e    *testEdge
		host string
		site string // "" = no site (404)
	}{
		{"127.0.0.1", with, "127.0.0.1", "s1"},
		{"127.0.0.1 with port", with, "127.0.0.1:8080", "s1"},
		{"another loopback address", with, "127.9.9.9:1", "s1"},
		{"localhost", with, "localhost:8080", "s1"},
		{"LOCALHOST", with, "LOCALHOST", "s1"},
		{"[::1]", with, "[::1]:8080", "s1"},
		{"a tenant's own name", with, "two.test", "s2"},
		{"a private address", with, "10.0.0.1", ""},
		{"a public address", with, "93.184.216.34", ""},
		{"a name under localhost", with, "evil.localhost", ""},
		{"localhost as a suffix", with, "notlocalhost", ""},
		{"[::ffff:127.0.0.1] (v4-mapped)", with, "[::ffff:127.0.0.1]", "s1"},
		{"no option: 127.0.0.1", without, "127.0.0.1", ""},
		{"no option: localhost", without, "localhost", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.e.get(t, tt.host, "/")
			if tt.site == "" {
				if r.status != 404 || strings.Contains(r.body, "site=") {
					t.Fatalf("Host %q: %d %.100q, want 404 and no page", tt.host, r.status, r.body)
				}
				return
			}
			if r.status != 200 || !strings.Contains(r.body, "site="+tt.site+" ") {
				t.Fatalf("Host %q: %d %.100q, want site %s", tt.host, r.status, r.body, tt.site)
			}
		})
	}
	if r := with.get(t, "127.0.0.1", "/metrics"); r.status != 200 || !strings.Contains(r.body, "statusedge_edge_hits_total") {
		t.Fatalf("/metrics with LoopbackSite: %d %.100q", r.status, r.body)
	}
}
