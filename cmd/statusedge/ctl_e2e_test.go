package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin"
)

const ctlTestOperator = "operator-token-for-ctl-tests"

// startCtlOrigin starts a real single-voter origin replica (raft on disk in
// a temp dir, its management API on loopback) and waits until it leads.
func startCtlOrigin(t testing.TB, opts ...func(*origin.Config)) string {
	t.Helper()
	ln := httptest.NewUnstartedServer(nil)
	cfg := origin.DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.RaftAddr, cfg.Bootstrap = "ctl1", filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", true
	cfg.APIAddr = "http://" + ln.Listener.Addr().String()
	cfg.OperatorToken, cfg.ClusterSecret = ctlTestOperator, "cluster-secret-for-ctl-tests"
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 300*time.Millisecond, 300*time.Millisecond, 150*time.Millisecond
	cfg.CommitTimeout = 5 * time.Millisecond
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "origin", Level: hclog.Error, Output: os.Stderr})
	for _, o := range opts {
		o(&cfg)
	}
	n, err := origin.Open(cfg)
	if err != nil {
		t.Fatalf("origin.Open: %v", err)
	}
	ln.Config.Handler = n.Handler()
	ln.Start()
	t.Cleanup(func() {
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("origin shutdown: %v", err)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); !n.IsLeader(); {
		if time.Now().After(deadline) {
			t.Fatal("origin did not become leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ln.URL
}

// ctlMust runs the ctl and fails the test unless it exits 0.
func ctlMust(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCtlTest(t, env, stdin, args...)
	if code != 0 {
		t.Fatalf("ctl %q: exit %d: %s", args, code, stderr)
	}
	return stdout
}

// The responder's path against a real origin: create a site and a
// component, open an incident naming the component, post an update, list.
func TestCtlEndToEnd(t *testing.T) {
	api := startCtlOrigin(t)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator}

	var created struct {
		Site     content.Site `json:"site"`
		APIToken string       `json:"api_token"`
	}
	out := ctlMust(t, op, "", "--json", "site", "create", "--name", "Acme Cloud", "--slug", "acme", "--time-zone", "America/New_York")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.APIToken == "" || created.Site.Slug != "acme" {
		t.Fatalf("site create answer %q (%v)", out, err)
	}
	site := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": created.APIToken, "STATUSEDGE_SITE": "acme"}
	ctlMust(t, site, "", "group", "create", "--name", "Core Platform")
	ctlMust(t, site, "", "component", "create", "--name", "API", "--group", "Core Platform", "--showcase")
	ctlMust(t, site, "", "component", "create", "--name", "Webhooks", "--group", "core platform")

	out = ctlMust(t, site, "", "--json", "incident", "create", "--name", "API errors", "--status", "investigating",
		"--impact", "major", "--component", "api=major_outage", "--body", "We are investigating elevated error rates.")
	var inc content.Incident
	if err := json.Unmarshal([]byte(out), &inc); err != nil || inc.ID == "" {
		t.Fatalf("incident create answer %q (%v)", out, err)
	}
	out = ctlMust(t, site, "Rolled back the deploy.\n", "incident", "post", inc.ID, "--status", "monitoring",
		"--component", "API=operational", "--body", "-")
	if !strings.Contains(out, "now monitoring (2 updates)") {
		t.Errorf("post: %q", out)
	}
	out = ctlMust(t, site, "", "incident", "list")
	if !strings.Contains(out, inc.ID+"  monitoring  major") {
		t.Errorf("list:\n%s", out)
	}
	out = ctlMust(t, site, "", "--json", "incident", "get", inc.ID)
	var got content.Incident
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Updates) != 2 || got.Updates[1].Body != "Rolled back the deploy." {
		t.Fatalf("get: %q (%v)", out, err)
	}
	if a := got.Updates[1].AffectedComponents; len(a) != 1 || a[0].OldStatus != content.MajorOutage || a[0].NewStatus != content.Operational {
		t.Errorf("update's affected components = %+v", a)
	}
	out = ctlMust(t, site, "", "component", "list")
	if !strings.Contains(out, "operational  Core Platform  API") {
		t.Errorf("component list:\n%s", out)
	}

	// The origin's own validation comes back as one line naming the field;
	// an id that is not there is bad input (exit 2), as the README says.
	code, _, stderr := runCtlTest(t, site, "", "incident", "post", "nosuchincident", "--status", "resolved", "--body", "x")
	if code != 2 || !strings.HasPrefix(stderr, "statusedge ctl: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("unknown incident: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCtlTest(t, site, "", "component", "create", "--name", "API", "--group", "API")
	if code != 2 || stderr != "statusedge ctl: --group: no group \"API\" on this site (see 'statusedge ctl component list')\n" {
		t.Errorf("group that is a component: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCtlTest(t, site, "", "site", "list")
	if code != 1 || !strings.Contains(stderr, "HTTP 403") {
		t.Errorf("site token on an operator route: exit %d, %q", code, stderr)
	}
	code, out, _ = runCtlTest(t, op, "", "cluster", "status")
	if code != 0 || !strings.Contains(out, "ctl1") || !strings.Contains(out, "leader") {
		t.Errorf("cluster status: exit %d\n%s", code, out)
	}
}

// A proxy in front of a real origin loses the answer to the first POST
// after the origin applied it, then says 503 once: the ctl retries with the
// same Idempotency-Key and the update is on the timeline once.
func TestCtlEndToEndLostReply(t *testing.T) {
	api := startCtlOrigin(t)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator}
	ctlMust(t, op, "", "site", "create", "--name", "Acme", "--slug", "acme")
	out := ctlMust(t, op, "", "--json", "incident", "create", "--site", "acme", "--name", "API errors", "--impact", "minor")
	var inc content.Incident
	if err := json.Unmarshal([]byte(out), &inc); err != nil {
		t.Fatal(err)
	}

	target, _ := url.Parse(api)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var keys []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" {
			rp.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch n {
		case 1: // forward, then drop the answer
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			rp.ServeHTTP(httptest.NewRecorder(), r)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(proxy.Close)

	via := map[string]string{"STATUSEDGE_ORIGIN": proxy.URL, "STATUSEDGE_TOKEN": ctlTestOperator}
	out = ctlMust(t, via, "", "incident", "post", inc.ID, "--site", "acme", "--status", "identified", "--body", "Found it.")
	if !strings.Contains(out, "already applied by an earlier attempt") {
		t.Errorf("post: %q, want the replay noted", out)
	}
	if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Errorf("POST keys = %q, want 3 attempts with one key", keys)
	}
	out = ctlMust(t, op, "", "--json", "incident", "get", inc.ID, "--site", "acme")
	var got content.Incident
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if n := len(got.Updates); n != 2 {
		t.Errorf("timeline has %d updates, want 2 (the update applied once)", n)
	}
}

// Every verb of every site-scoped noun once against a real origin, checking
// each answer's effect: the client's shapes and the origin's must agree.
func TestCtlEndToEndEveryVerb(t *testing.T) {
	api := startCtlOrigin(t)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator}
	var created struct {
		APIToken string `json:"api_token"`
	}
	if err := json.Unmarshal([]byte(ctlMust(t, op, "", "--json", "site", "create", "--name", "Acme", "--slug", "acme")), &created); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": created.APIToken, "STATUSEDGE_SITE": "acme"}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
	}

	// site
	ctlMust(t, env, "", "site", "update", "acme", "--name", "Acme Cloud", "--accent-color", "#4f46e5")
	// A custom hostname: the operator's to set (a site token is refused).
	if code, _, stderr := runCtlTest(t, env, "", "site", "update", "acme", "--hostname", "status.acme.test"); code != 2 || !strings.Contains(stderr, "domains") {
		t.Errorf("site token setting a custom hostname: exit %d, %q", code, stderr)
	}
	ctlMust(t, op, "", "site", "update", "acme", "--hostname", "status.acme.test")
	var st content.Site
	decode(ctlMust(t, env, "", "--json", "site", "get", "acme"), &st)
	if st.Name != "Acme Cloud" || st.Branding.AccentColor != "#4f46e5" || len(st.Hostnames) != 1 || st.Hostnames[0] != "status.acme.test" {
		t.Errorf("site after update = %+v", st)
	}

	// groups and components
	ctlMust(t, env, "", "group", "create", "--name", "Core")
	ctlMust(t, env, "", "group", "update", "Core", "--name", "Core Platform")
	ctlMust(t, env, "", "component", "create", "--name", "API", "--group", "Core Platform")
	ctlMust(t, env, "", "component", "create", "--name", "DB")
	ctlMust(t, env, "", "component", "update", "DB", "--status", "partial_outage", "--description", "Postgres")
	var db content.Component
	decode(ctlMust(t, env, "", "--json", "component", "get", "db"), &db)
	if db.Status != content.PartialOutage || db.Description == nil || *db.Description != "Postgres" {
		t.Errorf("DB after update = %+v", db)
	}
	ctlMust(t, env, "", "group", "create", "--name", "Data", "--component", "DB")
	if out := ctlMust(t, env, "", "component", "list"); !strings.Contains(out, "partial_outage  Data           DB") {
		t.Errorf("component list after grouping DB:\n%s", out)
	}

	// incidents
	var inc content.Incident
	decode(ctlMust(t, env, "", "--json", "incident", "create", "--name", "API errors", "--impact", "minor", "--component", "API=degraded_performance"), &inc)
	ctlMust(t, env, "", "incident", "update", inc.ID, "--name", "API down", "--impact", "critical")
	ctlMust(t, env, "", "incident", "post", inc.ID, "--status", "resolved", "--body", "Fixed.", "--component", "API=operational")
	var got content.Incident
	decode(ctlMust(t, env, "", "--json", "incident", "get", inc.ID), &got)
	if got.Name != "API down" || got.Impact != content.ImpactCritical || got.Status != content.Resolved || got.ResolvedAt == nil {
		t.Errorf("incident after update and post = %+v", got)
	}
	if out := ctlMust(t, env, "", "incident", "list", "--unresolved"); out != "no incidents\n" {
		t.Errorf("unresolved after resolving:\n%s", out)
	}
	ctlMust(t, env, "", "incident", "delete", inc.ID)
	if out := ctlMust(t, env, "", "incident", "list"); out != "no incidents\n" {
		t.Errorf("list after delete:\n%s", out)
	}

	// maintenances
	from := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var m content.Maintenance
	decode(ctlMust(t, env, "", "--json", "maintenance", "create", "--name", "DB upgrade", "--component", "DB", "--body", "Planned.",
		"--scheduled-for", from.Format(time.RFC3339), "--scheduled-until", from.Add(time.Hour).Format(time.RFC3339)), &m)
	if m.Status != content.Scheduled || len(m.ComponentIDs) != 1 || m.ComponentIDs[0] != db.ID {
		t.Errorf("maintenance = %+v", m)
	}
	ctlMust(t, env, "", "maintenance", "update", m.ID, "--name", "DB upgrade to 17")
	ctlMust(t, env, "", "maintenance", "post", m.ID, "--status", "in_progress", "--body", "Started early.")
	if out := ctlMust(t, env, "", "maintenance", "list"); !strings.Contains(out, m.ID+"  in_progress") || !strings.Contains(out, "DB upgrade to 17") {
		t.Errorf("maintenance list:\n%s", out)
	}
	if out := ctlMust(t, env, "", "maintenance", "get", m.ID); !strings.Contains(out, "Started early.") {
		t.Errorf("maintenance get:\n%s", out)
	}
	ctlMust(t, env, "", "maintenance", "delete", m.ID)

	// audiences
	var a content.Audience
	decode(ctlMust(t, env, "partner-password\n", "--json", "audience", "create", "--name", "Partners", "--component", "API", "--password", "-"), &a)
	if a.PasswordHash != "" || len(a.ComponentIDs) != 1 {
		t.Errorf("audience answer = %+v (no hash may leave the origin)", a)
	}
	ctlMust(t, env, "", "audience", "update", a.ID, "--component", "API", "--component", "DB")
	var a2 content.Audience
	decode(ctlMust(t, env, "", "--json", "audience", "get", a.ID), &a2)
	if len(a2.ComponentIDs) != 2 {
		t.Errorf("audience after update = %+v", a2)
	}
	if out := ctlMust(t, env, "", "audience", "list"); !strings.Contains(out, a.ID+"  2           Partners") {
		t.Errorf("audience list:\n%s", out)
	}
	ctlMust(t, env, "", "audience", "delete", a.ID)

	// deletes
	ctlMust(t, env, "", "group", "delete", "Data")
	ctlMust(t, env, "", "component", "delete", "DB")
	if out := ctlMust(t, env, "", "component", "list"); strings.Contains(out, "DB") || strings.Contains(out, "Data") {
		t.Errorf("component list after deletes:\n%s", out)
	}
	// a new token: the old one stops working
	var rot struct {
		APIToken string `json:"api_token"`
	}
	decode(ctlMust(t, env, "", "--json", "site", "rotate-token", "acme"), &rot)
	if rot.APIToken == "" || rot.APIToken == env["STATUSEDGE_TOKEN"] {
		t.Fatalf("rotate-token gave %q", rot.APIToken)
	}
	if code, _, stderr := runCtlTest(t, env, "", "component", "list"); code != 1 || !strings.Contains(stderr, "HTTP 401") {
		t.Errorf("the old token after rotation: exit %d, %q", code, stderr)
	}
	env["STATUSEDGE_TOKEN"] = rot.APIToken
	if out := ctlMust(t, env, "", "site", "rotate-token", "acme"); !strings.Contains(out, "new api token of site acme") {
		t.Errorf("rotate-token said %q", out)
	}
	if code, _, stderr := runCtlTest(t, env, "", "site", "rotate-token"); code != 2 || !strings.Contains(stderr, "SITE") {
		t.Errorf("rotate-token without a site: exit %d, %q", code, stderr)
	}

	ctlMust(t, op, "", "site", "delete", "acme", "--yes")
	if code, _, stderr := runCtlTest(t, op, "", "site", "get", "acme"); code != 2 || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("site get after delete: exit %d, %q", code, stderr)
	}
}
