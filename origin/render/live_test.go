package render

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// While something is not operational a page is right at read time within a
// minute: the time down, the uptime and "as of" move with the clock though
// nothing was written. An all-operational site's pages hold all day.
func TestLivePagesAreRightAtReadTime(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow.AddDate(0, 0, -1)) // last written yesterday; API in a partial outage since
	if !s.Live() {
		t.Fatal("test setup: the demo site has no outage")
	}
	at := func(now time.Time, path string) []byte {
		b, _, err := r.Render(s, "", path, now)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	today := demoNow.In(s.Location()).Format("2006-01-02")
	for _, tc := range []struct {
		now     time.Time
		asOf    string // in the page
		todayUp string // the API bar's today
	}{
		{demoNow, "Nov 24, 2026 10:04 EST", today + ": 87.42%, partial outage 10h 4m"},
		{demoNow.Add(30 * time.Minute), "Nov 24, 2026 10:34 EST", today + ": 86.79%, partial outage 10h 34m"},
		{demoNow.Add(3 * time.Hour), "Nov 24, 2026 13:04 EST", today + ": 83.67%, partial outage 13h 4m"},
	} {
		page := at(tc.now, "/")
		if !bytes.Contains(page, []byte(">"+tc.asOf+"<")) || !bytes.Contains(page, []byte(tc.todayUp)) {
			t.Errorf("at %s: want as of %q and %q in the page", tc.now, tc.asOf, tc.todayUp)
		}
		var doc struct {
			AsOf       string `json:"as_of"`
			Components []struct {
				Daily []struct {
					Partial int `json:"partial_outage_seconds"`
				} `json:"daily"`
			} `json:"components"`
		}
		if err := json.Unmarshal(at(tc.now, "/api/statusedge/uptime.json"), &doc); err != nil {
			t.Fatal(err)
		}
		wantAsOf := tc.now.Truncate(time.Minute).In(s.Location()).Format("2006-01-02T15:04:05.000-07:00")
		if doc.AsOf != wantAsOf {
			t.Errorf("uptime.json as_of %s, want %s", doc.AsOf, wantAsOf)
		}
		midnight := time.Date(2026, 11, 24, 0, 0, 0, 0, s.Location())
		if got, want := doc.Components[0].Daily[89].Partial, int(tc.now.Truncate(time.Minute).Sub(midnight)/time.Second); got != want {
			t.Errorf("uptime.json today's partial outage %d s, want %d", got, want)
		}
	}
	// Within one minute, one page: the bytes are a function of the minute.
	if a, b := at(demoNow.Truncate(time.Minute), "/"), at(demoNow.Truncate(time.Minute).Add(59*time.Second), "/"); !bytes.Equal(a, b) {
		t.Error("two renders in the same minute differ")
	}

	quiet := demo.Operational(demoNow.AddDate(0, 0, -1))
	for _, p := range []string{"/", "/api/statusedge/uptime.json", "/api/v2/summary.json"} {
		a, _, _ := r.Render(quiet, "", p, demoNow.Add(-9*time.Hour))
		b, _, _ := r.Render(quiet, "", p, demoNow.Add(8*time.Hour))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: an all-operational site's page moves within the day", p)
		}
	}
}

// The page says in a sentence what the figures cover and links to the
// formula, which the uptime page holds; uptime.json carries both.
func TestUptimeFiguresSayWhatTheyCover(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	index, _, _ := r.Render(s, "", "/", demoNow)
	uptime, _, _ := r.Render(s, "", "/uptime", demoNow)
	doc, _, _ := r.Render(s, "", "/api/statusedge/uptime.json", demoNow)
	for _, c := range []struct {
		name string
		page []byte
		want string
	}{
		{"the sentence", index, content.UptimeNote},
		{"the link to the formula", index, `<a href="/uptime#formula">How uptime is counted</a>`},
		{"the formula, no longer under the components", index, ""},
		{"the formula's anchor", uptime, `id="formula">Uptime: a day`},
		{"the note in uptime.json", doc, `"note":"` + content.UptimeNote + `"`},
	} {
		if c.want == "" {
			if bytes.Contains(c.page, []byte("× partial outage) ÷")) {
				t.Errorf("%s: the formula is printed on the status page", c.name)
			}
			continue
		}
		if !bytes.Contains(c.page, []byte(c.want)) {
			t.Errorf("%s: no %q", c.name, c.want)
		}
	}
}

// Markdown headings stay headings, one level below the update's own (h4),
// on the incident page, the status page and in the feeds; what is not
// allowed is still stripped.
func TestMarkdownHeadingsAreKept(t *testing.T) {
	r := newRenderer(t)
	s := demo.Site(demoNow)
	in := s.Incidents[0]
	u := *in.Updates[len(in.Updates)-1]
	u.Body = "## Root cause\n\nA full disk.\n\n### Timeline\n\n- 11:02 alerts\n\n## <img src=x onerror=alert(1)>Fix"
	in.Updates[len(in.Updates)-1] = &u
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/incidents/" + in.ID, []string{"<h5>Root cause</h5>", "<h6>Timeline</h6>", "<h5>Fix</h5>"}},
		{"/", []string{"<h5>Root cause</h5>"}},
		{"/history.atom", []string{"&lt;h5&gt;Root cause&lt;/h5&gt;"}},
		{"/history.rss", []string{"&lt;h5&gt;Root cause&lt;/h5&gt;"}},
	} {
		body, _, err := r.Render(s, "", tc.path, demoNow)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("%s: no %q", tc.path, w)
			}
		}
		if bytes.Contains(body, []byte("onerror")) || bytes.Contains(body, []byte("<h2>Root")) {
			t.Errorf("%s: an unsafe attribute or a heading above the update's", tc.path)
		}
	}
}

// A private or audience site's pages offer to sign out (the edge's
// /_statusedge/logout, POST); a public site's do not.
func TestSignOutOnPrivatePages(t *testing.T) {
	r := newRenderer(t)
	for _, vis := range []content.Visibility{content.Public, content.Private, content.AudienceSpecific} {
		s := demo.Site(demoNow)
		s.Visibility = vis
		body, _, err := r.Render(s, "", "/", demoNow)
		if err != nil {
			t.Fatal(err)
		}
		has := bytes.Contains(body, []byte(`<form method="post" action="/_statusedge/logout" class="signout"><button type="submit">Sign out</button></form>`))
		if has != (vis != content.Public) {
			t.Errorf("%s site: sign-out offered %v", vis, has)
		}
	}
}
