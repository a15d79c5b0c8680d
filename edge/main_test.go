package edge

import (
	"os"
	"testing"

	"github.com/statusedge/statusedge/internal/testenv"
)

// TestMain fails the run if goroutines started by the tests outlive them:
// every server, node, client and timer must be stopped by its cleanup.
// fasthttp keeps one process-wide goroutine that updates its Date header.
func TestMain(m *testing.M) { os.Exit(testenv.RunWithoutLeaks(m, "fasthttp.updateServerDate")) }
