package dev

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/gossip"
)

// A stranger on the gossip port (dev binds loopback, so it needs no key)
// announces (acme, 2^62) and a never-served site at 2^62, straight to
// every member and through its push/pull state. The review saw this
// freeze the page for good. Edges verify the origins' signatures, so the
// forgery changes nothing: the next real incident is served in every
// region, and the edges stay fresh.
func TestForgedGossipMemberChangesNothing(t *testing.T) {
	s, _ := multiRegion(t)
	for _, r := range s.Regions {
		waitServes(t, r.PageURL, "/", "Acme Cloud", 10*time.Second)
	}
	gc := gossip.DefaultConfig()
	gc.Name, gc.Role, gc.Region = "forger", gossip.RoleEdge, "eu"
	gc.BindAddr, gc.BindPort, gc.Profile = "127.0.0.1", 0, gossip.ProfileLocal
	gc.PushPullInterval = time.Second
	gc.Seeds = s.seeds
	// The forger's transport is the real one on loopback; the system's
	// nodes use the fault network's, so it reaches them through it.
	s.cfg.GossipHook("forger", &gc)
	forger, err := gossip.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = forger.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := forger.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	acme := demo.Site(time.Now()).ID
	for _, site := range []string{acme, "nosuchsite01"} {
		if err := forger.Publish(site, 1<<62); err != nil {
			t.Fatal(err)
		}
	}
	// Its push/pull state (with the forged versions) goes out too.
	for forger.Metrics().StatesSent < 3 {
		select {
		case <-ctx.Done():
			t.Fatalf("forger sent %d states", forger.Metrics().StatesSent)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for i := range 2 {
		name := fmt.Sprintf("Real incident after the forgery %d", i)
		postIncident(t, s, s.Regions[0].APIURL, name)
		for _, r := range s.Regions {
			waitServes(t, r.PageURL, "/", name, 10*time.Second)
		}
	}
	for _, r := range s.Regions {
		if code, _, _ := page(t, r.PageURL, "/api/v2/summary.json"); code != http.StatusOK {
			t.Errorf("%s summary.json: %d", r.Name, code)
		}
		if !r.Edge.Fresh() {
			t.Errorf("%s: edge not fresh (it knows a version it cannot render)", r.Name)
		}
	}
}
