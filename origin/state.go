package origin

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/statusedge/statusedge/content"
)

// IdempotencyTTL is how long an Idempotency-Key's first answer is kept,
// measured in command time (so expiry is the same on every replica).
const IdempotencyTTL = 24 * time.Hour

// state is the replicated state machine: every site as an immutable
// snapshot, site token hashes, idempotency records and the members' API
// addresses. apply is deterministic: it reads nothing but the command and
// the state. Sites are copy-on-write: apply builds a new *content.Site and
// swaps it in, so a reader holding the old pointer is never disturbed.
type state struct {
	Index     uint64                   `json:"index"`   // last applied raft index
	Changed   uint64                   `json:"changed"` // last index that changed a site (the registry version)
	Sites     map[string]*content.Site `json:"sites"`
	Tokens    map[string]string        `json:"tokens"` // site id → SHA-256 hex of its API token
	Idem      map[string]*idemRecord   `json:"idem"`
	IdemOrder []string                 `json:"idem_order"` // keys in insertion order, for expiry
	Members   map[string]string        `json:"members"`    // raft server id → management API URL
	// Certs is the edges' certificate storage (origin/certstore.go).
	Certs *certState `json:"certs,omitempty"`

	// Derived indexes, rebuilt from Sites.
	slugs      map[string]string // slug → site id
	hosts      map[string]string // hostname → site id
	tokenSites map[string]string // token hash → site id
}

// idemRecord is an Idempotency-Key's first answer: Result whole (commands
// before LimitsContent), or Result without its body and Ref, from which a
// replay rebuilds the body (answerRef).
type idemRecord struct {
	At          time.Time  `json:"at"`
	Fingerprint string     `json:"fingerprint"`
	Result      *Result    `json:"result"`
	Ref         *answerRef `json:"ref,omitempty"`
}

// Result is the answer to a command: what the API returns. It is part of
// the state (as an idempotency record) so it must be deterministic.
type Result struct {
	Status   int             `json:"status"`
	Body     json.RawMessage `json:"body,omitempty"`
	Err      *Error          `json:"error,omitempty"`
	Replayed bool            `json:"replayed,omitempty"`
	Index    uint64          `json:"index"`
	SiteID   string          `json:"site_id,omitempty"`
	Version  uint64          `json:"version,omitempty"` // the site's version after the command
	Deleted  bool            `json:"deleted,omitempty"`
	// Cert names the certificate a cert.put stored (for the announcement).
	Cert string `json:"cert,omitempty"`

	ref *answerRef // the compact record of Body (LimitsContent on), or nil
}

func newState() *state {
	s := &state{
		Sites: map[string]*content.Site{}, Tokens: map[string]string{},
		Idem: map[string]*idemRecord{}, Members: map[string]string{},
	}
	s.reindex()
	return s
}

// index updates the slug and host tables for one site: old was stored
// under id before (nil: none), s is stored now (nil: deleted). A write
// costs what the site has, not what the state has; reindex rebuilds all.
func (s *state) index(id string, old, site *content.Site) {
	if old != nil {
		if s.slugs[old.Slug] == id {
			delete(s.slugs, old.Slug)
		}
		for _, h := range old.Hostnames {
			if s.hosts[h] == id {
				delete(s.hosts, h)
			}
		}
		for _, h := range old.VerifiedDomains() {
			if s.hosts[h] == id {
				delete(s.hosts, h)
			}
		}
	}
	if site != nil {
		s.slugs[site.Slug] = id
		for _, h := range site.Hostnames {
			s.hosts[h] = id
		}
		for _, h := range site.VerifiedDomains() {
			s.hosts[h] = id
		}
	}
}

// setToken sets (hash "": removes) the API token hash of site id.
func (s *state) setToken(id, hash string) {
	if old, ok := s.Tokens[id]; ok && s.tokenSites[old] == id {
		delete(s.tokenSites, old)
	}
	if hash == "" {
		delete(s.Tokens, id)
		return
	}
	s.Tokens[id] = hash
	s.tokenSites[hash] = id
}

func (s *state) reindex() {
	s.slugs = make(map[string]string, len(s.Sites))
	s.hosts = map[string]string{}
	for id, site := range s.Sites {
		s.slugs[site.Slug] = id
		for _, h := range site.Hostnames {
			s.hosts[h] = id
		}
		for _, h := range site.VerifiedDomains() {
			s.hosts[h] = id
		}
	}
	s.tokenSites = make(map[string]string, len(s.Tokens))
	for id, h := range s.Tokens {
		s.tokenSites[h] = id
	}
}

// site finds a site by id or slug.
func (s *state) site(ref string) *content.Site {
	if site, ok := s.Sites[ref]; ok {
		return site
	}
	if id, ok := s.slugs[ref]; ok {
		return s.Sites[id]
	}
	return nil
}

// clone returns a copy of s whose maps may be changed without touching s
// (sites themselves are immutable and shared).
func (s *state) clone() *state {
	c := &state{Index: s.Index, Changed: s.Changed}
	c.Sites = make(map[string]*content.Site, len(s.Sites))
	for k, v := range s.Sites {
		c.Sites[k] = v
	}
	c.Tokens = cloneMap(s.Tokens)
	c.Idem = make(map[string]*idemRecord, len(s.Idem))
	for k, v := range s.Idem {
		c.Idem[k] = v
	}
	c.IdemOrder = slices.Clone(s.IdemOrder)
	c.Members = cloneMap(s.Members)
	c.Certs = s.Certs.clone()
	return c
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *state) expireIdem(now time.Time) {
	cut := 0
	for cut < len(s.IdemOrder) {
		r, ok := s.Idem[s.IdemOrder[cut]]
		if ok && now.Sub(r.At) < IdempotencyTTL {
			break
		}
		delete(s.Idem, s.IdemOrder[cut])
		cut++
	}
	if cut > 0 {
		s.IdemOrder = slices.Delete(s.IdemOrder, 0, cut)
	}
}

// apply applies cmd at raft index index and returns its answer. A command
// that fails changes nothing but Index.
func (s *state) apply(index uint64, cmd *Command) *Result {
	if index > s.Index {
		s.Index = index
	}
	s.expireIdem(cmd.At)
	if cmd.Idem != nil {
		if r, ok := s.Idem[cmd.Idem.Key]; ok {
			if r.Fingerprint != cmd.Idem.Fingerprint {
				return &Result{Index: index, Err: conflict("Idempotency-Key", "was used with another request")}
			}
			replay := *r.Result
			replay.Replayed = true
			if r.Ref != nil {
				b, err := r.Ref.rebuild(s.Sites[r.Result.SiteID])
				if err != nil {
					return fail(asError(err))
				}
				replay.Body = b
			}
			return &replay
		}
	}
	a := &applier{st: s, index: index, cmd: cmd, at: cmd.At.UTC()}
	res := a.run()
	res.Index = index
	if res.Err == nil && cmd.Idem != nil {
		rec := &idemRecord{At: cmd.At, Fingerprint: cmd.Idem.Fingerprint, Result: res}
		if res.ref != nil {
			compact := *res
			compact.Body, compact.ref = nil, nil
			rec.Result, rec.Ref = &compact, res.ref
		}
		s.Idem[cmd.Idem.Key] = rec
		s.IdemOrder = append(s.IdemOrder, cmd.Idem.Key)
	}
	return res
}

// applier carries one command through its application.
type applier struct {
	st    *state
	index uint64
	cmd   *Command
	at    time.Time
}

func (a *applier) run() *Result {
	c := a.cmd
	switch c.Op {
	case OpCreateSite:
		return a.createSite()
	case OpImportSite:
		return a.importSite()
	case OpRegisterMember:
		if c.Member == nil || c.Member.ID == "" {
			return fail(invalid("member", "is required"))
		}
		a.st.Members[c.Member.ID] = c.Member.APIAddr
		return &Result{Status: http.StatusOK}
	case OpRemoveMember:
		if c.Member == nil || c.Member.ID == "" {
			return fail(invalid("member", "is required"))
		}
		delete(a.st.Members, c.Member.ID)
		return &Result{Status: http.StatusOK}
	case OpCertPut, OpCertDelete, OpCertLock, OpCertUnlock, OpCertOrder:
		return a.cert()
	}
	site := a.st.site(c.Site)
	if site == nil {
		return fail(notFound("site", "site"))
	}
	if c.Op == OpRotateToken {
		if c.TokenHash == "" {
			return fail(invalid("token_hash", "is required"))
		}
		// The old token stops working with this index, on every replica.
		a.st.setToken(site.ID, c.TokenHash)
		a.st.Changed = a.index
		return &Result{Status: http.StatusOK, SiteID: site.ID}
	}
	if c.Op == OpDeleteSite {
		delete(a.st.Sites, site.ID)
		a.st.index(site.ID, site, nil)
		a.st.setToken(site.ID, "")
		a.st.Changed = a.index
		return &Result{Status: http.StatusNoContent, SiteID: site.ID, Version: a.index, Deleted: true}
	}
	t := &siteTx{s: cow(site), at: a.at}
	var status = http.StatusOK
	var body any
	var err *Error
	switch c.Op {
	case OpUpdateSite, OpPatchSite:
		body, err = a.updateSite(t)
	case OpCreateComponent:
		status = http.StatusCreated
		body, err = a.createComponent(t)
	case OpUpdateComponent:
		body, err = a.updateComponent(t)
	case OpDeleteComponent, OpDeleteGroup:
		status = http.StatusNoContent
		err = a.deleteComponent(t, c.Op == OpDeleteGroup)
	case OpCreateGroup:
		status = http.StatusCreated
		body, err = a.createGroup(t)
	case OpUpdateGroup:
		body, err = a.updateGroup(t)
	case OpCreateIncident:
		status = http.StatusCreated
		body, err = a.createIncident(t)
	case OpUpdateIncident:
		body, err = a.updateIncident(t)
	case OpDeleteIncident:
		status = http.StatusNoContent
		err = a.deleteIncident(t)
	case OpAddIncidentUpdate:
		status = http.StatusCreated
		body, err = a.addIncidentUpdate(t)
	case OpEditIncidentUpdate:
		body, err = a.editIncidentUpdate(t)
	case OpDeleteIncidentUpdate:
		body, err = a.deleteIncidentUpdate(t)
	case OpCreateMaintenance:
		status = http.StatusCreated
		body, err = a.createMaintenance(t)
	case OpUpdateMaintenance:
		body, err = a.updateMaintenance(t)
	case OpDeleteMaintenance, OpDeleteMaintenanceRestoring:
		status = http.StatusNoContent
		err = a.deleteMaintenance(t)
	case OpAddMaintUpdate, OpAutoTransition, OpAddMaintUpdateRestoring, OpAutoTransitionRestoring:
		status = http.StatusCreated
		body, err = a.addMaintenanceUpdate(t)
	case OpCreateAudience:
		status = http.StatusCreated
		body, err = a.createAudience(t)
	case OpUpdateAudience:
		body, err = a.updateAudience(t)
	case OpDeleteAudience:
		status = http.StatusNoContent
		err = a.deleteAudience(t)
	case OpAddDomain, OpVerifyDomain, OpRemoveDomain:
		status, body, err = a.domain(t)
	default:
		err = invalid("op", "unknown command %q", truncate(string(c.Op)))
	}
	if err == nil {
		err = a.checkEntryBytes(site, t.s)
	}
	if err == nil {
		err = a.checkContent(site, t.s)
	}
	if err != nil {
		return fail(err)
	}
	a.commit(t.s)
	if f, ok := body.(afterCommit); ok {
		body = f()
	}
	return a.answer(status, t.s, body)
}

func fail(err *Error) *Result { return &Result{Status: err.Status, Err: err} }

// commit stamps the new snapshot with the version and swaps it in.
func (a *applier) commit(site *content.Site) {
	site.Version = a.index
	if a.at.After(site.UpdatedAt) {
		site.UpdatedAt = a.at
	}
	sortComponents(site.Components)
	old := a.st.Sites[site.ID]
	a.st.Sites[site.ID] = site
	a.st.index(site.ID, old, site)
	a.st.Changed = a.index
}

func (a *applier) answer(status int, site *content.Site, body any) *Result {
	r := &Result{Status: status, SiteID: site.ID, Version: site.Version}
	if body != nil && status != http.StatusNoContent {
		b, err := json.Marshal(body)
		if err != nil {
			return fail(asError(err))
		}
		r.Body = b
		if a.cmd.Limits >= LimitsContent && a.cmd.Idem != nil {
			r.ref = refOf(body)
		}
	}
	return r
}

func sortComponents(cs []*content.Component) {
	slices.SortStableFunc(cs, func(x, y *content.Component) int { return cmp.Compare(x.Position, y.Position) })
}

// cow returns a shallow copy of site whose slices and history map are its
// own; objects inside are still shared until replaced.
func cow(site *content.Site) *content.Site {
	n := *site
	n.Hostnames = slices.Clone(site.Hostnames)
	n.Domains = slices.Clone(site.Domains)
	n.Access.AllowCIDRs = slices.Clone(site.Access.AllowCIDRs)
	n.Components = slices.Clone(site.Components)
	n.Incidents = slices.Clone(site.Incidents)
	n.Maintenances = slices.Clone(site.Maintenances)
	n.Audiences = slices.Clone(site.Audiences)
	n.History.Components = make(map[string]*content.ComponentHistory, len(site.History.Components))
	for k, v := range site.History.Components {
		n.History.Components[k] = v
	}
	return &n
}

// siteTx is a site being changed by one command.
type siteTx struct {
	s  *content.Site
	at time.Time
}

// component returns a private copy of component id, or nil.
func (t *siteTx) component(id string) *content.Component {
	for i, c := range t.s.Components {
		if c.ID == id {
			n := *c
			t.s.Components[i] = &n
			return &n
		}
	}
	return nil
}

// setStatus changes a component's status and records it in the history
// (in the site's time zone), returning the old status.
func (t *siteTx) setStatus(id string, to content.ComponentStatus, by string) content.ComponentStatus {
	c := t.component(id)
	old := c.Status
	if old == to {
		return old
	}
	c.Status, c.UpdatedAt = to, t.at
	if h, ok := t.s.History.Components[id]; ok {
		// Changes is append-only, so versions share its backing array, each
		// reading only up to its own length. The state machine is the one
		// writer and always extends the newest version (a failed command's
		// copy is dropped, and the next write overwrites what it appended),
		// so appending in place never changes what an older version shows,
		// and a write costs O(1) however long the history, not a copy of it.
		// Days are rewritten in place by Record, so they are copied.
		n := *h
		n.Days = slices.Clone(n.Days)
		t.s.History.Components[id] = &n
	}
	t.s.History.Record(id, t.at, to, by, t.s.Location())
	return old
}

func (t *siteTx) incident(id string) (int, *content.Incident) {
	for i, in := range t.s.Incidents {
		if in.ID == id {
			n := *in
			n.Updates = slices.Clip(n.Updates)
			n.ComponentIDs = slices.Clone(n.ComponentIDs)
			t.s.Incidents[i] = &n
			return i, &n
		}
	}
	return -1, nil
}

func (t *siteTx) maintenance(id string) (int, *content.Maintenance) {
	for i, m := range t.s.Maintenances {
		if m.ID == id {
			n := *m
			n.Updates = slices.Clip(n.Updates)
			n.ComponentIDs = slices.Clone(n.ComponentIDs)
			t.s.Maintenances[i] = &n
			return i, &n
		}
	}
	return -1, nil
}

func (t *siteTx) audience(id string) (int, *content.Audience) {
	for i, x := range t.s.Audiences {
		if x.ID == id {
			n := *x
			n.ComponentIDs = slices.Clone(n.ComponentIDs)
			t.s.Audiences[i] = &n
			return i, &n
		}
	}
	return -1, nil
}

func (a *applier) newID(i int) (string, *Error) {
	if i >= len(a.cmd.NewIDs) || !idRE.MatchString(a.cmd.NewIDs[i]) {
		return "", invalid("new_ids", "missing id")
	}
	return a.cmd.NewIDs[i], nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func ptrTo[T any](v T) *T { return &v }
