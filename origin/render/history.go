package render

import (
	"html/template"
	"slices"
	"strconv"
	"time"

	"github.com/statusedge/statusedge/content"
)

func sortedMaintenances(ms []*content.Maintenance, ascending bool) []*content.Maintenance {
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b *content.Maintenance) int {
		if ascending {
			return a.ScheduledFor.Compare(b.ScheduledFor)
		}
		return b.ScheduledFor.Compare(a.ScheduledFor)
	})
	return ms
}

// month is a calendar month counted from year 0 (year*12 + month-1).
type month int

func monthOf(t time.Time) month { return month(t.Year()*12 + int(t.Month()) - 1) }

func (m month) start(loc *time.Location) time.Time {
	return time.Date(int(m)/12, time.Month(int(m)%12+1), 1, 0, 0, 0, 0, loc)
}

func (m month) name() string { return time.Month(int(m)%12+1).String() + " " + strconv.Itoa(int(m)/12) }

func (m month) id() string { return m.start(time.UTC).Format("2006-01") }

// pager is the months one page covers, newest first, and its neighbours.
type pager struct {
	Page       int
	Prev, Next string // links to the newer and older pages, "" at the ends
}

// pageMonths returns the months of page (newest first) counting back from
// newest, and whether the page exists: page 1 always does, later ones only
// while they reach no further back than oldest.
func pageMonths(newest, oldest month, per, page int, base string) ([]month, pager, bool) {
	end := newest - month((page-1)*per)
	if page > 1 && end < oldest {
		return nil, pager{}, false
	}
	ms := make([]month, 0, per)
	for m := end; m > end-month(per); m-- {
		ms = append(ms, m)
	}
	pg := pager{Page: page}
	if page > 1 {
		pg.Prev = base
		if page > 2 {
			pg.Prev += "?page=" + strconv.Itoa(page-1)
		}
	}
	if end-month(per) >= oldest {
		pg.Next = base + "?page=" + strconv.Itoa(page+1)
	}
	return ms, pg, true
}

type historyItem struct {
	Kind, ID, Name, Link, Impact, Status, StatusText string
	Start                                            timeVal
	End                                              *timeVal
	Latest                                           template.HTML // the newest update's body
	at                                               time.Time
}

type monthView struct {
	ID, Name string
	Items    []historyItem
}

type historyData struct {
	pager
	Months []monthView
}

// oldestMonth is the month of the site's creation or of its oldest incident
// or maintenance, whichever is earlier.
func (v *view) oldestMonth() month {
	oldest := monthOf(v.site.CreatedAt.In(v.loc))
	for _, in := range v.site.Incidents {
		oldest = min(oldest, monthOf(in.StartedAt.In(v.loc)))
	}
	for _, m := range v.site.Maintenances {
		oldest = min(oldest, monthOf(m.ScheduledFor.In(v.loc)))
	}
	return oldest
}

func (r *Renderer) historyData(v *view, page int) (*historyData, bool) {
	months, pg, ok := pageMonths(monthOf(v.asOf), v.oldestMonth(), r.cfg.HistoryMonthsPerPage, page, "/history")
	if !ok {
		return nil, false
	}
	d := &historyData{pager: pg}
	idx := map[month]int{}
	for i, m := range months {
		d.Months = append(d.Months, monthView{ID: m.id(), Name: m.name()})
		idx[m] = i
	}
	latest := func(us []*content.Update) template.HTML {
		if len(us) == 0 {
			return ""
		}
		us = content.Timeline(us)
		return r.md.cached(us[len(us)-1].Body)
	}
	for _, in := range v.incidentsNewestFirst() {
		i, ok := idx[monthOf(in.StartedAt.In(v.loc))]
		if !ok {
			continue
		}
		d.Months[i].Items = append(d.Months[i].Items, historyItem{
			Kind: "incident", ID: in.ID, Name: in.Name, Link: "/incidents/" + in.ID, Impact: string(in.Impact),
			Status: string(in.Status), StatusText: statusText(string(in.Status)),
			Start: v.tm(in.StartedAt), End: v.tmPtr(in.ResolvedAt), Latest: latest(in.Updates), at: in.StartedAt,
		})
	}
	for _, m := range sortedMaintenances(v.site.Maintenances, false) {
		if m.ScheduledFor.After(v.asOf) && m.Status == content.Scheduled {
			continue // upcoming work is on the status page, not in history
		}
		i, ok := idx[monthOf(m.ScheduledFor.In(v.loc))]
		if !ok {
			continue
		}
		end := m.ScheduledUntil
		d.Months[i].Items = append(d.Months[i].Items, historyItem{
			Kind: "maintenance", ID: m.ID, Name: m.Name, Link: "/maintenances/" + m.ID, Impact: "maintenance",
			Status: string(m.Status), StatusText: statusText(string(m.Status)),
			Start: v.tm(m.ScheduledFor), End: v.tmPtr(&end), Latest: latest(m.Updates), at: m.ScheduledFor,
		})
	}
	// Newest first within a month, incidents and maintenances together.
	for i := range d.Months {
		slices.SortStableFunc(d.Months[i].Items, func(a, b historyItem) int { return b.at.Compare(a.at) })
	}
	return d, true
}

type calMonth struct {
	ID, Name string
	Uptime   string // mean over the days with data, "" if none
	Cal      template.HTML
}

type uptimeCal struct {
	ID, Name string
	Uptime   string
	Months   []calMonth
}

type uptimePageData struct {
	pager
	Components []uptimeCal
}

func (r *Renderer) uptimePageData(v *view, page int) (*uptimePageData, bool) {
	months, pg, ok := pageMonths(monthOf(v.asOf), monthOf(v.site.CreatedAt.In(v.loc)), r.cfg.UptimeMonthsPerPage, page, "/uptime")
	if !ok {
		return nil, false
	}
	d := &uptimePageData{pager: pg}
	lastDay := content.DayNumber(v.asOf, v.loc)
	firstDay := content.DayNumber(months[len(months)-1].start(v.loc), v.loc)
	incs := v.incidentDays(firstDay, lastDay)
	var buf []byte
	for _, c := range v.site.Components {
		if c.Group || !c.Showcase {
			continue
		}
		ds := v.site.History.UptimeFrom(c.ID, content.StartDay(c, v.loc), v.window(int(lastDay-firstDay)+1))
		uc := uptimeCal{ID: c.ID, Name: c.Name}
		dayIncs := v.componentIncidents(c, incs)
		var pageDays []content.DayUptime
		for _, m := range months {
			from := content.DayNumber(m.start(v.loc), v.loc)
			to := min(content.DayNumber((m+1).start(v.loc), v.loc)-1, lastDay)
			var mds []content.DayUptime
			if from <= to {
				mds = ds[from-firstDay : to-firstDay+1]
			}
			pageDays = append(pageDays, mds...)
			cm := calMonth{ID: m.id(), Name: m.name()}
			if p, ok := content.Percent(mds); ok {
				cm.Uptime = percent(p)
			}
			buf = calendar(buf[:0], m.start(v.loc).Weekday(), from, mds, daysIn(m), dayIncs)
			cm.Cal = template.HTML(buf) // #nosec: calendar escapes every text it writes
			uc.Months = append(uc.Months, cm)
		}
		if p, ok := content.Percent(pageDays); ok {
			uc.Uptime = percent(p)
		}
		d.Components = append(d.Components, uc)
	}
	return d, true
}

func daysIn(m month) int {
	return time.Date(int(m)/12, time.Month(int(m)%12+1)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// calendar writes one month as a 7-column list: blanks up to the first
// weekday, then a cell per day with its uptime class and a title (date,
// uptime, bad time, incidents); days after asOf are blank.
func calendar(buf []byte, firstWeekday time.Weekday, firstDay int32, days []content.DayUptime, n int, dayIncs func(int32) []dayIncident) []byte {
	buf = append(buf, `<ol class="cal">`...)
	for range int(firstWeekday) {
		buf = append(buf, `<li class="pad" aria-hidden="true"></li>`...)
	}
	for i := range n {
		if i >= len(days) {
			buf = append(buf, `<li class="b0 future">`...)
			buf = strconv.AppendInt(buf, int64(i+1), 10)
			buf = append(buf, `</li>`...)
			continue
		}
		d := days[i]
		buf = append(buf, `<li class="b`...)
		buf = append(buf, dayClass(d))
		buf = append(buf, `" title="`...)
		buf = append(buf, d.Date...)
		if d.Uptime != nil {
			buf = append(buf, ": "...)
			buf = appendPercent(buf, *d.Uptime)
			buf = append(buf, '%')
		} else {
			buf = append(buf, ": no data"...)
		}
		buf = appendDuration(buf, "major outage", d.Major)
		buf = appendDuration(buf, "partial outage", d.Partial)
		buf = appendDuration(buf, "degraded", d.Degraded)
		buf = appendDuration(buf, "maintenance", d.Maintenance)
		for _, in := range dayIncs(firstDay + int32(i)) {
			buf = append(buf, "; "...)
			buf = appendEscaped(buf, in.Name)
		}
		buf = append(buf, `">`...)
		buf = strconv.AppendInt(buf, int64(i+1), 10)
		buf = append(buf, `</li>`...)
	}
	return append(buf, `</ol>`...)
}
