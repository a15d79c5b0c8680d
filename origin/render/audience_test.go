package render

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// twoAudienceSite is the demo site with audience "core" (the Core Platform
// group) and audience "compute" (the Compute group), and an incident and a
// maintenance of each that only its audience may see. Networking is for
// neither.
func twoAudienceSite(tb testing.TB) *content.Site {
	tb.Helper()
	s := demo.Site(demoNow)
	s.Visibility = content.AudienceSpecific
	group := func(name string) *content.Component {
		for _, c := range s.Components {
			if c.Group && c.Name == name {
				return c
			}
		}
		tb.Fatalf("no group %q", name)
		return nil
	}
	core, compute := group("Core Platform"), group("Compute")
	for _, c := range s.Components { // "API" is also page chrome ("API: summary.json"): rename it
		if c.Name == "API" {
			c.Name = "Public Interface"
		}
	}
	s.Audiences = []*content.Audience{
		{ID: "aud-core", Name: "Core customers", ComponentIDs: []string{core.ID}},
		{ID: "aud-compute", Name: "Compute customers", ComponentIDs: []string{compute.ID}},
	}
	add := func(owner *content.Component, tag string) {
		child := s.Children(owner.ID)[1]
		at := demoNow.Add(-2 * time.Hour)
		s.Incidents = append(s.Incidents, &content.Incident{
			ID: "inc" + tag, Name: "Incident only for " + tag, Status: content.Monitoring, Impact: content.ImpactMinor,
			CreatedAt: at, UpdatedAt: at, StartedAt: at, ComponentIDs: []string{child.ID},
			Updates: []*content.Update{{ID: "upd" + tag, Status: "monitoring", Body: "Body marker " + tag + " with **bold**",
				CreatedAt: at, UpdatedAt: at, DisplayAt: at,
				AffectedComponents: []content.AffectedComponent{{ComponentID: child.ID, Name: child.Name,
					OldStatus: content.Operational, NewStatus: content.DegradedPerformance}}}},
		})
		mt := demoNow.AddDate(0, 0, 3)
		s.Maintenances = append(s.Maintenances, &content.Maintenance{
			ID: "mnt" + tag, Name: "Maintenance only for " + tag, Status: content.Scheduled,
			ScheduledFor: mt, ScheduledUntil: mt.Add(time.Hour), CreatedAt: at, UpdatedAt: at, ComponentIDs: []string{child.ID},
			Updates: []*content.Update{{ID: "mupd" + tag, Status: "scheduled", Body: "Maintenance body marker " + tag,
				CreatedAt: at, UpdatedAt: at, DisplayAt: at}},
		})
	}
	add(core, "CORETAG")
	add(compute, "COMPUTETAG")
	return s
}

// secretsOf lists what only audience id (of s) may see: the names and ids of
// the components outside every other audience, and the names, ids and body
// markers of the incidents and maintenances that affect only them.
func secretsOf(tb testing.TB, s *content.Site, id string) []string {
	tb.Helper()
	v, err := s.ForAudience(id)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, c := range v.Components {
		out = append(out, c.ID, c.Name)
	}
	tag := map[string]string{"aud-core": "CORETAG", "aud-compute": "COMPUTETAG"}[id]
	for _, in := range v.Incidents {
		if strings.Contains(in.ID, tag) {
			out = append(out, in.ID, in.Name, "Body marker "+tag)
			for _, u := range in.Updates {
				out = append(out, u.ID)
			}
		}
	}
	for _, m := range v.Maintenances {
		if strings.Contains(m.ID, tag) {
			out = append(out, m.ID, m.Name, "Maintenance body marker "+tag)
			for _, u := range m.Updates {
				out = append(out, u.ID)
			}
		}
	}
	for _, a := range s.Audiences {
		if a.ID == id {
			out = append(out, a.Name)
		}
	}
	return out
}

func TestAudienceBytes(t *testing.T) {
	r := newRenderer(t)
	s := twoAudienceSite(t)
	// Networking belongs to no audience: nobody but the whole site sees it.
	var nobody []string
	for _, c := range s.Components {
		if strings.Contains(c.Name, "Networking") || c.GroupID != nil && s.Component(*c.GroupID).Name == "Networking" {
			nobody = append(nobody, c.ID, c.Name)
		}
	}
	pairs := []struct{ viewer, other string }{{"aud-core", "aud-compute"}, {"aud-compute", "aud-core"}}
	for _, p := range pairs {
		forbidden := append(secretsOf(t, s, p.other), nobody...)
		allowed := secretsOf(t, s, p.viewer)
		var sawAllowed bool
		for _, path := range sitePaths(s) {
			body, _, err := r.Render(s, p.viewer, path, demoNow)
			if errors.Is(err, fs.ErrNotExist) && (strings.Contains(path, "/incidents/") || strings.Contains(path, "/maintenances/")) {
				continue // another audience's incident: not found is right
			}
			if err != nil {
				t.Fatalf("%s %s: %v", p.viewer, path, err)
			}
			for _, f := range forbidden {
				if bytes.Contains(body, []byte(f)) {
					t.Errorf("audience %s, %s: contains %q of another audience", p.viewer, path, f)
				}
			}
			for _, a := range allowed {
				if bytes.Contains(body, []byte(a)) {
					sawAllowed = true
				}
			}
		}
		if !sawAllowed {
			t.Errorf("audience %s sees none of its own content", p.viewer)
		}
		// Another audience's incident and maintenance pages do not exist for it.
		for _, path := range []string{"/incidents/inc" + tagOf(p.other), "/maintenances/mnt" + tagOf(p.other)} {
			if _, _, err := r.Render(s, p.viewer, path, demoNow); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("audience %s, %s: err %v, want fs.ErrNotExist", p.viewer, path, err)
			}
		}
	}
	// The whole site shows both audiences' content: the check above can fail.
	whole, _, err := r.Render(s, "", "/", demoNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"CORETAG", "COMPUTETAG"} {
		if !bytes.Contains(whole, []byte("Body marker "+tag)) {
			t.Errorf("the whole site's / lacks %s", tag)
		}
	}
}

func tagOf(audience string) string {
	return map[string]string{"aud-core": "CORETAG", "aud-compute": "COMPUTETAG"}[audience]
}
