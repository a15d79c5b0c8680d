package edge

import "github.com/valyala/fasthttp"

// headerBlocks are the constant response headers, built once per Server.
// A response starts from one of them with a single CopyTo, so the hot path
// does no per-request formatting, sanitizing or header-list scans; only the
// per-variant values (ETag, version, type, encoding) are set on top.
//
// The blocks mirror the fasthttp.Server's own response defaults
// (NoDefaultContentType), since CopyTo replaces the whole header.
type headerBlocks struct {
	// page is the security headers plus Cache-Control, Vary and
	// X-Statusedge-Cache (and X-Statusedge-Stale with a short Cache-Control
	// for stale copies), by [private][stale][outcome].
	page [2][2][outStale + 1]fasthttp.ResponseHeader
}

func newHeaderBlocks(csp, publicCC []byte) *headerBlocks {
	b := &headerBlocks{}
	for priv := range 2 {
		for st := range 2 {
			for out := range outStale + 1 {
				h := &b.page[priv][st][out]
				private, stale := priv == 1, st == 1 || out == outStale
				h.SetNoDefaultContentType(true)
				h.SetCanonical(hCSP, csp)
				h.SetCanonical(hXCTO, vNosniff)
				h.SetCanonical(hReferrer, vReferrer)
				h.SetCanonical(hXFO, vDeny)
				cc, vary := publicCC, vAcceptEncoding
				switch {
				case private:
					cc, vary = vPrivate, vAECookie
				case stale:
					cc = vStalePublic
				}
				h.SetCanonical(hCacheControl, cc)
				h.SetCanonical(hVary, vary)
				h.SetCanonical(hCache, outValues[out])
				if stale {
					h.SetCanonical(hStale, vOne)
				}
			}
		}
	}
	return b
}

// pageHeaders is the block for a page answer; out is at most outStale.
func (b *headerBlocks) pageHeaders(private, stale bool, out outcome) *fasthttp.ResponseHeader {
	p, st := 0, 0
	if private {
		p = 1
	}
	if stale {
		st = 1
	}
	return &b.page[p][st][out]
}
