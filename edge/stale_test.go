package edge

import (
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/statusedge/statusedge/content"
)

// decoded is a response body with its Content-Encoding undone.
func decoded(t testing.TB, r resp) string {
	t.Helper()
	var rd io.Reader = strings.NewReader(r.body)
	switch r.header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			t.Fatal(err)
		}
		rd = zr
	case "br":
		rd = brotli.NewReader(rd)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// staleCase is one page in one encoding.
type staleCase struct{ path, ae string }

var staleCases = []staleCase{
	{"/", ""}, {"/", "gzip"}, {"/", "br"},
	{"/api/v2/summary.json", ""}, {"/api/v2/summary.json", "br"},
	{"/history.atom", "gzip"},
}

// checkMarked asserts that every case (warm, so a cache answers it) is
// marked stale (or fresh, when want is false): header, Cache-Control and, for HTML, the
// visible note in every encoding.
func checkMarked(t *testing.T, e *testEdge, host string, want bool) {
	t.Helper()
	for _, c := range staleCases {
		var hs []string
		if c.ae != "" {
			hs = append(hs, "Accept-Encoding: "+c.ae)
		}
		r := e.get(t, host, c.path, hs...)
		what := c.path + " " + c.ae
		if r.status != 200 {
			t.Errorf("%s: %d, want 200", what, r.status)
		}
		stale := r.header.Get("X-Statusedge-Stale") == "1"
		short := r.header.Get("Cache-Control") == string(vStalePublic)
		note := strings.Contains(decoded(t, r), "this page may be out of date")
		if stale != want || short != want {
			t.Errorf("%s: stale header %v, short Cache-Control %v (%q); want %v", what, stale, short, r.header.Get("Cache-Control"), want)
		}
		if c.path == "/" && note != want {
			t.Errorf("%s: note on the page %v, want %v", what, note, want)
		}
		if c.path == "/" && want && !strings.HasPrefix(r.header.Get("ETag"), `"stale-`) {
			t.Errorf("%s: ETag %q is the fresh page's", what, r.header.Get("ETag"))
		}
	}
}

// warm makes every case an L1 hit.
func warm(t testing.TB, e *testEdge, host string) {
	t.Helper()
	for _, c := range staleCases {
		var hs []string
		if c.ae != "" {
			hs = append(hs, "Accept-Encoding: "+c.ae)
		}
		eventually(t, 10*time.Second, "an L1 hit on "+host+c.path, func() bool {
			return e.get(t, host, c.path, hs...).header.Get("X-Statusedge-Cache") == "l1"
		})
	}
}

// TestStaleMarkedWhenOriginSilent: with every origin replica gone, once
// StaleAfter passes every page the edge serves from L1, in every encoding,
// carries the note, X-Statusedge-Stale and a short Cache-Control (it used
// to serve them as fresh for as long as they stayed in L1).
func TestStaleMarkedWhenOriginSilent(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.StaleAfter = 300 * time.Millisecond })
	warm(t, e, "pub.test")
	checkMarked(t, e, "pub.test", false)
	o.Kill()
	eventually(t, 10*time.Second, "the first page marked stale", func() bool {
		return e.get(t, "pub.test", "/").header.Get("X-Statusedge-Stale") == "1"
	})
	checkMarked(t, e, "pub.test", true)
}

// TestStaleMarkedWhileNewerVersionUnserved: the origin answers but cannot
// render the version the edge heard of: after StaleAfter every page is
// marked; once the new version renders, pages are fresh and new.
func TestStaleMarkedWhileNewerVersionUnserved(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.StaleAfter = 300 * time.Millisecond; c.RenderAheadRetry = 100 * time.Millisecond })
	warm(t, e, "pub.test")
	o.fail.Store(true)
	v := o.Bump("pub")
	eventually(t, 10*time.Second, "the edge to hear of the new version", func() bool {
		st := e.table.Load().byID["pub"]
		return st.known.Load() == v
	})
	eventually(t, 10*time.Second, "the first page marked stale", func() bool {
		return e.get(t, "pub.test", "/").header.Get("X-Statusedge-Stale") == "1"
	})
	checkMarked(t, e, "pub.test", true)
	o.fail.Store(false)
	eventually(t, 10*time.Second, "the new version served", func() bool {
		r := e.get(t, "pub.test", "/")
		return r.header.Get("X-Statusedge-Version") == itoa(v) && r.header.Get("X-Statusedge-Stale") == ""
	})
	warm(t, e, "pub.test")
	checkMarked(t, e, "pub.test", false)
}

// TestEdgeFallsBackToAnotherRegion: with its region's replica down, the
// edge renders from the next origin it was given, and pages are fresh.
func TestEdgeFallsBackToAnotherRegion(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public))
	e := startEdge(t, o, func(c *Config) {
		c.StaleAfter = 300 * time.Millisecond
		c.Origin = NewHTTPOrigin("http://127.0.0.1:1", testSecret, nil, o.url)
	})
	warm(t, e, "pub.test")
	v := o.Bump("pub")
	eventually(t, 10*time.Second, "the new version from the fallback", func() bool {
		return e.get(t, "pub.test", "/").header.Get("X-Statusedge-Version") == itoa(v)
	})
	// Past StaleAfter: only the fallback has answered since, and that counts.
	time.Sleep(400 * time.Millisecond)
	warm(t, e, "pub.test")
	checkMarked(t, e, "pub.test", false)
}

// newBareEdge starts an edge without waiting for its registry.
func newBareEdge(t *testing.T, o Origin) *testEdge {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Origin, cfg.SessionKey, cfg.VersionsWait = o, testKey, 2*time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return serveEdge(t, cfg)
}

// TestEdgeReadyOnlyWithRegistry: before its first registry an edge answers
// visitors 503 with Retry-After (it used to say 404 "No status page is
// served at this address"), /readyz 503 and /livez 200, with no tenant
// data; once the registry loads, /readyz is 200.
func TestEdgeReadyOnlyWithRegistry(t *testing.T) {
	e := newBareEdge(t, NewHTTPOrigin("http://127.0.0.1:1", testSecret, nil))
	for _, host := range []string{"pub.test", "localhost"} {
		if r := e.get(t, host, "/"); r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Errorf("%s before the registry: %d %q", host, r.status, r.body)
		}
	}
	for _, tc := range []struct {
		path, body string
		status     int
	}{{"/readyz", `{"status":"no_registry"}` + "\n", 503}, {"/livez", `{"status":"live"}` + "\n", 200}} {
		if r := e.get(t, "10.0.0.7:8080", tc.path); r.status != tc.status || r.body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.path, r.status, r.body, tc.status, tc.body)
		}
	}
	o := startOrigin(t, testSite("pub", "pub.test", content.Public))
	e2 := newBareEdge(t, NewHTTPOrigin(o.url, testSecret, nil))
	eventually(t, 10*time.Second, "readyz 200", func() bool {
		r := e2.get(t, "10.0.0.7:8080", "/readyz")
		return r.status == 200 && r.body == `{"status":"ready"}`+"\n"
	})
	if r := e2.get(t, "nosuch.test", "/"); r.status != 404 {
		t.Errorf("unknown host once ready: %d", r.status)
	}
}

// TestEdgeWrongSecretIsFatal: an origin that refuses the edge's secret is
// not an outage to retry forever: Err reports it.
func TestEdgeWrongSecretIsFatal(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public))
	e := newBareEdge(t, NewHTTPOrigin(o.url, "not-the-secret", nil))
	select {
	case err := <-e.Err():
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Err: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no fatal error for a refused secret")
	}
	if e.Ready() {
		t.Fatal("ready without a registry")
	}
}
