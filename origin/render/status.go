package render

import (
	"time"

	"github.com/statusedge/statusedge/content"
)

// pageStatus is the page's roll-up, as Statuspage's status.json gives it.
type pageStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

// The roll-up levels, in order.
const (
	levelNone = iota
	levelMinor
	levelMajor
	levelCritical
)

// computeStatus rolls the page up the way Statuspage does:
//
//   - from the components (groups excluded): any degraded_performance is
//     minor ("Partially Degraded Service"), any partial_outage is minor
//     ("Minor Service Outage"), any major_outage is major ("Partial System
//     Outage"), and every component in major_outage is critical ("Major
//     Service Outage");
//   - from the unresolved incidents: their impact (minor, major, critical);
//   - the worse of the two wins, and its description is the one above;
//   - "maintenance" ("Service Under Maintenance") only when nothing is wrong
//     and a maintenance is running (in_progress or verifying), since some
//     clients accept only the four other values.
func computeStatus(s *content.Site) pageStatus {
	level, desc := levelNone, ""
	var n, major int
	worst := content.Operational
	for _, c := range s.Components {
		if c.Group {
			continue
		}
		n++
		if c.Status == content.MajorOutage {
			major++
		}
		if c.Status.Severity() > worst.Severity() {
			worst = c.Status
		}
	}
	switch {
	case n > 0 && major == n:
		level, desc = levelCritical, "Major Service Outage"
	case worst == content.MajorOutage:
		level, desc = levelMajor, "Partial System Outage"
	case worst == content.PartialOutage:
		level, desc = levelMinor, "Minor Service Outage"
	case worst == content.DegradedPerformance:
		level, desc = levelMinor, "Partially Degraded Service"
	}
	for _, in := range s.Incidents {
		if !in.Status.Unresolved() {
			continue
		}
		l := levelNone
		switch in.Impact {
		case content.ImpactMinor:
			l = levelMinor
		case content.ImpactMajor:
			l = levelMajor
		case content.ImpactCritical:
			l = levelCritical
		}
		if l > level {
			level, desc = l, levelDescription[l]
		}
	}
	if level == levelNone {
		for _, m := range s.Maintenances {
			if m.Status.Active() {
				return pageStatus{Indicator: "maintenance", Description: "Service Under Maintenance"}
			}
		}
		return pageStatus{Indicator: "none", Description: "All Systems Operational"}
	}
	return pageStatus{Indicator: levelIndicator[level], Description: desc}
}

var (
	levelIndicator   = [...]string{"none", "minor", "major", "critical"}
	levelDescription = [...]string{"All Systems Operational", "Minor Service Outage", "Partial System Outage", "Major Service Outage"}
)

// effectiveStatus is a component's status as shown (the rule of
// content.Site.StatusOf, over the children this audience sees).
func effectiveStatus(c *content.Component, children []*content.Component) content.ComponentStatus {
	if !c.Group {
		return c.Status
	}
	return content.GroupStatus(c, children)
}

// asOf is the moment a page is rendered "as of". While the whole site is
// live (content.Site.Live: something is not operational, so uptime moves
// with the clock) it is the later of the site's last change and the start
// of now's minute; otherwise the later of the last change and the start of
// now's day in the site's zone. Pages depend on now only through it, so the
// same snapshot renders to the same bytes all day, or all minute.
func asOf(s *content.Site, now time.Time, loc *time.Location, live bool) time.Time {
	from := content.DayStart(content.DayNumber(now, loc), loc)
	if live {
		from = now.Truncate(time.Minute).In(loc)
	}
	if s.UpdatedAt.After(from) {
		return s.UpdatedAt.In(loc)
	}
	return from
}
