package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusedge/statusedge/gossip/gossiptest"
)

func TestPublishReachesEveryNode(t *testing.T) {
	c := newCluster(t, nil)

	// Metadata: every node sees every other's role and region.
	want := map[string]Member{
		"origin-eu": {Role: RoleOrigin, Region: "eu"}, "origin-us": {Role: RoleOrigin, Region: "us"},
		"edge-eu": {Role: RoleEdge, Region: "eu"}, "edge-us": {Role: RoleEdge, Region: "us"},
		"edge-ap": {Role: RoleEdge, Region: "ap"},
	}
	for _, n := range c.all {
		for _, m := range n.Members() {
			w, ok := want[m.Name]
			if !ok || m.Role != w.Role || m.Region != w.Region || !m.Addr.IsValid() {
				t.Errorf("%s sees member %+v, want %+v", n.Name(), m, w)
			}
		}
	}

	pub := c.origins[0]
	if err := pub.Publish("acme", 7); err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishCert("status.acme.example", 3); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		for _, n := range c.all[1:] {
			if v := n.rec.lastCert("status.acme.example"); v != 3 {
				return fmt.Errorf("%s cert version %d", n.Name(), v)
			}
		}
		return allDelivered(c.all, pub, map[string]uint64{"acme": 7})
	})
	for _, n := range c.all {
		n.rec.checkMonotonic(t)
		if v, ok := n.Known("acme"); !ok || v != 7 {
			t.Errorf("%s knows acme@%d (%v), want 7", n.Name(), v, ok)
		}
	}
	if got := pub.rec.last("acme"); got != 0 {
		t.Errorf("publisher delivered its own publish: %d", got)
	}
	m := pub.Metrics()
	if m.InvalidatesSent == 0 || m.CertsSent == 0 || m.BroadcastsQueued < 2 {
		t.Errorf("publisher metrics %+v: want invalidates and certs sent", m)
	}
	var received uint64
	for _, n := range c.all[1:] {
		m := n.Metrics()
		received += m.InvalidatesReceived
		if m.Delivered != 1 || m.CertDelivered != 1 {
			t.Errorf("%s metrics %+v: want 1 delivery of each", n.Name(), m)
		}
	}
	if received == 0 {
		t.Error("no invalidate message was received: gossip did not carry the news")
	}

	// Publishing an older or equal version is a no-op.
	if err := pub.Publish("acme", 7); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("acme", 2); err != nil {
		t.Fatal(err)
	}
	if got := pub.Metrics().StalePublishes; got != 2 {
		t.Errorf("stale publishes = %d, want 2", got)
	}
}

func TestPublishRejectsBadNames(t *testing.T) {
	n := newTestNode(t)
	for _, name := range []string{"", string(make([]byte, MaxNameLen+1)), "bad\xffutf8"} {
		if err := n.Publish(name, 1); !errors.Is(err, ErrBadName) {
			t.Errorf("Publish(%q) = %v, want ErrBadName", truncate(name, 10), err)
		}
		if err := n.PublishCert(name, 1); !errors.Is(err, ErrBadName) {
			t.Errorf("PublishCert(%q) = %v, want ErrBadName", truncate(name, 10), err)
		}
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.Publish("acme", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Shutdown = %v, want ErrClosed", err)
	}
	if err := n.WaitSynced(context.Background()); err != nil {
		t.Errorf("WaitSynced on a seedless node = %v, want nil", err)
	}
}

// Messages straight into the delegate, in a hostile order: duplicates,
// older versions after newer, garbage. The Invalidator sees only increases.
func TestNotifyMsgNeverGoesBackwards(t *testing.T) {
	n := newTestNode(t)
	d := delegate{n.Node}
	feed := []uint64{5, 3, 7, 7, 6, 1, 9}
	for _, v := range feed {
		d.NotifyMsg(encodeEvent(kindInvalidate, "acme", v))
		d.NotifyMsg([]byte{wireVersion, byte(kindInvalidate), 0xff}) // garbage
	}
	d.NotifyMsg(encodeState(map[string]uint64{"acme": 4}, nil)) // state over UDP is dropped
	eventually(t, 2*time.Second, func() error {
		if got := n.rec.last("acme"); got != 9 {
			return fmt.Errorf("last delivered %d", got)
		}
		return nil
	})
	n.rec.checkMonotonic(t)
	got := n.rec.deliveries("acme")
	// Delivery coalesces, so any increasing subsequence ending at 9 is fine.
	if !slices.IsSorted(got) || got[len(got)-1] != 9 {
		t.Errorf("deliveries %v", got)
	}
	if m := n.Metrics(); m.DecodeErrors != uint64(len(feed))+1 || m.InvalidatesReceived != uint64(len(feed)) {
		t.Errorf("metrics %+v", m)
	}
	// An older state merged later changes nothing.
	d.MergeRemoteState(encodeState(map[string]uint64{"acme": 2, "other": 4}, nil), false)
	eventually(t, 2*time.Second, func() error {
		if got := n.rec.last("other"); got != 4 {
			return fmt.Errorf("other delivered %d", got)
		}
		return nil
	})
	if v, _ := n.Known("acme"); v != 9 {
		t.Errorf("acme known %d after older state, want 9", v)
	}
	n.rec.checkMonotonic(t)
}

func TestMaxNamesBoundsState(t *testing.T) {
	n := newTestNode(t, withConfig(func(c *Config) { c.MaxNames = 3 }))
	d := delegate{n.Node}
	for i := range 10 {
		d.NotifyMsg(encodeEvent(kindInvalidate, fmt.Sprintf("site-%d", i), 1))
	}
	if got := len(n.Versions()); got != 3 {
		t.Errorf("tracked %d sites, want 3", got)
	}
	if got := n.Metrics().NamesDropped; got != 7 {
		t.Errorf("NamesDropped = %d, want 7", got)
	}
	// Known names still advance.
	d.NotifyMsg(encodeEvent(kindInvalidate, "site-0", 2))
	if v, _ := n.Known("site-0"); v != 2 {
		t.Errorf("site-0 at %d, want 2", v)
	}
}

// Lossy network: 40% of packets dropped, 30% of the rest delayed up to
// 80 ms. Gossip alone loses some news; anti-entropy repairs it.
func TestLossyNetworkConverges(t *testing.T) {
	net := gossiptest.NewNetwork(1)
	c := newCluster(t, net)
	net.SetLoss(0.4, 0.3, 80*time.Millisecond)

	want := make(map[string]uint64)
	pub := c.origins[0]
	for i := range 30 {
		site := fmt.Sprintf("site-%d", i%10)
		want[site] = uint64(i + 1)
		if err := pub.Publish(site, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, func() error { return allDelivered(c.all, pub, want) })
	for _, n := range c.all {
		n.rec.checkMonotonic(t)
	}
	if s := net.Stats(); s.Dropped == 0 || s.Delayed == 0 {
		t.Errorf("network stats %+v: the faults did not fire", s)
	}
}

// With every packet lost, broadcasts never arrive: only push/pull over
// TCP can carry the versions.
func TestAntiEntropyAloneConverges(t *testing.T) {
	net := gossiptest.NewNetwork(2)
	c := newCluster(t, net)
	net.SetLoss(1, 0, 0)
	pub := c.origins[0]
	want := map[string]uint64{"acme": 11, "globex": 4}
	for site, v := range want {
		if err := pub.Publish(site, v); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, func() error { return allDelivered(c.all, pub, want) })
	for _, n := range c.all[1:] {
		if m := n.Metrics(); m.InvalidatesReceived != 0 || m.StatesMerged == 0 {
			t.Errorf("%s metrics %+v: want news by push/pull only", n.Name(), m)
		}
	}
}

func TestPartitionHeals(t *testing.T) {
	net := gossiptest.NewNetwork(3)
	c := newCluster(t, net)
	ap := c.edges[2]
	if ap.cfg.Region != "ap" {
		t.Fatalf("edges[2] is in %s", ap.cfg.Region)
	}
	net.Partition("ap")
	pub := c.origins[0]
	if err := pub.Publish("acme", 42); err != nil {
		t.Fatal(err)
	}
	rest := slices.DeleteFunc(slices.Clone(c.all), func(n *testNode) bool { return n == ap })
	eventually(t, 5*time.Second, func() error { return allDelivered(rest, pub, map[string]uint64{"acme": 42}) })
	// Give the cut side a few gossip rounds to prove the partition holds.
	time.Sleep(200 * time.Millisecond)
	if v, ok := ap.Known("acme"); ok {
		t.Fatalf("partitioned node learned acme@%d", v)
	}
	if net.Stats().Blocked == 0 {
		t.Fatal("partition blocked nothing")
	}
	net.Heal()
	eventually(t, 20*time.Second, func() error { return allDelivered(c.all, pub, map[string]uint64{"acme": 42}) })
	ap.rec.checkMonotonic(t)
}

// Kill an edge while a stream of publishes propagates, keep publishing,
// restart it with the same name and address and an empty map: by the time
// WaitSynced returns it has delivered the newest version of every site.
func TestRestartedNodeCatchesUp(t *testing.T) {
	net := gossiptest.NewNetwork(4)
	c := newCluster(t, net)
	pub := c.origins[0]
	victim := c.edges[1]
	port := victim.transport.Port()

	want := make(map[string]uint64)
	for i := range 60 {
		site := fmt.Sprintf("site-%d", i%7)
		want[site] = uint64(i + 1)
		if err := pub.Publish(site, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
		if i == 20 {
			victim.kill(t)
		}
		time.Sleep(5 * time.Millisecond) // spread the publishes over gossip rounds
	}

	restarted := newTestNode(t, withName(victim.Name()), withRole(RoleEdge), withRegion("us"),
		withNetwork(net, port), withSeeds(pub))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := restarted.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	// The seed is the publisher, so one push/pull with it is enough.
	for site, v := range want {
		if got := restarted.rec.last(site); got != v {
			t.Errorf("after WaitSynced %s delivered %d, want %d", site, got, v)
		}
	}
	restarted.rec.checkMonotonic(t)
	// And it is back in the cluster: it sees everyone and gets new news.
	eventually(t, 10*time.Second, func() error {
		if n := len(restarted.Members()); n != len(c.all) {
			return fmt.Errorf("restarted node sees %d members", n)
		}
		return nil
	})
	if err := pub.Publish("site-0", 1000); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if got := restarted.rec.last("site-0"); got != 1000 {
			return fmt.Errorf("restarted node delivered site-0@%d", got)
		}
		return nil
	})
}

// A burst of 100 versions of one site costs a few messages per node (≤ 12
// for the publisher, ≤ 4 for the others), and
// every node ends at the newest version without going backwards.
func TestBurstIsCoalesced(t *testing.T) {
	c := newCluster(t, nil)
	pub := c.origins[0]
	for v := uint64(1); v <= 100; v++ {
		if err := pub.Publish("acme", v); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, func() error { return allDelivered(c.all, pub, map[string]uint64{"acme": 100}) })
	// Let the queues drain so the counts are final.
	eventually(t, 5*time.Second, func() error {
		for _, n := range c.all {
			if q := n.queue.NumQueued(); q != 0 {
				return fmt.Errorf("%s has %d queued", n.Name(), q)
			}
		}
		return nil
	})
	var total uint64
	for _, n := range c.all {
		n.rec.checkMonotonic(t)
		m := n.Metrics()
		total += m.InvalidatesSent
		// Two versions leave the publisher (leading and trailing edge of
		// PublishInterval), each sent directly to the 4 peers and gossiped
		// twice (Local: RetransmitMult 2 × ceil(log10(5+1))): 12 at most.
		// A peer passes on each newer version it hears: 2 × 2 at most.
		limit := uint64(4)
		if n == pub {
			limit = 12
		}
		if m.InvalidatesSent > limit {
			t.Errorf("%s sent %d invalidate messages for a burst of 100, want ≤ %d", n.Name(), m.InvalidatesSent, limit)
		}
		if m.Delivered > 100 {
			t.Errorf("%s delivered %d times", n.Name(), m.Delivered)
		}
	}
	if m := pub.Metrics(); m.PublishesCoalesced < 90 {
		t.Errorf("publisher coalesced %d publishes, want ≥ 90", m.PublishesCoalesced)
	}
	t.Logf("burst of 100: %d invalidate messages in the whole cluster", total)
}

// An origin's store is the source of truth for its push/pull state: a
// version it never published still reaches a joining edge.
func TestOriginVersionsSource(t *testing.T) {
	origin := newTestNode(t, withName("origin"), withRole(RoleOrigin), withConfig(func(c *Config) {
		c.Versions = func() map[string]uint64 { return map[string]uint64{"acme": 12, "": 5} }
	}))
	edge := newTestNode(t, withName("edge"), withSeeds(origin))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := edge.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if got := edge.rec.last("acme"); got != 12 {
		t.Errorf("edge delivered acme@%d, want 12", got)
	}
	if _, ok := edge.Known(""); ok {
		t.Error("an invalid name from the store crossed the wire")
	}
}

// Gossip encrypted with a shared key works; a node with another key
// cannot join.
func TestSecretKey(t *testing.T) {
	key := []byte("0123456789abcdef")
	withKey := func(k []byte) nodeOpt { return withConfig(func(c *Config) { c.SecretKey = k }) }
	a := newTestNode(t, withName("a"), withKey(key))
	b := newTestNode(t, withName("b"), withKey(key), withSeeds(a))
	stranger := newTestNode(t, withName("stranger"), withKey([]byte("fedcba9876543210")), withSeeds(a))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish("acme", 3); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if got := b.rec.last("acme"); got != 3 {
			return fmt.Errorf("b delivered %d", got)
		}
		return nil
	})
	eventually(t, 5*time.Second, func() error {
		if f := stranger.Metrics().JoinFailures; f < 2 {
			return fmt.Errorf("stranger failed to join %d times", f)
		}
		return nil
	})
	if stranger.Synced() || len(stranger.Members()) != 1 {
		t.Errorf("node with the wrong key joined: synced=%v members=%d", stranger.Synced(), len(stranger.Members()))
	}
	if got := stranger.rec.last("acme"); got != 0 {
		t.Errorf("node with the wrong key learned acme@%d", got)
	}
}

func TestShutdownLeaves(t *testing.T) {
	a := newTestNode(t, withName("a"))
	b := newTestNode(t, withName("b"), withSeeds(a))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// A graceful leave is seen at once, not after failure detection.
	eventually(t, 2*time.Second, func() error {
		if n := len(a.Members()); n != 1 {
			return fmt.Errorf("a still sees %d members", n)
		}
		return nil
	})
	if err := b.Shutdown(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("second Shutdown = %v, want ErrClosed", err)
	}
}

// A restarted node may come back on another address (a new pod IP): it
// syncs at once, and takes its name back once the old address is dead for
// DeadNodeReclaimTime.
func TestRestartOnNewAddress(t *testing.T) {
	c := newCluster(t, nil)
	victim := c.edges[0]
	old := victim.Addr()
	victim.kill(t)
	pub := c.origins[0]
	if err := pub.Publish("acme", 5); err != nil {
		t.Fatal(err)
	}
	seed := c.origins[1]
	eventually(t, 5*time.Second, func() error {
		if v, _ := seed.Known("acme"); v != 5 {
			return fmt.Errorf("seed knows acme@%d", v)
		}
		return nil
	})
	restarted := newTestNode(t, withName(victim.Name()), withRegion("eu"), withSeeds(seed))
	if restarted.Addr() == old {
		t.Fatalf("restarted on the same address %v", old)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := restarted.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if got := restarted.rec.last("acme"); got != 5 {
		t.Errorf("after WaitSynced delivered acme@%d, want 5", got)
	}
	eventually(t, 20*time.Second, func() error {
		for _, m := range pub.Members() {
			if m.Name == victim.Name() && m.Addr == restarted.Addr() {
				return nil
			}
		}
		return fmt.Errorf("%s does not see %s at %v yet", pub.Name(), victim.Name(), restarted.Addr())
	})
	if err := pub.Publish("acme", 6); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if got := restarted.rec.last("acme"); got != 6 {
			return fmt.Errorf("restarted node delivered acme@%d", got)
		}
		return nil
	})
}

// A seed list shared by all nodes names each node too: a node must not
// count a push/pull with itself as being synced.
func TestSeedListNamingSelf(t *testing.T) {
	// A port free for TCP and UDP alike (memberlist binds both): picked by
	// TCP, whose ports other tests' outgoing connections also take.
	var port int
	for port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		if pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			pc.Close()
			port = p
		}
		ln.Close()
	}
	self := fmt.Sprintf("127.0.0.1:%d", port)
	n := newTestNode(t, withConfig(func(c *Config) { c.BindPort, c.Seeds = port, []string{self} }))
	if !n.Synced() {
		t.Error("a node whose only seed is itself is not synced at once")
	}
	if got := n.Metrics().StatesMerged; got != 0 {
		t.Errorf("merged %d states with itself", got)
	}
}

func TestLogWriterLevels(t *testing.T) {
	var leaving atomic.Bool
	for _, tc := range []struct {
		line    string
		leaving bool
		want    slog.Level
		msg     string
	}{
		{"[ERR] memberlist: Failed to send gossip", false, slog.LevelError, "memberlist: Failed to send gossip"},
		{"[WARN] memberlist: Was able to connect", false, slog.LevelWarn, "memberlist: Was able to connect"},
		{"[INFO] memberlist: Suspect x", false, slog.LevelInfo, "memberlist: Suspect x"},
		{"[DEBUG] memberlist: Stream connection", false, slog.LevelDebug, "memberlist: Stream connection"},
		{"[ERR] memberlist: use of closed network connection", true, slog.LevelDebug, "memberlist: use of closed network connection"},
	} {
		var got []slog.Record
		h := recordHandler{records: &got}
		leaving.Store(tc.leaving)
		w := logWriter{l: slog.New(h), leaving: &leaving}
		if _, err := w.Write([]byte(tc.line + "\n")); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Level != tc.want || got[0].Message != tc.msg {
			t.Errorf("%q (leaving %v): got %+v, want %s %q", tc.line, tc.leaving, got, tc.want, tc.msg)
		}
	}
}

// recordHandler keeps every record, at every level.
type recordHandler struct{ records *[]slog.Record }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	*h.records = append(*h.records, r)
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }
