package render

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/statusedge/statusedge/content"
)

// The Statuspage v2 objects, field for field (see
// shared/reference/statuspage-api-v2.md). Nullable fields are pointers
// without omitempty, so null stays null.

type apiPage struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt string `json:"updated_at"`
}

type apiComponent struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	Status             string  `json:"status"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
	Position           int     `json:"position"`
	Description        *string `json:"description"`
	Showcase           bool    `json:"showcase"`
	StartDate          *string `json:"start_date"`
	GroupID            *string `json:"group_id"`
	PageID             string  `json:"page_id"`
	Group              bool    `json:"group"`
	OnlyShowIfDegraded bool    `json:"only_show_if_degraded"`
	// Components lists a group's children's ids; absent on other components.
	Components *[]string `json:"components,omitempty"`
}

type apiAffected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type apiUpdate struct {
	ID                   string         `json:"id"`
	Status               string         `json:"status"`
	Body                 string         `json:"body"`
	IncidentID           string         `json:"incident_id"`
	CreatedAt            string         `json:"created_at"`
	UpdatedAt            string         `json:"updated_at"`
	DisplayAt            string         `json:"display_at"`
	AffectedComponents   *[]apiAffected `json:"affected_components"`
	DeliverNotifications bool           `json:"deliver_notifications"`
	CustomTweet          *string        `json:"custom_tweet"`
	TweetID              *string        `json:"tweet_id"`
}

type apiIncident struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	Status            string         `json:"status"`
	CreatedAt         string         `json:"created_at"`
	UpdatedAt         string         `json:"updated_at"`
	MonitoringAt      *string        `json:"monitoring_at"`
	ResolvedAt        *string        `json:"resolved_at"`
	Impact            string         `json:"impact"`
	Shortlink         string         `json:"shortlink"`
	StartedAt         string         `json:"started_at"`
	PageID            string         `json:"page_id"`
	IncidentUpdates   []apiUpdate    `json:"incident_updates"`
	Components        []apiComponent `json:"components"`
	ReminderIntervals *string        `json:"reminder_intervals"`
}

type apiMaintenance struct {
	apiIncident
	ScheduledFor   string `json:"scheduled_for"`
	ScheduledUntil string `json:"scheduled_until"`
}

// apiMaxIncidents is how many incidents incidents.json lists (Statuspage: 50).
const apiMaxIncidents = 50

func (v *view) apiPage() apiPage {
	return apiPage{ID: v.site.ID, Name: v.site.Name, URL: v.site.URL, TimeZone: v.site.TimeZone,
		UpdatedAt: v.isoMillis(v.site.UpdatedAt)}
}

func (v *view) apiComponent(c *content.Component) apiComponent {
	a := apiComponent{
		ID: c.ID, Name: c.Name, Status: string(v.statusOf(c)),
		CreatedAt: v.isoMillis(c.CreatedAt), UpdatedAt: v.isoMillis(c.UpdatedAt),
		Position: c.Position, Description: c.Description, Showcase: c.Showcase, StartDate: c.StartDate,
		GroupID: c.GroupID, PageID: v.site.ID, Group: c.Group, OnlyShowIfDegraded: c.OnlyShowIfDegraded,
	}
	if a.GroupID != nil && v.byID[*a.GroupID] == nil { // a group this audience cannot see
		a.GroupID = nil
	}
	if c.Group {
		ids := make([]string, 0, len(v.children[c.ID]))
		for _, ch := range v.children[c.ID] {
			ids = append(ids, ch.ID)
		}
		a.Components = &ids
	}
	return a
}

func (v *view) apiComponents(ids []string) []apiComponent {
	out := make([]apiComponent, 0, len(ids))
	for _, id := range ids {
		if c := v.byID[id]; c != nil {
			out = append(out, v.apiComponent(c))
		}
	}
	return out
}

func (v *view) optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := v.isoMillis(*t)
	return &s
}

// apiUpdates lists us newest first (by display_at), as Statuspage does.
func (v *view) apiUpdates(parent string, us []*content.Update) []apiUpdate {
	us = content.Timeline(us)
	out := make([]apiUpdate, 0, len(us))
	for i := len(us) - 1; i >= 0; i-- {
		u := us[i]
		a := apiUpdate{
			ID: u.ID, Status: u.Status, Body: u.Body, IncidentID: parent,
			CreatedAt: v.isoMillis(u.CreatedAt), UpdatedAt: v.isoMillis(u.UpdatedAt), DisplayAt: v.isoMillis(u.DisplayAt),
			DeliverNotifications: true,
		}
		if len(u.AffectedComponents) > 0 {
			acs := make([]apiAffected, len(u.AffectedComponents))
			for j, ac := range u.AffectedComponents {
				acs[j] = apiAffected{Code: ac.ComponentID, Name: ac.Name, OldStatus: string(ac.OldStatus), NewStatus: string(ac.NewStatus)}
			}
			a.AffectedComponents = &acs
		}
		out = append(out, a)
	}
	return out
}

func (v *view) apiIncident(in *content.Incident) apiIncident {
	return apiIncident{
		ID: in.ID, Name: in.Name, Status: string(in.Status),
		CreatedAt: v.isoMillis(in.CreatedAt), UpdatedAt: v.isoMillis(in.UpdatedAt),
		MonitoringAt: v.optTime(in.MonitoringAt), ResolvedAt: v.optTime(in.ResolvedAt),
		Impact: string(in.Impact), Shortlink: v.shortlink("incidents", in.ID),
		StartedAt: v.isoMillis(in.StartedAt), PageID: v.site.ID,
		IncidentUpdates: v.apiUpdates(in.ID, in.Updates),
		Components:      v.apiComponents(in.ComponentIDs),
	}
}

// apiMaintenance: started_at is when the work started, or (as Statuspage
// does for maintenances not yet started) when it was created.
func (v *view) apiMaintenance(m *content.Maintenance) apiMaintenance {
	started := m.CreatedAt
	if m.StartedAt != nil {
		started = *m.StartedAt
	}
	return apiMaintenance{
		apiIncident: apiIncident{
			ID: m.ID, Name: m.Name, Status: string(m.Status),
			CreatedAt: v.isoMillis(m.CreatedAt), UpdatedAt: v.isoMillis(m.UpdatedAt),
			ResolvedAt: v.optTime(m.ResolvedAt), Impact: string(content.ImpactMaintenance),
			Shortlink: v.shortlink("maintenances", m.ID), StartedAt: v.isoMillis(started), PageID: v.site.ID,
			IncidentUpdates: v.apiUpdates(m.ID, m.Updates),
			Components:      v.apiComponents(m.ComponentIDs),
		},
		ScheduledFor: v.isoMillis(m.ScheduledFor), ScheduledUntil: v.isoMillis(m.ScheduledUntil),
	}
}

func (v *view) apiAllComponents() []apiComponent {
	out := make([]apiComponent, 0, len(v.site.Components))
	for _, c := range v.site.Components {
		out = append(out, v.apiComponent(c))
	}
	return out
}

func (v *view) apiIncidents(keep func(*content.Incident) bool, limit int) []apiIncident {
	out := []apiIncident{}
	for _, in := range v.incidentsNewestFirst() {
		if len(out) == limit {
			break
		}
		if keep(in) {
			out = append(out, v.apiIncident(in))
		}
	}
	return out
}

// apiMaintenances lists the maintenances kept, newest scheduled first (or
// soonest first when ascending).
func (v *view) apiMaintenances(keep func(*content.Maintenance) bool, ascending bool, limit int) []apiMaintenance {
	ms := slices.Clone(v.site.Maintenances)
	slices.SortStableFunc(ms, func(a, b *content.Maintenance) int {
		if ascending {
			return a.ScheduledFor.Compare(b.ScheduledFor)
		}
		return b.ScheduledFor.Compare(a.ScheduledFor)
	})
	out := []apiMaintenance{}
	for _, m := range ms {
		if len(out) == limit {
			break
		}
		if keep(m) {
			out = append(out, v.apiMaintenance(m))
		}
	}
	return out
}

// incidentsNewestFirst is the site's incidents by start time, newest first
// (stable, so equal times keep the stored order).
func (v *view) incidentsNewestFirst() []*content.Incident {
	ins := slices.Clone(v.site.Incidents)
	slices.SortStableFunc(ins, func(a, b *content.Incident) int { return b.StartedAt.Compare(a.StartedAt) })
	return ins
}

func all[T any](T) bool { return true }

func unresolved(in *content.Incident) bool { return in.Status.Unresolved() }

func upcomingOrActive(m *content.Maintenance) bool { return m.Status != content.Completed }

func upcoming(m *content.Maintenance) bool { return m.Status == content.Scheduled }

func active(m *content.Maintenance) bool { return m.Status.Active() }

// apiJSON renders one /api/v2/ endpoint (rel is the path after /api/v2/).
func (r *Renderer) apiJSON(v *view, rel string) ([]byte, bool, error) {
	page := v.apiPage()
	var doc any
	switch rel {
	case "summary.json":
		doc = struct {
			Page                  apiPage          `json:"page"`
			Components            []apiComponent   `json:"components"`
			Incidents             []apiIncident    `json:"incidents"`
			ScheduledMaintenances []apiMaintenance `json:"scheduled_maintenances"`
			Status                pageStatus       `json:"status"`
		}{page, v.apiAllComponents(), v.apiIncidents(unresolved, -1),
			v.apiMaintenances(upcomingOrActive, true, -1), v.status}
	case "status.json":
		doc = struct {
			Page   apiPage    `json:"page"`
			Status pageStatus `json:"status"`
		}{page, v.status}
	case "components.json":
		doc = struct {
			Page       apiPage        `json:"page"`
			Components []apiComponent `json:"components"`
		}{page, v.apiAllComponents()}
	case "incidents.json":
		doc = incidentsDoc{page, v.apiIncidents(all, apiMaxIncidents)}
	case "incidents/unresolved.json":
		doc = incidentsDoc{page, v.apiIncidents(unresolved, -1)}
	case "scheduled-maintenances.json":
		doc = maintenancesDoc{page, v.apiMaintenances(all, false, apiMaxIncidents)}
	case "scheduled-maintenances/upcoming.json":
		doc = maintenancesDoc{page, v.apiMaintenances(upcoming, true, -1)}
	case "scheduled-maintenances/active.json":
		doc = maintenancesDoc{page, v.apiMaintenances(active, true, -1)}
	default:
		return nil, false, nil
	}
	b, err := marshal(doc)
	return b, true, err
}

type incidentsDoc struct {
	Page      apiPage       `json:"page"`
	Incidents []apiIncident `json:"incidents"`
}

type maintenancesDoc struct {
	Page                  apiPage          `json:"page"`
	ScheduledMaintenances []apiMaintenance `json:"scheduled_maintenances"`
}

// marshal encodes doc compactly. encoding/json escapes <, > and & as
// \u003c and the like: the same JSON values, and never HTML if sniffed.
func marshal(doc any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
