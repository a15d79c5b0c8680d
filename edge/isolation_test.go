package edge

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/internal/testenv"
)

var markerRE = regexp.MustCompile(`site=(\w+) version=(\d+) audience=(\w*) path=([^ <"]+)`)

// TestIsolation sends randomized requests across sites, audiences, paths
// and encodings, with versions changing, L1 being cleared (so Redis
// answers) and renders racing, and checks that every response carries only
// the bytes of its own key.
func TestIsolation(t *testing.T) {
	r := testenv.StartRedis(t)
	sites := []*content.Site{
		testSite("pa", "pa.test", content.Public), testSite("pb", "pb.test", content.Public),
		testSite("pr", "pr.test", content.Private), testSite("au", "au.test", content.AudienceSpecific),
	}
	o := startOrigin(t, sites...)
	e := startEdge(t, o, func(c *Config) { c.RedisAddr = r.Addr(); c.RenderBudget = 5 * time.Second })
	eventually(t, 5*time.Second, "redis", func() bool { _, ok := e.l2.up(); return ok })
	privC, _ := login(t, e, "pr.test", "pw-private", "/")
	audA, _ := login(t, e, "au.test", "pw-a", "/")
	audB, _ := login(t, e, "au.test", "pw-b", "/")

	type viewer struct{ host, site, aud, cookie string }
	viewers := []viewer{
		{"pa.test", "pa", "", ""}, {"pb.test", "pb", "", ""}, {"pr.test", "pr", "", privC},
		{"au.test", "au", "auda", audA}, {"au.test", "au", "audb", audB},
	}
	paths := []string{"/", "/history", "/history?page=2", "/uptime", "/api/v2/summary.json",
		"/api/v2/components.json", "/history.atom", "/history.rss"}
	encs := []string{"", "gzip", "br", "gzip, br", "identity"}

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 150 {
				v := viewers[rng.IntN(len(viewers))]
				p := paths[rng.IntN(len(paths))]
				enc := encs[rng.IntN(len(encs))]
				hs := []string{"Accept-Encoding: " + enc}
				if v.cookie != "" {
					hs = append(hs, "Cookie: "+v.cookie)
				}
				switch {
				case w == 0 && i%40 == 39:
					o.Bump(v.site)
				case w == 1 && i%50 == 49:
					e.l1.c.Clear()
				}
				res := e.get(t, v.host, p, hs...)
				if res.status != 200 {
					errs <- fmt.Errorf("%s%s as %q: status %d", v.host, p, v.aud, res.status)
					return
				}
				body := decode(t, res)
				ms := markerRE.FindAllStringSubmatch(body, -1)
				if len(ms) == 0 {
					errs <- fmt.Errorf("%s%s: no marker in %q", v.host, p, body[:min(200, len(body))])
					return
				}
				for _, m := range ms {
					// An audience's page carries no version (it would tell
					// of other audiences' changes); the others, their own.
					wantVer := m[2]
					if v.aud != "" {
						wantVer = ""
					}
					if m[1] != v.site || m[3] != v.aud || m[4] != p || wantVer != res.header.Get("X-Statusedge-Version") {
						errs <- fmt.Errorf("%s%s as %q (v%s, enc %q, from %s) carries bytes of %q",
							v.host, p, v.aud, res.header.Get("X-Statusedge-Version"), enc,
							res.header.Get("X-Statusedge-Cache"), m[0])
						return
					}
				}
				if v.cookie != "" && !strings.HasPrefix(res.header.Get("Cache-Control"), "private") {
					errs <- fmt.Errorf("%s: private page with Cache-Control %q", v.host, res.header.Get("Cache-Control"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRedisKilledMidRun: killing (and freezing) redis-server during load
// fails no request; the edge goes on with L1 and the origin.
func TestRedisKilledMidRun(t *testing.T) {
	r := testenv.StartRedis(t)
	old := testSite("s1", "one.test", content.Public)
	old.CreatedAt = time.Now().AddDate(-800, 0, 0) // 9,600 months: every ?page= below exists
	o := startOrigin(t, old)
	e := startEdge(t, o, func(c *Config) { c.RedisAddr = r.Addr(); c.RenderBudget = 5 * time.Second })
	eventually(t, 5*time.Second, "redis", func() bool { _, ok := e.l2.up(); return ok })

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	var mu sync.Mutex
	total := 0
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := "/"
				if i%3 == 0 { // a stream of cold keys too
					p = fmt.Sprintf("/history?page=%d", 2+(w*100000+i)%9000)
				}
				res := e.get(t, "one.test", p, "Accept-Encoding: gzip")
				mu.Lock()
				total++
				mu.Unlock()
				if res.status != 200 || len(res.body) == 0 {
					errs <- fmt.Errorf("%s: %d %q", p, res.status, res.body)
					return
				}
			}
		}()
	}
	step := func(d time.Duration) { time.Sleep(d) } // load runs meanwhile
	step(300 * time.Millisecond)
	r.Kill()
	step(500 * time.Millisecond)
	r.Restart()
	step(500 * time.Millisecond)
	r.Pause()
	step(700 * time.Millisecond)
	r.Resume()
	step(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if total < 50 {
		t.Fatalf("only %d requests ran", total)
	}
	if counter(e.m.redisErrors) == 0 {
		t.Fatal("redis errors were not noticed")
	}
	t.Logf("%d requests, %v redis errors", total, counter(e.m.redisErrors))
	// Redis down and origin down: L1 still answers.
	r.Kill()
	o.Kill()
	if res := e.get(t, "one.test", "/", "Accept-Encoding: gzip"); res.status != 200 || !strings.Contains(decode(t, res), marker("s1", 1, "", "/")) {
		t.Fatalf("both down: %d %v", res.status, res.header)
	}
}
