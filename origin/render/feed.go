package render

import (
	"bytes"
	"encoding/xml"
	"slices"
	"time"

	"github.com/statusedge/statusedge/content"
)

// feedEntry is one incident or maintenance update, the unit of both feeds.
type feedEntry struct {
	id, title, link string
	at              time.Time
	html            string // the update body, rendered and sanitized
}

// feedEntries lists the newest updates of every incident and maintenance,
// newest first (ties keep a stable order), at most cfg.FeedEntries.
func (r *Renderer) feedEntries(v *view) []feedEntry {
	type raw struct {
		kind, id, name string
		u              *content.Update
	}
	var all []raw
	for _, in := range v.site.Incidents {
		for _, u := range in.Updates {
			all = append(all, raw{"incidents", in.ID, in.Name, u})
		}
	}
	for _, m := range v.site.Maintenances {
		for _, u := range m.Updates {
			all = append(all, raw{"maintenances", m.ID, m.Name, u})
		}
	}
	slices.SortStableFunc(all, func(a, b raw) int {
		if c := b.u.DisplayAt.Compare(a.u.DisplayAt); c != 0 {
			return c
		}
		if a.u.ID < b.u.ID {
			return -1
		}
		if a.u.ID > b.u.ID {
			return 1
		}
		return 0
	})
	if len(all) > r.cfg.FeedEntries {
		all = all[:r.cfg.FeedEntries]
	}
	out := make([]feedEntry, len(all))
	for i, e := range all {
		link := v.shortlink(e.kind, e.id)
		out[i] = feedEntry{
			id: link + "#update-" + e.u.ID, link: link, at: e.u.DisplayAt,
			title: e.name + " — " + statusText(e.u.Status),
			html:  string(r.md.cached(e.u.Body)),
		}
	}
	return out
}

// feedUpdated is the feed's own time: its newest entry, else the site's
// last change (never now, so the bytes stay a function of the snapshot).
func feedUpdated(v *view, es []feedEntry) time.Time {
	if len(es) > 0 {
		return es[0].at
	}
	return v.site.UpdatedAt
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
	Link      atomLink `xml:"link"`
	Content   atomText `xml:"content"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// atom renders /history.atom (Atom 1.0, RFC 4287): one entry per update.
func (r *Renderer) atom(v *view) ([]byte, error) {
	es := r.feedEntries(v)
	f := atomFeed{
		Lang: "en", ID: v.site.URL + "/history.atom", Title: v.site.Name + " status history",
		Updated: v.tm(feedUpdated(v, es)).ISO,
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: v.site.URL + "/history.atom"},
			{Rel: "alternate", Type: "text/html", Href: v.site.URL + "/history"},
		},
		Author: atomAuthor{Name: v.site.Name},
	}
	for _, e := range es {
		t := v.tm(e.at).ISO
		f.Entries = append(f.Entries, atomEntry{
			ID: e.id, Title: e.title, Updated: t, Published: t,
			Link:    atomLink{Rel: "alternate", Type: "text/html", Href: e.link},
			Content: atomText{Type: "html", Body: e.html},
		})
	}
	return encodeXML(f)
}

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Self          rssSelf   `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

type rssSelf struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	Description string  `xml:"description"`
	PubDate     string  `xml:"pubDate"`
	GUID        rssGUID `xml:"guid"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// rss renders /history.rss (RSS 2.0): one item per update.
func (r *Renderer) rss(v *view) ([]byte, error) {
	es := r.feedEntries(v)
	doc := rssDoc{Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title: v.site.Name + " status history", Link: v.site.URL + "/history",
		Description:   "Incident and maintenance updates for " + v.site.Name,
		Language:      "en",
		LastBuildDate: feedUpdated(v, es).In(v.loc).Format(time.RFC1123Z),
		Self:          rssSelf{Href: v.site.URL + "/history.rss", Rel: "self", Type: "application/rss+xml"},
	}}
	for _, e := range es {
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title: e.title, Link: e.link, Description: e.html,
			PubDate: e.at.In(v.loc).Format(time.RFC1123Z),
			GUID:    rssGUID{IsPermaLink: "false", Value: e.id},
		})
	}
	return encodeXML(doc)
}

func encodeXML(doc any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
