package testenv

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/statusedge/statusedge/internal/acmeserver"
)

// Pebble is a local ACME CA (Pebble, with pebble-challtestsrv as its DNS
// server) for one test; see internal/acmeserver.
type Pebble struct {
	*acmeserver.Server
	tb testing.TB
}

// StartPebble starts Pebble and challtestsrv on free loopback ports in a
// temp dir; Pebble validates HTTP-01 at 127.0.0.1:cfg.HTTPPort and
// TLS-ALPN-01 at 127.0.0.1:cfg.TLSPort. Both stop at the end of the test.
func StartPebble(tb testing.TB, cfg acmeserver.Config) *Pebble {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := acmeserver.Start(ctx, tb.TempDir(), cfg)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(s.Stop)
	return &Pebble{Server: s, tb: tb}
}

// SetTXT publishes a TXT record on the test DNS server.
func (p *Pebble) SetTXT(host, value string) {
	p.tb.Helper()
	if err := p.Server.SetTXT(context.Background(), host, value); err != nil {
		p.tb.Fatal(err)
	}
}

// Roots returns the roots of the certificates Pebble issues.
func (p *Pebble) Roots() *x509.CertPool {
	p.tb.Helper()
	r, err := p.Server.Roots(context.Background())
	if err != nil {
		p.tb.Fatal(err)
	}
	return r
}

// Orders counts the orders Pebble received.
func (p *Pebble) Orders() int {
	p.tb.Helper()
	n, err := p.Server.Orders()
	if err != nil {
		p.tb.Fatal(err)
	}
	return n
}
