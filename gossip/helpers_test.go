package gossip

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/statusedge/statusedge/gossip/gossiptest"
)

// recorder is an Invalidator and CertListener that remembers every call and
// flags any version that is not newer than the previous one for its name.
type recorder struct {
	mu        sync.Mutex
	sites     map[string][]uint64
	certs     map[string][]uint64
	backwards []string
	onSite    func(site string, version uint64) // optional hook, called outside mu
}

func newRecorder() *recorder {
	return &recorder{sites: make(map[string][]uint64), certs: make(map[string][]uint64)}
}

func (r *recorder) Invalidate(site string, version uint64) {
	r.mu.Lock()
	r.record(r.sites, "site", site, version)
	hook := r.onSite
	r.mu.Unlock()
	if hook != nil {
		hook(site, version)
	}
}

func (r *recorder) CertChanged(name string, version uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(r.certs, "cert", name, version)
}

func (r *recorder) record(m map[string][]uint64, what, name string, version uint64) {
	if vs := m[name]; len(vs) > 0 && vs[len(vs)-1] >= version {
		r.backwards = append(r.backwards, fmt.Sprintf("%s %s: %d after %d", what, name, version, vs[len(vs)-1]))
	}
	m[name] = append(m[name], version)
}

// last returns the newest version delivered for site (0 if none).
func (r *recorder) last(site string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	vs := r.sites[site]
	if len(vs) == 0 {
		return 0
	}
	return vs[len(vs)-1]
}

func (r *recorder) lastCert(name string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	vs := r.certs[name]
	if len(vs) == 0 {
		return 0
	}
	return vs[len(vs)-1]
}

func (r *recorder) deliveries(site string) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.sites[site]...)
}

func (r *recorder) checkMonotonic(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.backwards {
		tb.Errorf("delivered backwards: %s", b)
	}
}

// testNode is a Node started by newTestNode with its recorder.
type testNode struct {
	*Node
	rec       *recorder
	transport *gossiptest.Transport // nil without a Network
}

type nodeOpts struct {
	cfg     Config
	network *gossiptest.Network
	port    int
}

type nodeOpt func(*nodeOpts)

func withName(name string) nodeOpt { return func(o *nodeOpts) { o.cfg.Name = name } }
func withRole(r Role) nodeOpt      { return func(o *nodeOpts) { o.cfg.Role = r } }
func withRegion(r string) nodeOpt  { return func(o *nodeOpts) { o.cfg.Region = r } }

// withSeeds joins the given nodes.
func withSeeds(seeds ...*testNode) nodeOpt {
	return func(o *nodeOpts) {
		for _, s := range seeds {
			o.cfg.Seeds = append(o.cfg.Seeds, s.Addr().String())
		}
	}
}

// withNetwork routes the node's traffic through net, in its region's group,
// listening on port (0: a free one).
func withNetwork(net *gossiptest.Network, port int) nodeOpt {
	return func(o *nodeOpts) { o.network, o.port = net, port }
}

func withConfig(f func(*Config)) nodeOpt { return func(o *nodeOpts) { f(&o.cfg) } }

// testConfig is the Local profile, tightened so tests converge in well
// under a second and anti-entropy runs twice a second.
func testConfig() Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.Profile = ProfileLocal
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 500 * time.Millisecond
	c.ProbeInterval = 500 * time.Millisecond
	c.ProbeTimeout = 250 * time.Millisecond
	c.RejoinInterval = 300 * time.Millisecond
	c.DeadNodeReclaimTime = time.Second
	return c
}

// testLogger logs memberlist at warn and above when GOSSIP_DEBUG is set.
func testLogger(tb testing.TB) *slog.Logger {
	if os.Getenv("GOSSIP_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestNode starts a real memberlist node on 127.0.0.1 and stops it when
// the test ends.
func newTestNode(tb testing.TB, opts ...nodeOpt) *testNode {
	tb.Helper()
	o := nodeOpts{cfg: testConfig()}
	o.cfg.Name = fmt.Sprintf("node-%d", time.Now().UnixNano())
	o.cfg.Role = RoleEdge
	o.cfg.Region = "eu"
	o.cfg.Logger = testLogger(tb)
	for _, f := range opts {
		f(&o)
	}
	rec := newRecorder()
	o.cfg.Invalidator = rec
	o.cfg.CertListener = rec
	tn := &testNode{rec: rec}
	if o.network != nil {
		t, err := o.network.Listen(o.cfg.Region, o.port, nil)
		if err != nil {
			tb.Fatalf("listen: %v", err)
		}
		tn.transport = t
		o.cfg.Transport = t
	}
	n, err := New(o.cfg)
	if err != nil {
		tb.Fatalf("New(%s): %v", o.cfg.Name, err)
	}
	tn.Node = n
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.stop(ctx) // no Leave: cleanup need not tell peers that are also stopping
	})
	return tn
}

// kill stops a node abruptly: no Leave, peers must detect it.
func (tn *testNode) kill(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tn.stop(ctx); err != nil {
		tb.Fatalf("kill %s: %v", tn.Name(), err)
	}
}

// cluster is the standard test topology: two origins and three edges in
// three regions (eu, us, ap), all seeded from the first origin.
type cluster struct {
	origins []*testNode
	edges   []*testNode
	all     []*testNode
}

func newCluster(tb testing.TB, net *gossiptest.Network, extra ...nodeOpt) *cluster {
	tb.Helper()
	specs := []struct {
		name   string
		role   Role
		region string
	}{
		{"origin-eu", RoleOrigin, "eu"},
		{"origin-us", RoleOrigin, "us"},
		{"edge-eu", RoleEdge, "eu"},
		{"edge-us", RoleEdge, "us"},
		{"edge-ap", RoleEdge, "ap"},
	}
	c := &cluster{}
	for i, s := range specs {
		opts := []nodeOpt{withName(s.name), withRole(s.role), withRegion(s.region)}
		if net != nil {
			opts = append(opts, withNetwork(net, 0))
		}
		if i > 0 {
			opts = append(opts, withSeeds(c.all[0]))
		}
		opts = append(opts, extra...)
		n := newTestNode(tb, opts...)
		c.all = append(c.all, n)
		if s.role == RoleOrigin {
			c.origins = append(c.origins, n)
		} else {
			c.edges = append(c.edges, n)
		}
	}
	c.waitFormed(tb, 10*time.Second)
	return c
}

// waitFormed waits until every node is synced and sees every other.
func (c *cluster) waitFormed(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, n := range c.all {
		if err := n.WaitSynced(ctx); err != nil {
			tb.Fatalf("%s: %v", n.Name(), err)
		}
	}
	eventually(tb, timeout, func() error {
		for _, n := range c.all {
			if got := len(n.Members()); got != len(c.all) {
				return fmt.Errorf("%s sees %d members, want %d", n.Name(), got, len(c.all))
			}
		}
		return nil
	})
}

// eventually polls cond every 10 ms until it returns nil or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("not after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allDelivered checks that every node in nodes except from delivered
// version for each site.
func allDelivered(nodes []*testNode, from *testNode, want map[string]uint64) error {
	for _, n := range nodes {
		if n == from {
			continue
		}
		for site, v := range want {
			if got := n.rec.last(site); got != v {
				return fmt.Errorf("%s delivered %s@%d, want %d", n.Name(), site, got, v)
			}
		}
	}
	return nil
}
