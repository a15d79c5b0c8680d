package origin

import (
	"encoding/json"

	"github.com/statusedge/statusedge/content"
)

// An incident's or a maintenance's answer holds all of its updates, so an
// idempotency record of the answer itself costs what the object holds:
// update k of an incident stored k bodies (the review: 100 updates of
// 30 KB made 153 MB of replicated state). From LimitsContent on, the
// record of such an answer is an answerRef: the object without its
// updates, and how many updates it listed. A replay rebuilds the answer
// from the state: the head as it was, and the object's updates (as they
// read now) up to the last one the answer listed. Updates are only
// appended, so the replay is the first answer byte for byte, unless an
// update was edited or deleted since (which then shows). An object deleted
// since replays with no updates.
type answerRef struct {
	Kind    string          `json:"kind"` // "incident" or "maintenance"
	ID      string          `json:"id"`
	Updates int             `json:"updates"`           // how many updates the answer listed
	Last    string          `json:"last"`              // the last one's id
	Deleted int             `json:"deleted,omitempty"` // how many deleted updates it listed
	Head    json.RawMessage `json:"head"`              // the object without updates
}

const (
	refIncident    = "incident"
	refMaintenance = "maintenance"
)

// refOf returns the compact record of body, or nil when body is kept whole
// (every other answer is bounded by the site's limits, not its history).
func refOf(body any) *answerRef {
	var ref *answerRef
	var head any
	switch v := body.(type) {
	case *content.Incident:
		ref = &answerRef{Kind: refIncident, ID: v.ID, Updates: len(v.Updates), Deleted: len(v.Deleted)}
		ref.Last = lastUpdate(v.Updates)
		h := *v
		h.Updates, h.Deleted = nil, nil
		head = &h
	case *content.Maintenance:
		ref = &answerRef{Kind: refMaintenance, ID: v.ID, Updates: len(v.Updates)}
		ref.Last = lastUpdate(v.Updates)
		h := *v
		h.Updates = nil
		head = &h
	default:
		return nil
	}
	b, err := json.Marshal(head)
	if err != nil {
		return nil
	}
	ref.Head = b
	return ref
}

func lastUpdate(us []*content.Update) string {
	if len(us) == 0 {
		return ""
	}
	return us[len(us)-1].ID
}

// rebuild returns the answer ref records, from site (nil: deleted since).
func (ref *answerRef) rebuild(site *content.Site) (json.RawMessage, error) {
	switch ref.Kind {
	case refIncident:
		var in content.Incident
		if err := json.Unmarshal(ref.Head, &in); err != nil {
			return nil, err
		}
		in.Updates = []*content.Update{}
		if site != nil {
			if cur := site.Incident(ref.ID); cur != nil {
				in.Updates = updatesThrough(cur.Updates, ref.Last, ref.Updates)
				if n := min(ref.Deleted, len(cur.Deleted)); n > 0 {
					in.Deleted = cur.Deleted[:n]
				}
			}
		}
		return json.Marshal(&in)
	case refMaintenance:
		var m content.Maintenance
		if err := json.Unmarshal(ref.Head, &m); err != nil {
			return nil, err
		}
		m.Updates = []*content.Update{}
		if site != nil {
			if cur := site.Maintenance(ref.ID); cur != nil {
				m.Updates = updatesThrough(cur.Updates, ref.Last, ref.Updates)
			}
		}
		return json.Marshal(&m)
	}
	return ref.Head, nil
}

// updatesThrough returns us up to and including update last (if it was
// deleted since: the first n).
func updatesThrough(us []*content.Update, last string, n int) []*content.Update {
	for i := len(us) - 1; i >= 0; i-- {
		if us[i].ID == last {
			return us[:i+1]
		}
	}
	return us[:min(n, len(us))]
}

// contentBytes is what MaxContentBytes bounds for s.
func contentBytes(s *content.Site) int {
	n := 0
	updates := func(us []*content.Update) {
		for _, u := range us {
			n += contentOverhead + len(u.Body)
			for _, e := range u.Edits {
				n += contentOverhead + len(e.Body)
			}
		}
	}
	for _, in := range s.Incidents {
		n += contentOverhead + len(in.Name)
		updates(in.Updates)
		for _, d := range in.Deleted {
			updates([]*content.Update{d.Update})
		}
	}
	for _, m := range s.Maintenances {
		n += contentOverhead + len(m.Name)
		updates(m.Updates)
	}
	return n
}

// checkContent refuses a command under LimitsContent that grows the
// content of site (before: old, after: s) past MaxContentBytes; field is
// the request's field that adds it. A change that does not grow it passes,
// so a site over the bound from before can still shrink.
func (a *applier) checkContent(old, s *content.Site) *Error {
	if a.cmd.Limits < LimitsContent {
		return nil
	}
	field := "body"
	switch a.cmd.Op {
	case OpCreateIncident, OpAddIncidentUpdate, OpEditIncidentUpdate, OpCreateMaintenance, OpAddMaintUpdate, OpAddMaintUpdateRestoring:
	case OpUpdateIncident, OpUpdateMaintenance:
		field = "name"
	default:
		return nil
	}
	if n := contentBytes(s); n > MaxContentBytes && n > contentBytes(old) {
		return invalid(field, "a site's incidents and maintenances hold at most %d bytes (names, updates and their earlier texts, %d bytes more each): delete old incidents first", MaxContentBytes, contentOverhead)
	}
	return nil
}

// checkUpdates refuses, under LimitsContent, an update past MaxUpdates on
// an object that has n (automatic maintenance transitions always pass:
// they end a window).
func (a *applier) checkUpdates(n int, what string) *Error {
	if a.cmd.Limits < LimitsContent || n < MaxUpdates || a.cmd.Op == OpAutoTransition || a.cmd.Op == OpAutoTransitionRestoring {
		return nil
	}
	return invalid("body", "a %s has at most %d updates: open a new one", what, MaxUpdates)
}
