package gossip

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines started by the tests outlive them:
// every Node, transport and timer must be stopped by its cleanup.
func TestMain(m *testing.M) {
	base := len(goroutines())
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(10 * time.Second)
		for len(goroutines()) > base && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if g := goroutines(); len(g) > base {
			fmt.Fprintf(os.Stderr, "leaked goroutines: %d at start, %d at end\n%s\n", base, len(g), strings.Join(g, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// goroutines returns the stacks of the running goroutines, leaving out the
// ones the runtime and the test framework own (the fuzzer's signal handler).
func goroutines() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "os/signal.signal_recv") || strings.Contains(g, "gossip.TestMain") {
			continue
		}
		out = append(out, g)
	}
	return out
}
