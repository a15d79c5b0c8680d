package render

import (
	"bytes"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/origin/render/style"
)

// unsafeHTML returns what is wrong with doc: a <script> element, an on*
// attribute, a javascript:/vbscript:/data: URL, or an <iframe>/<object>/<embed>.
func unsafeHTML(doc []byte) []string {
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		return []string{"unparseable: " + err.Error()}
	}
	var bad []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch strings.ToLower(n.Data) {
			case "script", "iframe", "object", "embed", "base", "form", "meta":
				if n.Data != "meta" || hasAttr(n, "http-equiv") {
					bad = append(bad, "<"+n.Data+">")
				}
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") {
					bad = append(bad, "attribute "+a.Key+" on <"+n.Data+">")
				}
				switch key {
				case "href", "src", "action", "formaction", "xlink:href", "srcset", "poster":
					v := strings.ToLower(strings.Map(func(r rune) rune {
						if r <= ' ' || r == 0x7f {
							return -1
						}
						return r
					}, a.Val))
					// An icon is an image context, where an SVG runs no
					// script: the renderer's inline default favicon.
					rel, _ := attr(n, "rel")
					icon := n.Data == "link" && rel == "icon" && key == "href" && strings.HasPrefix(v, "data:image/svg+xml,")
					for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
						if strings.HasPrefix(v, scheme) && !icon {
							bad = append(bad, key+"="+a.Val)
						}
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return bad
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return true
		}
	}
	return false
}

// evil is text that tries every way out of its context.
var evil = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`' onmouseover='alert(1)`,
	`</style><script>alert(1)</script>`,
	`</title><script>alert(1)</script>`,
	`]]></content><script>alert(1)</script>`,
	`<svg onload=alert(1)>`,
	"javascript:alert(1)",
	"\x00<scr\x00ipt>",
}

var evilBodies = []string{
	`[click](javascript:alert(1))`,
	`[click](JaVaScRiPt:alert(1))`,
	"[click](java\tscript:alert(1))",
	`[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`<a href="javascript:alert(1)">x</a>`,
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`<iframe src="https://evil.example"></iframe>`,
	`![img](javascript:alert(1))`,
	"```\n</code></pre><script>alert(1)</script>\n```",
	`<div onclick="alert(1)">x</div>`,
	`[ok](https://example.com/?a=1&b="2") and <https://example.com> and www.example.com`,
	`<svg><script>alert(1)</script></svg>`,
	"<!-- <script> -->",
	`[x](vbscript:msgbox)`,
	`<a href="&#106;avascript:alert(1)">x</a>`,
}

// evilSite is the demo site with every name, description and body hostile,
// a bad accent colour and a javascript: logo.
func evilSite(tb testing.TB) *content.Site {
	tb.Helper()
	s := demo.Site(demoNow)
	s.Name = evil[0] + " Acme"
	s.URL = `http://acme.localhost/"><script>alert(1)</script>`
	s.Branding = content.Branding{AccentColor: "red;}</style><script>alert(1)</script>", LogoURL: "javascript:alert(1)"}
	for i, c := range s.Components {
		c.Name = evil[i%len(evil)] + " component"
		d := evil[(i+1)%len(evil)]
		c.Description = &d
	}
	k := 0
	for i, in := range s.Incidents {
		in.Name = evil[i%len(evil)] + " incident"
		for _, u := range in.Updates {
			u.Body = evilBodies[k%len(evilBodies)]
			k++
			for j := range u.AffectedComponents {
				u.AffectedComponents[j].Name = evil[(k+j)%len(evil)]
			}
		}
	}
	// More incidents, to carry every hostile body.
	for ; k < len(evilBodies); k++ {
		at := demoNow.Add(-time.Duration(k+1) * time.Hour)
		s.Incidents = append(s.Incidents, &content.Incident{
			ID: "evil" + string(rune('a'+k)), Name: evil[k%len(evil)], Status: content.Investigating, Impact: content.ImpactMinor,
			CreatedAt: at, UpdatedAt: at, StartedAt: at, ComponentIDs: []string{s.Components[1].ID},
			Updates: []*content.Update{{ID: "eu" + string(rune('a'+k)), Status: "investigating", Body: evilBodies[k], CreatedAt: at, UpdatedAt: at, DisplayAt: at}},
		})
	}
	for _, m := range s.Maintenances {
		m.Name = evil[3]
		m.Updates[0].Body = evilBodies[0]
	}
	return s
}

func TestHostileContentIsInert(t *testing.T) {
	r := newRenderer(t)
	s := evilSite(t)
	for _, p := range sitePaths(s) {
		body, ctype, err := r.Render(s, "", p, demoNow)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !strings.HasPrefix(ctype, "text/html") {
			continue
		}
		if bad := unsafeHTML(body); len(bad) > 0 {
			t.Errorf("%s: %v", p, bad)
		}
		if p == "/" {
			if !bytes.Contains(body, []byte("--accent:"+style.DefaultAccent)) {
				t.Error("an invalid accent colour reached the CSS")
			}
			if bytes.Contains(body, []byte("<img")) {
				t.Error("a javascript: logo was rendered")
			}
		}
	}
}

func TestMarkdownSubset(t *testing.T) {
	md := newMarkdown()
	tests := []struct{ name, in, want string }{
		{"emphasis", "*a* **b**", "<p><em>a</em> <strong>b</strong></p>\n"},
		{"code", "`x<y`", "<p><code>x&lt;y</code></p>\n"},
		{"list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"https link", "[a](https://example.com/x)", `<p><a href="https://example.com/x" rel="nofollow noopener" target="_blank">a</a></p>` + "\n"},
		{"mailto link", "[m](mailto:ops@example.com)", `<p><a href="mailto:ops@example.com" rel="nofollow">m</a></p>` + "\n"},
		{"javascript link dropped", "[a](javascript:alert(1))", "<p>a</p>\n"},
		{"relative link dropped", "[a](/admin)", "<p>a</p>\n"},
		{"raw html escaped away", "<b>x</b>", "<p>x</p>\n"},
		{"image dropped", "![alt](https://example.com/a.png)", "<p></p>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(md.render(tt.in)); got != tt.want {
				t.Errorf("render(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzMarkdown: no body, however hostile, yields a script, an event-handler
// attribute or a javascript: URL, in the fragment or in the whole page.
func FuzzMarkdown(f *testing.F) {
	for _, b := range evilBodies {
		f.Add(b)
	}
	for _, e := range evil {
		f.Add(e)
	}
	f.Add("plain text")
	f.Add("")
	f.Add("[a](https://example.com) *b* `c`\n\n1. x\n2. y")
	md := newMarkdown()
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 16<<10 {
			return
		}
		frag := md.render(body)
		if bad := unsafeHTML([]byte("<!DOCTYPE html><html><body><div>" + string(frag) + "</div></body></html>")); len(bad) > 0 {
			t.Fatalf("render(%q) = %q: %v", body, frag, bad)
		}
	})
}

// FuzzRenderPath: any path renders or fails with a sentinel, never panics,
// and a rendered HTML page stays inert.
func FuzzRenderPath(f *testing.F) {
	s := demo.Site(demoNow)
	for _, p := range sitePaths(s) {
		f.Add(p)
	}
	for _, p := range []string{"", "/history?page=", "/uptime?page=1000", "/incidents/", "/%2e%2e/", "/api/v2/../v2/summary.json", "/history?page=1;page=2"} {
		f.Add(p)
	}
	r := newRenderer(f)
	f.Fuzz(func(t *testing.T, path string) {
		body, ctype, err := r.Render(s, "", path, demoNow)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Render(%q): %v, want fs.ErrNotExist", path, err)
			}
			return
		}
		if strings.HasPrefix(ctype, "text/html") {
			if bad := unsafeHTML(body); len(bad) > 0 {
				t.Fatalf("Render(%q): %v", path, bad)
			}
		}
	})
}

// The checker itself must catch what it looks for, or the tests above prove nothing.
func TestUnsafeHTMLChecker(t *testing.T) {
	tests := []struct {
		doc  string
		safe bool
	}{
		{`<p><a href="https://example.com">x</a></p>`, true},
		{`<p><a href="mailto:a@b.c">x</a></p>`, true},
		{`<script>x</script>`, false},
		{`<p onclick="x">y</p>`, false},
		{`<a href="javascript:alert(1)">x</a>`, false},
		{`<a href=" JavaScript:alert(1)">x</a>`, false},
		{`<a href="&#106;avascript:alert(1)">x</a>`, false},
		{`<svg><a xlink:href="javascript:x">y</a></svg>`, false},
		{`<iframe src="https://x"></iframe>`, false},
		{`<img src="data:image/svg+xml,x">`, false},
	}
	for _, tt := range tests {
		if bad := unsafeHTML([]byte(tt.doc)); (len(bad) == 0) != tt.safe {
			t.Errorf("unsafeHTML(%q) = %v, want safe=%v", tt.doc, bad, tt.safe)
		}
	}
}

func TestMarkdownComplexityLimit(t *testing.T) {
	md := newMarkdown()
	tests := []struct {
		name  string
		body  string
		plain bool
	}{
		{"ordinary update", "We are **investigating**.\n\n- a\n  - b\n\n> quoted\n\n1. one\n2. two", false},
		{"eight levels", strings.Repeat("> ", 8) + "deep", false},
		{"nested quotes", strings.Repeat("> ", 32768), true},
		{"nested ordered lists", strings.Repeat("1. ", 21000), true},
		{"nested mixed", strings.Repeat("- > 1) ", 4), true},
		{"unclosed links", strings.Repeat("[a](", 16384), true},
		{"many links", strings.Repeat("[a](https://x.example) ", 300), true},
		{"a dash in text", "a - b - c", false},
		{"numbers", "1.5 and 2) items", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tooComplex(tt.body); got != tt.plain {
				t.Fatalf("tooComplex = %v, want %v", got, tt.plain)
			}
			out := string(md.render(tt.body))
			if bad := unsafeHTML([]byte(out)); len(bad) > 0 {
				t.Fatalf("unsafe: %v", bad)
			}
			if tt.plain && strings.Contains(out, "<blockquote>") {
				t.Error("a body past the limit was rendered as Markdown")
			}
		})
	}
	if got := string(plainText("a <b>\nc\n\nd")); got != "<p>a &lt;b&gt;<br>\nc</p>\n<p>d</p>\n" {
		t.Errorf("plainText = %q", got)
	}
}

func TestMarkdownCache(t *testing.T) {
	md := newMarkdown()
	for i := range 3 {
		for _, b := range evilBodies {
			if got, want := md.cached(b), md.render(b); got != want {
				t.Fatalf("round %d: cached(%q) = %q, want %q", i, b, got, want)
			}
		}
	}
	// Bounded: far more distinct input than the cache holds.
	big := strings.Repeat("x", 64<<10)
	for i := range 400 {
		md.cached(big + strings.Repeat("y", i))
	}
	md.mu.Lock()
	defer md.mu.Unlock()
	total := md.curBytes
	for k, v := range md.prev {
		total += len(k) + len(v)
	}
	if total > maxCacheBytes {
		t.Errorf("cache holds %d bytes, over %d", total, maxCacheBytes)
	}
}

// FuzzComponentsHTML: whatever a component's name, description or an
// incident's name, the hand-written components list stays inert.
func FuzzComponentsHTML(f *testing.F) {
	for i, e := range evil {
		f.Add(e, evil[(i+1)%len(evil)], evil[(i+2)%len(evil)])
	}
	f.Add("API", "REST", "Outage")
	r := newRenderer(f)
	// Built once: each run copies only what it changes, so a run costs a
	// render, not 90 days of demo history (a slow target also makes the
	// fuzzer's minimizing outlast a short -fuzztime).
	base := demo.Site(demoNow)
	f.Fuzz(func(t *testing.T, name, desc, incident string) {
		s := *base
		s.Components = slices.Clone(base.Components)
		c0, c1 := *s.Components[0], *s.Components[1]
		c1.Name, c1.Description, c0.Name = name, &desc, desc
		s.Components[0], s.Components[1] = &c0, &c1
		s.Incidents = slices.Clone(base.Incidents)
		in := *s.Incidents[0]
		in.Name = incident
		in.ComponentIDs = append(slices.Clone(in.ComponentIDs), c1.ID)
		s.Incidents[0] = &in
		body, _, err := r.Render(&s, "", "/", demoNow)
		if err != nil {
			t.Fatal(err)
		}
		if bad := unsafeHTML(body); len(bad) > 0 {
			t.Fatalf("%q %q %q: %v", name, desc, incident, bad)
		}
	})
}
