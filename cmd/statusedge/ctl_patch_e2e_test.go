package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin"
)

// A PATCH changes the fields it names and nothing else: --logo-url keeps the
// accent colour, --add-hostname keeps the default hostname, group and
// audience members are added and removed one at a time; and the answer
// carries the version the change made.
func TestCtlUpdatesFieldByField(t *testing.T) {
	api := startCtlOrigin(t)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator}
	var created struct {
		Site     content.Site `json:"site"`
		APIToken string       `json:"api_token"`
	}
	out := ctlMust(t, op, "", "--json", "site", "create", "--name", "Acme", "--slug", "acme", "--hostname", "acme.status.test",
		"--accent-color", "#123456")
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	site := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": created.APIToken, "STATUSEDGE_SITE": "acme"}
	get := func() origin.SiteView {
		t.Helper()
		var v origin.SiteView
		if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "site", "get", "acme")), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	steps := []struct {
		name  string
		args  []string
		check func(v origin.SiteView) bool
	}{
		{"logo keeps the accent", []string{"--logo-url", "https://acme.test/logo.png"},
			func(v origin.SiteView) bool {
				return v.Branding.LogoURL == "https://acme.test/logo.png" && v.Branding.AccentColor == "#123456"
			}},
		{"accent keeps the logo", []string{"--accent-color", "#654321"},
			func(v origin.SiteView) bool {
				return v.Branding.LogoURL == "https://acme.test/logo.png" && v.Branding.AccentColor == "#654321"
			}},
		{"an empty logo clears only the logo", []string{"--logo-url", ""},
			func(v origin.SiteView) bool { return v.Branding.LogoURL == "" && v.Branding.AccentColor == "#654321" }},
		{"a custom domain keeps the default", []string{"--add-hostname", "status.acme.com"},
			func(v origin.SiteView) bool {
				return slices.Equal(v.Hostnames, []string{"acme.status.test", "status.acme.com"})
			}},
		{"removing one keeps the other", []string{"--remove-hostname", "acme.status.test"},
			func(v origin.SiteView) bool { return slices.Equal(v.Hostnames, []string{"status.acme.com"}) }},
	}
	for _, st := range steps {
		// The operator's token: only the operator may add a custom domain
		// by hostname (a site token goes through the domains API).
		out := ctlMust(t, op, "", append([]string{"--json", "site", "update", "acme"}, st.args...)...)
		var answer origin.SiteView
		if err := json.Unmarshal([]byte(out), &answer); err != nil {
			t.Fatal(err)
		}
		now := get()
		if !st.check(now) {
			t.Errorf("%s: site now %+v %v", st.name, now.Branding, now.Hostnames)
		}
		if answer.Version != now.Version || !answer.UpdatedAt.Equal(now.UpdatedAt) {
			t.Errorf("%s: answer version %d, site's %d", st.name, answer.Version, now.Version)
		}
	}
	for _, bad := range []struct {
		name, want string
		args       []string
	}{
		{"remove a hostname the site lacks", "remove_hostnames", []string{"--remove-hostname", "nope.acme.com"}},
		{"remove the last hostname", "at least one hostname", []string{"--remove-hostname", "status.acme.com"}},
		{"set and add at once", "--hostname", []string{"--hostname", "a.acme.com", "--add-hostname", "b.acme.com"}},
	} {
		code, _, stderr := runCtlTest(t, site, "", append([]string{"site", "update", "acme"}, bad.args...)...)
		if code == 0 || !strings.Contains(stderr, bad.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, %q", bad.name, code, stderr)
		}
	}

	ctlMust(t, site, "", "component", "create", "--name", "API")
	ctlMust(t, site, "", "component", "create", "--name", "Web")
	ctlMust(t, site, "", "component", "create", "--name", "DB")
	ctlMust(t, site, "", "group", "create", "--name", "Core", "--component", "API")
	ctlMust(t, site, "", "group", "update", "Core", "--add-component", "Web", "--add-component", "DB")
	ctlMust(t, site, "", "group", "update", "Core", "--remove-component", "API")
	var comps []content.Component
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "component", "list")), &comps); err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, c := range comps {
		if c.GroupID != nil {
			members = append(members, c.Name)
		}
	}
	slices.Sort(members)
	if !slices.Equal(members, []string{"DB", "Web"}) {
		t.Errorf("group members %v, want DB, Web", members)
	}

	var au origin.AudienceView
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "audience", "create", "--name", "Partners", "--component", "API", "--password", "partner-pass")), &au); err != nil {
		t.Fatal(err)
	}
	ctlMust(t, site, "", "audience", "update", au.ID, "--add-component", "DB")
	out = ctlMust(t, site, "", "--json", "audience", "update", au.ID, "--remove-component", "API")
	if err := json.Unmarshal([]byte(out), &au); err != nil || len(au.ComponentIDs) != 1 || !au.HasPassword {
		t.Fatalf("audience after add and remove: %q (%v)", out, err)
	}
}

// Running the same `incident post` twice posts once: the second run is
// refused (exit 2) unless --again says it is meant; a different text posts.
func TestCtlRefusesARepeatedUpdate(t *testing.T) {
	api := startCtlOrigin(t)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator}
	ctlMust(t, op, "", "site", "create", "--name", "Acme", "--slug", "acme")
	site := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator, "STATUSEDGE_SITE": "acme"}
	var inc content.Incident
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "incident", "create", "--name", "API errors", "--body", "Looking.")), &inc); err != nil {
		t.Fatal(err)
	}
	post := []string{"incident", "post", inc.ID, "--status", "identified", "--body", "A bad deploy."}
	ctlMust(t, site, "", post...)
	code, _, stderr := runCtlTest(t, site, "", post...)
	if code != 2 || !strings.Contains(stderr, "has the same status and text: nothing posted (--again posts it anyway)") {
		t.Fatalf("the same post again: exit %d, %q", code, stderr)
	}
	ctlMust(t, site, "", append(post, "--again")...)
	ctlMust(t, site, "", "incident", "post", inc.ID, "--status", "identified", "--body", "Rolling back.")
	var got content.Incident
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "incident", "get", inc.ID)), &got); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, u := range got.Updates {
		bodies = append(bodies, u.Body)
	}
	if !slices.Equal(bodies, []string{"Looking.", "A bad deploy.", "A bad deploy.", "Rolling back."}) {
		t.Fatalf("timeline %q", bodies)
	}
	if code, out, _ := runCtlTest(t, site, "", "incident", "create", "-h"); code != 0 || !strings.Contains(out, "(default investigating)") || !strings.Contains(out, "(default none)") {
		t.Errorf("incident create -h does not say its defaults:\n%s", out)
	}
}

// An update can be corrected and taken off the timeline; both are kept on
// record, and an incident keeps at least one update.
func TestCtlEditAndDeleteAnUpdate(t *testing.T) {
	api := startCtlOrigin(t)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator}
	ctlMust(t, op, "", "site", "create", "--name", "Acme", "--slug", "acme")
	site := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator, "STATUSEDGE_SITE": "acme"}
	var inc content.Incident
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "incident", "create", "--name", "API errors", "--body", "Looking.")), &inc); err != nil {
		t.Fatal(err)
	}
	first := inc.Updates[0].ID
	if code, _, stderr := runCtlTest(t, site, "", "incident", "delete-update", inc.ID, first); code != 2 || !strings.Contains(stderr, "at least one update") {
		t.Fatalf("deleting the only update: exit %d, %q", code, stderr)
	}
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "incident", "post", inc.ID, "--status", "identified", "--body", "A bad deplyo.")), &inc); err != nil {
		t.Fatal(err)
	}
	second := inc.Updates[1].ID
	ctlMust(t, site, "", "incident", "edit-update", inc.ID, second, "--body", "A bad deploy.")
	ctlMust(t, site, "", "incident", "delete-update", inc.ID, first)
	var got content.Incident
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "incident", "get", inc.ID)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Updates) != 1 || got.Updates[0].Body != "A bad deploy." || len(got.Updates[0].Edits) != 1 || got.Updates[0].Edits[0].Body != "A bad deplyo." {
		t.Fatalf("timeline after edit and delete: %+v", got.Updates)
	}
	if len(got.Deleted) != 1 || got.Deleted[0].Update.ID != first || got.Deleted[0].Update.Body != "Looking." {
		t.Fatalf("deleted updates on record: %+v", got.Deleted)
	}
	for _, bad := range [][]string{
		{"incident", "edit-update", inc.ID, second},
		{"incident", "edit-update", inc.ID, "nosuchupdate", "--body", "x"},
		{"incident", "delete-update", inc.ID},
	} {
		if code, _, stderr := runCtlTest(t, site, "", bad...); code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, %q", bad, code, stderr)
		}
	}
}

// Times go in relative to now and come out in the site's zone, to the
// second, as its page shows them.
func TestCtlTimesInTheSitesZone(t *testing.T) {
	api := startCtlOrigin(t)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator}
	ctlMust(t, op, "", "site", "create", "--name", "Acme", "--slug", "acme", "--time-zone", "Asia/Tokyo")
	site := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator, "STATUSEDGE_SITE": "acme"}
	ctlMust(t, site, "", "component", "create", "--name", "DB")
	out := ctlMust(t, site, "", "maintenance", "create", "--name", "Upgrade", "--scheduled-for", "+1h", "--scheduled-until", "+2h", "--component", "DB")
	if !strings.Contains(out, " JST to ") || strings.Count(out, ":") < 4 {
		t.Fatalf("maintenance create: %q, want the window in JST to the second", out)
	}
	var ms []content.Maintenance
	if err := json.Unmarshal([]byte(ctlMust(t, site, "", "--json", "maintenance", "list")), &ms); err != nil || len(ms) != 1 {
		t.Fatal(err)
	}
	if d := ms[0].ScheduledUntil.Sub(ms[0].ScheduledFor); d != time.Hour {
		t.Fatalf("window of %s, want 1h", d)
	}
	if ahead := time.Until(ms[0].ScheduledFor); ahead < 50*time.Minute || ahead > 70*time.Minute {
		t.Fatalf("starts in %s, want about 1h", ahead)
	}
}

// --favicon-url and --description set the branding fields the API takes,
// each on its own (the logo and accent stay), an empty value restores the
// default; a bad URL or an overlong description exits 2 naming the flag,
// before anything is sent (the site is unchanged).
func TestCtlSetsFaviconAndDescription(t *testing.T) {
	api := startCtlOrigin(t)
	env := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator, "STATUSEDGE_SITE": "acme"}
	ctlMust(t, env, "", "site", "create", "--name", "Acme", "--slug", "acme", "--hostname", "acme.status.test",
		"--accent-color", "#123456", "--logo-url", "https://acme.test/logo.png", "--description", "Acme's status.")
	get := func() content.Branding {
		t.Helper()
		var v origin.SiteView
		if err := json.Unmarshal([]byte(ctlMust(t, env, "", "--json", "site", "get", "acme")), &v); err != nil {
			t.Fatal(err)
		}
		return v.Branding
	}
	if b := get(); b.Description != "Acme's status." {
		t.Fatalf("created with --description: %+v", b)
	}
	steps := []struct {
		name string
		args []string
		want content.Branding
	}{
		{"favicon alone", []string{"--favicon-url", "https://acme.test/icon.png"},
			content.Branding{LogoURL: "https://acme.test/logo.png", AccentColor: "#123456", FaviconURL: "https://acme.test/icon.png", Description: "Acme's status."}},
		{"description alone", []string{"--description", "Is Acme up? Live status of the API and the dashboard."},
			content.Branding{LogoURL: "https://acme.test/logo.png", AccentColor: "#123456", FaviconURL: "https://acme.test/icon.png", Description: "Is Acme up? Live status of the API and the dashboard."}},
		{"both cleared", []string{"--favicon-url", "", "--description", ""},
			content.Branding{LogoURL: "https://acme.test/logo.png", AccentColor: "#123456"}},
		{"both at once", []string{"--favicon-url", "http://cdn.acme.test/i.ico", "--description", "Acme."},
			content.Branding{LogoURL: "https://acme.test/logo.png", AccentColor: "#123456", FaviconURL: "http://cdn.acme.test/i.ico", Description: "Acme."}},
	}
	for _, st := range steps {
		ctlMust(t, env, "", append([]string{"site", "update", "acme"}, st.args...)...)
		if got := get(); got != st.want {
			t.Errorf("%s: branding %+v, want %+v", st.name, got, st.want)
		}
	}
	if out := ctlMust(t, env, "", "site", "get", "acme"); !regexp.MustCompile(`(?m)^favicon: +http://cdn\.acme\.test/i\.ico$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^description: +Acme\.$`).MatchString(out) || !regexp.MustCompile(`(?m)^accent colour: +#123456$`).MatchString(out) {
		t.Errorf("site get:\n%s", out)
	}
	before := get()
	for _, bad := range []struct {
		name string
		args []string
		want string
	}{
		{"not a URL", []string{"--favicon-url", "icon.png"}, "--favicon-url: must be an http or https URL"},
		{"javascript URL", []string{"--favicon-url", "javascript:alert(1)"}, "--favicon-url: must be an http or https URL"},
		{"data URL", []string{"--favicon-url", "data:image/png;base64,AAAA"}, "--favicon-url: must be an http or https URL"},
		{"no host", []string{"--favicon-url", "https:///icon.png"}, "--favicon-url: must be an http or https URL"},
		{"description too long", []string{"--description", strings.Repeat("x", content.MaxDescription+1)}, "--description: must be at most 300 bytes"},
		{"description not UTF-8", []string{"--description", "bad \xff byte"}, "--description: must be valid UTF-8"},
		{"a bad one next to a good one", []string{"--description", "fine", "--favicon-url", "ftp://acme.test/i.ico"}, "--favicon-url"},
	} {
		code, stdout, stderr := runCtlTest(t, env, "", append([]string{"site", "update", "acme"}, bad.args...)...)
		if code != 2 || !strings.Contains(stderr, bad.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q (want exit 2 naming %q)", bad.name, code, stdout, stderr, bad.want)
		}
	}
	if got := get(); got != before {
		t.Errorf("refused updates changed the branding: %+v, was %+v", got, before)
	}
	// The API refuses what ctl would not send, naming the field.
	code, _, stderr := runCtlTest(t, env, "", "site", "update", "acme", "--favicon-url", "https://acme.test/ok.png")
	if code != 0 {
		t.Fatalf("a good favicon: exit %d %s", code, stderr)
	}
	req, err := http.NewRequest(http.MethodPatch, api+"/v1/sites/acme", strings.NewReader(`{"branding":{"favicon_url":"icon.png"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ctlTestOperator)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 422 || !strings.Contains(string(body), `"field":"branding.favicon_url"`) {
		t.Errorf("API with a bad favicon_url: %d %s", res.StatusCode, body)
	}
}

// --staff-password opens an audience site's full view (the edge's tests
// sign in with it): set, changed and removed from the CLI, with the place
// staff sign in printed; refused (exit 2, naming the field) on a site that
// is not an audience site, and when too short, before anything is sent.
func TestCtlSetsTheStaffPassword(t *testing.T) {
	api := startCtlOrigin(t)
	env := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator, "STATUSEDGE_SITE": "acme"}
	ctlMust(t, env, "", "site", "create", "--name", "Acme", "--slug", "acme", "--hostname", "acme.status.test", "--visibility", "audience")
	ctlMust(t, env, "", "site", "create", "--name", "Private", "--slug", "priv", "--hostname", "priv.status.test", "--visibility", "private", "--password", "private-pass")
	has := func(site string) bool {
		t.Helper()
		var v origin.SiteView
		if err := json.Unmarshal([]byte(ctlMust(t, env, "", "--json", "site", "get", site)), &v); err != nil {
			t.Fatal(err)
		}
		return v.HasStaffPassword
	}
	out := ctlMust(t, env, "", "site", "update", "acme", "--staff-password", "staff-pass-1")
	if !strings.Contains(out, "staff sign in at https://acme.status.test/_statusedge/login?staff=1") || strings.Contains(out, "staff-pass-1") || !has("acme") {
		t.Errorf("set: %q", out)
	}
	if out := ctlMust(t, env, "", "site", "get", "acme"); !strings.Contains(out, "staff password set (staff sign in at https://acme.status.test/_statusedge/login?staff=1)") {
		t.Errorf("site get does not say the staff password is set:\n%s", out)
	}
	ctlMust(t, env, "", "site", "update", "acme", "--staff-password", "staff-pass-2")
	if out := ctlMust(t, env, "", "site", "update", "acme", "--staff-password", ""); strings.Contains(out, "staff sign in") || has("acme") {
		t.Errorf("removed: %q", out)
	}
	for _, bad := range []struct {
		name, want string
		args       []string
	}{
		{"too short", "--staff-password: must be 8 to 72 bytes", []string{"acme", "--staff-password", "short"}},
		{"on a private site", "access.staff_password", []string{"priv", "--staff-password", "staff-pass-1"}},
		{"on a site made private at once", "access.staff_password", []string{"acme", "--visibility", "private", "--password", "private-pass", "--staff-password", "staff-pass-1"}},
	} {
		code, _, stderr := runCtlTest(t, env, "", append([]string{"site", "update"}, bad.args...)...)
		if code != 2 || !strings.Contains(stderr, bad.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, %q", bad.name, code, stderr)
		}
	}
	if has("acme") || has("priv") {
		t.Error("a refused update set a staff password")
	}
}
