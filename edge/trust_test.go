package edge

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// A version the edge heard of but its origin does not have (a forged
// gossip announcement from a cluster that does not verify, or any other
// bogus claim) is clamped back once the origin's versions answer shows the
// log has passed it: the attacked site moves on to its real next version,
// and a site never served yet answers with its real page instead of 503
// for good. The tenant nobody attacked is unaffected throughout.
func TestVersionTheOriginDoesNotHaveIsClampedBack(t *testing.T) {
	now := time.Now()
	d := demo.Site(now)
	ghost := testSite("ghostsite001", "ghost.test", content.Public)
	bystander := testSite("bystander001", "bystander.test", content.Public)
	ghost.Slug, bystander.Slug = "ghost", "bystander"
	n, url, _ := realOrigin(t, d, ghost, bystander)
	e := realEdge(t, url, func(cfg *Config) {
		cfg.RenderBudget, cfg.RenderTimeout = time.Second, 2*time.Second
		cfg.VersionsWait = 200 * time.Millisecond
	})
	srv := e.Server
	before := e.get(t, demo.Hostname, "/")
	if before.status != 200 {
		t.Fatalf("demo page: %d", before.status)
	}
	if r := e.get(t, "bystander.test", "/"); r.status != 200 {
		t.Fatalf("bystander: %d", r.status)
	}

	const forged = 1 << 62
	srv.Invalidate(d.ID, forged)
	srv.Invalidate(ghost.ID, forged)

	changed := demo.Site(now)
	changed.Name = "Acme Cloud After The Forgery"
	s2, err := n.ImportSite(context.Background(), changed)
	if err != nil {
		t.Fatal(err)
	}
	v2 := strconv.FormatUint(s2.Version, 10)
	eventually(t, 15*time.Second, "the real new version served despite the forged one", func() bool {
		r := e.get(t, demo.Hostname, "/")
		return r.status == 200 && r.header.Get("X-Statusedge-Version") == v2 && strings.Contains(r.body, "After The Forgery")
	})
	eventually(t, 15*time.Second, "the never-served site answers its real page", func() bool {
		r := e.get(t, "ghost.test", "/")
		return r.status == 200 && strings.Contains(r.body, "ghostsite001")
	})
	if r := e.get(t, "bystander.test", "/"); r.status != 200 {
		t.Fatalf("bystander after the forgery: %d", r.status)
	}
	for _, id := range []string{d.ID, ghost.ID} {
		eventually(t, 15*time.Second, id+" clamped back", func() bool {
			st := srv.table.Load().byID[id]
			return st.known.Load() < forged && st.current.Load() < forged
		})
	}
}
