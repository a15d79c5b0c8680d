package edge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

const testSecret = "cluster-secret-for-tests"

// testOrigin is a real HTTP server implementing the origin's internal API
// (docs/API.md §2) over a set of sites, with a trivial deterministic
// renderer, a render counter and an adjustable delay.
type testOrigin struct {
	tb  testing.TB
	srv *http.Server
	ln  net.Listener
	url string

	mu      sync.Mutex
	index   uint64
	sites   map[string]*content.Site
	order   []string
	changed chan struct{} // closed and replaced on every change

	renders atomic.Int64
	delay   atomic.Int64                  // nanoseconds per render
	fail    atomic.Bool                   // answer renders with 503
	gate    atomic.Pointer[chan struct{}] // while set, renders wait until it closes
}

func startOrigin(tb testing.TB, sites ...*content.Site) *testOrigin {
	tb.Helper()
	o := &testOrigin{tb: tb, sites: map[string]*content.Site{}, changed: make(chan struct{})}
	for _, s := range sites {
		o.index++
		s.Version = o.index
		o.sites[s.ID] = s
		o.order = append(o.order, s.ID)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	o.ln, o.url = ln, "http://"+ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /internal/v1/registry", o.auth(o.registry))
	mux.HandleFunc("GET /internal/v1/render", o.auth(o.render))
	mux.HandleFunc("GET /internal/v1/versions", o.auth(o.versions))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"status":"live"}`)) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"status":"ready"}`)) })
	o.srv = &http.Server{Handler: mux}
	go func() { _ = o.srv.Serve(ln) }()
	tb.Cleanup(o.Kill)
	return o
}

// Kill closes the listener and every connection at once (a crash).
func (o *testOrigin) Kill() { _ = o.srv.Close() }

func (o *testOrigin) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(testSecret)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

// Bump gives a site a new version (like a committed change) and returns it.
func (o *testOrigin) Bump(id string) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.index++
	o.sites[id].Version = o.index
	close(o.changed)
	o.changed = make(chan struct{})
	return o.index
}

// AddSite adds a site (a registry change).
func (o *testOrigin) AddSite(s *content.Site) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.index++
	s.Version = o.index
	o.sites[s.ID] = s
	o.order = append(o.order, s.ID)
	close(o.changed)
	o.changed = make(chan struct{})
	return o.index
}

func (o *testOrigin) SetDelay(d time.Duration) { o.delay.Store(int64(d)) }

// Hold makes every render wait until release is called (or the test ends),
// so a test can see what visitors get while a render is in flight without
// racing a timer against it.
func (o *testOrigin) Hold() (release func()) {
	ch := make(chan struct{})
	o.gate.Store(&ch)
	var once sync.Once
	release = func() {
		once.Do(func() {
			o.gate.CompareAndSwap(&ch, nil)
			close(ch)
		})
	}
	o.tb.Cleanup(release)
	return release
}

func (o *testOrigin) registry(w http.ResponseWriter, r *http.Request) {
	if id := r.URL.Query().Get("site"); id != "" {
		o.mu.Lock()
		s := o.sites[id]
		o.mu.Unlock()
		if s == nil {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(s.Entry())
		return
	}
	o.mu.Lock()
	reg := content.Registry{Version: o.index}
	for _, id := range o.order {
		reg.Sites = append(reg.Sites, o.sites[id].Entry())
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reg)
}

func (o *testOrigin) versions(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil || wait > time.Minute {
		wait = 2 * time.Second
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		idx, ch := o.index, o.changed
		vs := Versions{Version: idx, Sites: map[string]uint64{}}
		for id, s := range o.sites {
			vs.Sites[id] = s.Version
		}
		o.mu.Unlock()
		if idx > after {
			_ = json.NewEncoder(w).Encode(vs)
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			_ = json.NewEncoder(w).Encode(vs)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// testPage is the deterministic render: every byte names its key, so a test
// can tell which key a response came from.
func testPage(s *content.Site, version uint64, aud, path string) (ctype string, body []byte) {
	marker := fmt.Sprintf("site=%s version=%d audience=%s path=%s", s.ID, version, aud, path)
	p, _, _ := strings.Cut(path, "?")
	switch {
	case strings.HasSuffix(p, ".json"):
		b, _ := json.Marshal(map[string]any{"marker": marker, "name": s.Name})
		return "application/json", b
	case strings.HasSuffix(p, ".atom") || strings.HasSuffix(p, ".rss"):
		return "application/xml", []byte("<?xml version=\"1.0\"?><feed><title>" + marker + "</title></feed>")
	}
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>" + s.Name + "</title></head><body class=\"page\"><h1>" + s.Name + "</h1>")
	b.WriteString("<p id=\"marker\">" + marker + "</p><ul>")
	view, _ := s.ForAudience(aud)
	for _, c := range view.Components {
		b.WriteString("<li>" + c.Name + " " + string(c.Status) + "</li>")
	}
	for range 40 { // some bulk so compression matters
		b.WriteString("<div class=\"day\">" + marker + "</div>")
	}
	b.WriteString("</ul></body></html>")
	return "text/html; charset=utf-8", []byte(b.String())
}

func (o *testOrigin) render(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	min, _ := strconv.ParseUint(q.Get("min_version"), 10, 64)
	path, aud := q.Get("path"), q.Get("audience")
	o.renders.Add(1)
	if g := o.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-r.Context().Done():
			return
		}
	}
	if d := time.Duration(o.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if o.fail.Load() {
		http.Error(w, "behind", http.StatusServiceUnavailable)
		return
	}
	o.mu.Lock()
	s := o.sites[q.Get("site")]
	var v uint64
	if s != nil {
		v = s.Version
	}
	o.mu.Unlock()
	switch {
	case s == nil:
		http.Error(w, "no such site", http.StatusNotFound)
		return
	case aud != "" && s.AudienceByID(aud) == nil:
		http.Error(w, "no such audience", http.StatusForbidden)
		return
	case v < min:
		http.Error(w, "behind", http.StatusServiceUnavailable)
		return
	case strings.HasPrefix(path, "/incidents/") && s.Incident(strings.TrimPrefix(path, "/incidents/")) == nil:
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	ct, body := testPage(s, v, aud, path)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Statusedge-Version", strconv.FormatUint(v, 10))
	_, _ = w.Write(body)
}

func TestHTTPOriginAgainstTestOrigin(t *testing.T) {
	s := testSite("s1", "one.test", content.Public)
	o := startOrigin(t, s)
	h := NewHTTPOrigin(o.url, testSecret, nil)
	ctx := context.Background()
	reg, err := h.Registry(ctx)
	if err != nil || len(reg.Sites) != 1 || reg.Sites[0].ID != "s1" {
		t.Fatalf("Registry = %+v, %v", reg, err)
	}
	rd, err := h.Render(ctx, RenderRequest{SiteID: "s1", Path: "/", MinVersion: 1})
	if err != nil || rd.Version != 1 || !strings.Contains(string(rd.Body), "site=s1 version=1") {
		t.Fatalf("Render = %+v, %v", rd, err)
	}
	if _, err := h.Render(ctx, RenderRequest{SiteID: "s1", Path: "/incidents/nope"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing incident: err = %v, want ErrNotFound", err)
	}
	if _, err := h.Render(ctx, RenderRequest{SiteID: "s1", Path: "/", Audience: "nobody"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("unknown audience: err = %v, want ErrForbidden", err)
	}
	if _, err := h.Render(ctx, RenderRequest{SiteID: "s1", Path: "/", MinVersion: 99}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("behind: err = %v, want ErrUnavailable", err)
	}
	if _, err := NewHTTPOrigin(o.url, "wrong", nil).Registry(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("bad secret: err = %v", err)
	}
	go func() { time.Sleep(50 * time.Millisecond); o.Bump("s1") }()
	vs, err := h.Versions(ctx, 1, 5*time.Second)
	if err != nil || vs.Version != 2 || vs.Sites["s1"] != 2 {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}
	o.Kill()
	if _, err := h.Registry(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("killed origin: err = %v", err)
	}
}

// A page over the bound is an error, never a truncated page cached as a 200.
func TestHTTPOriginRefusesOversizedPage(t *testing.T) {
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	h := NewHTTPOrigin(o.url, testSecret, nil)
	ctx := context.Background()
	rd, err := h.Render(ctx, RenderRequest{SiteID: "s1", Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		max  int64
		ok   bool
	}{{"exactly the bound", int64(len(rd.Body)), true}, {"one byte over", int64(len(rd.Body)) - 1, false}} {
		h.maxBody = tt.max
		_, err := h.Render(ctx, RenderRequest{SiteID: "s1", Path: "/"})
		if (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, ErrUnavailable)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
