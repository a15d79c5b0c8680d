package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// recorder is an httptest origin that implements the documented contract
// only as far as each test needs: answer decides what attempt n (1-based)
// gets, and every request is recorded.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	answer func(w http.ResponseWriter, r *http.Request, n int)
}

type recorded struct {
	method, path, key, auth, body string
	rawPath                       string // as sent, escapes included
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), r.Header.Get("Authorization"), string(b), r.URL.EscapedPath()})
	n := len(rc.reqs)
	rc.mu.Unlock()
	rc.answer(w, r, n)
}

func (rc *recorder) requests() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

func startRecorder(t testing.TB, answer func(w http.ResponseWriter, r *http.Request, n int)) (*recorder, *Client) {
	t.Helper()
	rc := &recorder{answer: answer}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, Token: "tok", MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, AttemptTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rc, c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiErr(status int, field, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"status": status, "field": field, "message": msg}}
}

// hangUp drops the connection without an answer: a lost reply.
func hangUp(t testing.TB, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

var incidentIn = IncidentInput{
	Name:       Ptr("API errors"),
	Status:     Ptr(content.Investigating),
	Impact:     Ptr(content.ImpactMajor),
	Components: map[string]content.ComponentStatus{"apiapiapiapi": content.MajorOutage},
}

// A mutating call that meets network errors and 502/503/504 is retried with
// the same Idempotency-Key and the same body until it gets an answer.
func TestRetryKeepsIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(t *testing.T, w http.ResponseWriter)
	}{
		{"503 no leader", func(t *testing.T, w http.ResponseWriter) {
			writeJSON(w, 503, apiErr(503, "", "no leader reachable or replica unavailable; retry"))
		}},
		{"502 from a proxy, HTML body", func(t *testing.T, w http.ResponseWriter) {
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway</html>")
		}},
		{"504", func(t *testing.T, w http.ResponseWriter) { w.WriteHeader(504) }},
		{"connection dropped (answer lost)", func(t *testing.T, w http.ResponseWriter) { hangUp(t, w) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n <= 3 {
					tc.fail(t, w)
					return
				}
				writeJSON(w, 201, content.Incident{ID: "inc000000001", Name: "API errors", Status: content.Investigating})
			})
			var attempts int
			inc, err := c.CreateIncident(context.Background(), "acme", incidentIn, Attempts(&attempts))
			if err != nil {
				t.Fatalf("CreateIncident: %v", err)
			}
			if inc.ID != "inc000000001" {
				t.Errorf("id = %q", inc.ID)
			}
			reqs := rc.requests()
			if len(reqs) != 4 || attempts != 4 {
				t.Fatalf("sent %d requests (attempts %d), want 4", len(reqs), attempts)
			}
			for i, r := range reqs {
				if r.key == "" || r.key != reqs[0].key {
					t.Errorf("attempt %d: Idempotency-Key %q, want %q on every attempt", i+1, r.key, reqs[0].key)
				}
				if r.body != reqs[0].body || r.method != "POST" || r.path != "/v1/sites/acme/incidents" || r.auth != "Bearer tok" {
					t.Errorf("attempt %d differs: %+v", i+1, r)
				}
			}
		})
	}
}

// Every call gets its own key; reads carry none; a given key is used as is.
func TestIdempotencyKeys(t *testing.T) {
	rc, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method == "GET" {
			writeJSON(w, 200, []content.Incident{})
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, 201, content.Incident{ID: "x"})
	})
	ctx := context.Background()
	if _, err := c.CreateIncident(ctx, "acme", incidentIn); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateIncident(ctx, "acme", incidentIn); err != nil {
		t.Fatal(err)
	}
	var replayed bool
	if _, err := c.CreateIncident(ctx, "acme", incidentIn, IdempotencyKey("mine-123"), Replayed(&replayed)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incidents(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if reqs[0].key == reqs[1].key || len(reqs[0].key) != 32 {
		t.Errorf("two calls share key %q / %q (want distinct 32-hex keys)", reqs[0].key, reqs[1].key)
	}
	if reqs[2].key != "mine-123" || !replayed {
		t.Errorf("explicit key = %q, replayed = %v", reqs[2].key, replayed)
	}
	if reqs[3].key != "" {
		t.Errorf("GET carried Idempotency-Key %q", reqs[3].key)
	}
}

// An error answer becomes an *APIError with the field, matching a sentinel;
// only 502/503/504 are retried.
func TestErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		status   int
		field    string
		sentinel error
		attempts int
	}{
		{400, "components", ErrInvalid, 1},
		{422, "impact", ErrInvalid, 1},
		{401, "", ErrUnauthorized, 1},
		{403, "", ErrForbidden, 1},
		{404, "site", ErrNotFound, 1},
		{409, "slug", ErrConflict, 1},
		{500, "", ErrUnavailable, 1}, // may have been applied: not retried blindly
		{503, "", ErrUnavailable, 3},
		{418, "", ErrUnexpected, 1},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			rc, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
				writeJSON(w, tc.status, apiErr(tc.status, tc.field, "must be one of none, minor, major, critical"))
			})
			c.cfg.MaxAttempts = 3
			_, err := c.CreateIncident(context.Background(), "acme", incidentIn)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != tc.status || ae.Field != tc.field || ae.Message != "must be one of none, minor, major, critical" {
				t.Errorf("APIError = %+v", ae)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if got := len(rc.requests()); got != tc.attempts || ae.Attempts != tc.attempts {
				t.Errorf("sent %d times (APIError says %d), want %d", got, ae.Attempts, tc.attempts)
			}
		})
	}
}

// No answer at all wraps ErrUnreachable after MaxAttempts tries.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := New(Config{BaseURL: "http://" + addr, Token: "t", MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var attempts int
	_, err = c.CreateIncident(context.Background(), "acme", incidentIn, Attempts(&attempts))
	if !errors.Is(err, ErrUnreachable) || attempts != 3 {
		t.Fatalf("err = %v after %d attempts, want ErrUnreachable after 3", err, attempts)
	}
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Attempts != 3 || ue.Method != "POST" || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err %#v does not carry the attempts and the cause", err)
	}
}

// The context's deadline bounds the retries: a backoff that would end after
// it is not started.
func TestDeadlineBoundsRetries(t *testing.T) {
	rc, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(503) })
	c.cfg.MinBackoff, c.cfg.MaxBackoff = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.CreateIncident(ctx, "acme", incidentIn)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want the 503", err)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("sent %d times, want 1 (the next backoff ends after the deadline)", n)
	}
	if ctx.Err() != nil {
		t.Errorf("waited until the deadline")
	}
}

// Retry-After on a 503 is honoured (bounded by MaxBackoff).
func TestRetryAfter(t *testing.T) {
	var first time.Time
	var gap time.Duration
	_, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			return
		}
		gap = time.Since(first)
		writeJSON(w, 200, []content.Incident{})
	})
	c.cfg.MaxBackoff = 2 * time.Second
	if _, err := c.Incidents(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	if gap < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", gap)
	}
}

// Lists the API does not document fall back to the site object.
func TestListFallsBackToSite(t *testing.T) {
	site := content.Site{ID: "acmecloud001", Slug: "acme",
		Maintenances: []*content.Maintenance{{ID: "m1", Name: "DB upgrade", Status: content.Scheduled}},
		Audiences:    []*content.Audience{{ID: "a1", Name: "Partners", PasswordHash: "$2a$secret"}},
	}
	for _, route := range []string{"405", "404 text"} {
		t.Run(route, func(t *testing.T) {
			_, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case r.URL.Path == "/v1/sites/acme":
					writeJSON(w, 200, site)
				case route == "405":
					w.WriteHeader(405)
				default:
					http.NotFound(w, r)
				}
			})
			var raw []byte
			ms, err := c.Maintenances(context.Background(), "acme", RawBody(&raw))
			if err != nil || len(ms) != 1 || ms[0].ID != "m1" {
				t.Fatalf("Maintenances = %v, %v", ms, err)
			}
			if !strings.Contains(string(raw), `"m1"`) {
				t.Errorf("raw = %s", raw)
			}
			as, err := c.Audiences(context.Background(), "acme", RawBody(&raw))
			if err != nil || len(as) != 1 || as[0].PasswordHash != "" || strings.Contains(string(raw), "secret") {
				t.Fatalf("Audiences = %+v, %v, raw %s", as, err, raw)
			}
		})
	}
	// The documented 404 (unknown site, JSON error) is not a missing route.
	_, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 404, apiErr(404, "site", "site not found"))
	})
	if _, err := c.Maintenances(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{BaseURL: "http://127.0.0.1:8080", Token: "t"}, true},
		{"https with path", Config{BaseURL: "https://origin.example/api/"}, true},
		{"empty", Config{}, false},
		{"no scheme", Config{BaseURL: "127.0.0.1:8080"}, false},
		{"ftp", Config{BaseURL: "ftp://x"}, false},
		{"query", Config{BaseURL: "http://x/?a=b"}, false},
		{"token with newline (header injection)", Config{BaseURL: "http://x", Token: "a\r\nX-Evil: 1"}, false},
		{"negative attempts", Config{BaseURL: "http://x", MaxAttempts: -1}, false},
		{"min backoff over max", Config{BaseURL: "http://x", MinBackoff: time.Second, MaxBackoff: time.Millisecond}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Errorf("New(%+v) err = %v, want ok=%v", tc.cfg, err, tc.ok)
			}
		})
	}
	d := DefaultConfig("http://x", "t")
	if d.MaxAttempts != DefaultMaxAttempts || d.MinBackoff != DefaultMinBackoff || d.AttemptTimeout != DefaultAttemptTimeout {
		t.Errorf("DefaultConfig = %+v", d)
	}
}

// Paths escape ids and slugs, so an id cannot walk to another route.
func TestPathsAreEscaped(t *testing.T) {
	rc, c := startRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, content.Incident{})
	})
	if _, err := c.Incident(context.Background(), "acme", "../../sites"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incident(context.Background(), "a b", "x?y=1"); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	for i, want := range []string{"/v1/sites/acme/incidents/..%2F..%2Fsites", "/v1/sites/a%20b/incidents/x%3Fy=1"} {
		if reqs[i].rawPath != want {
			t.Errorf("request %d went to %q, want %q", i, reqs[i].rawPath, want)
		}
	}
}
