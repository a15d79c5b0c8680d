package gossip

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"
)

// forgedVersion is what the review's forged member announced: far beyond
// any real raft index, it froze a site on every edge for good.
const forgedVersion = 1 << 62

// A member that holds everything an edge holds (the gossip SecretKey and
// the verify key) but not the origins' sign key cannot raise any version,
// by any path: unsigned or badly signed announcements straight to a peer, a
// signature replayed onto another version or another site, a key of another
// cluster, or a forged push/pull state. Real announcements keep flowing,
// for the attacked site and for every other tenant.
func TestForgedAnnouncementsAreIgnored(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	sign := DeriveSignKey([]byte("the origins' cluster secret"))
	verify := sign.Public().(ed25519.PublicKey)
	keys := func(sk ed25519.PrivateKey, vk ed25519.PublicKey) nodeOpt {
		return withConfig(func(c *Config) { c.SecretKey, c.SignKey, c.VerifyKey = secret, sk, vk })
	}
	origin := newTestNode(t, withName("origin"), withRole(RoleOrigin), keys(sign, nil))
	edge := newTestNode(t, withName("edge"), keys(nil, verify), withSeeds(origin))
	// The forger has the edge's keys but believes anything (no verify key),
	// so its own push/pull state carries its forged versions unsigned.
	forger := newTestNode(t, withName("forger"), withConfig(func(c *Config) { c.SecretKey = secret }), withSeeds(origin))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range []*testNode{edge, forger} {
		if err := n.WaitSynced(ctx); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, func() error {
		if n := len(forger.Members()); n != 3 {
			return fmt.Errorf("forger sees %d members", n)
		}
		return nil
	})
	if err := origin.Publish("acme", 5); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if got := edge.rec.last("acme"); got != 5 {
			return fmt.Errorf("edge delivered acme@%d", got)
		}
		return nil
	})
	if err := edge.Publish("acme", 6); err == nil {
		t.Error("an edge that verifies published a version it cannot sign")
	}

	realSig := ed25519.Sign(sign, signedPayload(kindInvalidate, "acme", 5))
	otherCluster := DeriveSignKey([]byte("another cluster"))
	attacks := []struct {
		name string
		msg  []byte
	}{
		{"unsigned invalidate", encodeEvent(kindInvalidate, "acme", forgedVersion)},
		{"unsigned invalidate of a never-served site", encodeEvent(kindInvalidate, "ghost", forgedVersion)},
		{"unsigned cert", encodeEvent(kindCert, "status.acme.example", forgedVersion)},
		{"zero signature", encodeSignedEvent(kindInvalidate, "acme", forgedVersion, make([]byte, sigLen))},
		{"signature of another version", encodeSignedEvent(kindInvalidate, "acme", forgedVersion, realSig)},
		{"signature of another site", encodeSignedEvent(kindInvalidate, "beta", 5, realSig)},
		{"signature of a cert's name as a site", encodeSignedEvent(kindCert, "acme", 5, realSig)},
		{"signed by another cluster", encodeSignedEvent(kindInvalidate, "acme", forgedVersion,
			ed25519.Sign(otherCluster, signedPayload(kindInvalidate, "acme", forgedVersion)))},
		{"unsigned state over UDP", encodeState(map[string]uint64{"acme": forgedVersion}, nil)},
	}
	for _, a := range attacks {
		for _, m := range edge.ml.Members() {
			if m.Name == edge.Name() {
				if err := forger.ml.SendBestEffort(m, a.msg); err != nil {
					t.Fatalf("%s: send: %v", a.name, err)
				}
			}
		}
	}
	// And its push/pull state: the forger believes its own forgery, so
	// anti-entropy offers (acme, 2^62) to everyone.
	delegate{forger.Node}.NotifyMsg(encodeEvent(kindInvalidate, "acme", forgedVersion))
	if v, _ := forger.Known("acme"); v != forgedVersion {
		t.Fatalf("forger knows acme@%d", v)
	}
	eventually(t, 10*time.Second, func() error {
		if f := edge.Metrics().Forged; f < uint64(len(attacks)+1) {
			return fmt.Errorf("edge dropped %d forgeries, want at least %d", f, len(attacks)+1)
		}
		if f := origin.Metrics().Forged; f < 1 {
			return fmt.Errorf("origin dropped %d forged states", f)
		}
		return nil
	})
	for _, n := range []*testNode{edge, origin} {
		for _, site := range []string{"acme", "ghost", "beta"} {
			if v, _ := n.Known(site); v > 5 || (site != "acme" && v != 0) {
				t.Errorf("%s knows %s@%d after the forgeries", n.Name(), site, v)
			}
		}
		if v, _ := n.KnownCert("status.acme.example"); v != 0 {
			t.Errorf("%s knows the cert @%d", n.Name(), v)
		}
	}
	if got := edge.rec.deliveries("ghost"); len(got) != 0 {
		t.Errorf("edge delivered ghost %v", got)
	}

	// Real news still flows, for the attacked site and for another tenant.
	if err := origin.Publish("acme", 9); err != nil {
		t.Fatal(err)
	}
	if err := origin.Publish("beta", 7); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if a, b := edge.rec.last("acme"), edge.rec.last("beta"); a != 9 || b != 7 {
			return fmt.Errorf("edge delivered acme@%d beta@%d", a, b)
		}
		return nil
	})
	edge.rec.checkMonotonic(t)
}

// Signed versions survive relaying: an edge that joins after the origin
// is gone learns them from another edge's push/pull state, signatures and
// all, and an origin's store versions (Config.Versions) go out signed.
func TestSignedVersionsRelayThroughEdges(t *testing.T) {
	sign := DeriveSignKey([]byte("the origins' cluster secret"))
	verify := sign.Public().(ed25519.PublicKey)
	origin := newTestNode(t, withName("origin"), withRole(RoleOrigin), withConfig(func(c *Config) {
		c.SignKey = sign
		c.Versions = func() map[string]uint64 { return map[string]uint64{"stored": 11} }
	}))
	edgeOpt := withConfig(func(c *Config) { c.VerifyKey = verify })
	first := newTestNode(t, withName("first"), edgeOpt, withSeeds(origin))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if err := origin.Publish("acme", 4); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if a, s := first.rec.last("acme"), first.rec.last("stored"); a != 4 || s != 11 {
			return fmt.Errorf("first delivered acme@%d stored@%d", a, s)
		}
		return nil
	})
	origin.kill(t)
	late := newTestNode(t, withName("late"), edgeOpt, withSeeds(first))
	if err := late.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if a, s := late.rec.last("acme"), late.rec.last("stored"); a != 4 || s != 11 {
			return fmt.Errorf("late delivered acme@%d stored@%d", a, s)
		}
		return nil
	})
	if f := late.Metrics().Forged; f != 0 {
		t.Errorf("late dropped %d real versions as forged", f)
	}
}
