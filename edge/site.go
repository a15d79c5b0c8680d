package edge

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/statusedge/statusedge/content"
)

// site is the edge's live state of one site. It outlives registry refreshes.
type site struct {
	id    string
	entry atomic.Pointer[siteEntry]
	// known is the newest version the edge has heard of; current the one
	// visitors are served at. current only grows, and moves to known once
	// the hot paths of known are rendered.
	known, current atomic.Uint64
	// unconfirmed is when (unix ns) the edge first saw known ahead of what
	// its origin has, 0 when it is not (see Server.clampVersions).
	unconfirmed atomic.Int64
	// behindSince is when (unix ns) known was first seen ahead of current,
	// 0 while it is not: past StaleAfter, pages are marked stale.
	behindSince atomic.Int64
	day         atomic.Pointer[dayInfo]
	// live is what the origin said of the last version it rendered:
	// version<<1 | 1 when the site was live (something not operational:
	// its pages hold one minute), version<<1 when not.
	live atomic.Uint64
	// fills counts the visitor-started fills in flight (Config.MaxFillsPerSite).
	fills atomic.Int32
	// entryChecked is the known version at the last refresh of the entry
	// from the origin (Server.freshEntry).
	entryChecked atomic.Uint64
	// seen is when (unix seconds) a visitor of the whole site (public or
	// private) was last admitted on this edge; audiences keep theirs in
	// their audKey. Render-ahead renders only for viewers seen recently.
	seen atomic.Int64
}

// markSeen records that a viewer was admitted at sec (unix seconds),
// writing only when the second moved. It allocates nothing.
func markSeen(p *atomic.Int64, sec int64) {
	if p.Load() != sec {
		p.Store(sec)
	}
}

// setLive records whether version v of the site is live, unless a newer
// version's answer is already recorded.
func (st *site) setLive(v uint64, live bool) {
	n := v << 1
	if live {
		n |= 1
	}
	for {
		c := st.live.Load()
		if c>>1 > v || c == n {
			return
		}
		if st.live.CompareAndSwap(c, n) {
			return
		}
	}
}

// minute is the cache-key minute of the site's pages at version v and now:
// now's unix minute while the origin's last answer, for v or newer (a page
// under v's key may hold a newer version's bytes), said live, else 0 (the
// day's key). A version not rendered yet learns it on its first fill, which
// stores the page under the key it is right for.
func (st *site) minute(v uint64, now time.Time) int64 {
	if l := st.live.Load(); l&1 == 0 || l>>1 < v {
		return 0
	}
	return now.Unix() / 60
}

// siteEntry is a registry entry with what the hot path needs pre-parsed.
type siteEntry struct {
	e     content.RegistryEntry
	loc   *time.Location
	cidrs []netip.Prefix
	// audKeys maps an audience id to its cache-key audience ("a:<id>").
	audKeys map[string]audKey
	shells  shellMemo
	// pwTag is passwordTag of the site's password (private sites).
	pwTag string
	// staffTag is passwordTag of an audience site's staff password ("":
	// none, so no staff session admits anyone).
	staffTag string
	// hosts are the entry's hostnames, normalized as parseHost does.
	hosts []string
}

// audienceNamed finds the audience a visitor named at login: by id, or
// by name without regard to case; with a single audience, that one.
func (se *siteEntry) audienceNamed(name string) *content.RegistryAudience {
	as := se.e.Audiences
	if len(as) == 1 {
		return &as[0]
	}
	name = strings.TrimSpace(name)
	for i := range as {
		if as[i].ID == name || strings.EqualFold(as[i].Name, name) {
			return &as[i]
		}
	}
	return nil
}

// exists reports whether the page at a normalized path can exist, as far
// as the entry knows: an incident or maintenance id it lists, a /history
// or /uptime page within PageIndex.MaxPage. Anything else (fixed routes,
// an entry without an index) may. Only asked when the entry is as new as
// the newest version the edge knows of; else it may miss a new incident.
func (se *siteEntry) exists(path []byte, now time.Time) bool {
	p := se.e.Pages
	if p == nil {
		return true
	}
	switch {
	case bytes.HasPrefix(path, []byte("/incidents/")):
		_, ok := slices.BinarySearch(p.Incidents, string(path[len("/incidents/"):]))
		return ok
	case bytes.HasPrefix(path, []byte("/maintenances/")):
		_, ok := slices.BinarySearch(p.Maintenances, string(path[len("/maintenances/"):]))
		return ok
	}
	if _, q, ok := bytes.Cut(path, []byte("?page=")); ok {
		n, err := strconv.Atoi(string(q))
		return err == nil && n <= p.MaxPage(now, se.loc)
	}
	return true
}

// audKey is an audience's cache-key audience and its id (kept here so the
// hot path can hand out the id without building a string), and when one of
// its visitors was last admitted on this edge (unix seconds; the same
// counter across the site's entries).
type audKey struct {
	key, id, pwTag string
	seen           *atomic.Int64
}

// passwordTag names a password (by its hash) in the sessions it signs in:
// a session made with a password that has since changed or gone no longer
// admits anyone, whatever its expiry.
func passwordTag(hash string) string {
	if hash == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(hash))
	return "pw:" + hex.EncodeToString(sum[:8])
}

// Cache-key audiences for the whole site.
const (
	audPublic  = "public"
	audPrivate = "private"
	// audStaff is an audience site seen whole, by its staff (the staff
	// password): never an audience's key ("a:<id>"), so neither reaches
	// the other's pages.
	audStaff = "staff"
)

// staffSession is Session.Audience of a staff session: no audience id has
// a "*" (ids are base-36), and a session names its password too, so it
// cannot pass for an audience's.
const staffSession = "*staff"

// newSiteEntry pre-parses e. loadLoc loads a time zone (the Server shares
// one *time.Location per zone name across sites: each load parses the zone
// file into several KB of transitions). prev is the site's entry before e
// (nil if none): its audiences' last-seen times carry over.
func newSiteEntry(e content.RegistryEntry, loadLoc func(string) (*time.Location, error), prev *siteEntry) (*siteEntry, []error) {
	se := &siteEntry{e: e, loc: time.UTC, audKeys: map[string]audKey{}, pwTag: passwordTag(e.Access.PasswordHash)}
	if e.Visibility == content.AudienceSpecific {
		se.staffTag = passwordTag(e.Access.StaffPasswordHash)
	}
	var errs []error
	if loc, err := loadLoc(e.TimeZone); err == nil {
		se.loc = loc
	} else if e.TimeZone != "" {
		errs = append(errs, err)
	}
	for _, c := range e.Access.AllowCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		se.cidrs = append(se.cidrs, p.Masked())
	}
	for _, a := range e.Audiences {
		seen := new(atomic.Int64)
		if prev != nil {
			if k, ok := prev.audKeys[a.ID]; ok {
				seen = k.seen
			}
		}
		se.audKeys[a.ID] = audKey{key: "a:" + a.ID, id: a.ID, pwTag: passwordTag(a.PasswordHash), seen: seen}
	}
	var hb [maxHost + 2]byte
	for _, h := range e.Hostnames {
		n, ok := parseHost(&hb, []byte(h))
		if !ok {
			errs = append(errs, fmt.Errorf("bad hostname %q", h))
			continue
		}
		se.hosts = append(se.hosts, string(n))
	}
	return se, errs
}

// viewers lists the (cache-key audience, origin audience) pairs the site is
// rendered for: the whole site, or each audience and, with a staff
// password, the staff's whole site.
func (se *siteEntry) viewers() [][2]string {
	switch se.e.Visibility {
	case content.Public:
		return [][2]string{{audPublic, ""}}
	case content.Private:
		return [][2]string{{audPrivate, ""}}
	}
	var out [][2]string
	for _, a := range se.e.Audiences {
		out = append(out, [2]string{se.audKeys[a.ID].key, a.ID})
	}
	if se.staffTag != "" {
		out = append(out, [2]string{audStaff, ""})
	}
	return out
}

// recentViewers lists, most recently seen first, the viewers of st (as
// viewers does) admitted on this edge at or after since (unix seconds).
func (se *siteEntry) recentViewers(st *site, since int64) [][2]string {
	type seenViewer struct {
		v    [2]string
		seen int64
	}
	var vs []seenViewer
	for _, v := range se.viewers() {
		p := &st.seen
		if v[1] != "" {
			p = se.audKeys[v[1]].seen
		}
		if t := p.Load(); t != 0 && t >= since {
			vs = append(vs, seenViewer{v, t})
		}
	}
	slices.SortStableFunc(vs, func(a, b seenViewer) int { return cmp.Compare(b.seen, a.seen) })
	out := make([][2]string, len(vs))
	for i, v := range vs {
		out[i] = v.v
	}
	return out
}

type dayInfo struct {
	day        int32
	start, end int64 // unix seconds
}

// today is the site-local day number at now (cached until midnight).
func (st *site) today(now time.Time) int32 {
	u := now.Unix()
	if d := st.day.Load(); d != nil && u >= d.start && u < d.end {
		return d.day
	}
	loc := st.entry.Load().loc
	day := content.DayNumber(now, loc)
	st.day.Store(&dayInfo{day: day, start: content.DayStart(day, loc).Unix(), end: content.DayStart(day+1, loc).Unix()})
	return day
}

// raise sets a to max(a, v) and reports whether it moved.
func raise(a *atomic.Uint64, v uint64) bool {
	for {
		c := a.Load()
		if v <= c {
			return false
		}
		if a.CompareAndSwap(c, v) {
			return true
		}
	}
}

// behind reports whether st has served an older version than the newest
// it knows for longer than bound at now (unix ns). It allocates nothing.
func (st *site) behind(now int64, bound time.Duration) bool {
	k, c := st.known.Load(), st.current.Load()
	if k <= c || c == 0 {
		if st.behindSince.Load() != 0 {
			st.behindSince.Store(0)
		}
		return false
	}
	since := st.behindSince.Load()
	if since == 0 {
		st.behindSince.CompareAndSwap(0, now)
		return false
	}
	return now-since > int64(bound)
}

// serveVersion is the version visitors get now. A site never served yet
// starts at the newest version it knows (there is no older page to keep).
func (st *site) serveVersion() uint64 {
	if c := st.current.Load(); c != 0 {
		return c
	}
	raise(&st.current, st.known.Load())
	return st.current.Load()
}

// table is an immutable routing snapshot.
type table struct {
	version uint64
	byHost  map[string]*site
	byID    map[string]*site
	order   []*site // registry order (which site keeps a contested hostname)
}

// registry is the registry the table was built from.
func (t *table) registry() content.Registry {
	reg := content.Registry{Version: t.version, Sites: make([]content.RegistryEntry, 0, len(t.order))}
	for _, st := range t.order {
		reg.Sites = append(reg.Sites, st.entry.Load().e)
	}
	return reg
}

// zoneCache shares one *time.Location per zone name. It is only used under
// Server.tableMu.
type zoneCache map[string]*time.Location

func (z zoneCache) load(name string) (*time.Location, error) {
	if loc, ok := z[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	z[name] = loc
	return loc, nil
}
