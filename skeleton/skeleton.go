package skeleton

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/render/style"
)

// Budgets, in gzipped bytes on the wire.
const (
	// ShellBudget is the most a shell may weigh: it must arrive in the first
	// round trip (an initial congestion window of 10 segments is ~14 KB).
	ShellBudget = 14 * 1024
	// ScriptBudget is the most the inline script may weigh.
	ScriptBudget = 6 * 1024
)

// DefaultAccent is the accent colour of a site that sets none (or an invalid
// one), as the renderer's.
const DefaultAccent = style.DefaultAccent

// The renderer's defaults (origin/render.DefaultConfig) that the shell
// reserves space for: the length of the uptime bars and of the list of
// recently resolved incidents.
const (
	UptimeDays = 90
	RecentDays = 7
)

// Paths the script fetches (same origin, with the visitor's session cookie).
const (
	SummaryPath = "/api/v2/summary.json"
	UptimePath  = "/api/statusedge/uptime.json"
	// IncidentsPath fills the list of recently resolved incidents; the page
	// completes without it.
	IncidentsPath = "/api/v2/incidents.json"
)

//go:embed assets/shell.html assets/skeleton.css assets/complete.js
var assets embed.FS

// Skeleton builds shells. It is immutable after New and safe for concurrent use.
type Skeleton struct {
	tmpl *template.Template
	// ownCSS is the placeholder rules (assets/skeleton.css); the shell's
	// stylesheet is the renderer's (style.Sheet, so the completed page looks
	// like the server render) followed by them.
	ownCSS     string
	script     string
	scriptHash string
	gzips      sync.Pool // *gzip.Writer, to measure shells
}

// New parses the embedded shell template, stylesheet and script.
func New() (*Skeleton, error) {
	read := func(name string) (string, error) {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return "", fmt.Errorf("skeleton: read %s: %w", name, err)
		}
		return string(b), nil
	}
	page, err := read("shell.html")
	if err != nil {
		return nil, err
	}
	ownCSS, err := read("skeleton.css")
	if err != nil {
		return nil, err
	}
	source, err := read("complete.js")
	if err != nil {
		return nil, err
	}
	script := squeeze(source)
	if strings.Contains(strings.ToLower(script), "</script") || strings.Contains(strings.ToLower(style.Sheet("")+ownCSS), "</style") {
		return nil, fmt.Errorf("skeleton: the inline script or stylesheet would close its element early")
	}
	tmpl, err := template.New("shell").Parse(page)
	if err != nil {
		return nil, fmt.Errorf("skeleton: parse shell template: %w", err)
	}
	return &Skeleton{tmpl: tmpl, ownCSS: ownCSS, script: script, scriptHash: cspHash(script)}, nil
}

// Script is the inline script, exactly as the shell carries it.
func (s *Skeleton) Script() string { return s.script }

// ScriptHash is the CSP source that allows the inline script
// ("'sha256-…'"), for script-src. The script never needs 'unsafe-inline'.
func (s *Skeleton) ScriptHash() string { return s.scriptHash }

// StyleHash is the CSP source that allows the shell's inline stylesheet for
// site e (it carries e's accent colour), for style-src.
func (s *Skeleton) StyleHash(e content.RegistryEntry) string { return cspHash(s.stylesheet(e)) }

// ContentSecurityPolicy is the Content-Security-Policy header value to send
// with e's shell: nothing inline runs or applies but the shell's own script
// and stylesheet (by hash), fetches go to the same origin only, and the logo
// may come from any http(s) origin (as the renderer allows).
func (s *Skeleton) ContentSecurityPolicy(e content.RegistryEntry) string {
	return "default-src 'none'; script-src " + s.scriptHash + "; style-src " + s.StyleHash(e) +
		"; img-src 'self' https: http: data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// Shell is the page shell for site e as audience sees it ("" for the whole
// site): the site's chrome (name, logo, accent colour) and the layout of the
// components audience may see (e.VisibleLayout(audience)), with placeholder
// rows and bars the size of the real ones, the inline script that completes
// it, and a <noscript> notice. It is built from e alone, with no content
// query. Components shown only if degraded get no placeholder (they are
// usually hidden). Past ShellBudget gzipped, the trailing rows are folded
// into one "N more components" row.
func (s *Skeleton) Shell(e content.RegistryEntry, audience string) []byte {
	rows := layoutRows(e.VisibleLayout(audience))
	total := countRows(rows)
	out := s.render(e, rows, total, total)
	if len(out) <= ShellBudget {
		return out
	}
	size := s.gzipSize(out)
	if size <= ShellBudget {
		return out
	}
	// Too big: keep the most rows that fit. The size grows about linearly
	// with the rows, so guess by interpolation, then bisect: a few renders.
	best := s.render(e, rows, total, 0) // the chrome alone fits (about 9 KB)
	lo, hi := 0, total                  // lo fits, hi does not
	loSize, hiSize := s.gzipSize(best), size
	for step := 0; lo+1 < hi; step++ {
		mid := (lo + hi) / 2
		if step%2 == 0 && hiSize > loSize { // interpolate on even steps
			mid = lo + (ShellBudget-loSize)*(hi-lo)/(hiSize-loSize)
			mid = min(max(mid, lo+1), hi-1)
		}
		b := s.render(e, rows, total, mid)
		if n := s.gzipSize(b); n <= ShellBudget {
			lo, loSize, best = mid, n, b
		} else {
			hi, hiSize = mid, n
		}
	}
	return best
}

// row is one placeholder row of the shell.
type row struct {
	ID, Name        string
	Group, Showcase bool
	Desc            bool // the component has a description line
	Children        []row
}

type shellData struct {
	Name        string
	Description string
	Favicon     template.URL
	Logo        string
	Zone        string
	UptimeNote  string
	Days        int
	RecentDays  int
	CSS         template.CSS
	Script      template.JS
	Rows        []row
	More        int
	// SignedIn: a private or audience site, whose visitors signed in at
	// the edge; the header offers to sign out, as the server render's.
	SignedIn bool
}

func (s *Skeleton) render(e content.RegistryEntry, rows []row, total, limit int) []byte {
	d := shellData{
		Name:        e.Name,
		Description: content.PageDescription(e.Name, e.Branding),
		Favicon:     favicon(e.Branding),
		Logo:        logoURL(e.Branding.LogoURL),
		Zone:        zoneName(e.TimeZone),
		UptimeNote:  content.UptimeNote,
		Days:        UptimeDays,
		RecentDays:  RecentDays,
		CSS:         template.CSS(s.stylesheet(e)), // our own CSS; the accent is validated
		Script:      template.JS(s.script),         // our own script, allowed by its hash
		Rows:        truncate(rows, limit),
		More:        total - min(limit, total),
		SignedIn:    e.Visibility != content.Public,
	}
	var buf bytes.Buffer
	buf.Grow(8 << 10)
	if err := s.tmpl.Execute(&buf, d); err != nil {
		// The template and its data are ours; tests render every shape of
		// layout. Should it fail anyway, send the chrome with no rows rather
		// than nothing: the script rebuilds the page from the JSON.
		buf.Reset()
		d.Rows, d.More = nil, 0
		_ = s.tmpl.Execute(&buf, d)
	}
	return buf.Bytes()
}

// stylesheet is the shell's stylesheet for e: the renderer's, with e's
// accent colour (validated by style.Sheet), then the placeholder rules.
func (s *Skeleton) stylesheet(e content.RegistryEntry) string {
	return style.Sheet(e.Branding.AccentColor) + s.ownCSS
}

// zoneName is the name of the zone the page's times are in, as the renderer
// prints it (UTC when the zone cannot be loaded).
func zoneName(tz string) string {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC.String()
	}
	return loc.String()
}

// logoURL returns u if it is an absolute http(s) URL (or a root-relative
// path), else "".
// favicon is the page's icon, as the renderer's: the branding's (http or
// https) or the inline dot in the accent colour.
func favicon(b content.Branding) template.URL {
	return template.URL(style.Favicon(b.FaviconURL, b.AccentColor)) // an http(s) URL, or ours
}

func logoURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || u == "" {
		return ""
	}
	switch {
	case p.Scheme == "https" || p.Scheme == "http":
		if p.Host == "" {
			return ""
		}
		return p.String()
	case p.Scheme == "" && p.Host == "" && strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"):
		return p.String()
	}
	return ""
}

// layoutRows turns a layout into top-level rows (groups hold their children),
// by position, the way the renderer lays the page out.
func layoutRows(layout []content.LayoutComponent) []row {
	cs := slices.Clone(layout)
	slices.SortStableFunc(cs, func(a, b content.LayoutComponent) int { return a.Position - b.Position })
	groups := map[string]bool{}
	for _, c := range cs {
		if c.Group {
			groups[c.ID] = true
		}
	}
	kids := map[string][]row{}
	for _, c := range cs {
		if c.GroupID != nil && groups[*c.GroupID] && !c.OnlyShowIfDegraded {
			kids[*c.GroupID] = append(kids[*c.GroupID], row{ID: c.ID, Name: c.Name, Showcase: c.Showcase, Desc: hasText(c.Description)})
		}
	}
	var out []row
	for _, c := range cs {
		switch {
		case c.GroupID != nil && groups[*c.GroupID]: // a child: under its group
		case c.Group:
			if len(kids[c.ID]) > 0 {
				out = append(out, row{ID: c.ID, Name: c.Name, Group: true, Children: kids[c.ID]})
			}
		case !c.OnlyShowIfDegraded:
			out = append(out, row{ID: c.ID, Name: c.Name, Showcase: c.Showcase, Desc: hasText(c.Description)})
		}
	}
	return out
}

func hasText(p *string) bool { return p != nil && strings.TrimSpace(*p) != "" }

func countRows(rows []row) int {
	n := 0
	for _, r := range rows {
		n += 1 + len(r.Children)
	}
	return n
}

// truncate keeps the first limit rows, counting children.
func truncate(rows []row, limit int) []row {
	var out []row
	for _, r := range rows {
		if limit <= 0 {
			break
		}
		limit--
		if len(r.Children) > limit {
			r.Children = r.Children[:limit]
		}
		limit -= len(r.Children)
		out = append(out, r)
	}
	return out
}

// squeeze drops the script's indentation and comment-only lines. It keeps
// every line break, so it cannot change what the script means (no string or
// regular expression in complete.js spans lines or starts a line with //).
func squeeze(js string) string {
	var b strings.Builder
	b.Grow(len(js))
	for line := range strings.Lines(js) {
		line = strings.TrimLeft(line, " \t")
		if strings.HasPrefix(line, "//") || strings.TrimSpace(line) == "" {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// gzipSize is len(b) gzipped at the fastest level: the largest an edge
// would send.
func (s *Skeleton) gzipSize(b []byte) int {
	var n countingWriter
	w, _ := s.gzips.Get().(*gzip.Writer)
	if w == nil {
		w, _ = gzip.NewWriterLevel(&n, gzip.BestSpeed)
	} else {
		w.Reset(&n)
	}
	_, _ = w.Write(b)
	_ = w.Close()
	s.gzips.Put(w)
	return int(n)
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
