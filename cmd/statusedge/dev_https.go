package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/statusedge/statusedge/dev"
	"github.com/statusedge/statusedge/internal/acmeserver"
	"github.com/statusedge/statusedge/origin/client"
)

// devDomain is the custom domain `statusedge dev --https` gives the demo
// site, verified through the local DNS server.
const devDomain = "status.acme.test"

// startDevCA starts a local Pebble for `dev --https` and returns the HTTPS
// settings that point the first region's edge at it.
func startDevCA(ctx context.Context, dataDir string) (*acmeserver.Server, *dev.HTTPS, error) {
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		addrs = append(addrs, l.Addr().String())
		l.Close()
	}
	port := func(a string) int { return l4port(a) }
	ca, err := acmeserver.Start(ctx, filepath.Join(dataDir, "pebble"), acmeserver.Config{HTTPPort: port(addrs[1]), TLSPort: port(addrs[0])})
	if err != nil {
		return nil, nil, err
	}
	return ca, &dev.HTTPS{CA: ca.DirectoryURL, CARoots: ca.TLSRoots, HTTPSAddr: addrs[0], HTTPAddr: addrs[1]}, nil
}

func l4port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n := 0
	fmt.Sscan(p, &n)
	return n
}

// devVerifyDomain adds devDomain to the demo site, publishes its TXT record
// on the local DNS server and verifies it, as a responder would; it writes
// the roots of the local CA's certificates for curl.
func devVerifyDomain(ctx context.Context, sys *dev.System, ca *acmeserver.Server, dataDir string, stdout io.Writer) error {
	c, err := client.New(client.Config{BaseURL: sys.Regions[0].APIURL, Token: sys.OperatorToken, UserAgent: "statusedge-dev"})
	if err != nil {
		return err
	}
	yes := true
	d, err := c.AddDomain(ctx, "acme", client.DomainInput{Name: devDomain, HTTPSRedirect: &yes, HSTS: &yes})
	if err != nil {
		return fmt.Errorf("add %s: %w", devDomain, err)
	}
	if err := ca.SetTXT(ctx, d.TXTName, d.TXTValue); err != nil {
		return err
	}
	if _, err := c.VerifyDomain(ctx, "acme", devDomain, "dns"); err != nil {
		return fmt.Errorf("verify %s: %w", devDomain, err)
	}
	roots := filepath.Join(dataDir, "pebble-roots.pem")
	pem, err := ca.RootsPEM(ctx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(roots, pem, 0o644); err != nil {
		return err
	}
	for _, r := range sys.Regions {
		p := l4port(r.HTTPSAddr)
		fmt.Fprintf(stdout, "  region %-3s https  curl --cacert %s --resolve %s:%d:127.0.0.1 https://%s:%d/\n", r.Name, roots, devDomain, p, devDomain, p)
	}
	fmt.Fprintf(stdout, "  (%s is verified on the demo site; its certificate comes from a local Pebble on the first visit)\n", devDomain)
	return nil
}
