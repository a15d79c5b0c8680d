package tls

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
)

// ErrNotServed is the answer for a name that is not a verified domain.
var ErrNotServed = errors.New("tls: not a verified domain")

// MaxNameBytes bounds an SNI name that is looked up at all.
const MaxNameBytes = 253

// Names is the set of verified custom domains, swapped whole on each
// registry load and read without locks on every handshake.
type Names struct {
	set atomic.Pointer[map[string]struct{}]
}

// Set replaces the set.
func (n *Names) Set(names []string) {
	m := make(map[string]struct{}, len(names))
	for _, s := range names {
		m[strings.ToLower(s)] = struct{}{}
	}
	n.set.Store(&m)
}

// Normalize returns the lookup form of an SNI name (lowercase, one
// trailing dot dropped), or "" for one that cannot be a domain we serve
// (empty labels, characters outside letters, digits, '-' and '.').
func Normalize(sni string) string {
	sni = strings.TrimSuffix(sni, ".")
	if sni == "" || len(sni) > MaxNameBytes || sni[0] == '.' || sni[len(sni)-1] == '.' {
		return ""
	}
	lower := true
	for i := 0; i < len(sni); i++ {
		c := sni[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		case c == '.':
			if sni[i-1] == '.' {
				return ""
			}
		case c >= 'A' && c <= 'Z':
			lower = false
		default:
			return ""
		}
	}
	if !lower {
		return strings.ToLower(sni)
	}
	return sni
}

// Allowed reports whether name (an SNI as sent) is a verified domain.
func (n *Names) Allowed(name string) bool {
	m := n.set.Load()
	if m == nil {
		return false
	}
	name = Normalize(name)
	if name == "" {
		return false
	}
	_, ok := (*m)[name]
	return ok
}

// Decide is certmagic's OnDemandConfig.DecisionFunc.
func (n *Names) Decide(_ context.Context, name string) error {
	if !n.Allowed(name) {
		return ErrNotServed
	}
	return nil
}
