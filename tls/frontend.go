package tls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"go.uber.org/zap"

	"github.com/statusedge/statusedge/origin"
)

// FrontendConfig configures an edge's HTTPS and plain-HTTP listeners.
type FrontendConfig struct {
	// HTTPSAddr is the HTTPS listen address (required), e.g. ":443".
	HTTPSAddr string
	// HTTPAddr is the plain-HTTP listen address ("" none), e.g. ":80":
	// ACME HTTP-01 and the redirect to HTTPS.
	HTTPAddr string
	// Storage reaches the origin's certificate storage.
	Storage StorageConfig
	// The ACME CA and the manager's settings (see Config).
	CA              string
	CARoots         *x509.CertPool
	Email           string
	Limits          origin.CALimits
	RenewalWindow   float64
	RenewCheck      time.Duration
	CARetryMax      time.Duration
	DisableARI      bool
	CacheDir        string
	Logger          *slog.Logger
	CertmagicLogger *zap.Logger
}

// ServeFunc serves h on ln, with TLS when cfg is not nil, until the edge
// shuts down: edge.Server.ServeWith, so that the HTTPS listeners have the
// edge's connection limits, accept retries and timeouts, counted with its
// other listeners'.
type ServeFunc func(ln net.Listener, cfg *tls.Config, h fasthttp.RequestHandler) error

// Frontend is one edge's HTTPS (and plain-HTTP) listeners and the
// certificate manager behind them.
type Frontend struct {
	cfg       FrontendConfig
	names     *Names
	mgr       *Manager
	httpsLn   net.Listener
	httpLn    net.Listener
	served    bool
	mu        sync.Mutex
	prev      map[string]bool
	httpsPort string
	shutOnce  sync.Once
	shutErr   error
}

// Listen binds the listeners and builds the manager; Serve starts them.
func Listen(cfg FrontendConfig) (*Frontend, error) {
	if cfg.HTTPSAddr == "" {
		return nil, errors.New("tls: frontend: HTTPSAddr is required")
	}
	if cfg.Storage.Logger == nil {
		cfg.Storage.Logger = cfg.Logger
	}
	st, err := NewStorage(cfg.Storage)
	if err != nil {
		return nil, err
	}
	f := &Frontend{cfg: cfg, names: &Names{}, prev: map[string]bool{}}
	if f.httpsLn, err = net.Listen("tcp", cfg.HTTPSAddr); err != nil {
		return nil, fmt.Errorf("tls: https listen: %w", err)
	}
	if cfg.HTTPAddr != "" {
		if f.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			f.httpsLn.Close()
			return nil, fmt.Errorf("tls: http listen: %w", err)
		}
	}
	mc := Config{
		Storage: st, Names: f.names, CA: cfg.CA, CARoots: cfg.CARoots, Email: cfg.Email, Limits: cfg.Limits,
		RenewalWindow: cfg.RenewalWindow, RenewCheck: cfg.RenewCheck, CARetryMax: cfg.CARetryMax, DisableARI: cfg.DisableARI,
		CacheDir: cfg.CacheDir, Logger: cfg.Logger, CertmagicLogger: cfg.CertmagicLogger,
	}
	mc.ListenHost, mc.TLSPort = hostPort(f.httpsLn)
	f.httpsPort = strconv.Itoa(mc.TLSPort)
	if f.httpLn != nil {
		_, mc.HTTPPort = hostPort(f.httpLn)
	}
	if f.mgr, err = NewManager(mc); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func hostPort(ln net.Listener) (string, int) {
	a := ln.Addr().(*net.TCPAddr)
	if a.IP.IsUnspecified() {
		return "", a.Port
	}
	return a.IP.String(), a.Port
}

// HTTPSAddr and HTTPAddr are the bound addresses ("" for none).
func (f *Frontend) HTTPSAddr() string { return f.httpsLn.Addr().String() }

// HTTPAddr is the bound plain-HTTP address, "" without one.
func (f *Frontend) HTTPAddr() string {
	if f.httpLn == nil {
		return ""
	}
	return f.httpLn.Addr().String()
}

// Manager is the certificate manager (gossip's CertListener).
func (f *Frontend) Manager() *Manager { return f.mgr }

// OnDomains takes the registry's verified domains (edge.Config.OnDomains):
// they become the names served, and certificates of names no longer
// verified are dropped at once.
func (f *Frontend) OnDomains(verified []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names.Set(verified)
	next := make(map[string]bool, len(verified))
	for _, n := range verified {
		next[n] = true
	}
	var gone []string
	for n := range f.prev {
		if !next[n] {
			gone = append(gone, n)
		}
	}
	f.prev = next
	f.mgr.Forget(gone)
}

// Serve starts serving through serve (the edge's): https on the HTTPS
// listener, and on the plain one what plain builds around the ACME HTTP-01
// handler (given the HTTPS port for redirects). Errors from the servers go
// to errc. The edge's Shutdown stops them.
func (f *Frontend) Serve(serve ServeFunc, https fasthttp.RequestHandler, plain func(acme fasthttp.RequestHandler, httpsPort string) fasthttp.RequestHandler, errc chan<- error) {
	f.mu.Lock()
	f.served = true
	f.mu.Unlock()
	run(serve, f.httpsLn, f.mgr.TLSConfig(), https, errc)
	if f.httpLn != nil {
		acme := fasthttpadaptor.NewFastHTTPHandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !f.mgr.HTTPChallenge(w, r) {
				http.NotFound(w, r)
			}
		})
		run(serve, f.httpLn, nil, plain(acme, f.httpsPort), errc)
	}
}

func run(serve ServeFunc, ln net.Listener, cfg *tls.Config, h fasthttp.RequestHandler, errc chan<- error) {
	addr := ln.Addr()
	go func() {
		if err := serve(ln, cfg, h); err != nil && !errors.Is(err, net.ErrClosed) && errc != nil {
			select {
			case errc <- fmt.Errorf("tls: serve %s: %w", addr, err):
			default:
			}
		}
	}()
}

// Shutdown stops the certificate maintenance and the storage's lease
// renewals, and closes the listeners if Serve never took them (the edge's
// Shutdown stops served ones). Calls after the first return its result.
func (f *Frontend) Shutdown(ctx context.Context) error {
	f.shutOnce.Do(func() { f.shutErr = f.shutdown(ctx) })
	return f.shutErr
}

func (f *Frontend) shutdown(context.Context) error {
	f.mu.Lock()
	served := f.served
	f.mu.Unlock()
	if !served {
		f.close()
	}
	f.mgr.Stop()
	f.mgr.cfg.Storage.Close()
	return nil
}

func (f *Frontend) close() {
	f.httpsLn.Close()
	if f.httpLn != nil {
		f.httpLn.Close()
	}
}
