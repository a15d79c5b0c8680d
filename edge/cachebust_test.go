package edge

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/internal/testenv"
)

// The review's cache-busting flood against a real origin and Redis: made-up
// incident and maintenance ids and page numbers past the site's history.
// Each used to be a new key, an origin render, a brotli window of 16 MiB
// and a 404 kept in Redis for 24 h. Now the edge answers 404 from the
// registry's page index: no render, nothing stored. A page number the
// index allows but the origin does not have is rendered once and its 404
// lives in Redis no longer than in L1. Another tenant is unaffected.
func TestCacheBustingCostsNoRender(t *testing.T) {
	red := testenv.StartRedis(t)
	d := demo.Site(time.Now())
	other := testSite("othersite001", "other.test", content.Public)
	other.Slug = "other"
	_, url, _ := realOrigin(t, d, other)
	e := realEdge(t, url, func(c *Config) { c.RedisAddr = red.Addr() })
	eventually(t, 10*time.Second, "redis", func() bool { _, ok := e.l2.up(); return ok })
	real := d.Incidents[0].ID
	if r := e.get(t, demo.Hostname, "/incidents/"+real); r.status != 200 {
		t.Fatalf("a real incident: %d", r.status)
	}
	if r := e.get(t, "other.test", "/"); r.status != 200 {
		t.Fatalf("other tenant: %d", r.status)
	}
	rendersBefore := counter(e.m.renders)
	rng := rand.New(rand.NewPCG(1, 2))
	attacks := []func() string{
		func() string { return fmt.Sprintf("/incidents/%016x", rng.Uint64()) },
		func() string { return fmt.Sprintf("/maintenances/%016x", rng.Uint64()) },
		func() string { return fmt.Sprintf("/history?page=%d", 100+rng.IntN(9000)) },
		func() string { return fmt.Sprintf("/uptime?page=%d", 100+rng.IntN(9000)) },
	}
	for i := range 400 {
		p := attacks[i%len(attacks)]()
		r := e.get(t, demo.Hostname, p, "Accept-Encoding: br")
		if r.status != 404 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	if n := counter(e.m.renders) - rendersBefore; n != 0 {
		t.Errorf("the flood cost %v origin renders, want 0", n)
	}
	// Redis got nothing for them.
	cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{red.Addr()}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	keys, err := cl.Do(ctx, cl.B().Keys().Pattern(redisKeySpace+"*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "/incidents/") && !strings.Contains(k, real) || strings.Contains(k, "page=") {
			t.Errorf("redis holds %s", k)
		}
	}

	// The last page the index allows exists as far as the edge knows; the
	// origin (three months a page) has no such page, so its 404 is
	// rendered once and kept briefly.
	se := e.table.Load().byID[d.ID].entry.Load()
	last := fmt.Sprintf("/uptime?page=%d", se.e.Pages.MaxPage(time.Now(), se.loc))
	r := e.get(t, demo.Hostname, last)
	if r.status != 404 {
		t.Fatalf("%s: %d", last, r.status)
	}
	var ttl int64
	eventually(t, 5*time.Second, "the 404 written to redis", func() bool {
		keys, _ := cl.Do(ctx, cl.B().Keys().Pattern(redisKeySpace+"*"+last+"|*").Build()).AsStrSlice()
		if len(keys) == 0 {
			return false
		}
		ttl, _ = cl.Do(ctx, cl.B().Ttl().Key(keys[0]).Build()).AsInt64()
		return true
	})
	if ttl <= 0 || ttl > int64(notFoundTTL/time.Second) {
		t.Errorf("a 404's TTL in redis is %d s, want at most %v", ttl, notFoundTTL)
	}
	if r := e.get(t, "other.test", "/"); r.status != 200 {
		t.Fatalf("other tenant after the flood: %d", r.status)
	}
}

// A flood of distinct keys of one site holds at most MaxFillsPerSite
// renders: past it, visitors get the skeleton and no fill starts; another
// site's miss still gets its render.
func TestFillsBoundedPerSite(t *testing.T) {
	attacked := testSite("attacked0001", "attacked.test", content.Public)
	attacked.CreatedAt = time.Now().AddDate(-100, 0, 0) // every ?page= below may exist
	quiet := testSite("quietsite001", "quiet.test", content.Public)
	o := startOrigin(t, attacked, quiet)
	e := startEdge(t, o, func(c *Config) { c.MaxFillsPerSite, c.RenderBudget = 2, 50*time.Millisecond })
	release := o.Hold()
	for i := range 20 {
		r := e.get(t, "attacked.test", fmt.Sprintf("/history?page=%d", i+2))
		if r.status != 200 || r.header.Get("X-Statusedge-Skeleton") != "1" {
			t.Fatalf("flood request %d: %d skeleton=%q", i, r.status, r.header.Get("X-Statusedge-Skeleton"))
		}
	}
	if n := o.renders.Load(); n != 2 {
		t.Errorf("%d renders started for the flood, want MaxFillsPerSite = 2", n)
	}
	if n := counter(e.m.fillsRefused); n != 18 {
		t.Errorf("fills_refused_total = %v, want 18", n)
	}
	// The quiet site's miss is not refused: its render starts (the held
	// origin makes it a skeleton too, but a counted render).
	e.get(t, "quiet.test", "/")
	if n := o.renders.Load(); n != 3 {
		t.Errorf("renders after the quiet site's miss: %d, want 3", n)
	}
	release()
	eventually(t, 10*time.Second, "the quiet site served", func() bool {
		r := e.get(t, "quiet.test", "/")
		return r.status == 200 && r.header.Get("X-Statusedge-Skeleton") == ""
	})
}

// Compression memory follows the body: a small page's brotli costs its
// window, not brotli's 16 MiB default, and writers are reused.
func TestCompressionMemoryFitsTheBody(t *testing.T) {
	c := compressor{brotliLevel: DefaultBrotliLevel}
	body := []byte(strings.Repeat("<li>component operational</li>\n", 64)) // 2 KiB
	if _, err := c.encode(encBrotli, body); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 20
	for range n {
		if _, err := c.encode(encBrotli, body); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 1<<20 {
		t.Errorf("brotli of a 2 KiB body allocates %d bytes per render, want under 1 MiB", per)
	}
	// A tiny body is stored as is in every encoding.
	vs, err := c.variants([]byte("k"), page{status: 404, ctype: "text/plain", body: notFoundBody})
	if err != nil {
		t.Fatal(err)
	}
	for e, v := range vs {
		if v.enc != encIdentity || string(v.body) != string(notFoundBody) {
			t.Errorf("%s variant of a tiny body: enc %s, %d bytes", encNames[e], encNames[v.enc], len(v.body))
		}
	}
}
