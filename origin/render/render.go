package render

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/statusedge/statusedge/content"
)

// Content types of what Render returns.
const (
	ContentTypeHTML = "text/html; charset=utf-8"
	ContentTypeJSON = "application/json; charset=utf-8"
	ContentTypeAtom = "application/atom+xml; charset=utf-8"
	ContentTypeRSS  = "application/rss+xml; charset=utf-8"
)

// Config tunes what the pages hold. The zero value of a field means its default.
type Config struct {
	// UptimeDays is the length of the uptime bars and of uptime.json (default 90).
	UptimeDays int
	// HistoryMonthsPerPage is how many months one /history page covers (default 3).
	HistoryMonthsPerPage int
	// UptimeMonthsPerPage is how many months one /uptime page covers (default 3).
	UptimeMonthsPerPage int
	// FeedEntries is the most updates a feed lists, newest first (default 50).
	FeedEntries int
	// RecentDays is how far back / lists resolved incidents (default 7).
	RecentDays int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{UptimeDays: 90, HistoryMonthsPerPage: 3, UptimeMonthsPerPage: 3, FeedEntries: 50, RecentDays: 7}
}

func (c *Config) fillDefaults() {
	d := DefaultConfig()
	for _, f := range []struct{ v, d *int }{
		{&c.UptimeDays, &d.UptimeDays}, {&c.HistoryMonthsPerPage, &d.HistoryMonthsPerPage},
		{&c.UptimeMonthsPerPage, &d.UptimeMonthsPerPage}, {&c.FeedEntries, &d.FeedEntries}, {&c.RecentDays, &d.RecentDays},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
}

// Validate checks c (after defaults are filled).
func (c Config) Validate() error {
	switch {
	case c.UptimeDays < 1 || c.UptimeDays > 366:
		return fmt.Errorf("render: UptimeDays %d: must be in [1, 366]", c.UptimeDays)
	case c.HistoryMonthsPerPage < 1 || c.HistoryMonthsPerPage > 24:
		return fmt.Errorf("render: HistoryMonthsPerPage %d: must be in [1, 24]", c.HistoryMonthsPerPage)
	case c.UptimeMonthsPerPage < 1 || c.UptimeMonthsPerPage > 12:
		return fmt.Errorf("render: UptimeMonthsPerPage %d: must be in [1, 12]", c.UptimeMonthsPerPage)
	case c.FeedEntries < 1 || c.FeedEntries > 1000:
		return fmt.Errorf("render: FeedEntries %d: must be in [1, 1000]", c.FeedEntries)
	case c.RecentDays < 0 || c.RecentDays > 90:
		return fmt.Errorf("render: RecentDays %d: must be in [0, 90]", c.RecentDays)
	}
	return nil
}

// Option changes the Config New starts from.
type Option func(*Config)

// WithConfig replaces the whole Config (zero fields still mean defaults).
func WithConfig(c Config) Option { return func(dst *Config) { *dst = c } }

// Renderer turns site snapshots into page bytes. It holds the parsed
// templates, the Markdown renderer and the sanitizer, built once by New; it
// is safe for concurrent use.
type Renderer struct {
	cfg   Config
	md    *markdown
	pages *pages
}

// New builds a Renderer.
func New(opts ...Option) (*Renderer, error) {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("render: templates: %w", err)
	}
	return &Renderer{cfg: cfg, md: newMarkdown(), pages: p}, nil
}

// Render returns the bytes of one page of site as audience sees it, and their
// content type.
//
// audience is "" for the whole site or an audience id; an id the site lacks
// gives an error wrapping content.ErrUnknownAudience. path is one of the
// pages of docs/API.md §3, with an optional query of which only page= is
// read (/history?page=2); an unknown path, id or page gives an error
// wrapping fs.ErrNotExist.
//
// The output depends on now only through the moment the page is "as of",
// and no relative time is ever printed. While something on the site is not
// operational (content.Site.Live) that is max(site.UpdatedAt, start of now's
// minute): uptime, the time down and "as of" are right at read time within a
// minute. Otherwise it is max(site.UpdatedAt, start of now's day in the
// site's zone). So the same snapshot, audience, path and minute (live) or
// day (not live) give the same bytes.
func (r *Renderer) Render(site *content.Site, audience, path string, now time.Time) (body []byte, contentType string, err error) {
	if site == nil {
		return nil, "", errors.New("render: nil site")
	}
	s, err := site.ForAudience(audience)
	if err != nil {
		return nil, "", fmt.Errorf("render: site %s audience %q: %w", site.ID, audience, err)
	}
	p, rawQuery, _ := strings.Cut(path, "?")
	page, err := pageParam(rawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("render: %q: %w", path, err)
	}
	notFound := fmt.Errorf("render: site %s: no page %q: %w", site.ID, path, fs.ErrNotExist)
	v := newView(s, now, s.Live()) // an audience's own: the others' outages move nothing it sees

	switch {
	case p == "/":
		return r.html(v, "index", r.indexData(v))
	case p == "/history":
		d, ok := r.historyData(v, page)
		if !ok {
			return nil, "", notFound
		}
		return r.html(v, "history", d)
	case p == "/uptime":
		d, ok := r.uptimePageData(v, page)
		if !ok {
			return nil, "", notFound
		}
		return r.html(v, "uptime", d)
	case strings.HasPrefix(p, "/incidents/"):
		in := s.Incident(strings.TrimPrefix(p, "/incidents/"))
		if in == nil {
			return nil, "", notFound
		}
		return r.html(v, "incident", r.incidentData(v, in))
	case strings.HasPrefix(p, "/maintenances/"):
		m := s.Maintenance(strings.TrimPrefix(p, "/maintenances/"))
		if m == nil {
			return nil, "", notFound
		}
		return r.html(v, "maintenance", r.maintenanceData(v, m))
	case p == "/history.atom":
		b, err := r.atom(v)
		return b, ContentTypeAtom, err
	case p == "/history.rss":
		b, err := r.rss(v)
		return b, ContentTypeRSS, err
	case p == "/api/statusedge/uptime.json":
		b, err := r.uptimeJSON(v)
		return b, ContentTypeJSON, err
	case strings.HasPrefix(p, "/api/v2/"):
		b, ok, err := r.apiJSON(v, strings.TrimPrefix(p, "/api/v2/"))
		if !ok {
			return nil, "", notFound
		}
		return b, ContentTypeJSON, err
	}
	return nil, "", notFound
}

// maxPage bounds ?page= so a crafted query cannot make a page walk years.
const maxPage = 1000

// pageParam reads page= from a query: 1 when absent; a value that is not an
// integer in [1, maxPage] is not a page (fs.ErrNotExist). Other parameters
// are ignored.
func pageParam(rawQuery string) (int, error) {
	if rawQuery == "" {
		return 1, nil
	}
	q, _ := url.ParseQuery(rawQuery) // malformed pairs are other parameters: ignored
	vals, ok := q["page"]
	if !ok {
		return 1, nil
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < 1 || n > maxPage || len(vals) > 1 {
		return 0, fmt.Errorf("page %q: %w", vals[0], fs.ErrNotExist)
	}
	return n, nil
}
