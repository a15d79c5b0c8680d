package render

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// The documented Statuspage v2 objects (shared/reference/statuspage-api-v2.md),
// written out independently of the renderer's own types.

type v2Page struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt string `json:"updated_at"`
}

type v2Status struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type v2Component struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Status             string    `json:"status"`
	CreatedAt          string    `json:"created_at"`
	UpdatedAt          string    `json:"updated_at"`
	Position           int       `json:"position"`
	Description        *string   `json:"description"`
	Showcase           bool      `json:"showcase"`
	StartDate          *string   `json:"start_date"`
	GroupID            *string   `json:"group_id"`
	PageID             string    `json:"page_id"`
	Group              bool      `json:"group"`
	OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
	Components         *[]string `json:"components"`
}

type v2Affected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type v2Update struct {
	ID                   string        `json:"id"`
	Status               string        `json:"status"`
	Body                 string        `json:"body"`
	IncidentID           string        `json:"incident_id"`
	CreatedAt            string        `json:"created_at"`
	UpdatedAt            string        `json:"updated_at"`
	DisplayAt            string        `json:"display_at"`
	AffectedComponents   *[]v2Affected `json:"affected_components"`
	DeliverNotifications bool          `json:"deliver_notifications"`
	CustomTweet          *string       `json:"custom_tweet"`
	TweetID              *string       `json:"tweet_id"`
}

type v2Incident struct {
	ID                string        `json:"id"`
	Name              string        `json:"name"`
	Status            string        `json:"status"`
	CreatedAt         string        `json:"created_at"`
	UpdatedAt         string        `json:"updated_at"`
	MonitoringAt      *string       `json:"monitoring_at"`
	ResolvedAt        *string       `json:"resolved_at"`
	Impact            string        `json:"impact"`
	Shortlink         string        `json:"shortlink"`
	StartedAt         string        `json:"started_at"`
	PageID            string        `json:"page_id"`
	IncidentUpdates   []v2Update    `json:"incident_updates"`
	Components        []v2Component `json:"components"`
	ReminderIntervals *string       `json:"reminder_intervals"`
	// Maintenances only.
	ScheduledFor   *string `json:"scheduled_for"`
	ScheduledUntil *string `json:"scheduled_until"`
}

type v2Doc struct {
	Page                  *v2Page        `json:"page"`
	Status                *v2Status      `json:"status"`
	Components            *[]v2Component `json:"components"`
	Incidents             *[]v2Incident  `json:"incidents"`
	ScheduledMaintenances *[]v2Incident  `json:"scheduled_maintenances"`
}

// Every documented key, per object; present (null or not) on every object.
var (
	pageKeys      = []string{"id", "name", "url", "time_zone", "updated_at"}
	statusKeys    = []string{"indicator", "description"}
	componentKeys = []string{"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
		"start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
	incidentKeys = []string{"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
		"shortlink", "started_at", "page_id", "incident_updates", "components", "reminder_intervals"}
	maintenanceKeys = append(slices.Clone(incidentKeys), "scheduled_for", "scheduled_until")
	updateKeys      = []string{"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
		"affected_components", "deliver_notifications", "custom_tweet", "tweet_id"}
	affectedKeys = []string{"code", "name", "old_status", "new_status"}
	topKeys      = map[string][]string{
		"summary.json":                         {"page", "status", "components", "incidents", "scheduled_maintenances"},
		"status.json":                          {"page", "status"},
		"components.json":                      {"page", "components"},
		"incidents.json":                       {"page", "incidents"},
		"incidents/unresolved.json":            {"page", "incidents"},
		"scheduled-maintenances.json":          {"page", "scheduled_maintenances"},
		"scheduled-maintenances/upcoming.json": {"page", "scheduled_maintenances"},
		"scheduled-maintenances/active.json":   {"page", "scheduled_maintenances"},
	}
)

// isoMillis is Statuspage's timestamp: milliseconds and an offset or Z.
var isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)

func TestAPIStrict(t *testing.T) {
	r := newRenderer(t)
	for _, site := range []*content.Site{demo.Site(demoNow), busySite(t)} {
		for _, ep := range apiEndpoints {
			t.Run(site.ID+"/"+ep, func(t *testing.T) {
				b, _, err := r.Render(site, "", "/api/v2/"+ep, demoNow)
				if err != nil {
					t.Fatal(err)
				}
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				var doc v2Doc
				if err := dec.Decode(&doc); err != nil {
					t.Fatalf("strict decode: %v\n%s", err, b)
				}
				var raw map[string]any
				if err := json.Unmarshal(b, &raw); err != nil {
					t.Fatal(err)
				}
				checkKeys(t, ep, raw, topKeys[ep], true)
				checkTree(t, raw)
				checkSemantics(t, ep, site, &doc)
			})
		}
	}
}

// checkKeys fails unless obj has exactly keys (plus extra, when given).
func checkKeys(t *testing.T, what string, obj map[string]any, keys []string, exact bool, extra ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: key %q missing", what, k)
		}
	}
	if exact {
		for k := range obj {
			if !slices.Contains(keys, k) && !slices.Contains(extra, k) {
				t.Errorf("%s: unexpected key %q", what, k)
			}
		}
	}
}

// checkTree checks every object of a decoded v2 document for its keys.
func checkTree(t *testing.T, doc map[string]any) {
	t.Helper()
	checkKeys(t, "page", doc["page"].(map[string]any), pageKeys, true)
	if st, ok := doc["status"].(map[string]any); ok {
		checkKeys(t, "status", st, statusKeys, true)
	}
	comp := func(c map[string]any) {
		if c["group"] == true {
			checkKeys(t, "group component", c, append(slices.Clone(componentKeys), "components"), true)
		} else {
			checkKeys(t, "component", c, componentKeys, true)
		}
	}
	if cs, ok := doc["components"].([]any); ok {
		for _, c := range cs {
			comp(c.(map[string]any))
		}
	}
	incident := func(in map[string]any, keys []string) {
		checkKeys(t, "incident", in, keys, true)
		for _, c := range in["components"].([]any) {
			comp(c.(map[string]any))
		}
		for _, u := range in["incident_updates"].([]any) {
			um := u.(map[string]any)
			checkKeys(t, "incident_update", um, updateKeys, true)
			if acs, ok := um["affected_components"].([]any); ok {
				for _, a := range acs {
					checkKeys(t, "affected_component", a.(map[string]any), affectedKeys, true)
				}
			}
		}
	}
	if ins, ok := doc["incidents"].([]any); ok {
		for _, in := range ins {
			incident(in.(map[string]any), incidentKeys)
		}
	}
	if ms, ok := doc["scheduled_maintenances"].([]any); ok {
		for _, m := range ms {
			incident(m.(map[string]any), maintenanceKeys)
		}
	}
}

func oneOfStr[T ~string](s string, all []T) bool {
	return slices.Contains(all, T(s))
}

func checkSemantics(t *testing.T, ep string, site *content.Site, doc *v2Doc) {
	t.Helper()
	ts := func(what, s string) {
		if !isoMillis.MatchString(s) {
			t.Errorf("%s: timestamp %q is not ISO-8601 with milliseconds", what, s)
		}
		// In the page's offset.
		if at, err := time.Parse(time.RFC3339, s); err == nil {
			_, want := at.In(site.Location()).Zone()
			if _, got := at.Zone(); got != want {
				t.Errorf("%s: %q not in the page's offset", what, s)
			}
		}
	}
	ts("page.updated_at", doc.Page.UpdatedAt)
	if doc.Status != nil && !slices.Contains([]string{"none", "minor", "major", "critical", "maintenance"}, doc.Status.Indicator) {
		t.Errorf("status.indicator %q", doc.Status.Indicator)
	}
	comp := func(c v2Component) {
		ts("component.created_at", c.CreatedAt)
		ts("component.updated_at", c.UpdatedAt)
		if !oneOfStr(c.Status, content.ComponentStatuses) {
			t.Errorf("component %s status %q", c.ID, c.Status)
		}
		if c.PageID != site.ID {
			t.Errorf("component %s page_id %q", c.ID, c.PageID)
		}
		if c.Group != (c.Components != nil) {
			t.Errorf("component %s: group %v but components %v", c.ID, c.Group, c.Components)
		}
		if c.Group {
			var want []string
			for _, ch := range site.Children(c.ID) {
				want = append(want, ch.ID)
			}
			if !slices.Equal(*c.Components, want) && !(len(want) == 0 && len(*c.Components) == 0) {
				t.Errorf("group %s lists %v, want %v", c.ID, *c.Components, want)
			}
		}
	}
	if doc.Components != nil {
		if len(*doc.Components) != len(site.Components) {
			t.Errorf("%d components, want %d", len(*doc.Components), len(site.Components))
		}
		for _, c := range *doc.Components {
			comp(c)
		}
	}
	checkIncident := func(in v2Incident, maint bool) {
		for _, s := range []string{in.CreatedAt, in.UpdatedAt, in.StartedAt} {
			ts("incident "+in.ID, s)
		}
		for _, p := range []*string{in.MonitoringAt, in.ResolvedAt, in.ScheduledFor, in.ScheduledUntil} {
			if p != nil {
				ts("incident "+in.ID, *p)
			}
		}
		if in.ReminderIntervals != nil {
			t.Errorf("incident %s reminder_intervals %q, want null", in.ID, *in.ReminderIntervals)
		}
		if maint {
			if !oneOfStr(in.Status, content.MaintenanceStatuses) || in.Impact != "maintenance" {
				t.Errorf("maintenance %s status %q impact %q", in.ID, in.Status, in.Impact)
			}
			if in.ScheduledFor == nil || in.ScheduledUntil == nil {
				t.Errorf("maintenance %s without its window", in.ID)
			}
		} else {
			if !oneOfStr(in.Status, content.IncidentStatuses) || !oneOfStr(in.Impact, content.Impacts) {
				t.Errorf("incident %s status %q impact %q", in.ID, in.Status, in.Impact)
			}
		}
		kind := "/incidents/"
		if maint {
			kind = "/maintenances/"
		}
		if in.Shortlink != site.URL+kind+in.ID {
			t.Errorf("incident %s shortlink %q", in.ID, in.Shortlink)
		}
		for i, u := range in.IncidentUpdates {
			ts("update "+u.ID, u.DisplayAt)
			if u.IncidentID != in.ID || !u.DeliverNotifications || u.CustomTweet != nil || u.TweetID != nil {
				t.Errorf("update %s: %+v", u.ID, u)
			}
			if u.AffectedComponents != nil && len(*u.AffectedComponents) == 0 {
				t.Errorf("update %s: affected_components is [] (want null or entries)", u.ID)
			}
			if i > 0 && in.IncidentUpdates[i-1].DisplayAt < u.DisplayAt {
				t.Errorf("incident %s: updates not newest first", in.ID)
			}
		}
		for _, c := range in.Components {
			comp(c)
		}
	}
	if doc.Incidents != nil {
		for _, in := range *doc.Incidents {
			checkIncident(in, false)
			unres := oneOfStr(in.Status, []content.IncidentStatus{content.Investigating, content.Identified, content.Monitoring})
			if (ep == "summary.json" || ep == "incidents/unresolved.json") && !unres {
				t.Errorf("%s lists %s incident %s", ep, in.Status, in.ID)
			}
		}
		want := 0
		for _, in := range site.Incidents {
			if ep == "incidents.json" || in.Status.Unresolved() {
				want++
			}
		}
		if ep == "incidents.json" {
			want = min(want, 50)
		}
		if len(*doc.Incidents) != want {
			t.Errorf("%s lists %d incidents, want %d", ep, len(*doc.Incidents), want)
		}
	}
	if doc.ScheduledMaintenances != nil {
		allowed := map[string][]string{
			"summary.json":                         {"scheduled", "in_progress", "verifying"},
			"scheduled-maintenances.json":          {"scheduled", "in_progress", "verifying", "completed"},
			"scheduled-maintenances/upcoming.json": {"scheduled"},
			"scheduled-maintenances/active.json":   {"in_progress", "verifying"},
		}[ep]
		want := 0
		for _, m := range site.Maintenances {
			if slices.Contains(allowed, string(m.Status)) {
				want++
			}
		}
		if len(*doc.ScheduledMaintenances) != want {
			t.Errorf("%s lists %d maintenances, want %d", ep, len(*doc.ScheduledMaintenances), want)
		}
		for _, m := range *doc.ScheduledMaintenances {
			checkIncident(m, true)
			if !slices.Contains(allowed, m.Status) {
				t.Errorf("%s lists a %s maintenance", ep, m.Status)
			}
		}
	}
}

// busySite is the demo site with one maintenance in every state, a
// postmortem incident, an update with no affected components and text that
// needs escaping.
func busySite(tb testing.TB) *content.Site {
	tb.Helper()
	s := demo.Site(demoNow)
	s.ID = "busysite0001"
	base := s.Maintenances[0]
	for i, st := range []content.MaintenanceStatus{content.InProgress, content.Verifying, content.Completed} {
		m := *base
		m.ID = "maint" + string(st)
		m.Name = `<b>"Maintenance"</b> & ` + string(st)
		m.Status = st
		m.ScheduledFor = demoNow.Add(time.Duration(-i-1) * time.Hour)
		m.ScheduledUntil = m.ScheduledFor.Add(3 * time.Hour)
		started := m.ScheduledFor
		m.StartedAt = &started
		if st == content.Completed {
			m.ScheduledFor = demoNow.AddDate(0, 0, -20)
			m.ScheduledUntil = m.ScheduledFor.Add(time.Hour)
			done := m.ScheduledUntil
			m.ResolvedAt = &done
		}
		s.Maintenances = append(s.Maintenances, &m)
	}
	pm := *s.Incidents[1]
	pm.ID = "postmortem01"
	pm.Status = content.Postmortem
	pm.Impact = content.ImpactCritical
	pm.StartedAt = demoNow.AddDate(0, 0, -40)
	pm.CreatedAt, pm.UpdatedAt = pm.StartedAt, pm.StartedAt.Add(time.Hour)
	resolvedAt := pm.StartedAt.Add(time.Hour)
	pm.ResolvedAt = &resolvedAt
	pm.Updates = []*content.Update{{ID: "pmupdate0001", Status: "postmortem", Body: "Root cause: `</script>` in a config <script>alert(1)</script>",
		CreatedAt: pm.UpdatedAt, UpdatedAt: pm.UpdatedAt, DisplayAt: pm.UpdatedAt}}
	s.Incidents = append(s.Incidents, &pm)
	return s
}

func TestStatusIndicator(t *testing.T) {
	comp := func(st content.ComponentStatus) *content.Component {
		return &content.Component{ID: "c" + string(st), Status: st}
	}
	group := &content.Component{ID: "g", Group: true, Status: content.MajorOutage} // groups do not count
	incident := func(st content.IncidentStatus, im content.Impact) *content.Incident {
		return &content.Incident{ID: "i", Status: st, Impact: im}
	}
	maint := func(st content.MaintenanceStatus) *content.Maintenance {
		return &content.Maintenance{ID: "m", Status: st}
	}
	tests := []struct {
		name      string
		comps     []*content.Component
		incidents []*content.Incident
		maints    []*content.Maintenance
		indicator string
		desc      string
	}{
		{"empty site", nil, nil, nil, "none", "All Systems Operational"},
		{"all operational, a group in outage", []*content.Component{comp(content.Operational), group}, nil, nil, "none", "All Systems Operational"},
		{"degraded", []*content.Component{comp(content.Operational), comp(content.DegradedPerformance)}, nil, nil, "minor", "Partially Degraded Service"},
		{"partial outage", []*content.Component{comp(content.Operational), comp(content.PartialOutage)}, nil, nil, "minor", "Minor Service Outage"},
		{"one major outage", []*content.Component{comp(content.Operational), comp(content.MajorOutage)}, nil, nil, "major", "Partial System Outage"},
		{"all major outage", []*content.Component{comp(content.MajorOutage), group}, nil, nil, "critical", "Major Service Outage"},
		{"critical incident wins", []*content.Component{comp(content.DegradedPerformance)},
			[]*content.Incident{incident(content.Identified, content.ImpactCritical)}, nil, "critical", "Major Service Outage"},
		{"resolved incident ignored", []*content.Component{comp(content.Operational)},
			[]*content.Incident{incident(content.Resolved, content.ImpactCritical)}, nil, "none", "All Systems Operational"},
		{"minor incident", nil, []*content.Incident{incident(content.Monitoring, content.ImpactMinor)}, nil, "minor", "Minor Service Outage"},
		{"impact none incident", nil, []*content.Incident{incident(content.Investigating, content.ImpactNone)}, nil, "none", "All Systems Operational"},
		{"running maintenance", []*content.Component{comp(content.UnderMaintenance)}, nil,
			[]*content.Maintenance{maint(content.InProgress)}, "maintenance", "Service Under Maintenance"},
		{"verifying maintenance", nil, nil, []*content.Maintenance{maint(content.Verifying)}, "maintenance", "Service Under Maintenance"},
		{"scheduled maintenance is not maintenance", nil, nil, []*content.Maintenance{maint(content.Scheduled)}, "none", "All Systems Operational"},
		{"under_maintenance without a running maintenance", []*content.Component{comp(content.UnderMaintenance)}, nil, nil, "none", "All Systems Operational"},
		{"outage beats maintenance", []*content.Component{comp(content.Operational), comp(content.MajorOutage)}, nil,
			[]*content.Maintenance{maint(content.InProgress)}, "major", "Partial System Outage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := computeStatus(&content.Site{Components: tt.comps, Incidents: tt.incidents, Maintenances: tt.maints})
			if got.Indicator != tt.indicator || got.Description != tt.desc {
				t.Errorf("got %+v, want %s / %s", got, tt.indicator, tt.desc)
			}
		})
	}
}

func TestAPIBodyIsTextAsPosted(t *testing.T) {
	r := newRenderer(t)
	s := busySite(t)
	b, _, err := r.Render(s, "", "/api/v2/incidents.json", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "<script>") {
		t.Error("raw <script> in JSON bytes (want \\u003c escapes)")
	}
	var doc v2Doc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, in := range *doc.Incidents {
		if in.ID == "postmortem01" {
			if got := in.IncidentUpdates[0].Body; got != s.Incidents[2].Updates[0].Body {
				t.Errorf("body = %q, want the text as posted", got)
			}
			return
		}
	}
	t.Error("postmortem incident missing from incidents.json")
}

// TestUptimeJSONEncoding: the hand-written uptime.json encoder writes what
// encoding/json writes, byte for byte, hostile names and odd floats included.
func TestUptimeJSONEncoding(t *testing.T) {
	r := newRenderer(t)
	for _, s := range []*content.Site{demo.Site(demoNow), evilSite(t), busySite(t), twoAudienceSite(t)} {
		v := newView(s, demoNow, s.Live())
		b, err := r.uptimeJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		var doc uptimeDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		want, _ := json.Marshal(doc)
		if string(b) != string(want)+"\n" {
			t.Errorf("%s: hand-written uptime.json differs from encoding/json", s.ID)
		}
	}
	tiny, zero, one, third := 1e-9, 0.0, 1.0, 1.0/3
	g := "g<&>\"\u2028"
	doc := uptimeDoc{Page: apiPage{Name: "<x>"}, Components: []uptimeComponent{{ID: "a\x00", Name: "\"<>&\\", GroupID: &g, Uptime: &tiny,
		Daily: []uptimeDay{{DayUptime: content.DayUptime{Uptime: &zero}, Incidents: []dayIncident{{ID: "i", Name: "</script>"}}},
			{DayUptime: content.DayUptime{Uptime: &one}, Incidents: []dayIncident{}}, {DayUptime: content.DayUptime{Uptime: &third}, Incidents: []dayIncident{}}}}}}
	got, err := appendUptimeDoc(nil, &doc)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(doc)
	if string(got) != string(want)+"\n" {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
