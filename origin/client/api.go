package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/statusedge/statusedge/content"
)

// Ptr returns a pointer to v, for the optional fields of the inputs.
func Ptr[T any](v T) *T { return &v }

// The inputs below are the request bodies of docs/API.md §1. A nil field is
// left out of the request: on create the origin applies its default, on
// update (PATCH) the field keeps its value.

// SiteInput is the body of POST /v1/sites and PATCH /v1/sites/{site}.
type SiteInput struct {
	Name       *string             `json:"name,omitempty"`
	Slug       *string             `json:"slug,omitempty"`
	Hostnames  *[]string           `json:"hostnames,omitempty"`
	TimeZone   *string             `json:"time_zone,omitempty"`
	Visibility *content.Visibility `json:"visibility,omitempty"`
	URL        *string             `json:"url,omitempty"`
	Branding   *BrandingInput      `json:"branding,omitempty"`
	Access     *AccessInput        `json:"access,omitempty"`
	// AddHostnames and RemoveHostnames change the list in place (PATCH only).
	AddHostnames    *[]string `json:"add_hostnames,omitempty"`
	RemoveHostnames *[]string `json:"remove_hostnames,omitempty"`
}

// BrandingInput is how a page looks. A PATCH changes only the fields given
// ("" clears one); a create takes the rest empty.
type BrandingInput struct {
	LogoURL     *string `json:"logo_url,omitempty"`
	AccentColor *string `json:"accent_color,omitempty"`
	FaviconURL  *string `json:"favicon_url,omitempty"`
	Description *string `json:"description,omitempty"`
}

// AccessInput sets a private site's password (empty removes it) and the
// address prefixes admitted without one.
type AccessInput struct {
	Password   *string   `json:"password,omitempty"`
	AllowCIDRs *[]string `json:"allow_cidrs,omitempty"`
	// StaffPassword opens an audience site's full view to staff, who sign
	// in at content.StaffLoginPath (empty removes it).
	StaffPassword *string `json:"staff_password,omitempty"`
}

// CreatedSite is the answer to POST /v1/sites. APIToken is shown only once.
type CreatedSite struct {
	Site     *content.Site `json:"site"`
	APIToken string        `json:"api_token"`
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
	StartDate          *string                  `json:"start_date,omitempty"` // YYYY-MM-DD
}

// GroupInput is the body of POST and PATCH .../groups.
type GroupInput struct {
	Name        *string   `json:"name,omitempty"`
	Description *string   `json:"description,omitempty"`
	Position    *int      `json:"position,omitempty"`
	Components  *[]string `json:"components,omitempty"` // component ids
	// AddComponents and RemoveComponents change the members in place (PATCH only).
	AddComponents    *[]string `json:"add_components,omitempty"`
	RemoveComponents *[]string `json:"remove_components,omitempty"`
}

// IncidentInput is the body of POST .../incidents (PATCH takes only Name and Impact).
type IncidentInput struct {
	Name       *string                            `json:"name,omitempty"`
	Status     *content.IncidentStatus            `json:"status,omitempty"`
	Impact     *content.Impact                    `json:"impact,omitempty"`
	Body       *string                            `json:"body,omitempty"`
	Components map[string]content.ComponentStatus `json:"components,omitempty"` // id → new status
	StartedAt  *string                            `json:"started_at,omitempty"` // RFC 3339
}

// UpdateInput is the body of POST .../incidents/{id}/updates and
// .../maintenances/{id}/updates (maintenances take no Components).
type UpdateInput struct {
	Status     string                             `json:"status"`
	Body       string                             `json:"body"`
	Components map[string]content.ComponentStatus `json:"components,omitempty"`
	DisplayAt  *string                            `json:"display_at,omitempty"` // RFC 3339
}

// MaintenanceInput is the body of POST and PATCH .../maintenances.
type MaintenanceInput struct {
	Name           *string   `json:"name,omitempty"`
	ScheduledFor   *string   `json:"scheduled_for,omitempty"`   // RFC 3339
	ScheduledUntil *string   `json:"scheduled_until,omitempty"` // RFC 3339
	Components     *[]string `json:"components,omitempty"`
	Body           *string   `json:"body,omitempty"`
	AutoTransition *bool     `json:"auto_transition,omitempty"`
}

// AudienceInput is the body of POST and PATCH .../audiences.
type AudienceInput struct {
	Name       *string   `json:"name,omitempty"`
	Components *[]string `json:"components,omitempty"`
	Password   *string   `json:"password,omitempty"`
	// AddComponents and RemoveComponents change the list in place (PATCH only).
	AddComponents    *[]string `json:"add_components,omitempty"`
	RemoveComponents *[]string `json:"remove_components,omitempty"`
}

// JoinInput is the body of POST /v1/cluster/join.
type JoinInput struct {
	ID      string `json:"id"`
	Address string `json:"address"` // raft host:port
	Voter   bool   `json:"voter"`
	// APIAddr is the joining replica's management API URL (optional).
	APIAddr string `json:"api_address,omitempty"`
}

// Cluster is the answer to GET /v1/cluster.
type Cluster struct {
	Leader    string   `json:"leader"`               // the leader's server id
	LeaderAPI string   `json:"leader_api,omitempty"` // its management API URL, if known
	Servers   []Server `json:"servers"`
	LastIndex uint64   `json:"last_index"`
}

// Server is one raft server of the cluster.
type Server struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"` // voter | nonvoter
	State    string `json:"state"`    // leader | follower | …
	API      string `json:"api_address,omitempty"`
}

func sitePath(site string, rest ...string) string {
	p := "/v1/sites/" + url.PathEscape(site)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// Sites.

// CreateSite creates a site (operator token). The answer holds its API token.
func (c *Client) CreateSite(ctx context.Context, in SiteInput, opts ...CallOption) (*CreatedSite, error) {
	return doPtr[CreatedSite](ctx, c, http.MethodPost, "/v1/sites", in, opts)
}

// Sites lists every site (operator token).
func (c *Client) Sites(ctx context.Context, opts ...CallOption) ([]*content.Site, error) {
	return do[[]*content.Site](ctx, c, http.MethodGet, "/v1/sites", nil, opts)
}

// Site returns a site by id or slug.
func (c *Client) Site(ctx context.Context, site string, opts ...CallOption) (*content.Site, error) {
	return doPtr[content.Site](ctx, c, http.MethodGet, sitePath(site), nil, opts)
}

// UpdateSite changes the site's non-nil fields.
func (c *Client) UpdateSite(ctx context.Context, site string, in SiteInput, opts ...CallOption) (*content.Site, error) {
	return doPtr[content.Site](ctx, c, http.MethodPatch, sitePath(site), in, opts)
}

// RotatedToken is the answer to RotateToken. APIToken is shown only once:
// an idempotent replay of the rotation answers without it.
type RotatedToken struct {
	SiteID   string `json:"site_id"`
	APIToken string `json:"api_token,omitempty"`
}

// RotateToken gives the site a new API token; the old one stops working.
func (c *Client) RotateToken(ctx context.Context, site string, opts ...CallOption) (*RotatedToken, error) {
	return doPtr[RotatedToken](ctx, c, http.MethodPost, sitePath(site, "token"), struct{}{}, opts)
}

// DeleteSite deletes a site and all of its content.
func (c *Client) DeleteSite(ctx context.Context, site string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodDelete, sitePath(site), nil, nil, opts...)
}

// Components and groups.

// CreateComponent adds a component to a site.
func (c *Client) CreateComponent(ctx context.Context, site string, in ComponentInput, opts ...CallOption) (*content.Component, error) {
	return doPtr[content.Component](ctx, c, http.MethodPost, sitePath(site, "components"), in, opts)
}

// Components lists a site's components and groups, by position.
func (c *Client) Components(ctx context.Context, site string, opts ...CallOption) ([]*content.Component, error) {
	return do[[]*content.Component](ctx, c, http.MethodGet, sitePath(site, "components"), nil, opts)
}

// Component returns one component or group.
func (c *Client) Component(ctx context.Context, site, id string, opts ...CallOption) (*content.Component, error) {
	return doPtr[content.Component](ctx, c, http.MethodGet, sitePath(site, "components", id), nil, opts)
}

// UpdateComponent changes a component's non-nil fields; a new Status is
// recorded in the status history.
func (c *Client) UpdateComponent(ctx context.Context, site, id string, in ComponentInput, opts ...CallOption) (*content.Component, error) {
	return doPtr[content.Component](ctx, c, http.MethodPatch, sitePath(site, "components", id), in, opts)
}

// DeleteComponent deletes a component.
func (c *Client) DeleteComponent(ctx context.Context, site, id string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodDelete, sitePath(site, "components", id), nil, nil, opts...)
}

// CreateGroup adds a component group (holding in.Components).
func (c *Client) CreateGroup(ctx context.Context, site string, in GroupInput, opts ...CallOption) (*content.Component, error) {
	return doPtr[content.Component](ctx, c, http.MethodPost, sitePath(site, "groups"), in, opts)
}

// UpdateGroup changes a group's non-nil fields.
func (c *Client) UpdateGroup(ctx context.Context, site, id string, in GroupInput, opts ...CallOption) (*content.Component, error) {
	return doPtr[content.Component](ctx, c, http.MethodPatch, sitePath(site, "groups", id), in, opts)
}

// DeleteGroup deletes a group; its children become ungrouped.
func (c *Client) DeleteGroup(ctx context.Context, site, id string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodDelete, sitePath(site, "groups", id), nil, nil, opts...)
}

// Incidents.

// CreateIncident opens an incident; in.Components' statuses change in the
// same replicated command.
func (c *Client) CreateIncident(ctx context.Context, site string, in IncidentInput, opts ...CallOption) (*content.Incident, error) {
	return doPtr[content.Incident](ctx, c, http.MethodPost, sitePath(site, "incidents"), in, opts)
}

// Incidents lists a site's incidents, newest first.
func (c *Client) Incidents(ctx context.Context, site string, opts ...CallOption) ([]*content.Incident, error) {
	return do[[]*content.Incident](ctx, c, http.MethodGet, sitePath(site, "incidents"), nil, opts)
}

// Incident returns one incident with its timeline.
func (c *Client) Incident(ctx context.Context, site, id string, opts ...CallOption) (*content.Incident, error) {
	return doPtr[content.Incident](ctx, c, http.MethodGet, sitePath(site, "incidents", id), nil, opts)
}

// UpdateIncident changes an incident's name or impact (a status change is
// an update: see PostIncidentUpdate).
func (c *Client) UpdateIncident(ctx context.Context, site, id string, in IncidentInput, opts ...CallOption) (*content.Incident, error) {
	return doPtr[content.Incident](ctx, c, http.MethodPatch, sitePath(site, "incidents", id), in, opts)
}

// DeleteIncident deletes an incident.
func (c *Client) DeleteIncident(ctx context.Context, site, id string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodDelete, sitePath(site, "incidents", id), nil, nil, opts...)
}

// PostIncidentUpdate appends an update to an incident's timeline and
// returns the incident.
func (c *Client) PostIncidentUpdate(ctx context.Context, site, id string, in UpdateInput, opts ...CallOption) (*content.Incident, error) {
	return doPtr[content.Incident](ctx, c, http.MethodPost, sitePath(site, "incidents", id, "updates"), in, opts)
}

// UpdateEdit is the body of PATCH .../incidents/{id}/updates/{update}: a
// corrected text or display time (the earlier one is kept on record).
type UpdateEdit struct {
	Body      *string `json:"body,omitempty"`
	DisplayAt *string `json:"display_at,omitempty"` // RFC 3339
}

// EditIncidentUpdate corrects an update and returns the incident.
func (c *Client) EditIncidentUpdate(ctx context.Context, site, id, update string, in UpdateEdit, opts ...CallOption) (*content.Incident, error) {
	return doPtr[content.Incident](ctx, c, http.MethodPatch, sitePath(site, "incidents", id, "updates", update), in, opts)
}

// DeleteIncidentUpdate takes an update off the timeline (kept on record)
// and returns the incident.
func (c *Client) DeleteIncidentUpdate(ctx context.Context, site, id, update string, opts ...CallOption) (*content.Incident, error) {
	return doPtr[content.Incident](ctx, c, http.MethodDelete, sitePath(site, "incidents", id, "updates", update), nil, opts)
}

// Maintenances.

// CreateMaintenance schedules a maintenance.
func (c *Client) CreateMaintenance(ctx context.Context, site string, in MaintenanceInput, opts ...CallOption) (*content.Maintenance, error) {
	return doPtr[content.Maintenance](ctx, c, http.MethodPost, sitePath(site, "maintenances"), in, opts)
}

// Maintenances lists a site's scheduled maintenances. docs/API.md does not
// list GET .../maintenances; an origin without that route (405, or a 404
// that is not the documented error JSON) is answered from the site itself.
func (c *Client) Maintenances(ctx context.Context, site string, opts ...CallOption) ([]*content.Maintenance, error) {
	var out []*content.Maintenance
	err := c.Do(ctx, http.MethodGet, sitePath(site, "maintenances"), nil, &out, opts...)
	if noRoute(err) {
		s, serr := c.Site(ctx, site)
		if serr != nil {
			return nil, serr
		}
		return s.Maintenances, setRaw(s.Maintenances, opts)
	}
	return out, err
}

// Maintenance returns one maintenance.
func (c *Client) Maintenance(ctx context.Context, site, id string, opts ...CallOption) (*content.Maintenance, error) {
	return doPtr[content.Maintenance](ctx, c, http.MethodGet, sitePath(site, "maintenances", id), nil, opts)
}

// UpdateMaintenance changes a maintenance's non-nil fields.
func (c *Client) UpdateMaintenance(ctx context.Context, site, id string, in MaintenanceInput, opts ...CallOption) (*content.Maintenance, error) {
	return doPtr[content.Maintenance](ctx, c, http.MethodPatch, sitePath(site, "maintenances", id), in, opts)
}

// DeleteMaintenance deletes a maintenance.
func (c *Client) DeleteMaintenance(ctx context.Context, site, id string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodDelete, sitePath(site, "maintenances", id), nil, nil, opts...)
}

// PostMaintenanceUpdate appends an update (status and body) to a maintenance.
func (c *Client) PostMaintenanceUpdate(ctx context.Context, site, id string, in UpdateInput, opts ...CallOption) (*content.Maintenance, error) {
	return doPtr[content.Maintenance](ctx, c, http.MethodPost, sitePath(site, "maintenances", id, "updates"), in, opts)
}

// Audiences.

// CreateAudience adds an audience; the answer carries no password hash.
func (c *Client) CreateAudience(ctx context.Context, site string, in AudienceInput, opts ...CallOption) (*content.Audience, error) {
	return doPtr[content.Audience](ctx, c, http.MethodPost, sitePath(site, "audiences"), in, opts)
}

// Audiences lists a site's audiences (with the same fallback as Maintenances).
func (c *Client) Audiences(ctx context.Context, site string, opts ...CallOption) ([]*content.Audience, error) {
	var out []*content.Audience
	err := c.Do(ctx, http.MethodGet, sitePath(site, "audiences"), nil, &out, opts...)
	if noRoute(err) {
		s, serr := c.Site(ctx, site)
		if serr != nil {
			return nil, serr
		}
		for _, a := range s.Audiences {
			a.PasswordHash = ""
		}
		return s.Audiences, setRaw(s.Audiences, opts)
	}
	return out, err
}

// Audience returns one audience.
func (c *Client) Audience(ctx context.Context, site, id string, opts ...CallOption) (*content.Audience, error) {
	return doPtr[content.Audience](ctx, c, http.MethodGet, sitePath(site, "audiences", id), nil, opts)
}

// UpdateAudience changes an audience's non-nil fields.
func (c *Client) UpdateAudience(ctx context.Context, site, id string, in AudienceInput, opts ...CallOption) (*content.Audience, error) {
	return doPtr[content.Audience](ctx, c, http.MethodPatch, sitePath(site, "audiences", id), in, opts)
}

// DeleteAudience deletes an audience.
func (c *Client) DeleteAudience(ctx context.Context, site, id string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodDelete, sitePath(site, "audiences", id), nil, nil, opts...)
}

// Cluster (operator token).

// Cluster returns the raft configuration and the leader.
func (c *Client) Cluster(ctx context.Context, opts ...CallOption) (*Cluster, error) {
	return doPtr[Cluster](ctx, c, http.MethodGet, "/v1/cluster", nil, opts)
}

// Join adds a replica to the cluster as a voter or a non-voter.
func (c *Client) Join(ctx context.Context, in JoinInput, opts ...CallOption) error {
	return c.Do(ctx, http.MethodPost, "/v1/cluster/join", in, nil, opts...)
}

// Remove removes a replica from the cluster.
func (c *Client) Remove(ctx context.Context, id string, opts ...CallOption) error {
	return c.Do(ctx, http.MethodPost, "/v1/cluster/remove", struct {
		ID string `json:"id"`
	}{id}, nil, opts...)
}

// noRoute reports whether err means the origin has no such route (as
// opposed to the documented 404 for an unknown site, which carries a JSON error).
func noRoute(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return e.Status == http.StatusMethodNotAllowed || (e.Status == http.StatusNotFound && e.Message == "" && e.Field == "")
}

func setRaw(v any, opts []CallOption) error {
	var o call
	for _, opt := range opts {
		opt(&o)
	}
	if o.raw != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		*o.raw = b
	}
	return nil
}

// do sends a call and decodes its answer into a T.
func do[T any](ctx context.Context, c *Client, method, path string, in any, opts []CallOption) (T, error) {
	var out T
	if err := c.Do(ctx, method, path, in, &out, opts...); err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// doPtr is do for a single object: nil on error.
func doPtr[T any](ctx context.Context, c *Client, method, path string, in any, opts []CallOption) (*T, error) {
	out, err := do[T](ctx, c, method, path, in, opts)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
