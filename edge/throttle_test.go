package edge

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoginThrottle(t *testing.T) {
	o := startOrigin(t, accessSites()...)
	var offset atomic.Int64 // the test's clock runs ahead of the real one by this
	e := startEdge(t, o, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.LoginBurst, c.LoginEvery = 3, time.Minute
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	try := func(client, pw string) resp {
		t.Helper()
		return e.postLogin(t, "priv.test", url.Values{"password": {pw}, "next": {"/"}},
			"X-Forwarded-For: "+client)
	}
	throttled := 0
	steps := []struct {
		name, client, pw string
		want             int
	}{
		{"first guess", "198.51.100.7", "guess1", 401},
		{"second guess", "198.51.100.7", "guess2", 401},
		{"third guess", "198.51.100.7", "guess3", 401},
		{"past the burst, even the right password waits", "198.51.100.7", "pw-private", 429},
		{"another client is not held up", "198.51.100.8", "pw-private", 303},
		{"IPv6 guesses", "2001:db8:1:2::1", "guess1", 401},
		{"", "2001:db8:1:2::1", "guess2", 401},
		{"", "2001:db8:1:2::1", "guess3", 401},
		{"another address in the same /64 shares the bucket", "2001:db8:1:2::ffff", "pw-private", 429},
		{"the next /64 does not", "2001:db8:1:3::1", "pw-private", 303},
	}
	for _, st := range steps {
		r := try(st.client, st.pw)
		if r.status != st.want {
			t.Fatalf("%s (%s): status %d, want %d: %s", st.name, st.client, r.status, st.want, r.body)
		}
		cookie := r.header.Get("Set-Cookie")
		switch r.status {
		case 429:
			throttled++
			if r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many attempts") || strings.Contains(cookie, SessionCookie+"=") {
				t.Fatalf("%s: throttled answer: headers %v body %q", st.name, r.header, r.body)
			}
		case 303:
			if !strings.HasPrefix(cookie, SessionCookie+"=") {
				t.Fatalf("%s: no session cookie: %v", st.name, r.header)
			}
		}
	}
	// A minute later the client has one attempt back, and it works.
	offset.Store(int64(time.Minute + time.Second))
	if r := try("198.51.100.7", "pw-private"); r.status != 303 {
		t.Fatalf("after the refill: %d %s", r.status, r.body)
	}
	if got := counter(e.m.throttled); got != float64(throttled) {
		t.Errorf("login_throttled_total = %v, want %d", got, throttled)
	}
}

// The table of clients is bounded, and a full table takes a new client by
// evicting the one that tried least recently (it refused every new client
// before: a spray of addresses locked everyone out of signing in).
func TestLoginThrottleBoundsClients(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	th := newLoginThrottle(time.Minute, 2, 2)
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	steps := []struct {
		name   string
		client netip.Addr
		ok     bool
	}{
		{"a's first", a, true},
		{"b's first", b, true},
		{"a's second (a is now the most recent)", a, true},
		{"a past its burst", a, false},
		{"a third client while both are mid-bucket: b, the least recent, gives way", c, true},
		{"a still throttled: its bucket was kept", a, false},
		{"c's second", c, true},
		{"c past its burst", c, false},
	}
	for _, st := range steps {
		if ok, wait := th.attempt(st.client, now); ok != st.ok || (!ok && wait <= 0) {
			t.Fatalf("%s: ok=%v wait=%v, want ok=%v", st.name, ok, wait, st.ok)
		}
	}
	if len(th.clients) != 2 || th.lru.Len() != 2 {
		t.Fatalf("tracked %d clients (%d in the list), want 2", len(th.clients), th.lru.Len())
	}
	if _, ok := th.clients[clientKey(b)]; ok {
		t.Fatal("b, the least recent, was kept")
	}
	// A spray of new addresses never locks a client out of its first try.
	for i := range 1000 {
		x := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		if ok, _ := th.attempt(x, now); !ok {
			t.Fatalf("sprayed client %v refused", x)
		}
	}
	if len(th.clients) != 2 {
		t.Fatalf("tracked %d clients after the spray", len(th.clients))
	}
}

func TestLoginChecksAreBounded(t *testing.T) {
	th := newLoginThrottle(time.Minute, 1, 1)
	release := make(chan struct{})
	started := make(chan struct{}, cap(th.checks))
	for range cap(th.checks) {
		go th.check(context.Background(), func() { started <- struct{}{}; <-release })
	}
	for range cap(th.checks) {
		<-started
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if th.check(ctx, func() { t.Error("a check ran with every slot taken") }) {
		t.Fatal("check reported running with every slot taken")
	}
	close(release)
	ran := false
	if !th.check(context.Background(), func() { ran = true }) || !ran {
		t.Fatal("a free slot did not run the check")
	}
}
