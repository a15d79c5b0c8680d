package main

import (
	"cmp"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/valyala/fasthttp"

	"github.com/statusedge/statusedge/edge"
	setls "github.com/statusedge/statusedge/tls"
)

// edgeHTTPSFlags are the edge's HTTPS flags (off unless --https-listen).
type edgeHTTPSFlags struct {
	httpsListen, httpListen, ca, caRoots, email, certSecret, certCache string
}

func registerHTTPSFlags(fs *flag.FlagSet) *edgeHTTPSFlags {
	f := &edgeHTTPSFlags{}
	fs.StringVar(&f.httpsListen, "https-listen", "", "`address` for HTTPS with on-demand certificates for verified custom domains, e.g. :443 (empty: no HTTPS)")
	fs.StringVar(&f.httpListen, "http-listen", "", "`address` for plain HTTP with ACME HTTP-01 and redirects to HTTPS, e.g. :80 (with --https-listen)")
	fs.StringVar(&f.ca, "acme-ca", "", "ACME directory `URL` (default: Let's Encrypt)")
	fs.StringVar(&f.caRoots, "acme-ca-roots", "", "PEM `file` of roots that verify the ACME CA's own HTTPS (a local CA's)")
	fs.StringVar(&f.email, "acme-email", "", "contact `address` of the ACME account")
	fs.StringVar(&f.certCache, "cert-cache", "", "`directory` for a local copy of the certificates this edge serves (sealed with a key derived from the cert secret), so that a restarted edge serves them while the origin is down (empty: none)")
	fs.StringVar(&f.certSecret, "cert-secret", "", "the origins' cert secret, for the shared certificate storage (or $STATUSEDGE_CERT_SECRET)")
	return f
}

// frontend checks the flags and binds the HTTPS listeners; nil without
// --https-listen. A non-nil error is a usage error.
func (f *edgeHTTPSFlags) frontend(originURL string, log *slog.Logger) (*setls.Frontend, error) {
	if f.httpsListen == "" {
		if f.httpListen != "" {
			return nil, fmt.Errorf("--http-listen needs --https-listen")
		}
		return nil, nil
	}
	secret := cmp.Or(f.certSecret, os.Getenv("STATUSEDGE_CERT_SECRET"))
	if len(secret) < 16 {
		return nil, fmt.Errorf("--https-listen needs --cert-secret (or $STATUSEDGE_CERT_SECRET), at least 16 characters")
	}
	var roots *x509.CertPool
	if f.caRoots != "" {
		b, err := os.ReadFile(f.caRoots)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-roots: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--acme-ca-roots: no PEM certificate in %s", f.caRoots)
		}
	}
	return setls.Listen(setls.FrontendConfig{
		HTTPSAddr: f.httpsListen, HTTPAddr: f.httpListen,
		Storage: setls.StorageConfig{OriginURL: originURL, Secret: secret},
		CA:      f.ca, CARoots: roots, Email: f.email, CacheDir: f.certCache, Logger: log,
	})
}

// serveHTTPS starts the HTTPS (and plain-HTTP) listeners in front of srv.
func serveHTTPS(tf *setls.Frontend, srv *edge.Server, errc chan<- error) {
	tf.Serve(srv.ServeWith, srv.HTTPSHandler(), func(acme fasthttp.RequestHandler, port string) fasthttp.RequestHandler {
		return srv.PlainHandler(acme, true, port)
	}, errc)
}
