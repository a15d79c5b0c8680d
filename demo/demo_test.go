package demo

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

func TestDemoSite(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC)
	s := Site(now)
	var groups, comps int
	for _, c := range s.Components {
		if c.Group {
			groups++
			if n := len(s.Children(c.ID)); n != 4 {
				t.Errorf("group %s has %d children, want 4", c.Name, n)
			}
			continue
		}
		comps++
		if !c.Status.Valid() || c.GroupID == nil {
			t.Errorf("component %s: status %q group %v", c.Name, c.Status, c.GroupID)
		}
		days := s.History.Uptime(c.ID, now, 90, s.Location())
		if p, ok := content.Percent(days); !ok || p >= 1 || p < 0.9 {
			t.Errorf("component %s: 90-day uptime %v %v, want some downtime", c.Name, p, ok)
		}
	}
	if groups != 3 || comps != 12 {
		t.Fatalf("%d groups, %d components; want 3 and 12", groups, comps)
	}
	var active, resolved int
	for _, in := range s.Incidents {
		if in.Status.Unresolved() {
			active++
		} else {
			resolved++
		}
		if len(in.Updates) < 2 {
			t.Errorf("incident %q has %d updates", in.Name, len(in.Updates))
		}
	}
	if active != 1 || resolved != 1 {
		t.Errorf("%d active, %d resolved incidents; want 1 and 1", active, resolved)
	}
	if len(s.Maintenances) != 1 || s.Maintenances[0].Status != content.Scheduled || !s.Maintenances[0].ScheduledFor.After(now) {
		t.Errorf("maintenances = %+v, want one upcoming", s.Maintenances)
	}
	// The affected components' statuses agree with the active incident.
	for _, a := range s.Incidents[0].Updates[0].AffectedComponents {
		if got := s.Component(a.ComponentID).Status; got != a.NewStatus {
			t.Errorf("%s is %s, the incident says %s", a.Name, got, a.NewStatus)
		}
	}
}

func TestDemoSiteIsDeterministic(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC)
	a, _ := json.Marshal(Site(now))
	b, _ := json.Marshal(Site(now))
	if string(a) != string(b) {
		t.Fatal("Site(now) differs between calls")
	}
}
