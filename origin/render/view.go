package render

import (
	"time"

	"github.com/statusedge/statusedge/content"
)

// view is one Render call's site as an audience sees it, with the lookups
// every page needs computed once.
type view struct {
	site     *content.Site
	loc      *time.Location
	asOf     time.Time
	byID     map[string]*content.Component
	children map[string][]*content.Component // group id → children, by position
	status   pageStatus
	windows  map[int]*content.Window // days → the shared dates and day starts
}

// window returns the uptime window of days days ending with asOf's day,
// built once per render and shared by every component.
func (v *view) window(days int) *content.Window {
	if w, ok := v.windows[days]; ok {
		return w
	}
	if v.windows == nil {
		v.windows = map[int]*content.Window{}
	}
	w := content.NewWindow(v.asOf, days, v.loc)
	v.windows[days] = w
	return w
}

// newView builds the view of s (a site as an audience sees it) at now;
// live is whether the whole site is (content.Site.Live).
func newView(s *content.Site, now time.Time, live bool) *view {
	loc := s.Location()
	v := &view{
		site: s, loc: loc, asOf: asOf(s, now, loc, live),
		byID:     make(map[string]*content.Component, len(s.Components)),
		children: map[string][]*content.Component{},
	}
	for _, c := range s.Components {
		v.byID[c.ID] = c
	}
	for _, c := range s.Components {
		if c.GroupID != nil {
			if _, ok := v.byID[*c.GroupID]; ok {
				v.children[*c.GroupID] = append(v.children[*c.GroupID], c)
			}
		}
	}
	v.status = computeStatus(s)
	return v
}

// statusOf is c's status as shown (a group: the worst of its children).
func (v *view) statusOf(c *content.Component) content.ComponentStatus {
	return effectiveStatus(c, v.children[c.ID])
}

// topLevel reports whether c is shown at the top level: a group, or a
// component with no (visible) group.
func (v *view) topLevel(c *content.Component) bool {
	if c.GroupID == nil {
		return true
	}
	_, ok := v.byID[*c.GroupID]
	return !ok
}

// shortlink is the incident's or maintenance's permanent address.
func (v *view) shortlink(kind, id string) string {
	return v.site.URL + "/" + kind + "/" + id
}

// isoMillis formats t as Statuspage does: ISO-8601 with milliseconds, in
// the page's offset ("Z" for UTC).
func (v *view) isoMillis(t time.Time) string {
	return t.In(v.loc).Format("2006-01-02T15:04:05.000Z07:00")
}
