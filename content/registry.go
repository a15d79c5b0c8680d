package content

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
