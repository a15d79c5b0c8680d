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
	// X-Statusedge-Cache (and X-Statusedge-Stale for stale copies), by
	// [private][outcome].
	page [2][outStale + 1]fasthttp.ResponseHeader
}

func newHeaderBlocks(csp, publicCC []byte) *headerBlocks {
	b := &headerBlocks{}
	security := func(h *fasthttp.ResponseHeader) {
		h.SetNoDefaultContentType(true)
		h.SetCanonical(hCSP, csp)
		h.SetCanonical(hXCTO, vNosniff)
		h.SetCanonical(hReferrer, vReferrer)
		h.SetCanonical(hXFO, vDeny)
	}
	for priv := range 2 {
		for out := range outStale + 1 {
			h := &b.page[priv][out]
			security(h)
			private, stale := priv == 1, out == outStale
			cc := publicCC
			switch {
			case private:
				cc = vPrivate
			case stale:
				cc = vStalePublic
			}
			h.SetCanonical(hCacheControl, cc)
			if private {
				h.SetCanonical(hVary, vAECookie)
			} else {
				h.SetCanonical(hVary, vAcceptEncoding)
			}
			h.SetCanonical(hCache, outValues[out])
			if stale {
				h.SetCanonical(hStale, vOne)
			}
		}
	}
	return b
}

// pageHeaders is the block for a page answer; out is at most outStale.
func (b *headerBlocks) pageHeaders(private bool, out outcome) *fasthttp.ResponseHeader {
	p := 0
	if private {
		p = 1
	}
	return &b.page[p][out]
}
