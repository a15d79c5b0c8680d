package content

import (
	"math"
	"slices"
	"sort"
	"time"
)

// History keeps every component's status changes and, per component, daily
// totals of the time spent in each non-operational status. Days wholly
// operational have no entry, so the totals stay small; reading N days costs
// O(N) however many changes there were.
//
// Days are civil dates in the site's time zone, counted from 1970-01-01.
type History struct {
	Components map[string]*ComponentHistory `json:"components"`
}

// ComponentHistory is the record of one component.
type ComponentHistory struct {
	// Tracked is when the component began to be tracked (its creation).
	Tracked time.Time `json:"tracked"`
	// Since is when Status began.
	Since  time.Time       `json:"since"`
	Status ComponentStatus `json:"status"`
	// Changes is every status change, oldest first.
	Changes []StatusChange `json:"changes"`
	// Days holds the closed intervals' non-operational seconds, by Day ascending.
	Days []DayTotals `json:"days"`
}

// StatusChange is one change of a component's status.
type StatusChange struct {
	At   time.Time       `json:"at"`
	From ComponentStatus `json:"from"`
	To   ComponentStatus `json:"to"`
	// By names what made the change: an incident or maintenance id, or "api".
	By string `json:"by,omitempty"`
}

// DayTotals is the seconds one component spent in each non-operational
// status on one day.
type DayTotals struct {
	Day         int32 `json:"d"`
	Degraded    int32 `json:"dg,omitempty"`
	Partial     int32 `json:"po,omitempty"`
	Major       int32 `json:"mo,omitempty"`
	Maintenance int32 `json:"um,omitempty"`
}

// DayNumber is the civil date of t in loc as days since 1970-01-01.
func DayNumber(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayStart is the instant day begins in loc.
func DayStart(day int32, loc *time.Location) time.Time {
	u := time.Unix(int64(day)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, loc)
}

// DayDate formats day as "YYYY-MM-DD".
func DayDate(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format("2006-01-02")
}

// Clone returns a deep copy of h, for copy-on-write snapshots.
func (h History) Clone() History {
	out := History{Components: make(map[string]*ComponentHistory, len(h.Components))}
	for id, ch := range h.Components {
		c := *ch
		c.Changes = append([]StatusChange(nil), ch.Changes...)
		c.Days = append([]DayTotals(nil), ch.Days...)
		out.Components[id] = &c
	}
	return out
}

// Track starts the record of a component created at at with status st.
func (h *History) Track(id string, at time.Time, st ComponentStatus) {
	if h.Components == nil {
		h.Components = map[string]*ComponentHistory{}
	}
	if _, ok := h.Components[id]; ok {
		return
	}
	h.Components[id] = &ComponentHistory{Tracked: at, Since: at, Status: st}
}

// Forget drops a deleted component's record.
func (h *History) Forget(id string) { delete(h.Components, id) }

// Record notes that component id changed to status to at time at. The
// interval of the previous status is added to the daily totals. A change
// dated before the previous one is taken as happening at the previous one
// (history is append-only).
func (h *History) Record(id string, at time.Time, to ComponentStatus, by string, loc *time.Location) {
	ch, ok := h.Components[id]
	if !ok {
		h.Track(id, at, to)
		return
	}
	if at.Before(ch.Since) {
		at = ch.Since
	}
	if ch.Status == to {
		return
	}
	ch.Days = addInterval(ch.Days, ch.Status, ch.Since, at, loc)
	ch.Changes = append(ch.Changes, StatusChange{At: at, From: ch.Status, To: to, By: by})
	ch.Status, ch.Since = to, at
}

// addInterval adds [from, to) spent in st to days, splitting at midnights.
func addInterval(days []DayTotals, st ComponentStatus, from, to time.Time, loc *time.Location) []DayTotals {
	if st == Operational || !to.After(from) {
		return days
	}
	for from.Before(to) {
		day := DayNumber(from, loc)
		end := DayStart(day+1, loc)
		if end.After(to) {
			end = to
		}
		secs := int32(end.Sub(from) / time.Second)
		i := len(days) - 1
		if i < 0 || days[i].Day != day {
			// Intervals arrive in time order, so a new day is almost always
			// the last; a zone change may reorder days, so keep them sorted.
			i = sort.Search(len(days), func(k int) bool { return days[k].Day >= day })
			if i == len(days) || days[i].Day != day {
				days = slices.Insert(days, i, DayTotals{Day: day})
			}
		}
		add(&days[i], st, secs)
		from = end
	}
	return days
}

func add(d *DayTotals, st ComponentStatus, secs int32) {
	switch st {
	case DegradedPerformance:
		d.Degraded += secs
	case PartialOutage:
		d.Partial += secs
	case MajorOutage:
		d.Major += secs
	case UnderMaintenance:
		d.Maintenance += secs
	}
}

// DayUptime is one day of one component's (or group's) uptime.
type DayUptime struct {
	Date string `json:"date"` // YYYY-MM-DD in the site's time zone
	// Uptime is the fraction of the counted time the component was up, in
	// [0, 1]; nil when there is no data (before tracking, or all maintenance).
	Uptime      *float64 `json:"uptime"`
	Degraded    int32    `json:"degraded_seconds"`
	Partial     int32    `json:"partial_outage_seconds"`
	Major       int32    `json:"major_outage_seconds"`
	Maintenance int32    `json:"maintenance_seconds"`
	// Worst is the worst status seen that day ("operational" when none).
	Worst ComponentStatus `json:"worst"`
}

// PartialOutageWeight is the share of partial-outage time counted as down.
const PartialOutageWeight = 0.3

// UptimeFormula is the published formula, on the uptime page and in
// uptime.json.
const UptimeFormula = "a day's uptime = 1 − (major outage + 0.3 × partial outage) ÷ (the day's length − maintenance), for every whole day from the component's start date (its creation day unless set); degraded performance counts as up; a figure over several days is the mean of those days; a group is the mean of its components"

// UptimeNote says in a sentence what the figures under the bars mean; the
// pages link it to UptimeFormula.
const UptimeNote = "Each figure is the share of time the component was up over the days shown since it started (up to 90): partial outages count as 30% down, maintenance is left out."

// Window is a run of days ending with the day of Now, in a time zone: the
// dates and day boundaries that every component's uptime over those days
// shares. Build it once per page with NewWindow and read many components
// through UptimeIn.
type Window struct {
	Now    time.Time
	Loc    *time.Location
	First  int32       // day number of the first day
	Dates  []string    // YYYY-MM-DD of each day
	Starts []time.Time // the start of each day, and the end of the last
}

// NewWindow returns the window of days days ending with now's day in loc.
func NewWindow(now time.Time, days int, loc *time.Location) *Window {
	last := DayNumber(now, loc)
	w := &Window{Now: now, Loc: loc, First: last - int32(days) + 1,
		Dates: make([]string, days), Starts: make([]time.Time, days+1)}
	for i := range days + 1 {
		w.Starts[i] = DayStart(w.First+int32(i), loc)
		if i < days {
			w.Dates[i] = DayDate(w.First + int32(i))
		}
	}
	return w
}

// Uptime returns the daily uptime of component id for the days days ending
// with the day of now (oldest first), in O(days), counting from the day it
// was tracked (see UptimeFrom).
func (h History) Uptime(id string, now time.Time, days int, loc *time.Location) []DayUptime {
	return h.UptimeIn(id, NewWindow(now, days, loc))
}

// UptimeIn returns the daily uptime of component id over w, counting whole
// days from the day it was tracked (see UptimeFrom).
func (h History) UptimeIn(id string, w *Window) []DayUptime {
	return h.UptimeFrom(id, h.trackedDay(id, w.Loc), w)
}

// trackedDay is the day component id began to be tracked, in loc.
func (h History) trackedDay(id string, loc *time.Location) int32 {
	if ch, ok := h.Components[id]; ok {
		return DayNumber(ch.Tracked, loc)
	}
	return math.MaxInt32
}

// StartDay is the first day c's uptime counts: its start_date (a civil date,
// as Statuspage has it) when set, else the day it was created, in loc.
func StartDay(c *Component, loc *time.Location) int32 {
	if c.StartDate != nil {
		if t, err := time.Parse("2006-01-02", *c.StartDate); err == nil {
			return int32(t.Unix() / 86400)
		}
	}
	return DayNumber(c.CreatedAt, loc)
}

// UptimeFrom returns the daily uptime of component id over w, in O(days).
// Days before from have no data; every day from from on counts whole (its
// full length in w.Loc, today too), so a day's figure is the share of the day
// the component was up, the time not recorded as down counting as up (as
// Statuspage counts it). A day's outage is known up to w.Now.
func (h History) UptimeFrom(id string, from int32, w *Window) []DayUptime {
	days := len(w.Dates)
	out := make([]DayUptime, days)
	for i := range out {
		out[i] = DayUptime{Date: w.Dates[i], Worst: Operational}
	}
	ch, ok := h.Components[id]
	first, last := w.First, w.First+int32(days)-1
	totals := make([]DayTotals, days)
	if ok {
		// The closed intervals: a binary search for the first day, then a walk.
		j := sort.Search(len(ch.Days), func(k int) bool { return ch.Days[k].Day >= first })
		for ; j < len(ch.Days) && ch.Days[j].Day <= last; j++ {
			totals[ch.Days[j].Day-first] = ch.Days[j]
		}
		// The open interval: the current status since it began.
		if ch.Status != Operational && w.Now.After(ch.Since) {
			since := ch.Since
			if since.Before(w.Starts[0]) {
				since = w.Starts[0]
			}
			for _, d := range addInterval(nil, ch.Status, since, w.Now, w.Loc) {
				if d.Day < first || d.Day > last {
					continue
				}
				t := &totals[d.Day-first]
				t.Degraded += d.Degraded
				t.Partial += d.Partial
				t.Major += d.Major
				t.Maintenance += d.Maintenance
			}
		}
	}
	for i := range out {
		t := totals[i]
		d := &out[i]
		d.Degraded, d.Partial, d.Major, d.Maintenance = t.Degraded, t.Partial, t.Major, t.Maintenance
		switch {
		case t.Major > 0:
			d.Worst = MajorOutage
		case t.Partial > 0:
			d.Worst = PartialOutage
		case t.Degraded > 0:
			d.Worst = DegradedPerformance
		case t.Maintenance > 0:
			d.Worst = UnderMaintenance
		}
		if first+int32(i) < from || !w.Starts[i].Before(w.Now) { // not begun by Now: no data yet
			continue
		}
		counted := w.Starts[i+1].Sub(w.Starts[i]).Seconds() - float64(t.Maintenance)
		if counted <= 0 {
			continue
		}
		up := 1 - (float64(t.Major)+PartialOutageWeight*float64(t.Partial))/counted
		up = min(max(up, 0), 1)
		d.Uptime = &up
	}
	return out
}

// GroupMember is a component of a group and the first day its uptime counts.
type GroupMember struct {
	ID   string
	From int32
}

// GroupUptime averages the daily uptime of the given children (counted from
// the days they were tracked): a day's value is the mean of the children
// with data that day; Worst is the worst of them.
func (h History) GroupUptime(children []string, now time.Time, days int, loc *time.Location) []DayUptime {
	return h.GroupUptimeIn(children, NewWindow(now, days, loc))
}

// GroupUptimeIn is GroupUptime over w.
func (h History) GroupUptimeIn(children []string, w *Window) []DayUptime {
	ms := make([]GroupMember, len(children))
	for i, id := range children {
		ms[i] = GroupMember{ID: id, From: h.trackedDay(id, w.Loc)}
	}
	return h.GroupUptimeFrom(ms, w)
}

// GroupUptimeFrom averages the daily uptime of the given members over w,
// each counted from its own first day (see UptimeFrom).
func (h History) GroupUptimeFrom(children []GroupMember, w *Window) []DayUptime {
	days := len(w.Dates)
	out := h.UptimeFrom("", math.MaxInt32, w)
	sums := make([]float64, days)
	counts := make([]int, days)
	for _, m := range children {
		for i, d := range h.UptimeFrom(m.ID, m.From, w) {
			o := &out[i]
			o.Degraded += d.Degraded
			o.Partial += d.Partial
			o.Major += d.Major
			o.Maintenance += d.Maintenance
			if d.Worst.Severity() > o.Worst.Severity() {
				o.Worst = d.Worst
			}
			if d.Uptime != nil {
				sums[i] += *d.Uptime
				counts[i]++
			}
		}
	}
	for i := range out {
		if counts[i] > 0 {
			v := sums[i] / float64(counts[i])
			out[i].Uptime = &v
		}
	}
	return out
}

// Percent is the mean uptime over days with data, and whether there were any.
func Percent(days []DayUptime) (float64, bool) {
	var sum float64
	var n int
	for _, d := range days {
		if d.Uptime != nil {
			sum += *d.Uptime
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}
