package origin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fuzzRoutes are the write routes the fuzzer posts to; {i} and {m} are
// the fixture's incident and maintenance, {c} its API component.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/sites"},
	{"PATCH", "/v1/sites/{s}"},
	{"POST", "/v1/sites/{s}/components"},
	{"PATCH", "/v1/sites/{s}/components/{c}"},
	{"POST", "/v1/sites/{s}/groups"},
	{"POST", "/v1/sites/{s}/incidents"},
	{"PATCH", "/v1/sites/{s}/incidents/{i}"},
	{"POST", "/v1/sites/{s}/incidents/{i}/updates"},
	{"POST", "/v1/sites/{s}/maintenances"},
	{"PATCH", "/v1/sites/{s}/maintenances/{m}"},
	{"POST", "/v1/sites/{s}/maintenances/{m}/updates"},
	{"POST", "/v1/sites/{s}/audiences"},
	// Not /v1/cluster/join: a valid join of an unreachable voter would
	// (correctly) cost the one-node cluster its quorum.
}

// FuzzManagementAPI sends arbitrary bodies to every write route of a real
// single-replica origin and checks the API's promises: never a 5xx, every
// error is the JSON error shape with its status, a 422 names its field, and
// a refused request changes nothing.
func FuzzManagementAPI(f *testing.F) {
	seeds := []struct {
		route uint8
		body  string
	}{
		{0, `{"name":"Fuzz","slug":"fuzz"}`},                                             // valid site
		{0, `{"name":"Fuzz","slug":"fuzz","hostnames":["a..b"]}`},                        // bad hostname
		{1, `{"time_zone":"../../etc/passwd"}`},                                          // traversal as a zone
		{1, `{"branding":{"accent_color":"#zzzzzz"}}`},                                   // bad colour
		{2, `{"name":"DB","status":"major_outage","start_date":"2026-02-30"}`},           // impossible date
		{3, `{"status":"under_maintenance"}`},                                            // valid status change
		{4, `{"name":"G","components":["{c}","{c}"]}`},                                   // duplicate member
		{5, `{"name":"x","status":"investigating","components":{"{c}":"major_outage"}}`}, // valid incident
		{5, `{"name":"x","status":"investigating","impact":"cosmic"}`},                   // bad impact
		{5, `{"name":"x","status":"investigating"`},                                      // truncated JSON
		{5, `{"name":"x","status":"investigating","extra":1}`},                           // unknown field
		{5, `{"name":["x"]}`},                                                            // wrong type
		{6, `{"impact":"critical","started_at":"2026-01-01T00:00:00Z"}`},                 // valid patch
		{7, `{"status":"resolved","body":"done","display_at":"not a time"}`},             // bad time
		{8, `{"name":"m","scheduled_for":"2030-01-01T00:00:00Z","scheduled_until":"2029-01-01T00:00:00Z","components":["{c}"]}`},
		{9, `{"scheduled_for":"2031-01-01T00:00:00Z"}`},                 // window now backwards
		{10, `{"status":"in_progress","body":"go"}`},                    // valid transition
		{11, `{"name":"a","components":["{c}"],"password":"12345678"}`}, // valid audience
		{0, "null"},
		{0, `"just a string"`},
		{0, "{}\x00"},
		{5, `{"name":"\u0000","status":"investigating"}`},
	}
	for _, s := range seeds {
		f.Add(s.route, []byte(s.body))
	}
	// No background maintenance transitions: they would change the site
	// under the "refused requests change nothing" check.
	c := newCluster(f, 1, 0, func(cfg *Config) { cfg.MaintenanceTick = time.Hour })
	fx := newFixture(f, c)
	h := c.leader().n.Handler()
	n := c.leader().n
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.NewReplacer("{s}", fx.site, "{i}", fx.incidentID, "{m}", fx.maintenanceID, "{c}", fx.api).Replace(rt.path)
		body = bytes.ReplaceAll(body, []byte("{c}"), []byte(fx.api))
		before := n.Site(fx.site)
		req := httptest.NewRequest(rt.method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testOperator)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, path, body, rec.Code, rec.Body)
		}
		if rec.Code < 400 {
			return
		}
		var e struct {
			Error *Error `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Status != rec.Code || e.Error.Message == "" {
			t.Fatalf("error body %q for %d", rec.Body, rec.Code)
		}
		if rec.Code == http.StatusUnprocessableEntity && e.Error.Field == "" {
			t.Fatalf("422 without a field: %s", rec.Body)
		}
		if after := n.Site(fx.site); after.Version != before.Version && rt.path != "/v1/sites" {
			t.Fatalf("refused request changed the site: %d → %d", before.Version, after.Version)
		}
	})
}

// FuzzDecodeStrict checks the decoder on its own: it never panics, and
// accepts exactly what encoding/json accepts as one object with known fields
// (names matched exactly, each given once).
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"name":"x"}`, `{"name":"x"} `, `{"name":"x"}{}`, `{"nam":"x"}`, `[]`, `1`, `null`, ``, `{"name":1}`,
		`{"components":{"a":"operational"}}`, "\xff", `{"name":"x","name":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in IncidentInput
		err := DecodeStrict(body, &in)
		if err == nil {
			// Re-encoding and decoding again is stable.
			b, _ := json.Marshal(&in)
			var again IncidentInput
			if e := DecodeStrict(b, &again); e != nil {
				t.Fatalf("re-decode of %s: %v", b, e)
			}
			return
		}
		if err.Status != http.StatusBadRequest {
			t.Fatalf("decode error status %d", err.Status)
		}
	})
}
