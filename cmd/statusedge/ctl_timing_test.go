package main

import (
	"encoding/json"
	"testing"

	"github.com/statusedge/statusedge/content"
)

// BenchmarkCtlIncidentPost measures one `statusedge ctl incident post`
// against a real single-voter origin on loopback: flag parsing, local
// checks, the name lookup of --component, the POST and raft's commit.
func BenchmarkCtlIncidentPost(b *testing.B) {
	api := startCtlOrigin(b)
	op := map[string]string{"STATUSEDGE_ORIGIN": api, "STATUSEDGE_TOKEN": ctlTestOperator, "STATUSEDGE_SITE": "acme"}
	for _, args := range [][]string{
		{"site", "create", "--name", "Acme", "--slug", "acme"},
		{"component", "create", "--name", "API"},
	} {
		if code, _, stderr := runCtlTest(b, op, "", args...); code != 0 {
			b.Fatalf("%q: %s", args, stderr)
		}
	}
	code, out, stderr := runCtlTest(b, op, "", "--json", "incident", "create", "--name", "API errors", "--impact", "major")
	var inc content.Incident
	if code != 0 || json.Unmarshal([]byte(out), &inc) != nil {
		b.Fatalf("incident create: %s", stderr)
	}
	for i := 0; b.Loop(); i++ {
		status := "major_outage"
		if i%2 == 1 {
			status = "partial_outage"
		}
		if code, _, stderr := runCtlTest(b, op, "", "incident", "post", inc.ID, "--status", "identified",
			"--body", "Still on it.", "--component", "API="+status); code != 0 {
			b.Fatalf("post: %s", stderr)
		}
	}
}
