package origin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testCertSec = "cert-secret-0123456789"

func certCluster(t *testing.T, now func() time.Time) *testCluster {
	return newCluster(t, 1, 0, func(cfg *Config) {
		cfg.CertSecret, cfg.CertKey = testCertSec, bytes.Repeat([]byte{7}, 32)
		if now != nil {
			cfg.Now = now
		}
	})
}

func TestCertStorage(t *testing.T) {
	c := certCluster(t, nil)
	base := c.leader().url()
	key := "certificates/acme-v02/status.example.com/status.example.com.key"
	secret := "-----BEGIN EC PRIVATE KEY-----\nsecret-key-bytes\n-----END EC PRIVATE KEY-----\n"

	// Scopes: the edge secret (content, read-only) and no token get nothing.
	for _, tc := range []struct {
		name, method, token string
		want                int
	}{
		{"edge secret reads", "GET", testEdgeSec, 403},
		{"edge secret writes", "PUT", testEdgeSec, 403},
		{"no token", "GET", "", 401},
		{"operator token", "PUT", testOperator, 401},
	} {
		if a := call(t, base, tc.method, "/internal/v1/certs/value?key="+key, tc.token, "x"); a.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, a.status, tc.want)
		}
	}
	// The cert secret opens nothing else.
	if a := call(t, base, "GET", "/internal/v1/registry", testCertSec, nil); a.status != 401 {
		t.Errorf("cert secret on the registry: %d", a.status)
	}
	if a := call(t, base, "POST", "/internal/v1/apply", testCertSec, "{}"); a.status != 401 {
		t.Errorf("cert secret on apply: %d", a.status)
	}

	// Bad keys name the field.
	for _, bad := range []string{"", "/abs", "a/../b", "a//b", "a/./b", "a\\b", "a\x01b", strings.Repeat("k", 600)} {
		a := call(t, base, "PUT", "/internal/v1/certs/value?key="+urlQuery(bad), testCertSec, "x")
		if field, status := a.errField(); status != 422 || field != "key" {
			t.Errorf("key %q: %d %s", bad, a.status, a.body)
		}
	}

	a := call(t, base, "PUT", "/internal/v1/certs/value?key="+key, testCertSec, secret)
	var stored CertStored
	a.json(t, &stored)
	if a.status != 200 || stored.Version == 0 {
		t.Fatalf("store: %d %s", a.status, a.body)
	}
	a = call(t, base, "GET", "/internal/v1/certs/value?key="+key, testCertSec, nil)
	if a.status != 200 || string(a.body) != secret {
		t.Fatalf("load: %d %q", a.status, a.body)
	}
	// Sealed at rest: neither the state nor the raft log holds it in clear.
	var st []byte
	c.leader().n.fsm.read(func(s *state) { st, _ = json.Marshal(s) })
	if bytes.Contains(st, []byte("secret-key-bytes")) {
		t.Fatal("the private key is in the state in clear")
	}
	call(t, base, "PUT", "/internal/v1/certs/value?key=certificates/acme-v02/status.example.com/status.example.com.crt", testCertSec, "crt")
	var info CertKeyInfo
	call(t, base, "GET", "/internal/v1/certs/stat?key=certificates/acme-v02", testCertSec, nil).json(t, &info)
	if info.IsTerminal || info.Modified.IsZero() {
		t.Fatalf("stat dir = %+v", info)
	}
	var list []string
	call(t, base, "GET", "/internal/v1/certs/list?prefix=certificates/acme-v02", testCertSec, nil).json(t, &list)
	if len(list) != 1 || list[0] != "certificates/acme-v02/status.example.com" {
		t.Fatalf("list = %q", list)
	}
	call(t, base, "GET", "/internal/v1/certs/list?prefix=certificates&recursive=true", testCertSec, nil).json(t, &list)
	if len(list) != 4 {
		t.Fatalf("recursive list = %q", list)
	}
	if a := call(t, base, "DELETE", "/internal/v1/certs/value?key=certificates/acme-v02", testCertSec, nil); a.status != 204 {
		t.Fatalf("delete dir: %d", a.status)
	}
	if a := call(t, base, "GET", "/internal/v1/certs/value?key="+key, testCertSec, nil); a.status != 404 {
		t.Fatalf("load after delete: %d", a.status)
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "\x01", "%01", "\\", "%5C", "/", "/")
	return r.Replace(s)
}

func TestCertLocksAreLeases(t *testing.T) {
	var clock = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu = make(chan struct{}, 1)
	now := func() time.Time { mu <- struct{}{}; defer func() { <-mu }(); return clock }
	advance := func(d time.Duration) { mu <- struct{}{}; clock = clock.Add(d); <-mu }
	c := certCluster(t, now)
	base := c.leader().url()
	lock := func(owner string) int {
		return call(t, base, "POST", "/internal/v1/certs/lock", testCertSec, LeaseInput{Name: "issue_cert_x", Owner: owner, TTL: time.Minute}).status
	}
	if s := lock("edge-a"); s != 200 {
		t.Fatalf("a locks: %d", s)
	}
	if s := lock("edge-b"); s != http.StatusConflict {
		t.Fatalf("b while a holds: %d", s)
	}
	if s := lock("edge-a"); s != 200 {
		t.Fatalf("a renews: %d", s)
	}
	advance(61 * time.Second) // a crashed: its lease runs out
	if s := lock("edge-b"); s != 200 {
		t.Fatalf("b after a's lease: %d", s)
	}
	// Unlock by another owner leaves the lease; by its owner frees it.
	call(t, base, "POST", "/internal/v1/certs/unlock", testCertSec, LeaseInput{Name: "issue_cert_x", Owner: "edge-a"})
	if s := lock("edge-a"); s != http.StatusConflict {
		t.Fatalf("a after a foreign unlock: %d", s)
	}
	call(t, base, "POST", "/internal/v1/certs/unlock", testCertSec, LeaseInput{Name: "issue_cert_x", Owner: "edge-b"})
	if s := lock("edge-a"); s != 200 {
		t.Fatalf("a after b unlocked: %d", s)
	}
	for _, ttl := range []time.Duration{0, -1, time.Hour} {
		a := call(t, base, "POST", "/internal/v1/certs/lock", testCertSec, LeaseInput{Name: "other", Owner: "a", TTL: ttl})
		if field, status := a.errField(); status != 422 || field != "ttl" {
			t.Errorf("ttl %s: %d %s", ttl, a.status, a.body)
		}
	}

	// Orders: counted cluster-wide, failures back off.
	order := func(name, outcome string) (int, OrderView) {
		var v OrderView
		a := call(t, base, "POST", "/internal/v1/certs/order", testCertSec, OrderInput{Name: name, Outcome: outcome,
			Limits: &CALimits{OrdersPer3h: 3, CertsPerWeek: 2, FailsPerHour: 2, MaxBackoffHours: 6}})
		json.Unmarshal(a.body, &v)
		return a.status, v
	}
	if s, _ := order("a.example.com", "start"); s != 200 {
		t.Fatalf("first order: %d", s)
	}
	order("a.example.com", "failed")
	if s, v := order("a.example.com", "start"); s != 429 || !v.RetryAfter.Equal(clock.Add(time.Minute)) {
		t.Fatalf("order right after a failure: %d %+v", s, v)
	}
	advance(time.Minute)
	if s, _ := order("a.example.com", "start"); s != 200 {
		t.Fatalf("order after the backoff: %d", s)
	}
	order("a.example.com", "failed") // second failure this hour: the hour's limit holds it
	if s, v := order("a.example.com", "start"); s != 429 || v.RetryAfter.Before(clock.Add(58*time.Minute)) {
		t.Fatalf("after the hour's failures: %d %+v", s, v)
	}
	// Per registered domain per week: two orders of example.com used.
	if s, v := order("b.example.com", "start"); s != 429 || !strings.Contains(v.Reason, "registered domain") {
		t.Fatalf("third example.com order: %d %+v", s, v)
	}
	if s, _ := order("status.other.co.uk", "start"); s != 200 {
		t.Fatal("another registered domain")
	}
	if s, v := order("x.third.org", "start"); s != 429 || !strings.Contains(v.Reason, "3 hours") {
		t.Fatalf("fourth order in 3h: %d %+v", s, v)
	}
	advance(3 * time.Hour)
	if s, _ := order("x.third.org", "start"); s != 200 {
		t.Fatal("after 3 hours")
	}
}
