package content

import (
	"math"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestUptimeFormula(t *testing.T) {
	utc := time.UTC
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, utc)
	type change struct {
		at time.Duration // since day start
		to ComponentStatus
	}
	tests := []struct {
		name    string
		changes []change
		want    *float64 // uptime of the day
		worst   ComponentStatus
	}{
		{"all operational", nil, ptr(1.0), Operational},
		{"six hours major", []change{{6 * time.Hour, MajorOutage}, {12 * time.Hour, Operational}}, ptr(0.75), MajorOutage},
		{"ten hours partial counts 30%", []change{{0, PartialOutage}, {10 * time.Hour, Operational}}, ptr(1 - 0.3*10.0/24), PartialOutage},
		{"degraded is not down", []change{{0, DegradedPerformance}, {20 * time.Hour, Operational}}, ptr(1.0), DegradedPerformance},
		{"maintenance is excluded", []change{{0, UnderMaintenance}, {12 * time.Hour, MajorOutage}, {18 * time.Hour, Operational}}, ptr(0.5), MajorOutage},
		{"whole day maintenance has no data", []change{{0, UnderMaintenance}}, nil, UnderMaintenance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h History
			h.Track("c", day.AddDate(0, 0, -5), Operational)
			for _, c := range tt.changes {
				h.Record("c", day.Add(c.at), c.to, "test", utc)
			}
			now := day.Add(30 * time.Hour) // the day is over
			got := h.Uptime("c", now, 2, utc)[0]
			if got.Worst != tt.worst {
				t.Errorf("worst = %s, want %s", got.Worst, tt.worst)
			}
			switch {
			case tt.want == nil && got.Uptime != nil:
				t.Fatalf("uptime = %v, want no data", *got.Uptime)
			case tt.want != nil && got.Uptime == nil:
				t.Fatalf("uptime = no data, want %v", *tt.want)
			case tt.want != nil && math.Abs(*got.Uptime-*tt.want) > 1e-4:
				t.Fatalf("uptime = %v, want %v", *got.Uptime, *tt.want)
			}
		})
	}
}

func TestUptimeSplitsAtLocalMidnight(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	var h History
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, ny)
	h.Track("c", start, Operational)
	// A major outage from 22:00 to 02:00 local time spans two local days.
	h.Record("c", time.Date(2026, 6, 2, 22, 0, 0, 0, ny), MajorOutage, "", ny)
	h.Record("c", time.Date(2026, 6, 3, 2, 0, 0, 0, ny), Operational, "", ny)
	days := h.Uptime("c", time.Date(2026, 6, 3, 23, 59, 59, 0, ny), 3, ny)
	if days[0].Date != "2026-06-01" || days[2].Date != "2026-06-03" {
		t.Fatalf("dates = %s..%s", days[0].Date, days[2].Date)
	}
	if days[1].Major != 2*3600 || days[2].Major != 2*3600 {
		t.Fatalf("major seconds = %d, %d; want 7200 each", days[1].Major, days[2].Major)
	}
	if *days[0].Uptime != 1 {
		t.Errorf("day 1 uptime = %v, want 1", *days[0].Uptime)
	}
}

func TestUptimeOpenIntervalAndTracking(t *testing.T) {
	utc := time.UTC
	created := time.Date(2026, 1, 10, 12, 0, 0, 0, utc)
	var h History
	h.Track("c", created, Operational)
	h.Record("c", created.Add(6*time.Hour), MajorOutage, "", utc) // still down
	now := created.Add(12 * time.Hour)                            // 2026-01-11 00:00
	days := h.Uptime("c", now.Add(6*time.Hour), 3, utc)           // 2026-01-09 .. 2026-01-11 06:00
	if days[0].Uptime != nil {
		t.Errorf("day before tracking has data: %v", *days[0].Uptime)
	}
	// Days count whole: the creation day had 6 of its 24 hours down.
	if got := *days[1].Uptime; math.Abs(got-0.75) > 1e-9 {
		t.Errorf("creation day uptime = %v, want 0.75", got)
	}
	if got := *days[2].Uptime; math.Abs(got-0.75) > 1e-9 { // down since midnight: 6h so far
		t.Errorf("today uptime = %v, want 0.75", got)
	}
}

// The figure under a 90-day bar counts whole days from the component's
// start: a component created minutes ago with a one-minute outage is not
// at 75 %, and a start_date before its creation counts those days as up.
func TestUptimeCountsWholeDaysFromStart(t *testing.T) {
	utc := time.UTC
	created := time.Date(2026, 5, 20, 14, 0, 0, 0, utc)
	for _, tc := range []struct {
		name      string
		startDate *string
		now       time.Time
		wantDays  int // days with data
		want      float64
	}{
		{"created 3 minutes ago, 66 s down", nil, created.Add(3 * time.Minute), 1, 1 - 66.0/86400},
		{"start_date two days before creation", ptr("2026-05-18"), created.Add(3 * time.Minute), 3, 1 - 66.0/86400/3},
		{"start_date after today: no data yet", ptr("2026-06-01"), created.Add(3 * time.Minute), 0, 0},
		{"created in the window, read 10 days later", nil, created.AddDate(0, 0, 10), 11, 1 - 66.0/86400/11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h History
			h.Track("c", created, Operational)
			h.Record("c", created.Add(time.Minute), MajorOutage, "", utc)
			h.Record("c", created.Add(time.Minute+66*time.Second), Operational, "", utc)
			c := &Component{ID: "c", CreatedAt: created, StartDate: tc.startDate}
			days := h.UptimeFrom("c", StartDay(c, utc), NewWindow(tc.now, 90, utc))
			n := 0
			for _, d := range days {
				if d.Uptime != nil {
					n++
				}
			}
			p, ok := Percent(days)
			if n != tc.wantDays || (n > 0 && (!ok || math.Abs(p-tc.want) > 1e-9)) || (n == 0 && ok) {
				t.Fatalf("%d days with data, %v (%v); want %d days, %v", n, p, ok, tc.wantDays, tc.want)
			}
		})
	}
}

func TestRecordIsAppendOnly(t *testing.T) {
	utc := time.UTC
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, utc)
	var h History
	h.Track("c", t0, Operational)
	h.Record("c", t0.Add(2*time.Hour), MajorOutage, "", utc)
	h.Record("c", t0.Add(time.Hour), Operational, "", utc) // dated before the last change
	ch := h.Components["c"]
	if len(ch.Changes) != 2 || ch.Changes[1].At != t0.Add(2*time.Hour) {
		t.Fatalf("changes = %+v", ch.Changes)
	}
	if len(ch.Days) != 0 {
		t.Fatalf("a zero-length outage left totals: %+v", ch.Days)
	}
	// Clone is deep.
	c := h.Clone()
	c.Record("c", t0.Add(3*time.Hour), MajorOutage, "", utc)
	if len(h.Components["c"].Changes) != 2 {
		t.Fatal("Clone shares Changes with the original")
	}
}

func TestGroupUptimeAverages(t *testing.T) {
	utc := time.UTC
	day := time.Date(2026, 2, 1, 0, 0, 0, 0, utc)
	var h History
	h.Track("a", day.AddDate(0, 0, -1), Operational)
	h.Track("b", day.AddDate(0, 0, -1), Operational)
	h.Record("a", day, MajorOutage, "", utc)
	h.Record("a", day.Add(12*time.Hour), Operational, "", utc)
	g := h.GroupUptime([]string{"a", "b"}, day.Add(24*time.Hour-time.Second), 1, utc)[0]
	if math.Abs(*g.Uptime-0.75) > 1e-4 || g.Worst != MajorOutage {
		t.Fatalf("group = %v %s, want 0.75 major_outage", *g.Uptime, g.Worst)
	}
}

// BenchmarkUptime90Days shows that reading 90 days costs O(days), not O(changes).
func BenchmarkUptime90Days(b *testing.B) {
	utc := time.UTC
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, utc)
	var h History
	h.Track("c", start, Operational)
	at := start
	for i := 0; i < 20000; i++ { // a flapping component: 20,000 changes
		at = at.Add(30 * time.Minute)
		st := MajorOutage
		if i%2 == 1 {
			st = Operational
		}
		h.Record("c", at, st, "", utc)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Uptime("c", at, 90, utc)
	}
}
