package edge

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/origin/render/style"
	"github.com/valyala/fasthttp"
)

// Header names and values, allocated once.
var (
	hCSP            = []byte("Content-Security-Policy")
	hXCTO           = []byte("X-Content-Type-Options")
	vNosniff        = []byte("nosniff")
	hReferrer       = []byte("Referrer-Policy")
	vReferrer       = []byte("strict-origin-when-cross-origin")
	hXFO            = []byte("X-Frame-Options")
	vDeny           = []byte("DENY")
	hVary           = []byte("Vary")
	vAcceptEncoding = []byte("Accept-Encoding")
	vAECookie       = []byte("Accept-Encoding, Cookie")
	hAcceptEncoding = []byte(fasthttp.HeaderAcceptEncoding)
	hIfNoneMatch    = []byte(fasthttp.HeaderIfNoneMatch)
	hETag           = []byte("ETag")
	hCacheControl   = []byte("Cache-Control")
	hVersion        = []byte("X-Statusedge-Version")
	hStale          = []byte("X-Statusedge-Stale")
	hSkeleton       = []byte("X-Statusedge-Skeleton")
	hCache          = []byte("X-Statusedge-Cache")
	hACAO           = []byte("Access-Control-Allow-Origin")
	vAny            = []byte("*")
	apiV2           = []byte("/api/v2/")
	outValues       = [numOutcomes][]byte{[]byte("l1"), []byte("l2"), []byte("origin"), []byte("previous"), []byte("skeleton"), []byte("stale")}
	vOne            = []byte("1")
	vNoStore        = []byte("no-store")
	vPrivate        = []byte("private, no-store")
	vStalePublic    = []byte("public, max-age=5, stale-if-error=86400")
	encValues       = [numEnc][]byte{nil, []byte("gzip"), []byte("br")}
	ctPlain         = []byte("text/plain; charset=utf-8")
	ctHTML          = []byte("text/html; charset=utf-8")
	ctHTMLType      = []byte("text/html")
	ctJSON          = []byte("application/json")
)

// loginPath is the edge's own login form (GET shows it, POST checks it);
// logoutPath signs out (POST: the session cookie is cleared).
const (
	loginPath  = "/_statusedge/login"
	logoutPath = "/_statusedge/logout"
)

const (
	// maxPassword is the longest password checked (bcrypt reads 72 bytes).
	maxPassword = 256
	// loginQueueWait is how long a login waits for a password-check slot.
	loginQueueWait = 2 * time.Second
)

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	// fasthttp reads the clock as the request arrives: the latency starts
	// there, and the page's day comes from it unless a clock is configured.
	start := ctx.Time()
	if start.IsZero() { // a RequestCtx built in-process
		start = time.Now()
	}
	now := start
	if s.clock != nil {
		now = s.clock()
	}
	out := s.serve(ctx, now)
	if s.lim.pressure.Load() {
		ctx.SetConnectionClose() // near MaxConns: no idle keep-alive holds a slot
	}
	if !out.fromBlock() {
		s.securityHeaders(&ctx.Response.Header)
	}
	s.m.latency[out].Observe(time.Since(start).Seconds())
}

// fromBlock reports whether writeVariant answered, starting from a header
// block that already holds the security headers. Every other answer gets
// them from securityHeaders once it is written.
func (o outcome) fromBlock() bool {
	return o <= outNotModified && o != outSkeleton
}

// securityHeaders adds the security headers a response lacks (the skeleton
// brings its own CSP, with its script's hash).
func (s *Server) securityHeaders(h *fasthttp.ResponseHeader) {
	for _, kv := range [...][2][]byte{{hCSP, s.csp}, {hXCTO, vNosniff}, {hReferrer, vReferrer}, {hXFO, vDeny}} {
		if len(h.PeekBytes(kv[0])) == 0 {
			h.SetCanonical(kv[0], kv[1])
		}
	}
}

// plain writes a short text answer that no cache keeps.
func plain(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.Header.SetContentTypeBytes(ctPlain)
	ctx.SetStatusCode(status)
	ctx.SetBodyString(msg)
}

// serve answers one request. A page answer goes through writeVariant; any
// other answer is written without the security headers, which handle adds.
func (s *Server) serve(ctx *fasthttp.RequestCtx, now time.Time) outcome {
	isGet := ctx.IsGet() || ctx.IsHead()
	if !isGet && !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "GET, HEAD, POST")
		plain(ctx, fasthttp.StatusMethodNotAllowed, "Method not allowed.\n")
		return outOther
	}
	var hb [maxHost + 2]byte
	rawHost := ctx.Request.Header.Host()
	if len(rawHost) == 0 { // a request built in-process, not read off the wire
		rawHost = ctx.Host()
	}
	host, ok := parseHost(&hb, rawHost)
	if !ok {
		plain(ctx, fasthttp.StatusBadRequest, "Bad request.\n")
		return outOther
	}
	path := ctx.Path()
	tbl := s.table.Load()
	st := tbl.byHost[string(host)]
	if st == nil && isGet {
		switch string(path) {
		case "/metrics":
			if s.operator(ctx) {
				s.metricH(ctx)
				return outOther
			}
		case "/livez", "/readyz":
			s.probe(ctx, string(path) == "/readyz")
			return outOther
		}
	}
	if st == nil && s.cfg.LoopbackSite != "" && isLoopbackName(host) {
		st = tbl.byID[s.cfg.LoopbackSite]
	}
	if st == nil {
		if !s.Ready() { // no registry yet: no answer about which sites exist
			ctx.Response.Header.Set("Retry-After", "2")
			plain(ctx, fasthttp.StatusServiceUnavailable, "This edge is starting. Please try again shortly.\n")
			return outError
		}
		plain(ctx, fasthttp.StatusNotFound, "No status page is served at this address.\n")
		return outOther
	}
	se := st.entry.Load()
	if k := st.known.Load(); se.e.Version < k && st.entryChecked.Load() < k {
		// The site changed since its entry: its access rules may have too
		// (a site made private). Fail closed: route with a fresh entry or
		// not at all.
		if se = s.freshEntry(st); se == nil {
			ctx.Response.Header.Set("Retry-After", "2")
			plain(ctx, fasthttp.StatusServiceUnavailable, "This status page is being updated. Please try again shortly.\n")
			return outError
		}
	}
	if string(path) == logoutPath {
		return s.logout(ctx, st, now)
	}
	if string(path) == loginPath {
		return s.login(ctx, st, se)
	}
	if !isGet {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		plain(ctx, fasthttp.StatusMethodNotAllowed, "Method not allowed.\n")
		return outOther
	}
	aud, originAud, ok := s.admit(ctx, st, se, now)
	if !ok {
		s.loginForm(ctx, se, fasthttp.StatusUnauthorized, string(path), "")
		return outDenied
	}
	if originAud == "" { // render-ahead renders for the viewers seen recently
		markSeen(&st.seen, now.Unix())
	} else if k, ok := se.audKeys[originAud]; ok {
		markSeen(k.seen, now.Unix())
	}
	vw := viewOf(aud)
	var pb [maxPath]byte
	npath, rt := normalizePath(&pb, path, ctx.QueryArgs().Peek("page"))
	if rt == routeNone || (se.e.Version >= st.known.Load() && !se.exists(npath, now)) {
		plain(ctx, fasthttp.StatusNotFound, "This page does not exist.\n")
		return outOther
	}
	enc := acceptEncoding(ctx.Request.Header.PeekCanonical(hAcceptEncoding))
	ver := st.serveVersion()
	day := st.today(now)
	minute := st.minute(ver, now)

	kp := s.keyBufs.Get().(*[]byte)
	base := appendMinuteKey((*kp)[:0], st.id, ver, aud, day, minute, npath)
	baseLen := len(base)
	full := appendEnc(base, enc)
	*kp = full
	// A public site's Statuspage JSON may be read from any origin (a
	// company's own site showing its status); private and audience pages
	// never.
	cors := aud == audPublic && bytes.HasPrefix(npath, apiV2)
	if v := s.l1.get(full); v != nil {
		s.keyBufs.Put(kp)
		s.m.hits[layerL1].Inc()
		out := s.writePage(ctx, st, se, v, vw, outL1, now)
		if cors {
			ctx.Response.Header.SetCanonical(hACAO, vAny)
		}
		return out
	}
	r := fillReq{st: st, version: ver, aud: aud, originAud: originAud, day: day, minute: minute, at: now,
		path: string(npath), base: string(full[:baseLen])}
	s.keyBufs.Put(kp)
	out := s.miss(ctx, se, r, rt, enc, vw)
	if cors {
		ctx.Response.Header.SetCanonical(hACAO, vAny)
	}
	return out
}

// miss waits for the page's fill under the budget (HTML only: feeds and JSON
// wait for the render), then serves it, the skeleton, or a stale copy.
func (s *Server) miss(ctx *fasthttp.RequestCtx, se *siteEntry, r fillReq, rt route, enc encoding, vw view) outcome {
	// At midnight every key of a site goes cold at once, and a new version
	// makes new keys. While the origin is healthy, the page's newest earlier
	// copy (another day's or version's, never older than what was served)
	// answers at once and the fill replaces it in the background. It is
	// looked up before the fill starts: the fill writes that copy too, and
	// a later look could find the fill's own page.
	prev := s.previousCopy(r, enc)
	c, leader := s.flights.join(r.base)
	switch {
	case leader && s.takeFill(r.st):
		s.goBackground(func() { // outlives the visitor; Shutdown waits for it
			defer s.releaseFill(r.st)
			s.fill(c, r)
		})
	case leader: // past a fill bound: no new work for this key
		s.m.fillsRefused.Inc()
		c.err = errFillsBusy
		s.flights.finish(r.base, c)
		if prev != nil {
			s.m.previous.Inc()
			return s.writePage(ctx, r.st, se, prev, vw, outPrevious, r.at)
		}
		if rt == routeHTML {
			return s.skeleton(ctx, se, r)
		}
		ctx.Response.Header.Set("Retry-After", "5")
		plain(ctx, fasthttp.StatusServiceUnavailable, "This status page is busy. Please try again shortly.\n")
		return outError
	default:
		s.m.coalesced.Inc()
	}
	if prev != nil {
		s.m.previous.Inc()
		return s.writePage(ctx, r.st, se, prev, vw, outPrevious, r.at)
	}
	// Feeds and JSON have no skeleton: they wait for the render, but not
	// long for a hung origin (dataWait), and no longer than HTML for one
	// that has gone silent.
	budget := min(s.cfg.RenderTimeout, dataWait)
	if rt == routeHTML || s.originSilent(r.at.UnixNano()) {
		budget = s.cfg.RenderBudget
	}
	t := time.NewTimer(budget)
	defer t.Stop()
	done := false
	select {
	case <-c.done:
		done = true
	case <-t.C:
		if rt == routeHTML {
			return s.skeleton(ctx, se, r)
		}
		// A feed or JSON gets its newest copy marked stale, or 503 (the
		// fill goes on in the background).
	}
	if done && c.err == nil {
		s.m.hits[c.layer].Inc()
		return s.writePage(ctx, r.st, se, c.res[enc], vw, outcome(c.layer), r.at)
	}
	if v := s.staleVariant(se, r.st.id, r.aud, r.path, rt, enc); v != nil {
		s.m.stales.Inc()
		return s.writeVariant(ctx, v, vw, true, outStale)
	}
	ctx.Response.Header.Set("Retry-After", "5")
	plain(ctx, fasthttp.StatusServiceUnavailable, "This status page is temporarily unavailable. Please try again shortly.\n")
	return outError
}

// dataWait bounds how long a feed or JSON miss waits for its render.
const dataWait = 3 * time.Second

// previousCopy is the page's newest copy under another key (an earlier day
// or version, at least r.version), or nil: none, or the origin failing (the
// stale path then marks the copy it serves).
func (s *Server) previousCopy(r fillReq, enc encoding) *variant {
	if s.originFailing() {
		return nil
	}
	lv := s.l1.get(lastKey(r.st.id, r.aud, r.path, enc))
	if lv == nil || lv.version < r.version {
		return nil
	}
	p := lv.page()
	if p == nil || p.key == string(appendEnc([]byte(r.base), enc)) {
		return nil // gone, or this very key (the fill finds it)
	}
	return p
}

// writePage serves v found for st, marked stale (its twin, the stale
// headers) when the edge may be out of date at now: no origin replica has
// answered for StaleAfter, or the site's newest known version has not been
// served for StaleAfter.
func (s *Server) writePage(ctx *fasthttp.RequestCtx, st *site, se *siteEntry, v *variant, vw view, out outcome, now time.Time) outcome {
	if n := now.UnixNano(); s.originSilent(n) || st.behind(n, s.cfg.StaleAfter) {
		s.m.markedStale.Inc()
		return s.writeVariant(ctx, s.staleTwin(v, se.loc), vw, true, out)
	}
	return s.writeVariant(ctx, v, vw, false, out)
}

// probe answers the unauthenticated health probes (no tenant data):
// /livez 200 while the edge serves, /readyz 200 once it has a registry.
func (s *Server) probe(ctx *fasthttp.RequestCtx, readiness bool) {
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.Header.SetContentTypeBytes(ctJSON)
	switch {
	case !readiness:
		ctx.SetBodyString(`{"status":"live"}` + "\n")
	case s.Ready():
		ctx.SetBodyString(`{"status":"ready"}` + "\n")
	default:
		ctx.Response.Header.Set("Retry-After", "2")
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBodyString(`{"status":"no_registry"}` + "\n")
	}
}

// view is who a page is for: the public, a private site's whole-site
// viewer, or one audience.
type view uint8

const (
	viewPublic view = iota
	viewPrivate
	viewAudience
)

func viewOf(aud string) view {
	switch aud {
	case audPublic:
		return viewPublic
	case audPrivate:
		return viewPrivate
	}
	return viewAudience
}

// writeVariant hands v's bytes to fasthttp without copying. The constant
// headers come from one precomputed block (see headerBlocks); out is how the
// page was found (outL1 … outStale), stale whether it is marked stale.
//
// An audience's page carries no X-Statusedge-Version: the site's version
// moves with every audience's incidents, so it would tell one audience of
// the others' activity. Its ETag is of the bytes alone (as every page's),
// and the bytes say only what the audience sees (content.Site.ForAudience).
func (s *Server) writeVariant(ctx *fasthttp.RequestCtx, v *variant, vw view, stale bool, out outcome) outcome {
	h := &ctx.Response.Header
	s.hdr.pageHeaders(vw != viewPublic, stale, out).CopyTo(h)
	h.SetCanonical(hETag, v.etag)
	if vw != viewAudience {
		h.SetCanonical(hVersion, v.verHdr)
	}
	if inm := ctx.Request.Header.PeekCanonical(hIfNoneMatch); len(inm) > 0 && v.status == 200 && etagMatch(inm, v.etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return outNotModified
	}
	if v.status != 200 {
		ctx.SetStatusCode(v.status)
	}
	h.SetContentTypeBytes(v.ctype)
	if v.enc != encIdentity {
		h.SetContentEncodingBytes(encValues[v.enc])
	}
	ctx.Response.SetBodyRaw(v.body)
	return out
}

// etagMatch reports whether an If-None-Match list names etag (or is "*").
func etagMatch(inm, etag []byte) bool {
	inm = bytes.TrimSpace(inm)
	if len(inm) == 1 && inm[0] == '*' {
		return true
	}
	for len(inm) > 0 {
		var t []byte
		if i := bytes.IndexByte(inm, ','); i >= 0 {
			t, inm = bytes.TrimSpace(inm[:i]), inm[i+1:]
		} else {
			t, inm = bytes.TrimSpace(inm), nil
		}
		t = bytes.TrimPrefix(t, []byte("W/"))
		if bytes.Equal(t, etag) {
			return true
		}
	}
	return false
}

// operator reports whether the peer may read /metrics on the visitors'
// listener: a loopback peer that is not a proxy and forwarded nothing.
// Behind a proxy every visitor's request comes from the proxy's address
// (the review: a trusted proxy's network read /metrics for everyone), so
// neither a trusted proxy nor a request with forwarding headers is the
// operator; ServeMetrics gives the operator an address of their own.
func (s *Server) operator(ctx *fasthttp.RequestCtx) bool {
	a := remoteAddr(ctx)
	h := &ctx.Request.Header
	return a.IsLoopback() && !isTrusted(a, s.cfg.TrustedProxies) &&
		len(h.Peek(fasthttp.HeaderXForwardedFor)) == 0 && len(h.Peek("Forwarded")) == 0 && len(h.Peek("X-Real-Ip")) == 0
}

// isLoopbackName reports whether a parsed Host names this machine:
// localhost, 127.0.0.0/8 or [::1].
func isLoopbackName(host []byte) bool {
	if string(host) == "localhost" {
		return true
	}
	if n := len(host); n > 2 && host[0] == '[' && host[n-1] == ']' {
		host = host[1 : n-1]
	}
	a, err := netip.ParseAddr(string(host))
	return err == nil && a.Unmap().IsLoopback()
}

// remoteAddr is the TCP peer's address (invalid for non-IP transports).
func remoteAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// admit decides, before any cache read, who the visitor is: the cache-key
// audience and the origin's audience id. Public sites admit everyone;
// private sites a valid whole-site session or an allowlisted address;
// audience sites only a valid session for one of their audiences, or a
// staff session while the site has a staff password (the whole site).
func (s *Server) admit(ctx *fasthttp.RequestCtx, st *site, se *siteEntry, now time.Time) (aud, originAud string, ok bool) {
	switch se.e.Visibility {
	case content.Public:
		return audPublic, "", true
	case content.Private:
		if len(se.cidrs) > 0 {
			a := clientAddr(remoteAddr(ctx), ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor), s.cfg.TrustedProxies)
			if a.IsValid() && isTrusted(a, se.cidrs) {
				return audPrivate, "", true
			}
		}
		if sc, ok := s.signer.open(ctx.Request.Header.Cookie(SessionCookie), st.id, now); ok {
			whole := len(sc.f[2]) == 0 && currentPassword(sc, se.pwTag)
			s.signer.done(sc)
			if whole {
				return audPrivate, "", true
			}
		}
	case content.AudienceSpecific:
		sc, ok := s.signer.open(ctx.Request.Header.Cookie(SessionCookie), st.id, now)
		if !ok {
			return "", "", false
		}
		if string(sc.f[2]) == staffSession {
			staff := se.staffTag != "" && currentPassword(sc, se.staffTag)
			s.signer.done(sc)
			if staff {
				return audStaff, "", true
			}
			return "", "", false
		}
		a, found := se.audKeys[string(sc.f[2])]
		found = found && currentPassword(sc, a.pwTag)
		whole := len(sc.f[2]) == 0
		s.signer.done(sc)
		if found && !whole {
			return a.key, a.id, true
		}
	}
	return "", "", false
}

// login shows (GET) or checks (POST) the password form.
func (s *Server) login(ctx *fasthttp.RequestCtx, st *site, se *siteEntry) outcome {
	if se.e.Visibility == content.Public {
		seeOther(ctx, "/")
		return outOther
	}
	next := safeNext(ctx.FormValue("next"))
	if !ctx.IsPost() {
		s.loginForm(ctx, se, fasthttp.StatusOK, next, "")
		return outOther
	}
	if !loginTokenOK(ctx) {
		s.loginForm(ctx, se, fasthttp.StatusForbidden, next, "This sign-in form has expired. Please sign in again.")
		return outDenied
	}
	now := s.cfg.Now()
	client := clientAddr(remoteAddr(ctx), ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor), s.cfg.TrustedProxies)
	if ok, wait := s.logins.attempt(client, now); !ok {
		s.m.throttled.Inc()
		secs := int((wait + time.Second - 1) / time.Second)
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
		s.loginForm(ctx, se, fasthttp.StatusTooManyRequests, next,
			fmt.Sprintf("Too many attempts from your network. Try again in %d seconds.", secs))
		return outDenied
	}
	pw := string(ctx.PostArgs().Peek("password"))
	sess := Session{SiteID: st.id, Method: "password", Expires: now.Add(s.cfg.SessionTTL)}
	// One bcrypt per attempt: on an audience site the visitor names the
	// audience (its name or id, as the site owner told them), so a wrong
	// password costs one hash however many audiences the site has. An
	// unknown audience is checked against a dummy hash, costing the same.
	// Staff (StaffLoginPath) name no audience: the staff password, or
	// the dummy when the site has none.
	hash := se.e.Access.PasswordHash
	switch {
	case staffLogin(ctx, se):
		hash, sess.Audience = cmp.Or(se.e.Access.StaffPasswordHash, dummyHash), staffSession
	case se.e.Visibility == content.AudienceSpecific:
		hash = dummyHash
		if a := se.audienceNamed(string(ctx.PostArgs().Peek("audience"))); a != nil {
			hash, sess.Audience = a.PasswordHash, a.ID
		}
	}
	sess.Subject = passwordTag(hash) // a password change ends the session
	ok := false
	verify := func() {
		s.m.passwordChecks.Inc()
		ok = content.CheckPassword(hash, pw) && hash != dummyHash
	}
	if len(pw) <= maxPassword {
		wctx, cancel := context.WithTimeout(s.ctx, loginQueueWait)
		ran := s.logins.check(wctx, verify)
		cancel()
		if !ran {
			s.m.throttled.Inc()
			ctx.Response.Header.Set("Retry-After", "5")
			s.loginForm(ctx, se, fasthttp.StatusServiceUnavailable, next, "Too many sign-ins right now. Try again in a few seconds.")
			return outDenied
		}
	}
	if !ok {
		s.log.Info("login failed", "site", st.id)
		s.loginForm(ctx, se, fasthttp.StatusUnauthorized, next, "That password is not right.")
		return outDenied
	}
	val, err := s.signer.Sign(sess)
	if err != nil {
		plain(ctx, fasthttp.StatusInternalServerError, "Could not sign you in.\n")
		return outError
	}
	s.setSessionCookie(ctx, val, sess.Expires)
	s.setCookie(ctx, loginCookie, "", loginPath, fasthttp.CookieSameSiteStrictMode, fasthttp.CookieExpireDelete)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	seeOther(ctx, next)
	return outOther
}

// seeOther redirects to a same-site path (relative: the scheme and host
// stay what the visitor used, whatever proxies are in between).
func seeOther(ctx *fasthttp.RequestCtx, path string) {
	ctx.Response.Header.Set("Location", path)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

// safeNext keeps a same-site path to return to after login, else "/".
func safeNext(b []byte) string {
	if len(b) == 0 || len(b) > 256 || b[0] != '/' || (len(b) > 1 && (b[1] == '/' || b[1] == '\\')) {
		return "/"
	}
	for _, c := range b {
		if c < 0x21 || c > 0x7e || c == '\\' {
			return "/"
		}
	}
	return string(b)
}

// loginForm renders the password form (no script, no-store).
// loginForm is the sign-in page, in the status page's own stylesheet (its
// accent, light and dark) with its name and logo.
func (s *Server) loginForm(ctx *fasthttp.RequestCtx, se *siteEntry, status int, next, msg string) {
	var b bytes.Buffer
	name := html.EscapeString(se.e.Name)
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`)
	b.WriteString(`<meta name="color-scheme" content="light dark"><title>` + name + " status: sign in</title>")
	b.WriteString(`<link rel="icon" href="` + html.EscapeString(style.Favicon(se.e.Branding.FaviconURL, se.e.Branding.AccentColor)) + `"><style>`)
	b.WriteString(style.Sheet(se.e.Branding.AccentColor)) // ours; the accent is validated
	b.WriteString(`</style></head><body><header class="site"><div class="wrap"><a class="brand" href="/">`)
	if u := se.e.Branding.LogoURL; strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		b.WriteString(`<img src="` + html.EscapeString(u) + `" alt="">`)
	}
	b.WriteString("<span>" + name + `</span></a></div></header><main id="main" class="wrap login"><h1>Sign in</h1>`)
	staff := staffLogin(ctx, se)
	if staff {
		b.WriteString(`<p>Staff sign-in: the whole status page, every component.</p>`)
	} else {
		b.WriteString(`<p>This status page is private.</p>`)
	}
	if msg != "" {
		b.WriteString(`<p role="alert">` + html.EscapeString(msg) + "</p>")
	}
	token := s.issueLoginToken(ctx)
	b.WriteString(`<form method="post" action="` + loginPath + `"><input type="hidden" name="next" value="` +
		html.EscapeString(next) + `"><input type="hidden" name="` + loginField + `" value="` + token + `">`)
	if staff {
		b.WriteString(`<input type="hidden" name="staff" value="1">`)
	} else {
		b.WriteString(audienceField(ctx, se))
	}
	b.WriteString(
		`<label for="pw">Password</label><input id="pw" type="password" name="password" autocomplete="current-password" required>` +
			`<button type="submit">Sign in</button></form></main></body></html>`)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.Header.SetContentTypeBytes(ctHTML)
	ctx.SetStatusCode(status)
	ctx.SetBody(b.Bytes())
}

// logout clears the session cookie (POST only: a link cannot sign anyone
// out) and sends the visitor to the sign-in page (staff to theirs).
func (s *Server) logout(ctx *fasthttp.RequestCtx, st *site, now time.Time) outcome {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		plain(ctx, fasthttp.StatusMethodNotAllowed, "Sign out with the page's Sign out button.\n")
		return outOther
	}
	next := loginPath
	if sc, ok := s.signer.open(ctx.Request.Header.Cookie(SessionCookie), st.id, now); ok {
		if string(sc.f[2]) == staffSession {
			next = content.StaffLoginPath
		}
		s.signer.done(sc)
	}
	s.setSessionCookie(ctx, "", fasthttp.CookieExpireDelete)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	seeOther(ctx, next)
	return outOther
}

// setSessionCookie sets (or, expired, clears) the session cookie.
func (s *Server) setSessionCookie(ctx *fasthttp.RequestCtx, val string, expires time.Time) {
	s.setCookie(ctx, SessionCookie, val, "/", fasthttp.CookieSameSiteLaxMode, expires)
}

// setCookie sets an HttpOnly cookie, Secure when the visitor's connection
// is HTTPS: to this edge, or to a trusted proxy that says so
// (X-Forwarded-Proto), as a TLS-terminating load balancer does.
func (s *Server) setCookie(ctx *fasthttp.RequestCtx, name, val, path string, same fasthttp.CookieSameSite, expires time.Time) {
	var c fasthttp.Cookie
	c.SetKey(name)
	c.SetValue(val)
	c.SetPath(path)
	c.SetHTTPOnly(true)
	c.SetSameSite(same)
	c.SetSecure(s.visitorHTTPS(ctx))
	c.SetExpire(expires)
	ctx.Response.Header.SetCookie(&c)
}

// visitorHTTPS reports whether the visitor reached us over HTTPS.
func (s *Server) visitorHTTPS(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsTLS() {
		return true
	}
	if !isTrusted(remoteAddr(ctx), s.cfg.TrustedProxies) {
		return false
	}
	// The proxy nearest us speaks last: a list's last entry.
	p := ctx.Request.Header.Peek("X-Forwarded-Proto")
	if i := bytes.LastIndexByte(p, ','); i >= 0 {
		p = p[i+1:]
	}
	return bytes.EqualFold(bytes.TrimSpace(p), []byte("https"))
}

// The sign-in form's token against login CSRF (another site posting its
// own password to our form, signing the visitor in as someone else): the
// form carries a random token that is also in a SameSite=Strict cookie
// scoped to the form; a POST is checked only when the two agree, which a
// page elsewhere can neither read nor set.
const (
	loginCookie   = "statusedge_login"
	loginField    = "csrf"
	loginTokenTTL = time.Hour
)

// issueLoginToken sets a new token's cookie and returns the token.
func (s *Server) issueLoginToken(ctx *fasthttp.RequestCtx) string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.setCookie(ctx, loginCookie, tok, loginPath, fasthttp.CookieSameSiteStrictMode, s.cfg.Now().Add(loginTokenTTL))
	return tok
}

// loginTokenOK reports whether a POST carries the form's token and its
// cookie, equal.
func loginTokenOK(ctx *fasthttp.RequestCtx) bool {
	field := ctx.PostArgs().Peek(loginField)
	cookie := ctx.Request.Header.Cookie(loginCookie)
	return len(field) >= 16 && subtle.ConstantTimeCompare(field, cookie) == 1
}

func buildPublicCC(maxAge time.Duration) []byte {
	sec := int64(maxAge / time.Second)
	return []byte("public, max-age=" + strconv.FormatInt(sec, 10) +
		", stale-while-revalidate=" + strconv.FormatInt(sec*6, 10) + ", stale-if-error=86400")
}

// skeleton answers with the site's shell (the page completes itself).
func (s *Server) skeleton(ctx *fasthttp.RequestCtx, se *siteEntry, r fillReq) outcome {
	s.m.skeletons.Inc()
	sh := se.shells.get(s.shell, se.e, r.originAud)
	ctx.Response.Header.SetCanonical(hCSP, sh.csp)
	ctx.Response.Header.SetCanonical(hCacheControl, vNoStore)
	ctx.Response.Header.SetCanonical(hSkeleton, vOne)
	ctx.Response.Header.SetCanonical(hCache, outValues[outSkeleton])
	ctx.Response.Header.SetContentTypeBytes(ctHTML)
	ctx.Response.SetBodyRaw(sh.body)
	return outSkeleton
}

// errFillsBusy is a miss's error past Config.MaxFills or MaxFillsPerSite.
var errFillsBusy = errors.New("edge: too many fills in flight")

// takeFill reserves a fill slot in total and for st's site, or reports
// that one of the bounds is reached.
func (s *Server) takeFill(st *site) bool {
	if s.fills.Add(1) > int32(s.cfg.MaxFills) {
		s.fills.Add(-1)
		return false
	}
	if st.fills.Add(1) > int32(s.cfg.MaxFillsPerSite) {
		st.fills.Add(-1)
		s.fills.Add(-1)
		return false
	}
	return true
}

func (s *Server) releaseFill(st *site) {
	st.fills.Add(-1)
	s.fills.Add(-1)
}

// dummyHash is a bcrypt hash no password matches in practice (of 32 random
// bytes, at the default cost): checked for an audience nobody named, so
// that a wrong audience costs as long as a wrong password.
const dummyHash = "$2a$10$0CUKP68EysL9G6b9A7jxf.paq5dpn8Zr2aljVR13IzoSg48mqHzzO"

// staffLogin reports whether a sign-in is the staff's of an audience site
// (StaffLoginPath: ?staff=1, kept in the form as a hidden field). The form
// looks the same whether the site has a staff password or not.
func staffLogin(ctx *fasthttp.RequestCtx, se *siteEntry) bool {
	return se.e.Visibility == content.AudienceSpecific &&
		(string(ctx.QueryArgs().Peek("staff")) == "1" || string(ctx.PostArgs().Peek("staff")) == "1")
}

// audienceField is the login form's audience input on an audience site
// (prefilled from ?audience=); none when the site has one audience or none.
// It never lists the audiences: their names are the site's own business.
func audienceField(ctx *fasthttp.RequestCtx, se *siteEntry) string {
	if se.e.Visibility != content.AudienceSpecific || len(se.e.Audiences) <= 1 {
		return ""
	}
	v := ctx.QueryArgs().Peek("audience")
	if len(v) == 0 {
		v = ctx.PostArgs().Peek("audience")
	}
	return `<label for="aud">Audience</label><input id="aud" type="text" name="audience" autocomplete="organization" required value="` +
		html.EscapeString(string(v)) + `">`
}

// currentPassword reports whether an opened session still stands: one
// signed in with a password names it (Session.Subject = passwordTag), and
// the site's current password must be that one. Other methods are not
// tied to a password.
func currentPassword(sc *sessionScratch, tag string) bool {
	return string(sc.f[3]) != "password" || (tag != "" && string(sc.f[4]) == tag)
}
