package gossip

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen)
	tests := []struct {
		name string
		in   []byte
		want message
		err  error
	}{
		{"invalidate", encodeEvent(kindInvalidate, "acme", 7), message{kind: kindInvalidate, name: "acme", version: 7}, nil},
		{"cert", encodeEvent(kindCert, "status.acme.example", 1<<63), message{kind: kindCert, name: "status.acme.example", version: 1 << 63}, nil},
		{"version zero", encodeEvent(kindInvalidate, "a", 0), message{kind: kindInvalidate, name: "a", version: 0}, nil},
		{"longest name", encodeEvent(kindInvalidate, long, 1), message{kind: kindInvalidate, name: long, version: 1}, nil},
		{"unicode name", encodeEvent(kindInvalidate, "ステータス", 2), message{kind: kindInvalidate, name: "ステータス", version: 2}, nil},
		{"empty state", encodeState(nil, nil), message{kind: kindState, sites: map[string]uint64{}, certs: map[string]uint64{}}, nil},
		{"state", encodeState(map[string]uint64{"b": 2, "a": 1}, map[string]uint64{"c": 3}),
			message{kind: kindState, sites: map[string]uint64{"a": 1, "b": 2}, certs: map[string]uint64{"c": 3}}, nil},
		{"signed invalidate", encodeSignedEvent(kindInvalidate, "acme", 7, bytes.Repeat([]byte{1}, sigLen)), message{kind: kindSignedInvalidate, name: "acme", version: 7}, nil},
		{"signed cert", encodeSignedEvent(kindCert, "status.acme.example", 9, bytes.Repeat([]byte{2}, sigLen)), message{kind: kindSignedCert, name: "status.acme.example", version: 9}, nil},
		{"signed state", encodeSignedState(map[string]uint64{"b": 2, "a": 1}, nil, map[string][]byte{"a": make([]byte, sigLen), "b": make([]byte, sigLen)}, nil),
			message{kind: kindSignedState, sites: map[string]uint64{"a": 1, "b": 2}, certs: map[string]uint64{}}, nil},

		// Adversarial rows.
		{"signature truncated", encodeSignedEvent(kindInvalidate, "acme", 7, make([]byte, sigLen-1)), message{}, ErrMalformed},
		{"signature missing", append([]byte{wireVersion, byte(kindSignedInvalidate)}, encodeEvent(kindInvalidate, "a", 1)[2:]...), message{}, ErrMalformed},
		{"signature too long", encodeSignedEvent(kindInvalidate, "acme", 7, make([]byte, sigLen+1)), message{}, ErrMalformed},
		{"signed state entry without signature", append([]byte{wireVersion, byte(kindSignedState)}, encodeState(map[string]uint64{"a": 1}, nil)[2:]...), message{}, ErrMalformed},
		{"signed state huge count", []byte{wireVersion, byte(kindSignedState), 0x40, 1, 'a', 1}, message{}, ErrMalformed},
		{"nil", nil, message{}, ErrMalformed},
		{"one byte", []byte{wireVersion}, message{}, ErrMalformed},
		{"future wire version", []byte{2, byte(kindInvalidate), 1, 'a', 1}, message{}, ErrWireVersion},
		{"wire version zero", []byte{0, byte(kindInvalidate), 1, 'a', 1}, message{}, ErrWireVersion},
		{"unknown kind", []byte{wireVersion, 99, 1, 'a', 1}, message{}, ErrWireKind},
		{"kind zero", []byte{wireVersion, 0}, message{}, ErrWireKind},
		{"no fields", []byte{wireVersion, byte(kindInvalidate)}, message{}, ErrMalformed},
		{"empty name", []byte{wireVersion, byte(kindInvalidate), 0, 1}, message{}, ErrMalformed},
		{"name too long", append([]byte{wireVersion, byte(kindInvalidate), 0x80, 0x02}, make([]byte, 257)...), message{}, ErrMalformed},
		{"name past end", []byte{wireVersion, byte(kindInvalidate), 5, 'a', 'b'}, message{}, ErrMalformed},
		{"name not utf-8", []byte{wireVersion, byte(kindInvalidate), 1, 0xff, 1}, message{}, ErrMalformed},
		{"missing version", []byte{wireVersion, byte(kindInvalidate), 1, 'a'}, message{}, ErrMalformed},
		{"truncated varint", []byte{wireVersion, byte(kindInvalidate), 1, 'a', 0x80}, message{}, ErrMalformed},
		{"varint overflow", append([]byte{wireVersion, byte(kindInvalidate), 1, 'a'}, bytes.Repeat([]byte{0xff}, 10)...), message{}, ErrMalformed},
		{"padded varint", []byte{wireVersion, byte(kindInvalidate), 1, 'a', 0x81, 0x00}, message{}, ErrMalformed},
		{"trailing byte", append(encodeEvent(kindInvalidate, "a", 1), 0), message{}, ErrMalformed},
		{"huge count", []byte{wireVersion, byte(kindState), 0xff, 0xff, 0xff, 0xff, 0x0f, 0}, message{}, ErrMalformed},
		{"state truncated", []byte{wireVersion, byte(kindState), 1, 1, 'a', 1}, message{}, ErrMalformed},
		{"state unsorted", []byte{wireVersion, byte(kindState), 2, 1, 'b', 1, 1, 'a', 1, 0}, message{}, ErrMalformed},
		{"state duplicate", []byte{wireVersion, byte(kindState), 2, 1, 'a', 1, 1, 'a', 2, 0}, message{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("decode(%x) error = %v, want %v", tt.in, err, tt.err)
			}
			if err != nil {
				return
			}
			if got.kind != tt.want.kind || got.name != tt.want.name || got.version != tt.want.version ||
				!maps.Equal(got.sites, tt.want.sites) || !maps.Equal(got.certs, tt.want.certs) {
				t.Errorf("decode(%x) = %+v, want %+v", tt.in, got, tt.want)
			}
			if re := got.encode(); !bytes.Equal(re, tt.in) {
				t.Errorf("re-encode = %x, want %x", re, tt.in)
			}
		})
	}
}

func TestMessagesAreCompact(t *testing.T) {
	// A typical invalidation fits many times over in one UDP packet.
	if n := len(encodeEvent(kindInvalidate, "acme-cloud", 123456)); n > 16 {
		t.Errorf("invalidate for a 10-byte site is %d bytes, want ≤ 16", n)
	}
}

func FuzzDecode(f *testing.F) {
	// Valid messages of each kind.
	f.Add(encodeEvent(kindInvalidate, "acme", 7))
	f.Add(encodeEvent(kindCert, "status.acme.example", 1<<64-1))
	f.Add(encodeState(map[string]uint64{"a": 1, "b": 2}, map[string]uint64{"c": 3}))
	f.Add(encodeState(nil, nil))
	f.Add(encodeSignedEvent(kindInvalidate, "acme", 7, make([]byte, sigLen)))
	f.Add(encodeSignedState(map[string]uint64{"a": 1}, map[string]uint64{"c": 3}, map[string][]byte{"a": make([]byte, sigLen)}, map[string][]byte{"c": make([]byte, sigLen)}))
	// Invalid: empty, future version, unknown kind, padded varint, huge
	// count, unsorted state, trailing byte, bad UTF-8.
	f.Add([]byte{})
	f.Add([]byte{2, 1, 1, 'a', 1})
	f.Add([]byte{1, 200})
	f.Add([]byte{1, 1, 1, 'a', 0x80, 0x00})
	f.Add([]byte{1, 3, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 3, 2, 1, 'b', 1, 1, 'a', 1, 0})
	f.Add(append(encodeEvent(kindInvalidate, "a", 1), 0))
	f.Add([]byte{1, 1, 2, 0xc3, 0x28, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := decode(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWireVersion) && !errors.Is(err, ErrWireKind) {
				t.Fatalf("decode(%x): error %v is none of the sentinels", in, err)
			}
			return
		}
		// Canonical: what decodes re-encodes to the same bytes.
		if re := m.encode(); !bytes.Equal(re, in) {
			t.Fatalf("decode(%x) re-encodes to %x", in, re)
		}
		switch m.kind {
		case kindInvalidate, kindCert, kindSignedInvalidate, kindSignedCert:
			if checkName(m.name) != nil {
				t.Fatalf("decoded invalid name %q", m.name)
			}
			if signed := m.kind != m.kind.unsigned(); signed != (len(m.sig) == sigLen) {
				t.Fatalf("%v decoded with a %d-byte signature", m.kind, len(m.sig))
			}
		case kindState, kindSignedState:
			for name := range m.sites {
				if checkName(name) != nil {
					t.Fatalf("decoded invalid site %q", name)
				}
			}
			for name := range m.certs {
				if checkName(name) != nil {
					t.Fatalf("decoded invalid cert %q", name)
				}
			}
		default:
			t.Fatalf("decoded unknown kind %v", m.kind)
		}
	})
}

// FuzzRoundTrip checks that every valid event encodes and decodes back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(true, "acme", uint64(1))
	f.Add(false, "status.acme.example", uint64(1<<64-1))
	f.Add(true, "", uint64(0))
	f.Add(true, "\xff", uint64(3))
	f.Fuzz(func(t *testing.T, cert bool, name string, version uint64) {
		k := kindInvalidate
		if cert {
			k = kindCert
		}
		if checkName(name) != nil {
			return
		}
		m, err := decode(encodeEvent(k, name, version))
		if err != nil || m.kind != k || m.name != name || m.version != version {
			t.Fatalf("round trip of %v %q %d = %+v, %v", k, name, version, m, err)
		}
		s, err := decode(encodeState(map[string]uint64{name: version}, map[string]uint64{name: version + 1}))
		if err != nil || s.sites[name] != version || s.certs[name] != version+1 {
			t.Fatalf("state round trip of %q: %+v, %v", name, s, err)
		}
	})
}
