package render

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Content struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

type rssFeed struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		Link  string `xml:"link"`
		Items []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			PubDate     string `xml:"pubDate"`
			GUID        string `xml:"guid"`
		} `xml:"item"`
	} `xml:"channel"`
}

// allUpdates lists every incident and maintenance update of s as
// (title, link, display time), newest first.
func allUpdates(s *content.Site) []struct {
	title, link string
	at          time.Time
} {
	type e = struct {
		title, link string
		at          time.Time
	}
	var out []e
	for _, in := range s.Incidents {
		for _, u := range in.Updates {
			out = append(out, e{in.Name + " — " + statusText(u.Status), s.URL + "/incidents/" + in.ID, u.DisplayAt})
		}
	}
	for _, m := range s.Maintenances {
		for _, u := range m.Updates {
			out = append(out, e{m.Name + " — " + statusText(u.Status), s.URL + "/maintenances/" + m.ID, u.DisplayAt})
		}
	}
	return out
}

func TestFeeds(t *testing.T) {
	r := newRenderer(t)
	for _, s := range []*content.Site{busySite(t), evilSite(t)} {
		want := allUpdates(s)
		atomB, _, err := r.Render(s, "", "/history.atom", demoNow)
		if err != nil {
			t.Fatal(err)
		}
		var a atomDoc
		if err := xml.Unmarshal(atomB, &a); err != nil {
			t.Fatalf("atom does not parse: %v\n%s", err, atomB)
		}
		rssB, _, err := r.Render(s, "", "/history.rss", demoNow)
		if err != nil {
			t.Fatal(err)
		}
		var rs rssFeed
		if err := xml.Unmarshal(rssB, &rs); err != nil {
			t.Fatalf("rss does not parse: %v\n%s", err, rssB)
		}
		if len(a.Entries) != len(want) || len(rs.Channel.Items) != len(want) {
			t.Fatalf("%s: atom %d entries, rss %d items; want %d (one per update)", s.ID, len(a.Entries), len(rs.Channel.Items), len(want))
		}
		if rs.Version != "2.0" || a.ID != s.URL+"/history.atom" {
			t.Errorf("feed heads: rss version %q, atom id %q", rs.Version, a.ID)
		}
		var prev time.Time
		titles := map[string]bool{}
		for i, e := range a.Entries {
			at, err := time.Parse(time.RFC3339, e.Updated)
			if err != nil {
				t.Errorf("entry %d updated %q: %v", i, e.Updated, err)
			}
			if i > 0 && at.After(prev) {
				t.Errorf("entry %d is newer than the one before", i)
			}
			prev = at
			if e.Content.Type != "html" || !strings.HasPrefix(e.ID, e.Link.Href+"#update-") {
				t.Errorf("entry %d: type %q id %q link %q", i, e.Content.Type, e.ID, e.Link.Href)
			}
			if strings.Contains(strings.ToLower(e.Content.Body), "<script") || strings.Contains(e.Content.Body, "javascript:") {
				t.Errorf("entry %d content carries script: %q", i, e.Content.Body)
			}
			it := rs.Channel.Items[i]
			if it.Title != e.Title || it.Link != e.Link.Href || it.GUID != e.ID {
				t.Errorf("rss item %d %+v differs from atom entry", i, it)
			}
			if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
				t.Errorf("rss item %d pubDate %q: %v", i, it.PubDate, err)
			}
			titles[e.Title+"|"+e.Link.Href] = true
		}
		// Titles round-trip exactly, however hostile: the escaping is right.
		for _, w := range want {
			if !titles[strings.ToValidUTF8(strings.ReplaceAll(w.title, "\x00", "\uFFFD"), "\uFFFD")+"|"+w.link] {
				t.Errorf("%s: no entry titled %q linking %s", s.ID, w.title, w.link)
			}
		}
		if a.Updated != a.Entries[0].Updated {
			t.Errorf("atom updated %q, want the newest entry's %q", a.Updated, a.Entries[0].Updated)
		}
	}
}

func TestFeedLimit(t *testing.T) {
	r := newRenderer(t, WithConfig(Config{FeedEntries: 3}))
	b, _, err := r.Render(busySite(t), "", "/history.atom", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	var a atomDoc
	if err := xml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Entries) != 3 {
		t.Errorf("%d entries, want 3", len(a.Entries))
	}
}
