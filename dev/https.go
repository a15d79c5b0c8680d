package dev

import (
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/statusedge/statusedge/origin"
	setls "github.com/statusedge/statusedge/tls"
)

// HTTPS configures the edges' HTTPS in a dev topology.
type HTTPS struct {
	// CA is the ACME directory (a local Pebble's); CARoots verifies its HTTPS.
	CA      string
	CARoots *x509.CertPool
	// HTTPSAddr and HTTPAddr are the first region's listen addresses, where
	// the CA validates (other regions take free ports; 127.0.0.1:0 when empty).
	HTTPSAddr, HTTPAddr string
	// NoHTTP gives the edges no plain-HTTP listener: the CA validates by
	// TLS-ALPN-01 on the HTTPS port alone.
	NoHTTP bool
	// Limits, RenewalWindow, RenewCheck, CARetryMax and DisableARI: see setls.Config.
	Limits        origin.CALimits
	RenewalWindow float64
	RenewCheck    time.Duration
	CARetryMax    time.Duration
	DisableARI    bool
	// CertmagicLogger gets certmagic's own logs (nil: none).
	CertmagicLogger *zap.Logger
}

// listenHTTPS binds region i's HTTPS and HTTP listeners (the same
// addresses again after a StopEdge) and builds its certificate manager,
// with its local copy of the certificates in the region's directory.
func (s *System) listenHTTPS(i int) (*setls.Frontend, error) {
	h, reg := s.cfg.HTTPS, s.Regions[i]
	httpsAddr, httpAddr := "127.0.0.1:0", "127.0.0.1:0"
	switch {
	case reg.HTTPSAddr != "":
		httpsAddr, httpAddr = reg.HTTPSAddr, reg.HTTPAddr
	case i == 0:
		httpsAddr, httpAddr = orLoopback(h.HTTPSAddr), orLoopback(h.HTTPAddr)
	}
	if h.NoHTTP {
		httpAddr = ""
	}
	f, err := setls.Listen(setls.FrontendConfig{
		HTTPSAddr: httpsAddr, HTTPAddr: httpAddr,
		Storage: setls.StorageConfig{OriginURL: reg.APIURL, Secret: s.sec.CertSecret, Owner: "edge-" + reg.Name},
		CA:      h.CA, CARoots: h.CARoots, Limits: h.Limits,
		RenewalWindow: h.RenewalWindow, RenewCheck: h.RenewCheck, CARetryMax: h.CARetryMax, DisableARI: h.DisableARI,
		CacheDir: filepath.Join(reg.dir, "edge-certs"), Logger: s.log.With("edge", reg.Name), CertmagicLogger: h.CertmagicLogger,
	})
	if err != nil {
		return nil, fmt.Errorf("dev: region %s: %w", reg.Name, err)
	}
	reg.HTTPSAddr, reg.HTTPAddr = f.HTTPSAddr(), f.HTTPAddr()
	return f, nil
}

func orLoopback(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	if strings.HasPrefix(addr, ":") {
		return net.JoinHostPort("127.0.0.1", addr[1:])
	}
	return addr
}
