package dev

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPrintedURLWorksForEveryClient: the loopback URL statusedge dev prints
// first answers a plain Go client (no Host override, no *.localhost
// resolution), and every absolute URL the site emits names that address,
// port included, also after a restart on another port.
func TestPrintedURLWorksForEveryClient(t *testing.T) {
	dir := t.TempDir()
	check := func(s *System) {
		t.Helper()
		base := s.Regions[0].PageURL
		get := func(path string) string {
			t.Helper()
			resp, err := http.Get(base + path) // Host: 127.0.0.1:port
			if err != nil {
				t.Fatalf("GET %s%s: %v", base, path, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s%s: %d %.200s", base, path, resp.StatusCode, b)
			}
			return string(b)
		}
		var sum struct {
			Page struct {
				URL string `json:"url"`
			} `json:"page"`
		}
		if err := json.Unmarshal([]byte(get("/api/v2/summary.json")), &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Page.URL != base {
			t.Fatalf("page.url = %q, want %q", sum.Page.URL, base)
		}
		abs := regexp.MustCompile(`https?://[^"'<> ]+`)
		for _, path := range []string{"/", "/history.atom", "/history.rss", "/api/v2/incidents.json"} {
			body := get(path)
			n := 0
			for _, u := range abs.FindAllString(body, -1) {
				if strings.Contains(u, "www.w3.org") || strings.Contains(u, "purl.org") || strings.Contains(u, "statuspage.io") ||
					strings.Contains(u, "commonmark.org") || strings.Contains(u, "example.") {
					continue // namespaces and links written by the demo's authors
				}
				n++
				if !strings.HasPrefix(u, base+"/") && u != base {
					t.Errorf("%s links to %q, not to the address it is served on (%s)", path, u, base)
				}
			}
			if path != "/" && n == 0 {
				t.Errorf("%s has no absolute URL to check", path)
			}
		}
	}

	s := startSystem(t, Config{DataDir: dir})
	check(s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Same data, another port: the links follow.
	check(startSystem(t, Config{DataDir: dir}))
}
