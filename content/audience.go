package content

import (
	"slices"
	"time"
)

// ForAudience returns the view of s that audience id may see: its components
// (and the groups that hold them), and only the incidents and maintenances
// that affect one of them, with their affected components narrowed to the
// visible ones. An empty id is the whole site (public and private sites).
// The result shares unchanged objects with s and must not be modified.
func (s *Site) ForAudience(id string) (*Site, error) {
	if id == "" {
		return s, nil
	}
	a := s.AudienceByID(id)
	if a == nil {
		return nil, ErrUnknownAudience
	}
	visible := map[string]bool{}
	for _, cid := range a.ComponentIDs {
		c := s.Component(cid)
		if c == nil {
			continue
		}
		visible[cid] = true
		if c.Group { // an audience given a group sees all of it
			for _, child := range s.Children(cid) {
				visible[child.ID] = true
			}
		}
	}
	for _, c := range s.Components { // a visible child makes its group visible
		if visible[c.ID] && c.GroupID != nil {
			visible[*c.GroupID] = true
		}
	}

	v := *s
	v.Audiences = []*Audience{a}
	v.Components = nil
	for _, c := range s.Components {
		if visible[c.ID] {
			v.Components = append(v.Components, c)
		}
	}
	v.Incidents = nil
	for _, in := range s.Incidents {
		if ids, ok := narrow(in.ComponentIDs, visible); ok {
			c := *in
			c.ComponentIDs = ids
			c.Updates = narrowUpdates(in.Updates, visible)
			v.Incidents = append(v.Incidents, &c)
		}
	}
	v.Maintenances = nil
	for _, m := range s.Maintenances {
		if ids, ok := narrow(m.ComponentIDs, visible); ok {
			c := *m
			c.ComponentIDs = ids
			c.Updates = narrowUpdates(m.Updates, visible)
			v.Maintenances = append(v.Maintenances, &c)
		}
	}
	v.History = History{Components: map[string]*ComponentHistory{}}
	for cid, h := range s.History.Components {
		if visible[cid] {
			v.History.Components[cid] = h
		}
	}
	v.UpdatedAt = v.viewUpdated()
	return &v, nil
}

// viewUpdated is when what an audience sees last changed: the latest
// change of its components, incidents and maintenances (else the site's
// creation). Its pages say it ("last updated", "as of", the feeds' and
// JSON's updated_at), not the site's last change, which another audience's
// incident moves: an audience learns nothing of the others' activity.
func (v *Site) viewUpdated() time.Time {
	t := v.CreatedAt
	later := func(u time.Time) {
		if u.After(t) {
			t = u
		}
	}
	for _, c := range v.Components {
		later(c.UpdatedAt)
	}
	for _, in := range v.Incidents {
		later(in.UpdatedAt)
	}
	for _, m := range v.Maintenances {
		later(m.UpdatedAt)
	}
	return t
}

func narrow(ids []string, visible map[string]bool) ([]string, bool) {
	out := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !visible[id] })
	return out, len(out) > 0
}

func narrowUpdates(us []*Update, visible map[string]bool) []*Update {
	out := make([]*Update, len(us))
	for i, u := range us {
		c := *u
		c.AffectedComponents = slices.DeleteFunc(slices.Clone(u.AffectedComponents),
			func(a AffectedComponent) bool { return !visible[a.ComponentID] })
		out[i] = &c
	}
	return out
}
