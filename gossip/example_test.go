package gossip_test

import (
	"context"
	"crypto/ed25519"
	"log"

	"github.com/statusedge/statusedge/gossip"
)

type cacheRunner struct{}

// Invalidate renders the new version ahead, then switches to it.
func (cacheRunner) Invalidate(site string, version uint64) {}

// An edge joining the cluster (compiled, not run: it joins a real origin).
func Example() {
	ctx := context.Background()
	cfg := gossip.DefaultConfig()
	cfg.Name, cfg.Role, cfg.Region = "edge-eu-1", gossip.RoleEdge, "eu"
	cfg.Seeds = []string{"origin-eu-1:7946"}
	cfg.SecretKey = make([]byte, 32) // the cluster's gossip key
	// The origins' public announcement key (edge.HTTPOrigin.GossipVerifyKey
	// asks the origin for it): only versions signed with its private half
	// are believed.
	cfg.VerifyKey = make(ed25519.PublicKey, ed25519.PublicKeySize)
	cfg.Invalidator = cacheRunner{}
	n, err := gossip.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer n.Shutdown(ctx)
	if err := n.WaitSynced(ctx); err != nil {
		log.Fatal(err)
	}
}
