package render

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/render/style"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one parsed template set per HTML page, each the layout plus
// that page's "main" block.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"index", "history", "uptime", "incident", "maintenance"}

func parsePages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(template.FuncMap{
		"add": func(a, b int) int { return a + b },
	}).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// layout is what every HTML page's template receives.
type layout struct {
	Title   string // the page's own title; the site name is appended
	Nav     string // "status", "history", "uptime" or ""
	Site    siteInfo
	Status  pageStatus
	AsOf    timeVal
	Updated timeVal
	Main    any
}

type siteInfo struct {
	Name    string
	URL     string
	Logo    string
	CSS     template.CSS // style.Sheet with the site's (validated) accent
	Zone    string
	Formula string
	// UptimeNote says what the uptime figures mean (content.UptimeNote).
	UptimeNote string
	// SignedIn: a private or audience site, whose visitors signed in at
	// the edge (the header offers to sign out).
	SignedIn bool
	// Favicon is the branding's icon, or an inline dot in the accent
	// colour (a data: URL, so a browser never asks for /favicon.ico).
	Favicon     template.URL
	Description string
}

// favicon is the site's icon URL: its branding's (http or https), or the
// inline default in the accent colour.
func favicon(b content.Branding) template.URL {
	return template.URL(style.Favicon(b.FaviconURL, b.AccentColor)) // an http(s) URL, or ours
}

// timeVal is a time for <time datetime=ISO>Text</time>, in the site's zone.
type timeVal struct{ ISO, Text string }

func (v *view) tm(t time.Time) timeVal {
	t = t.In(v.loc)
	return timeVal{ISO: t.Format(time.RFC3339), Text: t.Format("Jan 2, 2006 15:04 MST")}
}

func (v *view) tmPtr(t *time.Time) *timeVal {
	if t == nil {
		return nil
	}
	tv := v.tm(*t)
	return &tv
}

// logoURL returns u if it is an absolute http(s) URL, else "".
func logoURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return p.String()
}

func (r *Renderer) html(v *view, name string, main any) ([]byte, string, error) {
	title := ""
	nav := ""
	switch d := main.(type) {
	case *indexData:
		nav = "status"
	case *historyData:
		title, nav = "History", "history"
		if d.Page > 1 {
			title += " (page " + strconv.Itoa(d.Page) + ")"
		}
	case *uptimePageData:
		title, nav = "Uptime", "uptime"
		if d.Page > 1 {
			title += " (page " + strconv.Itoa(d.Page) + ")"
		}
	case *incidentView:
		title = d.Name
	case *maintView:
		title = d.Name
	}
	l := layout{
		Title: title, Nav: nav, Status: v.status, AsOf: v.tm(v.asOf), Updated: v.tm(v.site.UpdatedAt), Main: main,
		Site: siteInfo{Name: v.site.Name, URL: v.site.URL, Logo: logoURL(v.site.Branding.LogoURL),
			CSS: template.CSS(style.Sheet(v.site.Branding.AccentColor)), Zone: v.loc.String(), Formula: content.UptimeFormula, UptimeNote: content.UptimeNote, SignedIn: v.site.Visibility != content.Public,
			Favicon: favicon(v.site.Branding), Description: content.PageDescription(v.site.Name, v.site.Branding)},
	}
	var buf bytes.Buffer
	buf.Grow(32 << 10)
	if err := r.pages.byName[name].Execute(&buf, l); err != nil {
		return nil, "", fmt.Errorf("render: %s page: %w", name, err)
	}
	if name != "index" {
		return buf.Bytes(), ContentTypeHTML, nil
	}
	// Splice the components list in, written straight into the page.
	page := buf.Bytes()
	i := bytes.Index(page, []byte(componentsMarker))
	if i < 0 {
		return nil, "", fmt.Errorf("render: index page: components marker missing")
	}
	out := make([]byte, 0, len(page)+componentsSize(v, r.cfg.UptimeDays))
	out = append(out, page[:i]...)
	out = componentsHTML(out, v, r.cfg.UptimeDays)
	out = append(out, page[i+len(componentsMarker):]...)
	return out, ContentTypeHTML, nil
}

// statusText spells out an incident or maintenance status ("in_progress" →
// "In progress").
func statusText(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// ---- page data ----

type affectedView struct{ Name, Old, New, OldText, NewText string }

type updateView struct {
	ID, Status, StatusText string
	At                     timeVal
	Body                   template.HTML
	Affected               []affectedView
}

type incidentView struct {
	ID, Name, Impact, Status, StatusText, Link string
	Started                                    timeVal
	Resolved                                   *timeVal
	Components                                 []string
	Updates                                    []updateView // newest first
	Unresolved                                 bool
}

type maintView struct {
	ID, Name, Status, StatusText, Link string
	For, Until                         timeVal
	Components                         []string
	Updates                            []updateView
}

type indexData struct {
	Active       []incidentView
	Maintenances []maintView    // running first, then upcoming by start
	Components   template.HTML  // ul#components, written by componentsHTML
	Recent       []incidentView // resolved in the last RecentDays, no updates
	RecentDays   int
	Days         int
}

// componentsMarker stands in the index template's output where the
// components list goes. Escaped content can never contain "<!--".
const componentsMarker template.HTML = "<!--statusedge:components-->"

func (r *Renderer) updates(v *view, us []*content.Update) []updateView {
	us = content.Timeline(us)
	out := make([]updateView, 0, len(us))
	for i := len(us) - 1; i >= 0; i-- {
		u := us[i]
		uv := updateView{ID: u.ID, Status: u.Status, StatusText: statusText(u.Status), At: v.tm(u.DisplayAt), Body: r.md.cached(u.Body)}
		for _, a := range u.AffectedComponents {
			uv.Affected = append(uv.Affected, affectedView{Name: a.Name, Old: string(a.OldStatus), New: string(a.NewStatus),
				OldText: a.OldStatus.Text(), NewText: a.NewStatus.Text()})
		}
		out = append(out, uv)
	}
	return out
}

func (v *view) componentNames(ids []string) []string {
	var out []string
	for _, id := range ids {
		if c := v.byID[id]; c != nil {
			out = append(out, c.Name)
		}
	}
	return out
}

func (r *Renderer) incidentView(v *view, in *content.Incident, withUpdates bool) incidentView {
	iv := incidentView{
		ID: in.ID, Name: in.Name, Impact: string(in.Impact), Status: string(in.Status), StatusText: statusText(string(in.Status)),
		Link: "/incidents/" + in.ID, Started: v.tm(in.StartedAt), Resolved: v.tmPtr(in.ResolvedAt),
		Components: v.componentNames(in.ComponentIDs), Unresolved: in.Status.Unresolved(),
	}
	if withUpdates {
		iv.Updates = r.updates(v, in.Updates)
	}
	return iv
}

func (r *Renderer) maintView(v *view, m *content.Maintenance, withUpdates bool) maintView {
	mv := maintView{
		ID: m.ID, Name: m.Name, Status: string(m.Status), StatusText: statusText(string(m.Status)),
		Link: "/maintenances/" + m.ID, For: v.tm(m.ScheduledFor), Until: v.tm(m.ScheduledUntil),
		Components: v.componentNames(m.ComponentIDs),
	}
	if withUpdates {
		mv.Updates = r.updates(v, m.Updates)
	}
	return mv
}

func (r *Renderer) indexData(v *view) *indexData {
	d := &indexData{RecentDays: r.cfg.RecentDays, Days: r.cfg.UptimeDays}
	recentFrom := content.DayStart(content.DayNumber(v.asOf, v.loc)-int32(r.cfg.RecentDays), v.loc)
	for _, in := range v.incidentsNewestFirst() {
		switch {
		case in.Status.Unresolved():
			d.Active = append(d.Active, r.incidentView(v, in, true))
		case in.ResolvedAt != nil && !in.ResolvedAt.Before(recentFrom) || in.ResolvedAt == nil && !in.UpdatedAt.Before(recentFrom):
			d.Recent = append(d.Recent, r.incidentView(v, in, false))
		}
	}
	for _, m := range v.site.Maintenances {
		if m.Status.Active() {
			d.Maintenances = append(d.Maintenances, r.maintView(v, m, true))
		}
	}
	for _, m := range sortedMaintenances(v.site.Maintenances, true) {
		if m.Status == content.Scheduled {
			d.Maintenances = append(d.Maintenances, r.maintView(v, m, true))
		}
	}

	d.Components = componentsMarker
	return d
}

func (r *Renderer) incidentData(v *view, in *content.Incident) *incidentView {
	iv := r.incidentView(v, in, true)
	return &iv
}

func (r *Renderer) maintenanceData(v *view, m *content.Maintenance) *maintView {
	mv := r.maintView(v, m, true)
	return &mv
}
