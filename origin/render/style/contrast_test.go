package style

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/content"
)

// cssRule is one rule of the stylesheet: its selectors and declarations.
type cssRule struct {
	media     string // "" at top level, else the @media prelude
	selectors []string
	decls     map[string]string
}

var cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

// parseCSS reads the rules of a stylesheet as written by hand here: plain
// rules, and @media blocks holding plain rules.
func parseCSS(tb testing.TB, css string) []cssRule {
	tb.Helper()
	css = cssComment.ReplaceAllString(css, "")
	var rules []cssRule
	var parse func(s, media string)
	parse = func(s, media string) {
		for {
			open := strings.IndexByte(s, '{')
			if open < 0 {
				if strings.TrimSpace(s) != "" {
					tb.Fatalf("css: stray text %q", s)
				}
				return
			}
			prelude := strings.TrimSpace(s[:open])
			if strings.HasPrefix(prelude, "@") {
				depth, end := 0, -1
				for i := open; i < len(s) && end < 0; i++ {
					switch s[i] {
					case '{':
						depth++
					case '}':
						if depth--; depth == 0 {
							end = i
						}
					}
				}
				if end < 0 {
					tb.Fatalf("css: unclosed %s", prelude)
				}
				if strings.HasPrefix(prelude, "@media") {
					parse(s[open+1:end], prelude)
				}
				s = s[end+1:]
				continue
			}
			end := strings.IndexByte(s[open:], '}')
			if end < 0 {
				tb.Fatalf("css: unclosed rule %s", prelude)
			}
			r := cssRule{media: media, decls: map[string]string{}}
			for _, sel := range strings.Split(prelude, ",") {
				r.selectors = append(r.selectors, strings.TrimSpace(sel))
			}
			for _, d := range strings.Split(s[open+1:open+end], ";") {
				if k, v, ok := strings.Cut(d, ":"); ok {
					r.decls[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
			rules = append(rules, r)
			s = s[open+end+1:]
		}
	}
	parse(css, "")
	return rules
}

// theme is one colour scheme: the custom properties on :root, and the
// top-level rules.
type theme struct {
	name  string
	vars  map[string]string
	rules []cssRule
}

func themes(tb testing.TB, css string) []theme {
	tb.Helper()
	rules := parseCSS(tb, css)
	light := theme{name: "light", vars: map[string]string{}}
	dark := theme{name: "dark", vars: map[string]string{}}
	for _, r := range rules {
		root := len(r.selectors) == 1 && r.selectors[0] == ":root"
		switch {
		case r.media == "" && root:
			for k, v := range r.decls {
				light.vars[k], dark.vars[k] = v, v
			}
		case r.media == "" && !root:
			light.rules = append(light.rules, r)
			dark.rules = append(dark.rules, r)
		case strings.Contains(r.media, "prefers-color-scheme:dark") && root:
			for k, v := range r.decls {
				dark.vars[k] = v
			}
		}
	}
	if len(light.vars) < 10 || len(dark.vars) < 10 {
		tb.Fatalf("css: found %d light and %d dark custom properties", len(light.vars), len(dark.vars))
	}
	return []theme{light, dark}
}

// decl is the value of property prop in the rule with exactly selector sel
// (the last one wins, as in the cascade between equal selectors).
func (th theme) decl(tb testing.TB, sel, prop string) string {
	tb.Helper()
	v := ""
	for _, r := range th.rules {
		for _, s := range r.selectors {
			if s == sel {
				if d, ok := r.decls[prop]; ok {
					v = d
				}
			}
		}
	}
	if v == "" {
		tb.Fatalf("css: no %s in a %q rule", prop, sel)
	}
	return v
}

var cssVar = regexp.MustCompile(`^var\((--[a-z0-9-]+)\)$`)

// colour resolves a value (#rgb, #rrggbb or var(--x)) in the theme.
func (th theme) colour(tb testing.TB, v string) string {
	tb.Helper()
	for range 10 {
		m := cssVar.FindStringSubmatch(v)
		if m == nil {
			break
		}
		var ok bool
		if v, ok = th.vars[m[1]]; !ok {
			tb.Fatalf("css %s: %s is not defined", th.name, m[1])
		}
	}
	if _, err := luminance(v); err != nil {
		tb.Fatalf("css %s: %v", th.name, err)
	}
	return v
}

// luminance is the WCAG 2 relative luminance of a #rgb or #rrggbb colour.
func luminance(hex string) (float64, error) {
	h, ok := strings.CutPrefix(hex, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if !ok || len(h) != 6 {
		return 0, fmt.Errorf("colour %q: want #rgb or #rrggbb", hex)
	}
	var lin [3]float64
	for i := range lin {
		b, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return 0, fmt.Errorf("colour %q: %w", hex, err)
		}
		c := float64(b) / 255
		if c <= 0.04045 {
			lin[i] = c / 12.92
		} else {
			lin[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*lin[0] + 0.7152*lin[1] + 0.0722*lin[2], nil
}

// contrast is the WCAG 2 contrast ratio of two colours (1 to 21).
func contrast(a, b string) float64 {
	la, _ := luminance(a)
	lb, _ := luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrastRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000", "#fff", 21},
		{"#fff", "#000000", 21},
		{"#767676", "#fff", 4.54}, // the lightest grey that passes AA on white
		{"#777", "#fff", 4.48},    // and the one that does not
		{"#1a7f37", "#1a7f37", 1},
	} {
		if got := contrast(tc.a, tc.b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", "red", "#12", "#12345g", "1a7f37", "#1a7f37aa"} {
		if _, err := luminance(bad); err == nil {
			t.Errorf("luminance(%q): no error", bad)
		}
	}
}

// TestTextContrast holds every text colour of the stylesheet, the status
// colours first, to WCAG AA (4.5:1 for normal text) on each background it
// is drawn on, in the light and the dark theme.
func TestTextContrast(t *testing.T) {
	const aa = 4.5
	for _, th := range themes(t, Sheet("")) {
		t.Run(th.name, func(t *testing.T) {
			page := th.colour(t, th.decl(t, "body", "background"))
			card := th.colour(t, th.decl(t, ".card", "background"))
			type pair struct{ what, fg, bg string }
			var pairs []pair
			onPage := func(what, sel, prop string) {
				fg := th.colour(t, th.decl(t, sel, prop))
				pairs = append(pairs, pair{what + " on the page", fg, page}, pair{what + " on a card", fg, card})
			}
			// The component statuses, spelled out in their colour on the
			// page and in incident cards (affected components).
			for _, st := range content.ComponentStatuses {
				onPage(string(st), ".s-"+string(st), "color")
			}
			onPage("body text", "body", "color")
			onPage("muted text", ".meta", "color")
			onPage("descriptions", ".desc", "color")
			onPage("uptime legend", ".uptime-legend", "color")
			onPage("links", "a", "color")
			onPage("daily detail toggle", ".more", "color")
			// The overall banner: its text on each indicator's background.
			banner := th.colour(t, th.decl(t, "#overall", "color"))
			pairs = append(pairs, pair{"banner none", banner, th.colour(t, th.decl(t, "#overall", "background"))})
			for _, ind := range []string{"minor", "major", "critical", "maintenance"} {
				pairs = append(pairs, pair{"banner " + ind, banner, th.colour(t, th.decl(t, "#overall."+ind, "background"))})
			}
			// The uptime calendar: day numbers on the day's status colour.
			for n := range 6 {
				sel := ".cal li"
				if n == 0 {
					sel = ".cal .b0"
				}
				bg := th.colour(t, th.decl(t, ".b"+strconv.Itoa(n), "--c"))
				pairs = append(pairs, pair{"calendar day b" + strconv.Itoa(n), th.colour(t, th.decl(t, sel, "color")), bg})
			}
			for _, p := range pairs {
				if r := contrast(p.fg, p.bg); r < aa {
					t.Errorf("%s: %s on %s is %.2f:1, want at least %.1f:1", p.what, p.fg, p.bg, r, aa)
				}
			}
		})
	}
}

// TestNonTextContrast holds what tells a status by colour alone at a
// glance (the daily uptime bars, the impact edge of incident cards) to
// WCAG AA for graphical objects (3:1) against the page and the cards, in
// the light and the dark theme. The same facts are also there as text.
func TestNonTextContrast(t *testing.T) {
	const aa = 3.0
	for _, th := range themes(t, Sheet("")) {
		t.Run(th.name, func(t *testing.T) {
			bgs := map[string]string{
				"page": th.colour(t, th.decl(t, "body", "background")),
				"card": th.colour(t, th.decl(t, ".card", "background")),
			}
			fgs := map[string]string{}
			for n := range 6 {
				sel := ".b" + strconv.Itoa(n)
				fgs["uptime bar "+sel] = th.colour(t, th.decl(t, sel, "--c"))
			}
			for _, imp := range []string{"minor", "major", "critical", "maintenance"} {
				border := th.decl(t, ".impact-"+imp, "border-left")
				fgs["impact edge "+imp] = th.colour(t, border[strings.LastIndexByte(border, ' ')+1:])
			}
			for what, fg := range fgs {
				for on, bg := range bgs {
					if r := contrast(fg, bg); r < aa {
						t.Errorf("%s on the %s: %s on %s is %.2f:1, want at least %.1f:1", what, on, fg, bg, r, aa)
					}
				}
			}
		})
	}
}
