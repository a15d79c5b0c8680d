package dev

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/statusedge/statusedge/internal/testenv"
)

// TestLighthouse: the demo page, at the URL statusedge dev prints, scores
// 100 in Lighthouse's accessibility, best-practices and SEO categories,
// mobile and desktop. (Performance is a timing: the bench measures it.)
func TestLighthouse(t *testing.T) {
	lh := lighthousePath(t)
	s := startSystem(t, Config{})
	url := s.Regions[0].PageURL + "/"
	for _, preset := range []string{"mobile", "desktop"} {
		t.Run(preset, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.json")
			args := []string{url, "--quiet", "--output=json", "--output-path=" + out,
				"--only-categories=accessibility,best-practices,seo", "--chrome-flags=" + testenv.ChromiumFlags}
			if preset == "desktop" {
				args = append(args, "--preset=desktop")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, lh, args...)
			cmd.Env = append(os.Environ(), "CHROME_PATH="+testenv.ChromiumPath)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("lighthouse: %v\n%s", err, b)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Categories map[string]struct {
					Score     *float64
					AuditRefs []struct {
						ID     string
						Weight float64
					}
				}
				Audits map[string]struct {
					Title string
					Score *float64
				}
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Categories) != 3 {
				t.Fatalf("report has %d categories, want 3", len(rep.Categories))
			}
			for name, c := range rep.Categories {
				if c.Score == nil || *c.Score < 1 {
					for _, r := range c.AuditRefs {
						if a := rep.Audits[r.ID]; r.Weight > 0 && a.Score != nil && *a.Score < 1 {
							t.Errorf("%s: %s: %q scores %v", name, r.ID, a.Title, *a.Score)
						}
					}
					t.Errorf("%s scores %v, want 1", name, c.Score)
				}
			}
		})
	}
}

// lighthousePath is the Lighthouse scripts/setup installs.
func lighthousePath(t *testing.T) string {
	dir := os.Getenv("STATUSEDGE_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(c, "statusedge")
	}
	p := filepath.Join(dir, "lighthouse-12.8.2", "node_modules", ".bin", "lighthouse")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("lighthouse is not installed at %s: run scripts/setup (make test does)", p)
	}
	return p
}
