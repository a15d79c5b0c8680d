package testenv

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// RunWithoutLeaks runs a package's tests and fails the run if goroutines the
// tests started outlive them: every server, node, client and timer must be
// stopped by its test's cleanup. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunWithoutLeaks(m)) }
//
// Goroutines whose stack contains one of ignore (a function name) are not
// counted, for a library's process-wide workers that are not the tests' to
// stop. The runtime's and the test framework's own are never counted.
func RunWithoutLeaks(m *testing.M, ignore ...string) int {
	ignore = append(ignore, "os/signal.signal_recv", "testing.(*M).Run", "testenv.RunWithoutLeaks", ".TestMain(",
		"runtime.ensureSigM", "testing.runFuzzTests")
	base := len(goroutines(ignore))
	code := m.Run()
	if code != 0 {
		return code
	}
	// Stopped goroutines may take a moment to return (a closed connection's
	// reader, a timer's last tick).
	deadline := time.Now().Add(10 * time.Second)
	for len(goroutines(ignore)) > base && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if g := goroutines(ignore); len(g) > base {
		fmt.Fprintf(os.Stderr, "leaked goroutines: %d at start, %d at end\n%s\n", base, len(g), strings.Join(g, "\n\n"))
		return 1
	}
	return 0
}

// goroutines returns the stacks of the running goroutines but for those that
// contain one of ignore.
func goroutines(ignore []string) []string {
	buf := make([]byte, 4<<20)
	var out []string
next:
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		for _, s := range ignore {
			if strings.Contains(g, s) {
				continue next
			}
		}
		out = append(out, g)
	}
	return out
}
