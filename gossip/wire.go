package gossip

import (
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
)

func (k kind) String() string {
	switch k {
	case kindInvalidate:
		return "invalidate"
	case kindCert:
		return "cert"
	case kindState:
		return "state"
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
type message struct {
	kind    kind
	name    string
	version uint64
	sites   map[string]uint64
	certs   map[string]uint64
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

// encodeState encodes a push/pull state message.
func encodeState(sites, certs map[string]uint64) []byte {
	size := 2 + 2*binary.MaxVarintLen64
	for name := range sites {
		size += len(name) + 2*binary.MaxVarintLen64
	}
	for name := range certs {
		size += len(name) + 2*binary.MaxVarintLen64
	}
	b := make([]byte, 0, size)
	b = append(b, wireVersion, byte(kindState))
	b = appendMap(b, sites)
	return appendMap(b, certs)
}

func appendName(b []byte, name string) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	return append(b, name...)
}

func appendMap(b []byte, m map[string]uint64) []byte {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendName(b, name)
		b = binary.AppendUvarint(b, m[name])
	}
	return b
}

// encode re-encodes a decoded message (used by tests for round trips).
func (m message) encode() []byte {
	if m.kind == kindState {
		return encodeState(m.sites, m.certs)
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
		m.sites = d.versionMap()
		m.certs = d.versionMap()
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

func (d *decoder) versionMap() map[string]uint64 {
	count := d.uvarint()
	if d.err != nil {
		return nil
	}
	// Each entry takes at least 3 bytes (length, one name byte, version).
	if count > uint64(len(d.buf)/3) {
		d.fail("count %d exceeds buffer", count)
		return nil
	}
	m := make(map[string]uint64, count)
	prev := ""
	for i := uint64(0); i < count && d.err == nil; i++ {
		name := d.name()
		v := d.uvarint()
		if d.err != nil {
			return nil
		}
		if i > 0 && name <= prev {
			d.fail("names not sorted or duplicated at %q", truncate(name, 64))
			return nil
		}
		m[name] = v
		prev = name
	}
	return m
}
