package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/origin/render/style"
)

func walkNodes(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walkNodes(c, f)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var b strings.Builder
	walkNodes(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	for _, c := range strings.Fields(v) {
		if c == class {
			return true
		}
	}
	return false
}

// TestHTMLStructure: every page is complete without script or outside
// request, has its landmarks, one h1, the feed links in <head>, and
// machine-readable times.
func TestHTMLStructure(t *testing.T) {
	r := newRenderer(t)
	s := busySite(t)
	for _, p := range sitePaths(s) {
		body, ctype, err := r.Render(s, "", p, demoNow)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ctype, "text/html") {
			continue
		}
		root, err := html.Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		feeds := map[string]bool{}
		walkNodes(root, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			count[n.Data]++
			switch n.Data {
			case "html":
				if lang, _ := attr(n, "lang"); lang == "" {
					t.Errorf("%s: <html> without lang", p)
				}
			case "link":
				rel, _ := attr(n, "rel")
				typ, _ := attr(n, "type")
				href, _ := attr(n, "href")
				if rel == "stylesheet" || rel == "preload" {
					t.Errorf("%s: render-blocking <link rel=%s>", p, rel)
				}
				if rel == "alternate" && n.Parent.Data == "head" {
					feeds[typ+" "+href] = true
				}
			case "time":
				dt, _ := attr(n, "datetime")
				if _, err := time.Parse(time.RFC3339, dt); err != nil {
					t.Errorf("%s: <time datetime=%q>: %v", p, dt, err)
				}
			case "img":
				if _, ok := attr(n, "alt"); !ok {
					t.Errorf("%s: <img> without alt", p)
				}
			}
		})
		for _, el := range []string{"header", "nav", "main", "footer", "style"} {
			if count[el] == 0 {
				t.Errorf("%s: no <%s>", p, el)
			}
		}
		if count["h1"] != 1 {
			t.Errorf("%s: %d <h1>, want 1", p, count["h1"])
		}
		if count["script"] != 0 {
			t.Errorf("%s: %d <script>", p, count["script"])
		}
		if !feeds["application/atom+xml /history.atom"] || !feeds["application/rss+xml /history.rss"] {
			t.Errorf("%s: feeds not linked from <head>: %v", p, feeds)
		}
	}
}

// TestIndexContent: the status page spells out every visible component's
// status, hides only_show_if_degraded components while operational, shows
// the active incident, the running and upcoming maintenances and a bar day
// per day for each showcase component.
func TestIndexContent(t *testing.T) {
	r := newRenderer(t)
	s := busySite(t)
	body, _, err := r.Render(s, "", "/", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	root, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{} // component id → status text
	var bars, incidents, maints int
	var overall string
	walkNodes(root, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if id, _ := attr(n, "id"); id == "overall" {
			overall, _ = attr(n, "data-indicator")
		}
		switch {
		case n.Data == "li" && hasClass(n, "component"):
			id, _ := attr(n, "data-id")
			walkNodes(n, func(c *html.Node) {
				if c.Type == html.ElementNode && hasClass(c, "status") && seen[id] == "" {
					seen[id] = text(c)
				}
			})
		case n.Data == "svg" && hasClass(n, "uptime-bar"):
			bars++
			days := 0
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Data == "rect" {
					days++
					if tt := text(c); !strings.Contains(tt, "-") || !strings.Contains(tt, ":") {
						t.Errorf("bar day title %q lacks a date and value", tt)
					}
				}
			}
			if days != 90 {
				t.Errorf("a bar has %d days, want 90", days)
			}
		case n.Data == "article" && hasClass(n, "incident"):
			incidents++
		case n.Data == "article" && hasClass(n, "maintenance"):
			maints++
		}
	})
	v := newView(s, demoNow, s.Live())
	wantBars := 0
	for _, c := range s.Components {
		got, shown := seen[c.ID]
		hidden := c.OnlyShowIfDegraded && v.statusOf(c) == content.Operational
		if shown == hidden {
			t.Errorf("component %s: shown %v, only_show_if_degraded and operational %v", c.Name, shown, hidden)
		}
		if shown && got != v.statusOf(c).Text() {
			t.Errorf("component %s: status %q, want %q", c.Name, got, v.statusOf(c).Text())
		}
		if shown && c.Showcase && !c.Group {
			wantBars++
		}
	}
	if bars != wantBars {
		t.Errorf("%d bars, want %d", bars, wantBars)
	}
	if incidents != 1 {
		t.Errorf("%d active incident cards, want 1", incidents)
	}
	if maints != 3 { // scheduled, in progress, verifying; not completed
		t.Errorf("%d maintenance cards, want 3", maints)
	}
	if overall != v.status.Indicator {
		t.Errorf("#overall indicator %q, want %q", overall, v.status.Indicator)
	}
}

// TestBranding: a valid accent colour reaches the CSS and an https logo is shown.
func TestBranding(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		accent, logo string
		wantAccent   string
		wantLogo     bool
	}{
		{"#0a7", "https://cdn.example/logo.svg", "#0a7", true},
		{"#12AB9f", "http://cdn.example/l.png", "#12AB9f", true},
		{"", "", style.DefaultAccent, false},
		{"red", "ftp://x/l.png", style.DefaultAccent, false},
		{"#12345", "//evil.example/x.png", style.DefaultAccent, false},
		{"#123456;background:url(x)", "data:image/png;base64,AAAA", style.DefaultAccent, false},
		{"expression(alert(1))", "javascript:alert(1)", style.DefaultAccent, false},
	}
	for _, tt := range tests {
		s := demo.Site(demoNow)
		s.Branding = content.Branding{AccentColor: tt.accent, LogoURL: tt.logo}
		body, _, err := r.Render(s, "", "/", demoNow)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, []byte("--accent:"+tt.wantAccent+";")) {
			t.Errorf("accent %q: want --accent:%s", tt.accent, tt.wantAccent)
		}
		if got := bytes.Contains(body, []byte("<img")); got != tt.wantLogo {
			t.Errorf("logo %q: shown %v, want %v", tt.logo, got, tt.wantLogo)
		}
	}
}

// TestHeadIconAndDescription: every page's head has an icon (the
// branding's, or an inline dot in the accent, so no request for
// /favicon.ico fails) and a meta description (the branding's, or a sentence
// naming the site), both escaped; hostile icon URLs fall back to the default.
func TestHeadIconAndDescription(t *testing.T) {
	r := newRenderer(t)
	for _, tt := range []struct {
		name     string
		branding content.Branding
		icon     string // the href, as a browser reads it
		desc     string
	}{
		{"defaults", content.Branding{}, style.Icon(""), "Current status, incidents, scheduled maintenance and uptime of Acme Cloud."},
		{"accent in the default icon", content.Branding{AccentColor: "#0a7f3c"}, style.Icon("#0a7f3c"), ""},
		{"own icon and description", content.Branding{FaviconURL: "https://cdn.example/fav.png?v=2&x=1", Description: "Acme's status"},
			"https://cdn.example/fav.png?v=2&x=1", "Acme's status"},
		{"javascript icon", content.Branding{FaviconURL: "javascript:alert(1)"}, style.Icon(""), ""},
		{"data icon from a tenant", content.Branding{FaviconURL: "data:text/html,<script>alert(1)</script>"}, style.Icon(""), ""},
		{"hostile description", content.Branding{Description: `"><script>alert(1)</script>`}, "", `"><script>alert(1)</script>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := demo.Site(demoNow)
			s.Branding = tt.branding
			for _, path := range []string{"/", "/history", "/uptime", "/incidents/" + s.Incidents[0].ID} {
				body, _, err := r.Render(s, "", path, demoNow)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := html.Parse(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				var icons, descs []string
				var walk func(n *html.Node)
				walk = func(n *html.Node) {
					if n.Type == html.ElementNode && n.Data == "link" {
						if rel, _ := attr(n, "rel"); rel == "icon" {
							href, _ := attr(n, "href")
							icons = append(icons, href)
						}
					}
					if n.Type == html.ElementNode && n.Data == "meta" {
						if name, _ := attr(n, "name"); name == "description" {
							c, _ := attr(n, "content")
							descs = append(descs, c)
						}
					}
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						walk(c)
					}
				}
				walk(doc)
				if len(icons) != 1 || len(descs) != 1 {
					t.Fatalf("%s: %d icons and %d descriptions, want one each", path, len(icons), len(descs))
				}
				if tt.icon != "" && icons[0] != tt.icon {
					t.Errorf("%s: icon %q, want %q", path, icons[0], tt.icon)
				}
				if tt.desc != "" && descs[0] != tt.desc {
					t.Errorf("%s: description %q, want %q", path, descs[0], tt.desc)
				}
				if bad := unsafeHTML(body); len(bad) > 0 {
					t.Errorf("%s: %v", path, bad)
				}
			}
		})
	}
}

// TestQuietDay: a site unchanged since yesterday is rendered as of the start
// of today, which has no data yet: the bar's last day shows the status so far.
// A site changed yesterday and all operational since: today has no data
// yet, and its bar shows the current status.
func TestQuietDay(t *testing.T) {
	r := newRenderer(t)
	s := demo.Operational(demoNow.AddDate(0, 0, -1))
	body, _, err := r.Render(s, "", "/", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	today := demoNow.In(s.Location()).Format("2006-01-02")
	for _, want := range []string{`class="b1"><title>` + today + `: today so far: Operational`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("no %q in the bars", want)
		}
	}
}
