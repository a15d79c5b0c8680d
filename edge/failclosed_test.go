package edge

import (
	"context"
	"errors"
	"strings"
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
