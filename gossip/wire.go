package gossip

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Wire format, version 1. Every message starts with two bytes:
//
//	[wireVersion][kind]
//
// followed by the kind's fields. Integers are unsigned varints in their
// minimal encoding; a name is a varint length and that many UTF-8 bytes.
//
//	kindInvalidate, kindCert: name, version
//	kindState:                count, count × (name, version) for sites,
//	                          count, count × (name, version) for certificates,
//	                          each list sorted by name, without duplicates.
//	kindSignedInvalidate,
//	kindSignedCert:           name, version, 64-byte ed25519 signature
//	kindSignedState:          as kindState, each entry followed by its
//	                          64-byte signature.
//
// A signature is an origin replica's ed25519 signature of signedPayload:
// a context string and the unsigned event's encoding. The signed kinds are
// what a cluster with a VerifyKey speaks; a node that verifies drops the
// unsigned ones, so an announcement only an origin could have made is the
// only kind that raises a version.
//
// The encoding is canonical: a buffer that decodes without error re-encodes
// to exactly the same bytes, and trailing bytes are an error. A receiver that
// meets a newer wireVersion drops the message (ErrWireVersion); the sender's
// peers learn the versions anyway through anti-entropy once they upgrade.
const (
	wireVersion byte = 1

	// MaxNameLen bounds a site or certificate name on the wire.
	MaxNameLen = 255
)

// kind is the type byte of a gossip message.
type kind byte

const (
	kindInvalidate kind = 1 // a site's newest version
	kindCert       kind = 2 // a certificate's newest version
	kindState      kind = 3 // push/pull anti-entropy: every known version

	kindSignedInvalidate kind = 4 // kindInvalidate with an origin's signature
	kindSignedCert       kind = 5 // kindCert with an origin's signature
	kindSignedState      kind = 6 // kindState, every entry signed
)

// sigLen is the length of an announcement's signature.
const sigLen = ed25519.SignatureSize

// unsigned maps a kind to the event kind a signature covers.
func (k kind) unsigned() kind {
	switch k {
	case kindSignedInvalidate:
		return kindInvalidate
	case kindSignedCert:
		return kindCert
	case kindSignedState:
		return kindState
	}
	return k
}

// signed maps an unsigned kind to its signed form.
func (k kind) signed() kind {
	switch k {
	case kindInvalidate:
		return kindSignedInvalidate
	case kindCert:
		return kindSignedCert
	case kindState:
		return kindSignedState
	}
	return k
}

// sigContext separates gossip signatures from any other use of the key.
const sigContext = "statusedge gossip announcement v1\x00"

// signedPayload is what an origin signs for (k, name, version); k is an
// unsigned event kind.
func signedPayload(k kind, name string, version uint64) []byte {
	return append([]byte(sigContext), encodeEvent(k, name, version)...)
}

func (k kind) String() string {
	switch k {
	case kindInvalidate:
		return "invalidate"
	case kindCert:
		return "cert"
	case kindState:
		return "state"
	case kindSignedInvalidate:
		return "signed invalidate"
	case kindSignedCert:
		return "signed cert"
	case kindSignedState:
		return "signed state"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Errors returned by the decoder; callers (and tests) branch on them.
var (
	ErrWireVersion = errors.New("gossip: unknown wire version")
	ErrWireKind    = errors.New("gossip: unknown message kind")
	ErrMalformed   = errors.New("gossip: malformed message")
	ErrBadName     = errors.New("gossip: name must be 1-255 bytes of UTF-8")
)

// message is one decoded gossip message. For kindInvalidate and kindCert,
// name and version are set; for kindState, sites and certs (possibly empty).
// The signed kinds add sig, or siteSigs and certSigs (one per entry).
type message struct {
	kind     kind
	name     string
	version  uint64
	sig      []byte
	sites    map[string]uint64
	certs    map[string]uint64
	siteSigs map[string][]byte
	certSigs map[string][]byte
}

func checkName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q", ErrBadName, truncate(name, 64))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// encodeEvent encodes an invalidate or cert message.
func encodeEvent(k kind, name string, version uint64) []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64*2+len(name))
	b = append(b, wireVersion, byte(k))
	b = appendName(b, name)
	return binary.AppendUvarint(b, version)
}

// encodeSignedEvent encodes a signed invalidate or cert message; k is the
// unsigned kind.
func encodeSignedEvent(k kind, name string, version uint64, sig []byte) []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64*2+len(name)+sigLen)
	b = append(b, wireVersion, byte(k.signed()))
	b = appendName(b, name)
	b = binary.AppendUvarint(b, version)
	return append(b, sig...)
}

// encodeSignedState encodes a signed push/pull state: only the entries with
// a signature in sigs (keyed by name) go out.
func encodeSignedState(sites, certs map[string]uint64, siteSigs, certSigs map[string][]byte) []byte {
	return appendState(nil, kindSignedState, sites, certs, siteSigs, certSigs)
}

// encodeState encodes a push/pull state message.
func encodeState(sites, certs map[string]uint64) []byte {
	return appendState(nil, kindState, sites, certs, nil, nil)
}

// appendState appends a state message of kind k (kindState, or
// kindSignedState with the entries' signatures).
func appendState(b []byte, k kind, sites, certs map[string]uint64, siteSigs, certSigs map[string][]byte) []byte {
	entry := 2 * binary.MaxVarintLen64
	if k == kindSignedState {
		entry += sigLen
	}
	size := 2 + 2*binary.MaxVarintLen64
	for _, m := range []map[string]uint64{sites, certs} {
		for name := range m {
			size += len(name) + entry
		}
	}
	b = slices.Grow(b, size)
	b = append(b, wireVersion, byte(k))
	b = appendMap(b, sites, siteSigs, k == kindSignedState)
	return appendMap(b, certs, certSigs, k == kindSignedState)
}

func appendName(b []byte, name string) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	return append(b, name...)
}

// appendMap appends count × (name, version), sorted by name; signed, each
// followed by its signature, and only the entries that have one.
func appendMap(b []byte, m map[string]uint64, sigs map[string][]byte, signed bool) []byte {
	names := make([]string, 0, len(m))
	for name := range m {
		if !signed || len(sigs[name]) == sigLen {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendName(b, name)
		b = binary.AppendUvarint(b, m[name])
		if signed {
			b = append(b, sigs[name]...)
		}
	}
	return b
}

// encode re-encodes a decoded message (used by tests for round trips).
func (m message) encode() []byte {
	switch m.kind {
	case kindState:
		return encodeState(m.sites, m.certs)
	case kindSignedState:
		return encodeSignedState(m.sites, m.certs, m.siteSigs, m.certSigs)
	case kindSignedInvalidate, kindSignedCert:
		return encodeSignedEvent(m.kind.unsigned(), m.name, m.version, m.sig)
	}
	return encodeEvent(m.kind, m.name, m.version)
}

// decode parses one message. It never panics and never allocates more than
// a small multiple of len(buf).
func decode(buf []byte) (message, error) {
	if len(buf) < 2 {
		return message{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(buf))
	}
	if buf[0] != wireVersion {
		return message{}, fmt.Errorf("%w: %d", ErrWireVersion, buf[0])
	}
	d := decoder{buf: buf[2:]}
	m := message{kind: kind(buf[1])}
	switch m.kind {
	case kindInvalidate, kindCert:
		m.name = d.name()
		m.version = d.uvarint()
	case kindState:
		m.sites, _ = d.versionMap(false)
		m.certs, _ = d.versionMap(false)
	case kindSignedInvalidate, kindSignedCert:
		m.name = d.name()
		m.version = d.uvarint()
		m.sig = d.sig()
	case kindSignedState:
		m.sites, m.siteSigs = d.versionMap(true)
		m.certs, m.certSigs = d.versionMap(true)
	default:
		return message{}, fmt.Errorf("%w: %d", ErrWireKind, buf[1])
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return message{}, fmt.Errorf("decode %v: %w", m.kind, d.err)
	}
	return m, nil
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	// Canonical: reject padded encodings such as 0x80 0x00.
	if n != uvarintLen(v) {
		d.fail("non-minimal varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (d *decoder) name() string {
	l := d.uvarint()
	if d.err != nil {
		return ""
	}
	if l == 0 || l > MaxNameLen || l > uint64(len(d.buf)) {
		d.fail("name length %d", l)
		return ""
	}
	s := string(d.buf[:l])
	d.buf = d.buf[l:]
	if !utf8.ValidString(s) {
		d.fail("name is not UTF-8")
		return ""
	}
	return s
}

// sig reads a signature (its bytes share d's buffer).
func (d *decoder) sig() []byte {
	if d.err != nil {
		return nil
	}
	if len(d.buf) < sigLen {
		d.fail("signature is %d bytes", len(d.buf))
		return nil
	}
	s := d.buf[:sigLen:sigLen]
	d.buf = d.buf[sigLen:]
	return s
}

// versionMap reads count × (name, version[, signature]).
func (d *decoder) versionMap(signed bool) (map[string]uint64, map[string][]byte) {
	count := d.uvarint()
	if d.err != nil {
		return nil, nil
	}
	// Each entry takes at least 3 bytes (length, one name byte, version),
	// plus its signature.
	least := uint64(3)
	if signed {
		least += sigLen
	}
	if count > uint64(len(d.buf))/least {
		d.fail("count %d exceeds buffer", count)
		return nil, nil
	}
	m := make(map[string]uint64, count)
	var sigs map[string][]byte
	if signed {
		sigs = make(map[string][]byte, count)
	}
	prev := ""
	for i := uint64(0); i < count && d.err == nil; i++ {
		name := d.name()
		v := d.uvarint()
		var sig []byte
		if signed {
			sig = d.sig()
		}
		if d.err != nil {
			return nil, nil
		}
		if i > 0 && name <= prev {
			d.fail("names not sorted or duplicated at %q", truncate(name, 64))
			return nil, nil
		}
		m[name] = v
		if signed {
			sigs[name] = sig
		}
		prev = name
	}
	return m, sigs
}
