package tls

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/statusedge/statusedge/origin"
)

// Config configures a Manager. Zero values are the documented defaults.
type Config struct {
	// Storage is the origin's certificate storage (required).
	Storage *Storage
	// Names is the set of verified domains (required); the edge keeps it
	// current from the registry.
	Names *Names
	// CA is the ACME directory URL; "" is Let's Encrypt's production one.
	CA string
	// CARoots verifies the CA's HTTPS (a local Pebble's); nil is the system's.
	CARoots *x509.CertPool
	// Email is the ACME account's contact ("" is none).
	Email string
	// HTTPPort and TLSPort are the edge's plain-HTTP and HTTPS listen
	// ports: the CA's HTTP-01 and TLS-ALPN-01 validations arrive there
	// (0 disables that challenge). The challenge solvers never bind a
	// port of their own.
	HTTPPort, TLSPort int
	// ListenHost is the host those listeners are bound to ("" all).
	ListenHost string
	// Limits are the CA's issuance limits; zero is DefaultCALimits.
	Limits origin.CALimits
	// RenewalWindow is the share of a certificate's lifetime, at its end,
	// in which it is renewed; 0 is certmagic's (1/3).
	RenewalWindow float64
	// RenewCheck is how often held certificates are checked for renewal;
	// 0 is certmagic's (10 min).
	RenewCheck time.Duration
	// CARetryMax bounds the backoff between attempts to reach a CA that
	// does not answer; 0 is 30 s.
	CARetryMax time.Duration
	// DisableARI ignores the CA's renewal information (tests that set the
	// renewal window themselves).
	DisableARI bool
	// CacheDir is where the edge keeps a local copy of the certificates
	// it serves (sealed with a key derived from the cert secret), read
	// first when a certificate is loaded, so that a restarted edge serves
	// them while the origin cannot be reached; "" keeps none (a restarted
	// edge then needs the origin before its first handshake).
	CacheDir string
	// Logger gets the TLS layer's events; nil is slog.Default().
	Logger *slog.Logger
	// CertmagicLogger gets certmagic's own logs; nil discards them.
	CertmagicLogger *zap.Logger
}

// Manager issues, holds and renews the edge's certificates.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	cache  *certmagic.Cache
	magic  *certmagic.Config
	acme   *certmagic.ACMEIssuer
	local  *sealedFiles // nil without CacheDir
	tlsCfg *tls.Config
	// tickets seals TLS 1.3 session tickets with keys every edge derives
	// alike (sharedTickets); tickets12 TLS 1.2's with this process's own.
	tickets, tickets12 *tls.Config
	stopTickets        chan struct{}

	// Handshakes completed (full, resumed from a ticket) and refused for
	// want of a verified name.
	handshakes *prometheus.CounterVec
	full       prometheus.Counter
	resumed    prometheus.Counter
	refused    prometheus.Counter
}

// NewManager builds a Manager; Stop it when done.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Storage == nil || cfg.Names == nil {
		return nil, errors.New("tls: config: Storage and Names are required")
	}
	if cfg.Limits == (origin.CALimits{}) {
		cfg.Limits = origin.DefaultCALimits()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CARetryMax <= 0 {
		cfg.CARetryMax = caRetryMax
	}
	if cfg.CertmagicLogger == nil {
		cfg.CertmagicLogger = zap.NewNop()
	}
	m := &Manager{cfg: cfg, log: cfg.Logger.With("component", "tls")}
	var local certmagic.Storage
	if cfg.CacheDir != "" {
		sf, err := newSealedFiles(cfg.CacheDir, cfg.Storage.cfg.Secret)
		if err != nil {
			return nil, err
		}
		m.local, local = sf, sf
	}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		RenewCheckInterval: cfg.RenewCheck,
		Capacity:           10_000,
		Logger:             cfg.CertmagicLogger,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:            cfg.Storage,
		LocalCache:         local,
		OnDemand:           &certmagic.OnDemandConfig{DecisionFunc: cfg.Names.Decide},
		RenewalWindowRatio: cfg.RenewalWindow,
		DisableARI:         cfg.DisableARI,
		Logger:             cfg.CertmagicLogger,
	})
	ca := cfg.CA
	if ca == "" {
		ca = certmagic.LetsEncryptProductionCA
	}
	m.acme = certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA: ca, TestCA: ca, Email: cfg.Email, Agreed: true, TrustedRoots: cfg.CARoots,
		DisableHTTPChallenge: cfg.HTTPPort == 0, DisableTLSALPNChallenge: cfg.TLSPort == 0,
		AltHTTPPort: cfg.HTTPPort, AltTLSALPNPort: cfg.TLSPort, ListenHost: cfg.ListenHost,
		Logger: cfg.CertmagicLogger,
	})
	m.magic.Issuers = []certmagic.Issuer{&limitedIssuer{ACMEIssuer: m.acme, m: m}}
	m.handshakes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "statusedge", Subsystem: "tls",
		Name: "handshakes_total", Help: "TLS handshakes completed, by whether they resumed a session (a ticket)."},
		[]string{"resumed"})
	m.full, m.resumed = m.handshakes.WithLabelValues("false"), m.handshakes.WithLabelValues("true")
	m.refused = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "statusedge", Subsystem: "tls",
		Name: "sni_refused_total", Help: "Handshakes refused: their SNI is not a verified domain (no certificate, no order)."})
	m.tlsCfg = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1", acmez.ACMETLS1Protocol},
		GetCertificate: m.getCertificate,
		// A response in one record from the first one on, as nginx's
		// 16 KiB ssl_buffer_size does: Go otherwise starts a connection
		// with records of one TCP segment, growing (a 9 KiB page is 4
		// records and 4 writes on a new connection instead of one).
		DynamicRecordSizingDisabled: true,
		VerifyConnection:            m.countHandshake,
		WrapSession:                 m.wrapSession,
		UnwrapSession:               m.unwrapSession,
	}
	m.tickets, m.tickets12 = &tls.Config{}, &tls.Config{}
	m.stopTickets = make(chan struct{})
	m.tickets.SetSessionTicketKeys(ticketKeys(cfg.Storage.cfg.Secret, time.Now()))
	go m.rotateTickets()
	return m, nil
}

// TLSConfig is the HTTPS listener's configuration: a certificate only for
// verified domains (issued on the first handshake that needs one).
func (m *Manager) TLSConfig() *tls.Config { return m.tlsCfg }

// getCertificate refuses every name that is not a verified domain before
// certmagic looks at it: no storage read, no order, no default certificate.
func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if !m.cfg.Names.Allowed(hello.ServerName) {
		m.refused.Inc()
		return nil, ErrNotServed
	}
	c, err := m.magic.GetCertificate(hello)
	if err != nil {
		m.log.Warn("no certificate for a verified domain", "name", hello.ServerName, "err", err)
	}
	return c, err
}

// countHandshake counts a completed handshake (tls.Config.VerifyConnection,
// called for every one, resumed or not).
func (m *Manager) countHandshake(cs tls.ConnectionState) error {
	if cs.DidResume {
		m.resumed.Inc()
	} else {
		m.full.Inc()
	}
	return nil
}

// Collectors are the TLS layer's metrics (edge.Config.Collectors).
func (m *Manager) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.handshakes, m.refused}
}

// HTTPChallenge answers an ACME HTTP-01 request (from storage, so any edge
// answers for an order another edge placed); false if r is not one.
func (m *Manager) HTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	if !certmagic.LooksLikeHTTPChallenge(r) {
		return false
	}
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	if !m.cfg.Names.Allowed(host) {
		http.NotFound(w, r)
		return true
	}
	return m.acme.HandleHTTPChallenge(w, r)
}

// CertChanged is gossip's CertListener: a certificate was stored at
// version, so a held copy is reloaded from storage (a name the edge does
// not hold loads on its first handshake).
func (m *Manager) CertChanged(name string, version uint64) {
	if !m.cfg.Names.Allowed(name) || len(m.cache.AllMatchingCertificates(name)) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Reload(ctx, name); err != nil {
			m.log.Warn("reload certificate", "name", name, "version", version, "err", err)
		}
	}()
}

// Reload replaces the held certificate of name with the one in storage
// (and the local copy with it, once the origin answered).
func (m *Manager) Reload(ctx context.Context, name string) error {
	if m.local != nil {
		// certmagic reads the local copy first: drop it once the origin
		// is known to have one to read instead.
		if _, err := m.cfg.Storage.Stat(ctx, certmagic.StorageKeys.SiteCert(m.acme.IssuerKey(), name)); err != nil {
			return fmt.Errorf("tls: reload %s: %w", name, err)
		}
		if err := m.local.forget(ctx, m.acme.IssuerKey(), name); err != nil {
			m.log.Warn("drop the local copy", "name", name, "err", err)
		}
	}
	cert, err := m.magic.CacheManagedCertificate(ctx, name)
	if err != nil {
		return fmt.Errorf("tls: reload %s: %w", name, err)
	}
	for _, c := range m.cache.AllMatchingCertificates(name) {
		if c.Hash() != cert.Hash() && c.Leaf != nil && !c.Leaf.NotAfter.After(cert.Leaf.NotAfter) {
			m.cache.Remove([]string{c.Hash()})
		}
	}
	return nil
}

// Forget drops the held certificates of names that are no longer served,
// and their local copies.
func (m *Manager) Forget(names []string) {
	var subjects []certmagic.SubjectIssuer
	for _, n := range names {
		subjects = append(subjects, certmagic.SubjectIssuer{Subject: n})
		if m.local != nil {
			if err := m.local.forget(context.Background(), m.acme.IssuerKey(), n); err != nil {
				m.log.Warn("drop the local copy", "name", n, "err", err)
			}
		}
	}
	if len(subjects) > 0 {
		m.cache.RemoveManaged(subjects)
	}
}

// Held returns the certificate held for name, if any (tests, metrics).
func (m *Manager) Held(name string) *x509.Certificate {
	for _, c := range m.cache.AllMatchingCertificates(name) {
		return c.Leaf
	}
	return nil
}

// Stop ends the renewal and OCSP maintenance and the ticket key rotation.
func (m *Manager) Stop() {
	m.cache.Stop()
	select {
	case <-m.stopTickets:
	default:
		close(m.stopTickets)
	}
}

// Session tickets. A visitor's TLS 1.3 session resumes on any edge of any
// region (a load balancer moves it, an edge restarts): the ticket keys are
// derived from the cert secret and the day, the same on every edge, a new
// one each day and the last seven accepted (Go's longest ticket lifetime).
// TLS 1.3 resumption still runs an ECDHE exchange (Go offers only
// psk_dhe_ke), so someone who learns a ticket key cannot read recorded
// sessions. A TLS 1.2 ticket carries the session's master secret itself:
// those stay sealed with this process's own rotating keys (Go's default),
// and resume on this edge only.
const (
	ticketPeriod = 24 * time.Hour
	ticketKeep   = 7
)

// ticketKeys are the shared ticket keys at now: the current period's
// first (it seals new tickets), then the previous ones (still opened).
func ticketKeys(secret string, now time.Time) [][32]byte {
	period := now.Unix() / int64(ticketPeriod/time.Second)
	keys := make([][32]byte, ticketKeep)
	for i := range keys {
		k, _ := hkdf.Key(sha256.New, []byte(secret), nil, "statusedge tls session ticket key v1 "+strconv.FormatInt(period-int64(i), 10), 32)
		copy(keys[i][:], k)
	}
	return keys
}

func (m *Manager) rotateTickets() {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-m.stopTickets:
			return
		case now := <-t.C:
			m.tickets.SetSessionTicketKeys(ticketKeys(m.cfg.Storage.cfg.Secret, now))
		}
	}
}

func (m *Manager) wrapSession(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	if cs.Version >= tls.VersionTLS13 {
		return m.tickets.EncryptTicket(cs, ss)
	}
	return m.tickets12.EncryptTicket(cs, ss)
}

// unwrapSession opens a ticket; one that does not open (another edge's
// TLS 1.2 ticket, an expired key) is a full handshake, not an error.
func (m *Manager) unwrapSession(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	if cs.Version >= tls.VersionTLS13 {
		return m.tickets.DecryptTicket(identity, cs)
	}
	return m.tickets12.DecryptTicket(identity, cs)
}

// limitedIssuer asks the origin before each order (the CA's limits,
// counted across the cluster, and a failing name's backoff) and reports
// how it ended.
type limitedIssuer struct {
	*certmagic.ACMEIssuer
	m *Manager
}

// Issue implements certmagic.Issuer.
func (li *limitedIssuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	st, lim := li.m.cfg.Storage, li.m.cfg.Limits
	for _, name := range csr.DNSNames {
		if !li.m.cfg.Names.Allowed(name) {
			return nil, fmt.Errorf("tls: order for %s: %w", name, ErrNotServed)
		}
		ok, retry, reason, err := st.Order(ctx, name, "start", lim)
		if err != nil {
			return nil, fmt.Errorf("tls: order for %s: %w", name, err)
		}
		if !ok {
			return nil, fmt.Errorf("tls: order for %s held back until %s (%s)", name, retry.Format(time.RFC3339), reason)
		}
	}
	cert, err := li.issue(ctx, csr)
	outcome := "issued"
	if err != nil {
		outcome = "failed"
	}
	for _, name := range csr.DNSNames {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if _, _, _, rerr := st.Order(rctx, name, outcome, lim); rerr != nil {
			li.m.log.Warn("report order outcome", "name", name, "outcome", outcome, "err", rerr)
		}
		cancel()
	}
	if err != nil {
		li.m.log.Warn("order failed", "names", csr.DNSNames, "err", err)
	} else {
		li.m.log.Info("certificate issued", "names", csr.DNSNames)
	}
	return cert, err
}

// Retries of a CA that cannot be reached, within one attempt.
const (
	caRetryFirst = time.Second
	caRetryMax   = 30 * time.Second
)

// issue runs the ACME order. A CA that cannot be reached (no answer, no
// ACME problem document) placed no order and consumed no limit, so it is
// retried with backoff until ctx ends: a renewal during a CA outage
// completes soon after the CA is back, while the held certificate is
// served. An answer from the CA (a failed validation, a refusal) ends the
// attempt and counts against the name.
func (li *limitedIssuer) issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	wait := min(caRetryFirst, li.m.cfg.CARetryMax)
	for {
		cert, err := li.ACMEIssuer.Issue(ctx, csr)
		var prob acme.Problem
		if err == nil || errors.As(err, &prob) || ctx.Err() != nil {
			return cert, err
		}
		li.m.log.Warn("ACME CA unreachable; retrying", "names", csr.DNSNames, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, li.m.cfg.CARetryMax)
	}
}
