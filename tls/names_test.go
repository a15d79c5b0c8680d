package tls

import (
	"strings"
	"testing"
)

func TestNamesAllowed(t *testing.T) {
	var n Names
	if n.Allowed("status.example.com") {
		t.Fatal("an empty set allows a name")
	}
	n.Set([]string{"status.example.com", "www.example.org"})
	for _, tc := range []struct {
		sni  string
		want bool
	}{
		{"status.example.com", true},
		{"STATUS.Example.COM", true},  // SNI is case-insensitive
		{"status.example.com.", true}, // a trailing dot is the same name
		{"www.example.org", true},
		{"example.com", false},          // the parent
		{"a.status.example.com", false}, // a child
		{"*.example.com", false},
		{"", false},
		{".", false},
		{"status.example.com..", false},
		{"status.example.com\x00", false},
		{"status.example.com/x", false},
		{"stätus.example.com", false},
		{strings.Repeat("a", 300), false},
		{"127.0.0.1", false},
	} {
		if got := n.Allowed(tc.sni); got != tc.want {
			t.Errorf("Allowed(%q) = %v, want %v", tc.sni, got, tc.want)
		}
	}
	n.Set(nil)
	if n.Allowed("status.example.com") {
		t.Fatal("a removed name is allowed")
	}
}

// FuzzDecision checks the decision on arbitrary SNI strings: only a name
// of the set (compared case-insensitively, one trailing dot ignored) is
// allowed, whatever the bytes; Normalize is idempotent and yields only
// lowercase DNS characters.
func FuzzDecision(f *testing.F) {
	for _, s := range []string{
		"status.example.com", "STATUS.EXAMPLE.COM", "status.example.com.", "", ".", "..",
		"status.example.com\x00", "xn--sttus-gra.example.com", "a.status.example.com", "*.example.com",
		strings.Repeat("a.", 130), "status.example.com:443", "[::1]", "status example.com",
	} {
		f.Add(s)
	}
	var n Names
	n.Set([]string{"status.example.com", "xn--sttus-gra.example.com"})
	f.Fuzz(func(t *testing.T, sni string) {
		got := n.Allowed(sni)
		canon := strings.ToLower(strings.TrimSuffix(sni, "."))
		want := canon == "status.example.com" || canon == "xn--sttus-gra.example.com"
		if got != want {
			t.Fatalf("Allowed(%q) = %v, want %v", sni, got, want)
		}
		norm := Normalize(sni)
		if Normalize(norm) != norm {
			t.Fatalf("Normalize not idempotent on %q: %q", sni, norm)
		}
		if len(norm) > MaxNameBytes || strings.IndexFunc(norm, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.')
		}) >= 0 {
			t.Fatalf("Normalize(%q) = %q", sni, norm)
		}
		if err := n.Decide(t.Context(), sni); (err == nil) != want {
			t.Fatalf("Decide(%q) = %v", sni, err)
		}
	})
}
