package origin

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	c := newCluster(t, 1, 0)
	f := newFixture(t, c) // writes through the API: sites, components, an incident
	if a := call(t, f.base, "POST", "/v1/sites/acme/components", f.token, map[string]any{"name": ""}); a.status != 422 && a.status != 400 {
		t.Fatalf("bad component: %d", a.status)
	}
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", 401},
		{"a site token", f.token, 403},
		{"the edge secret", testEdgeSec, 401},
	} {
		if a := call(t, f.base, "GET", "/metrics", tt.token, nil); a.status != tt.want {
			t.Errorf("metrics with %s: %d, want %d", tt.name, a.status, tt.want)
		}
	}
	a := call(t, f.base, "GET", "/metrics", testOperator, nil)
	if a.status != 200 {
		t.Fatalf("metrics: %d %s", a.status, a.body)
	}
	body := string(a.body)
	value := func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in:\n%s", series, body)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	leader := c.leader().n
	for _, tc := range []struct {
		series string
		ok     func(float64) bool
	}{
		{"statusedge_origin_is_leader", func(v float64) bool { return v == 1 }},
		{"statusedge_origin_ready", func(v float64) bool { return v == 1 }},
		{"statusedge_origin_sites", func(v float64) bool { return v == 2 }},
		{"statusedge_origin_raft_voters", func(v float64) bool { return v == 1 }},
		{"statusedge_origin_applied_index", func(v float64) bool { return v >= float64(leader.Site("acme").Version) }},
		{`statusedge_origin_http_request_seconds_count{code="201",route="POST /v1/sites"}`, func(v float64) bool { return v == 2 }},
		{`statusedge_origin_http_request_seconds_count{code="201",route="POST /v1/sites/{site}/components"}`, func(v float64) bool { return v == 2 }},
		{`statusedge_origin_proposal_seconds_count{outcome="applied"}`, func(v float64) bool { return v >= 6 }},
	} {
		if v := value(tc.series); !tc.ok(v) {
			t.Errorf("%s = %v", tc.series, v)
		}
	}
	if !strings.Contains(body, `route="POST /v1/sites/{site}/components"`) || !strings.Contains(body, `code="422"`) && !strings.Contains(body, `code="400"`) {
		t.Errorf("the refused component is not counted:\n%s", body)
	}
}
