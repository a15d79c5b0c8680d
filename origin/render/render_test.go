package render

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// demoNow is the fixed time the golden files are rendered at.
var demoNow = time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC)

func newRenderer(tb testing.TB, opts ...Option) *Renderer {
	tb.Helper()
	r, err := New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// sitePaths is every page of s: the fixed ones and one per incident and maintenance.
func sitePaths(s *content.Site) []string {
	ps := []string{"/", "/history", "/history?page=2", "/uptime", "/uptime?page=2",
		"/history.atom", "/history.rss", "/api/statusedge/uptime.json"}
	for _, e := range apiEndpoints {
		ps = append(ps, "/api/v2/"+e)
	}
	for _, in := range s.Incidents {
		ps = append(ps, "/incidents/"+in.ID)
	}
	for _, m := range s.Maintenances {
		ps = append(ps, "/maintenances/"+m.ID)
	}
	return ps
}

var apiEndpoints = []string{"summary.json", "status.json", "components.json", "incidents.json",
	"incidents/unresolved.json", "scheduled-maintenances.json", "scheduled-maintenances/upcoming.json",
	"scheduled-maintenances/active.json"}

// goldenName maps a path to its golden file ("/api/v2/incidents/unresolved.json"
// → "api_v2_incidents_unresolved.json", "/" → "index.html").
func goldenName(path, ctype string) string {
	name := strings.Trim(strings.NewReplacer("/", "_", "?", "_", "=", "").Replace(path), "_")
	if name == "" {
		name = "index"
	}
	if strings.HasPrefix(ctype, "text/html") {
		name += ".html"
	}
	return name
}

func TestGolden(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	dir := filepath.Join("testdata", "golden")
	for _, p := range sitePaths(s) {
		t.Run(p, func(t *testing.T) {
			got, ctype, err := r.Render(s, "", p, demoNow)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, goldenName(p, ctype))
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (%d vs %d bytes); run go test -update and review the diff", p, file, len(got), len(want))
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	for _, p := range sitePaths(s) {
		_, ctype, err := r.Render(s, "", p, demoNow)
		if err != nil {
			t.Fatal(p, err)
		}
		var want string
		switch {
		case strings.HasSuffix(p, ".json"):
			want = ContentTypeJSON
		case strings.HasSuffix(p, ".atom"):
			want = ContentTypeAtom
		case strings.HasSuffix(p, ".rss"):
			want = ContentTypeRSS
		default:
			want = ContentTypeHTML
		}
		if ctype != want {
			t.Errorf("%s: content type %q, want %q", p, ctype, want)
		}
	}
}

func TestNotFound(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	tests := []struct{ name, path string }{
		{"empty", ""},
		{"unknown page", "/nope"},
		{"trailing slash", "/history/"},
		{"unknown incident", "/incidents/doesnotexist"},
		{"maintenance id as incident", "/incidents/" + s.Maintenances[0].ID},
		{"incident id as maintenance", "/maintenances/" + s.Incidents[0].ID},
		{"traversal", "/incidents/../history"},
		{"nested id", "/incidents/" + s.Incidents[0].ID + "/x"},
		{"unknown api", "/api/v2/pages.json"},
		{"api without .json", "/api/v2/summary"},
		{"api v1", "/api/v1/summary.json"},
		{"history page 0", "/history?page=0"},
		{"history negative page", "/history?page=-1"},
		{"history page not a number", "/history?page=two"},
		{"history page beyond the oldest", "/history?page=9"},
		{"history huge page", "/history?page=99999999999999999999"},
		{"history page twice", "/history?page=1&page=2"},
		{"uptime page beyond creation", "/uptime?page=40"},
		{"NUL", "/\x00"},
		{"upper case", "/History"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, err := r.Render(s, "", tt.path, demoNow)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Render(%q) = %d bytes, %v; want fs.ErrNotExist", tt.path, len(b), err)
			}
		})
	}
}

func TestQueryParameters(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	base, _, err := r.Render(s, "", "/history", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	// Other parameters are ignored: the same bytes as without them.
	for _, p := range []string{"/history?page=1", "/history?utm_source=x", "/history?a=%zz&page=1", "/history?"} {
		got, _, err := r.Render(s, "", p, demoNow)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(got, base) {
			t.Errorf("%s renders differently from /history", p)
		}
	}
	p2, _, err := r.Render(s, "", "/history?page=2", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(p2, base) {
		t.Error("/history?page=2 is the same as page 1")
	}
	if !bytes.Contains(base, []byte(`href="/history?page=2"`)) || !bytes.Contains(p2, []byte(`href="/history" rel="prev"`)) {
		t.Error("history pages do not link to each other")
	}
}

func TestUnknownAudience(t *testing.T) {
	r := newRenderer(t)
	_, _, err := r.Render(demo.Site(demoNow), "nobody", "/", demoNow)
	if !errors.Is(err, content.ErrUnknownAudience) {
		t.Fatalf("err = %v, want content.ErrUnknownAudience", err)
	}
}

func TestDeterminism(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	loc := s.Location()
	later := demoNow.Add(50 * time.Second) // the same minute: the demo site is live
	if content.DayNumber(later, loc) != content.DayNumber(demoNow, loc) {
		t.Fatal("test setup: not the same day")
	}
	// An all-operational snapshot last changed yesterday: now moving within
	// today must not matter.
	old := demo.Operational(demoNow.AddDate(0, 0, -1))
	for _, p := range sitePaths(s) {
		a, _, err := r.Render(s, "", p, demoNow)
		if err != nil {
			t.Fatal(err)
		}
		b, _, _ := r.Render(s, "", p, demoNow)
		c, _, _ := r.Render(s, "", p, later)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders differ", p)
		}
		if !bytes.Equal(a, c) {
			t.Errorf("%s: a later now in the same minute changes the bytes", p)
		}
	}
	for _, p := range sitePaths(old) {
		morning, _, err := r.Render(old, "", p, demoNow.Add(-9*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		evening, _, _ := r.Render(old, "", p, demoNow.Add(8*time.Hour))
		if !bytes.Equal(morning, evening) {
			t.Errorf("%s: a snapshot from yesterday renders differently in the morning and the evening", p)
		}
	}
	// The next day the bars move on.
	today, _, _ := r.Render(old, "", "/", demoNow)
	tomorrow, _, _ := r.Render(old, "", "/", demoNow.AddDate(0, 0, 1))
	if bytes.Equal(today, tomorrow) {
		t.Error("/ is the same on the next day: the uptime bars did not move")
	}
}

func TestConcurrentRenders(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	want, _, err := r.Render(s, "", "/", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 10 {
				got, _, err := r.Render(s, "", "/", demoNow)
				if err == nil && !bytes.Equal(got, want) {
					err = errors.New("concurrent render differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestDemoPageSize(t *testing.T) {
	r := newRenderer(t)
	b, _, err := r.Render(demo.Site(demoNow), "", "/", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
	w.Write(b)
	w.Close()
	t.Logf("/ is %d bytes, %d gzipped", len(b), z.Len())
	if z.Len() > 30<<10 {
		t.Errorf("/ is %d bytes gzipped, over 30 KB", z.Len())
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero means defaults", Config{}, true},
		{"defaults", DefaultConfig(), true},
		{"negative days", Config{UptimeDays: -1}, false},
		{"too many days", Config{UptimeDays: 10000}, false},
		{"too many feed entries", Config{FeedEntries: 1 << 20}, false},
		{"negative months", Config{HistoryMonthsPerPage: -3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(WithConfig(tt.cfg))
			if (err == nil) != tt.ok {
				t.Fatalf("New(%+v) err = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
		})
	}
}
