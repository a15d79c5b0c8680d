package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/client"
)

// fakeOrigin implements docs/API.md §1 only as far as these tests need: one
// site "acme" with a few components, incidents with updates, the
// Idempotency-Key contract, and injectable failures. Every request is
// recorded. The real origin is tested end to end in ctl_e2e_test.go.
type ctlFakeOrigin struct {
	t  testing.TB
	mu sync.Mutex
	// reqs are the requests received, in order.
	reqs       []ctlFakeReq
	components []*content.Component
	incidents  []*content.Incident
	idem       map[string][]byte // key → the answer first given
	// fail, if set, may answer request n (1-based) itself; it returns
	// whether it did. The request is applied first if apply is true.
	fail func(w http.ResponseWriter, r *http.Request, n int) (handled, apply bool)
	url  string
}

type ctlFakeReq struct {
	method, path, key, auth string
	body                    []byte
}

func startCtlFakeOrigin(t testing.TB) *ctlFakeOrigin {
	t.Helper()
	group := "grp000000001"
	f := &ctlFakeOrigin{t: t, idem: map[string][]byte{}, components: []*content.Component{
		{ID: group, Name: "Core Platform", Group: true, Status: content.Operational},
		{ID: "api000000001", Name: "API", GroupID: &group, Status: content.Operational},
		{ID: "hooks0000001", Name: "Webhooks", GroupID: &group, Status: content.Operational},
		{ID: "dup000000001", Name: "Search", Status: content.Operational},
		{ID: "dup000000002", Name: "search", Status: content.Operational},
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *ctlFakeOrigin) requests() []ctlFakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ctlFakeReq(nil), f.reqs...)
}

func (f *ctlFakeOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, ctlFakeReq{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), r.Header.Get("Authorization"), body})
	n := len(f.reqs)
	fail := f.fail
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		ctlFakeJSON(w, 401, ctlFakeErr(401, "", "missing or unknown token"))
		return
	}
	if fail != nil {
		rec := httptest.NewRecorder()
		handled, apply := fail(rec, r, n)
		if apply {
			f.serve(httptest.NewRecorder(), r, body)
		}
		if handled {
			if rec.Code == -1 { // hang up: the answer is lost
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
	}
	f.serve(w, r, body)
}

// hangUp, returned from a fail func through the recorder, drops the connection.
func ctlHangUp(w http.ResponseWriter) { w.(*httptest.ResponseRecorder).Code = -1 }

func ctlFakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func ctlFakeErr(status int, field, msg string) map[string]any {
	e := map[string]any{"status": status, "message": msg}
	if field != "" {
		e["field"] = field
	}
	return map[string]any{"error": e}
}

func (f *ctlFakeOrigin) serve(w http.ResponseWriter, r *http.Request, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	if r.Method == "POST" && key != "" {
		if ans, ok := f.idem[key]; ok {
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			w.Write(ans)
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "v1" || parts[1] != "sites" {
		ctlFakeJSON(w, 404, ctlFakeErr(404, "", "no such route"))
		return
	}
	if parts[2] != "acme" {
		ctlFakeJSON(w, 404, ctlFakeErr(404, "site", "site not found"))
		return
	}
	route := r.Method + " " + strings.Join(parts[3:], "/")
	now := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	var answer any
	status := 200
	switch {
	case route == "GET components":
		answer = f.components
	case route == "GET incidents":
		answer = append([]*content.Incident{}, f.incidents...)
	case route == "POST incidents":
		var in client.IncidentInput
		if err := json.Unmarshal(body, &in); err != nil || in.Name == nil || in.Status == nil {
			ctlFakeJSON(w, 400, ctlFakeErr(400, "", "malformed JSON"))
			return
		}
		inc := &content.Incident{ID: fmt.Sprintf("inc%09d", len(f.incidents)+1), Name: *in.Name, Status: *in.Status, StartedAt: now}
		if in.Impact != nil {
			inc.Impact = *in.Impact
		}
		u := &content.Update{ID: fmt.Sprintf("upd%09d", len(f.incidents)+1), Status: string(*in.Status), DisplayAt: now}
		if in.Body != nil {
			u.Body = *in.Body
		}
		for id := range in.Components {
			inc.ComponentIDs = append(inc.ComponentIDs, id)
		}
		inc.Updates = []*content.Update{u}
		f.incidents = append([]*content.Incident{inc}, f.incidents...)
		answer, status = inc, 201
	case strings.HasPrefix(route, "GET incidents/") || strings.HasPrefix(route, "POST incidents/"):
		var inc *content.Incident
		for _, x := range f.incidents {
			if x.ID == parts[4] {
				inc = x
			}
		}
		if inc == nil {
			ctlFakeJSON(w, 404, ctlFakeErr(404, "id", "incident not found"))
			return
		}
		answer = inc
		if r.Method == "POST" {
			var in client.UpdateInput
			if err := json.Unmarshal(body, &in); err != nil {
				ctlFakeJSON(w, 400, ctlFakeErr(400, "", "malformed JSON"))
				return
			}
			inc.Status = content.IncidentStatus(in.Status)
			inc.Updates = append(inc.Updates, &content.Update{ID: fmt.Sprintf("upd%09d", 100+len(inc.Updates)), Status: in.Status, Body: in.Body, DisplayAt: now})
			status = 201
		}
	default:
		ctlFakeJSON(w, 404, ctlFakeErr(404, "", "no such route"))
		return
	}
	b, _ := json.Marshal(answer)
	if r.Method == "POST" && key != "" {
		f.idem[key] = b
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// runCtlTest runs the ctl with args against origin (env STATUSEDGE_*) and stdin.
func runCtlTest(t testing.TB, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &ctlEnv{
		getenv: func(k string) string { return env[k] },
		stdin:  strings.NewReader(stdin),
		stdout: &out, stderr: &errb,
		tune: func(c *client.Config) {
			c.MinBackoff, c.MaxBackoff, c.AttemptTimeout = time.Millisecond, 5*time.Millisecond, 5*time.Second
		},
	}
	code = e.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func ctlEnvFor(f *ctlFakeOrigin) map[string]string {
	return map[string]string{"STATUSEDGE_ORIGIN": f.url, "STATUSEDGE_TOKEN": "tok"}
}

// Bad input exits 2 with exactly one line naming the flag, and (unless the
// row needs a name resolved) sends nothing.
func TestCtlBadInput(t *testing.T) {
	f := startCtlFakeOrigin(t)
	dir := t.TempDir()
	big := strings.Repeat("x", ctlMaxBody+1)
	bigFile := filepath.Join(dir, "big.md")
	if err := os.WriteFile(bigFile, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	inc := []string{"incident", "create", "--site", "acme", "--name", "API errors"}
	with := func(base []string, more ...string) []string { return append(append([]string(nil), base...), more...) }
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		env   map[string]string // nil: origin and token set
		want  string            // the whole of stderr, after "statusedge ctl: "
		sends int               // requests the row may send (name resolution)
	}{
		{name: "unknown impact", args: with(inc, "--impact", "huge"), want: "--impact: must be one of none, minor, major, critical"},
		{name: "impact in caps", args: with(inc, "--impact", "Major"), want: "--impact: must be one of none, minor, major, critical"},
		{name: "unknown status", args: with(inc, "--status", "fixed"), want: "--status: must be one of investigating, identified, monitoring, resolved, postmortem"},
		{name: "empty name", args: []string{"incident", "create", "--site", "acme", "--name", ""}, want: "--name: must not be empty"},
		{name: "blank name", args: []string{"incident", "create", "--site", "acme", "--name", " \t "}, want: "--name: must not be empty"},
		{name: "name over 255 bytes", args: []string{"incident", "create", "--site", "acme", "--name", strings.Repeat("n", 256)}, want: "--name: must be at most 255 bytes (got 256)"},
		{name: "name not UTF-8", args: []string{"incident", "create", "--site", "acme", "--name", "a\xffb"}, want: "--name: must be valid UTF-8 text"},
		{name: "missing name", args: []string{"incident", "create", "--site", "acme"}, want: "--name: required"},
		{name: "missing site", args: []string{"incident", "create", "--name", "x"}, want: "--site: required (a site id or slug; or set STATUSEDGE_SITE)"},
		{name: "bad started-at", args: with(inc, "--started-at", "yesterday"), want: "--started-at: must be an RFC 3339 time such as 2026-11-24T14:05:00Z, now, or relative such as +1h or -10m"},
		{name: "started-at without zone", args: with(inc, "--started-at", "2026-11-24T14:05:00"), want: "--started-at: must be an RFC 3339 time such as 2026-11-24T14:05:00Z, now, or relative such as +1h or -10m"},
		{name: "component without status", args: with(inc, "--component", "api"), want: `--component: "api": must be NAME_OR_ID=STATUS, e.g. api=major_outage`},
		{name: "component without name", args: with(inc, "--component", "=major_outage"), want: `--component: "=major_outage": must be NAME_OR_ID=STATUS, e.g. api=major_outage`},
		{name: "component empty status", args: with(inc, "--component", "api="), want: `--component: "api=": must be NAME_OR_ID=STATUS, e.g. api=major_outage`},
		{name: "component unknown status", args: with(inc, "--component", "api=down"), want: `--component: "api=down": status must be one of operational, degraded_performance, partial_outage, major_outage, under_maintenance`},
		{name: "component twice", args: with(inc, "--component", "API=major_outage", "--component", "API=operational"), want: `--component: "API" is given twice`},
		{name: "component escape sequence is not echoed raw", args: with(inc, "--component", "\x1b[31mapi"), want: `--component: "?[31mapi": must be NAME_OR_ID=STATUS, e.g. api=major_outage`},
		{name: "unknown component name", args: with(inc, "--component", "Databse=major_outage"), want: `--component: no component "Databse" on this site (see 'statusedge ctl component list')`, sends: 1},
		{name: "ambiguous component name", args: with(inc, "--component", "SEARCH=major_outage"), want: `--component: "SEARCH" matches 2 components (dup000000001, dup000000002): use the id`, sends: 1},
		{name: "two names for one component", args: with(inc, "--component", "API=major_outage", "--component", "api000000001=operational"), want: `--component: "api000000001" and another value name the same component`, sends: 1},
		{name: "body over 64 KiB from stdin", args: with(inc, "--body", "-"), stdin: big, want: "--body: must be at most 65536 bytes (got 65537)"},
		{name: "body file over 64 KiB", args: with(inc, "--body-file", bigFile), want: "--body-file: must be at most 65536 bytes (got 65537)"},
		{name: "body and body-file", args: with(inc, "--body", "x", "--body-file", bigFile), want: "--body: give --body or --body-file, not both"},
		{name: "body file missing", args: with(inc, "--body-file", filepath.Join(dir, "nope.md")), want: "--body-file: no such file or directory"},
		{name: "post without status", args: []string{"incident", "post", "inc000000001", "--site", "acme", "--body", "x"}, want: "--status: required: one of investigating, identified, monitoring, resolved, postmortem"},
		{name: "post without body", args: []string{"incident", "post", "inc000000001", "--site", "acme", "--status", "identified"}, want: "--body: required (or --body-file F, or --body - to read stdin)"},
		{name: "post empty body from stdin", args: []string{"incident", "post", "inc000000001", "--site", "acme", "--status", "identified", "--body", "-"}, stdin: "\n\n", want: "--body: must not be empty"},
		{name: "post bad display-at", args: []string{"incident", "post", "inc000000001", "--site", "acme", "--status", "identified", "--body", "x", "--display-at", "2026-13-01T00:00:00Z"}, want: "--display-at: must be an RFC 3339 time such as 2026-11-24T14:05:00Z, now, or relative such as +1h or -10m"},
		{name: "post without id", args: []string{"incident", "post", "--site", "acme", "--status", "identified", "--body", "x"}, want: "incident post: missing ID (usage: statusedge ctl incident post ID [flags])"},
		{name: "two ids", args: []string{"incident", "get", "a", "b", "--site", "acme"}, want: `incident get: unexpected argument "b"`},
		{name: "update with nothing", args: []string{"incident", "update", "inc1", "--site", "acme"}, want: "incident update: nothing to change: give --name or --impact (a status change is 'incident post')"},
		{name: "unknown flag", args: with(inc, "--bogus", "1"), want: "--bogus: unknown flag"},
		{name: "flag without value", args: with(inc, "--impact"), want: "--impact: needs a value"},
		{name: "bad int", args: []string{"component", "create", "--site", "acme", "--name", "x", "--position", "abc"}, want: `--position: parse error (invalid value "abc")`},
		{name: "negative position", args: []string{"component", "create", "--site", "acme", "--name", "x", "--position", "-1"}, want: "--position: must be between 0 and 1000000"},
		{name: "component bad status", args: []string{"component", "update", "API", "--site", "acme", "--status", "broken"}, want: "--status: must be one of operational, degraded_performance, partial_outage, major_outage, under_maintenance"},
		{name: "component bad start date", args: []string{"component", "create", "--site", "acme", "--name", "x", "--start-date", "24/11/2026"}, want: "--start-date: must be a date YYYY-MM-DD"},
		{name: "unknown group", args: []string{"component", "create", "--site", "acme", "--name", "x", "--group", "API"}, want: `--group: no group "API" on this site (see 'statusedge ctl component list')`, sends: 1},
		{name: "maintenance until before for", args: []string{"maintenance", "create", "--site", "acme", "--name", "m", "--scheduled-for", "2026-11-25T02:00:00Z", "--scheduled-until", "2026-11-25T01:00:00Z", "--component", "API"}, want: "--scheduled-until: must be after --scheduled-for"},
		{name: "maintenance until equals for", args: []string{"maintenance", "create", "--site", "acme", "--name", "m", "--scheduled-for", "2026-11-25T02:00:00Z", "--scheduled-until", "2026-11-25T02:00:00Z", "--component", "API"}, want: "--scheduled-until: must be after --scheduled-for"},
		{name: "maintenance missing until", args: []string{"maintenance", "create", "--site", "acme", "--name", "m", "--scheduled-for", "2026-11-25T02:00:00Z", "--component", "API"}, want: "--scheduled-until: required (RFC 3339, after --scheduled-for)"},
		{name: "maintenance no component", args: []string{"maintenance", "create", "--site", "acme", "--name", "m", "--scheduled-for", "2026-11-25T02:00:00Z", "--scheduled-until", "2026-11-25T03:00:00Z"}, want: "--component: required: at least one affected component"},
		{name: "maintenance bad time", args: []string{"maintenance", "create", "--site", "acme", "--name", "m", "--scheduled-for", "tomorrow 2am", "--scheduled-until", "2026-11-25T03:00:00Z", "--component", "API"}, want: "--scheduled-for: must be an RFC 3339 time such as 2026-11-24T14:05:00Z, now, or relative such as +1h or -10m"},
		{name: "maintenance post bad status", args: []string{"maintenance", "post", "m1", "--site", "acme", "--status", "investigating", "--body", "x"}, want: "--status: must be one of scheduled, in_progress, verifying, completed"},
		{name: "site bad slug", args: []string{"site", "create", "--name", "Acme", "--slug", "Acme Cloud"}, want: "--slug: must be 1-63 lowercase letters, digits and dashes"},
		{name: "site missing slug", args: []string{"site", "create", "--name", "Acme"}, want: "--slug: required (e.g. acme)"},
		{name: "site bad time zone", args: []string{"site", "create", "--name", "Acme", "--slug", "acme", "--time-zone", "Mars/Olympus"}, want: "--time-zone: must be an IANA time zone such as Europe/Berlin"},
		{name: "site time zone traversal", args: []string{"site", "create", "--name", "Acme", "--slug", "acme", "--time-zone", "../../etc/passwd"}, want: "--time-zone: must be an IANA time zone such as Europe/Berlin"},
		{name: "site bad visibility", args: []string{"site", "create", "--name", "Acme", "--slug", "acme", "--visibility", "secret"}, want: "--visibility: must be one of public, private, audience"},
		{name: "site bad colour", args: []string{"site", "update", "acme", "--accent-color", "red"}, want: "--accent-color: must be #rrggbb"},
		{name: "site bad cidr", args: []string{"site", "update", "acme", "--allow-cidr", "10.0.0.0/33"}, want: `--allow-cidr: "10.0.0.0/33" is not a CIDR prefix such as 10.0.0.0/8`},
		{name: "site short password", args: []string{"site", "update", "acme", "--password", "short"}, want: "--password: must be 8 to 72 bytes (or empty to remove it)"},
		{name: "site bad hostname", args: []string{"site", "update", "acme", "--hostname", "http://status.acme.com"}, want: `--hostname: "http://status.acme.com" must be a hostname such as status.example.com`},
		{name: "site delete without yes", args: []string{"site", "delete", "acme"}, want: `--yes: required: deleting site "acme" removes its page and all its content`},
		{name: "audience short password", args: []string{"audience", "create", "--site", "acme", "--name", "Partners", "--password", "-"}, stdin: "1234567\n", want: "--password: must be 8 to 72 bytes (or empty to remove it)"},
		{name: "cluster join bad address", args: []string{"cluster", "join", "--id", "r2", "--address", "10.0.0.2"}, want: "--address: must be host:port"},
		{name: "cluster join no id", args: []string{"cluster", "join", "--address", "10.0.0.2:7000"}, want: "--id: required: the joining replica's server id"},
		{name: "unknown noun", args: []string{"incidnet", "create"}, want: `unknown noun "incidnet" (want site, site domain, component, group, incident, maintenance, audience, cluster)`},
		{name: "unknown verb", args: []string{"incident", "resolve"}, want: `incident: unknown verb "resolve" (want create, list, get, update, delete, post, edit-update, delete-update)`},
		{name: "missing origin", args: []string{"incident", "list", "--site", "acme"}, env: map[string]string{"STATUSEDGE_TOKEN": "tok"}, want: "--origin: required (or set STATUSEDGE_ORIGIN): the management API, e.g. http://127.0.0.1:7080"},
		{name: "missing token", args: []string{"incident", "list", "--site", "acme"}, env: map[string]string{"STATUSEDGE_ORIGIN": f.url}, want: "--token: required (or set STATUSEDGE_TOKEN)"},
		{name: "origin not a URL", args: []string{"--origin", "127.0.0.1:8080", "incident", "list", "--site", "acme"}, want: "--origin: must be an http or https URL such as http://127.0.0.1:7080 (the management API)"},
		{name: "zero timeout", args: []string{"incident", "list", "--site", "acme", "--timeout", "0s"}, want: "--timeout: must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = ctlEnvFor(f)
			}
			before := len(f.requests())
			code, stdout, stderr := runCtlTest(t, env, tc.stdin, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if want := "statusedge ctl: " + tc.want + "\n"; stderr != want {
				t.Errorf("stderr\n got %q\nwant %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if sent := len(f.requests()) - before; sent != tc.sends {
				t.Errorf("sent %d requests, want %d", sent, tc.sends)
			}
		})
	}
}

// An origin's error answer is one line naming the field; 400/409/422 exit 2,
// the rest exit 1.
func TestCtlServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		field  string
		msg    string
		code   int
		want   string
	}{
		{"422 impact", 422, "impact", "must be one of none, minor, major, critical", 2,
			"impact: must be one of none, minor, major, critical (HTTP 422; check --impact)"},
		{"422 component id", 422, "components.api000000001", "unknown component id", 2,
			"components.api000000001: unknown component id (HTTP 422; check --component)"},
		{"400 unknown field", 400, "", "unknown field \"nme\"", 2, `unknown field "nme" (HTTP 400)`},
		{"409 key reused", 409, "Idempotency-Key", "reused with another request", 2, "Idempotency-Key: reused with another request (HTTP 409)"},
		{"401", 401, "", "missing or unknown token", 1, "missing or unknown token (HTTP 401; check --token or STATUSEDGE_TOKEN)"},
		{"403", 403, "", "this token is for another site", 1, "this token is for another site (HTTP 403; this token has no rights here: use the site's token or the operator token)"},
		{"404 site", 404, "site", "site not found", 2, "site: site not found (HTTP 404; check --site)"},
		{"500 hides nothing but says little", 500, "", "internal error", 1, "origin unavailable: internal error (HTTP 500 after 1 attempts; it may or may not have been applied: rerun with --idempotency-key KEY to retry safely)"},
		{"503 after every retry", 503, "", "no leader reachable or replica unavailable; retry", 1, "origin unavailable: no leader reachable or replica unavailable; retry (HTTP 503 after 5 attempts; it may or may not have been applied: rerun with --idempotency-key KEY to retry safely)"},
		{"message with a line break and escape", 422, "name", "bad\nname\x1b[2J", 2, "name: bad name?[2J (HTTP 422; check --name)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startCtlFakeOrigin(t)
			f.fail = func(w http.ResponseWriter, r *http.Request, n int) (bool, bool) {
				if r.Method == "GET" {
					return false, false
				}
				ctlFakeJSON(w, tc.status, ctlFakeErr(tc.status, tc.field, tc.msg))
				return true, false
			}
			code, stdout, stderr := runCtlTest(t, ctlEnvFor(f), "", "incident", "create", "--site", "acme", "--name", "API errors",
				"--impact", "major", "--component", "API=major_outage")
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			var key string
			for _, r := range f.requests() {
				if r.method == "POST" {
					key = r.key
				}
			}
			want := "statusedge ctl: " + strings.ReplaceAll(tc.want, "KEY", key) + "\n"
			if stderr != want {
				t.Errorf("stderr\n got %q\nwant %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q", stdout)
			}
		})
	}
}

// The path a responder takes: create an incident naming a component by name,
// post updates (one with its body on stdin), list, get, --json.
func TestCtlIncidentFlow(t *testing.T) {
	f := startCtlFakeOrigin(t)
	env := ctlEnvFor(f)
	env["STATUSEDGE_SITE"] = "acme"
	code, stdout, stderr := runCtlTest(t, env, "", "incident", "create", "--name", "API errors", "--status", "investigating",
		"--impact", "major", "--component", "api=major_outage", "--component", "Webhooks=degraded_performance", "--body", "We are looking into it.")
	if code != 0 || stderr != "" {
		t.Fatalf("create: exit %d, stderr %q", code, stderr)
	}
	if want := "created incident inc000000001 \"API errors\": investigating, impact major, 2 component(s)\n"; stdout != want {
		t.Errorf("create stdout\n got %q\nwant %q", stdout, want)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].method != "GET" || reqs[0].path != "/v1/sites/acme/components" {
		t.Fatalf("requests = %+v, want the components list then the POST", reqs)
	}
	var sent map[string]any
	if err := json.Unmarshal(reqs[1].body, &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "API errors", "status": "investigating", "impact": "major", "body": "We are looking into it.",
		"components": map[string]any{"api000000001": "major_outage", "hooks0000001": "degraded_performance"}}
	if fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("POST body\n got %v\nwant %v", sent, want)
	}
	if reqs[1].key == "" || reqs[1].auth != "Bearer tok" {
		t.Errorf("POST without Idempotency-Key or token: %+v", reqs[1])
	}

	code, stdout, stderr = runCtlTest(t, env, "Fixed the bad deploy.\nMonitoring.\n", "incident", "post", "inc000000001", "--status", "monitoring", "--body", "-", "--component", "API=operational")
	if code != 0 || stderr != "" {
		t.Fatalf("post: exit %d, stderr %q", code, stderr)
	}
	if want := "posted update upd000000101 to incident inc000000001 \"API errors\": now monitoring (2 updates)\n"; stdout != want {
		t.Errorf("post stdout\n got %q\nwant %q", stdout, want)
	}
	last := f.requests()[len(f.requests())-1]
	if !strings.Contains(string(last.body), `"body":"Fixed the bad deploy.\nMonitoring."`) || !strings.Contains(string(last.body), `"api000000001":"operational"`) {
		t.Errorf("update body = %s", last.body)
	}

	code, stdout, _ = runCtlTest(t, env, "", "incident", "list")
	if code != 0 || !strings.Contains(stdout, "inc000000001  monitoring  major") || !strings.HasPrefix(stdout, "ID ") {
		t.Errorf("list: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCtlTest(t, env, "", "--json", "incident", "get", "inc000000001")
	var got content.Incident
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || got.ID != "inc000000001" || len(got.Updates) != 2 {
		t.Errorf("get --json: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCtlTest(t, env, "", "incident", "get", "inc000000001")
	if code != 0 || !strings.Contains(stdout, "timeline (by display time, oldest first;") || !regexp.MustCompile(`(?m)^  \S.* upd000000101 +monitoring +Fixed the bad deploy\.$`).MatchString(stdout) {
		t.Errorf("get: exit %d\n%s", code, stdout)
	}
}

// A reply lost after the origin applied the request: the retry carries the
// same key, the origin replays its answer, and the incident exists once.
func TestCtlLostReplyPostsOnce(t *testing.T) {
	f := startCtlFakeOrigin(t)
	f.fail = func(w http.ResponseWriter, r *http.Request, n int) (bool, bool) {
		if r.Method != "POST" {
			return false, false
		}
		posts := 0
		for _, q := range f.requests() {
			if q.method == "POST" {
				posts++
			}
		}
		switch posts {
		case 1: // applied, then the connection drops
			ctlHangUp(w)
			return true, true
		case 2: // no leader for a moment
			ctlFakeJSON(w, 503, ctlFakeErr(503, "", "no leader"))
			return true, false
		}
		return false, false
	}
	code, stdout, stderr := runCtlTest(t, ctlEnvFor(f), "", "incident", "create", "--site", "acme", "--name", "API errors", "--impact", "minor")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasSuffix(stdout, "(already applied by an earlier attempt; not applied twice)\n") {
		t.Errorf("stdout %q does not say the answer was replayed", stdout)
	}
	var keys []string
	for _, r := range f.requests() {
		if r.method == "POST" {
			keys = append(keys, r.key)
		}
	}
	if len(keys) != 3 || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Errorf("POST keys = %q, want 3 attempts with one key", keys)
	}
	if n := len(f.incidents); n != 1 {
		t.Errorf("origin holds %d incidents, want 1", n)
	}
}

// With no origin reachable the ctl exits 1 with one clear line that gives
// the key; rerunning with that key reuses it.
func TestCtlUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	env := map[string]string{"STATUSEDGE_ORIGIN": dead, "STATUSEDGE_TOKEN": "tok"}
	code, stdout, stderr := runCtlTest(t, env, "", "incident", "post", "inc000000001", "--site", "acme", "--status", "resolved", "--body", "Fixed.")
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	prefix := "statusedge ctl: cannot reach the origin at " + dead + " (5 attempts): dial tcp "
	if !strings.HasPrefix(stderr, prefix) || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("stderr = %q", stderr)
	}
	_, key, ok := strings.Cut(stderr, "rerun with --idempotency-key ")
	key, _, _ = strings.Cut(key, " ")
	if !ok || len(key) != 32 {
		t.Fatalf("stderr %q gives no key", stderr)
	}

	f := startCtlFakeOrigin(t)
	runCtlTest(t, ctlEnvFor(f), "", "incident", "create", "--site", "acme", "--name", "x")
	code, _, stderr = runCtlTest(t, ctlEnvFor(f), "", "incident", "post", "inc000000001", "--site", "acme", "--status", "resolved", "--body", "Fixed.", "--idempotency-key", key)
	reqs := f.requests()
	if code != 0 || reqs[len(reqs)-1].key != key {
		t.Errorf("rerun: exit %d (%q), key %q, want %q", code, stderr, reqs[len(reqs)-1].key, key)
	}
}

// --timeout bounds the whole invocation, retries included.
func TestCtlTimeout(t *testing.T) {
	f := startCtlFakeOrigin(t)
	f.fail = func(w http.ResponseWriter, r *http.Request, n int) (bool, bool) {
		ctlFakeJSON(w, 503, ctlFakeErr(503, "", "no leader"))
		return true, false
	}
	var out, errb bytes.Buffer
	e := &ctlEnv{getenv: func(k string) string { return ctlEnvFor(f)[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		tune: func(c *client.Config) { c.MaxAttempts, c.MinBackoff, c.MaxBackoff = 1000, time.Hour, time.Hour }}
	code := e.run(context.Background(), []string{"incident", "list", "--site", "acme", "--timeout", "2s"})
	if code != 1 || !strings.HasPrefix(errb.String(), "statusedge ctl: origin unavailable: no leader (HTTP 503 after 1 attempts") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

// Help is not an error; flags may come before or after the noun and verb.
func TestCtlUsage(t *testing.T) {
	f := startCtlFakeOrigin(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string // substring of stdout+stderr
	}{
		{nil, 2, "usage: statusedge ctl"},
		{[]string{"-h"}, 0, "nouns and verbs:"},
		{[]string{"incident"}, 2, "usage: statusedge ctl incident <verb>"},
		{[]string{"incident", "create", "-h"}, 0, "--component"},
		{[]string{"--json", "incident", "list", "--site", "acme"}, 0, "[]"},
		{[]string{"incident", "list", "--json", "--site=acme"}, 0, "[]"},
		{[]string{"incident", "list", "--site", "acme"}, 0, "no incidents"},
		// Help says what leaving a flag out means.
		{[]string{"maintenance", "create", "-h"}, 0, "(default true)"},
		{[]string{"component", "create", "-h"}, 0, "(--showcase=false hides it) (default true)"},
		// A maintenance's text changes by posting an update: update does
		// not offer --body (it was offered and always refused).
		{[]string{"maintenance", "update", "m1", "--site", "acme", "--body", "x"}, 2, "--body: unknown flag"},
	} {
		code, stdout, stderr := runCtlTest(t, ctlEnvFor(f), "", tc.args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.out) {
			t.Errorf("%q: exit %d, output %q; want %d and %q", tc.args, code, stdout+stderr, tc.code, tc.out)
		}
	}
}

func TestFlagFor(t *testing.T) {
	s := &ctlSession{fs: ctlFlagSetFor(t, "maintenance", "create")}
	for field, want := range map[string]string{
		"scheduled_until":          "scheduled-until",
		"components":               "component",
		"components.abc123":        "component",
		"name":                     "name",
		"body":                     "body",
		"token":                    "", // globals are not "the flag at fault"
		"branding.accent_color":    "",
		"":                         "",
		"password":                 "",
		"auto_transition":          "auto-transition",
		"components.x.y.scheduled": "component",
	} {
		if got := s.flagFor(field); got != want {
			t.Errorf("flagFor(%q) = %q, want %q", field, got, want)
		}
	}
}

func ctlFlagSetFor(t *testing.T, nounName, verbName string) *flag.FlagSet {
	t.Helper()
	for _, n := range ctlNouns() {
		for _, v := range n.verbs {
			if n.name == nounName && v.name == verbName {
				fs := flag.NewFlagSet("t", flag.ContinueOnError)
				s := &ctlSession{env: &ctlEnv{}, g: &ctlGlobals{}, fs: fs, set: map[string]bool{}}
				s.g.register(fs)
				v.setup(fs, s)
				return fs
			}
		}
	}
	t.Fatalf("no verb %s %s", nounName, verbName)
	return nil
}

// FuzzComponentFlag: whatever a responder types, parseComponentStatuses
// either names the flag or returns valid pairs that round-trip.
func FuzzComponentFlag(f *testing.F) {
	for _, seed := range []string{
		"api=major_outage",           // the documented form
		"Object Storage=operational", // a name with a space
		"a=b=partial_outage",         // '=' in a name: the last one splits
		"api",                        // no status
		"=major_outage",              // no name
		"api=",                       // empty status
		"api=MAJOR_OUTAGE",           // wrong case
		"\x00=operational",           // control character
		" =operational",              // blank name
		"api=major_outage\n",         // trailing newline
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := ctlParseComponentStatuses("component", []string{v})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--component: ") || strings.ContainsAny(err.Error(), "\n\r\x1b") {
				t.Fatalf("error %q does not name the flag on one clean line", err)
			}
			return
		}
		if len(got) != 1 || !got[0].status.Valid() || strings.TrimSpace(got[0].ref) == "" {
			t.Fatalf("accepted %q as %+v", v, got)
		}
		again, err := ctlParseComponentStatuses("component", []string{got[0].ref + "=" + string(got[0].status)})
		if err != nil || again[0] != got[0] {
			t.Fatalf("round trip of %+v: %+v, %v", got[0], again, err)
		}
	})
}

// After "--" an argument that looks like a flag is the id.
func TestCtlDoubleDash(t *testing.T) {
	f := startCtlFakeOrigin(t)
	code, _, stderr := runCtlTest(t, ctlEnvFor(f), "", "incident", "get", "--site", "acme", "--", "-weird-id")
	reqs := f.requests()
	if code != 2 || len(reqs) != 1 || reqs[0].path != "/v1/sites/acme/incidents/-weird-id" {
		t.Fatalf("exit %d (%q), requests %+v", code, stderr, reqs)
	}
	if stderr != "statusedge ctl: id: incident not found (HTTP 404)\n" {
		t.Errorf("stderr = %q", stderr)
	}
}

// --origin naming something that is not the management API (an edge's page
// address, the usual slip: 8080 for 7080) is said so in one line, exit 2,
// rather than "not found" as if the incident were missing.
func TestCtlSaysWhenOriginIsNotTheAPI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
		code   int
	}{
		{"a page address", http.StatusNotFound, "This page does not exist.\n", "is not a management API (HTTP 404", 2},
		{"a proxy's 405", http.StatusMethodNotAllowed, "<html>nope</html>", "is not a management API (HTTP 405", 2},
		{"the API's own 404", http.StatusNotFound, `{"error":{"status":404,"field":"id","message":"incident not found"}}`, "id: incident not found (HTTP 404)", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			env := map[string]string{"STATUSEDGE_ORIGIN": srv.URL, "STATUSEDGE_TOKEN": "t", "STATUSEDGE_SITE": "acme"}
			code, stdout, stderr := runCtlTest(t, env, "", "incident", "get", "abc123")
			if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
				t.Errorf("exit %d, stderr %q, want %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
