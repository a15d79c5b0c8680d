package content

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// twoAudienceSite has a group "g" with children "a1" and "a2", a lone "b",
// and audiences: "alpha" sees a1, "beta" sees b, "grp" sees the group g.
func twoAudienceSite() *Site {
	g := "g"
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Site{ID: "s", Visibility: AudienceSpecific, TimeZone: "UTC"}
	s.Components = []*Component{
		{ID: "g", Name: "Group", Group: true},
		{ID: "a1", Name: "Alpha One", GroupID: &g},
		{ID: "a2", Name: "Alpha Two", GroupID: &g},
		{ID: "b", Name: "Beta"},
	}
	for _, c := range s.Components {
		s.History.Track(c.ID, at, Operational)
	}
	s.Incidents = []*Incident{
		{ID: "ia", Name: "alpha trouble", ComponentIDs: []string{"a1"}, Updates: []*Update{{ID: "ua",
			AffectedComponents: []AffectedComponent{{ComponentID: "a1"}}}}},
		{ID: "ib", Name: "beta trouble", ComponentIDs: []string{"b"}},
		{ID: "iab", Name: "both", ComponentIDs: []string{"a1", "b"}, Updates: []*Update{{ID: "uab",
			AffectedComponents: []AffectedComponent{{ComponentID: "a1"}, {ComponentID: "b"}}}}},
	}
	s.Maintenances = []*Maintenance{{ID: "mb", ComponentIDs: []string{"b"}}}
	s.Audiences = []*Audience{
		{ID: "alpha", ComponentIDs: []string{"a1"}},
		{ID: "beta", ComponentIDs: []string{"b"}},
		{ID: "grp", ComponentIDs: []string{"g"}},
	}
	return s
}

func ids[T any](xs []T, id func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func TestForAudience(t *testing.T) {
	s := twoAudienceSite()
	tests := []struct {
		audience      string
		components    []string
		incidents     []string
		maintenances  []string
		history       int
		bothAffected  []string // affected components left on incident "iab"'s update
		wantErrUnknow bool
	}{
		{audience: "", components: []string{"g", "a1", "a2", "b"}, incidents: []string{"ia", "ib", "iab"}, maintenances: []string{"mb"}, history: 4, bothAffected: []string{"a1", "b"}},
		{audience: "alpha", components: []string{"g", "a1"}, incidents: []string{"ia", "iab"}, history: 2, bothAffected: []string{"a1"}},
		{audience: "beta", components: []string{"b"}, incidents: []string{"ib", "iab"}, maintenances: []string{"mb"}, history: 1, bothAffected: []string{"b"}},
		{audience: "grp", components: []string{"g", "a1", "a2"}, incidents: []string{"ia", "iab"}, history: 3, bothAffected: []string{"a1"}},
		{audience: "nobody", wantErrUnknow: true},
		{audience: "../alpha", wantErrUnknow: true},
	}
	for _, tt := range tests {
		t.Run("audience="+tt.audience, func(t *testing.T) {
			v, err := s.ForAudience(tt.audience)
			if tt.wantErrUnknow {
				if !errors.Is(err, ErrUnknownAudience) {
					t.Fatalf("err = %v, want ErrUnknownAudience", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(v.Components, func(c *Component) string { return c.ID }); !slices.Equal(got, tt.components) {
				t.Errorf("components = %v, want %v", got, tt.components)
			}
			if got := ids(v.Incidents, func(i *Incident) string { return i.ID }); !slices.Equal(got, tt.incidents) {
				t.Errorf("incidents = %v, want %v", got, tt.incidents)
			}
			if got := ids(v.Maintenances, func(m *Maintenance) string { return m.ID }); !slices.Equal(got, tt.maintenances) {
				t.Errorf("maintenances = %v, want %v", got, tt.maintenances)
			}
			if len(v.History.Components) != tt.history {
				t.Errorf("history for %d components, want %d", len(v.History.Components), tt.history)
			}
			both := v.Incident("iab")
			got := ids(both.Updates[0].AffectedComponents, func(a AffectedComponent) string { return a.ComponentID })
			if !slices.Equal(got, tt.bothAffected) {
				t.Errorf("affected = %v, want %v", got, tt.bothAffected)
			}
			if tt.audience != "" && len(v.Audiences) != 1 {
				t.Errorf("the view lists %d audiences, want only its own", len(v.Audiences))
			}
		})
	}
	// The original is untouched.
	if len(s.Incident("iab").Updates[0].AffectedComponents) != 2 || len(s.Incident("iab").ComponentIDs) != 2 {
		t.Fatal("ForAudience modified the site")
	}
}

func TestRegistryVisibleLayoutMatchesForAudience(t *testing.T) {
	s := twoAudienceSite()
	e := s.Entry()
	for _, a := range append([]string{""}, ids(s.Audiences, func(a *Audience) string { return a.ID })...) {
		v, err := s.ForAudience(a)
		if err != nil {
			t.Fatal(err)
		}
		want := ids(v.Components, func(c *Component) string { return c.ID })
		got := ids(e.VisibleLayout(a), func(c LayoutComponent) string { return c.ID })
		if !slices.Equal(got, want) {
			t.Errorf("audience %q: layout %v, view %v", a, got, want)
		}
	}
	if got := e.VisibleLayout("nobody"); got != nil {
		t.Errorf("unknown audience sees %v", got)
	}
}
