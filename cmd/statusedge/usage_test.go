package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// Every command answers -h on stdout with exit 0, and a bad flag with one
// line on stderr and exit 2; `statusedge version` prints one line.
func TestUsageIsConsistent(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring
		stderrLine string // prefix of the one line on stderr ("" none)
	}{
		{"top -h", []string{"-h"}, 0, "usage: statusedge <command>", ""},
		{"no command", nil, 2, "", "usage: statusedge <command>"},
		{"version", []string{"version"}, 0, "statusedge ", ""},
		{"version with an argument", []string{"version", "x"}, 2, "", "statusedge version: takes no arguments"},
		{"dev -h", []string{"dev", "-h"}, 0, "usage: statusedge dev", ""},
		{"origin -h", []string{"origin", "-h"}, 0, "Runs one origin replica:", ""},
		{"edge -h", []string{"edge", "-h"}, 0, "usage: statusedge edge", ""},
		{"ctl -h", []string{"ctl", "-h"}, 0, "--timeout", ""},
		{"dev bad flag", []string{"dev", "--bogus"}, 2, "", "statusedge dev: flag provided but not defined: -bogus"},
		{"origin bad flag", []string{"origin", "--bogus"}, 2, "", "statusedge origin: flag provided but not defined: -bogus"},
		{"edge bad flag", []string{"edge", "--bogus"}, 2, "", "statusedge edge: flag provided but not defined: -bogus"},
		{"bench -h", []string{"bench", "-h"}, 0, "usage: statusedge bench <scenario>", ""},
		{"bench unknown scenario", []string{"bench", "nope"}, 2, "", "statusedge bench: unknown benchmark \"nope\""},
		{"bench steady -h", []string{"bench", "steady", "-h"}, 0, "-rate int", ""},
		{"bench outage bad flag", []string{"bench", "outage", "--bogus"}, 2, "", "statusedge bench outage: flag provided but not defined: -bogus"},
		{"bench load -h", []string{"bench", "load", "-h"}, 0, "-rounds int", ""},
		{"bench load bad flag", []string{"bench", "load", "--rounds", "x"}, 2, "", "statusedge bench load: invalid value"},
		{"bench standard -h", []string{"bench", "standard", "-h"}, 0, "-skip string", ""},
		{"bench standard bad flag", []string{"bench", "standard", "--bogus"}, 2, "", "statusedge bench standard: flag provided but not defined: -bogus"},
		{"bench bare bad flag", []string{"bench", "bare", "--bogus"}, 2, "", "statusedge bench bare: flag provided but not defined: -bogus"},
		{"edge bad log level", []string{"edge", "--log-level", "loud", "--origin", "http://127.0.0.1:1", "--edge-secret", "s"}, 2, "", "statusedge edge: --log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) {
				t.Fatalf("exit %d, stdout %q; want %d and %q", code, stdout.String(), tc.code, tc.stdout)
			}
			if tc.stderrLine != "" && (!strings.HasPrefix(stderr.String(), tc.stderrLine) || (tc.code == 2 && tc.args != nil && strings.Count(stderr.String(), "\n") != 1)) {
				t.Fatalf("stderr %q, want one line starting %q", stderr.String(), tc.stderrLine)
			}
			if tc.stderrLine == "" && stderr.Len() > 0 {
				t.Fatalf("stderr %q, want nothing", stderr.String())
			}
		})
	}
}

// Time flags take RFC 3339, "now" or a time relative to now, and send RFC 3339.
func TestCtlTimeFlags(t *testing.T) {
	now := time.Date(2026, 11, 24, 14, 5, 30, 0, time.UTC)
	for _, tc := range []struct {
		in, want string // want "" = refused
	}{
		{"2026-11-24T16:00:00+01:00", "2026-11-24T15:00:00Z"},
		{"now", "2026-11-24T14:05:30Z"},
		{"+1h", "2026-11-24T15:05:30Z"},
		{"+90m", "2026-11-24T15:35:30Z"},
		{"-10m", "2026-11-24T13:55:30Z"},
		{" +2h30m ", "2026-11-24T16:35:30Z"},
		{"1h", ""},                  // no sign: ambiguous
		{"+1d", ""},                 // not a Go duration
		{"tomorrow", ""},            //
		{"2026-11-24 16:00", ""},    // no zone
		{"+9999999999h", ""},        // past year 9999
		{"+1h\nX-Evil: 1", ""},      // a header injection is not a time
		{"2026-11-24T14:05:00", ""}, // no zone
	} {
		v := tc.in
		_, err := ctlParseTime("at", &v, now)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: accepted as %s", tc.in, v)
		case tc.want != "" && (err != nil || v != tc.want):
			t.Errorf("%q: %q, %v; want %s", tc.in, v, err, tc.want)
		}
	}
}
