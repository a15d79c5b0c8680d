// Package demo builds "Acme Cloud", the demo status page that `statusedge dev`
// seeds and that tests and golden files render: 12 components in 3 groups,
// one resolved and one active incident with several updates, one upcoming
// maintenance, and 90 days of status history.
//
// Site(now) is deterministic: the same now gives the same site, ids included.
package demo

import (
	"math/rand/v2"
	"time"

	"github.com/statusedge/statusedge/content"
)

// SiteID is the demo site's id.
const SiteID = "acmecloud001"

// Hostname is the demo site's default hostname (*.localhost resolves to loopback).
const Hostname = "acme.localhost"

// groups are the demo's component groups and their components.
var groups = []struct {
	name       string
	components []string
	desc       []string
}{
	{"Core Platform", []string{"API", "Dashboard", "Authentication", "Webhooks"},
		[]string{"REST and GraphQL APIs", "The web console", "Sign-in, SSO and API tokens", "Outbound event delivery"}},
	{"Compute", []string{"Virtual Machines", "Kubernetes", "Serverless Functions", "Object Storage"},
		[]string{"Instances in every region", "Managed clusters and control planes", "Function invocations and deploys", "Buckets, uploads and downloads"}},
	{"Networking", []string{"CDN", "DNS", "Load Balancers", "VPN Gateway"},
		[]string{"Edge caching and delivery", "Authoritative and managed DNS", "L4 and L7 load balancing", "Site-to-site VPN tunnels"}},
}

// Site returns the demo site as of now.
func Site(now time.Time) *content.Site {
	now = now.UTC().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(2026, 11))
	ids := func() string {
		const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
		b := make([]byte, 12)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	created := now.AddDate(0, 0, -120).Truncate(24 * time.Hour)
	s := &content.Site{
		ID: SiteID, Name: "Acme Cloud", Slug: "acme",
		Hostnames:  []string{Hostname},
		URL:        "http://" + Hostname,
		TimeZone:   "America/New_York",
		Visibility: content.Public,
		Branding:   content.Branding{AccentColor: "#4f46e5"},
		CreatedAt:  created, UpdatedAt: now,
	}
	loc := s.Location()
	byName := map[string]*content.Component{}
	pos := 1
	for _, g := range groups {
		gid := ids()
		s.Components = append(s.Components, &content.Component{
			ID: gid, Name: g.name, Position: pos, Group: true, Status: content.Operational,
			CreatedAt: created, UpdatedAt: created,
		})
		pos++
		for i, name := range g.components {
			desc := g.desc[i]
			start := created.Format("2006-01-02")
			c := &content.Component{
				ID: ids(), Name: name, Description: &desc, Position: pos, GroupID: &gid,
				Status: content.Operational, Showcase: true, StartDate: &start,
				CreatedAt: created, UpdatedAt: created,
			}
			pos++
			s.Components = append(s.Components, c)
			byName[name] = c
			s.History.Track(c.ID, created, content.Operational)
		}
	}
	s.Components[len(s.Components)-1].OnlyShowIfDegraded = true // VPN Gateway

	// 90 days of blips: short degradations and outages, none in the last 4 days.
	for _, c := range s.Components {
		if c.Group {
			continue
		}
		at := now.AddDate(0, 0, -92)
		for {
			at = at.Add(time.Duration(72+rng.IntN(24*14)) * time.Hour)
			if at.After(now.AddDate(0, 0, -4)) {
				break
			}
			st := []content.ComponentStatus{content.DegradedPerformance, content.DegradedPerformance,
				content.PartialOutage, content.MajorOutage}[rng.IntN(4)]
			dur := time.Duration(10+rng.IntN(170)) * time.Minute
			s.History.Record(c.ID, at, st, "api", loc)
			s.History.Record(c.ID, at.Add(dur), content.Operational, "api", loc)
		}
	}

	// A resolved incident three days ago.
	storage := byName["Object Storage"]
	t0 := now.AddDate(0, 0, -3).Add(-5 * time.Hour).Truncate(time.Minute)
	resolved := &content.Incident{
		ID: ids(), Name: "Object Storage upload failures in us-east", Status: content.Resolved,
		Impact: content.ImpactMajor, CreatedAt: t0, StartedAt: t0, ComponentIDs: []string{storage.ID},
	}
	steps := []struct {
		after time.Duration
		st    content.IncidentStatus
		comp  content.ComponentStatus
		body  string
	}{
		{0, content.Investigating, content.MajorOutage,
			"We are investigating **failed uploads** to buckets in us-east. Downloads are not affected."},
		{25 * time.Minute, content.Identified, content.MajorOutage,
			"The cause is a failed storage node rollout. We are rolling back:\n\n- uploads may fail with `503`\n- retries with backoff will succeed once the rollback completes"},
		{70 * time.Minute, content.Monitoring, content.Operational,
			"The rollback is complete and uploads succeed again. We are monitoring error rates."},
		{130 * time.Minute, content.Resolved, content.Operational,
			"This incident is resolved. A [post-incident review](https://example.com/acme/pir) will follow."},
	}
	old := content.Operational
	for _, st := range steps {
		at := t0.Add(st.after)
		u := &content.Update{ID: ids(), Status: string(st.st), Body: st.body, CreatedAt: at, UpdatedAt: at, DisplayAt: at}
		if st.comp != old {
			u.AffectedComponents = []content.AffectedComponent{{ComponentID: storage.ID, Name: storage.Name, OldStatus: old, NewStatus: st.comp}}
			s.History.Record(storage.ID, at, st.comp, resolved.ID, loc)
			old = st.comp
		}
		if st.st == content.Monitoring {
			m := at
			resolved.MonitoringAt = &m
		}
		if st.st == content.Resolved {
			r := at
			resolved.ResolvedAt = &r
		}
		resolved.Updates = append(resolved.Updates, u)
		resolved.UpdatedAt = at
	}
	storage.UpdatedAt = resolved.UpdatedAt

	// The active incident: the API and Webhooks are hurting right now.
	api, hooks := byName["API"], byName["Webhooks"]
	t1 := now.Add(-42 * time.Minute).Truncate(time.Minute)
	active := &content.Incident{
		ID: ids(), Name: "Elevated error rates on the API", Status: content.Identified,
		Impact: content.ImpactMajor, CreatedAt: t1, StartedAt: t1, ComponentIDs: []string{api.ID, hooks.ID},
	}
	u1 := &content.Update{ID: ids(), Status: string(content.Investigating), CreatedAt: t1, UpdatedAt: t1, DisplayAt: t1,
		Body: "We are seeing elevated `5xx` error rates on the API and delayed webhook deliveries. We are investigating.",
		AffectedComponents: []content.AffectedComponent{
			{ComponentID: api.ID, Name: api.Name, OldStatus: content.Operational, NewStatus: content.PartialOutage},
			{ComponentID: hooks.ID, Name: hooks.Name, OldStatus: content.Operational, NewStatus: content.DegradedPerformance},
		}}
	t2 := t1.Add(27 * time.Minute)
	u2 := &content.Update{ID: ids(), Status: string(content.Identified), CreatedAt: t2, UpdatedAt: t2, DisplayAt: t2,
		Body: "The errors come from an overloaded database replica in *us-east-1*. We are shifting read traffic to healthy replicas.\n\nWebhook deliveries are queued, not lost."}
	active.Updates = []*content.Update{u1, u2}
	active.UpdatedAt = t2
	s.History.Record(api.ID, t1, content.PartialOutage, active.ID, loc)
	s.History.Record(hooks.ID, t1, content.DegradedPerformance, active.ID, loc)
	api.Status, api.UpdatedAt = content.PartialOutage, t1
	hooks.Status, hooks.UpdatedAt = content.DegradedPerformance, t1

	// The upcoming maintenance, in two days.
	dash := byName["Dashboard"]
	mt := now.AddDate(0, 0, 2).Truncate(time.Hour)
	mAt := now.AddDate(0, 0, -1).Truncate(time.Minute)
	s.Maintenances = []*content.Maintenance{{
		ID: ids(), Name: "Dashboard database upgrade", Status: content.Scheduled,
		ScheduledFor: mt, ScheduledUntil: mt.Add(2 * time.Hour), AutoTransition: true,
		CreatedAt: mAt, UpdatedAt: mAt, ComponentIDs: []string{dash.ID},
		Updates: []*content.Update{{ID: ids(), Status: string(content.Scheduled), CreatedAt: mAt, UpdatedAt: mAt, DisplayAt: mAt,
			Body: "We will upgrade the Dashboard's database. The Dashboard may be read-only for up to 10 minutes during the window; the API is not affected."}},
	}}

	s.Incidents = []*content.Incident{active, resolved} // newest first
	return s
}

// Operational returns the demo site as of now with its ongoing outages
// ended at its last change: every component operational, so its pages hold
// all day (benchmarks count renders per version; content.Site.Live).
func Operational(now time.Time) *content.Site {
	s := Site(now)
	for _, c := range s.Components {
		if !c.Group && c.Status != content.Operational {
			c.Status = content.Operational
			s.History.Record(c.ID, s.UpdatedAt, content.Operational, "demo", s.Location())
		}
	}
	return s
}
