package edge

import "testing"

// A public site's Statuspage JSON may be read cross-origin from a browser
// (a company's own site showing its status); its pages, and every page of
// a private or audience site, may not.
func TestCORSOnPublicJSONOnly(t *testing.T) {
	o := startOrigin(t, accessSites()...)
	e := startEdge(t, o)
	priv, _ := login(t, e, "priv.test", "pw-private", "/")
	aud, _ := login(t, e, "aud.test", "pw-a", "/")
	for _, tc := range []struct {
		name, host, path, cookie string
		want                     string
	}{
		{"public summary", "pub.test", "/api/v2/summary.json", "", "*"},
		{"public status, cached", "pub.test", "/api/v2/status.json", "", "*"},
		{"public status, again (L1)", "pub.test", "/api/v2/status.json", "", "*"},
		{"public page", "pub.test", "/", "", ""},
		{"public uptime JSON (the skeleton's, not Statuspage's)", "pub.test", "/api/statusedge/uptime.json", "", ""},
		{"private summary, signed in", "priv.test", "/api/v2/summary.json", priv, ""},
		{"audience summary, signed in", "aud.test", "/api/v2/summary.json", aud, ""},
		{"private summary, not signed in", "priv.test", "/api/v2/summary.json", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.cookie != "" {
				hdr = append(hdr, "Cookie: "+tc.cookie)
			}
			r := e.get(t, tc.host, tc.path, append(hdr, "Origin: https://www.example.com")...)
			if got := r.header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Fatalf("%d, Access-Control-Allow-Origin %q, want %q", r.status, got, tc.want)
			}
		})
	}
}
