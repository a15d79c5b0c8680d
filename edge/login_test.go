package edge

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/statusedge/statusedge/content"
)

// The review: one wrong password on a site with 200 audiences ran 200
// bcrypt checks inside the edge-wide login slots, and every other private
// site's correct login got 503. Now the visitor names the audience and
// each attempt costs one check, whatever the site has; the form does not
// list the audiences.
func TestAudienceLoginCostsOneCheck(t *testing.T) {
	big := testSite("bigsite00001", "big.test", content.AudienceSpecific)
	hash := mustHash("pw-many")
	big.Audiences = nil
	for i := range 200 {
		big.Audiences = append(big.Audiences, &content.Audience{ID: fmt.Sprintf("aud%03d", i), Name: fmt.Sprintf("Customer %d", i), PasswordHash: hash})
	}
	priv := testSite("privsite0001", "private.test", content.Private)
	o := startOrigin(t, big, priv)
	e := startEdge(t, o)
	tests := []struct {
		name     string
		audience string
		pw       string
		status   int
	}{
		{"wrong password, named audience", "aud007", "wrong", http.StatusUnauthorized},
		{"wrong password, audience by name", "customer 7", "wrong", http.StatusUnauthorized},
		{"no audience named", "", "pw-many", http.StatusUnauthorized},
		{"an audience the site does not have", "nobody", "pw-many", http.StatusUnauthorized},
		{"right password, audience by id", "aud199", "pw-many", http.StatusSeeOther},
		{"right password, audience by name", "Customer 3", "pw-many", http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := counter(e.m.passwordChecks)
			r := e.do(t, http.MethodPost, "big.test", loginPath, url.Values{"password": {tt.pw}, "audience": {tt.audience}, "next": {"/"}})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			if n := counter(e.m.passwordChecks) - before; n != 1 {
				t.Errorf("%v password checks for one attempt, want 1", n)
			}
		})
	}
	form := e.get(t, "big.test", "/")
	if form.status != http.StatusUnauthorized || !strings.Contains(form.body, `name="audience"`) || strings.Contains(form.body, "Customer 1") {
		t.Errorf("login form: %d, audience field %v, lists an audience %v", form.status,
			strings.Contains(form.body, `name="audience"`), strings.Contains(form.body, "Customer 1"))
	}
	if c, _ := login(t, e, "private.test", "pw-private", "/"); c == "" {
		t.Error("another private site's login failed")
	}
}
