package skeleton_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/origin/render"
	"github.com/statusedge/statusedge/skeleton"
)

func newSkeleton(tb testing.TB) *skeleton.Skeleton {
	tb.Helper()
	sk, err := skeleton.New()
	if err != nil {
		tb.Fatal(err)
	}
	return sk
}

// gzipLen is b's size gzipped at the fastest level (the largest an edge would send).
func gzipLen(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Len()
}

func ptr[T any](v T) *T { return &v }

// bigLayout is an enterprise page: groups of many components with long names.
func bigLayout(groups, per int) content.RegistryEntry {
	e := content.RegistryEntry{ID: "big", Name: "Big Corp", Branding: content.Branding{AccentColor: "#123456"}}
	pos := 0
	for g := range groups {
		gid := fmt.Sprintf("group%07d", g)
		pos++
		e.Layout = append(e.Layout, content.LayoutComponent{ID: gid, Name: fmt.Sprintf("Region %d", g), Group: true, Position: pos})
		for c := range per {
			pos++
			e.Layout = append(e.Layout, content.LayoutComponent{ID: fmt.Sprintf("c%05d%06d", g, c),
				Name: fmt.Sprintf("Service %d-%d %x", g, c, sha256.Sum256([]byte{byte(g), byte(c)}))[:40], GroupID: ptr(gid),
				Position: pos, Showcase: true})
		}
	}
	return e
}

func TestShellSize(t *testing.T) {
	sk := newSkeleton(t)
	for _, tc := range []struct {
		name  string
		entry content.RegistryEntry
		more  bool // rows folded into "N more components"
	}{
		{"demo", demo.Site(demoNow()).Entry(), false},
		{"empty layout", content.RegistryEntry{Name: "Empty"}, false},
		{"100 components", bigLayout(10, 10), false},
		{"2000 components", bigLayout(40, 50), true},
		{"one group of 5000", bigLayout(1, 5000), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sk.Shell(tc.entry, "")
			gz := gzipLen(b)
			t.Logf("shell: %d bytes, %d gzipped (budget %d)", len(b), gz, skeleton.ShellBudget)
			if gz > skeleton.ShellBudget {
				t.Errorf("shell is %d bytes gzipped, over the %d budget", gz, skeleton.ShellBudget)
			}
			if got := bytes.Contains(b, []byte("more components")); got != tc.more {
				t.Errorf("folded rows: %v, want %v", got, tc.more)
			}
			if tc.more && gz < skeleton.ShellBudget*3/4 {
				t.Errorf("folded rows yet only %d of %d bytes used", gz, skeleton.ShellBudget)
			}
		})
	}
}

func TestScriptSize(t *testing.T) {
	sk := newSkeleton(t)
	gz := gzipLen([]byte(sk.Script()))
	t.Logf("script: %d bytes, %d gzipped (budget %d)", len(sk.Script()), gz, skeleton.ScriptBudget)
	if gz > skeleton.ScriptBudget {
		t.Errorf("script is %d bytes gzipped, over the %d budget", gz, skeleton.ScriptBudget)
	}
}

var (
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	inlineStyle  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	rowID        = regexp.MustCompile(`data-id="([^"]+)"`)
)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func TestHashesMatchTheShell(t *testing.T) {
	sk := newSkeleton(t)
	for _, accent := range []string{"#4f46e5", "#abc", "red;}</style><script>alert(1)</script>", ""} {
		e := demo.Site(demoNow()).Entry()
		e.Branding.AccentColor = accent
		b := string(sk.Shell(e, ""))
		scripts := inlineScript.FindAllStringSubmatch(b, -1)
		styles := inlineStyle.FindAllStringSubmatch(b, -1)
		if len(scripts) != 1 || len(styles) != 1 {
			t.Fatalf("accent %q: %d inline scripts and %d styles, want 1 and 1", accent, len(scripts), len(styles))
		}
		if got := hashOf(scripts[0][1]); got != sk.ScriptHash() {
			t.Errorf("script hash %s, the shell's script hashes to %s", sk.ScriptHash(), got)
		}
		if got := hashOf(styles[0][1]); got != sk.StyleHash(e) {
			t.Errorf("accent %q: style hash %s, the shell's style hashes to %s", accent, sk.StyleHash(e), got)
		}
		csp := sk.ContentSecurityPolicy(e)
		for _, want := range []string{"script-src " + sk.ScriptHash(), "style-src " + sk.StyleHash(e), "connect-src 'self'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q allows unsafe sources", csp)
		}
		if strings.Contains(b, "alert(1)") {
			t.Errorf("accent %q reached the page", accent)
		}
	}
}

func TestShellLayout(t *testing.T) {
	sk := newSkeleton(t)
	site, aud := withAudienceSite(demoNow())
	base := site.Entry()
	id := func(name string) string {
		for _, c := range base.Layout {
			if c.Name == name {
				return c.ID
			}
		}
		t.Fatalf("no component %q", name)
		return ""
	}
	all := []string{"Core Platform", "API", "Dashboard", "Authentication", "Webhooks", "Compute", "Virtual Machines", "Kubernetes",
		"Serverless Functions", "Object Storage", "Networking", "CDN", "DNS", "Load Balancers"} // not VPN Gateway: only if degraded
	evil := `<script>alert(1)</script>`
	for _, tc := range []struct {
		name     string
		edit     func(e *content.RegistryEntry)
		audience string
		want     []string // component names, in order
		contains []string
		lacks    []string
	}{
		{name: "whole site", want: all, contains: []string{"<title>Acme Cloud Status</title>", "<noscript>", `href="/api/v2/summary.json"`, `href="/history.atom"`}},
		{name: "audience", audience: aud, want: []string{"Core Platform", "API", "Compute", "Virtual Machines", "Kubernetes", "Serverless Functions", "Object Storage"}},
		{name: "unknown audience", audience: "nosuchaudien", want: nil},
		{name: "other audience's id in another case", audience: strings.ToUpper(aud), want: nil},
		{name: "markup in names", edit: func(e *content.RegistryEntry) {
			e.Name = evil
			e.Layout[1].Name = evil
		}, want: append([]string{"Core Platform", evil}, all[2:]...), lacks: []string{"<script>alert"}, contains: []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{name: "javascript logo", edit: func(e *content.RegistryEntry) { e.Branding.LogoURL = "javascript:alert(1)" }, want: all, lacks: []string{"<img", "javascript:"}},
		{name: "protocol-relative logo", edit: func(e *content.RegistryEntry) { e.Branding.LogoURL = "//evil.test/x.png" }, want: all, lacks: []string{"<img", "evil.test"}},
		{name: "https logo", edit: func(e *content.RegistryEntry) { e.Branding.LogoURL = "https://cdn.acme.test/logo.svg?a=1&b=2" }, want: all,
			contains: []string{`<img src="https://cdn.acme.test/logo.svg?a=1&amp;b=2"`}},
		{name: "a group with only hidden children is not shown", edit: func(e *content.RegistryEntry) {
			for i := range e.Layout {
				if e.Layout[i].GroupID != nil && *e.Layout[i].GroupID == id("Networking") {
					e.Layout[i].OnlyShowIfDegraded = true
				}
			}
		}, want: all[:10]},
		{name: "child of a missing group is top level", edit: func(e *content.RegistryEntry) {
			e.Layout = e.Layout[1:] // drop the Core Platform group
		}, want: all[1:]},
		{name: "positions out of order", edit: func(e *content.RegistryEntry) {
			e.Layout[0], e.Layout[len(e.Layout)-1] = e.Layout[len(e.Layout)-1], e.Layout[0]
		}, want: all},
		{name: "empty site", edit: func(e *content.RegistryEntry) { *e = content.RegistryEntry{} }, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := site.Entry()
			if tc.edit != nil {
				tc.edit(&e)
			}
			b := string(sk.Shell(e, tc.audience))
			names := map[string]string{}
			for _, c := range e.Layout {
				names[c.ID] = c.Name
			}
			var got []string
			for _, m := range rowID.FindAllStringSubmatch(b, -1) {
				got = append(got, names[m[1]])
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("rows\n got  %q\n want %q", got, tc.want)
			}
			for _, s := range tc.contains {
				if !strings.Contains(b, s) {
					t.Errorf("shell lacks %q", s)
				}
			}
			// Outside the inline script, which legitimately holds code.
			body := inlineScript.ReplaceAllString(b, "")
			for _, s := range tc.lacks {
				if strings.Contains(body, s) {
					t.Errorf("shell has %q", s)
				}
			}
		})
	}
}

// TestStylesheetMatchesRenderer: the shell carries the renderer's
// stylesheet (style.Sheet, one source for both), so the completed skeleton
// looks like the server render: the renderer's <style>, for the same accent
// colour, must open the shell's, and the rest is only the placeholder rules.
func TestStylesheetMatchesRenderer(t *testing.T) {
	sk := newSkeleton(t)
	r, err := render.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, accent := range []string{"#4f46e5", "#0f0", "not a colour"} {
		site := demo.Site(demoNow())
		site.Branding.AccentColor = accent
		page, _, err := r.Render(site, "", "/", demoNow())
		if err != nil {
			t.Fatal(err)
		}
		theirs := inlineStyle.FindSubmatch(page)
		ours := inlineStyle.FindStringSubmatch(string(sk.Shell(site.Entry(), "")))
		if theirs == nil || ours == nil {
			t.Fatalf("no <style> in the server render (%v) or the shell (%v)", theirs != nil, ours != nil)
		}
		if !strings.HasPrefix(ours[1], string(theirs[1])) {
			t.Errorf("accent %q: the shell's stylesheet does not start with the renderer's", accent)
		}
		if rest := strings.TrimPrefix(ours[1], string(theirs[1])); strings.Contains(rest, ":root") || len(rest) > 2048 {
			t.Errorf("accent %q: the shell adds %d bytes of CSS to the renderer's, redefining :root: %v", accent, len(rest), strings.Contains(rest, ":root"))
		}
	}
}
