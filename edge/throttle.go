package edge

import (
	"container/list"
	"context"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// loginThrottle slows password guessing and keeps a flood of logins from
// taking the CPU that pages need: each client (an IPv4 address, or an IPv6
// /64, which one holder usually owns whole) gets a bucket of attempts, and
// all clients together share a bound on concurrent password checks (each
// is a bcrypt comparison per candidate hash). At most max clients are
// tracked; a new one past that evicts the one that tried least recently (a
// full table refused every new client before: one spray of addresses
// locked everyone out). Eviction gives the evicted client a full bucket
// again, which an attacker with that many addresses has anyway.
type loginThrottle struct {
	every time.Duration // one attempt back per every
	burst int           // attempts a client may make at once
	max   int           // clients tracked at most

	mu      sync.Mutex
	clients map[netip.Prefix]*list.Element // of *throttled, in lru
	lru     list.List                      // most recent attempt first

	checks chan struct{} // a slot per concurrent password check
}

// throttled is one client's bucket.
type throttled struct {
	key netip.Prefix
	lim *rate.Limiter
}

func newLoginThrottle(every time.Duration, burst, maxClients int) *loginThrottle {
	return &loginThrottle{every: every, burst: burst, max: max(1, maxClients),
		clients: make(map[netip.Prefix]*list.Element),
		checks:  make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// clientKey is what a client's bucket is keyed by.
func clientKey(a netip.Addr) netip.Prefix {
	if a.Is4() || !a.IsValid() {
		return netip.PrefixFrom(a, a.BitLen())
	}
	p, _ := a.Prefix(64)
	return p
}

// attempt takes one attempt from a's bucket at now. When there is none
// left it returns false and how long until there is.
func (t *loginThrottle) attempt(a netip.Addr, now time.Time) (bool, time.Duration) {
	k := clientKey(a)
	t.mu.Lock()
	defer t.mu.Unlock()
	el := t.clients[k]
	if el == nil {
		if len(t.clients) >= t.max {
			old := t.lru.Back()
			delete(t.clients, old.Value.(*throttled).key)
			t.lru.Remove(old)
		}
		el = t.lru.PushFront(&throttled{key: k, lim: rate.NewLimiter(rate.Every(t.every), t.burst)})
		t.clients[k] = el
	} else {
		t.lru.MoveToFront(el)
	}
	l := el.Value.(*throttled).lim
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// check runs f in a password-check slot, waiting for one until ctx is
// done; it reports whether f ran.
func (t *loginThrottle) check(ctx context.Context, f func()) bool {
	select {
	case t.checks <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-t.checks }()
	f()
	return true
}
