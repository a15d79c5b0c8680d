package content

import (
	"fmt"
	"slices"
	"time"
)

// ComponentStatus is the health of one component, exactly as Statuspage spells it.
type ComponentStatus string

// The component statuses, from best to worst (under_maintenance is apart).
const (
	Operational         ComponentStatus = "operational"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
	UnderMaintenance    ComponentStatus = "under_maintenance"
)

// ComponentStatuses lists every valid ComponentStatus.
var ComponentStatuses = []ComponentStatus{Operational, DegradedPerformance, PartialOutage, MajorOutage, UnderMaintenance}

// Valid reports whether s is one of ComponentStatuses.
func (s ComponentStatus) Valid() bool { return oneOf(s, ComponentStatuses) }

// Text is the status spelled out for people ("Partial Outage").
func (s ComponentStatus) Text() string {
	switch s {
	case Operational:
		return "Operational"
	case DegradedPerformance:
		return "Degraded Performance"
	case PartialOutage:
		return "Partial Outage"
	case MajorOutage:
		return "Major Outage"
	case UnderMaintenance:
		return "Under Maintenance"
	}
	return string(s)
}

// Severity orders statuses for roll-ups: higher is worse. Maintenance ranks
// below any outage but above operational.
func (s ComponentStatus) Severity() int {
	switch s {
	case Operational:
		return 0
	case UnderMaintenance:
		return 1
	case DegradedPerformance:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return 0
}

// IncidentStatus is where an incident is in its life, as Statuspage spells it.
type IncidentStatus string

// The incident statuses.
const (
	Investigating IncidentStatus = "investigating"
	Identified    IncidentStatus = "identified"
	Monitoring    IncidentStatus = "monitoring"
	Resolved      IncidentStatus = "resolved"
	Postmortem    IncidentStatus = "postmortem"
)

// IncidentStatuses lists every valid IncidentStatus.
var IncidentStatuses = []IncidentStatus{Investigating, Identified, Monitoring, Resolved, Postmortem}

// Valid reports whether s is one of IncidentStatuses.
func (s IncidentStatus) Valid() bool { return oneOf(s, IncidentStatuses) }

// Unresolved reports whether an incident in this status is still open.
func (s IncidentStatus) Unresolved() bool {
	return s == Investigating || s == Identified || s == Monitoring
}

// Impact is how bad an incident is (Statuspage's impact enum; "maintenance"
// only on scheduled maintenances).
type Impact string

// The impacts.
const (
	ImpactNone        Impact = "none"
	ImpactMinor       Impact = "minor"
	ImpactMajor       Impact = "major"
	ImpactCritical    Impact = "critical"
	ImpactMaintenance Impact = "maintenance"
)

// Impacts lists the impacts an incident may take (maintenance is not one).
var Impacts = []Impact{ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical}

// Valid reports whether i is one of Impacts.
func (i Impact) Valid() bool { return oneOf(i, Impacts) }

// MaintenanceStatus is where a scheduled maintenance is in its life.
type MaintenanceStatus string

// The maintenance statuses, in the order they are passed through.
const (
	Scheduled  MaintenanceStatus = "scheduled"
	InProgress MaintenanceStatus = "in_progress"
	Verifying  MaintenanceStatus = "verifying"
	Completed  MaintenanceStatus = "completed"
)

// MaintenanceStatuses lists every valid MaintenanceStatus.
var MaintenanceStatuses = []MaintenanceStatus{Scheduled, InProgress, Verifying, Completed}

// Valid reports whether s is one of MaintenanceStatuses.
func (s MaintenanceStatus) Valid() bool { return oneOf(s, MaintenanceStatuses) }

// Active reports whether the maintenance is running (in progress or verifying).
func (s MaintenanceStatus) Active() bool { return s == InProgress || s == Verifying }

// Visibility says who may see a site.
type Visibility string

// The visibilities.
const (
	Public           Visibility = "public"
	Private          Visibility = "private"
	AudienceSpecific Visibility = "audience"
)

// Visibilities lists every valid Visibility.
var Visibilities = []Visibility{Public, Private, AudienceSpecific}

// Valid reports whether v is one of Visibilities.
func (v Visibility) Valid() bool { return oneOf(v, Visibilities) }

func oneOf[T comparable](v T, all []T) bool {
	for _, a := range all {
		if v == a {
			return true
		}
	}
	return false
}

// Site is one status page: its settings and all of its content. A *Site handed
// out by the origin's store is an immutable snapshot at Version: never modify it.
type Site struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Slug       string     `json:"slug"`
	Hostnames  []string   `json:"hostnames"` // the default subdomain first, then custom domains
	TimeZone   string     `json:"time_zone"` // IANA name, e.g. "Europe/Berlin"
	Visibility Visibility `json:"visibility"`
	Branding   Branding   `json:"branding"`
	Access     Access     `json:"access"`
	// URL is the page's canonical public address (e.g. https://status.acme.test).
	URL string `json:"url"`

	// Version is the raft index of the last change to this site; it only grows.
	Version   uint64    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	Components   []*Component   `json:"components"` // groups and components, by Position
	Incidents    []*Incident    `json:"incidents"`  // newest first
	Maintenances []*Maintenance `json:"scheduled_maintenances"`
	Audiences    []*Audience    `json:"audiences"`

	// History holds every component's status changes and daily aggregates.
	History History `json:"history"`

	// Domains are the custom domains the site claims (see Domain); only
	// verified ones route.
	Domains []Domain `json:"domains,omitempty"`
}

// Branding is how the page looks.
type Branding struct {
	LogoURL     string `json:"logo_url,omitempty"`
	AccentColor string `json:"accent_color,omitempty"` // "#rrggbb"
	// FaviconURL is the page's icon (http or https); empty: a plain dot
	// in the accent colour, inline, so browsers fetch nothing.
	FaviconURL string `json:"favicon_url,omitempty"`
	// Description is the page's meta description (search results, link
	// previews), at most MaxDescription bytes; empty: a sentence
	// naming the site.
	Description string `json:"description,omitempty"`
}

// MaxDescription bounds Branding.Description, in bytes.
const MaxDescription = 300

// PageDescription is the meta description of a site's pages: its
// branding's, or a sentence naming the site.
func PageDescription(name string, b Branding) string {
	if b.Description != "" {
		return b.Description
	}
	return "Current status, incidents, scheduled maintenance and uptime of " + name + "."
}

// Access holds what the edge needs to admit a visitor to a private or
// audience-specific site. Secrets here are hashes, never the secrets themselves.
type Access struct {
	// PasswordHash is a hash of the page password for private sites (see
	// HashPassword); audience sites keep one per audience instead.
	PasswordHash string `json:"password_hash,omitempty"`
	// AllowCIDRs admits visitors whose address is in one of these prefixes
	// (IPv4 or IPv6) without a password.
	AllowCIDRs []string `json:"allow_cidrs,omitempty"`
	// StaffPasswordHash is a hash of an audience site's staff password:
	// who signs in with it (StaffLoginPath) sees the whole site, every
	// component, incident and maintenance, as a private site's visitors do.
	// Empty: no full view. Other sites ignore it.
	StaffPasswordHash string `json:"staff_password_hash,omitempty"`
}

// StaffLoginPath is where staff of an audience site sign in for the full
// view (the edge's sign-in page, asking for the staff password).
const StaffLoginPath = "/_statusedge/login?staff=1"

// Component is one service on the page, or a group of them (Group true).
// Groups are one level deep: a group's children have GroupID set to its ID.
type Component struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Description        *string         `json:"description"`
	Position           int             `json:"position"`
	Group              bool            `json:"group"`
	GroupID            *string         `json:"group_id"`
	Status             ComponentStatus `json:"status"`
	OnlyShowIfDegraded bool            `json:"only_show_if_degraded"`
	Showcase           bool            `json:"showcase"`
	StartDate          *string         `json:"start_date"` // "YYYY-MM-DD" or nil
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
}

// Incident is an unplanned event with a timeline of updates.
type Incident struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Status       IncidentStatus `json:"status"`
	Impact       Impact         `json:"impact"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	StartedAt    time.Time      `json:"started_at"`
	MonitoringAt *time.Time     `json:"monitoring_at"`
	ResolvedAt   *time.Time     `json:"resolved_at"`
	// ComponentIDs are the components this incident affects (any update's
	// affected components, accumulated).
	ComponentIDs []string `json:"component_ids"`
	// Updates is the timeline, oldest first.
	Updates []*Update `json:"incident_updates"`
	// Deleted are updates taken off the timeline, with when (kept as a
	// record; never shown on the page).
	Deleted []DeletedUpdate `json:"deleted_updates,omitempty"`
}

// DeletedUpdate is an update taken off a timeline at At.
type DeletedUpdate struct {
	At     time.Time `json:"at"`
	Update *Update   `json:"update"`
}

// Update is one entry of an incident's or a maintenance's timeline.
type Update struct {
	ID                 string              `json:"id"`
	Status             string              `json:"status"` // an IncidentStatus or a MaintenanceStatus
	Body               string              `json:"body"`   // Markdown (safe subset)
	CreatedAt          time.Time           `json:"created_at"`
	UpdatedAt          time.Time           `json:"updated_at"`
	DisplayAt          time.Time           `json:"display_at"`
	AffectedComponents []AffectedComponent `json:"affected_components"`
	// Edits are the update's earlier texts, oldest first: an edit is
	// recorded, never silent.
	Edits []UpdateEdit `json:"edits,omitempty"`
}

// UpdateEdit is what an update said before an edit at At.
type UpdateEdit struct {
	At        time.Time `json:"at"`
	Body      string    `json:"body"`
	DisplayAt time.Time `json:"display_at"`
}

// Timeline returns us in the order a timeline shows them, oldest first: by
// DisplayAt, then in posting order. us is returned as is when already in
// order (the usual case), else a sorted copy.
func Timeline(us []*Update) []*Update {
	if slices.IsSortedFunc(us, byDisplayAt) {
		return us
	}
	out := slices.Clone(us)
	slices.SortStableFunc(out, byDisplayAt)
	return out
}

func byDisplayAt(a, b *Update) int { return a.DisplayAt.Compare(b.DisplayAt) }

// AffectedComponent records a component status change made by an update.
type AffectedComponent struct {
	ComponentID string          `json:"code"`
	Name        string          `json:"name"`
	OldStatus   ComponentStatus `json:"old_status"`
	NewStatus   ComponentStatus `json:"new_status"`
}

// Maintenance is planned work with a window. The leader moves it to
// in_progress at ScheduledFor and to completed at ScheduledUntil.
type Maintenance struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	Status         MaintenanceStatus `json:"status"`
	ScheduledFor   time.Time         `json:"scheduled_for"`
	ScheduledUntil time.Time         `json:"scheduled_until"`
	// AutoTransition lets the leader start and complete it at its times.
	AutoTransition bool       `json:"auto_transition"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	StartedAt      *time.Time `json:"started_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	ComponentIDs   []string   `json:"component_ids"`
	Updates        []*Update  `json:"incident_updates"` // oldest first
}

// Audience is a named group of viewers that sees a subset of components. An
// incident or maintenance is shown to it only if it affects one of them.
type Audience struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ComponentIDs []string `json:"component_ids"`
	// PasswordHash admits a visitor to this audience (see HashPassword).
	PasswordHash string `json:"password_hash,omitempty"`
}

// Location returns the site's time zone, UTC if it cannot be loaded.
func (s *Site) Location() *time.Location {
	if loc, err := time.LoadLocation(s.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// Component returns the component or group with this id, or nil.
func (s *Site) Component(id string) *Component {
	for _, c := range s.Components {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// Children returns the components of group id, by position.
func (s *Site) Children(groupID string) []*Component {
	var out []*Component
	for _, c := range s.Components {
		if c.GroupID != nil && *c.GroupID == groupID {
			out = append(out, c)
		}
	}
	return out
}

// Live reports whether some component of s is not operational. While one
// is, its uptime and the time it has been down grow with the clock, so a
// page is only right as of the minute it was made (the renderer dates it to
// the minute and edges key it by the minute); otherwise a page holds all day.
func (s *Site) Live() bool {
	for _, c := range s.Components {
		if !c.Group && c.Status != Operational {
			return true
		}
	}
	return false
}

// StatusOf is c's status as every surface shows it (the page, the v2 JSON,
// the management API): a group with children shows the worst of them
// (Statuspage does the same), anything else its own status.
func (s *Site) StatusOf(c *Component) ComponentStatus {
	if !c.Group {
		return c.Status
	}
	return GroupStatus(c, s.Children(c.ID))
}

// GroupStatus is the status group g shows with these children: the worst
// of them, or g's own status when it has none.
func GroupStatus(g *Component, children []*Component) ComponentStatus {
	if len(children) == 0 {
		return g.Status
	}
	worst := Operational
	for _, ch := range children {
		if ch.Status.Severity() > worst.Severity() {
			worst = ch.Status
		}
	}
	return worst
}

// Incident returns the incident with this id, or nil.
func (s *Site) Incident(id string) *Incident {
	for _, in := range s.Incidents {
		if in.ID == id {
			return in
		}
	}
	return nil
}

// Maintenance returns the maintenance with this id, or nil.
func (s *Site) Maintenance(id string) *Maintenance {
	for _, m := range s.Maintenances {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// AudienceByID returns the audience with this id, or nil.
func (s *Site) AudienceByID(id string) *Audience {
	for _, a := range s.Audiences {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// ErrUnknownAudience is returned by ForAudience for an audience the site lacks.
var ErrUnknownAudience = fmt.Errorf("content: unknown audience")
