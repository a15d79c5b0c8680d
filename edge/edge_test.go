package edge

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/internal/testenv"
)

func decode(tb testing.TB, r resp) string {
	tb.Helper()
	var rd io.Reader
	switch r.header.Get("Content-Encoding") {
	case "":
		return r.body
	case "gzip":
		g, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			tb.Fatalf("gzip: %v", err)
		}
		rd = g
	case "br":
		rd = brotli.NewReader(strings.NewReader(r.body))
	default:
		tb.Fatalf("unexpected Content-Encoding %q", r.header.Get("Content-Encoding"))
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return string(b)
}

func marker(site string, version uint64, aud, path string) string {
	return "site=" + site + " version=" + itoa(version) + " audience=" + aud + " path=" + path
}

func itoa(v uint64) string {
	return strings.TrimSpace(strings.ReplaceAll(string(appendU(nil, v)), " ", ""))
}

func appendU(b []byte, v uint64) []byte {
	if v >= 10 {
		b = appendU(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

func TestGatewayBasics(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o)
	full := e.get(t, "one.test", "/")
	if full.status != 200 || !strings.Contains(full.body, marker("s1", 1, "", "/")) {
		t.Fatalf("GET / = %d %q", full.status, full.body[:min(200, len(full.body))])
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "ETag"} {
		if full.header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
	if csp := full.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline' 'self'") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("CSP = %q", csp)
	}
	if cc := full.header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") || !strings.Contains(cc, "stale-while-revalidate") || !strings.Contains(cc, "stale-if-error") {
		t.Errorf("Cache-Control = %q", cc)
	}
	if full.header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary = %q", full.header.Get("Vary"))
	}
	tests := []struct {
		name, host, path string
		headers          []string
		status           int
		enc              string
		want             string // in the decoded body
	}{
		{"identity", "one.test", "/", nil, 200, "", marker("s1", 1, "", "/")},
		{"gzip", "one.test", "/", []string{"Accept-Encoding: gzip, deflate"}, 200, "gzip", marker("s1", 1, "", "/")},
		{"brotli preferred", "one.test", "/", []string{"Accept-Encoding: gzip, br"}, 200, "br", marker("s1", 1, "", "/")},
		{"br refused q=0", "one.test", "/", []string{"Accept-Encoding: br;q=0, gzip"}, 200, "gzip", ""},
		{"upper-case host with port", "ONE.test:8080", "/", nil, 200, "", marker("s1", 1, "", "/")},
		{"trailing dot", "one.test.", "/", nil, 200, "", marker("s1", 1, "", "/")},
		{"trailing slash", "one.test", "/history/", nil, 200, "", marker("s1", 1, "", "/history")},
		{"page kept", "one.test", "/history?page=3&x=1", nil, 200, "", marker("s1", 1, "", "/history?page=3")},
		{"page 1 dropped", "one.test", "/history?page=1", nil, 200, "", marker("s1", 1, "", "/history")},
		{"bad page dropped", "one.test", "/history?page=-2", nil, 200, "", marker("s1", 1, "", "/history")},
		{"page ignored on /", "one.test", "/?page=2", nil, 200, "", marker("s1", 1, "", "/")},
		{"json", "one.test", "/api/v2/summary.json", nil, 200, "", marker("s1", 1, "", "/api/v2/summary.json")},
		{"other query ignored", "one.test", "/?utm=1", nil, 200, "", marker("s1", 1, "", "/")},
		{"dot segments", "one.test", "/api/v2/../v2/status.json", nil, 200, "", marker("s1", 1, "", "/api/v2/status.json")},
		{"unknown incident", "one.test", "/incidents/doesnotexist", nil, 404, "", "does not exist"},
		{"unknown route", "one.test", "/wp-admin", nil, 404, "", "does not exist"},
		{"bad id", "one.test", "/incidents/AB%7C", nil, 404, "", ""},
		{"unknown host", "other.test", "/", nil, 404, "", "No status page"},
		{"bad host", "bad_host!", "/", nil, 400, "", ""},
		{"bad port", "one.test:99999", "/", nil, 400, "", ""},
		{"empty label", "one..test", "/", nil, 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, tt.host, tt.path, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (%q)", r.status, tt.status, r.body)
			}
			if got := r.header.Get("Content-Encoding"); got != tt.enc && tt.status == 200 {
				t.Fatalf("Content-Encoding = %q, want %q", got, tt.enc)
			}
			if body := decode(t, r); !strings.Contains(body, tt.want) {
				t.Fatalf("body lacks %q: %q", tt.want, body[:min(len(body), 300)])
			}
		})
	}

	t.Run("HEAD", func(t *testing.T) {
		r := e.do(t, http.MethodHead, "one.test", "/", nil, "Accept-Encoding: gzip")
		if r.status != 200 || r.body != "" || r.header.Get("Content-Encoding") != "gzip" || r.header.Get("ETag") == "" {
			t.Fatalf("HEAD = %d %q %v", r.status, r.body, r.header)
		}
	})
	t.Run("If-None-Match", func(t *testing.T) {
		g := e.get(t, "one.test", "/", "Accept-Encoding: gzip")
		r := e.get(t, "one.test", "/", "Accept-Encoding: gzip", "If-None-Match: W/\"x\", "+g.header.Get("ETag"))
		if r.status != 304 || r.body != "" {
			t.Fatalf("conditional GET = %d %q", r.status, r.body)
		}
		r = e.get(t, "one.test", "/", "If-None-Match: "+g.header.Get("ETag")) // identity has its own ETag
		if r.status != 200 {
			t.Fatalf("conditional GET with another encoding = %d", r.status)
		}
	})
	t.Run("method", func(t *testing.T) {
		if r := e.do(t, http.MethodDelete, "one.test", "/", nil); r.status != 405 {
			t.Fatalf("DELETE = %d", r.status)
		}
		if r := e.do(t, http.MethodPost, "one.test", "/", nil); r.status != 405 {
			t.Fatalf("POST / = %d", r.status)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		r := e.get(t, "127.0.0.1", "/metrics")
		if r.status != 200 || !strings.Contains(r.body, "statusedge_edge_hits_total") || !strings.Contains(r.body, "statusedge_edge_request_duration_seconds") {
			t.Fatalf("metrics = %d %q", r.status, r.body[:min(300, len(r.body))])
		}
	})
	if !bytes.Contains([]byte(full.header.Get("X-Statusedge-Version")), []byte("1")) {
		t.Errorf("X-Statusedge-Version = %q", full.header.Get("X-Statusedge-Version"))
	}
}

func TestLayering(t *testing.T) {
	r := testenv.StartRedis(t)
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.RedisAddr = r.Addr() })
	eventually(t, 30*time.Second, "redis connected", func() bool { _, ok := e.l2.up(); return ok })

	get := func(from string, renders int64) resp {
		t.Helper()
		x := e.get(t, "one.test", "/", "Accept-Encoding: gzip")
		if !strings.Contains(decode(t, x), marker("s1", 1, "", "/")) {
			t.Fatalf("wrong body from %s", from)
		}
		if n := o.renders.Load(); n != renders {
			t.Fatalf("origin renders after a page from %s = %d, want %d", from, n, renders)
		}
		return x
	}
	first := get("the origin", 1)
	second := get("L1", 1)
	if first.body != second.body || first.header.Get("ETag") != second.header.Get("ETag") {
		t.Fatal("L1 hit differs from the origin answer")
	}
	// Wait until the write-behind reached Redis, then drop L1.
	eventually(t, 30*time.Second, "page in redis", func() bool {
		return e.l2.getAll(e.ctx, lastKey("s1", audPublic, "/", encGzip))[0] != nil
	})
	eventually(t, 30*time.Second, "all encodings in redis", func() bool {
		k := []byte(e.currentBase("one.test", "/"))
		got := e.l2.getAll(e.ctx, appendEnc(bytes.Clone(k), 0), appendEnc(bytes.Clone(k), 1), appendEnc(bytes.Clone(k), 2))
		return got[0] != nil && got[1] != nil && got[2] != nil
	})
	e.l1.c.Clear()
	third := get("Redis", 1)
	if third.body != first.body || third.header.Get("ETag") != first.header.Get("ETag") {
		t.Fatal("L2 hit differs from the origin answer")
	}
	get("L1 again", 1)
}

// currentBase is the base key a visitor of host/path gets now (tests only).
func (s *Server) currentBase(host, path string) string {
	st := s.table.Load().byHost[host]
	aud := audPublic
	now, v := s.cfg.Now(), st.serveVersion()
	return string(appendMinuteKey(nil, st.id, v, aud, st.today(now), st.minute(v, now), []byte(path)))
}
