package edge

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
			r := e.postLogin(t, "big.test", url.Values{"password": {tt.pw}, "audience": {tt.audience}, "next": {"/"}})
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

// A password change (or removal) ends the sessions made with the old one,
// however long they had left; another audience's sessions stand.
func TestPasswordChangeEndsSessions(t *testing.T) {
	priv := testSite("privsite0001", "private.test", content.Private)
	priv.Slug = "priv"
	aud := testSite("audsite00001", "aud.test", content.AudienceSpecific)
	aud.Slug = "aud"
	n, url, _ := realOrigin(t, priv, aud)
	e := realEdge(t, url, func(c *Config) { c.VersionsWait = 200 * time.Millisecond })
	privCookie, _ := login(t, e, "private.test", "pw-private", "/")
	aCookie, _ := login(t, e, "aud.test", "pw-a", "/")
	bCookie, _ := login(t, e, "aud.test", "pw-b", "/")
	for _, c := range []struct{ host, cookie string }{{"private.test", privCookie}, {"aud.test", aCookie}, {"aud.test", bCookie}} {
		if r := e.get(t, c.host, "/", "Cookie: "+c.cookie); c.cookie == "" || r.status != 200 {
			t.Fatalf("%s before the change: %d", c.host, r.status)
		}
	}
	priv.Access.PasswordHash = mustHash("pw-rotated")
	aud.Audiences[0].PasswordHash = mustHash("pw-a-rotated")
	for _, s := range []*content.Site{priv, aud} {
		if _, err := n.ImportSite(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "the old private session refused", func() bool {
		return e.get(t, "private.test", "/", "Cookie: "+privCookie).status == 401
	})
	eventually(t, 10*time.Second, "the old audience A session refused", func() bool {
		return e.get(t, "aud.test", "/", "Cookie: "+aCookie).status == 401
	})
	if r := e.get(t, "aud.test", "/", "Cookie: "+bCookie); r.status != 200 {
		t.Errorf("audience B's session after A's rotation: %d", r.status)
	}
	if c, _ := login(t, e, "private.test", "pw-rotated", "/"); c == "" || e.get(t, "private.test", "/", "Cookie: "+c).status != 200 {
		t.Error("the new password does not sign in")
	}
}
