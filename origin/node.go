package origin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/statusedge/statusedge/content"
)

// Config configures one origin replica. Start from DefaultConfig.
type Config struct {
	// ID is the replica's raft server id (unique in the cluster).
	ID string
	// DataDir holds raft.db (log and stable store) and the snapshots.
	DataDir string
	// RaftAddr is the raft TCP bind address (host:port; port 0 picks one).
	RaftAddr string
	// RaftAdvertise is the address peers dial; empty means the bound address.
	RaftAdvertise string
	// APIAddr is the URL of this replica's management API (e.g.
	// http://127.0.0.1:8080), registered in the cluster so followers can
	// forward writes to the leader. Empty disables forwarding to this node.
	APIAddr string
	// Region is informational (shown in status).
	Region string
	// Voter says whether this replica asks to join as a voter.
	Voter bool
	// Bootstrap makes a new single-voter cluster with a new cluster id: a
	// one-time act, refused (ErrAlreadyBootstrapped) when DataDir holds any
	// raft state or cluster id, or when a replica at one of BootstrapPeers
	// answers as a member of a cluster.
	Bootstrap bool
	// BootstrapPeers are the management API URLs of the replicas meant to
	// join the new cluster; a bootstrap checks that none already holds one.
	BootstrapPeers []string
	// DiskStallTimeout bounds one write to raft.db on the leader; a leader
	// whose write takes longer steps down (default DefaultDiskStallTimeout).
	DiskStallTimeout time.Duration
	// DiskFailTimeout is how long a replica whose disk refuses its raft
	// term stays fenced, retrying, before Node.Fatal reports ErrDiskFailed
	// (default DefaultDiskFailTimeout).
	DiskFailTimeout time.Duration
	// PromoteAfter is how long a joining (or emptied) replica must stay
	// caught up, within PromoteLag entries of the leader's applied index,
	// before the leader makes it a voter (default DefaultPromoteAfter;
	// see autopilot.go). PromoteLag's default is DefaultPromoteLag.
	PromoteAfter time.Duration
	PromoteLag   uint64
	// diskHook runs before every write to raft.db (tests stall disks).
	diskHook func()

	// OperatorToken may do everything on the management API.
	OperatorToken string
	// ClusterSecret authenticates replicas to each other on the internal
	// API, forwarded writes included. It also admits the edges' reads, but
	// an edge should hold EdgeSecret instead.
	ClusterSecret string
	// EdgeSecret, if set, authenticates edges on the internal API's reads
	// (registry, versions, render) and nothing else: an edge that is broken
	// into cannot write through it.
	EdgeSecret string
	// DefaultDomain gives a new site without hostnames "<slug>.<DefaultDomain>".
	DefaultDomain string

	// Raft timing (see hashicorp/raft.Config).
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotInterval   time.Duration
	SnapshotThreshold  uint64
	TrailingLogs       uint64

	// ApplyTimeout bounds one write, forwarding included.
	ApplyTimeout time.Duration
	// MaintenanceTick is how often the leader looks for due maintenances.
	MaintenanceTick time.Duration
	// RenderWait bounds how long a render waits for a version (default 2 s).
	RenderWait time.Duration

	// CertSecret admits edges to the certificate storage routes
	// (/internal/v1/certs/...) and nowhere else; "" closes them to edges.
	CertSecret string
	// CertKey (32 bytes) encrypts certificate storage values (private keys,
	// the ACME account) before they enter the raft log; every replica needs
	// the same. Without it the certificate routes answer 503.
	CertKey []byte
	// DomainCheck is how custom-domain ownership is checked (zero: the
	// system resolver, port 80, public addresses only).
	DomainCheck DomainCheckConfig

	// Renderer renders pages for the internal render endpoint and
	// PublicHandler; nil answers 503 there.
	Renderer Renderer
	// Logger receives raft's and the node's logs; nil logs at Info to stderr.
	Logger hclog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultConfig returns production defaults; the caller sets ID, DataDir,
// RaftAddr, APIAddr and the secrets.
func DefaultConfig() Config {
	return Config{
		Voter:              true,
		DefaultDomain:      "localhost",
		HeartbeatTimeout:   1000 * time.Millisecond,
		ElectionTimeout:    1000 * time.Millisecond,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		// Followers learn that an entry committed from the leader's next
		// AppendEntries, sent at the latest after CommitTimeout: it bounds how
		// long an edge waits on its own region's replica for a new version.
		CommitTimeout:     15 * time.Millisecond,
		SnapshotInterval:  120 * time.Second,
		SnapshotThreshold: 8192,
		TrailingLogs:      10240,
		ApplyTimeout:      10 * time.Second,
		MaintenanceTick:   time.Second,
		RenderWait:        2 * time.Second,
	}
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("origin: config: ID is required")
	case c.DataDir == "":
		return errors.New("origin: config: DataDir is required")
	case c.RaftAddr == "":
		return errors.New("origin: config: RaftAddr is required")
	case len(c.OperatorToken) < 16:
		return errors.New("origin: config: OperatorToken must be at least 16 characters")
	case len(c.ClusterSecret) < 16:
		return errors.New("origin: config: ClusterSecret must be at least 16 characters")
	case c.EdgeSecret != "" && len(c.EdgeSecret) < 16:
		return errors.New("origin: config: EdgeSecret must be at least 16 characters")
	case c.EdgeSecret != "" && c.EdgeSecret == c.ClusterSecret:
		return errors.New("origin: config: EdgeSecret must differ from ClusterSecret")
	case c.CertSecret != "" && (len(c.CertSecret) < 16 || c.CertSecret == c.ClusterSecret || c.CertSecret == c.EdgeSecret):
		return errors.New("origin: config: CertSecret must be at least 16 characters and differ from the other secrets")
	case c.CertKey != nil && len(c.CertKey) != 32:
		return errors.New("origin: config: CertKey must be 32 bytes")
	case c.HeartbeatTimeout <= 0 || c.ElectionTimeout <= 0 || c.LeaderLeaseTimeout <= 0 || c.CommitTimeout <= 0:
		return errors.New("origin: config: raft timeouts must be positive")
	case c.ApplyTimeout <= 0 || c.MaintenanceTick <= 0 || c.RenderWait <= 0:
		return errors.New("origin: config: ApplyTimeout, MaintenanceTick and RenderWait must be positive")
	}
	if c.APIAddr != "" {
		if err := checkURL("api_address", c.APIAddr); err != nil {
			return fmt.Errorf("origin: config: APIAddr: %w", err)
		}
	}
	return nil
}

// Node is one origin replica: raft, the state machine and the APIs.
type Node struct {
	cfg    Config
	log    hclog.Logger
	raft   *raft.Raft
	fsm    *fsm
	trans  *raft.NetworkTransport
	store  *raftboltdb.BoltStore
	disk   *diskWatch
	stream *identityStream
	votes  *voteGate
	id     *identity
	// hasState: the replica started on raft state of its own.
	hasState bool
	client   *http.Client
	now      func() time.Time
	m        *metrics

	// minReady is the applied index this replica had reached before it
	// last stopped (a watermark kept in the stable store): reads wait for it,
	// so a restarted replica never answers with older versions than before.
	minReady uint64
	// caughtUp latches once a replica that started without state has
	// applied what was committed when it first heard from the cluster.
	caughtUp atomic.Bool

	stop     chan struct{}
	fatal    chan error
	wg       sync.WaitGroup
	closed   atomic.Bool
	shutOnce sync.Once
	shutErr  error
}

// Open starts a replica from cfg (state on disk is recovered). It fails
// at once, without touching the data dir, with ErrDataDirInUse when
// another process has it open, ErrDamagedStore when raft.db cannot be read
// as written, ErrNoIdentity for raft state without a cluster id, and
// ErrAlreadyBootstrapped for a Bootstrap over an existing cluster.
func Open(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.New(&hclog.LoggerOptions{Name: "origin", Level: hclog.Info})
	}
	log = log.With("node", cfg.ID)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("origin: data dir: %w", err)
	}
	clusterID, err := ReadClusterID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(cfg.DataDir, "raft.db")
	if _, err := checkStore(cfg.DataDir, dbPath, clusterID != ""); err != nil {
		return nil, err
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: dbPath, BoltOptions: &bbolt.Options{Timeout: storeLockTimeout}})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, inUse(cfg.DataDir, dbPath)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrDamagedStore, dbPath, err)
	}
	store := newDiskWatch(bolt, cfg.diskHook)
	var snaps raft.SnapshotStore
	var trans *raft.NetworkTransport
	var stream *identityStream
	fail := func(err error) (*Node, error) {
		if trans != nil {
			trans.Close()
		}
		bolt.Close()
		return nil, err
	}
	if snaps, err = raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, log.Named("snapshots")); err != nil {
		return fail(fmt.Errorf("origin: snapshot store: %w", err))
	}
	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		return fail(err)
	}
	has, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: %v", ErrDamagedStore, dbPath, err))
	}
	switch {
	case has && clusterID == "":
		return fail(fmt.Errorf("%w: %s (write the cluster's id into %s; see the README's recovery runbook)", ErrNoIdentity, cfg.DataDir, filepath.Join(cfg.DataDir, identityFile)))
	case cfg.Bootstrap && (has || clusterID != ""):
		return fail(fmt.Errorf("%w: %s already belongs to cluster %s; start it without --bootstrap", ErrAlreadyBootstrapped, cfg.DataDir, clusterID))
	case cfg.Bootstrap:
		if err := checkPeersFree(cfg); err != nil {
			return fail(err)
		}
	}
	id := &identity{dir: cfg.DataDir, log: log, id: clusterID, adopt: !has && !cfg.Bootstrap}
	var adv net.Addr
	if cfg.RaftAdvertise != "" {
		if adv, err = net.ResolveTCPAddr("tcp", cfg.RaftAdvertise); err != nil {
			return fail(fmt.Errorf("origin: raft advertise address: %w", err))
		}
	}
	if stream, err = newIdentityStream(cfg.RaftAddr, adv, id, log.Named("transport")); err != nil {
		return fail(fmt.Errorf("origin: raft transport: %w", err))
	}
	trans = raft.NewNetworkTransportWithLogger(stream, 4, 10*time.Second, log.Named("transport"))
	stop, fatal := make(chan struct{}), make(chan error, 1)
	giveUp := cfg.DiskFailTimeout
	if giveUp <= 0 {
		giveUp = DefaultDiskFailTimeout
	}
	gate := newVoteGate(trans, cfg.ID, stop)
	if cfg.PromoteAfter <= 0 {
		cfg.PromoteAfter = DefaultPromoteAfter
	}
	if cfg.PromoteLag == 0 {
		cfg.PromoteLag = DefaultPromoteLag
	}
	store.term = &termGuard{stream: stream, closeConns: trans.CloseStreams, log: log.Error, stop: stop, fatal: fatal,
		giveUp: giveUp, retryEvery: 250 * time.Millisecond}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = log.Named("raft")
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return fail(fmt.Errorf("origin: raft config: %w", err))
	}
	if has {
		if err := recoverPeers(rc, cfg.DataDir, logs, store, snaps, trans, log); err != nil {
			return fail(err)
		}
	}
	if cfg.Bootstrap {
		// The id first: a crash before the bootstrap leaves a dir that
		// names a cluster and holds none, which Bootstrap refuses.
		if err := id.set(newClusterID()); err != nil {
			return fail(err)
		}
		conf := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: rc.LocalID, Address: trans.LocalAddr()}}}
		if err := raft.BootstrapCluster(rc, logs, store, snaps, trans, conf); err != nil {
			return fail(fmt.Errorf("origin: bootstrap: %w", err))
		}
		log.Info("bootstrapped a new cluster", "cluster", id.get())
	}
	f := newFSM()
	r, err := raft.NewRaft(rc, f, logs, store, snaps, gate)
	if err != nil {
		return fail(fmt.Errorf("origin: start raft: %w", err))
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	n := &Node{
		cfg: cfg, log: log, raft: r, fsm: f, trans: trans, store: bolt, disk: store, stream: stream, votes: gate, id: id, hasState: has, now: now,
		client: &http.Client{Timeout: cfg.ApplyTimeout},
		stop:   stop, fatal: fatal,
	}
	n.m = newMetrics(n)
	n.caughtUp.Store(has || cfg.Bootstrap)
	mayVote := n.caughtUpNow
	gate.allow.Store(&mayVote)
	if n.minReady, err = store.GetUint64(watermarkKey); err != nil {
		n.minReady = 0 // not found: a fresh replica
	}
	n.wg.Add(5)
	go n.autopilotLoop()
	go n.every(cfg.MaintenanceTick, n.maintenanceTick)
	go n.registerLoop()
	go n.watermarkLoop()
	go n.diskLoop()
	return n, nil
}

// peersFile, when present in a data dir at start, replaces the cluster's
// membership as this replica sees it (raft's peers.json recovery for lost
// quorum; see the README). It is renamed once applied.
const peersFile = "peers.json"

func recoverPeers(rc *raft.Config, dir string, logs raft.LogStore, store raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport, log hclog.Logger) error {
	path := filepath.Join(dir, peersFile)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	conf, err := raft.ReadConfigJSON(path)
	if err != nil {
		return fmt.Errorf("origin: %s: %w", path, err)
	}
	if err := raft.RecoverCluster(rc, newFSM(), logs, store, snaps, trans, conf); err != nil {
		return fmt.Errorf("origin: recover from %s: %w", path, err)
	}
	if err := os.Rename(path, path+".applied"); err != nil {
		return fmt.Errorf("origin: recovered, but %s stays: %w", path, err)
	}
	log.Warn("cluster membership replaced from "+peersFile, "servers", len(conf.Servers))
	return nil
}

// checkPeersFree refuses a bootstrap when a replica named in
// BootstrapPeers already belongs to a cluster.
func checkPeersFree(cfg Config) error {
	client := &http.Client{Timeout: 3 * time.Second}
	for _, p := range cfg.BootstrapPeers {
		req, err := http.NewRequest(http.MethodGet, strings.TrimRight(p, "/")+"/v1/cluster", nil)
		if err != nil {
			return fmt.Errorf("origin: bootstrap peer %q: %w", p, err)
		}
		req.Header.Set("Authorization", "Bearer "+cfg.OperatorToken)
		resp, err := client.Do(req)
		if err != nil {
			continue // not running: it cannot hold a cluster we would split from
		}
		var st ClusterStatus
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil && st.ClusterID != "" {
			return fmt.Errorf("%w: peer %s belongs to cluster %s; start with --join %s instead of --bootstrap", ErrAlreadyBootstrapped, p, st.ClusterID, p)
		}
	}
	return nil
}

// ClusterID is the id of the cluster this replica belongs to ("" until it
// has joined one).
func (n *Node) ClusterID() string { return n.id.get() }

// HasState reports whether this replica started on raft state of its own:
// it is (or was) a member and needs no join to restart.
func (n *Node) HasState() bool { return n.hasState }

// diskLoop fences a leader whose disk has stalled: no raft connection in
// or out, so its followers elect another leader, and its writes fail fast;
// the fence lifts when the stalled write returns.
func (n *Node) diskLoop() {
	bound := n.cfg.DiskStallTimeout
	if bound <= 0 {
		bound = DefaultDiskStallTimeout
	}
	n.every(bound/5, func() {
		age := n.disk.oldest(time.Now())
		switch {
		case age > bound && !n.stream.fence.Load() && n.IsLeader():
			n.log.Error("disk stalled: stepping down", "write_in_flight", age.Round(time.Millisecond), "bound", bound)
			n.handOver()
			n.stream.setFence(true)
			n.trans.CloseStreams()
			n.m.diskStalls.Inc()
		case age <= bound && n.stream.fence.Load() && !n.disk.term.stuck.Load():
			n.log.Warn("disk recovered: raft connections resume")
			n.stream.setFence(false)
		}
	})
}

// handOver asks one voter follower to start an election at once (raft's
// TimeoutNow, as in a leadership transfer), so that the cluster need not
// wait a heartbeat timeout after the fence. raft's own LeadershipTransfer
// cannot run: its loop is the one stuck on the disk. A follower that is
// behind loses its election and the others time out as usual.
func (n *Node) handOver() {
	var target *raft.Server
	for _, s := range n.raft.GetConfiguration().Configuration().Servers {
		if s.Suffrage == raft.Voter && s.ID != raft.ServerID(n.cfg.ID) {
			target = &s
			break
		}
	}
	if target == nil {
		return
	}
	req := &raft.TimeoutNowRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(n.cfg.ID), Addr: []byte(n.trans.LocalAddr())},
	}
	done := make(chan error, 1)
	go func() { done <- n.trans.TimeoutNow(target.ID, target.Address, req, &raft.TimeoutNowResponse{}) }()
	select {
	case err := <-done:
		if err != nil {
			n.log.Warn("disk stalled: hand-over failed", "to", target.ID, "error", err)
		}
	case <-time.After(250 * time.Millisecond):
	}
}

// Fenced reports whether this replica cut itself off because its disk
// stalled or refused its raft term.
func (n *Node) Fenced() bool { return n.stream.fence.Load() }

// Fatal delivers at most one error (ErrDiskFailed) after which the replica
// cannot go on: the caller logs it, calls Shutdown and exits.
func (n *Node) Fatal() <-chan error { return n.fatal }

// ID is the replica's raft server id.
func (n *Node) ID() string { return n.cfg.ID }

// RaftAddr is the address peers reach this replica's raft on.
func (n *Node) RaftAddr() string { return string(n.trans.LocalAddr()) }

// Raft exposes the raft instance (for status, tests and benchmarks).
func (n *Node) Raft() *raft.Raft { return n.raft }

// IsLeader reports whether this replica is the raft leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// AppliedIndex is the last raft index this replica applied.
func (n *Node) AppliedIndex() uint64 { return n.fsm.applied.Load() }

// Shutdown stops the background loops and raft and closes the stores. The
// data stays on disk; Open on the same DataDir recovers it.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutOnce.Do(func() {
		n.closed.Store(true)
		close(n.stop)
		done := make(chan struct{})
		go func() { n.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			n.shutErr = ctx.Err()
		}
		n.saveWatermark()
		if err := n.raft.Shutdown().Error(); err != nil && n.shutErr == nil {
			n.shutErr = fmt.Errorf("origin: raft shutdown: %w", err)
		}
		n.trans.Close()
		// Close also the pooled outbound connections: a peer's reader of
		// one would otherwise wait on it for as long as that peer lives.
		n.trans.CloseStreams()
		if err := n.store.Close(); err != nil && n.shutErr == nil {
			n.shutErr = fmt.Errorf("origin: close raft.db: %w", err)
		}
	})
	return n.shutErr
}

var watermarkKey = []byte("statusedge_applied_watermark")

// WatermarkInterval is how often the applied-index watermark is saved.
const WatermarkInterval = 250 * time.Millisecond

func (n *Node) saveWatermark() {
	if idx := n.AppliedIndex(); idx > n.minReady {
		if err := n.disk.SetUint64(watermarkKey, idx); err != nil {
			n.log.Warn("save watermark", "error", err)
		}
	}
}

func (n *Node) watermarkLoop() {
	var saved uint64
	n.every(WatermarkInterval, func() {
		if idx := n.AppliedIndex(); idx > saved && idx > n.minReady {
			if err := n.disk.SetUint64(watermarkKey, idx); err == nil {
				saved = idx
			}
		}
	})
}

// Ready reports whether this replica has caught up with the versions it
// served before its last stop (see WaitReady). A replica that started
// without state (a new member, or one whose data dir was lost) is ready
// once it has applied everything committed when it first heard from the
// cluster, so it never answers from its empty state either.
func (n *Node) Ready() bool {
	if n.AppliedIndex() < n.minReady {
		return false
	}
	return n.caughtUpNow()
}

// caughtUpNow reports whether the replica holds what was committed when
// it first heard from the leader: always for one that started on state of
// its own; for one that started empty, once it has applied the leader's
// commit index of the first entries it was sent (it latches). Until then
// it may not vote (voteGate).
func (n *Node) caughtUpNow() bool {
	if n.caughtUp.Load() {
		return true
	}
	if c := n.votes.leaderCommit.Load(); c > 0 && n.raft.AppliedIndex() >= c {
		n.caughtUp.Store(true)
		return true
	}
	return false
}

// WaitReady waits until Ready. The API waits for it (bounded) before
// answering, so versions never go backwards across a restart.
func (n *Node) WaitReady(ctx context.Context) error {
	return n.fsm.wait(ctx, func(*state) bool { return n.Ready() })
}

// Subscribe calls fn after every applied change to a site (also after a
// snapshot restore). fn runs on raft's apply goroutine: it must not block.
// The returned func cancels the subscription.
func (n *Node) Subscribe(fn func(Change)) (cancel func()) { return n.fsm.subscribe(fn) }

// Publisher announces a committed version of a site to the edges
// (gossip.Node is one).
type Publisher interface {
	Publish(siteID string, version uint64) error
}

// announceQueue bounds the changes waiting for the publisher.
const announceQueue = 1024

// Announce publishes every change this replica applies while it leads: one
// publisher per site keeps a burst to a few paced messages, and the other
// replicas' versions reach the cluster through anti-entropy. Subscribers
// run on raft's FSM goroutine, which must never wait on the network, so
// changes go to a goroutine that publishes them; a change dropped when the
// queue is full still reaches every node through anti-entropy. The returned
// func stops it and waits for the goroutine.
func (n *Node) Announce(p Publisher) (stop func()) {
	changes := make(chan Change, announceQueue)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case c := <-changes:
				if c.Cert != "" {
					announceCert(n, p, c)
					continue
				}
				if err := p.Publish(c.SiteID, c.Version); err != nil {
					n.log.Debug("announce", "site", c.SiteID, "version", c.Version, "error", err)
				}
			}
		}
	}()
	cancel := n.Subscribe(func(c Change) {
		if c.Deleted || !n.IsLeader() {
			return
		}
		select {
		case changes <- c:
		default:
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			close(quit)
			<-done
		})
	}
}

// WaitIndex waits until this replica has applied raft index idx.
func (n *Node) WaitIndex(ctx context.Context, idx uint64) error {
	return n.fsm.wait(ctx, func(s *state) bool { return n.fsm.applied.Load() >= idx })
}

// WaitVersion waits until this replica's copy of site is at version v or
// newer. Versions are raft indexes, so this is waiting for index v.
func (n *Node) WaitVersion(ctx context.Context, siteID string, v uint64) error {
	return n.WaitIndex(ctx, v)
}

// Site returns the current snapshot of a site by id or slug, or nil. The
// result is immutable and consistent: one version, never a half-applied
// change. Reads are local (see the package doc for their consistency).
func (n *Node) Site(ref string) *content.Site {
	var s *content.Site
	n.fsm.read(func(st *state) { s = st.site(ref) })
	return s
}

// SiteByHost returns the site serving hostname host (lowercase, no port).
func (n *Node) SiteByHost(host string) *content.Site {
	var s *content.Site
	n.fsm.read(func(st *state) {
		if id, ok := st.hosts[host]; ok {
			s = st.Sites[id]
		}
	})
	return s
}

// Sites returns every site, by id.
func (n *Node) Sites() []*content.Site {
	var out []*content.Site
	n.fsm.read(func(st *state) {
		for _, id := range sortedKeys(st.Sites) {
			out = append(out, st.Sites[id])
		}
	})
	return out
}

// Registry returns the registry: every site's routing entry.
func (n *Node) Registry() content.Registry {
	var r content.Registry
	n.fsm.read(func(st *state) {
		r.Version = st.Changed
		for _, id := range sortedKeys(st.Sites) {
			r.Sites = append(r.Sites, st.Sites[id].Entry())
		}
	})
	return r
}

// Versions returns the registry version and every site's version.
func (n *Node) Versions() (uint64, map[string]uint64) {
	m := map[string]uint64{}
	var v uint64
	n.fsm.read(func(st *state) {
		v = st.Changed
		for id, s := range st.Sites {
			m[id] = s.Version
		}
	})
	return v, m
}

// Propose submits cmd to the cluster: applied through raft on the leader,
// forwarded to it from a follower. It returns after the command is
// committed and applied (on this replica too, when forwarded).
func (n *Node) Propose(ctx context.Context, cmd *Command) (res *Result, err error) {
	start := time.Now()
	defer func() { n.m.observeProposal(start, res, err) }()
	if n.closed.Load() {
		return nil, ErrClosed
	}
	if n.Fenced() {
		return nil, fmt.Errorf("%w: this replica's disk is stalled", ErrNoLeader)
	}
	data, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("origin: encode command: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ApplyTimeout)
	defer cancel()
	var last error = ErrNoLeader
	for {
		if n.IsLeader() {
			res, err := n.applyLocal(ctx, data)
			if err == nil || !errors.Is(err, raft.ErrNotLeader) {
				return res, err
			}
			last = err
		} else if api := n.leaderAPI(); api != "" {
			res, err := n.forward(ctx, api, data)
			if err == nil {
				wctx, c := context.WithTimeout(ctx, n.cfg.RenderWait)
				_ = n.WaitIndex(wctx, res.Index) // read-your-writes here, bounded
				c()
				return res, nil
			}
			if !errors.Is(err, errRetry) {
				return nil, err
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %v", ErrNoLeader, last)
		case <-n.stop:
			return nil, ErrClosed
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// errRetry marks a forwarding failure after which nothing was applied.
var errRetry = errors.New("origin: retry")

// applyLocal applies data through raft on the leader. It gives up when
// ctx ends or the replica fences itself (a stalled disk), the outcome then
// unknown: the leader loop may be stuck in a write that never returns.
func (n *Node) applyLocal(ctx context.Context, data []byte) (*Result, error) {
	f := n.raft.Apply(data, n.cfg.ApplyTimeout)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	var err error
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: no commit in time, outcome unknown (retry with the same Idempotency-Key): %v", ErrNoLeader, ctx.Err())
		case <-tick.C:
			if n.Fenced() {
				return nil, fmt.Errorf("%w: this replica's disk stalled, outcome unknown (retry with the same Idempotency-Key)", ErrNoLeader)
			}
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			return nil, err
		case errors.Is(err, raft.ErrRaftShutdown):
			return nil, ErrClosed
		case errors.Is(err, raft.ErrLeadershipLost):
			return nil, fmt.Errorf("%w: leadership lost, outcome unknown (retry with the same Idempotency-Key): %v", ErrNoLeader, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrNoLeader, err)
	}
	res, ok := f.Response().(*Result)
	if !ok {
		return nil, errors.New("origin: unexpected apply response")
	}
	return res, nil
}

// leaderAPI returns the management API URL of the current leader, if known.
func (n *Node) leaderAPI() string {
	_, id := n.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	var api string
	n.fsm.read(func(st *state) { api = st.Members[string(id)] })
	return api
}

// LeaderAddr returns the raft address and API URL of the leader, if known.
func (n *Node) LeaderAddr() (raftAddr, api string) {
	addr, _ := n.raft.LeaderWithID()
	return string(addr), n.leaderAPI()
}

// forward sends an encoded command to the leader's internal apply endpoint.
func (n *Node) forward(ctx context.Context, api string, data []byte) (*Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(api, "/")+"/internal/v1/apply", bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("origin: forward: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+n.cfg.ClusterSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		// The request may or may not have reached the leader: the outcome is
		// unknown unless the connection was never made.
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, fmt.Errorf("%w: %v", errRetry, err)
		}
		return nil, fmt.Errorf("%w: forward to leader: outcome unknown (retry with the same Idempotency-Key): %v", ErrNoLeader, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: forward: read answer: %v", ErrNoLeader, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var res Result
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("origin: forward: decode answer: %w", err)
		}
		res.Err = sentinelFor(res.Err)
		return &res, nil
	case http.StatusMisdirectedRequest: // not the leader (any more): nothing applied
		return nil, errRetry
	default:
		return nil, fmt.Errorf("%w: forward: leader answered %d", ErrNoLeader, resp.StatusCode)
	}
}

// maintenanceLoop starts and completes maintenances on the leader.
func (n *Node) maintenanceTick() {
	if !n.IsLeader() {
		return
	}
	var due []*Command
	now := n.now()
	n.fsm.read(func(st *state) { due = st.dueTransitions(now) })
	for _, c := range due {
		c.At, c.NewIDs = now, []string{content.NewID()}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
		if _, err := n.Propose(ctx, c); err != nil {
			n.log.Warn("maintenance transition", "site", c.Site, "maintenance", c.ID, "error", err)
		}
		cancel()
	}
}

// every runs fn every d until the node stops (one of n.wg's loops).
func (n *Node) every(d time.Duration, fn func()) {
	defer n.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		fn()
	}
}

// registerLoop keeps this replica's API address in the replicated member
// map, so followers can forward writes to it when it leads.
func (n *Node) registerLoop() {
	defer n.wg.Done()
	if n.cfg.APIAddr == "" {
		return
	}
	for {
		var have string
		n.fsm.read(func(st *state) { have = st.Members[n.cfg.ID] })
		wait := 5 * time.Second
		if have != n.cfg.APIAddr {
			wait = 200 * time.Millisecond
			if _, id := n.raft.LeaderWithID(); id != "" && n.inConfiguration() {
				ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ApplyTimeout)
				_, err := n.Propose(ctx, &Command{Op: OpRegisterMember, At: n.now(), Member: &Member{ID: n.cfg.ID, APIAddr: n.cfg.APIAddr}})
				cancel()
				if err != nil {
					n.log.Debug("register API address", "error", err)
				}
			}
		}
		select {
		case <-n.stop:
			return
		case <-time.After(wait):
		}
	}
}

func (n *Node) inConfiguration() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	return slices.ContainsFunc(f.Configuration().Servers, func(s raft.Server) bool { return string(s.ID) == n.cfg.ID })
}

// ClusterStatus is the answer of GET /v1/cluster.
type ClusterStatus struct {
	Leader    string          `json:"leader"`
	LeaderAPI string          `json:"leader_api,omitempty"`
	Servers   []ClusterServer `json:"servers"`
	LastIndex uint64          `json:"last_index"`
	// ClusterID is the cluster's identity ("" on a replica not yet joined).
	ClusterID string `json:"cluster_id"`
}

// ClusterServer is one raft server.
type ClusterServer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"` // voter | nonvoter
	State    string `json:"state"`    // leader | follower | this replica's own raft state
	API      string `json:"api_address,omitempty"`
}

// Status reports the cluster as this replica sees it.
func (n *Node) Status() (ClusterStatus, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return ClusterStatus{}, fmt.Errorf("origin: configuration: %w", err)
	}
	addr, lid := n.raft.LeaderWithID()
	st := ClusterStatus{Leader: string(lid), LastIndex: n.raft.LastIndex(), ClusterID: n.ClusterID()}
	_ = addr
	var members map[string]string
	n.fsm.read(func(s *state) { members = cloneMap(s.Members) })
	st.LeaderAPI = members[string(lid)]
	for _, s := range f.Configuration().Servers {
		cs := ClusterServer{ID: string(s.ID), Address: string(s.Address), Suffrage: "voter", State: "follower", API: members[string(s.ID)]}
		if s.Suffrage != raft.Voter {
			cs.Suffrage = "nonvoter"
		}
		switch {
		case s.ID == lid:
			cs.State = "leader"
		case string(s.ID) == n.cfg.ID:
			cs.State = strings.ToLower(n.raft.State().String())
		}
		st.Servers = append(st.Servers, cs)
	}
	return st, nil
}

// Join adds a server to the cluster; it must run on the leader. It
// returns the raft index after which every replica that has applied it
// knows the new member (its configuration and its API address). A voter
// joins as a non-voter and votes once autopilot has promoted it (caught
// up); Join waits for that up to half of ApplyTimeout.
func (n *Node) Join(ctx context.Context, in JoinInput) (uint64, error) {
	if !n.IsLeader() {
		return 0, raft.ErrNotLeader
	}
	// A voter already in the configuration stays one (a repeated join);
	// anyone else starts as a non-voter, promoted by autopilotLoop once
	// caught up. A replica without an API address cannot be asked how far
	// it is, so it is made a voter at once.
	var f raft.IndexFuture
	if in.Voter && in.APIAddr == "" {
		f = n.raft.AddVoter(raft.ServerID(in.ID), raft.ServerAddress(in.Address), 0, n.cfg.ApplyTimeout)
	} else {
		f = n.raft.AddNonvoter(raft.ServerID(in.ID), raft.ServerAddress(in.Address), 0, n.cfg.ApplyTimeout)
	}
	if err := f.Error(); err != nil {
		return 0, fmt.Errorf("origin: join %s: %w", in.ID, err)
	}
	// Registering the member also gives the change an index in the FSM,
	// which configuration entries alone do not have.
	res, err := n.Propose(ctx, &Command{Op: OpRegisterMember, At: n.now(), Member: &Member{ID: in.ID, APIAddr: in.APIAddr}})
	if err != nil {
		return 0, err
	}
	if in.Voter {
		// Usually a joiner catches up in moments: answer once it votes. One
		// with much to catch up stays a member, promoted later.
		wctx, cancel := context.WithTimeout(ctx, n.cfg.ApplyTimeout/2)
		err := n.waitVoter(wctx, in.ID)
		cancel()
		if err != nil {
			n.log.Info("join: still catching up; autopilot makes it a voter once it is", "server", in.ID)
		}
	}
	return res.Index, nil
}

// Remove removes a server from the cluster; it must run on the leader. It
// returns the raft index after which every replica that has applied it no
// longer lists the server.
func (n *Node) Remove(ctx context.Context, id string) (uint64, error) {
	if !n.IsLeader() {
		return 0, raft.ErrNotLeader
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error(); err != nil {
		return 0, fmt.Errorf("origin: remove %s: %w", id, err)
	}
	res, err := n.Propose(ctx, &Command{Op: OpRemoveMember, At: n.now(), Member: &Member{ID: id}})
	if err != nil {
		return 0, err
	}
	return res.Index, nil
}

// JoinCluster makes this replica a member through the replica at peerAPI
// (any member; followers forward), retrying while the peer is unreachable
// until ctx is done. A replica holding another cluster's id is refused
// (ErrForeignCluster) before anything changes. A replica that started on
// raft state of its own is a member already and never needs its join
// target: it only checks, once and briefly, that a target that answers is
// of its own cluster.
func (n *Node) JoinCluster(ctx context.Context, peerAPI string) error {
	peer := strings.TrimRight(peerAPI, "/")
	if n.hasState {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if st, err := n.peerStatus(ctx, peer); err == nil && st.ClusterID != "" && st.ClusterID != n.ClusterID() {
			return fmt.Errorf("origin: join via %s: %w: this replica's data dir belongs to cluster %s, the peer to cluster %s", peerAPI, ErrForeignCluster, n.ClusterID(), st.ClusterID)
		}
		return nil
	}
	var err error
	for {
		if err = n.joinOnce(ctx, peer); err == nil || !errors.Is(err, errRetry) {
			return err
		}
		n.log.Warn("join: retrying", "peer", peerAPI, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("origin: join via %s: %w (last: %v)", peerAPI, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// peerStatus asks the replica at peer for its view of the cluster.
func (n *Node) peerStatus(ctx context.Context, peer string) (ClusterStatus, error) {
	var st ClusterStatus
	b, err := n.operatorCall(ctx, http.MethodGet, peer+"/v1/cluster", nil)
	if err == nil {
		if err = json.Unmarshal(b, &st); err != nil {
			err = fmt.Errorf("origin: %s/v1/cluster: %w", peer, err)
		}
	}
	return st, err
}

// operatorCall sends an operator request; errRetry marks a failure worth
// retrying (no answer, or a 5xx).
func (n *Node) operatorCall(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+n.cfg.OperatorToken)
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRetry, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusOK:
		return msg, nil
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: %s: %s", errRetry, resp.Status, bytes.TrimSpace(msg))
	}
	return nil, fmt.Errorf("origin: %s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(msg))
}

// joinOnce learns the peer's cluster id, takes it (or refuses it), and asks
// to be added. errRetry marks a failure worth retrying.
func (n *Node) joinOnce(ctx context.Context, peer string) error {
	st, err := n.peerStatus(ctx, peer)
	if err != nil {
		return err
	}
	if st.ClusterID == "" {
		return fmt.Errorf("%w: %s has not joined a cluster yet", errRetry, peer)
	}
	if err := n.id.set(st.ClusterID); err != nil {
		return fmt.Errorf("origin: join via %s: %w", peer, err)
	}
	body, _ := json.Marshal(JoinInput{ID: n.cfg.ID, Address: n.RaftAddr(), Voter: n.cfg.Voter, APIAddr: n.cfg.APIAddr, ClusterID: st.ClusterID})
	_, err = n.operatorCall(ctx, http.MethodPost, peer+"/v1/cluster/join", body)
	return err
}

// ImportSite replaces (or creates) a whole site, e.g. to seed the demo. The
// stored site gets a new version; s is not kept.
func (n *Node) ImportSite(ctx context.Context, s *content.Site) (*content.Site, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("origin: import: %w", err)
	}
	var cp content.Site
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("origin: import: %w", err)
	}
	res, err := n.Propose(ctx, &Command{Op: OpImportSite, At: n.now(), Import: &cp})
	if err != nil {
		return nil, err
	}
	if res.Err != nil {
		return nil, res.Err
	}
	return n.Site(cp.ID), nil
}

// NewToken returns a random API token and the SHA-256 hex stored for it.
func NewToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("origin: crypto/rand: %v", err))
	}
	token = "se_" + hex.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is the SHA-256 hex of a token, as stored.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
