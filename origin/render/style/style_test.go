package style

import (
	"strings"
	"testing"
)

func TestSheetAccent(t *testing.T) {
	for _, tc := range []struct{ accent, want string }{
		{"#0a7", "#0a7"},
		{"#12AB9f", "#12AB9f"},
		{"", DefaultAccent},
		{"red", DefaultAccent},
		{"#12345", DefaultAccent},
		{"#1234567", DefaultAccent},
		{"#123456;background:url(x)", DefaultAccent},
		{"#123456\n", DefaultAccent},
		{"#abc}</style><script>alert(1)</script>", DefaultAccent},
		{"expression(alert(1))", DefaultAccent},
		{"{{accent}}", DefaultAccent},
	} {
		t.Run(tc.accent, func(t *testing.T) {
			s := Sheet(tc.accent)
			if !strings.Contains(s, ":root{--accent:"+tc.want+";") {
				t.Errorf("Sheet(%q) does not set --accent:%s", tc.accent, tc.want)
			}
			if strings.Contains(s, "</") || strings.Contains(s, "<!--") || strings.Contains(s, accentMarker) {
				t.Errorf("Sheet(%q) holds </, <!-- or the accent marker", tc.accent)
			}
			if got := Accent(tc.accent); got != tc.want {
				t.Errorf("Accent(%q) = %q, want %q", tc.accent, got, tc.want)
			}
		})
	}
	if n := strings.Count(sheet, accentMarker); n != 1 {
		t.Fatalf("style.css holds the accent marker %d times, want once", n)
	}
}
