package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"sync"
	"time"
	"weak"
)

// layer says where a fill found the page.
type layer uint8

const (
	layerL1 layer = iota
	layerL2
	layerOrigin
)

// call is one in-flight fill of one page (all encodings). Waiters read res
// and err after done is closed.
type call struct {
	done  chan struct{}
	res   [numEnc]*variant
	layer layer
	err   error
}

// flightGroup coalesces identical concurrent misses: one fill per key.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*call
}

// join returns the call for key and whether the caller must run it.
func (g *flightGroup) join(key string) (*call, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.m[key]; ok {
		return c, false
	}
	c := &call{done: make(chan struct{})}
	g.m[key] = c
	return c, true
}

func (g *flightGroup) finish(key string, c *call) {
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(c.done)
}

// fillReq names one page to fill. Everything is copied out of the request:
// a fill outlives the visitor's *fasthttp.RequestCtx.
type fillReq struct {
	st        *site
	version   uint64
	aud       string // cache-key audience
	originAud string // audience id for the origin ("" = whole site)
	day       int32
	minute    int64     // the key's unix minute (appendMinuteKey), 0 for the day's key
	at        time.Time // the moment to render the page as of (zero: now)
	path      string
	base      string // appendMinuteKey(...)
}

// liveMinute is the key minute of a page rendered as of at: at's unix
// minute when the site was live, else 0.
func liveMinute(live bool, at time.Time) int64 {
	if !live {
		return 0
	}
	return at.Unix() / 60
}

var notFoundBody = []byte("This page does not exist.\n")

// notFoundTTL bounds how long a 404 is remembered.
const notFoundTTL = time.Minute

// fill finds the page in L1, then Redis, then renders it at the origin,
// stores every encoding, and finishes c. L1 is written (and flushed) before
// the call leaves the flight group, so a later miss finds it there.
func (s *Server) fill(c *call, r fillReq) {
	defer s.flights.finish(r.base, c)
	base := []byte(r.base)
	var keys [numEnc][]byte
	for e := range numEnc {
		keys[e] = appendEnc(bytes.Clone(base), e)
	}
	if s.fromL1(c, keys) {
		return
	}
	if s.l2 != nil {
		got := s.l2.getAll(s.ctx, keys[:]...)
		if got[0] != nil && got[1] != nil && got[2] != nil {
			for e, v := range got {
				c.res[e] = v
				s.storeL1(v, r, encoding(e))
			}
			s.l1.c.Wait()
			c.layer = layerL2
			return
		}
	}
	s.m.renders.Inc()
	at := r.at
	if at.IsZero() {
		at = s.cfg.Now()
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RenderTimeout)
	rd, err := s.origin.Render(ctx, RenderRequest{SiteID: r.st.id, Path: r.path, Audience: r.originAud, Viewer: viewerOf(r.aud), MinVersion: r.version, At: at})
	cancel()
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
		s.heard()
	}
	now := s.cfg.Now()
	var p page
	switch {
	case err == nil && rd.Version < r.version:
		err = fmt.Errorf("%w: rendered version %d is older than asked %d", ErrUnavailable, rd.Version, r.version)
		fallthrough
	case err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrForbidden):
		s.m.renderErrs.Inc()
		s.lastOriginErr.Store(time.Now().UnixNano())
		s.log.Warn("origin render failed", "site", r.st.id, "path", r.path, "version", r.version, "err", err)
		c.err = err
		return
	case err != nil:
		p = page{status: 404, version: r.version, renderedAt: now, ctype: "text/plain; charset=utf-8", body: notFoundBody}
	default:
		ct := rd.ContentType
		if ct == "" {
			ct = "text/html; charset=utf-8"
		}
		p = page{status: 200, version: rd.Version, renderedAt: now, ctype: ct, body: rd.Body}
		r.st.setLive(rd.Version, rd.Live)
		if m := liveMinute(rd.Live, at); m != r.minute {
			// The key guessed wrong (a version's first render): the bytes
			// go under the key they are right for, minute or day.
			r.minute = m
			base = appendMinuteKey(nil, r.st.id, r.version, r.aud, r.day, m, []byte(r.path))
			for e := range numEnc {
				keys[e] = appendEnc(bytes.Clone(base), e)
			}
		}
		if raise(&r.st.known, rd.Version) {
			s.queueAhead(r.st)
		}
	}
	vs, err := s.comp.variants(base, p)
	if err != nil {
		c.err = err
		return
	}
	for e, v := range vs {
		s.storeL1(v, r, encoding(e))
		if s.l2 != nil {
			s.l2.put(keys[e], v)
			if v.status == 200 {
				s.l2.put(lastKey(r.st.id, r.aud, r.path, encoding(e)), lastCopy(v, r, encoding(e)))
			}
		}
	}
	s.l1.c.Wait()
	c.res, c.layer = vs, layerOrigin
}

// originFailingFor is how long after a failed render the origin counts as
// failing (visitors then get copies marked stale, not silent old ones).
const originFailingFor = 30 * time.Second

func (s *Server) originFailing() bool {
	t := s.lastOriginErr.Load()
	return t != 0 && time.Since(time.Unix(0, t)) < originFailingFor
}

func (s *Server) fromL1(c *call, keys [numEnc][]byte) bool {
	for e := range numEnc {
		v := s.l1.get(keys[e])
		if v == nil {
			return false
		}
		c.res[e] = v
	}
	c.layer = layerL1
	return true
}

// storeL1 stores v and, for a 200, also as the page's newest copy (the
// stale fallback) unless a newer one is there.
func (s *Server) storeL1(v *variant, r fillReq, e encoding) {
	ttl := time.Duration(0)
	if v.status != 200 {
		ttl = notFoundTTL
	}
	s.l1.set(v, ttl)
	if v.status != 200 {
		return
	}
	lk := lastKey(r.st.id, r.aud, r.path, e)
	if old := s.l1.get(lk); old != nil && old.version > v.version {
		return
	}
	s.l1.set(lastStub(v, r, e), 0)
}

// lastStub is v's stale-fallback entry in L1: its "last" key pointing at v
// weakly. It costs L1 only its key, and v's bytes stay counted once (under
// v's own key); once L1 evicts v and it is collected, the stub finds
// nothing and the fallback goes to Redis.
func lastStub(v *variant, r fillReq, e encoding) *variant {
	return &variant{key: string(lastKey(r.st.id, r.aud, r.path, e)), status: v.status, version: v.version,
		renderedAt: v.renderedAt, enc: v.enc, target: weak.Make(v)}
}

func lastKey(site, aud, path string, e encoding) []byte {
	return appendEnc(appendLastKey(nil, site, aud, []byte(path)), e)
}

// lastCopy is v under its "last" key (sharing the bytes), for Redis.
func lastCopy(v *variant, r fillReq, e encoding) *variant {
	c := v.clone()
	c.key = string(lastKey(r.st.id, r.aud, r.path, e))
	return c
}

// lastVariant finds the newest copy of a page in L1, then Redis.
func (s *Server) lastVariant(site, aud, path string, e encoding) *variant {
	k := lastKey(site, aud, path, e)
	if v := s.l1.get(k); v != nil {
		if p := v.page(); p != nil {
			return p
		}
	}
	if s.l2 == nil {
		return nil
	}
	v := s.l2.getWithin(s.ctx, k)
	if v != nil {
		s.l1.set(v, 0)
	}
	return v
}

// staleVariant is the page's newest copy for a visitor while the origin is
// failing, marked stale (see staleTwin).
func (s *Server) staleVariant(se *siteEntry, site, aud, path string, rt route, e encoding) *variant {
	last := s.lastVariant(site, aud, path, e)
	if last == nil {
		return nil
	}
	return s.staleTwin(last, se.loc)
}

// staleTwin is v marked stale: for an HTML page the same page with a
// visible "last updated at T" note after <body>, with its own ETag; other
// pages are their own twin (the stale header and Cache-Control mark them).
// It is kept on v, so a stale hit costs what a fresh one does.
//
// No compression runs in a visitor's request: the moment the origin first
// fails every HTML page at once needs its twin, and re-compressing them
// all there (brotli at BrotliLevel) would stall every visitor for as long.
// The first stale visitor of a compressed page gets the note in identity
// encoding (the bytes of the page's identity variant, or v decoded), and
// the twin in v's own encoding is built by the twin worker behind it.
func (s *Server) staleTwin(v *variant, loc *time.Location) *variant {
	if t := v.twin.Load(); t != nil {
		if t.enc != v.enc {
			s.queueTwin(v, t) // a full queue earlier: try again
		}
		return t
	}
	if v.status != 200 || !bytes.HasPrefix(v.ctype, ctHTMLType) {
		v.twin.CompareAndSwap(nil, v)
		return v
	}
	t := s.plainTwin(v, loc)
	if t == nil {
		return v
	}
	if v.twin.CompareAndSwap(nil, t) && t.enc != v.enc {
		s.queueTwin(v, t)
	}
	return v.twin.Load()
}

// plainTwin is v's page with the stale note, in identity encoding: from
// the identity variant of the same render when L1 has it (and then kept on
// that variant as its own twin), else decoded from v. Nil if v cannot be
// decoded.
func (s *Server) plainTwin(v *variant, loc *time.Location) *variant {
	if v.enc == encIdentity {
		t := v.clone()
		t.body = injectStaleNote(v.body, time.Unix(0, v.renderedAt).In(loc))
		t.etag = staleETag(v.etag)
		t.twin.Store(t)
		return t
	}
	if id := s.identitySibling(v); id != nil {
		return s.staleTwin(id, loc)
	}
	body, err := s.comp.decode(v.enc, v.body)
	if err != nil {
		s.log.Warn("stale note", "key", v.key, "err", err)
		return nil
	}
	plain := v.clone()
	plain.enc, plain.body = encIdentity, body
	// The page's ETag names its encoding last ("sum-br"): the sum is
	// the page's, the same in every encoding.
	plain.etag = append(bytes.TrimSuffix(v.etag[:len(v.etag)-1], []byte(encNames[v.enc])), encNames[encIdentity]+`"`...)
	return s.plainTwin(plain, loc)
}

// identitySibling is the identity variant of v's render in L1 (same key
// but the encoding, same version and render time), or nil.
func (s *Server) identitySibling(v *variant) *variant {
	i := strings.LastIndexByte(v.key, '|')
	if i < 0 {
		return nil
	}
	k := appendEnc([]byte(v.key[:i]), encIdentity)
	id := s.l1.get(k)
	if id != nil {
		id = id.page()
	}
	if id == nil || id.enc != encIdentity || id.version != v.version || id.renderedAt != v.renderedAt || id.status != 200 {
		return nil
	}
	return id
}

func staleETag(etag []byte) []byte {
	return append(append([]byte(`"stale-`), etag[1:len(etag)-1]...), '"')
}

// twinJob asks the twin worker to encode plain (a stale twin in identity
// encoding) as v is encoded and keep the result as v's twin.
type twinJob struct{ v, plain *variant }

// twinQueue bounds the twin builds waiting; past it a stale hit keeps the
// identity twin and queues again on a later hit.
const twinQueue = 1024

func (s *Server) queueTwin(v, plain *variant) {
	if !v.twinQueued.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.twins <- twinJob{v: v, plain: plain}:
	default:
		v.twinQueued.Store(false)
	}
}

// twinLoop builds the stale twins queued by staleTwin, one at a time (the
// visitors keep the other cores).
func (s *Server) twinLoop() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case j := <-s.twins:
			body, err := s.comp.encode(j.v.enc, j.plain.body)
			if err != nil {
				s.log.Warn("stale note", "key", j.v.key, "err", err)
				continue
			}
			t := j.v.clone()
			t.body, t.etag = body, staleETag(j.v.etag)
			t.twin.Store(t)
			j.v.twin.Store(t)
		}
	}
}

// injectStaleNote puts a visible note just after the <body> tag (or first).
func injectStaleNote(body []byte, at time.Time) []byte {
	note := `<div class="se-stale" role="status" style="background:#fff3cd;color:#664d03;padding:.5em 1em;` +
		`font:14px system-ui,sans-serif">Last updated at ` + html.EscapeString(at.Format("2006-01-02 15:04 MST")) +
		`. The current status could not be loaded; this page may be out of date.</div>`
	i := indexFold(body, []byte("<body"))
	at0 := 0
	if i >= 0 {
		if j := bytes.IndexByte(body[i:], '>'); j >= 0 {
			at0 = i + j + 1
		}
	}
	out := make([]byte, 0, len(body)+len(note))
	out = append(out, body[:at0]...)
	out = append(out, note...)
	return append(out, body[at0:]...)
}

func indexFold(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// viewerOf is the viewer (RenderRequest.Viewer) a cache-key audience stands for.
func viewerOf(aud string) string {
	switch aud {
	case audPublic:
		return "public"
	case audPrivate:
		return "private"
	case audStaff:
		return "staff"
	}
	return "audience"
}
