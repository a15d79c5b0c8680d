package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/internal/acmeserver"
	"github.com/statusedge/statusedge/internal/testenv"
	"github.com/statusedge/statusedge/origin"
)

func TestCtlSiteDomain(t *testing.T) {
	dns := testenv.StartPebble(t, acmeserver.Config{HTTPPort: 1, TLSPort: 1})
	url := startCtlOrigin(t, func(c *origin.Config) { c.DomainCheck = origin.DomainCheckConfig{DNSServer: dns.DNSAddr} })
	env := map[string]string{"STATUSEDGE_ORIGIN": url, "STATUSEDGE_TOKEN": ctlTestOperator, "STATUSEDGE_SITE": "acme"}
	if code, _, errs := runCtlTest(t, env, "", "site", "create", "--name", "Acme", "--slug", "acme"); code != 0 {
		t.Fatalf("create site: %d %s", code, errs)
	}
	// Bad input: exit 2, one line, nothing sent.
	for _, args := range [][]string{
		{"site", "domain", "add"},
		{"site", "domain", "add", "localhost/x"},
		{"site", "domain", "add", "a", "b"},
		{"site", "domain", "verify", "status.example.com", "--method", "ftp"},
		{"site", "domain", "frobnicate", "x.com"},
	} {
		code, _, errs := runCtlTest(t, env, "", args...)
		if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%q: exit %d, %q", args, code, errs)
		}
	}
	code, out, errs := runCtlTest(t, env, "", "site", "domain", "add", "Status.Example.com", "--https-redirect", "--hsts")
	if code != 0 || !strings.Contains(out, `_statusedge-challenge.status.example.com  TXT  "statusedge-verify=`) {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	txt := out[strings.Index(out, `"statusedge-verify=`)+1:]
	txt = txt[:strings.IndexByte(txt, '"')]
	// Nothing published: exit 1 with what the check found.
	code, _, errs = runCtlTest(t, env, "", "site", "domain", "verify", "status.example.com", "--method", "dns")
	if code == 0 || !strings.Contains(errs, "no TXT record found at _statusedge-challenge.status.example.com") {
		t.Fatalf("verify unpublished: %d %q", code, errs)
	}
	dns.SetTXT("_statusedge-challenge.status.example.com", txt)
	code, out, errs = runCtlTest(t, env, "", "site", "domain", "verify", "status.example.com")
	if code != 0 || !strings.Contains(out, "status.example.com is verified (dns)") {
		t.Fatalf("verify: %d %q %q", code, out, errs)
	}
	code, out, _ = runCtlTest(t, env, "", "site", "domain", "list")
	if code != 0 || !strings.Contains(out, "status.example.com") || !strings.Contains(out, "verified (dns)") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runCtlTest(t, env, "", "--json", "site", "domain", "list")
	var list []origin.DomainView
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || !list[0].HSTS || !list[0].HTTPSRedirect {
		t.Fatalf("list --json: %d %q", code, out)
	}
	if code, out, errs := runCtlTest(t, env, "", "site", "domain", "remove", "status.example.com"); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCtlTest(t, env, "", "site", "domain", "list"); code != 0 || !strings.Contains(out, "no custom domains") {
		t.Fatalf("list after remove: %d %q", code, out)
	}
	if code, _, errs := runCtlTest(t, env, "", "site", "domain", "remove", "status.example.com"); code == 0 || !strings.Contains(errs, "domain") {
		t.Fatalf("remove again: %d %q", code, errs)
	}
}
