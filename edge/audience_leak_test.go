package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// The review: an audience saw the other audiences' activity through the
// version header, the ETag and "last updated", all of which moved with the
// site's version. Here audience B's incident moves the site; audience A's
// page (a real origin's render through the edge) is the same bytes under
// the same ETag, with no version header, while B sees its incident.
func TestAudienceSeesNothingOfAnotherAudience(t *testing.T) {
	s := testSite("aud001", "aud.test", content.AudienceSpecific)
	s.Slug = "aud"
	for _, c := range s.Components {
		c.Status = content.Operational
	}
	s.Incidents, s.Maintenances = nil, nil
	n, url, _ := realOrigin(t, s)
	e := realEdge(t, url, nil)
	cookieA, _ := login(t, e, "aud.test", "pw-a", "/")
	cookieB, _ := login(t, e, "aud.test", "pw-b", "/")
	if cookieA == "" || cookieB == "" {
		t.Fatal("audience logins failed")
	}
	paths := []string{"/", "/history.atom", "/api/v2/summary.json"}
	before := map[string]resp{}
	for _, p := range paths {
		r := e.get(t, "aud.test", p, "Cookie: "+cookieA)
		if r.status != 200 {
			t.Fatalf("A %s: %d", p, r.status)
		}
		if v := r.header.Get("X-Statusedge-Version"); v != "" {
			t.Errorf("A %s carries the site's version %s", p, v)
		}
		before[p] = r
	}

	// An incident on a component only B sees.
	next := testSite("aud001", "aud.test", content.AudienceSpecific)
	next.Slug = "aud"
	for _, c := range next.Components {
		c.Status = content.Operational
	}
	next.Incidents, next.Maintenances = nil, nil
	next.Audiences = s.Audiences // the same passwords: the sessions stand
	var onlyB string
	for _, c := range next.Components {
		if c.GroupID != nil && *c.GroupID == next.Audiences[1].ComponentIDs[0] {
			onlyB = c.ID
			c.Status, c.UpdatedAt = content.MajorOutage, time.Now().UTC()
			break
		}
	}
	at := time.Now().UTC()
	next.Incidents = []*content.Incident{{ID: "bonly", Name: "B Only Outage", Status: content.Investigating, Impact: content.ImpactMajor,
		CreatedAt: at, UpdatedAt: at, StartedAt: at, ComponentIDs: []string{onlyB},
		Updates: []*content.Update{{ID: "bonly1", Status: "investigating", Body: "b is down", CreatedAt: at, UpdatedAt: at, DisplayAt: at}}}}
	if _, err := n.ImportSite(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "B sees its incident", func() bool {
		return strings.Contains(e.get(t, "aud.test", "/", "Cookie: "+cookieB).body, "B Only Outage")
	})
	for _, p := range paths {
		r := e.get(t, "aud.test", p, "Cookie: "+cookieA)
		b := before[p]
		switch {
		case r.status != 200:
			t.Errorf("A %s after B's incident: %d", p, r.status)
		case strings.Contains(r.body, "B Only Outage"):
			t.Errorf("A %s shows B's incident", p)
		case r.body != b.body:
			t.Errorf("A %s changed with B's incident:\nbefore %.300q\nafter  %.300q", p, diffAt(b.body, r.body), diffAt(r.body, b.body))
		case r.header.Get("ETag") != b.header.Get("ETag"):
			t.Errorf("A %s ETag %s -> %s", p, b.header.Get("ETag"), r.header.Get("ETag"))
		case r.header.Get("X-Statusedge-Version") != "":
			t.Errorf("A %s carries the site's version %s", p, r.header.Get("X-Statusedge-Version"))
		}
	}
}

// diffAt is a from the first byte where it differs from b.
func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[max(0, i-60):]
}
