package edge

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionCookie is the name of the signed session cookie.
const SessionCookie = "statusedge_session"

// maxCookie bounds a session cookie value.
const maxCookie = 512

// Session admits a visitor to a private or audience-specific site. Any way
// of proving who one is (the page password today; email magic links and SSO
// later) ends by issuing one; the edge only checks the signature, the site,
// the expiry and that the audience still exists.
type Session struct {
	SiteID string
	// Audience is the audience id, "" for the whole (private) site.
	Audience string
	// Method says how the visitor proved it: "password", later "link", "sso".
	Method string
	// Subject is who, when known (an email for links, the SSO subject).
	Subject string
	Expires time.Time
}

// ErrBadSession is returned for a cookie that is malformed, forged, expired
// or for another site.
var ErrBadSession = errors.New("edge: bad session")

const sessionVersion = "s1"

// b64 is strict: one cookie value per session, no malleable trailing bits.
var b64 = base64.RawURLEncoding.Strict()

// SessionSigner signs and verifies sessions with HMAC-SHA256.
type SessionSigner struct {
	key     []byte
	scratch sync.Pool // *sessionScratch
}

// sessionScratch is one verification's working memory, pooled so that the
// visitor hot path checks a cookie without allocating.
type sessionScratch struct {
	mac hash.Hash
	sum [sha256.Size]byte
	buf [maxCookie]byte
	// f are the payload's fields (version, site, audience, method,
	// subject, expiry), slices of buf.
	f [6][]byte
}

// NewSessionSigner returns a signer for key (at least 32 bytes).
func NewSessionSigner(key []byte) (*SessionSigner, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("%w: session key must be at least 32 bytes", ErrBadConfig)
	}
	g := &SessionSigner{key: bytes.Clone(key)}
	g.scratch.New = func() any { return &sessionScratch{mac: hmac.New(sha256.New, g.key)} }
	return g, nil
}

func validField(s string) bool {
	return len(s) <= 128 && !strings.ContainsAny(s, "\n\x00")
}

// Sign encodes s as a cookie value: base64url(payload) "." base64url(mac).
func (g *SessionSigner) Sign(s Session) (string, error) {
	if s.SiteID == "" || !validField(s.SiteID) || !validField(s.Audience) || !validField(s.Method) || !validField(s.Subject) {
		return "", fmt.Errorf("%w: invalid field", ErrBadSession)
	}
	payload := strings.Join([]string{sessionVersion, s.SiteID, s.Audience, s.Method, s.Subject,
		strconv.FormatInt(s.Expires.Unix(), 10)}, "\n")
	v := b64.EncodeToString([]byte(payload)) + "." +
		b64.EncodeToString(g.mac([]byte(payload)))
	if len(v) > maxCookie {
		return "", fmt.Errorf("%w: too long", ErrBadSession)
	}
	return v, nil
}

func (g *SessionSigner) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write(payload)
	return m.Sum(nil)
}

// Verify checks a cookie value for site at now and returns its session.
func (g *SessionSigner) Verify(v []byte, siteID string, now time.Time) (Session, error) {
	sc, ok := g.open(v, siteID, now)
	if !ok {
		return Session{}, ErrBadSession
	}
	defer g.done(sc)
	exp, _ := parseUnix(sc.f[5])
	return Session{SiteID: string(sc.f[1]), Audience: string(sc.f[2]), Method: string(sc.f[3]),
		Subject: string(sc.f[4]), Expires: time.Unix(exp, 0)}, nil
}

// canonical reports whether v holds only what Sign writes: base64url
// without padding, and dots. Go's decoder skips \r and \n, so without this
// check another string than the one signed would verify.
func canonical(v []byte) bool {
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// open verifies v for site at now. On success the caller reads the fields
// in sc.f and then hands sc back with done; on failure there is nothing to
// hand back. It allocates nothing.
func (g *SessionSigner) open(v []byte, siteID string, now time.Time) (sc *sessionScratch, ok bool) {
	if len(v) == 0 || len(v) > maxCookie || !canonical(v) {
		return nil, false
	}
	p64, m64, found := bytes.Cut(v, []byte("."))
	if !found {
		return nil, false
	}
	sc = g.scratch.Get().(*sessionScratch)
	defer func() {
		if !ok {
			g.done(sc)
		}
	}()
	// Both decoded parts fit in buf: together they are shorter than v.
	n, err := b64.Decode(sc.buf[:], p64)
	if err != nil {
		return sc, false
	}
	payload, rest := sc.buf[:n], sc.buf[n:]
	m, err := b64.Decode(rest, m64)
	if err != nil {
		return sc, false
	}
	sc.mac.Reset()
	sc.mac.Write(payload)
	if !hmac.Equal(rest[:m], sc.mac.Sum(sc.sum[:0])) {
		return sc, false
	}
	for i := range len(sc.f) - 1 {
		var field []byte
		if field, payload, found = bytes.Cut(payload, []byte("\n")); !found {
			return sc, false
		}
		sc.f[i] = field
	}
	sc.f[5] = payload
	if bytes.IndexByte(payload, '\n') >= 0 || string(sc.f[0]) != sessionVersion || string(sc.f[1]) != siteID {
		return sc, false
	}
	exp, ok := parseUnix(sc.f[5])
	if !ok || !now.Before(time.Unix(exp, 0)) {
		return sc, false
	}
	return sc, true
}

// done returns an open's scratch to the pool.
func (g *SessionSigner) done(sc *sessionScratch) {
	sc.f = [6][]byte{}
	g.scratch.Put(sc)
}

// parseUnix parses a signed decimal int64 as strconv.ParseInt(b, 10, 64)
// does, without allocating.
func parseUnix(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return -int64(n), true
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}
