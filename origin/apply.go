package origin

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/statusedge/statusedge/content"
)

// SiteView is a site's settings as the management API shows them: no
// content, no secrets.
type SiteView struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Slug        string             `json:"slug"`
	Hostnames   []string           `json:"hostnames"`
	TimeZone    string             `json:"time_zone"`
	Visibility  content.Visibility `json:"visibility"`
	URL         string             `json:"url"`
	Branding    content.Branding   `json:"branding"`
	AllowCIDRs  []string           `json:"allow_cidrs"`
	HasPassword bool               `json:"has_password"`
	// HasStaffPassword: an audience site's full view is open to staff
	// (content.StaffLoginPath).
	HasStaffPassword bool      `json:"has_staff_password"`
	Version          uint64    `json:"version"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// ViewSite returns the management view of s.
func ViewSite(s *content.Site) SiteView {
	return SiteView{
		ID: s.ID, Name: s.Name, Slug: s.Slug, Hostnames: nonNil(s.Hostnames), TimeZone: s.TimeZone,
		Visibility: s.Visibility, URL: s.URL, Branding: s.Branding, AllowCIDRs: nonNil(s.Access.AllowCIDRs),
		HasPassword: s.Access.PasswordHash != "", HasStaffPassword: s.Access.StaffPasswordHash != "", Version: s.Version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

// AudienceView is an audience without its password hash.
type AudienceView struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ComponentIDs []string `json:"component_ids"`
	HasPassword  bool     `json:"has_password"`
}

// ViewAudience returns the management view of a.
func ViewAudience(a *content.Audience) AudienceView {
	return AudienceView{ID: a.ID, Name: a.Name, ComponentIDs: nonNil(a.ComponentIDs), HasPassword: a.PasswordHash != ""}
}

// ViewComponent returns c as the management API shows it: with the status
// every surface shows (a group: the worst of its children).
func ViewComponent(s *content.Site, c *content.Component) *content.Component {
	if !c.Group {
		return c
	}
	n := *c
	n.Status = s.StatusOf(c)
	return &n
}

// ViewComponents is ViewComponent of every component of s.
func ViewComponents(s *content.Site) []*content.Component {
	out := make([]*content.Component, len(s.Components))
	for i, c := range s.Components {
		out[i] = ViewComponent(s, c)
	}
	return out
}

// afterCommit is an answer built once the command has been committed, so it
// shows the version and times the commit stamped.
type afterCommit func() any

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *applier) checkUnique(siteID, slug string, hostnames []string) *Error {
	if other, ok := a.st.slugs[slug]; ok && other != siteID {
		return conflict("slug", "%q is taken", slug)
	}
	if _, ok := a.st.Sites[slug]; ok && slug != siteID {
		return conflict("slug", "%q is taken", slug)
	}
	for _, h := range hostnames {
		if other, ok := a.st.hosts[h]; ok && other != siteID {
			return conflict("hostnames", "%q belongs to another site", h)
		}
	}
	return nil
}

// checkSlug refuses, under LimitsContent, a slug that is a reserved name:
// its default hostname would be the platform's own.
func (a *applier) checkSlug(slug string) *Error {
	if a.cmd.Limits >= LimitsContent && reservedLabel(slug) {
		return invalid("slug", "%q is reserved for the platform", slug)
	}
	return nil
}

func (a *applier) createSite() *Result {
	in := a.cmd.SiteIn
	if in == nil {
		return fail(invalid("site", "is required"))
	}
	if err := in.Validate(true); err != nil {
		return fail(err)
	}
	id, err := a.newID(0)
	if err != nil {
		return fail(err)
	}
	if _, ok := a.st.Sites[id]; ok {
		return fail(conflict("id", "site id taken"))
	}
	if _, ok := a.st.slugs[id]; ok {
		return fail(conflict("id", "site id taken"))
	}
	s := &content.Site{
		ID: id, Name: *in.Name, Slug: *in.Slug, Hostnames: deref(in.Hostnames, nil),
		TimeZone: deref(in.TimeZone, "UTC"), Visibility: deref(in.Visibility, content.Public),
		URL:       deref(in.URL, ""),
		CreatedAt: a.at, UpdatedAt: a.at,
		History: content.History{Components: map[string]*content.ComponentHistory{}},
	}
	if in.Branding != nil {
		s.Branding = in.Branding.applyTo(content.Branding{}, true)
	}
	if s.URL == "" && len(s.Hostnames) > 0 {
		s.URL = "https://" + s.Hostnames[0]
	}
	if in.Access != nil && in.Access.AllowCIDRs != nil {
		s.Access.AllowCIDRs = *in.Access.AllowCIDRs
	}
	if a.cmd.PasswordHash != nil {
		s.Access.PasswordHash = *a.cmd.PasswordHash
	}
	if a.cmd.StaffPasswordHash != nil {
		s.Access.StaffPasswordHash = *a.cmd.StaffPasswordHash
	}
	if err := a.checkSlug(s.Slug); err != nil {
		return fail(err)
	}
	if err := a.checkUnique(id, s.Slug, s.Hostnames); err != nil {
		return fail(err)
	}
	if a.cmd.TokenHash != "" {
		a.st.setToken(id, a.cmd.TokenHash)
	}
	a.commit(s)
	return a.answer(201, s, ViewSite(s))
}

func (a *applier) importSite() *Result {
	s := a.cmd.Import
	if s == nil {
		return fail(invalid("import", "is required"))
	}
	if !idRE.MatchString(s.ID) {
		return fail(invalid("id", "must be 1-64 lowercase letters and digits"))
	}
	in := SiteInput{Name: &s.Name, Slug: &s.Slug, Hostnames: &s.Hostnames, TimeZone: &s.TimeZone, Visibility: &s.Visibility}
	if err := in.Validate(true); err != nil {
		return fail(err)
	}
	if err := a.checkSlug(s.Slug); err != nil {
		return fail(err)
	}
	if err := a.checkUnique(s.ID, s.Slug, s.Hostnames); err != nil {
		return fail(err)
	}
	if s.History.Components == nil {
		s.History.Components = map[string]*content.ComponentHistory{}
	}
	s.Domains = nil // a domain is claimed and verified here, never imported
	if err := a.checkEntryBytes(nil, s); err != nil {
		return fail(err)
	}
	if a.cmd.TokenHash != "" {
		a.st.setToken(s.ID, a.cmd.TokenHash)
	}
	a.commit(s)
	return a.answer(201, s, ViewSite(s))
}

func (a *applier) updateSite(t *siteTx) (any, *Error) {
	in := a.cmd.SiteIn
	if in == nil {
		return nil, invalid("site", "is required")
	}
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	s := t.s
	if in.Name != nil {
		s.Name = *in.Name
	}
	if in.Slug != nil && *in.Slug != s.Slug {
		if err := a.checkSlug(*in.Slug); err != nil {
			return nil, err
		}
		s.Slug = *in.Slug
	}
	if in.Hostnames != nil {
		s.Hostnames = slices.Clone(*in.Hostnames)
	}
	if in.AddHostnames != nil || in.RemoveHostnames != nil {
		hs, err := editList(s.Hostnames, in.AddHostnames, in.RemoveHostnames, "hostnames", "hostname of this site")
		if err != nil {
			return nil, err
		}
		if len(hs) == 0 {
			return nil, invalid("remove_hostnames", "a site keeps at least one hostname")
		}
		if len(hs) > MaxHostnames {
			return nil, invalid("add_hostnames", "a site has at most %d hostnames", MaxHostnames)
		}
		s.Hostnames = hs
	}
	if in.TimeZone != nil {
		s.TimeZone = *in.TimeZone
	}
	if in.Visibility != nil {
		s.Visibility = *in.Visibility
	}
	if in.URL != nil {
		s.URL = *in.URL
	}
	if in.Branding != nil {
		s.Branding = in.Branding.applyTo(s.Branding, a.cmd.Op != OpPatchSite)
	}
	if in.Access != nil && in.Access.AllowCIDRs != nil {
		s.Access.AllowCIDRs = slices.Clone(*in.Access.AllowCIDRs)
	}
	if a.cmd.PasswordHash != nil {
		s.Access.PasswordHash = *a.cmd.PasswordHash
	}
	if a.cmd.StaffPasswordHash != nil {
		s.Access.StaffPasswordHash = *a.cmd.StaffPasswordHash
	}
	if err := a.checkUnique(s.ID, s.Slug, s.Hostnames); err != nil {
		return nil, err
	}
	return afterCommit(func() any { return ViewSite(s) }), nil
}

// editList returns cur without remove and then with add (in order, once
// each). Removing what cur lacks is an error naming field: a typo must not
// pass for a change.
func editList(cur []string, add, remove *[]string, field, what string) ([]string, *Error) {
	out := slices.Clone(cur)
	if remove != nil {
		for _, x := range *remove {
			i := slices.Index(out, x)
			if i < 0 {
				return nil, invalid("remove_"+field, "%q is not a %s", truncate(x), what)
			}
			out = slices.Delete(out, i, i+1)
		}
	}
	if add != nil {
		for _, x := range *add {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

func nextPosition(s *content.Site) int {
	p := 0
	for _, c := range s.Components {
		p = max(p, c.Position)
	}
	return p + 1
}

// checkGroup resolves a group id given in field.
func checkGroup(s *content.Site, field, id string) *Error {
	g := s.Component(id)
	if g == nil || !g.Group {
		return invalid(field, "unknown group id %q", id)
	}
	return nil
}

func (a *applier) createComponent(t *siteTx) (any, *Error) {
	in := a.cmd.ComponentIn
	if in == nil {
		return nil, invalid("component", "is required")
	}
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	if len(t.s.Components) >= MaxComponents {
		return nil, invalid("name", "a site has at most %d components", MaxComponents)
	}
	id, err := a.newID(0)
	if err != nil {
		return nil, err
	}
	if t.s.Component(id) != nil {
		return nil, conflict("id", "component id taken")
	}
	c := &content.Component{
		ID: id, Name: *in.Name, Description: in.Description, Position: deref(in.Position, nextPosition(t.s)),
		Status: deref(in.Status, content.Operational), OnlyShowIfDegraded: deref(in.OnlyShowIfDegraded, false),
		Showcase: deref(in.Showcase, true), StartDate: in.StartDate, CreatedAt: a.at, UpdatedAt: a.at,
	}
	if in.GroupID != nil && *in.GroupID != "" {
		if err := checkGroup(t.s, "group_id", *in.GroupID); err != nil {
			return nil, err
		}
		c.GroupID = ptrTo(*in.GroupID)
	}
	t.s.Components = append(t.s.Components, c)
	t.s.History.Track(id, a.at, c.Status)
	return c, nil
}

func (a *applier) updateComponent(t *siteTx) (any, *Error) {
	in := a.cmd.ComponentIn
	if in == nil {
		return nil, invalid("component", "is required")
	}
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	if old := t.s.Component(a.cmd.ID); old == nil || old.Group {
		return nil, notFound("id", "component")
	}
	if in.GroupID != nil && *in.GroupID != "" {
		if err := checkGroup(t.s, "group_id", *in.GroupID); err != nil {
			return nil, err
		}
	}
	if in.Status != nil {
		t.setStatus(a.cmd.ID, *in.Status, "api")
	}
	c := t.component(a.cmd.ID)
	if in.Name != nil {
		c.Name = *in.Name
	}
	if in.Description != nil {
		c.Description = ptrTo(*in.Description)
	}
	if in.GroupID != nil {
		c.GroupID = nil
		if *in.GroupID != "" {
			c.GroupID = ptrTo(*in.GroupID)
		}
	}
	if in.Position != nil {
		c.Position = *in.Position
	}
	if in.OnlyShowIfDegraded != nil {
		c.OnlyShowIfDegraded = *in.OnlyShowIfDegraded
	}
	if in.Showcase != nil {
		c.Showcase = *in.Showcase
	}
	if in.StartDate != nil {
		c.StartDate = nil
		if *in.StartDate != "" {
			c.StartDate = ptrTo(*in.StartDate)
		}
	}
	c.UpdatedAt = a.at
	return c, nil
}

func (a *applier) deleteComponent(t *siteTx, group bool) *Error {
	c := t.s.Component(a.cmd.ID)
	if c == nil || c.Group != group {
		return notFound("id", map[bool]string{true: "group", false: "component"}[group])
	}
	t.s.Components = slices.DeleteFunc(t.s.Components, func(x *content.Component) bool { return x.ID == c.ID })
	if group {
		for _, child := range t.s.Children(c.ID) {
			t.component(child.ID).GroupID = nil
		}
	}
	for i, au := range t.s.Audiences {
		if slices.Contains(au.ComponentIDs, c.ID) {
			n := *au
			n.ComponentIDs = slices.DeleteFunc(slices.Clone(au.ComponentIDs), func(id string) bool { return id == c.ID })
			t.s.Audiences[i] = &n
		}
	}
	t.s.History.Forget(c.ID)
	return nil
}

// checkMembers checks that ids are components (not groups) of the site.
func checkMembers(s *content.Site, field string, ids []string) *Error {
	for _, id := range ids {
		c := s.Component(id)
		if c == nil {
			return invalid(field, "unknown component id %q", id)
		}
		if c.Group {
			return invalid(field, "%q is a group", id)
		}
	}
	return nil
}

func (a *applier) createGroup(t *siteTx) (any, *Error) {
	in := a.cmd.GroupIn
	if in == nil {
		return nil, invalid("group", "is required")
	}
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	// Groups count against MaxComponents too (for commands proposed under
	// the limits: older entries replay as they were applied).
	if a.cmd.Limits >= LimitsAudiences && len(t.s.Components) >= MaxComponents {
		return nil, invalid("name", "a site has at most %d components and groups", MaxComponents)
	}
	id, err := a.newID(0)
	if err != nil {
		return nil, err
	}
	if t.s.Component(id) != nil {
		return nil, conflict("id", "component id taken")
	}
	members := deref(in.Components, nil)
	if err := checkMembers(t.s, "components", members); err != nil {
		return nil, err
	}
	g := &content.Component{
		ID: id, Name: *in.Name, Description: in.Description, Position: deref(in.Position, nextPosition(t.s)),
		Group: true, Status: content.Operational, CreatedAt: a.at, UpdatedAt: a.at,
	}
	t.s.Components = append(t.s.Components, g)
	for _, m := range members {
		c := t.component(m)
		c.GroupID, c.UpdatedAt = ptrTo(id), a.at
	}
	return afterCommit(func() any { return ViewComponent(t.s, t.s.Component(id)) }), nil
}

func (a *applier) updateGroup(t *siteTx) (any, *Error) {
	in := a.cmd.GroupIn
	if in == nil {
		return nil, invalid("group", "is required")
	}
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	if g := t.s.Component(a.cmd.ID); g == nil || !g.Group {
		return nil, notFound("id", "group")
	}
	members := in.Components
	if in.AddComponents != nil || in.RemoveComponents != nil {
		var cur []string
		for _, c := range t.s.Children(a.cmd.ID) {
			cur = append(cur, c.ID)
		}
		l, err := editList(cur, in.AddComponents, in.RemoveComponents, "components", "component of this group")
		if err != nil {
			return nil, err
		}
		members = &l
	}
	if members != nil {
		if err := checkMembers(t.s, "components", *members); err != nil {
			return nil, err
		}
		for _, child := range t.s.Children(a.cmd.ID) {
			if !slices.Contains(*members, child.ID) {
				t.component(child.ID).GroupID = nil
			}
		}
		for _, m := range *members {
			t.component(m).GroupID = ptrTo(a.cmd.ID)
		}
	}
	g := t.component(a.cmd.ID)
	if in.Name != nil {
		g.Name = *in.Name
	}
	if in.Description != nil {
		g.Description = ptrTo(*in.Description)
	}
	if in.Position != nil {
		g.Position = *in.Position
	}
	g.UpdatedAt = a.at
	return afterCommit(func() any { return ViewComponent(t.s, g) }), nil
}

// applyStatuses applies an update's component statuses, returning what changed.
func (a *applier) applyStatuses(t *siteTx, m map[string]content.ComponentStatus, by string) ([]content.AffectedComponent, *Error) {
	ids := sortedKeys(m)
	if err := checkMembers(t.s, "components", ids); err != nil {
		return nil, err
	}
	var out []content.AffectedComponent
	for _, id := range ids {
		c := t.s.Component(id)
		if c.Status == m[id] {
			continue
		}
		old := t.setStatus(id, m[id], by)
		out = append(out, content.AffectedComponent{ComponentID: id, Name: c.Name, OldStatus: old, NewStatus: m[id]})
	}
	return out, nil
}

func stampIncident(in *content.Incident, st content.IncidentStatus, at time.Time) {
	in.Status = st
	if st == content.Monitoring && in.MonitoringAt == nil {
		in.MonitoringAt = ptrTo(at)
	}
	if (st == content.Resolved || st == content.Postmortem) && in.ResolvedAt == nil {
		in.ResolvedAt = ptrTo(at)
	}
	if st.Unresolved() {
		in.ResolvedAt = nil
	}
	in.UpdatedAt = at
}

func (a *applier) createIncident(t *siteTx) (any, *Error) {
	in := a.cmd.IncidentIn
	if in == nil {
		return nil, invalid("incident", "is required")
	}
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	id, err := a.newID(0)
	if err != nil {
		return nil, err
	}
	uid, err := a.newID(1)
	if err != nil {
		return nil, err
	}
	started, _ := parseTime("started_at", in.StartedAt)
	if started.IsZero() {
		started = a.at
	}
	affected, err := a.applyStatuses(t, in.Components, id)
	if err != nil {
		return nil, err
	}
	inc := &content.Incident{
		ID: id, Name: *in.Name, Impact: deref(in.Impact, content.ImpactNone),
		CreatedAt: a.at, StartedAt: started, ComponentIDs: sortedKeys(in.Components),
	}
	stampIncident(inc, *in.Status, a.at)
	inc.Updates = []*content.Update{{
		ID: uid, Status: string(*in.Status), Body: deref(in.Body, ""), CreatedAt: a.at, UpdatedAt: a.at,
		DisplayAt: a.at, AffectedComponents: affected,
	}}
	t.s.Incidents = append([]*content.Incident{inc}, t.s.Incidents...)
	return inc, nil
}

func (a *applier) updateIncident(t *siteTx) (any, *Error) {
	in := a.cmd.IncidentIn
	if in == nil {
		return nil, invalid("incident", "is required")
	}
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	_, inc := t.incident(a.cmd.ID)
	if inc == nil {
		return nil, notFound("id", "incident")
	}
	if in.Name != nil {
		inc.Name = *in.Name
	}
	if in.Impact != nil {
		inc.Impact = *in.Impact
	}
	if in.StartedAt != nil {
		inc.StartedAt, _ = parseTime("started_at", in.StartedAt)
	}
	inc.UpdatedAt = a.at
	return inc, nil
}

func (a *applier) deleteIncident(t *siteTx) *Error {
	i, _ := t.incident(a.cmd.ID)
	if i < 0 {
		return notFound("id", "incident")
	}
	t.s.Incidents = slices.Delete(t.s.Incidents, i, i+1)
	return nil
}

func (a *applier) addIncidentUpdate(t *siteTx) (any, *Error) {
	in := a.cmd.UpdateIn
	if in == nil {
		return nil, invalid("update", "is required")
	}
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	uid, err := a.newID(0)
	if err != nil {
		return nil, err
	}
	_, inc := t.incident(a.cmd.ID)
	if inc == nil {
		return nil, notFound("id", "incident")
	}
	if err := a.checkUpdates(len(inc.Updates)+len(inc.Deleted), "incident"); err != nil {
		return nil, err
	}
	affected, err := a.applyStatuses(t, in.Components, inc.ID)
	if err != nil {
		return nil, err
	}
	display, _ := parseTime("display_at", in.DisplayAt)
	if display.IsZero() {
		display = a.at
	}
	for _, id := range sortedKeys(in.Components) {
		if !slices.Contains(inc.ComponentIDs, id) {
			inc.ComponentIDs = append(inc.ComponentIDs, id)
		}
	}
	stampIncident(inc, content.IncidentStatus(*in.Status), a.at)
	inc.Updates = append(inc.Updates, &content.Update{
		ID: uid, Status: *in.Status, Body: *in.Body, CreatedAt: a.at, UpdatedAt: a.at,
		DisplayAt: display, AffectedComponents: affected,
	})
	return inc, nil
}

// incidentUpdate finds the command's incident (a private copy) and the
// index of its update UpdateID.
func (a *applier) incidentUpdate(t *siteTx) (*content.Incident, int, *Error) {
	_, inc := t.incident(a.cmd.ID)
	if inc == nil {
		return nil, 0, notFound("id", "incident")
	}
	i := slices.IndexFunc(inc.Updates, func(u *content.Update) bool { return u.ID == a.cmd.UpdateID })
	if i < 0 {
		return nil, 0, notFound("update_id", "update")
	}
	return inc, i, nil
}

// editIncidentUpdate corrects an update's text or display time, keeping
// what it said before in its Edits.
func (a *applier) editIncidentUpdate(t *siteTx) (any, *Error) {
	in := a.cmd.UpdateIn
	if in == nil {
		return nil, invalid("update", "is required")
	}
	if err := in.ValidateEdit(); err != nil {
		return nil, err
	}
	inc, i, err := a.incidentUpdate(t)
	if err != nil {
		return nil, err
	}
	inc.Updates = slices.Clone(inc.Updates)
	u := *inc.Updates[i]
	u.Edits = append(slices.Clip(u.Edits), content.UpdateEdit{At: a.at, Body: u.Body, DisplayAt: u.DisplayAt})
	if in.Body != nil {
		u.Body = *in.Body
	}
	if in.DisplayAt != nil {
		u.DisplayAt, _ = parseTime("display_at", in.DisplayAt)
	}
	u.UpdatedAt = a.at
	inc.Updates[i] = &u
	inc.UpdatedAt = a.at
	return inc, nil
}

// deleteIncidentUpdate takes an update off the timeline, keeping it in
// Deleted. The statuses it changed stay (they are history); an incident
// keeps at least one update.
func (a *applier) deleteIncidentUpdate(t *siteTx) (any, *Error) {
	inc, i, err := a.incidentUpdate(t)
	if err != nil {
		return nil, err
	}
	if len(inc.Updates) == 1 {
		return nil, invalid("update_id", "an incident keeps at least one update (delete the incident instead)")
	}
	inc.Deleted = append(slices.Clip(inc.Deleted), content.DeletedUpdate{At: a.at, Update: inc.Updates[i]})
	inc.Updates = slices.Delete(slices.Clone(inc.Updates), i, i+1)
	inc.UpdatedAt = a.at
	return inc, nil
}

func (a *applier) createMaintenance(t *siteTx) (any, *Error) {
	in := a.cmd.MaintenanceIn
	if in == nil {
		return nil, invalid("maintenance", "is required")
	}
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	id, err := a.newID(0)
	if err != nil {
		return nil, err
	}
	uid, err := a.newID(1)
	if err != nil {
		return nil, err
	}
	if err := checkMembers(t.s, "components", *in.Components); err != nil {
		return nil, err
	}
	from, _ := parseTime("", in.ScheduledFor)
	until, _ := parseTime("", in.ScheduledUntil)
	body := deref(in.Body, "")
	if body == "" {
		body = "Scheduled maintenance."
	}
	m := &content.Maintenance{
		ID: id, Name: *in.Name, Status: content.Scheduled, ScheduledFor: from, ScheduledUntil: until,
		AutoTransition: deref(in.AutoTransition, true), CreatedAt: a.at, UpdatedAt: a.at,
		ComponentIDs: slices.Clone(*in.Components),
		Updates: []*content.Update{{ID: uid, Status: string(content.Scheduled), Body: body,
			CreatedAt: a.at, UpdatedAt: a.at, DisplayAt: a.at}},
	}
	t.s.Maintenances = append(t.s.Maintenances, m)
	slices.SortStableFunc(t.s.Maintenances, func(x, y *content.Maintenance) int {
		return cmp.Compare(x.ScheduledFor.UnixNano(), y.ScheduledFor.UnixNano())
	})
	return m, nil
}

func (a *applier) updateMaintenance(t *siteTx) (any, *Error) {
	in := a.cmd.MaintenanceIn
	if in == nil {
		return nil, invalid("maintenance", "is required")
	}
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	_, m := t.maintenance(a.cmd.ID)
	if m == nil {
		return nil, notFound("id", "maintenance")
	}
	if in.Name != nil {
		m.Name = *in.Name
	}
	if in.ScheduledFor != nil {
		m.ScheduledFor, _ = parseTime("", in.ScheduledFor)
	}
	if in.ScheduledUntil != nil {
		m.ScheduledUntil, _ = parseTime("", in.ScheduledUntil)
	}
	if !m.ScheduledUntil.After(m.ScheduledFor) {
		return nil, invalid("scheduled_until", "must be after scheduled_for")
	}
	if in.Components != nil {
		if len(*in.Components) == 0 {
			return nil, invalid("components", "must list at least one component")
		}
		if err := checkMembers(t.s, "components", *in.Components); err != nil {
			return nil, err
		}
		if m.Status.Active() {
			return nil, invalid("components", "cannot change while the maintenance is running")
		}
		m.ComponentIDs = slices.Clone(*in.Components)
	}
	if in.AutoTransition != nil {
		m.AutoTransition = *in.AutoTransition
	}
	if in.Body != nil {
		return nil, invalid("body", "is changed by posting an update")
	}
	m.UpdatedAt = a.at
	return m, nil
}

func (a *applier) deleteMaintenance(t *siteTx) *Error {
	i, m := t.maintenance(a.cmd.ID)
	if i < 0 {
		return notFound("id", "maintenance")
	}
	if m.Status.Active() { // give the components back
		a.endMaintenance(t, m)
	}
	t.s.Maintenances = slices.Delete(t.s.Maintenances, i, i+1)
	return nil
}

// endMaintenance gives back the components m holds: each still under
// maintenance returns to operational or, under the restoring ops, to the
// status it had when the window began (an update that changed it during the
// window has taken it out of maintenance already, and it is left alone).
func (a *applier) endMaintenance(t *siteTx, m *content.Maintenance) []content.AffectedComponent {
	var before map[string]content.ComponentStatus
	switch a.cmd.Op {
	case OpDeleteMaintenanceRestoring, OpAddMaintUpdateRestoring, OpAutoTransitionRestoring:
		before = statusesBefore(m)
	}
	var out []content.AffectedComponent
	for _, id := range m.ComponentIDs {
		if c := t.s.Component(id); c != nil && c.Status == content.UnderMaintenance {
			to := content.Operational
			if st, ok := before[id]; ok {
				to = st
			}
			t.setStatus(id, to, m.ID)
			out = append(out, content.AffectedComponent{ComponentID: id, Name: c.Name, OldStatus: content.UnderMaintenance, NewStatus: to})
		}
	}
	return out
}

// statusesBefore is what the last start of m's window changed each
// component from (its update's affected components).
func statusesBefore(m *content.Maintenance) map[string]content.ComponentStatus {
	for i := len(m.Updates) - 1; i >= 0; i-- {
		u := m.Updates[i]
		if !content.MaintenanceStatus(u.Status).Active() || len(u.AffectedComponents) == 0 {
			continue
		}
		out := map[string]content.ComponentStatus{}
		for _, ac := range u.AffectedComponents {
			if ac.NewStatus == content.UnderMaintenance && ac.OldStatus != content.UnderMaintenance {
				out[ac.ComponentID] = ac.OldStatus
			}
		}
		return out
	}
	return nil
}

func (a *applier) addMaintenanceUpdate(t *siteTx) (any, *Error) {
	in := a.cmd.UpdateIn
	auto := a.cmd.Op == OpAutoTransition || a.cmd.Op == OpAutoTransitionRestoring
	if in == nil {
		return nil, invalid("update", "is required")
	}
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	uid, err := a.newID(0)
	if err != nil {
		return nil, err
	}
	_, m := t.maintenance(a.cmd.ID)
	if m == nil {
		return nil, notFound("id", "maintenance")
	}
	if auto && (m.Status != a.cmd.From || !m.AutoTransition) {
		return nil, conflict("status", "maintenance is %s, not %s", m.Status, a.cmd.From)
	}
	if m.Status == content.Completed {
		return nil, invalid("status", "the maintenance is completed")
	}
	if err := a.checkUpdates(len(m.Updates), "maintenance"); err != nil {
		return nil, err
	}
	to := content.MaintenanceStatus(*in.Status)
	var affected []content.AffectedComponent
	switch {
	case to.Active() && !m.Status.Active():
		for _, id := range m.ComponentIDs {
			c := t.s.Component(id)
			if c == nil || c.Status == content.UnderMaintenance {
				continue
			}
			old := t.setStatus(id, content.UnderMaintenance, m.ID)
			affected = append(affected, content.AffectedComponent{ComponentID: id, Name: c.Name, OldStatus: old, NewStatus: content.UnderMaintenance})
		}
		if m.StartedAt == nil {
			m.StartedAt = ptrTo(a.at)
		}
	case !to.Active() && m.Status.Active():
		affected = a.endMaintenance(t, m)
	}
	if to == content.Completed {
		m.ResolvedAt = ptrTo(a.at)
	}
	m.Status, m.UpdatedAt = to, a.at
	m.Updates = append(m.Updates, &content.Update{
		ID: uid, Status: string(to), Body: *in.Body, CreatedAt: a.at, UpdatedAt: a.at, DisplayAt: a.at,
		AffectedComponents: affected,
	})
	return m, nil
}

func (a *applier) createAudience(t *siteTx) (any, *Error) {
	in := a.cmd.AudienceIn
	if in == nil {
		return nil, invalid("audience", "is required")
	}
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	id, err := a.newID(0)
	if err != nil {
		return nil, err
	}
	if t.s.AudienceByID(id) != nil {
		return nil, conflict("id", "audience id taken")
	}
	ids := deref(in.Components, nil)
	if err := checkAudienceComponents(t.s, ids); err != nil {
		return nil, err
	}
	if a.cmd.Limits >= LimitsAudiences {
		if len(t.s.Audiences) >= MaxAudiences {
			return nil, invalid("name", "a site has at most %d audiences", MaxAudiences)
		}
		if err := checkAudienceRefs(t.s, "", len(ids)); err != nil {
			return nil, err
		}
	}
	au := &content.Audience{ID: id, Name: *in.Name, ComponentIDs: slices.Clone(ids)}
	if a.cmd.PasswordHash != nil {
		au.PasswordHash = *a.cmd.PasswordHash
	}
	t.s.Audiences = append(t.s.Audiences, au)
	return ViewAudience(au), nil
}

// checkAudienceRefs checks that a site's audiences, with audience skip's
// references replaced by n, stay within MaxAudienceRefs (a change that
// does not grow the total always passes: a site over the bound from
// before it can still shrink).
func checkAudienceRefs(s *content.Site, skip string, n int) *Error {
	total, cur := n, 0
	for _, au := range s.Audiences {
		cur += len(au.ComponentIDs)
		if au.ID != skip {
			total += len(au.ComponentIDs)
		}
	}
	if total > MaxAudienceRefs && total > cur {
		return invalid("components", "a site's audiences name at most %d components in all", MaxAudienceRefs)
	}
	return nil
}

func checkAudienceComponents(s *content.Site, ids []string) *Error {
	for _, id := range ids {
		if s.Component(id) == nil {
			return invalid("components", "unknown component id %q", id)
		}
	}
	return nil
}

func (a *applier) updateAudience(t *siteTx) (any, *Error) {
	in := a.cmd.AudienceIn
	if in == nil {
		return nil, invalid("audience", "is required")
	}
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	_, au := t.audience(a.cmd.ID)
	if au == nil {
		return nil, notFound("id", "audience")
	}
	if in.Name != nil {
		au.Name = *in.Name
	}
	ids := in.Components
	if in.AddComponents != nil || in.RemoveComponents != nil {
		l, err := editList(au.ComponentIDs, in.AddComponents, in.RemoveComponents, "components", "component of this audience")
		if err != nil {
			return nil, err
		}
		ids = &l
	}
	if ids != nil {
		if err := checkAudienceComponents(t.s, *ids); err != nil {
			return nil, err
		}
		if a.cmd.Limits >= LimitsAudiences {
			if err := checkAudienceRefs(t.s, au.ID, len(*ids)); err != nil {
				return nil, err
			}
		}
		au.ComponentIDs = slices.Clone(*ids)
	}
	if a.cmd.PasswordHash != nil {
		au.PasswordHash = *a.cmd.PasswordHash
	}
	return ViewAudience(au), nil
}

func (a *applier) deleteAudience(t *siteTx) *Error {
	i, _ := t.audience(a.cmd.ID)
	if i < 0 {
		return notFound("id", "audience")
	}
	t.s.Audiences = slices.Delete(t.s.Audiences, i, i+1)
	return nil
}

// dueTransitions lists the automatic maintenance transitions due at now:
// scheduled → in_progress at ScheduledFor, running → completed at ScheduledUntil.
func (s *state) dueTransitions(now time.Time) []*Command {
	var out []*Command
	for _, id := range sortedKeys(s.Sites) {
		site := s.Sites[id]
		for _, m := range site.Maintenances {
			if !m.AutoTransition {
				continue
			}
			var to content.MaintenanceStatus
			var body string
			switch {
			case m.Status == content.Scheduled && !now.Before(m.ScheduledUntil):
				to, body = content.Completed, "The scheduled maintenance has been completed."
			case m.Status == content.Scheduled && !now.Before(m.ScheduledFor):
				to, body = content.InProgress, "Scheduled maintenance is currently in progress. We will provide updates as necessary."
			case m.Status.Active() && !now.Before(m.ScheduledUntil):
				to, body = content.Completed, "The scheduled maintenance has been completed."
			default:
				continue
			}
			st := string(to)
			out = append(out, &Command{Op: OpAutoTransitionRestoring, Site: id, ID: m.ID, From: m.Status,
				UpdateIn: &UpdateInput{Status: &st, Body: &body}})
		}
	}
	return out
}

var _ = strings.TrimSpace

// entryField names the input whose change made a site's registry entry
// too big under op (the field a refusal names), or "" for ops that cannot
// grow the entry, which are not checked (an incident's updates are not in it).
func entryField(op Op) string {
	switch op {
	case OpImportSite:
		return "import"
	case OpUpdateSite, OpPatchSite:
		return "site"
	case OpCreateComponent, OpUpdateComponent:
		return "component"
	case OpCreateGroup, OpUpdateGroup:
		return "group"
	case OpCreateIncident:
		return "incident"
	case OpCreateMaintenance:
		return "maintenance"
	case OpCreateAudience, OpUpdateAudience:
		return "audience"
	case OpAddDomain, OpVerifyDomain:
		return "domain"
	}
	return ""
}

// checkEntryBytes refuses a change (under LimitsEntryBytes) that makes
// site's registry entry, as next would be, larger than MaxEntryBytes and
// larger than it was (prev; nil for a new site): a site over the bound from
// before it can still shrink or change in place.
func (a *applier) checkEntryBytes(prev, next *content.Site) *Error {
	field := entryField(a.cmd.Op)
	if field == "" || a.cmd.Limits < LimitsEntryBytes {
		return nil
	}
	if a.cmd.Limits >= LimitsPostAtBound && (a.cmd.Op == OpCreateIncident || a.cmd.Op == OpCreateMaintenance) {
		return nil // bounded by MaxContentBytes instead: posting never waits on configuration
	}
	n := entryBytes(next)
	if n <= MaxEntryBytes || prev != nil && n <= entryBytes(prev) {
		return nil
	}
	return invalid(field, "a site's registry entry is at most %d bytes; this change makes it %d", MaxEntryBytes, n)
}

// entryBytes is the size of s's registry entry as JSON.
func entryBytes(s *content.Site) int {
	var c byteCounter
	_ = json.NewEncoder(&c).Encode(s.Entry())
	return int(c) - 1 // Encode's newline
}

type byteCounter int

func (c *byteCounter) Write(p []byte) (int, error) { *c += byteCounter(len(p)); return len(p), nil }
