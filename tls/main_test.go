package tls_test

import (
	"os"
	"testing"

	"github.com/statusedge/statusedge/internal/testenv"
)

// TestMain fails the run if goroutines started by the tests outlive them.
// certmagic keeps a rate limiter per CA for the process and lets a
// background renewal wait out its retry interval: those are its own.
func TestMain(m *testing.M) {
	os.Exit(testenv.RunWithoutLeaks(m, "fasthttp.updateServerDate", "certmagic.(*RingBufferRateLimiter)", "certmagic.doWithRetry",
		"certmagic.(*Config).renewDynamicCertificate"))
}
