package skeleton_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/statusedge/statusedge/demo"
)

// On an incident's and a maintenance's page the text, and the bullets of a
// body's list, stand clear of the impact stripe, on a desktop and on a
// 390 px phone.
func TestIncidentPageTextClearsTheStripe(t *testing.T) {
	now := demoNow()
	s := demo.Site(now)
	in := s.Incidents[0]
	u := *in.Updates[len(in.Updates)-1]
	u.Body = "What we saw:\n\n- errors on the API\n- slow dashboards"
	in.Updates[len(in.Updates)-1] = &u
	o := newOrigin(t, s, now, released())
	// gap is the least distance from the inner edge of the article's left
	// border to any of its text or list markers.
	const gapJS = `(() => {
		const a = document.querySelector("#incident, #maintenance");
		const cs = getComputedStyle(a), left = a.getBoundingClientRect().left + parseFloat(cs.borderLeftWidth);
		let gap = Infinity;
		for (const el of a.querySelectorAll("h1, p, h2, h4, li, .body")) {
			const r = el.getBoundingClientRect();
			gap = Math.min(gap, r.left - left);
			if (el.tagName === "LI" && getComputedStyle(el).listStylePosition === "outside" && getComputedStyle(el.parentElement).listStyleType !== "none") {
				gap = Math.min(gap, r.left - left - 14); // the marker hangs outside its item
			}
		}
		return gap;
	})()`
	for _, tc := range []struct {
		name          string
		width, height int64
		path          string
	}{
		{"desktop incident", 1280, 900, "/incidents/" + in.ID},
		{"phone incident", 390, 844, "/incidents/" + in.ID},
		{"phone maintenance", 390, 844, "/maintenances/" + s.Maintenances[0].ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := browser.Tab(t)
			run(t, tab, "viewport", chromedp.EmulateViewport(tc.width, tc.height))
			run(t, tab, "navigate", chromedp.Navigate(o.URL+tc.path))
			if gap := eval[float64](t, tab, gapJS); gap < 8 {
				t.Errorf("text %.1f px from the impact stripe, want at least 8", gap)
			}
		})
	}
}
