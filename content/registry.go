package content

import (
	"slices"
	"time"
)

// Registry is what an edge needs to route and admit visitors and to draw a
// site's skeleton without a content query: one entry per site. The origin
// serves it on its internal API (GET /internal/v1/registry); edges keep a copy.
type Registry struct {
	// Version is the raft index of the newest change the registry reflects.
	Version uint64          `json:"version"`
	Sites   []RegistryEntry `json:"sites"`
}

// RegistryEntry is one site as the edge sees it.
type RegistryEntry struct {
	ID         string             `json:"id"`
	Slug       string             `json:"slug"`
	Name       string             `json:"name"`
	URL        string             `json:"url"`
	Hostnames  []string           `json:"hostnames"`
	TimeZone   string             `json:"time_zone"`
	Visibility Visibility         `json:"visibility"`
	Branding   Branding           `json:"branding"`
	Access     Access             `json:"access"`
	Audiences  []RegistryAudience `json:"audiences"`
	// Version is the site's current version (see Site.Version).
	Version uint64 `json:"version"`
	// Layout is the site's components without their statuses, by position,
	// for the skeleton shell.
	Layout []LayoutComponent `json:"layout"`
	// Domains are the site's custom domains; the verified ones are also
	// listed in Hostnames.
	Domains []RegistryDomain `json:"domains,omitempty"`
	// Pages says which pages beyond the fixed routes exist, so an edge
	// answers 404 for any other id or page number without a render (a
	// flood of made-up ids costs the origin nothing).
	Pages *PageIndex `json:"pages,omitempty"`
	// Tag names everything in the entry but Version (and itself), as the
	// origin serves it: an edge holding the entry tagged so asks for it
	// with the tag and is told when it is unchanged.
	Tag string `json:"tag,omitempty"`
}

// PageIndex is what the edge needs to tell a made-up page from a real one.
type PageIndex struct {
	Incidents    []string `json:"incidents"`    // ids, sorted
	Maintenances []string `json:"maintenances"` // ids, sorted
	// Since is the earliest of the site's creation and its incidents'
	// and maintenances' starts: no /history or /uptime page reaches further
	// back, so a page covers at least one month since then.
	Since time.Time `json:"since"`
}

// MaxPage is an upper bound on /history and /uptime page numbers at now in
// loc: one page per month from Since (a page covers at least one month),
// plus one for time zones' month edges.
func (p *PageIndex) MaxPage(now time.Time, loc *time.Location) int {
	a, b := p.Since.In(loc), now.In(loc)
	months := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	return max(months, 0) + 2
}

// pageIndex builds s's PageIndex.
func pageIndex(s *Site) *PageIndex {
	p := &PageIndex{Since: s.CreatedAt, Incidents: make([]string, 0, len(s.Incidents)), Maintenances: make([]string, 0, len(s.Maintenances))}
	for _, in := range s.Incidents {
		p.Incidents = append(p.Incidents, in.ID)
		if in.StartedAt.Before(p.Since) {
			p.Since = in.StartedAt
		}
	}
	for _, m := range s.Maintenances {
		p.Maintenances = append(p.Maintenances, m.ID)
		if m.ScheduledFor.Before(p.Since) {
			p.Since = m.ScheduledFor
		}
	}
	slices.Sort(p.Incidents)
	slices.Sort(p.Maintenances)
	return p
}

// RegistryAudience is an audience as the edge sees it.
type RegistryAudience struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ComponentIDs []string `json:"component_ids"`
	PasswordHash string   `json:"password_hash,omitempty"`
}

// LayoutComponent is a component's place on the page.
type LayoutComponent struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	Description        *string `json:"description"`
	Group              bool    `json:"group"`
	GroupID            *string `json:"group_id"`
	Position           int     `json:"position"`
	Showcase           bool    `json:"showcase"`
	OnlyShowIfDegraded bool    `json:"only_show_if_degraded"`
}

// Entry returns the registry entry for s.
func (s *Site) Entry() RegistryEntry {
	e := RegistryEntry{
		ID: s.ID, Slug: s.Slug, Name: s.Name, URL: s.URL,
		Hostnames: append(append([]string(nil), s.Hostnames...), s.VerifiedDomains()...), TimeZone: s.TimeZone,
		Visibility: s.Visibility, Branding: s.Branding, Access: s.Access, Version: s.Version,
	}
	e.Access.AllowCIDRs = append([]string(nil), s.Access.AllowCIDRs...)
	e.Domains = registryDomains(s.Domains)
	e.Pages = pageIndex(s)
	for _, a := range s.Audiences {
		e.Audiences = append(e.Audiences, RegistryAudience{
			ID: a.ID, Name: a.Name, ComponentIDs: append([]string(nil), a.ComponentIDs...), PasswordHash: a.PasswordHash,
		})
	}
	for _, c := range s.Components {
		e.Layout = append(e.Layout, LayoutComponent{
			ID: c.ID, Name: c.Name, Description: c.Description, Group: c.Group, GroupID: c.GroupID, Position: c.Position,
			Showcase: c.Showcase, OnlyShowIfDegraded: c.OnlyShowIfDegraded,
		})
	}
	return e
}

// VisibleLayout is the layout that audience id may see (all of it for "").
func (e RegistryEntry) VisibleLayout(id string) []LayoutComponent {
	if id == "" {
		return e.Layout
	}
	var a *RegistryAudience
	for i := range e.Audiences {
		if e.Audiences[i].ID == id {
			a = &e.Audiences[i]
		}
	}
	if a == nil {
		return nil
	}
	visible := map[string]bool{}
	for _, cid := range a.ComponentIDs {
		visible[cid] = true
	}
	for _, c := range e.Layout { // a group given to the audience brings its children
		if c.GroupID != nil && visible[*c.GroupID] {
			visible[c.ID] = true
		}
	}
	for _, c := range e.Layout { // a visible child brings its group
		if visible[c.ID] && c.GroupID != nil {
			visible[*c.GroupID] = true
		}
	}
	var out []LayoutComponent
	for _, c := range e.Layout {
		if visible[c.ID] {
			out = append(out, c)
		}
	}
	return out
}
