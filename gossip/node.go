package gossip

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrClosed is returned by calls on a Node after Shutdown.
var ErrClosed = errors.New("gossip: node shut down")

// ErrCannotSign is returned by Publish on a node that verifies
// announcements but holds no SignKey (an edge): only origins announce.
var ErrCannotSign = errors.New("gossip: no sign key: only an origin announces versions")

// maxMergeRebroadcast bounds how many versions learned from one push/pull a
// node re-broadcasts, so a node that rejoins after a long absence speeds up
// repair of a few sites without flooding the cluster.
const maxMergeRebroadcast = 64

// Node is one member of the statusedge gossip cluster. All methods are safe
// for concurrent use.
type Node struct {
	cfg   Config
	log   *slog.Logger
	ml    *memberlist.Memberlist
	mlp   atomic.Pointer[memberlist.Memberlist]
	queue *memberlist.TransmitLimitedQueue
	meta  []byte
	c     counters

	fanout int // direct sends per published version (0: none)
	sign   ed25519.PrivateKey
	verify ed25519.PublicKey // nil: versions travel unsigned

	mu        sync.Mutex
	sites     map[string]uint64 // newest known version per site
	certs     map[string]uint64 // newest known version per certificate
	pendSites map[string]uint64 // newer versions not yet handed to the Invalidator
	pendCerts map[string]uint64
	last      map[string]*broadcast    // last broadcast queued per name
	pace      map[string]*paceState    // publish pacing per name
	sigs      map[string][]byte        // per nameKey: the signature of the newest version
	storeSigs map[string]signedVersion // origin: signatures of Config.Versions' entries
	// seeded is set once a Join to the seeds succeeded: memberlist merged
	// their states before Join returned.
	seeded bool

	wake     chan struct{} // wakes the delivery goroutine; capacity 1
	synced   chan struct{}
	syncOnce sync.Once
	done     chan struct{}
	stopOnce sync.Once
	closed   atomic.Bool
	leaving  atomic.Bool // Shutdown has begun: no rejoining
	wg       sync.WaitGroup
}

// New validates cfg, starts memberlist and, if cfg.Seeds is set, begins
// joining them in the background (retried every RejoinInterval). It does not
// wait for the join: use WaitSynced.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Profile == "" {
		cfg.Profile = ProfileWAN
	}
	if cfg.MaxNames == 0 {
		cfg.MaxNames = DefaultMaxNames
	}
	if cfg.RejoinInterval == 0 {
		cfg.RejoinInterval = DefaultRejoinInterval
	}
	if cfg.PublishInterval == 0 {
		cfg.PublishInterval = DefaultPublishInterval
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	lg = lg.With("node", cfg.Name)
	n := &Node{
		cfg:       cfg,
		log:       lg,
		meta:      encodeMeta(cfg.Role, cfg.Region),
		sites:     make(map[string]uint64),
		certs:     make(map[string]uint64),
		pendSites: make(map[string]uint64),
		pendCerts: make(map[string]uint64),
		last:      make(map[string]*broadcast),
		pace:      make(map[string]*paceState),
		sigs:      make(map[string][]byte),
		storeSigs: make(map[string]signedVersion),
		sign:      cfg.SignKey,
		verify:    cfg.verifyKey(),
		wake:      make(chan struct{}, 1),
		synced:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	mc := cfg.memberlistConfig()
	n.fanout = cfg.Fanout
	if n.fanout == 0 {
		n.fanout = DefaultFanout
	}
	mc.Delegate = delegate{n}
	mc.Logger = log.New(logWriter{l: lg, leaving: &n.leaving}, "", 0)
	n.queue = &memberlist.TransmitLimitedQueue{
		NumNodes: func() int {
			if ml := n.mlp.Load(); ml != nil {
				return ml.NumMembers()
			}
			return 1
		},
		RetransmitMult: mc.RetransmitMult,
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("gossip: start memberlist %s: %w", cfg.Name, err)
	}
	n.ml = ml
	n.mlp.Store(ml)
	// A seed list shared by every node names this one too; a push/pull with
	// itself would count as synced.
	self := n.Addr().String()
	n.cfg.Seeds = slices.DeleteFunc(slices.Clone(cfg.Seeds), func(s string) bool { return s == self })

	n.wg.Add(1)
	go n.deliverLoop()
	if len(n.cfg.Seeds) == 0 {
		n.markSynced()
	} else {
		n.wg.Add(1)
		go n.joinLoop()
	}
	return n, nil
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Addr returns the address peers use to reach this node (a seed address).
func (n *Node) Addr() netip.AddrPort {
	ln := n.ml.LocalNode()
	a, _ := netip.AddrFromSlice(ln.Addr)
	return netip.AddrPortFrom(a.Unmap(), ln.Port)
}

// Members returns the live (alive or suspect) members, this node included.
func (n *Node) Members() []Member {
	nodes := n.ml.Members()
	out := make([]Member, 0, len(nodes))
	for _, m := range nodes {
		a, _ := netip.AddrFromSlice(m.Addr)
		mem := Member{Name: m.Name, Addr: netip.AddrPortFrom(a.Unmap(), m.Port)}
		if role, region, err := decodeMeta(m.Meta); err == nil {
			mem.Role, mem.Region = role, region
		}
		out = append(out, mem)
	}
	return out
}

// Publish announces that site is at version; a version not newer than the
// one the node already knows is ignored. Publish does not wait for peers.
//
// Per site, at most one version leaves the node per Config.PublishInterval:
// the first publish of a quiet site goes out at once, later ones within the
// interval are coalesced and the newest goes out when the interval ends. A
// version goes out twice: straight to up to Config.Fanout peers by UDP, so
// it arrives after one network delay, and into memberlist's broadcast queue
// as a named broadcast keyed by site, so a newer version replaces an older
// one still queued. Gossip and anti-entropy cover the peers the direct
// packet misses. The node's own Invalidator is not called for its own
// publishes.
func (n *Node) Publish(site string, version uint64) error {
	return n.publish(kindInvalidate, site, version)
}

// PublishCert announces that certificate name is at version, with the same
// pacing and coalescing as Publish. Peers' CertListeners receive it.
func (n *Node) PublishCert(name string, version uint64) error {
	return n.publish(kindCert, name, version)
}

func (n *Node) publish(k kind, name string, version uint64) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("gossip: publish %v: %w", k, err)
	}
	if n.closed.Load() {
		return ErrClosed
	}
	var sig []byte
	switch {
	case n.sign != nil:
		sig = ed25519.Sign(n.sign, signedPayload(k, name, version))
	case n.verify != nil:
		return fmt.Errorf("gossip: publish %v %s: %w", k, name, ErrCannotSign)
	}
	n.mu.Lock()
	if !n.raiseLocked(k, name, version, sig) {
		n.mu.Unlock()
		n.c.stale.Add(1)
		return nil
	}
	direct := n.paceLocked(k, name, version)
	n.mu.Unlock()
	if direct != nil {
		n.sendDirect(k, direct)
	}
	return nil
}

// paceLocked emits version now if name has been quiet for PublishInterval
// (the leading edge), or else makes sure a timer will emit the newest
// version then known at the end of the interval (the trailing edge). To
// emit is to queue the broadcast and return the message for the caller to
// send directly once it has released n.mu (nil: nothing to send now).
func (n *Node) paceLocked(k kind, name string, version uint64) []byte {
	key := nameKey(k, name)
	ps := n.pace[key]
	if ps == nil {
		ps = &paceState{}
		n.pace[key] = ps
	}
	now := time.Now()
	if wait := ps.at.Add(n.cfg.PublishInterval).Sub(now); wait > 0 {
		n.c.coalesced.Add(1)
		if ps.timer == nil {
			ps.timer = time.AfterFunc(wait, func() { n.flushPaced(k, name, key) })
		}
		return nil
	}
	return n.emitLocked(ps, k, name, version, now)
}

func (n *Node) emitLocked(ps *paceState, k kind, name string, version uint64, now time.Time) []byte {
	ps.at, ps.version = now, version
	n.queueLocked(k, name, version)
	if n.fanout <= 0 {
		return nil
	}
	return n.eventLocked(k, name, version)
}

// nameKey keys per-name state of kind k (sites and certificates may share
// a name).
func nameKey(k kind, name string) string { return string(rune('0'+k)) + name }

// eventLocked encodes (k, name, version) as this node sends it: signed
// when the cluster verifies and the signature of that version is known.
// n.mu must be held.
func (n *Node) eventLocked(k kind, name string, version uint64) []byte {
	if n.verify != nil {
		return encodeSignedEvent(k, name, version, n.sigs[nameKey(k, name)])
	}
	return encodeEvent(k, name, version)
}

// verified reports whether sig is an origin's signature of (k, name,
// version); without a VerifyKey every version is believed.
func (n *Node) verified(k kind, name string, version uint64, sig []byte) bool {
	if n.verify == nil {
		return true
	}
	if len(sig) != sigLen || !ed25519.Verify(n.verify, signedPayload(k, name, version), sig) {
		n.c.forged.Add(1)
		return false
	}
	return true
}

// signedVersion is a version with its signature.
type signedVersion struct {
	version uint64
	sig     []byte
}

// flushPaced is the trailing edge of paceLocked.
func (n *Node) flushPaced(k kind, name, key string) {
	n.mu.Lock()
	ps := n.pace[key]
	ps.timer = nil
	v := n.sites[name]
	if k == kindCert {
		v = n.certs[name]
	}
	if n.closed.Load() || v <= ps.version {
		n.mu.Unlock()
		return
	}
	direct := n.emitLocked(ps, k, name, v, time.Now())
	n.mu.Unlock()
	if direct != nil {
		n.sendDirect(k, direct)
	}
}

type paceState struct {
	at      time.Time   // when a version last went out
	version uint64      // the version that went out then
	timer   *time.Timer // pending trailing edge, if any
}

// sendDirect sends msg by UDP to up to n.fanout random live peers.
func (n *Node) sendDirect(k kind, msg []byte) {
	self := n.cfg.Name
	peers := n.ml.Members()
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	sent := 0
	for _, p := range peers {
		if sent >= n.fanout {
			break
		}
		if p.Name == self {
			continue
		}
		if err := n.ml.SendBestEffort(p, msg); err != nil {
			n.log.Debug("gossip: direct send failed", "to", p.Name, "err", err)
			continue
		}
		sent++
		if k == kindCert {
			n.c.certSent.Add(1)
		} else {
			n.c.invSent.Add(1)
		}
	}
}

// Known returns the newest version of site this node knows.
func (n *Node) Known(site string) (uint64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.sites[site]
	return v, ok
}

// KnownCert returns the newest version of certificate name this node knows.
func (n *Node) KnownCert(name string) (uint64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.certs[name]
	return v, ok
}

// Versions returns a copy of the site → newest known version map.
func (n *Node) Versions() map[string]uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.sites)
}

// Metrics returns a snapshot of the node's counters.
func (n *Node) Metrics() Metrics { return n.c.snapshot() }

// Synced reports whether WaitSynced would return at once.
func (n *Node) Synced() bool {
	select {
	case <-n.synced:
		return true
	default:
		return false
	}
}

// WaitSynced blocks until the node has joined its seeds, merged their
// push/pull states and handed every newer version it learned to the
// Invalidator and CertListener (or at once for a node without seeds). A
// restarted edge waits for it before calling itself fresh.
func (n *Node) WaitSynced(ctx context.Context) error {
	if n.Synced() {
		return nil
	}
	select {
	case <-n.synced:
		return nil
	case <-n.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("gossip: wait synced %s: %w", n.cfg.Name, ctx.Err())
	}
}

// MaxLeave bounds how long Shutdown spends telling peers it leaves. Over a
// lossy network the leave message may never be confirmed; peers then find
// out by failure detection, and the rest of the shutdown must not wait.
const MaxLeave = 3 * time.Second

// Shutdown leaves the cluster (telling peers, for at most MaxLeave and not
// past ctx's deadline), stops memberlist and waits for the delivery
// goroutine, which may be inside a slow Invalidator, until ctx is done.
func (n *Node) Shutdown(ctx context.Context) error {
	if n.closed.Load() {
		return ErrClosed
	}
	n.leaving.Store(true)
	timeout := MaxLeave
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	var errs []error
	if timeout > 0 {
		if err := n.ml.Leave(timeout); err != nil {
			errs = append(errs, fmt.Errorf("gossip: leave: %w", err))
		}
	}
	if err := n.stop(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stop shuts memberlist down without leaving (a crash, as far as peers can
// tell) and waits for the node's goroutines until ctx is done.
func (n *Node) stop(ctx context.Context) error {
	var err error
	n.stopOnce.Do(func() {
		n.closed.Store(true)
		n.mu.Lock()
		for _, ps := range n.pace {
			if ps.timer != nil {
				ps.timer.Stop()
			}
		}
		n.mu.Unlock()
		if e := n.ml.Shutdown(); e != nil {
			err = fmt.Errorf("gossip: shutdown memberlist: %w", e)
		}
		close(n.done)
	})
	finished := make(chan struct{})
	go func() { n.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("gossip: shutdown %s: %w", n.cfg.Name, ctx.Err()))
	}
	return err
}

// raiseLocked records version (and its signature, if any) as the newest
// for name if it is newer, and reports whether it was. n.mu must be held.
func (n *Node) raiseLocked(k kind, name string, version uint64, sig []byte) bool {
	m := n.sites
	if k == kindCert {
		m = n.certs
	}
	old, ok := m[name]
	if ok && old >= version {
		return false
	}
	if !ok && len(n.sites)+len(n.certs) >= n.cfg.MaxNames {
		n.c.namesDropped.Add(1)
		return false
	}
	m[name] = version
	if sig != nil {
		n.sigs[nameKey(k, name)] = slices.Clone(sig)
	} else {
		delete(n.sigs, nameKey(k, name))
	}
	return true
}

// newerLocked reports whether version is newer than what the node knows of
// name. n.mu must be held.
func (n *Node) newerLocked(k kind, name string, version uint64) bool {
	m := n.sites
	if k == kindCert {
		m = n.certs
	}
	old, ok := m[name]
	return !ok || version > old
}

// pendLocked schedules delivery of a newer version. n.mu must be held.
func (n *Node) pendLocked(k kind, name string, version uint64) {
	switch {
	case k == kindInvalidate && n.cfg.Invalidator != nil:
		n.pendSites[name] = max(n.pendSites[name], version)
	case k == kindCert && n.cfg.CertListener != nil:
		n.pendCerts[name] = max(n.pendCerts[name], version)
	}
}

// queueLocked queues a broadcast of (name, version), replacing any queued
// older one. n.mu must be held, so that queue order follows version order.
func (n *Node) queueLocked(k kind, name string, version uint64) {
	key := nameKey(k, name)
	b := &broadcast{name: key, msg: n.eventLocked(k, name, version)}
	if old := n.last[key]; old != nil && !old.done.Load() {
		n.c.superseded.Add(1)
	}
	n.last[key] = b
	n.c.queued.Add(1)
	n.queue.QueueBroadcast(b)
}

func (n *Node) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *Node) markSynced() {
	n.syncOnce.Do(func() { close(n.synced) })
}

// deliverLoop hands newer versions to the Invalidator and CertListener, one
// call at a time, never a version older than one already delivered.
func (n *Node) deliverLoop() {
	defer n.wg.Done()
	delivered := make(map[string]uint64)
	deliveredCerts := make(map[string]uint64)
	for {
		select {
		case <-n.done:
			return
		case <-n.wake:
		}
		n.mu.Lock()
		var sites, certs map[string]uint64
		if len(n.pendSites) > 0 {
			sites, n.pendSites = n.pendSites, make(map[string]uint64)
		}
		if len(n.pendCerts) > 0 {
			certs, n.pendCerts = n.pendCerts, make(map[string]uint64)
		}
		seeded := n.seeded
		n.mu.Unlock()
		for site, v := range sites {
			if v > delivered[site] {
				delivered[site] = v
				n.c.delivered.Add(1)
				n.cfg.Invalidator.Invalidate(site, v)
			}
		}
		for name, v := range certs {
			if v > deliveredCerts[name] {
				deliveredCerts[name] = v
				n.c.certDelivered.Add(1)
				n.cfg.CertListener.CertChanged(name, v)
			}
		}
		// Synced only on a seed's state: a push/pull that another peer
		// started first may come from a node further behind.
		if seeded {
			n.markSynced()
		}
	}
}

// joinLoop joins the seeds, then rejoins them whenever the node finds
// itself alone (every peer dead or left), until shutdown.
func (n *Node) joinLoop() {
	defer n.wg.Done()
	joined := false
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		if (!joined || n.ml.NumMembers() <= 1) && !n.leaving.Load() {
			if k, err := n.ml.Join(n.cfg.Seeds); err != nil {
				n.c.joinFailures.Add(1)
				n.log.Warn("gossip: join failed, will retry", "seeds", n.cfg.Seeds, "err", err)
			} else {
				joined = true
				n.log.Debug("gossip: joined", "contacted", k)
				n.mu.Lock()
				n.seeded = true
				n.mu.Unlock()
				n.signal()
			}
		}
		t.Reset(n.cfg.RejoinInterval)
	}
}

// broadcast is one queued invalidate or cert message. Its name (kind +
// site) makes memberlist's queue drop an older queued version of the same
// site when a newer one is queued.
type broadcast struct {
	name string
	msg  []byte
	done atomic.Bool
}

var _ memberlist.NamedBroadcast = (*broadcast)(nil)

func (b *broadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*broadcast)
	return ok && o.name == b.name
}
func (b *broadcast) Name() string    { return b.name }
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished()       { b.done.Store(true) }

// delegate implements memberlist.Delegate for a Node, keeping those methods
// off Node's API.
type delegate struct{ n *Node }

func (d delegate) NodeMeta(limit int) []byte {
	if len(d.n.meta) > limit {
		return nil
	}
	return d.n.meta
}

// NotifyMsg decodes, merges and hands off; it never blocks.
func (d delegate) NotifyMsg(buf []byte) {
	n := d.n
	m, err := decode(buf)
	if err != nil {
		n.c.decodeErrors.Add(1)
		n.log.Debug("gossip: dropped message", "err", err)
		return
	}
	signed := m.kind == kindSignedInvalidate || m.kind == kindSignedCert
	k := m.kind.unsigned()
	switch k {
	case kindInvalidate:
		n.c.invRecv.Add(1)
	case kindCert:
		n.c.certRecv.Add(1)
	default:
		n.c.decodeErrors.Add(1)
		return
	}
	if n.verify != nil && !signed {
		n.c.forged.Add(1)
		return
	}
	n.mu.Lock()
	fresh := n.newerLocked(k, m.name, m.version)
	n.mu.Unlock()
	// Verify only news, outside the lock: a flood of old or forged
	// announcements costs a map lookup or one signature check each.
	if !fresh || !n.verified(k, m.name, m.version, m.sig) {
		return
	}
	if n.verify == nil {
		m.sig = nil
	}
	m.kind = k
	n.mu.Lock()
	newer := n.raiseLocked(m.kind, m.name, m.version, m.sig)
	if newer {
		n.pendLocked(m.kind, m.name, m.version)
		n.queueLocked(m.kind, m.name, m.version) // pass the news on
	}
	n.mu.Unlock()
	if newer {
		n.signal()
	}
}

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	msgs := d.n.queue.GetBroadcasts(overhead, limit)
	for _, m := range msgs {
		switch kind(m[1]).unsigned() {
		case kindInvalidate:
			d.n.c.invSent.Add(1)
		case kindCert:
			d.n.c.certSent.Add(1)
		}
	}
	return msgs
}

// LocalState sends every known version, plus the origin store's (Versions).
func (d delegate) LocalState(join bool) []byte {
	n := d.n
	var store map[string]uint64
	if n.cfg.Versions != nil {
		store = n.cfg.Versions()
	}
	n.mu.Lock()
	sites := maps.Clone(n.sites)
	certs := maps.Clone(n.certs)
	var siteSigs, certSigs map[string][]byte
	if n.verify != nil {
		siteSigs, certSigs = make(map[string][]byte, len(sites)), make(map[string][]byte, len(certs))
		for name := range sites {
			siteSigs[name] = n.sigs[nameKey(kindInvalidate, name)]
		}
		for name := range certs {
			certSigs[name] = n.sigs[nameKey(kindCert, name)]
		}
	}
	for site, v := range store {
		if v <= sites[site] || checkName(site) != nil {
			continue
		}
		if n.verify != nil {
			if n.sign == nil {
				continue // an unsigned store version would be dropped anyway
			}
			sv := n.storeSigs[site]
			if sv.version != v {
				// Signed once per version: a push/pull re-signs only what changed.
				sv = signedVersion{version: v, sig: ed25519.Sign(n.sign, signedPayload(kindInvalidate, site, v))}
				n.storeSigs[site] = sv
			}
			siteSigs[site] = sv.sig
		}
		sites[site] = v
	}
	n.mu.Unlock()
	n.c.statesSent.Add(1)
	if n.verify != nil {
		return encodeSignedState(sites, certs, siteSigs, certSigs)
	}
	return encodeState(sites, certs)
}

// MergeRemoteState raises every version the peer knows better.
func (d delegate) MergeRemoteState(buf []byte, join bool) {
	n := d.n
	m, err := decode(buf)
	if err != nil || (m.kind != kindState && m.kind != kindSignedState) {
		n.c.decodeErrors.Add(1)
		n.log.Debug("gossip: dropped remote state", "err", err, "kind", m.kind)
		return
	}
	if n.verify != nil && m.kind != kindSignedState {
		n.c.forged.Add(1)
		n.log.Debug("gossip: dropped unsigned remote state")
		return
	}
	n.c.statesMerged.Add(1)
	// Keep only the entries that are news and carry an origin's signature,
	// checked outside the lock.
	check := func(k kind, versions map[string]uint64, sigs map[string][]byte) {
		n.mu.Lock()
		for name, v := range versions {
			if !n.newerLocked(k, name, v) {
				delete(versions, name)
			}
		}
		n.mu.Unlock()
		for name, v := range versions {
			if !n.verified(k, name, v, sigs[name]) {
				delete(versions, name)
			}
		}
	}
	check(kindInvalidate, m.sites, m.siteSigs)
	check(kindCert, m.certs, m.certSigs)
	if n.verify == nil {
		m.siteSigs, m.certSigs = nil, nil
	}
	n.mu.Lock()
	rebroadcast := 0
	merge := func(k kind, versions map[string]uint64, sigs map[string][]byte) {
		for name, v := range versions {
			if !n.raiseLocked(k, name, v, sigs[name]) {
				continue
			}
			n.pendLocked(k, name, v)
			if !join && rebroadcast < maxMergeRebroadcast {
				n.queueLocked(k, name, v)
				rebroadcast++
			}
		}
	}
	merge(kindInvalidate, m.sites, m.siteSigs)
	merge(kindCert, m.certs, m.certSigs)
	n.mu.Unlock()
	n.signal()
}

// logWriter turns memberlist's "[LEVEL] memberlist: ..." lines into slog.
// Once the node is leaving, sockets and peers going away are expected:
// memberlist's complaints about them are logged at debug level.
type logWriter struct {
	l       *slog.Logger
	leaving *atomic.Bool
}

func (w logWriter) Write(p []byte) (int, error) {
	s := strings.TrimSpace(string(p))
	level := slog.LevelDebug
	for prefix, l := range map[string]slog.Level{"[ERR]": slog.LevelError, "[WARN]": slog.LevelWarn, "[INFO]": slog.LevelInfo} {
		if strings.HasPrefix(s, prefix) {
			level = l
			break
		}
	}
	if w.leaving != nil && w.leaving.Load() {
		level = slog.LevelDebug
	}
	if i := strings.Index(s, "] "); i >= 0 && i < 8 {
		s = s[i+2:]
	}
	w.l.Log(context.Background(), level, s)
	return len(p), nil
}
