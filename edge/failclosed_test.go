package edge

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
)

// The review: an edge that could not load the registry kept its old table,
// and a site switched to private stayed anonymously readable. Here the
// edge only hears of the change by gossip (no versions poll: its registry
// reload is 30 s away), as an edge behind a registry it cannot load would.
// It fails closed: an entry older than the version it heard of is
// refreshed from the origin before anyone is admitted, so the anonymous
// visitor gets the login form, not the page; and the origin itself refuses
// to render the site for a public viewer. Another public tenant is served
// throughout.
func TestSiteMadePrivateIsNotServedFromAnOldEntry(t *testing.T) {
	now := time.Now()
	d := demo.Site(now)
	bystander := testSite("bystander001", "bystander.test", content.Public)
	bystander.Slug = "bystander"
	n, url, _ := realOrigin(t, d, bystander)
	e := realEdge(t, url, func(c *Config) { c.VersionsWait = -1 })
	if r := e.get(t, demo.Hostname, "/"); r.status != 200 || !strings.Contains(r.body, "Acme Cloud") {
		t.Fatalf("public page: %d", r.status)
	}
	private := demo.Site(now)
	private.Visibility = content.Private
	private.Access.PasswordHash = mustHash("pw-private")
	s2, err := n.ImportSite(context.Background(), private)
	if err != nil {
		t.Fatal(err)
	}
	e.Invalidate(d.ID, s2.Version) // gossip's news
	for _, path := range []string{"/", "/api/v2/summary.json", "/incidents/" + d.Incidents[0].ID} {
		r := e.get(t, demo.Hostname, path)
		if r.status != 401 || strings.Contains(r.body, "Acme Cloud") && !strings.Contains(r.body, "password") {
			t.Errorf("%s after the switch to private: %d %.120q", path, r.status, r.body)
		}
	}
	if r := e.get(t, "bystander.test", "/"); r.status != 200 {
		t.Errorf("bystander: %d", r.status)
	}
	// The origin's own check: a public viewer of a private site.
	_, err = e.origin.Render(context.Background(), RenderRequest{SiteID: d.ID, Path: "/", Viewer: "public"})
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("origin render for a public viewer of a private site: %v", err)
	}
	if _, err := e.origin.Render(context.Background(), RenderRequest{SiteID: d.ID, Path: "/", Viewer: "private"}); err != nil {
		t.Errorf("origin render for a private viewer: %v", err)
	}
	// The bystander made private in turn: the same.
	other := testSite("bystander001", "bystander.test", content.Private)
	other.Slug = "bystander"
	other.Access.PasswordHash = mustHash("pw-private")
	s3, err := n.ImportSite(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	e.Invalidate(other.ID, s3.Version)
	if r := e.get(t, "bystander.test", "/"); r.status == 200 {
		t.Errorf("bystander made private: %d", r.status)
	}
}

// heldEntryOrigin holds every entry fetch, once held is set, until release
// is closed.
type heldEntryOrigin struct {
	Origin
	held    atomic.Bool
	release chan struct{}
}

func (o *heldEntryOrigin) Entry(ctx context.Context, siteID, tag string) (EntryAnswer, error) {
	if o.held.Load() {
		select {
		case <-o.release:
		case <-ctx.Done():
			return EntryAnswer{}, ctx.Err()
		}
	}
	return o.Origin.Entry(ctx, siteID, tag)
}

// The spike run: after each update, visitors who came while the edge was
// fetching the site's fresh entry from a slow (loaded, not down) origin
// got "being updated" 503s once the render budget ran out. A visitor now
// waits for the entry while the origin answers, and gets the page.
func TestVisitorWaitsForAFreshEntryFromASlowOrigin(t *testing.T) {
	d := demo.Site(time.Now())
	n, url, _ := realOrigin(t, d)
	o := &heldEntryOrigin{Origin: NewHTTPOrigin(url, testSecret, nil), release: make(chan struct{})}
	e := realEdge(t, url, func(c *Config) {
		c.Origin, c.VersionsWait = o, -1
		c.RenderBudget = time.Millisecond // far under the hold below
		c.EntryWait = time.Minute
	})
	if r := e.get(t, demo.Hostname, "/"); r.status != 200 {
		t.Fatalf("first page: %d", r.status)
	}
	o.held.Store(true)
	changed := demo.Site(time.Now())
	changed.Name = "Acme Cloud Renamed"
	s2, err := n.ImportSite(context.Background(), changed)
	if err != nil {
		t.Fatal(err)
	}
	e.Invalidate(d.ID, s2.Version) // the entry fetch starts, and is held
	got := make(chan resp, 1)
	go func() { got <- e.get(t, demo.Hostname, "/") }()
	time.Sleep(50 * time.Millisecond) // long past RenderBudget: the old code had answered 503
	close(o.release)
	if r := <-got; r.status != 200 || !strings.Contains(r.body, "Acme Cloud") {
		t.Fatalf("visitor during the entry fetch: %d %.120q", r.status, r.body)
	}
}
