package edge

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{
		"acme.localhost", "ACME.localhost:8080", "acme.localhost.", // valid forms
		"", ":80", "a..b", ".a", "a-.b", "-a.b", "a_b.test", // invalid
		"[::1]:443", "[::1", "[zz]:1", "a.b:99999", "a.b:", "a.b:1:2",
		strings.Repeat("a", 64) + ".test", strings.Repeat("a.", 127) + "a", "ex\x00ample.test", "münchen.test",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf [maxHost + 2]byte
		out, ok := parseHost(&buf, in)
		if !ok {
			return
		}
		if len(out) == 0 || len(out) > maxHost+2 {
			t.Fatalf("parseHost(%q) = %q: bad length", in, out)
		}
		if out[0] != '[' {
			for _, c := range out {
				if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
					t.Fatalf("parseHost(%q) = %q: byte %q", in, out, c)
				}
			}
			// Idempotent: a normalized name parses to itself.
			var buf2 [maxHost + 2]byte
			again, ok := parseHost(&buf2, out)
			if !ok || !bytes.Equal(again, out) {
				t.Fatalf("parseHost(%q) = %q, but again = %q %v", in, out, again, ok)
			}
			if !bytes.EqualFold(out, bytes.TrimSuffix(bytes.SplitN(in, []byte(":"), 2)[0], []byte("."))) {
				t.Fatalf("parseHost(%q) = %q is not the input's name", in, out)
			}
		}
	})
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range [][2]string{
		{"/", ""}, {"/history", "2"}, {"/history/", "10"}, {"/uptime", "9999"}, {"/incidents/abc123", ""},
		{"/history", "1"}, {"/history", "01"}, {"/history", "10000"}, {"/", "2"}, {"/incidents/ABC", ""},
		{"/incidents/a|b", ""}, {"/incidents/", ""}, {"/api/v2/summary.json", ""}, {"/../etc/passwd", ""},
		{"//", ""}, {"", ""}, {"/history", "2|x"}, {"/maintenances/" + strings.Repeat("a", 33), ""},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, path, page []byte) {
		var buf [maxPath]byte
		out, rt := normalizePath(&buf, path, page)
		if rt == routeNone {
			return
		}
		if len(out) == 0 || out[0] != '/' || len(out) > maxPath || bytes.ContainsAny(out, "|\x00 %") {
			t.Fatalf("normalizePath(%q, %q) = %q: not a clean path", path, page, out)
		}
		p, q, hasQ := bytes.Cut(out, []byte("?"))
		if hasQ && (!bytes.HasPrefix(q, []byte("page=")) || !validPage(q[5:])) {
			t.Fatalf("normalizePath(%q, %q) = %q: bad query", path, page, out)
		}
		// Idempotent.
		var buf2 [maxPath]byte
		var pg []byte
		if hasQ {
			pg = q[5:]
		}
		again, rt2 := normalizePath(&buf2, p, pg)
		if rt2 != rt || !bytes.Equal(again, out) {
			t.Fatalf("normalizePath not idempotent: %q -> %q -> %q", path, out, again)
		}
	})
}

func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{
		"10.1.2.3", "10.1.2.3, 192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1", "", ",", " , ,",
		"garbage", "10.0.0.1%eth0", "fe80::1%eth0", strings.Repeat("127.0.0.1,", 40), "1.2.3.4 , 127.0.0.1",
	} {
		f.Add(s)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	remote := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, xff string) {
		a := clientAddr(remote, [][]byte{[]byte(xff)}, trusted)
		if !a.IsValid() {
			t.Fatalf("clientAddr(%q) is invalid", xff)
		}
		isHop := a == remote
		for _, h := range strings.Split(xff, ",") {
			if p, err := netip.ParseAddr(strings.TrimSpace(h)); err == nil && p.Unmap() == a {
				isHop = true
			}
		}
		if !isHop {
			t.Fatalf("clientAddr(%q) = %s: neither the peer nor a hop", xff, a)
		}
		if a.Zone() != "" {
			t.Fatalf("clientAddr(%q) = %s has a zone", xff, a)
		}
		// An untrusted peer's header is never believed.
		if got := clientAddr(netip.MustParseAddr("192.0.2.1"), [][]byte{[]byte(xff)}, trusted); got != netip.MustParseAddr("192.0.2.1") {
			t.Fatalf("untrusted peer: clientAddr(%q) = %s", xff, got)
		}
	})
}

func FuzzSessionCookie(f *testing.F) {
	g, _ := NewSessionSigner(testKey)
	exp := time.Unix(2_000_000_000, 0)
	good, _ := g.Sign(Session{SiteID: "site1", Audience: "aud1", Method: "password", Expires: exp})
	for _, s := range []string{good, "", ".", "a.b", good + "x", strings.Replace(good, ".", "..", 1),
		"czEKc2l0ZTEKCgoKMjAwMDAwMDAwMA.AAAA", strings.Repeat("A", 600)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		s, err := g.Verify(v, "site1", exp.Add(-time.Hour))
		if err != nil {
			return
		}
		// Anything accepted must be exactly what was signed.
		if string(v) != good || s.Audience != "aud1" || s.SiteID != "site1" {
			t.Fatalf("accepted %q as %+v", v, s)
		}
	})
}

func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"gzip", "br", "gzip, br", "br;q=0, gzip", "*", "identity", "GZIP;Q=1", "br;q=0.000", ",,,;", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		e := acceptEncoding([]byte(h))
		if e >= numEnc {
			t.Fatalf("acceptEncoding(%q) = %d", h, e)
		}
		if e == encBrotli && !strings.Contains(strings.ToLower(h), "br") || e == encGzip && !strings.Contains(strings.ToLower(h), "gzip") {
			t.Fatalf("acceptEncoding(%q) = %s, not offered", h, encNames[e])
		}
	})
}

func TestClientAddrTable(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	proxy := netip.MustParseAddr("127.0.0.1")
	for _, tt := range []struct {
		name   string
		remote netip.Addr
		xff    []string
		want   string
	}{
		{"no proxy", netip.MustParseAddr("192.0.2.1"), []string{"198.51.100.1"}, "192.0.2.1"},
		{"one hop", proxy, []string{"198.51.100.1"}, "198.51.100.1"},
		{"skip trusted hops", proxy, []string{"198.51.100.1, 10.0.0.5, 10.0.0.6"}, "198.51.100.1"},
		{"spoofed left", proxy, []string{"10.0.0.9, 198.51.100.1"}, "198.51.100.1"},
		{"all trusted", proxy, []string{"10.0.0.1"}, "10.0.0.1"},
		{"malformed stops at last trusted", proxy, []string{"198.51.100.1, bogus, 10.0.0.3"}, "10.0.0.3"},
		{"empty header", proxy, []string{""}, "127.0.0.1"},
		{"v6", proxy, []string{"2001:db8::1"}, "2001:db8::1"},
		{"mapped", proxy, []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"zone refused", proxy, []string{"fe80::1%eth0"}, "127.0.0.1"},
		{"several headers", proxy, []string{"198.51.100.7", "198.51.100.8"}, "198.51.100.8"},
	} {
		var hs [][]byte
		for _, h := range tt.xff {
			hs = append(hs, []byte(h))
		}
		if got := clientAddr(tt.remote, hs, trusted); got.String() != tt.want {
			t.Errorf("%s: clientAddr = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestVariantRoundTrip(t *testing.T) {
	var c compressor
	c.brotliLevel = 5
	vs, err := c.variants([]byte("se1|s|1|public|1|/"), page{status: 200, version: 7, renderedAt: time.Unix(5, 0), ctype: "text/html", body: []byte("<p>hi</p>")})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		got, err := unmarshalVariant(marshalVariant(v))
		if err != nil || got.key != v.key || got.version != 7 || !bytes.Equal(got.body, v.body) || !bytes.Equal(got.etag, v.etag) || got.enc != v.enc {
			t.Fatalf("round trip of %s: %+v %v", v.key, got, err)
		}
	}
	for _, bad := range []string{"", "SE1\n", "XXXX" + strings.Repeat("\x00", 30), "SE1\n\x09" + strings.Repeat("\x00", 30)} {
		if _, err := unmarshalVariant([]byte(bad)); err == nil {
			t.Errorf("unmarshalVariant(%q) accepted", bad)
		}
	}
}
