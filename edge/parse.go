package edge

import (
	"bytes"
	"net/netip"
)

// maxHost is the longest hostname (RFC 1035).
const maxHost = 253

// parseHost lowercases host into buf, strips a port and validates it as a DNS
// name (letters, digits, hyphens and dots; labels of 1 to 63 bytes, not
// starting or ending with a hyphen; one trailing dot dropped). Bracketed
// IPv6 literals are accepted as-is (they never name a site). It returns the
// normalized name, a slice of buf, and false for anything malformed.
func parseHost(buf *[maxHost + 2]byte, host []byte) ([]byte, bool) {
	if len(host) == 0 {
		return nil, false
	}
	if host[0] == '[' { // [v6]:port
		end := bytes.IndexByte(host, ']')
		if end < 0 || !validPort(host[end+1:], true) {
			return nil, false
		}
		if _, err := netip.ParseAddr(string(host[1:end])); err != nil || end-1 > maxHost {
			return nil, false
		}
		return append(buf[:0], host[:end+1]...), true
	}
	if i := bytes.IndexByte(host, ':'); i >= 0 {
		if !validPort(host[i:], false) {
			return nil, false
		}
		host = host[:i]
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if len(host) == 0 || len(host) > maxHost {
		return nil, false
	}
	out := buf[:0]
	label := 0
	for i, c := range host {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '-':
			if label == 0 || i+1 == len(host) || host[i+1] == '.' {
				return nil, false
			}
		case c == '.':
			if label == 0 {
				return nil, false
			}
			label = -1
		default:
			return nil, false
		}
		label++
		if label > 63 {
			return nil, false
		}
		out = append(out, c)
	}
	if label == 0 { // an empty last label ("a..")
		return nil, false
	}
	return out, true
}

// validPort checks ":digits" (or "" when optional).
func validPort(p []byte, optional bool) bool {
	if len(p) == 0 {
		return optional
	}
	if p[0] != ':' || len(p) < 2 || len(p) > 6 {
		return false
	}
	n := 0
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// route is what a normalized path may be.
type route uint8

const (
	routeNone route = iota
	routeHTML
	routeFeed
	routeJSON
)

// hotPaths are rendered ahead of visitors when a site's version moves.
var hotPaths = [...]string{"/", "/api/v2/summary.json", "/history.atom", "/history.rss"}

var fixedRoutes = map[string]route{
	"/":                                   routeHTML,
	"/history":                            routeHTML,
	"/uptime":                             routeHTML,
	"/history.atom":                       routeFeed,
	"/history.rss":                        routeFeed,
	"/api/v2/summary.json":                routeJSON,
	"/api/v2/status.json":                 routeJSON,
	"/api/v2/components.json":             routeJSON,
	"/api/v2/incidents.json":              routeJSON,
	"/api/v2/incidents/unresolved.json":   routeJSON,
	"/api/v2/scheduled-maintenances.json": routeJSON,
	"/api/v2/scheduled-maintenances/upcoming.json": routeJSON,
	"/api/v2/scheduled-maintenances/active.json":   routeJSON,
	"/api/statusedge/uptime.json":                  routeJSON,
}

// maxPath bounds a normalized path (with "?page=N").
const maxPath = 128

// normalizePath maps a request path (as fasthttp decoded and cleaned it) and
// the raw "page" query value to the canonical path the cache keys on, written
// into buf: a trailing slash is dropped, only the public routes of
// docs/API.md §3 are accepted, ids are [a-z0-9] of 1 to 32 bytes, and "page"
// is kept (as a number 2..9999 without leading zeros) only on /history and
// /uptime; any other query is ignored. It returns the path, its route, and
// routeNone for anything else.
func normalizePath(buf *[maxPath]byte, path, page []byte) ([]byte, route) {
	if len(path) == 0 || path[0] != '/' || len(path) > 64 {
		return nil, routeNone
	}
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	r, ok := fixedRoutes[string(path)]
	if !ok {
		var id []byte
		switch {
		case bytes.HasPrefix(path, []byte("/incidents/")):
			id = path[len("/incidents/"):]
		case bytes.HasPrefix(path, []byte("/maintenances/")):
			id = path[len("/maintenances/"):]
		default:
			return nil, routeNone
		}
		if !validID(id) {
			return nil, routeNone
		}
		r = routeHTML
	}
	out := append(buf[:0], path...)
	if len(page) > 0 && (string(path) == "/history" || string(path) == "/uptime") && validPage(page) {
		out = append(out, "?page="...)
		out = append(out, page...)
	}
	return out, r
}

func validID(id []byte) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validPage accepts 2..9999 (page 1 is the page without the parameter).
func validPage(p []byte) bool {
	if len(p) == 0 || len(p) > 4 || p[0] < '1' || p[0] > '9' {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return !(len(p) == 1 && p[0] == '1')
}

// maxXFFHops bounds how many X-Forwarded-For entries are examined.
const maxXFFHops = 16

// clientAddr returns the visitor's address: remote itself unless remote is a
// trusted proxy, in which case X-Forwarded-For is walked from the right,
// skipping trusted proxies, and the first untrusted hop is the client. A
// malformed hop stops the walk at the last trusted one (never believing an
// address a client could have written).
func clientAddr(remote netip.Addr, xff [][]byte, trusted []netip.Prefix) netip.Addr {
	remote = remote.Unmap()
	if !isTrusted(remote, trusted) {
		return remote
	}
	hops := 0
	client := remote
	for i := len(xff) - 1; i >= 0; i-- {
		h := xff[i]
		for len(h) > 0 {
			j := bytes.LastIndexByte(h, ',')
			part := bytes.TrimSpace(h[j+1:])
			if j < 0 {
				h = nil
			} else {
				h = h[:j]
			}
			if hops++; hops > maxXFFHops {
				return client
			}
			a, err := netip.ParseAddr(string(part))
			if err != nil || a.Zone() != "" {
				return client
			}
			a = a.Unmap()
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// acceptEncoding picks br, then gzip, then identity from an Accept-Encoding
// header, honouring "q=0" refusals.
func acceptEncoding(h []byte) encoding {
	switch string(h) { // what browsers and tools send, without parsing
	case "gzip, deflate, br, zstd", "gzip, deflate, br", "br", "gzip, br", "br, gzip", "br, gzip, deflate":
		return encBrotli
	case "gzip", "gzip, deflate", "deflate, gzip":
		return encGzip
	case "", "identity":
		return encIdentity
	}
	return parseAcceptEncoding(h)
}

// parseAcceptEncoding is acceptEncoding for any header.
func parseAcceptEncoding(h []byte) encoding {
	br, gz := false, false
	for len(h) > 0 {
		var tok []byte
		if i := bytes.IndexByte(h, ','); i >= 0 {
			tok, h = h[:i], h[i+1:]
		} else {
			tok, h = h, nil
		}
		name := tok
		q := []byte(nil)
		if i := bytes.IndexByte(tok, ';'); i >= 0 {
			name, q = tok[:i], tok[i+1:]
		}
		name = bytes.TrimSpace(name)
		if refused(q) {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("br")):
			br = true
		case bytes.EqualFold(name, []byte("gzip")):
			gz = true
		}
	}
	switch {
	case br:
		return encBrotli
	case gz:
		return encGzip
	}
	return encIdentity
}

// refused reports whether params carry q=0 (q=0, q=0.0, q=0.000).
func refused(params []byte) bool {
	params = bytes.TrimSpace(params)
	if len(params) < 3 || (params[0] != 'q' && params[0] != 'Q') || params[1] != '=' {
		return false
	}
	v := params[2:]
	if v[0] != '0' {
		return false
	}
	for _, c := range v[1:] {
		if c != '0' && c != '.' {
			return false
		}
	}
	return true
}
