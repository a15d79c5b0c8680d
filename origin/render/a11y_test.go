package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// focusable reports whether n is a tab stop by itself: a link, a form
// control, the summary of a details element, or anything with a tabindex
// of 0 or more.
func focusable(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	if ti, ok := attr(n, "tabindex"); ok {
		i, err := strconv.Atoi(strings.TrimSpace(ti))
		return err == nil && i >= 0
	}
	switch n.Data {
	case "a":
		_, ok := attr(n, "href")
		return ok
	case "button", "input", "select", "textarea", "iframe":
		return true
	case "summary":
		return n.Parent != nil && n.Parent.Data == "details" && firstElement(n.Parent) == n
	}
	return false
}

func firstElement(n *html.Node) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

// reachable calls f for every node a keyboard or screen reader user reaches
// on the page as loaded: it skips the body of closed <details> elements
// (not rendered, so out of the tab order and the accessibility tree) and,
// when forAT is set, aria-hidden subtrees.
func reachable(n *html.Node, forAT bool, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		if v, _ := attr(n, "aria-hidden"); forAT && v == "true" {
			return
		}
	}
	f(n)
	closed := false
	if n.Type == html.ElementNode && n.Data == "details" {
		_, open := attr(n, "open")
		closed = !open
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if closed && c != firstElement(n) {
			continue
		}
		reachable(c, forAT, f)
	}
}

// atText is the text a screen reader gets from n: its text without
// aria-hidden subtrees, whitespace collapsed.
func atText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if v, _ := attr(n, "aria-hidden"); n.Type == html.ElementNode && v == "true" {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// find returns the element descendants of n that match.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walkNodes(n, func(c *html.Node) {
		if c != n && c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	})
	return out
}

func tagClass(tag, class string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag && (class == "" || hasClass(n, class)) }
}

// shownAsText is how s reads once written into the page (NUL and invalid
// UTF-8 become U+FFFD).
func shownAsText(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")), " ")
}

// TestUptimeDaysReachable is issue 4's "each day with its date, uptime %
// and incidents on hover/focus" for keyboard and screen reader users: every
// showcase component's bar is one tab stop (a <summary>, named with the
// component and its uptime) that discloses, without script, a list of its
// days, each with the date, the uptime and links to that day's incidents,
// the same text as the day's hover tooltip, and agreeing with
// uptime.json. The 90 days are not tab stops, and while the disclosure is
// closed they are out of the tab order and the accessibility tree.
func TestUptimeDaysReachable(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name string
		site *content.Site
		now  time.Time
	}{
		{"demo", demo.Site(demoNow), demoNow},
		{"busy", busySite(t), demoNow},
		{"quiet day: today so far", demo.Site(demoNow.AddDate(0, 0, -1)), demoNow},
		{"hostile names, many incidents a day", evilSite(t), demoNow},
		{"new component: days without data", newComponentSite(), demoNow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, _, err := r.Render(tc.site, "", "/", tc.now)
			if err != nil {
				t.Fatal(err)
			}
			raw, _, err := r.Render(tc.site, "", "/api/statusedge/uptime.json", tc.now)
			if err != nil {
				t.Fatal(err)
			}
			var up struct {
				Days       int `json:"days"`
				Components []struct {
					ID     string   `json:"id"`
					Name   string   `json:"name"`
					Group  bool     `json:"group"`
					Uptime *float64 `json:"uptime"`
					Daily  []struct {
						Date      string        `json:"date"`
						Uptime    *float64      `json:"uptime"`
						Incidents []dayIncident `json:"incidents"`
					} `json:"daily"`
				} `json:"components"`
			}
			if err := json.Unmarshal(raw, &up); err != nil {
				t.Fatal(err)
			}
			root, err := html.Parse(bytes.NewReader(page))
			if err != nil {
				t.Fatal(err)
			}
			list := find(root, func(n *html.Node) bool { id, _ := attr(n, "id"); return id == "components" })
			if len(list) != 1 {
				t.Fatalf("%d ul#components", len(list))
			}
			comps := map[string]*html.Node{}
			for _, li := range find(list[0], tagClass("li", "component")) {
				id, _ := attr(li, "data-id")
				comps[id] = li
			}

			// Tab stops in the component list as loaded: one per group
			// (its collapsible summary) and one per bar, no more.
			groups, bars := len(find(list[0], tagClass("li", "group"))), len(find(list[0], tagClass("details", "daily")))
			stops := 0
			reachable(list[0], false, func(n *html.Node) {
				if focusable(n) {
					stops++
				}
			})
			if stops != groups+bars {
				t.Errorf("%d tab stops in the component list, want %d (%d groups + %d bars)", stops, groups+bars, groups, bars)
			}
			if tabindexed := find(list[0], func(n *html.Node) bool { _, ok := attr(n, "tabindex"); return ok }); len(tabindexed) > 0 {
				t.Errorf("%d elements with a tabindex: the days must not be tab stops of their own", len(tabindexed))
			}

			checked := 0
			for _, c := range up.Components {
				if c.Group {
					continue
				}
				li := comps[c.ID]
				if li == nil {
					if !hiddenWhileOperational(tc.site, c.ID) {
						t.Errorf("%s: in uptime.json but not on the page", c.ID)
					}
					continue
				}
				checked++
				ds := find(li, tagClass("details", "daily"))
				if len(ds) != 1 {
					t.Errorf("%s: %d details.daily, want 1", c.ID, len(ds))
					continue
				}
				d := ds[0]
				if _, open := attr(d, "open"); open {
					t.Errorf("%s: the daily detail is open on load (90 more stops for every bar)", c.ID)
				}
				summary := firstElement(d)
				if summary == nil || summary.Data != "summary" {
					t.Errorf("%s: details.daily does not start with its summary", c.ID)
					continue
				}
				// The bar is in the summary (a click on it discloses the
				// days) and hidden from assistive technology, whose name for
				// the summary says what the bar shows.
				svgs := find(summary, tagClass("svg", "uptime-bar"))
				if len(svgs) != 1 {
					t.Errorf("%s: %d svg.uptime-bar in the summary, want 1", c.ID, len(svgs))
					continue
				}
				if v, _ := attr(svgs[0], "aria-hidden"); v != "true" {
					t.Errorf("%s: the bar's 90 rects are exposed to assistive technology", c.ID)
				}
				// The figure says what it covers: the days it counts.
				counted := 0
				for _, day := range c.Daily {
					if day.Uptime != nil {
						counted++
					}
				}
				wantName := shownAsText(c.Name) + ": No data over " + strconv.Itoa(up.Days) + " days. Daily detail"
				if c.Uptime != nil {
					wantName = shownAsText(c.Name) + ": " + percent(*c.Uptime) + "% uptime over " + strconv.Itoa(counted) + map[bool]string{true: " day", false: " days"}[counted == 1] + ". Daily detail"
				}
				if got := atText(summary); got != wantName {
					t.Errorf("%s: the bar's accessible name is %q, want %q", c.ID, got, wantName)
				}

				rects := find(svgs[0], tagClass("rect", ""))
				days := find(d, tagClass("ol", "days"))
				if len(days) != 1 {
					t.Errorf("%s: %d ol.days, want 1", c.ID, len(days))
					continue
				}
				items := find(days[0], tagClass("li", ""))
				if len(rects) != len(c.Daily) || len(c.Daily) != up.Days {
					t.Errorf("%s: %d days drawn, %d in uptime.json, want %d", c.ID, len(rects), len(c.Daily), up.Days)
					continue
				}
				// A run of days with no data is one item ("D1 – D2: no
				// data (N days)"); every other day is an item of its own.
				k := -1
				for i := 0; i < len(c.Daily); i++ {
					day := c.Daily[i]
					k++
					if k >= len(items) {
						t.Errorf("%s: %d items listed for %d days", c.ID, len(items), len(c.Daily))
						break
					}
					item := atText(items[k])
					if strings.HasPrefix(item, day.Date+" – ") {
						var to string
						var n int
						if _, err := fmt.Sscanf(item[len(day.Date+" – "):], "%10s: no data (%d days)", &to, &n); err != nil || n < 2 || i+n > len(c.Daily) || c.Daily[i+n-1].Date != to {
							t.Errorf("%s day %d: folded item %q does not match the days", c.ID, i, item)
							break
						}
						for _, x := range c.Daily[i : i+n] {
							if x.Uptime != nil || len(x.Incidents) > 0 {
								t.Errorf("%s: folded %q over a day with data (%s)", c.ID, item, x.Date)
							}
						}
						i += n - 1
						continue
					}
					value := ": no data"
					switch {
					case day.Uptime != nil:
						value = ": " + percent(*day.Uptime) + "%"
					case i == len(c.Daily)-1 && strings.Contains(item, "today so far"):
						value = ": today so far: "
					}
					if !strings.HasPrefix(item, day.Date+value) {
						t.Errorf("%s day %d: %q, want it to start with %q", c.ID, i, item, day.Date+value)
					}
					if tip := strings.Join(strings.Fields(text(rects[i])), " "); tip != item {
						t.Errorf("%s day %d: tooltip %q, list item %q: want the same", c.ID, i, tip, item)
					}
					if cls, _ := attr(items[k], "class"); "b"+string(cls[len(cls)-1]) != firstClass(rects[i]) {
						t.Errorf("%s day %d: list class %q, bar class %q", c.ID, i, cls, firstClass(rects[i]))
					}
					links := find(items[k], tagClass("a", ""))
					if len(links) != len(day.Incidents) {
						t.Errorf("%s day %d: %d incident links, want %d (%q)", c.ID, i, len(links), len(day.Incidents), item)
						continue
					}
					for j, in := range day.Incidents {
						href, _ := attr(links[j], "href")
						if href != "/incidents/"+in.ID || atText(links[j]) != shownAsText(in.Name) {
							t.Errorf("%s day %d: incident link %q → %s, want %q → /incidents/%s", c.ID, i, atText(links[j]), href, in.Name, in.ID)
						}
						if !strings.Contains(item, "; "+shownAsText(in.Name)) {
							t.Errorf("%s day %d: %q does not name incident %q", c.ID, i, item, in.Name)
						}
					}
				}
			}
			if checked == 0 || checked != bars {
				t.Errorf("checked %d components of uptime.json, the page has %d bars", checked, bars)
			}
		})
	}
}

func firstClass(n *html.Node) string {
	v, _ := attr(n, "class")
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// newComponentSite is the demo with a showcase component created 10 days
// ago: its first 80 days have no data.
func newComponentSite() *content.Site {
	s := demo.Site(demoNow)
	created := demoNow.AddDate(0, 0, -10)
	c := &content.Component{ID: "newcomponent", Name: "Brand new", Status: content.Operational, Showcase: true,
		Position: len(s.Components) + 1, CreatedAt: created, UpdatedAt: created}
	s.Components = append(s.Components, c)
	s.History.Track(c.ID, created, content.Operational)
	return s
}

// hiddenWhileOperational reports whether component id is shown only if
// degraded, and operational.
func hiddenWhileOperational(s *content.Site, id string) bool {
	for _, c := range s.Components {
		if c.ID == id {
			return c.OnlyShowIfDegraded && c.Status == content.Operational
		}
	}
	return false
}
