package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/statusedge/statusedge/content"
)

// The registry is followed site by site. An edge loads the whole table at
// start (and to recover when too many sites moved at once to fetch one by
// one: errRegistryGap); after that the versions answer and gossip say which
// sites moved, and it fetches only the entries of those whose version
// passed their entry's, new sites included, and drops the sites the origin
// no longer has. A change on one site costs every edge that site's entry,
// whatever the size of the table.

// Bounds of the incremental registry.
const (
	// gapEntries: a versions answer that moves more sites than this (and
	// more than a quarter of the table) is taken with a full load.
	gapEntries = 64
	// maxEntryFetches bounds the entry fetches in flight at once.
	maxEntryFetches = 8
	// maxAbsent bounds the remembered ids the origin had no entry for.
	maxAbsent = 4096
	// registryPutEvery spaces the copies of the table written to Redis
	// after incremental changes (a full load writes one at once).
	registryPutEvery = 30 * time.Second
)

// errRegistryGap: too many sites moved at once; load the whole registry.
var errRegistryGap = errors.New("edge: too many registry entries to fetch one by one")

// entryFetcher is the edge's state for fetching single entries.
type entryFetcher struct {
	slots chan struct{} // maxEntryFetches
	mu    sync.Mutex
	// absent maps a site id to the newest version the origin was asked
	// for and had no entry (gossip's news of a site the region's replica
	// does not have yet, or of one deleted); a fetch is tried again only
	// for a newer version.
	absent map[string]uint64
	// lastPut is when the table was last copied to Redis after incremental
	// changes, unsaved whether it changed since (both under tableMu).
	lastPut time.Time
	unsaved bool
}

// takeVersions brings the table in line with a versions answer: clamps
// versions the origin does not have, fetches the entries of sites whose
// version passed their entry's (and of new sites), drops the sites the
// answer no longer lists and its replica has applied past, then raises
// every site's known version. It returns errRegistryGap when a full load
// is cheaper, or the error of an entry it could not fetch (the caller asks
// again; the sites fetched are in).
func (s *Server) takeVersions(vs Versions) error {
	t := s.table.Load()
	if vs.Delta {
		vs.Sites = s.fullVersions(t, vs)
	}
	s.clampVersions(vs)
	var want []string
	for id, v := range vs.Sites {
		if st := t.byID[id]; st == nil || st.entry.Load().e.Version < v {
			want = append(want, id)
		}
	}
	var gone []string
	for id, st := range t.byID {
		if _, ok := vs.Sites[id]; !ok && st.entry.Load().e.Version <= vs.Version {
			gone = append(gone, id)
		}
	}
	if len(want) > gapEntries && len(want) > len(t.byID)/4 || len(vs.Sites) == 0 && len(t.byID) > 0 {
		return fmt.Errorf("%w: %d of %d sites moved", errRegistryGap, len(want), len(t.byID))
	}
	slices.Sort(want)
	err := s.fetchEntries(want, vs.Sites, gone, vs.Version)
	t = s.table.Load()
	for id, v := range vs.Sites {
		if t.byID[id] != nil { // a new site not fetched is asked for again next time
			s.Invalidate(id, v)
		}
	}
	return err
}

// fullVersions is every site's version after a delta answer: the sites it
// lists at their versions, the sites removed left out, and every other site
// at its entry's version (the site has not changed since the version the
// delta is from, and the edge took every entry of that version before it
// asked for changes since: it then holds the origin's truth).
func (s *Server) fullVersions(t *table, vs Versions) map[string]uint64 {
	full := make(map[string]uint64, len(t.byID)+len(vs.Sites))
	for id, st := range t.byID {
		full[id] = st.entry.Load().e.Version
	}
	for _, id := range vs.Removed {
		delete(full, id)
	}
	for id, v := range vs.Sites {
		full[id] = v
	}
	return full
}

// fetchEntries fetches the entries of ids (at most maxEntryFetches at
// once) and swaps them, with the sites gone removed, into the table in one
// go. A fetch of the same entry already running (gossip's news, a
// visitor's fail-closed refresh) is waited for, not repeated, and none is
// made for a site whose entry has reached its version in versions since. A site whose
// entry cannot be fetched keeps its old one, and the other sites are not
// held back by it.
func (s *Server) fetchEntries(ids []string, versions map[string]uint64, gone []string, version uint64) error {
	type fetch struct {
		id, key string
		c       *call
		got     content.RegistryEntry
	}
	var mine []*fetch
	var others []*call
	for _, id := range ids {
		key := "entry|" + id
		c, leader := s.flights.join(key)
		switch {
		case !leader:
			others = append(others, c)
		case s.hasEntry(id, versions[id]): // another fetch took it in meanwhile
			s.flights.finish(key, c)
		default:
			mine = append(mine, &fetch{id: id, key: key, c: c})
		}
	}
	var wg sync.WaitGroup
	for _, f := range mine {
		wg.Go(func() { f.got, f.c.err = s.getEntry(f.id) })
	}
	wg.Wait()
	var got []content.RegistryEntry
	for _, f := range mine {
		if f.c.err == nil {
			got = append(got, f.got)
		}
	}
	if len(got) > 0 || len(gone) > 0 {
		s.applyEntries(got, gone, version)
	}
	calls := others
	for _, f := range mine {
		s.flights.finish(f.key, f.c)
		calls = append(calls, f.c)
	}
	var first error
	for _, c := range calls {
		select {
		case <-c.done:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
		// A site listed, then deleted (ErrNotFound): the next answer says so.
		if c.err != nil && !errors.Is(c.err, ErrNotFound) && first == nil {
			first = c.err
		}
	}
	return first
}

// hasEntry reports whether the table holds site id's entry at version v
// or newer.
func (s *Server) hasEntry(id string, v uint64) bool {
	st := s.table.Load().byID[id]
	return st != nil && st.entry.Load().e.Version >= v
}

// getEntry fetches site id's entry from the origin. The origin answers
// "unchanged" for the entry the edge holds if only the site's version moved
// (an incident's update): then it is that entry at the new version.
func (s *Server) getEntry(id string) (content.RegistryEntry, error) {
	select {
	case s.entries.slots <- struct{}{}:
	case <-s.ctx.Done():
		return content.RegistryEntry{}, s.ctx.Err()
	}
	defer func() { <-s.entries.slots }()
	var held *siteEntry
	if st := s.table.Load().byID[id]; st != nil {
		held = st.entry.Load()
	}
	var tag string
	if held != nil {
		tag = held.e.Tag
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RenderTimeout)
	defer cancel()
	s.m.entryFetches.Inc()
	a, err := s.origin.Entry(ctx, id, tag)
	switch {
	case err != nil:
	case a.Unchanged && (held == nil || tag == ""):
		err = fmt.Errorf("%w: the origin said site %q's entry is unchanged, and none was held", ErrUnavailable, id)
	case a.Unchanged:
		e := held.e
		e.Version = a.Version
		return e, nil
	case a.Entry.ID != id:
		err = fmt.Errorf("%w: the entry asked for site %q is site %q's", ErrUnavailable, id, a.Entry.ID)
	}
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.log.Warn("registry entry fetch failed", "site", id, "err", err)
		}
		return content.RegistryEntry{}, err
	}
	s.heard()
	return a.Entry, nil
}

// refreshEntry fetches site id's entry and swaps it into the table, one
// fetch per site at a time (the flight "entry|id"): the call is done when
// the table has it (or the fetch failed: call.err).
func (s *Server) refreshEntry(id string) *call {
	key := "entry|" + id
	c, leader := s.flights.join(key)
	if !leader {
		return c
	}
	var known uint64
	if st := s.table.Load().byID[id]; st != nil {
		known = st.known.Load()
	}
	s.goBackground(func() {
		defer s.flights.finish(key, c)
		f, err := s.getEntry(id)
		if err != nil {
			c.err = err
			return
		}
		s.applyEntries([]content.RegistryEntry{f}, nil, 0)
		if st := s.table.Load().byID[id]; st != nil {
			raise(&st.entryChecked, known)
		}
	})
	return c
}

// newSite fetches the entry of a site the table does not have, heard of at
// version (gossip), unless the origin already said it had none at that
// version or newer.
func (s *Server) newSite(id string, version uint64) {
	if !s.Ready() || id == "" {
		return
	}
	f := &s.entries
	f.mu.Lock()
	if f.absent[id] >= version {
		f.mu.Unlock()
		return
	}
	if len(f.absent) >= maxAbsent {
		clear(f.absent)
	}
	f.absent[id] = version
	f.mu.Unlock()
	s.refreshEntry(id)
}

// applyEntries swaps entries es in (each only if newer than the one held:
// a replica behind never takes an entry back) and the sites gone out, and
// raises the table's version to version. Every other site keeps its entry
// as it is.
func (s *Server) applyEntries(es []content.RegistryEntry, gone []string, version uint64) {
	s.tableMu.Lock()
	old := s.table.Load()
	order := slices.Clone(old.order)
	if len(gone) > 0 {
		order = slices.DeleteFunc(order, func(st *site) bool { return slices.Contains(gone, st.id) })
	}
	changed := len(order) != len(old.order)
	var raised []*site
	for _, e := range es {
		if e.ID == "" {
			continue
		}
		st := old.byID[e.ID]
		if st != nil && st.entry.Load().e.Version >= e.Version {
			continue
		}
		if st == nil {
			st = &site{id: e.ID}
			i, _ := slices.BinarySearchFunc(order, e.ID, func(x *site, id string) int { return strings.Compare(x.id, id) })
			order = slices.Insert(order, i, st)
		}
		s.storeEntry(st, e)
		changed = true
		if raise(&st.known, e.Version) {
			raised = append(raised, st)
		}
	}
	if changed {
		s.install(max(version, old.version), order)
		s.entries.unsaved = true
	}
	s.tableMu.Unlock()
	s.saveRegistry()
	if len(es) > 0 {
		f := &s.entries
		f.mu.Lock()
		for _, e := range es {
			delete(f.absent, e.ID)
		}
		f.mu.Unlock()
	}
	for _, st := range raised {
		s.queueAhead(st)
	}
}

// saveRegistry writes the table to Redis (the copy a cold edge routes by
// while the origin is down) if it changed since the last copy and that copy
// is registryPutEvery old. The sweep calls it too, so
// the last change of a burst gets in.
func (s *Server) saveRegistry() {
	if s.l2 == nil {
		return
	}
	s.tableMu.Lock()
	put := s.entries.unsaved && time.Since(s.entries.lastPut) > registryPutEvery
	if put {
		s.entries.unsaved, s.entries.lastPut = false, time.Now()
	}
	s.tableMu.Unlock()
	if put {
		s.goBackground(func() {
			if b, err := json.Marshal(s.table.Load().registry()); err == nil {
				s.l2.putRegistry(s.ctx, b)
			}
		})
	}
}

// storeEntry pre-parses e and makes it st's entry. Under tableMu.
func (s *Server) storeEntry(st *site, e content.RegistryEntry) {
	se, errs := newSiteEntry(e, s.zones.load, st.entry.Load())
	for _, err := range errs {
		s.log.Warn("registry entry", "site", e.ID, "err", err)
	}
	st.entry.Store(se)
	st.day.Store(nil) // the time zone may have changed
}

// install builds the routing table of the sites in order (which keeps a
// contested hostname: the first) and swaps it in. Under tableMu.
func (s *Server) install(version uint64, order []*site) {
	nt := &table{version: version, byHost: make(map[string]*site, len(order)), byID: make(map[string]*site, len(order)), order: order}
	for _, st := range order {
		nt.byID[st.id] = st
		for _, h := range st.entry.Load().hosts {
			if other, dup := nt.byHost[h]; dup && other != st {
				s.log.Warn("registry: hostname on two sites", "host", h, "site", st.id, "kept", other.id)
				continue
			}
			nt.byHost[h] = st
		}
	}
	s.table.Store(nt)
	s.setDomains(nt.registry())
}
