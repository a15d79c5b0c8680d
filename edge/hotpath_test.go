package edge

import (
	"bytes"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/skeleton"
)

// hitUntil repeats a GET until the edge answers it from L1.
func hitUntil(t *testing.T, e *testEdge, host, path string, headers ...string) resp {
	t.Helper()
	var r resp
	eventually(t, 10*time.Second, "an L1 hit on "+host+path, func() bool {
		r = e.get(t, host, path, headers...)
		return r.header.Get("X-Statusedge-Cache") == "l1"
	})
	return r
}

// checkHeaders asserts that h carries exactly the names in want (plus the
// transport's own Date, Server and Content-Length), each with the wanted
// value ("*" for any non-empty value).
func checkHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for _, k := range []string{"Date", "Server"} {
		if h.Get(k) == "" {
			t.Errorf("%s: no %s header", what, k)
		}
	}
	var got, wanted []string
	for k := range h {
		if k != "Date" && k != "Server" && k != "Content-Length" {
			got = append(got, k)
		}
	}
	for k, v := range want {
		wanted = append(wanted, http.CanonicalHeaderKey(k))
		if vs := h.Values(k); len(vs) != 1 || (v != "*" && vs[0] != v) || vs[0] == "" {
			t.Errorf("%s: %s = %q, want %q", what, k, vs, v)
		}
	}
	slices.Sort(got)
	slices.Sort(wanted)
	if !slices.Equal(got, wanted) {
		t.Errorf("%s: header names = %v, want %v", what, got, wanted)
	}
}

// TestHitHeaders pins every header of a cache hit (public, private, each
// encoding, and 304), so the precomputed header blocks of the hot path send
// exactly what the general path sends.
func TestHitHeaders(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public), testSite("priv", "priv.test", content.Private))
	e := startEdge(t, o)
	security := map[string]string{
		"Content-Security-Policy": pageCSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
		"X-Frame-Options":         "DENY",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range security {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	publicCC := string(buildPublicCC(DefaultPublicMaxAge))
	cookie, _ := login(t, e, "priv.test", "pw-private", "/")
	if cookie == "" {
		t.Fatal("login failed")
	}
	tests := []struct {
		name, host, ae, cookie string
		enc, cc, vary          string
	}{
		{"public identity", "pub.test", "", "", "", publicCC, "Accept-Encoding"},
		{"public gzip", "pub.test", "gzip", "", "gzip", publicCC, "Accept-Encoding"},
		{"public br", "pub.test", "gzip, deflate, br", "", "br", publicCC, "Accept-Encoding"},
		{"public br refused", "pub.test", "gzip, br;q=0", "", "gzip", publicCC, "Accept-Encoding"},
		{"private gzip", "priv.test", "gzip", cookie, "gzip", "private, no-store", "Accept-Encoding, Cookie"},
		{"private br", "priv.test", "br", cookie, "br", "private, no-store", "Accept-Encoding, Cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hs []string
			if tt.ae != "" {
				hs = append(hs, "Accept-Encoding: "+tt.ae)
			}
			if tt.cookie != "" {
				hs = append(hs, "Cookie: "+tt.cookie)
			}
			r := hitUntil(t, e, tt.host, "/", hs...)
			etag := r.header.Get("ETag")
			encName := tt.enc
			if encName == "" {
				encName = "identity"
			}
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, "-"+encName+`"`) {
				t.Fatalf("ETag = %q", etag)
			}
			id := strings.TrimSuffix(tt.host, ".test")
			ver := e.table.Load().byID[id].current.Load()
			want := with(map[string]string{
				"Cache-Control": tt.cc, "Vary": tt.vary, "ETag": etag, "X-Statusedge-Version": itoa(ver),
				"X-Statusedge-Cache": "l1", "Content-Type": "text/html; charset=utf-8",
			})
			if tt.enc != "" {
				want["Content-Encoding"] = tt.enc
			}
			checkHeaders(t, "200", r.header, want)
			if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) {
				t.Errorf("Content-Length = %q, body %d bytes", cl, len(r.body))
			}
			if !strings.Contains(decode(t, r), marker(id, ver, "", "/")) {
				t.Errorf("body is not the page")
			}

			nm := e.get(t, tt.host, "/", append(hs, "If-None-Match: W/\"x\", "+etag)...)
			if nm.status != http.StatusNotModified || nm.body != "" {
				t.Fatalf("If-None-Match: %d %q", nm.status, nm.body)
			}
			checkHeaders(t, "304", nm.header, with(map[string]string{
				"Cache-Control": tt.cc, "Vary": tt.vary, "ETag": etag, "X-Statusedge-Version": itoa(ver),
				"X-Statusedge-Cache": "l1",
			}))

			other := e.get(t, tt.host, "/", append(hs, `If-None-Match: "other"`)...)
			if other.status != 200 || other.body != r.body {
				t.Fatalf("non-matching If-None-Match: %d", other.status)
			}

			head := e.do(t, http.MethodHead, tt.host, "/", nil, hs...)
			if head.status != 200 || head.body != "" || head.header.Get("ETag") != etag ||
				head.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
				t.Fatalf("HEAD: %d %q %v", head.status, head.body, head.header)
			}
		})
	}
	t.Run("private without session", func(t *testing.T) {
		r := e.get(t, "priv.test", "/", "Accept-Encoding: gzip")
		if r.status != http.StatusUnauthorized || strings.Contains(r.body, "site=priv") {
			t.Fatalf("unauthenticated private GET: %d", r.status)
		}
		for k, v := range security {
			if r.header.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, r.header.Get(k), v)
			}
		}
	})
}

// TestStaleHeaders pins every header of a stale answer (origin down).
func TestStaleHeaders(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	o := startOrigin(t, testSite("s1", "one.test", content.Public))
	e := startEdge(t, o, func(c *Config) { c.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	for _, enc := range []string{"", "gzip"} {
		if r := e.get(t, "one.test", "/", "Accept-Encoding: "+enc); r.status != 200 {
			t.Fatalf("warm %q: %d", enc, r.status)
		}
	}
	o.Kill()
	now.Add(int64(24 * time.Hour))
	e.get(t, "one.test", "/")
	eventually(t, 5*time.Second, "the failed render noticed", func() bool { return counter(e.m.renderErrs) > 0 })
	// The first stale answer comes in identity encoding (no compression in
	// a visitor's request: its twin in gzip is built behind it), then in
	// gzip; both with every header.
	first := e.get(t, "one.test", "/", "Accept-Encoding: gzip")
	var r resp
	eventually(t, 5*time.Second, "the gzip stale page", func() bool {
		r = e.get(t, "one.test", "/", "Accept-Encoding: gzip")
		return r.header.Get("Content-Encoding") == "gzip"
	})
	for _, tc := range []struct {
		name string
		r    resp
		want map[string]string
	}{{"stale, first", first, nil}, {"stale", r, map[string]string{"Content-Encoding": "gzip"}}} {
		etag := tc.r.header.Get("ETag")
		if tc.r.status != 200 || !strings.HasPrefix(etag, `"stale-`) {
			t.Fatalf("%s: %d ETag %q", tc.name, tc.r.status, etag)
		}
		want := map[string]string{
			"Content-Security-Policy": pageCSP, "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY",
			"Cache-Control": "public, max-age=5, stale-if-error=86400", "Vary": "Accept-Encoding",
			"ETag": etag, "X-Statusedge-Version": "1", "X-Statusedge-Cache": "stale", "X-Statusedge-Stale": "1",
			"Content-Type": "text/html; charset=utf-8",
		}
		for k, v := range tc.want {
			want[k] = v
		}
		checkHeaders(t, tc.name, tc.r.header, want)
	}
}

// commonAcceptEncodings are the values acceptEncoding answers without parsing.
var commonAcceptEncodings = []string{"gzip, deflate, br, zstd", "gzip, deflate, br", "br", "gzip, br", "br, gzip",
	"br, gzip, deflate", "gzip", "gzip, deflate", "deflate, gzip", "", "identity"}

// FuzzAcceptEncodingFastPath: the unparsed common values answer exactly
// what the parser answers, and so does everything else.
func FuzzAcceptEncodingFastPath(f *testing.F) {
	for _, s := range commonAcceptEncodings {
		f.Add(s)
	}
	for _, s := range []string{"gzip, deflate, br;q=0", "br;q=0, gzip", "gzip;q=0", "GZIP", " br", "br ", "zstd", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := acceptEncoding([]byte(h)), parseAcceptEncoding([]byte(h)); got != want {
			t.Fatalf("acceptEncoding(%q) = %s, the parser says %s", h, encNames[got], encNames[want])
		}
	})
}

// TestSecurityHeadersEverywhere: answers that are not pages (errors, the
// login form, redirects, the skeleton, metrics) carry the security headers
// too, each once; the skeleton keeps its own CSP.
func TestSecurityHeadersEverywhere(t *testing.T) {
	o := startOrigin(t, testSite("pub", "pub.test", content.Public), testSite("priv", "priv.test", content.Private),
		testSite("slow", "slow.test", content.Public))
	sk, err := skeleton.New()
	if err != nil {
		t.Fatal(err)
	}
	e := startEdge(t, o, func(c *Config) { c.RenderBudget = 30 * time.Millisecond; c.Shell = sk })
	post := func(host, path string) resp { return e.do(t, http.MethodPost, host, path, url.Values{"x": {"1"}}) }
	tests := []struct {
		name   string
		r      func() resp
		status int
		csp    string // "" means the page policy
	}{
		{"unknown host", func() resp { return e.get(t, "nobody.test", "/") }, 404, ""},
		{"bad host", func() resp { return e.get(t, "bad_host!", "/") }, 400, ""},
		{"unknown route", func() resp { return e.get(t, "pub.test", "/wp-admin") }, 404, ""},
		{"POST a page", func() resp { return post("pub.test", "/") }, 405, ""},
		{"DELETE", func() resp { return e.do(t, http.MethodDelete, "pub.test", "/", nil) }, 405, ""},
		{"private, no session", func() resp { return e.get(t, "priv.test", "/") }, 401, ""},
		{"login form", func() resp { return e.get(t, "priv.test", loginPath) }, 200, ""},
		{"login refused", func() resp { _, r := login(t, e, "priv.test", "nope", "/"); return r }, 401, ""},
		{"login accepted", func() resp { _, r := login(t, e, "priv.test", "pw-private", "/"); return r }, 303, ""},
		{"login on a public site", func() resp { return e.get(t, "pub.test", loginPath) }, 303, ""},
		{"metrics", func() resp { return e.get(t, "127.0.0.1", "/metrics") }, 200, ""},
		{"skeleton", func() resp { o.SetDelay(time.Second); defer o.SetDelay(0); return e.get(t, "slow.test", "/") }, 200,
			sk.ContentSecurityPolicy(e.table.Load().byID["slow"].entry.Load().e)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d", r.status, tt.status)
			}
			csp := tt.csp
			if csp == "" {
				csp = pageCSP
			}
			for k, v := range map[string]string{"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
				"Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY"} {
				if vs := r.header.Values(k); len(vs) != 1 || vs[0] != v {
					t.Errorf("%s = %q, want %q", k, vs, v)
				}
			}
		})
	}
}

// FuzzParseUnix: parseUnix agrees with strconv.ParseInt on every input
// up to 19 digits (Sign writes plain decimals).
func FuzzParseUnix(f *testing.F) {
	for _, s := range []string{"0", "2000000000", "-1", "+5", "", "-", "+", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "1e9", " 1", "1 ", "0x10", "1_000", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		digits := strings.TrimLeft(s, "+-")
		if len(digits) > 19 || len(s)-len(digits) > 1 {
			return
		}
		got, ok := parseUnix([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("parseUnix(%q) = %d, %v; ParseInt = %d, %v", s, got, ok, want, err)
		}
	})
}

// TestLastStubIsWeak: a page's stale-fallback entry in L1 costs only its
// key, serves the page while L1 has it, never goes back to an older
// version, and holds no bytes once L1 has evicted the page.
func TestLastStubIsWeak(t *testing.T) {
	c, err := newL1(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.c.Close()
	s := &Server{l1: c}
	comp := compressor{brotliLevel: 1}
	st := &site{id: "s1"}
	store := func(version uint64) [numEnc]*variant {
		t.Helper()
		base := appendBaseKey(nil, "s1", version, audPublic, 20000, []byte("/"))
		vs, err := comp.variants(base, page{status: 200, version: version, renderedAt: time.Now(),
			ctype: "text/html; charset=utf-8", body: bytes.Repeat([]byte("page "+itoa(version)+" "), 5000)})
		if err != nil {
			t.Fatal(err)
		}
		r := fillReq{st: st, version: version, aud: audPublic, day: 20000, path: "/", base: string(base)}
		for e, v := range vs {
			s.storeL1(v, r, encoding(e))
		}
		c.c.Wait()
		return vs
	}
	vs := store(3)
	stub := c.get(lastKey("s1", audPublic, "/", encGzip))
	if stub == nil || stub.body != nil || stub.cost() != int64(len(stub.key))+variantOverhead {
		t.Fatalf("fallback entry = %+v", stub)
	}
	if got := s.lastVariant("s1", audPublic, "/", encGzip); got != vs[encGzip] {
		t.Fatalf("fallback = %p, want the page %p", got, vs[encGzip])
	}
	older := store(2)
	if got := s.lastVariant("s1", audPublic, "/", encGzip); got == nil || got.version != 3 {
		t.Fatalf("after storing version 2, the fallback is %+v", got)
	}
	runtime.KeepAlive(older)

	keys := make([]string, 0, numEnc)
	for _, v := range vs {
		keys = append(keys, v.key)
	}
	vs = [numEnc]*variant{}
	for _, k := range keys {
		c.c.Del(xxhash.Sum64String(k))
	}
	c.c.Wait()
	eventually(t, 5*time.Second, "the evicted page collected", func() bool {
		runtime.GC()
		return s.lastVariant("s1", audPublic, "/", encGzip) == nil
	})
}
