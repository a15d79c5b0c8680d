package edge

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
type SessionSigner struct{ key []byte }

// NewSessionSigner returns a signer for key (at least 32 bytes).
func NewSessionSigner(key []byte) (*SessionSigner, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("%w: session key must be at least 32 bytes", ErrBadConfig)
	}
	return &SessionSigner{key: bytes.Clone(key)}, nil
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
	var s Session
	if len(v) == 0 || len(v) > maxCookie {
		return s, ErrBadSession
	}
	p64, m64, ok := bytes.Cut(v, []byte("."))
	if !ok {
		return s, ErrBadSession
	}
	payload := make([]byte, b64.DecodedLen(len(p64)))
	n, err := b64.Decode(payload, p64)
	if err != nil {
		return s, ErrBadSession
	}
	payload = payload[:n]
	mac := make([]byte, b64.DecodedLen(len(m64)))
	n, err = b64.Decode(mac, m64)
	if err != nil {
		return s, ErrBadSession
	}
	if !hmac.Equal(mac[:n], g.mac(payload)) {
		return s, ErrBadSession
	}
	f := strings.Split(string(payload), "\n")
	if len(f) != 6 || f[0] != sessionVersion {
		return s, ErrBadSession
	}
	exp, err := strconv.ParseInt(f[5], 10, 64)
	if err != nil {
		return s, ErrBadSession
	}
	s = Session{SiteID: f[1], Audience: f[2], Method: f[3], Subject: f[4], Expires: time.Unix(exp, 0)}
	if s.SiteID != siteID || !now.Before(s.Expires) {
		return Session{}, ErrBadSession
	}
	return s, nil
}
