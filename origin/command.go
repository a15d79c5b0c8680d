package origin

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/statusedge/statusedge/content"
)

// Op names a replicated command.
type Op string

// The commands the state machine applies.
const (
	OpCreateSite        Op = "site.create"
	OpUpdateSite        Op = "site.update"
	OpDeleteSite        Op = "site.delete"
	OpImportSite        Op = "site.import"
	OpCreateComponent   Op = "component.create"
	OpUpdateComponent   Op = "component.update"
	OpDeleteComponent   Op = "component.delete"
	OpCreateGroup       Op = "group.create"
	OpUpdateGroup       Op = "group.update"
	OpDeleteGroup       Op = "group.delete"
	OpCreateIncident    Op = "incident.create"
	OpUpdateIncident    Op = "incident.update"
	OpDeleteIncident    Op = "incident.delete"
	OpAddIncidentUpdate Op = "incident.add_update"
	OpCreateMaintenance Op = "maintenance.create"
	OpUpdateMaintenance Op = "maintenance.update"
	OpDeleteMaintenance Op = "maintenance.delete"
	OpAddMaintUpdate    Op = "maintenance.add_update"
	OpAutoTransition    Op = "maintenance.auto"
	OpCreateAudience    Op = "audience.create"
	OpUpdateAudience    Op = "audience.update"
	OpDeleteAudience    Op = "audience.delete"
	OpRegisterMember    Op = "member.register"
	OpRemoveMember      Op = "member.remove"
	OpRotateToken       Op = "site.rotate_token"
	// An update's text (and display time) corrected, or the update taken
	// off the timeline; both are kept on record (content.Update.Edits,
	// content.Incident.Deleted).
	OpEditIncidentUpdate   Op = "incident.edit_update"
	OpDeleteIncidentUpdate Op = "incident.delete_update"
	// OpPatchSite is what PATCH /v1/sites/{site} proposes: field by field,
	// branding too (site.update, kept for the log, replaces the branding
	// whole), with add_hostnames and remove_hostnames.
	OpPatchSite Op = "site.patch"
	// Custom domains (origin/domains.go).
	OpAddDomain    Op = "domain.add"
	OpVerifyDomain Op = "domain.verify"
	OpRemoveDomain Op = "domain.remove"
	// Certificate storage for the edges' TLS (origin/certstore.go).
	OpCertPut    Op = "cert.put"
	OpCertDelete Op = "cert.delete"
	OpCertLock   Op = "cert.lock"
	OpCertUnlock Op = "cert.unlock"
	OpCertOrder  Op = "cert.order"

	// The maintenance ops that end a window as they do today: each
	// component the window took gets back the status it had before the
	// window (its maintenance.add_update, .auto and .delete counterparts,
	// kept for the log, set them operational).
	OpDeleteMaintenanceRestoring Op = "maintenance.delete.restoring"
	OpAddMaintUpdateRestoring    Op = "maintenance.add_update.restoring"
	OpAutoTransitionRestoring    Op = "maintenance.auto.restoring"
)

// Command is one replicated change. Everything non-deterministic (the time,
// new ids, password hashes, the token hash) is chosen by the replica that
// received the request, before the command enters the raft log, so that
// every replica applies it identically.
type Command struct {
	Op   Op        `json:"op"`
	At   time.Time `json:"at"`
	Site string    `json:"site,omitempty"` // id or slug of the target site
	ID   string    `json:"id,omitempty"`   // the target object
	// UpdateID is the target update of an incident's (edit, delete).
	UpdateID string `json:"update_id,omitempty"`
	// NewIDs are the ids of objects the command creates, in a fixed order
	// per op (e.g. incident, then its first update).
	NewIDs []string `json:"new_ids,omitempty"`
	// Idem, when set, makes the command idempotent under its key.
	Idem *IdemKey `json:"idem,omitempty"`
	// TokenHash is the SHA-256 (hex) of a new site's API token (on create,
	// import and rotation).
	TokenHash string `json:"token_hash,omitempty"`
	// PasswordHash is the bcrypt hash of a site or audience password.
	PasswordHash *string `json:"password_hash,omitempty"`
	// StaffPasswordHash is the bcrypt hash of an audience site's staff
	// password (site.create and site.patch; "" removes it). Entries from
	// before it never carry it and replay as they were applied.
	StaffPasswordHash *string `json:"staff_password_hash,omitempty"`

	SiteIn        *SiteInput        `json:"site_in,omitempty"`
	ComponentIn   *ComponentInput   `json:"component_in,omitempty"`
	GroupIn       *GroupInput       `json:"group_in,omitempty"`
	IncidentIn    *IncidentInput    `json:"incident_in,omitempty"`
	UpdateIn      *UpdateInput      `json:"update_in,omitempty"`
	MaintenanceIn *MaintenanceInput `json:"maintenance_in,omitempty"`
	AudienceIn    *AudienceInput    `json:"audience_in,omitempty"`
	Import        *content.Site     `json:"import,omitempty"`
	Member        *Member           `json:"member,omitempty"`
	// From is the status an automatic maintenance transition expects.
	From content.MaintenanceStatus `json:"from,omitempty"`
	// Domain is the custom domain a domain.* command acts on.
	Domain *DomainCommand `json:"domain,omitempty"`
	// Cert is the certificate-storage change of a cert.* command.
	Cert *CertCommand `json:"cert,omitempty"`
	// Limits is the version of the per-site limits the proposing replica
	// enforces (CurrentLimits). Apply checks a limit only for commands
	// proposed under it, so entries from before a limit replay as they
	// were applied.
	Limits int `json:"limits,omitempty"`
}

// Versions of the per-site limits (Command.Limits).
const (
	// LimitsAudiences: at most MaxAudiences audiences per site and
	// MaxAudienceRefs component references across a site's audiences;
	// groups count against MaxComponents.
	LimitsAudiences = 1
	// LimitsEntryBytes: a change may not grow a site's registry entry
	// (content.RegistryEntry as JSON) past MaxEntryBytes.
	LimitsEntryBytes = 2
	// LimitsContent: at most MaxUpdates updates per incident or
	// maintenance and MaxContentBytes of content per site; slugs are not
	// reserved names (reservedLabel); and an Idempotency-Key keeps a
	// compact record of an incident or maintenance answer (answerRef),
	// rebuilt from the state on a replay, not the answer's bytes.
	LimitsContent = 3
	// LimitsPostAtBound: creating an incident or maintenance is not held to
	// MaxEntryBytes (it adds only its id to the entry's page index, and
	// MaxContentBytes bounds how many a site can have): a site at its bound
	// can still post during an outage, and only configuration changes that
	// grow the entry are refused.
	LimitsPostAtBound = 4
	CurrentLimits     = LimitsPostAtBound
)

// Per-site limits from LimitsAudiences on. With MaxComponents they bound a
// site's registry entry (about 100 bytes a component, 20 a reference) to
// well under a megabyte, whatever the tenant does.
const (
	MaxAudiences    = 100
	MaxAudienceRefs = 10_000
	// MaxEntryBytes bounds a site's registry entry as the edges fetch it
	// (from LimitsEntryBytes on): what one tenant can make every edge hold
	// and fetch on each of its changes. The other bounds leave room for it
	// only with short texts (1,000 components with 4 KB descriptions would
	// not fit), so it is checked on its own.
	MaxEntryBytes = 1 << 20
)

// Per-site content limits from LimitsContent on. A site's content bytes
// are the names and bodies of its incidents, maintenances, their updates,
// the earlier texts of edited updates and deleted updates, each object
// counting contentOverhead more (for its ids and times): so the bound caps
// the number of objects too, whatever their text.
const (
	MaxUpdates      = 500      // per incident (deleted ones too) or maintenance
	MaxContentBytes = 16 << 20 // per site
	contentOverhead = 128
)

// IdemKey scopes an Idempotency-Key to its principal and fingerprints the
// request it was first used with.
type IdemKey struct {
	Key         string `json:"key"`         // principal + "\x00" + the client's key
	Fingerprint string `json:"fingerprint"` // SHA-256 of method, path and body
}

// Member maps a raft server id to the URL of its management API.
type Member struct {
	ID      string `json:"id"`
	APIAddr string `json:"api_address"`
}

// Limits on inputs.
const (
	MaxBodyBytes  = 64 << 10 // an update's Markdown body
	MaxNameBytes  = 255
	MaxDescBytes  = 4096
	MaxHostnames  = 32
	MaxComponents = 1000 // per site
	maxListItems  = 1000
)

// SiteInput is the body of POST and PATCH /v1/sites.
type SiteInput struct {
	Name       *string             `json:"name,omitempty"`
	Slug       *string             `json:"slug,omitempty"`
	Hostnames  *[]string           `json:"hostnames,omitempty"`
	TimeZone   *string             `json:"time_zone,omitempty"`
	Visibility *content.Visibility `json:"visibility,omitempty"`
	URL        *string             `json:"url,omitempty"`
	Branding   *BrandingInput      `json:"branding,omitempty"`
	Access     *AccessInput        `json:"access,omitempty"`
	// AddHostnames and RemoveHostnames change the list in place (PATCH
	// only; not with hostnames): a custom domain added keeps the default.
	AddHostnames    *[]string `json:"add_hostnames,omitempty"`
	RemoveHostnames *[]string `json:"remove_hostnames,omitempty"`
}

// BrandingInput sets how a page looks. On create, and under site.update
// (the log's old op), it replaces the branding whole: a field left out is
// empty. Under site.patch (PATCH) only the fields given change; "" clears one.
type BrandingInput struct {
	LogoURL     *string `json:"logo_url,omitempty"`
	AccentColor *string `json:"accent_color,omitempty"`
	FaviconURL  *string `json:"favicon_url,omitempty"`
	Description *string `json:"description,omitempty"`
}

// applyTo returns b applied to dst: whole replaces it, else field by field.
func (b *BrandingInput) applyTo(dst content.Branding, whole bool) content.Branding {
	if whole {
		dst = content.Branding{}
	}
	for _, f := range []struct {
		in  *string
		out *string
	}{{b.LogoURL, &dst.LogoURL}, {b.AccentColor, &dst.AccentColor}, {b.FaviconURL, &dst.FaviconURL}, {b.Description, &dst.Description}} {
		if f.in != nil {
			*f.out = *f.in
		}
	}
	return dst
}

// AccessInput sets a site's access rules. Password is hashed by the
// receiving replica and never replicated.
type AccessInput struct {
	Password   *string   `json:"password,omitempty"`
	AllowCIDRs *[]string `json:"allow_cidrs,omitempty"`
	// StaffPassword is an audience site's full-view password
	// (content.Access.StaffPasswordHash); hashed like Password.
	StaffPassword *string `json:"staff_password,omitempty"`
}

// ComponentInput is the body of POST and PATCH .../components.
type ComponentInput struct {
	Name               *string                  `json:"name,omitempty"`
	Description        *string                  `json:"description,omitempty"`
	GroupID            *string                  `json:"group_id,omitempty"` // "" ungroups
	Position           *int                     `json:"position,omitempty"`
	Status             *content.ComponentStatus `json:"status,omitempty"`
	OnlyShowIfDegraded *bool                    `json:"only_show_if_degraded,omitempty"`
	Showcase           *bool                    `json:"showcase,omitempty"`
	StartDate          *string                  `json:"start_date,omitempty"`
}

// GroupInput is the body of POST and PATCH .../groups.
type GroupInput struct {
	Name        *string   `json:"name,omitempty"`
	Description *string   `json:"description,omitempty"`
	Position    *int      `json:"position,omitempty"`
	Components  *[]string `json:"components,omitempty"`
	// AddComponents and RemoveComponents change the members in place
	// (PATCH only; not with components).
	AddComponents    *[]string `json:"add_components,omitempty"`
	RemoveComponents *[]string `json:"remove_components,omitempty"`
}

// IncidentInput is the body of POST and PATCH .../incidents.
type IncidentInput struct {
	Name       *string                            `json:"name,omitempty"`
	Status     *content.IncidentStatus            `json:"status,omitempty"`
	Impact     *content.Impact                    `json:"impact,omitempty"`
	Body       *string                            `json:"body,omitempty"`
	Components map[string]content.ComponentStatus `json:"components,omitempty"`
	StartedAt  *string                            `json:"started_at,omitempty"`
}

// UpdateInput is the body of POST .../incidents/{id}/updates and
// .../maintenances/{id}/updates.
type UpdateInput struct {
	Status     *string                            `json:"status,omitempty"`
	Body       *string                            `json:"body,omitempty"`
	Components map[string]content.ComponentStatus `json:"components,omitempty"`
	DisplayAt  *string                            `json:"display_at,omitempty"`
}

// MaintenanceInput is the body of POST and PATCH .../maintenances.
type MaintenanceInput struct {
	Name           *string   `json:"name,omitempty"`
	ScheduledFor   *string   `json:"scheduled_for,omitempty"`
	ScheduledUntil *string   `json:"scheduled_until,omitempty"`
	Components     *[]string `json:"components,omitempty"`
	Body           *string   `json:"body,omitempty"`
	AutoTransition *bool     `json:"auto_transition,omitempty"`
}

// AudienceInput is the body of POST and PATCH .../audiences.
type AudienceInput struct {
	Name       *string   `json:"name,omitempty"`
	Components *[]string `json:"components,omitempty"`
	Password   *string   `json:"password,omitempty"`
	// AddComponents and RemoveComponents change the list in place (PATCH
	// only; not with components).
	AddComponents    *[]string `json:"add_components,omitempty"`
	RemoveComponents *[]string `json:"remove_components,omitempty"`
}

// JoinInput is the body of POST /v1/cluster/join.
type JoinInput struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	// APIAddr is the joining replica's management API URL (optional: a
	// replica also registers it itself).
	APIAddr string `json:"api_address,omitempty"`
	// ClusterID, if set, is the cluster the joining replica belongs to (or
	// learnt from GET /v1/cluster): the join is refused (409) for another.
	ClusterID string `json:"cluster_id,omitempty"`
}

// RemoveInput is the body of POST /v1/cluster/remove.
type RemoveInput struct {
	ID string `json:"id"`
}

var (
	slugRE  = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	labelRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	idRE    = regexp.MustCompile(`^[a-z0-9]{1,64}$`)
)

func checkName(field string, p *string, required bool) *Error {
	if p == nil {
		if required {
			return invalid(field, "is required")
		}
		return nil
	}
	if strings.TrimSpace(*p) == "" {
		return invalid(field, "must not be empty")
	}
	return checkText(field, *p, MaxNameBytes)
}

func checkText(field, s string, max int) *Error {
	if len(s) > max {
		return invalid(field, "must be at most %d bytes", max)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return invalid(field, "must be valid UTF-8 text")
	}
	return nil
}

func checkBody(field string, p *string, required bool) *Error {
	if p == nil || *p == "" {
		if required {
			return invalid(field, "is required")
		}
		return nil
	}
	return checkText(field, *p, MaxBodyBytes)
}

func parseTime(field string, p *string) (time.Time, *Error) {
	if p == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, *p)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, invalid(field, "must be an RFC 3339 time")
	}
	return t.UTC(), nil
}

// checkHostname validates a lowercase DNS name with at least two labels.
func checkHostname(field, h string) *Error {
	if len(h) > 253 || h == "" {
		return invalid(field, "must be a hostname")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return invalid(field, "must be a hostname with a dot (e.g. status.example.com)")
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return invalid(field, "must be a lowercase hostname")
		}
	}
	return nil
}

func checkURL(field, s string) *Error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 2048 {
		return invalid(field, "must be an http or https URL")
	}
	return nil
}

func checkIDs(field string, ids []string) *Error {
	if len(ids) > maxListItems {
		return invalid(field, "too many items")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !idRE.MatchString(id) {
			return invalid(field, "unknown component id %q", truncate(id))
		}
		if seen[id] {
			return invalid(field, "lists %q twice", id)
		}
		seen[id] = true
	}
	return nil
}

func checkStatusMap(field string, m map[string]content.ComponentStatus) *Error {
	if len(m) > maxListItems {
		return invalid(field, "too many items")
	}
	for _, id := range sortedKeys(m) {
		if !idRE.MatchString(id) {
			return invalid(field, "unknown component id %q", truncate(id))
		}
		if !m[id].Valid() {
			return invalid(field+"."+id, "must be one of %s", joinEnum(content.ComponentStatuses))
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

func joinEnum[T ~string](all []T) string {
	parts := make([]string, len(all))
	for i, v := range all {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}

// Validate checks a site input without looking at other sites.
func (in *SiteInput) Validate(create bool) *Error {
	if err := checkName("name", in.Name, create); err != nil {
		return err
	}
	if in.Slug != nil || create {
		if in.Slug == nil {
			return invalid("slug", "is required")
		}
		if !slugRE.MatchString(*in.Slug) {
			return invalid("slug", "must be 1-63 lowercase letters, digits and dashes")
		}
	}
	for _, l := range []struct {
		field string
		list  *[]string
	}{{"hostnames", in.Hostnames}, {"add_hostnames", in.AddHostnames}, {"remove_hostnames", in.RemoveHostnames}} {
		if err := checkHostnames(l.field, l.list); err != nil {
			return err
		}
	}
	if err := checkListEdit("hostnames", in.Hostnames, in.AddHostnames, in.RemoveHostnames, create); err != nil {
		return err
	}
	if in.TimeZone != nil {
		if err := checkTimeZone(*in.TimeZone); err != nil {
			return err
		}
	}
	if in.Visibility != nil && !in.Visibility.Valid() {
		return invalid("visibility", "must be one of %s", joinEnum(content.Visibilities))
	}
	if in.URL != nil {
		if err := checkURL("url", *in.URL); err != nil {
			return err
		}
	}
	if in.Branding != nil {
		b := in.Branding.applyTo(content.Branding{}, true)
		if err := checkURL("branding.logo_url", b.LogoURL); err != nil {
			return err
		}
		if b.AccentColor != "" && !colorRE.MatchString(b.AccentColor) {
			return invalid("branding.accent_color", "must be #rrggbb")
		}
		if err := checkURL("branding.favicon_url", b.FaviconURL); err != nil {
			return err
		}
		if err := checkText("branding.description", b.Description, content.MaxDescription); err != nil {
			return err
		}
	}
	if a := in.Access; a != nil {
		for _, pw := range []struct {
			field string
			p     *string
		}{{"access.password", a.Password}, {"access.staff_password", a.StaffPassword}} {
			if pw.p != nil && (len(*pw.p) > 72 || (*pw.p != "" && len(*pw.p) < 8)) {
				return invalid(pw.field, "must be 8 to 72 bytes (or empty to remove it)")
			}
		}
		if a.AllowCIDRs != nil {
			if len(*a.AllowCIDRs) > maxListItems {
				return invalid("access.allow_cidrs", "too many items")
			}
			for _, c := range *a.AllowCIDRs {
				if _, err := netip.ParsePrefix(c); err != nil {
					return invalid("access.allow_cidrs", "%q is not a CIDR prefix", truncate(c))
				}
			}
		}
	}
	return nil
}

func checkHostnames(field string, l *[]string) *Error {
	if l == nil {
		return nil
	}
	if len(*l) > MaxHostnames {
		return invalid(field, "at most %d", MaxHostnames)
	}
	seen := map[string]bool{}
	for _, h := range *l {
		if err := checkHostname(field, h); err != nil {
			return err
		}
		if seen[h] {
			return invalid(field, "lists %q twice", h)
		}
		seen[h] = true
	}
	return nil
}

// checkListEdit checks that a list field is set whole or edited (add_,
// remove_), not both, and edited only on a change.
func checkListEdit(field string, set, add, remove *[]string, create bool) *Error {
	switch {
	case add == nil && remove == nil:
		return nil
	case create:
		return invalid("add_"+field, "only changes an existing list: give %s", field)
	case set != nil:
		return invalid(field, "set the list or add and remove items, not both")
	}
	return nil
}

func checkTimeZone(tz string) *Error {
	if tz == "" || tz == "Local" || len(tz) > 64 || strings.Contains(tz, "..") || strings.HasPrefix(tz, "/") {
		return invalid("time_zone", "must be an IANA time zone such as Europe/Berlin")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return invalid("time_zone", "must be an IANA time zone such as Europe/Berlin")
	}
	return nil
}

// Validate checks a component input on its own.
func (in *ComponentInput) Validate(create bool) *Error {
	if err := checkName("name", in.Name, create); err != nil {
		return err
	}
	if in.Description != nil {
		if err := checkText("description", *in.Description, MaxDescBytes); err != nil {
			return err
		}
	}
	if in.GroupID != nil && *in.GroupID != "" && !idRE.MatchString(*in.GroupID) {
		return invalid("group_id", "unknown group id")
	}
	if in.Position != nil && (*in.Position < 0 || *in.Position > 1_000_000) {
		return invalid("position", "must be between 0 and 1000000")
	}
	if in.Status != nil && !in.Status.Valid() {
		return invalid("status", "must be one of %s", joinEnum(content.ComponentStatuses))
	}
	if in.StartDate != nil && *in.StartDate != "" {
		if _, err := time.Parse("2006-01-02", *in.StartDate); err != nil {
			return invalid("start_date", "must be a date YYYY-MM-DD")
		}
	}
	return nil
}

// Validate checks a group input on its own.
func (in *GroupInput) Validate(create bool) *Error {
	if err := checkName("name", in.Name, create); err != nil {
		return err
	}
	if in.Description != nil {
		if err := checkText("description", *in.Description, MaxDescBytes); err != nil {
			return err
		}
	}
	if in.Position != nil && (*in.Position < 0 || *in.Position > 1_000_000) {
		return invalid("position", "must be between 0 and 1000000")
	}
	return checkIDEdits(in.Components, in.AddComponents, in.RemoveComponents, create)
}

// checkIDEdits checks a components list given whole or as additions and
// removals.
func checkIDEdits(set, add, remove *[]string, create bool) *Error {
	for _, l := range []struct {
		field string
		list  *[]string
	}{{"components", set}, {"add_components", add}, {"remove_components", remove}} {
		if l.list != nil {
			if err := checkIDs(l.field, *l.list); err != nil {
				return err
			}
		}
	}
	return checkListEdit("components", set, add, remove, create)
}

// Validate checks an incident input on its own.
func (in *IncidentInput) Validate(create bool) *Error {
	if err := checkName("name", in.Name, create); err != nil {
		return err
	}
	if in.Status != nil && !in.Status.Valid() {
		return invalid("status", "must be one of %s", joinEnum(content.IncidentStatuses))
	}
	if create && in.Status == nil {
		return invalid("status", "is required")
	}
	if in.Impact != nil && !in.Impact.Valid() {
		return invalid("impact", "must be one of %s", joinEnum(content.Impacts))
	}
	if !create {
		switch {
		case in.Status != nil:
			return invalid("status", "is changed by posting an update")
		case in.Body != nil:
			return invalid("body", "is changed by posting an update")
		case in.Components != nil:
			return invalid("components", "are changed by posting an update")
		}
	}
	if err := checkBody("body", in.Body, false); err != nil {
		return err
	}
	if err := checkStatusMap("components", in.Components); err != nil {
		return err
	}
	if _, err := parseTime("started_at", in.StartedAt); err != nil {
		return err
	}
	return nil
}

// Validate checks an incident update; maintenance says which statuses apply.
func (in *UpdateInput) Validate(maintenance bool) *Error {
	if in.Status == nil {
		return invalid("status", "is required")
	}
	if maintenance {
		if !content.MaintenanceStatus(*in.Status).Valid() {
			return invalid("status", "must be one of %s", joinEnum(content.MaintenanceStatuses))
		}
		if in.Components != nil {
			return invalid("components", "are set on the maintenance itself")
		}
	} else if !content.IncidentStatus(*in.Status).Valid() {
		return invalid("status", "must be one of %s", joinEnum(content.IncidentStatuses))
	}
	if err := checkBody("body", in.Body, true); err != nil {
		return err
	}
	if err := checkStatusMap("components", in.Components); err != nil {
		return err
	}
	if _, err := parseTime("display_at", in.DisplayAt); err != nil {
		return err
	}
	return nil
}

// ValidateEdit checks an edit of an update: a new body or display_at.
func (in *UpdateInput) ValidateEdit() *Error {
	switch {
	case in.Status != nil:
		return invalid("status", "is set by posting a new update")
	case in.Components != nil:
		return invalid("components", "are set by posting a new update")
	case in.Body == nil && in.DisplayAt == nil:
		return invalid("body", "give body or display_at to change")
	}
	if in.Body != nil {
		if err := checkBody("body", in.Body, true); err != nil {
			return err
		}
	}
	_, err := parseTime("display_at", in.DisplayAt)
	return err
}

// Validate checks a maintenance input on its own.
func (in *MaintenanceInput) Validate(create bool) *Error {
	if err := checkName("name", in.Name, create); err != nil {
		return err
	}
	if create && in.ScheduledFor == nil {
		return invalid("scheduled_for", "is required")
	}
	if create && in.ScheduledUntil == nil {
		return invalid("scheduled_until", "is required")
	}
	from, err := parseTime("scheduled_for", in.ScheduledFor)
	if err != nil {
		return err
	}
	until, err := parseTime("scheduled_until", in.ScheduledUntil)
	if err != nil {
		return err
	}
	if in.ScheduledFor != nil && in.ScheduledUntil != nil && !until.After(from) {
		return invalid("scheduled_until", "must be after scheduled_for")
	}
	if create && (in.Components == nil || len(*in.Components) == 0) {
		return invalid("components", "must list at least one component")
	}
	if in.Components != nil {
		if err := checkIDs("components", *in.Components); err != nil {
			return err
		}
	}
	return checkBody("body", in.Body, false)
}

// Validate checks an audience input on its own.
func (in *AudienceInput) Validate(create bool) *Error {
	if err := checkName("name", in.Name, create); err != nil {
		return err
	}
	if err := checkIDEdits(in.Components, in.AddComponents, in.RemoveComponents, create); err != nil {
		return err
	}
	if in.Password != nil && (len(*in.Password) > 72 || (*in.Password != "" && len(*in.Password) < 8)) {
		return invalid("password", "must be 8 to 72 bytes (or empty to remove it)")
	}
	return nil
}

// Validate checks a join request.
func (in *JoinInput) Validate() *Error {
	if in.ID == "" || len(in.ID) > 128 || !utf8.ValidString(in.ID) {
		return invalid("id", "must be a non-empty server id")
	}
	if _, err := netip.ParseAddrPort(in.Address); err != nil {
		if h, p, ok := strings.Cut(in.Address, ":"); !ok || h == "" || p == "" {
			return invalid("address", "must be host:port")
		}
	}
	if err := checkURL("api_address", in.APIAddr); err != nil {
		return err
	}
	if in.ClusterID != "" {
		if err := checkClusterID(in.ClusterID); err != nil {
			return invalid("cluster_id", "%v", err)
		}
	}
	return nil
}

func (c *Command) String() string { return fmt.Sprintf("%s site=%s id=%s", c.Op, c.Site, c.ID) }
