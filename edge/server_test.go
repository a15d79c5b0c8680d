package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Origin, ok.SessionKey = NewHTTPOrigin("http://127.0.0.1:1", "x", nil), testKey
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, f := range map[string]func(*Config){
		"no origin":         func(c *Config) { c.Origin = nil },
		"short session key": func(c *Config) { c.SessionKey = []byte("short") },
		"tiny L1":           func(c *Config) { c.L1Bytes = 1000 },
		"budget > timeout":  func(c *Config) { c.RenderBudget, c.RenderTimeout = time.Minute, time.Second },
		"brotli level":      func(c *Config) { c.BrotliLevel = 12 },
		"session ttl":       func(c *Config) { c.SessionTTL = time.Second },
	} {
		c := ok
		f(&c)
		if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: Validate = %v, want ErrBadConfig", name, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestCacheKeyTable: every input that changes the bytes changes the key.
func TestCacheKeyTable(t *testing.T) {
	key := func(site string, v uint64, aud string, day int32, path string, e encoding) string {
		return string(appendEnc(appendBaseKey(nil, site, v, aud, day, []byte(path)), e))
	}
	base := key("s1", 7, audPublic, 20000, "/", encGzip)
	if again := key("s1", 7, audPublic, 20000, "/", encGzip); again != base {
		t.Fatal("key is not deterministic")
	}
	seen := map[string]string{base: "base"}
	for _, tt := range []struct {
		name string
		k    string
	}{
		{"other site", key("s2", 7, audPublic, 20000, "/", encGzip)},
		{"site id that looks like a prefix", key("s", 17, audPublic, 20000, "/", encGzip)},
		{"other version", key("s1", 8, audPublic, 20000, "/", encGzip)},
		{"private", key("s1", 7, audPrivate, 20000, "/", encGzip)},
		{"audience a", key("s1", 7, "a:auda", 20000, "/", encGzip)},
		{"audience b", key("s1", 7, "a:audb", 20000, "/", encGzip)},
		{"next day", key("s1", 7, audPublic, 20001, "/", encGzip)},
		{"other path", key("s1", 7, audPublic, 20000, "/history", encGzip)},
		{"page 2", key("s1", 7, audPublic, 20000, "/history?page=2", encGzip)},
		{"identity", key("s1", 7, audPublic, 20000, "/", encIdentity)},
		{"brotli", key("s1", 7, audPublic, 20000, "/", encBrotli)},
	} {
		if prev, dup := seen[tt.k]; dup {
			t.Errorf("%s: same key as %s: %q", tt.name, prev, tt.k)
		}
		seen[tt.k] = tt.name
	}
	// Audience ids and paths cannot forge the separator.
	var pb [maxPath]byte
	if _, rt := normalizePath(&pb, []byte("/incidents/a|b"), nil); rt != routeNone {
		t.Error("a path with '|' was accepted")
	}
}

// TestGracefulShutdown: a request in flight when Shutdown starts completes;
// Serve then returns ErrServerClosed and new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	cfg := DefaultConfig()
	cfg.Origin, cfg.SessionKey = NewHTTPOrigin(o.url, testSecret, nil), testKey
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	if err := s.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &testEdge{Server: s, addr: ln.Addr().String(), client: startEdgeClient()}
	o.SetDelay(400 * time.Millisecond)
	got := make(chan resp, 1)
	go func() { got <- e.get(t, "one.test", "/api/v2/summary.json") }()
	eventually(t, 5*time.Second, "request in flight", func() bool { return o.renders.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := <-got; r.status != 200 || !strings.Contains(r.body, "site=s1") {
		t.Fatalf("in-flight request: %d %q", r.status, r.body)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v, want ErrServerClosed", err)
	}
	if c, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		c.Close()
		t.Fatal("still accepting after Shutdown")
	}
}

// TestServeAfterShutdown: a Serve that starts only after Shutdown (a
// goroutine scheduled late) returns at once and closes its listener instead
// of serving for good.
func TestServeAfterShutdown(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	cfg := DefaultConfig()
	cfg.Origin = NewHTTPOrigin(o.url, testSecret, nil)
	cfg.SessionKey = testKey
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("the listener still accepts")
	}
}
