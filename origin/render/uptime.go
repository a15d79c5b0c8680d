package render

import (
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/statusedge/statusedge/content"
)

// dayIncident is an incident shown on a day of a component's uptime bar.
type dayIncident struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// incidentDays maps component id → day number → the incidents that touched
// that component that day (an incident lasts from its start to its
// resolution, or to asOf while open), for the days in [first, last].
func (v *view) incidentDays(first, last int32) map[string]map[int32][]dayIncident {
	out := map[string]map[int32][]dayIncident{}
	for _, in := range v.incidentsNewestFirst() {
		end := v.asOf
		if in.ResolvedAt != nil {
			end = *in.ResolvedAt
		}
		from, to := content.DayNumber(in.StartedAt, v.loc), content.DayNumber(end, v.loc)
		from, to = max(from, first), min(to, last)
		for _, cid := range in.ComponentIDs {
			for d := from; d <= to; d++ {
				m := out[cid]
				if m == nil {
					m = map[int32][]dayIncident{}
					out[cid] = m
				}
				m[d] = append(m[d], dayIncident{ID: in.ID, Name: in.Name})
			}
		}
	}
	return out
}

// uptimeOf returns the daily uptime of c for days days ending with asOf's
// day, counted in whole days from its start (content.StartDay): a group
// averages its visible children (content.History.GroupUptimeFrom).
func (v *view) uptimeOf(c *content.Component, days int) []content.DayUptime {
	if c.Group {
		kids := v.children[c.ID]
		ms := make([]content.GroupMember, len(kids))
		for i, k := range kids {
			ms[i] = content.GroupMember{ID: k.ID, From: content.StartDay(k, v.loc)}
		}
		return v.site.History.GroupUptimeFrom(ms, v.window(days))
	}
	return v.site.History.UptimeFrom(c.ID, content.StartDay(c, v.loc), v.window(days))
}

// hasShowcase reports whether c is a showcase component, or a group with one.
func (v *view) hasShowcase(c *content.Component) bool {
	if !c.Group {
		return c.Showcase
	}
	for _, k := range v.children[c.ID] {
		if k.Showcase {
			return true
		}
	}
	return false
}

type uptimeDoc struct {
	Page       apiPage           `json:"page"`
	AsOf       string            `json:"as_of"`
	Formula    string            `json:"formula"`
	Note       string            `json:"note"`
	Days       int               `json:"days"`
	Components []uptimeComponent `json:"components"`
}

type uptimeComponent struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Group   bool        `json:"group"`
	GroupID *string     `json:"group_id"`
	Uptime  *float64    `json:"uptime"` // mean over the days with data
	Daily   []uptimeDay `json:"daily"`
}

type uptimeDay struct {
	content.DayUptime
	Incidents []dayIncident `json:"incidents"`
}

// uptimeJSON is /api/statusedge/uptime.json: the daily uptime of every
// showcase component and of every group holding one, for the bars.
func (r *Renderer) uptimeJSON(v *view) ([]byte, error) {
	days := r.cfg.UptimeDays
	last := content.DayNumber(v.asOf, v.loc)
	first := last - int32(days) + 1
	incs := v.incidentDays(first, last)
	doc := uptimeDoc{Page: v.apiPage(), AsOf: v.isoMillis(v.asOf), Formula: content.UptimeFormula, Note: content.UptimeNote, Days: days,
		Components: []uptimeComponent{}}
	for _, c := range v.site.Components {
		if !v.hasShowcase(c) {
			continue
		}
		ds := v.uptimeOf(c, days)
		uc := uptimeComponent{ID: c.ID, Name: c.Name, Group: c.Group, GroupID: c.GroupID, Daily: make([]uptimeDay, len(ds))}
		if uc.GroupID != nil && v.byID[*uc.GroupID] == nil {
			uc.GroupID = nil
		}
		if p, ok := content.Percent(ds); ok {
			uc.Uptime = &p
		}
		dayIncs := v.componentIncidents(c, incs)
		for i, d := range ds {
			uc.Daily[i] = uptimeDay{DayUptime: d, Incidents: dayIncs(first + int32(i))}
			if uc.Daily[i].Incidents == nil {
				uc.Daily[i].Incidents = []dayIncident{}
			}
		}
		doc.Components = append(doc.Components, uc)
	}
	return appendUptimeDoc(make([]byte, 0, len(doc.Components)*days*200+1024), &doc)
}

// appendUptimeDoc encodes doc exactly as encoding/json would (a test holds
// it to that), by hand: with 1,000 components it is 90,000 days, and
// reflection doubled the cost of the endpoint.
func appendUptimeDoc(buf []byte, doc *uptimeDoc) ([]byte, error) {
	str := func(s string) error {
		if plainJSON(s) {
			buf = append(append(append(buf, '"'), s...), '"')
			return nil
		}
		b, err := json.Marshal(s)
		buf = append(buf, b...)
		return err
	}
	head, err := json.Marshal(struct {
		Page    apiPage `json:"page"`
		AsOf    string  `json:"as_of"`
		Formula string  `json:"formula"`
		Note    string  `json:"note"`
		Days    int     `json:"days"`
	}{doc.Page, doc.AsOf, doc.Formula, doc.Note, doc.Days})
	if err != nil {
		return nil, err
	}
	buf = append(buf, head[:len(head)-1]...) // without its closing brace
	buf = append(buf, `,"components":[`...)
	for i, c := range doc.Components {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"id":`...)
		if err := str(c.ID); err != nil {
			return nil, err
		}
		buf = append(buf, `,"name":`...)
		if err := str(c.Name); err != nil {
			return nil, err
		}
		buf = append(buf, `,"group":`...)
		buf = strconv.AppendBool(buf, c.Group)
		buf = append(buf, `,"group_id":`...)
		if c.GroupID == nil {
			buf = append(buf, "null"...)
		} else if err := str(*c.GroupID); err != nil {
			return nil, err
		}
		buf = append(buf, `,"uptime":`...)
		buf = appendJSONFloat(buf, c.Uptime)
		buf = append(buf, `,"daily":[`...)
		for j, d := range c.Daily {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"date":`...)
			if err := str(d.Date); err != nil {
				return nil, err
			}
			buf = append(buf, `,"uptime":`...)
			buf = appendJSONFloat(buf, d.Uptime)
			buf = append(buf, `,"degraded_seconds":`...)
			buf = strconv.AppendInt(buf, int64(d.Degraded), 10)
			buf = append(buf, `,"partial_outage_seconds":`...)
			buf = strconv.AppendInt(buf, int64(d.Partial), 10)
			buf = append(buf, `,"major_outage_seconds":`...)
			buf = strconv.AppendInt(buf, int64(d.Major), 10)
			buf = append(buf, `,"maintenance_seconds":`...)
			buf = strconv.AppendInt(buf, int64(d.Maintenance), 10)
			buf = append(buf, `,"worst":`...)
			if err := str(string(d.Worst)); err != nil {
				return nil, err
			}
			buf = append(buf, `,"incidents":[`...)
			for k, in := range d.Incidents {
				if k > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, `{"id":`...)
				if err := str(in.ID); err != nil {
					return nil, err
				}
				buf = append(buf, `,"name":`...)
				if err := str(in.Name); err != nil {
					return nil, err
				}
				buf = append(buf, '}')
			}
			buf = append(buf, "]}"...)
		}
		buf = append(buf, "]}"...)
	}
	return append(buf, "]}\n"...), nil
}

// plainJSON reports whether s is written by encoding/json as is, between
// quotes: printable ASCII without ", \, <, > or &.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendJSONFloat appends f as encoding/json does, or null.
func appendJSONFloat(buf []byte, f *float64) []byte {
	switch {
	case f == nil:
		return append(buf, "null"...)
	case *f == 0 || (*f >= 1e-6 && *f < 1e21):
		return strconv.AppendFloat(buf, *f, 'f', -1, 64)
	}
	b, _ := json.Marshal(*f) // the rare exponent forms
	return append(buf, b...)
}

// componentIncidents returns a lookup of the incidents touching c (a group:
// any of its children) on a day.
func (v *view) componentIncidents(c *content.Component, incs map[string]map[int32][]dayIncident) func(int32) []dayIncident {
	if !c.Group {
		m := incs[c.ID]
		return func(d int32) []dayIncident { return m[d] }
	}
	kids := v.children[c.ID]
	return func(d int32) []dayIncident {
		var out []dayIncident
		for _, k := range kids {
			for _, in := range incs[k.ID][d] {
				if !containsIncident(out, in.ID) {
					out = append(out, in)
				}
			}
		}
		return out
	}
}

func containsIncident(l []dayIncident, id string) bool {
	for _, x := range l {
		if x.ID == id {
			return true
		}
	}
	return false
}

// dayClass is the bar class of a day: b0 no data, b1 operational, b2
// degraded, b3 partial outage, b4 major outage, b5 maintenance.
func dayClass(d content.DayUptime) byte {
	switch {
	case d.Uptime == nil && d.Maintenance == 0:
		return '0'
	case d.Worst == content.MajorOutage:
		return '4'
	case d.Worst == content.PartialOutage:
		return '3'
	case d.Worst == content.DegradedPerformance:
		return '2'
	case d.Worst == content.UnderMaintenance:
		return '5'
	}
	return '1'
}

// statusClass is the bar class of a status (see dayClass).
func statusClass(st content.ComponentStatus) byte {
	switch st {
	case content.DegradedPerformance:
		return '2'
	case content.PartialOutage:
		return '3'
	case content.MajorOutage:
		return '4'
	case content.UnderMaintenance:
		return '5'
	}
	return '1'
}

// percent formats a fraction as a percentage with two decimals ("99.87",
// "100").
func percent(f float64) string { return string(appendPercent(nil, f)) }

// appendPercent appends percent(f) to buf.
func appendPercent(buf []byte, f float64) []byte {
	if f >= 1 {
		return append(buf, "100"...)
	}
	n := len(buf)
	buf = strconv.AppendFloat(buf, f*100, 'f', 2, 64)
	if string(buf[n:]) == "100.00" { // 0.99999 rounds up: do not claim a perfect day
		buf = append(buf[:n], "99.99"...)
	}
	return buf
}

// Geometry of the bar: each day is a 3-unit rect with a 1-unit gap.
const (
	barDayWidth = 3
	barDayStep  = 4
	barHeight   = 30
)

// uptimeBar writes the uptime of one showcase component over len(days)
// days: a <details class="daily"> disclosure whose <summary> is the bar
// (inline SVG, a rect per day with its <title> as a hover tooltip) and its
// legend (the uptime percent and a "Daily detail" toggle), and whose body
// is ol.days, a list item per day with the same text as the day's tooltip
// and links to its incidents.
//
// The disclosure is the keyboard and screen reader way to each day: it is
// one tab stop per component (not one per day), it needs no script, its
// accessible name says the component and its uptime ("API: 99.87% uptime
// over 90 days. Daily detail"), and while it is closed the 90 days are out
// of the tab order and of the accessibility tree, so the page stays quick
// to move through. The SVG is aria-hidden: the summary says what it shows.
//
// It is written by hand (every text HTML-escaped) because it is the bulk
// of a large page and html/template would cost 10x more per element.
//
// now is the component's status as of the page: when the page is as of the
// very start of a day (the site has not changed since), that day has no
// data yet and is drawn in the current status ("today so far: Operational").
func uptimeBar(buf []byte, name string, days []content.DayUptime, first int32, dayIncs func(int32) []dayIncident, now content.ComponentStatus) []byte {
	today := func(i int) bool {
		d := days[i]
		return i == len(days)-1 && d.Uptime == nil && d.Maintenance == 0 && now != ""
	}
	// Where each day's text (but its incidents) is in buf, to copy it
	// from the title to the list: most of a big page is these texts.
	var texts [maxBarDays][2]int
	buf = append(buf, `<details class="daily"><summary><svg class="uptime-bar" viewBox="0 0 `...)
	buf = strconv.AppendInt(buf, int64(max(len(days)*barDayStep-1, 0)), 10)
	buf = append(buf, ` `...)
	buf = strconv.AppendInt(buf, barHeight, 10)
	buf = append(buf, `" preserveAspectRatio="none" aria-hidden="true">`...)
	for i, d := range days {
		buf = append(buf, `<rect x="`...)
		buf = strconv.AppendInt(buf, int64(i*barDayStep), 10)
		buf = append(buf, `" width="3" height="30" class="b`...)
		if today(i) {
			buf = append(buf, statusClass(now))
		} else {
			buf = append(buf, dayClass(d))
		}
		buf = append(buf, `"><title>`...)
		incs := dayIncs(first + int32(i))
		start := len(buf)
		buf = appendDay(buf, d, today(i), now)
		if i < len(texts) {
			texts[i] = [2]int{start, len(buf)}
		}
		buf = appendIncidents(buf, incs, false)
		buf = append(buf, `</title></rect>`...)
	}
	buf = append(buf, `</svg><span class="uptime-legend"><span class="sr">`...)
	buf = appendEscaped(buf, name)
	buf = append(buf, `: </span><span class="uptime-pct">`...)
	// What the figure covers, in sight: the days it counts (whole days
	// since the component's start, at most the bar's).
	if p, ok := content.Percent(days); ok {
		buf = append(appendPercent(buf, p), "% uptime over "...)
		buf = appendDays(buf, countedDays(days))
		buf = append(buf, `</span><span class="sr">. </span>`...)
	} else {
		buf = append(buf, `No data</span><span class="sr"> over `...)
		buf = appendDays(buf, len(days))
		buf = append(buf, `. </span>`...)
	}
	buf = append(buf, "<span class=\"more\">Daily detail</span></span></summary>\n<ol class=\"days\">"...)
	for i := 0; i < len(days); i++ {
		d := days[i]
		// A run of days with no data (before the component started) is one
		// line of the list, not one a day.
		if j := noDataRun(days, i, today, first, dayIncs); j > i+1 {
			buf = append(buf, `<li class="b0">`...)
			buf = append(buf, d.Date...)
			buf = append(buf, " – "...)
			buf = append(buf, days[j-1].Date...)
			buf = append(buf, ": no data ("...)
			buf = appendDays(buf, j-i)
			buf = append(buf, ")</li>"...)
			i = j - 1
			continue
		}
		buf = append(buf, `<li class="b`...)
		if today(i) {
			buf = append(buf, statusClass(now))
		} else {
			buf = append(buf, dayClass(d))
		}
		buf = append(buf, `">`...)
		if i < len(texts) { // the same text as the day's title
			buf = append(buf, buf[texts[i][0]:texts[i][1]]...)
		} else {
			buf = appendDay(buf, d, today(i), now)
		}
		buf = appendIncidents(buf, dayIncs(first+int32(i)), true)
		buf = append(buf, `</li>`...)
	}
	return append(buf, "</ol></details>\n"...)
}

// countedDays is how many of days have data.
func countedDays(days []content.DayUptime) int {
	n := 0
	for _, d := range days {
		if d.Uptime != nil {
			n++
		}
	}
	return n
}

// appendDays appends "1 day" or "N days".
func appendDays(buf []byte, n int) []byte {
	buf = strconv.AppendInt(buf, int64(n), 10)
	if n == 1 {
		return append(buf, " day"...)
	}
	return append(buf, " days"...)
}

// noDataRun returns the end (exclusive) of the run of days from i that have
// no data, no incident and are not today (i itself when day i is not one).
func noDataRun(days []content.DayUptime, i int, today func(int) bool, first int32, dayIncs func(int32) []dayIncident) int {
	j := i
	for j < len(days) && days[j].Uptime == nil && days[j].Maintenance == 0 && !today(j) && len(dayIncs(first+int32(j))) == 0 {
		j++
	}
	return j
}

// maxBarDays is the most days uptimeBar copies texts for (Config allows
// up to 366 days).
const maxBarDays = 366

// appendDay appends what a day of a bar says but its incidents: its date,
// its uptime (or "today so far" and the current status, or "no data") and
// the time in each bad status.
func appendDay(buf []byte, d content.DayUptime, today bool, now content.ComponentStatus) []byte {
	buf = append(buf, d.Date...)
	switch {
	case today:
		buf = append(buf, ": today so far: "...)
		buf = append(buf, now.Text()...)
	case d.Uptime != nil:
		buf = append(buf, ": "...)
		buf = appendPercent(buf, *d.Uptime)
		buf = append(buf, '%')
	default:
		buf = append(buf, ": no data"...)
	}
	buf = appendDuration(buf, "major outage", d.Major)
	buf = appendDuration(buf, "partial outage", d.Partial)
	buf = appendDuration(buf, "degraded", d.Degraded)
	return appendDuration(buf, "maintenance", d.Maintenance)
}

// appendIncidents appends "; name" for each of a day's incidents, the name
// a link to the incident when links is set.
func appendIncidents(buf []byte, incs []dayIncident, links bool) []byte {
	for _, in := range incs {
		buf = append(buf, "; "...)
		if !links {
			buf = appendEscaped(buf, in.Name)
			continue
		}
		buf = append(buf, `<a href="/incidents/`...)
		buf = appendEscaped(buf, url.PathEscape(in.ID))
		buf = append(buf, `">`...)
		buf = appendEscaped(buf, in.Name)
		buf = append(buf, `</a>`...)
	}
	return buf
}

// appendDuration appends ", <what> 1h 5m" when secs > 0.
func appendDuration(buf []byte, what string, secs int32) []byte {
	if secs <= 0 {
		return buf
	}
	buf = append(buf, ", "...)
	buf = append(buf, what...)
	buf = append(buf, ' ')
	return appendShortDuration(buf, time.Duration(secs)*time.Second)
}

// appendShortDuration appends d as "2h 5m", "12m" or "40s".
func appendShortDuration(buf []byte, d time.Duration) []byte {
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	switch {
	case h > 0 && m > 0:
		buf = append(strconv.AppendInt(buf, h, 10), "h "...)
		return append(strconv.AppendInt(buf, m, 10), 'm')
	case h > 0:
		return append(strconv.AppendInt(buf, h, 10), 'h')
	case m > 0:
		return append(strconv.AppendInt(buf, m, 10), 'm')
	}
	return append(strconv.AppendInt(buf, int64(d/time.Second), 10), 's')
}

// appendEscaped appends s escaped for HTML text and attribute values.
func appendEscaped(buf []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case 0:
			esc = "\uFFFD"
		default:
			continue
		}
		buf = append(buf, s[last:i]...)
		buf = append(buf, esc...)
		last = i + 1
	}
	return append(buf, s[last:]...)
}
