package edge

import (
	"bytes"
	"crypto/tls"

	"github.com/valyala/fasthttp"

	"github.com/statusedge/statusedge/content"
)

// HTTPS and the plain-HTTP port around it. The edge serves the same pages
// on both; what differs:
//   - HTTPSHandler: a request whose Host belongs to another site than the
//     connection's SNI gets 421 (a browser reusing a connection across
//     names must not be served a page under a certificate of another site);
//     HSTS on the answers of domains whose owner opted in.
//   - PlainHandler: ACME HTTP-01 (answered by the TLS layer, from the
//     shared storage), a pending domain's ownership token at
//     content.DomainHTTPPath, and a redirect to HTTPS for domains whose
//     owner opted in. Everything else is the page, as on HTTPS.

// domainTable is the registry's custom domains by name.
type domainTable struct {
	byName map[string]content.RegistryDomain
}

// hstsValue is the Strict-Transport-Security of opted-in domains (one year).
var hstsValue = []byte("max-age=31536000")

// setDomains indexes reg's custom domains and hands the verified ones to
// Config.OnDomains; tableMu is held.
func (s *Server) setDomains(reg content.Registry) {
	dt := &domainTable{byName: map[string]content.RegistryDomain{}}
	var verified []string
	for _, e := range reg.Sites {
		for _, d := range e.Domains {
			dt.byName[d.Name] = d
			if d.Verified {
				verified = append(verified, d.Name)
			}
		}
	}
	s.domains.Store(dt)
	if s.cfg.OnDomains != nil {
		s.cfg.OnDomains(verified)
	}
}

func (s *Server) domain(host []byte) (content.RegistryDomain, bool) {
	dt := s.domains.Load()
	if dt == nil {
		return content.RegistryDomain{}, false
	}
	d, ok := dt.byName[string(host)]
	return d, ok
}

func requestHost(ctx *fasthttp.RequestCtx, hb *[maxHost + 2]byte) ([]byte, bool) {
	raw := ctx.Request.Header.Host()
	if len(raw) == 0 {
		raw = ctx.Host()
	}
	return parseHost(hb, raw)
}

// serverName is the connection's SNI ("" without TLS), read in place:
// fasthttp's TLSConnectionState copies the state to the heap per request.
func serverName(ctx *fasthttp.RequestCtx) string {
	if c, ok := ctx.Conn().(*tls.Conn); ok {
		return c.ConnectionState().ServerName
	}
	return ""
}

// HTTPSHandler is the handler of the HTTPS listener.
func (s *Server) HTTPSHandler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		var hb, sb [maxHost + 2]byte
		host, ok := requestHost(ctx, &hb)
		if name := serverName(ctx); ok && name != "" {
			sni, sok := parseHost(&sb, []byte(name))
			if sok && !bytes.Equal(sni, host) {
				t := s.table.Load()
				if a, b := t.byHost[string(sni)], t.byHost[string(host)]; a != b || a == nil {
					plain(ctx, fasthttp.StatusMisdirectedRequest, "This connection is for another address: open a new one.\n")
					s.securityHeaders(&ctx.Response.Header)
					return
				}
			}
		}
		s.handle(ctx)
		if ok {
			if d, found := s.domain(host); found && d.HSTS && d.Verified {
				ctx.Response.Header.SetCanonical([]byte("Strict-Transport-Security"), hstsValue)
			}
		}
	}
}

// PlainHandler is the handler of a plain-HTTP listener. acme answers ACME
// HTTP-01 requests (nil: none); redirect sends opted-in domains to HTTPS
// on httpsPort (443 is left out of the URL). Serve's listener runs
// PlainHandler(nil, false, ""): pending domains' tokens, then the page.
func (s *Server) PlainHandler(acme fasthttp.RequestHandler, redirect bool, httpsPort string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		path := ctx.Path()
		if acme != nil && bytes.HasPrefix(path, []byte("/.well-known/acme-challenge/")) {
			acme(ctx)
			return
		}
		if bytes.HasPrefix(path, []byte(content.DomainHTTPPath)) && s.ownershipToken(ctx, path) {
			return
		}
		if redirect && (ctx.IsGet() || ctx.IsHead()) {
			var hb [maxHost + 2]byte
			if host, ok := requestHost(ctx, &hb); ok {
				if d, found := s.domain(host); found && d.Verified && d.HTTPSRedirect {
					target := "https://" + string(host)
					if httpsPort != "" && httpsPort != "443" {
						target += ":" + httpsPort
					}
					if uri := ctx.RequestURI(); bytes.HasPrefix(uri, []byte("/")) {
						target += string(uri)
					} else {
						target += "/"
					}
					ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
					ctx.Redirect(target, fasthttp.StatusPermanentRedirect)
					return
				}
			}
		}
		s.handle(ctx)
	}
}

// ownershipToken answers a pending domain's HTTP ownership token; false if
// the request is not for one.
func (s *Server) ownershipToken(ctx *fasthttp.RequestCtx, path []byte) bool {
	var hb [maxHost + 2]byte
	host, ok := requestHost(ctx, &hb)
	if !ok {
		return false
	}
	d, found := s.domain(host)
	tok := path[len(content.DomainHTTPPath):]
	if !found || d.Verified || d.Token == "" || string(tok) != d.Token {
		return false
	}
	plain(ctx, fasthttp.StatusOK, d.Token)
	return true
}
