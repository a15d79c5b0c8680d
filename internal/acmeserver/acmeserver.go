// Package acmeserver runs a local ACME CA for statusedge's dev topology and
// tests: Pebble (letsencrypt/pebble) with pebble-challtestsrv as its DNS
// server, both on free 127.0.0.1 ports. In: a working directory and the
// ports where Pebble's validation authority finds the HTTP-01 and
// TLS-ALPN-01 answers (an edge's --http-listen and --https-listen); out: the
// ACME directory URL, the roots that verify Pebble's own HTTPS and the
// certificates it issues, a DNS server that answers every name with
// 127.0.0.1 and serves the TXT records set through SetTXT, and Pebble's log,
// from which Orders counts the orders it received. Pause and Resume
// (SIGSTOP, SIGCONT) make the CA unreachable and back without losing its state.
package acmeserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoPebble is returned when pebble or pebble-challtestsrv is not installed.
var ErrNoPebble = errors.New("acmeserver: pebble and pebble-challtestsrv not found (scripts/setup.d/30-pebble.sh installs them)")

// Config says where Pebble validates challenges.
type Config struct {
	// HTTPPort and TLSPort are the ports Pebble connects to (on the address
	// the DNS server gives for a name, 127.0.0.1) for HTTP-01 and TLS-ALPN-01.
	HTTPPort, TLSPort int
	// Validity is the lifetime of issued certificates; 0 is 90 days.
	Validity time.Duration
}

// Server is a running Pebble and challtestsrv.
type Server struct {
	// DirectoryURL is the ACME directory.
	DirectoryURL string
	// DNSAddr is challtestsrv's DNS server (127.0.0.1:port, UDP and TCP).
	DNSAddr string
	// TLSRoots verifies Pebble's own HTTPS endpoint.
	TLSRoots *x509.CertPool

	dir, mgmt, pebbleMgmt string
	pebble, chall         *exec.Cmd
	exited                []chan struct{}
	pebbleLog             string
	pebbleBin, confFile   string
	pebbleEnv             []string
	pebbleAddrs           []string
}

// Start starts challtestsrv and then Pebble in dir, and waits until both answer.
func Start(ctx context.Context, dir string, cfg Config) (*Server, error) {
	pebbleBin, err1 := lookBin("pebble")
	challBin, err2 := lookBin("pebble-challtestsrv")
	if err1 != nil || err2 != nil {
		return nil, ErrNoPebble
	}
	if cfg.Validity <= 0 {
		cfg.Validity = 90 * 24 * time.Hour
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("acmeserver: %w", err)
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir: dir, DNSAddr: loop(ports[0]), mgmt: "http://" + loop(ports[1]),
		DirectoryURL: "https://" + loop(ports[2]) + "/dir", pebbleMgmt: "https://" + loop(ports[3]),
		pebbleLog: filepath.Join(dir, "pebble.log"),
	}
	certFile, keyFile, roots, err := selfSigned(dir)
	if err != nil {
		return nil, err
	}
	s.TLSRoots = roots
	s.chall, err = s.startLogged(filepath.Join(dir, "challtestsrv.log"), nil, challBin,
		"-dnsserver", s.DNSAddr, "-management", loop(ports[1]), "-http01", "", "-https01", "",
		"-tlsalpn01", "", "-doh", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	if err != nil {
		return nil, err
	}
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": loop(ports[2]), "managementListenAddress": loop(ports[3]),
		"certificate": certFile, "privateKey": keyFile, "httpPort": cfg.HTTPPort, "tlsPort": cfg.TLSPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1}, "keyAlgorithm": "ecdsa",
		"profiles": map[string]any{"default": map[string]any{
			"description": "statusedge tests", "validityPeriod": int(cfg.Validity / time.Second),
		}},
	}}
	b, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble-config.json")
	if err := os.WriteFile(confFile, b, 0o600); err != nil {
		s.Stop()
		return nil, fmt.Errorf("acmeserver: %w", err)
	}
	s.pebbleBin, s.confFile, s.pebbleAddrs = pebbleBin, confFile, []string{loop(ports[2]), loop(ports[3])}
	s.pebbleEnv = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	if err := waitTCP(ctx, loop(ports[1])); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.startPebble(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) startPebble(ctx context.Context) error {
	var err error
	s.pebble, err = s.startLogged(s.pebbleLog, s.pebbleEnv, s.pebbleBin, "-config", s.confFile, "-dnsserver", s.DNSAddr)
	if err != nil {
		return err
	}
	for _, a := range s.pebbleAddrs {
		if err := waitTCP(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// Kill ends Pebble (not its DNS server): the CA is down, its ports refuse.
func (s *Server) Kill() {
	s.pebble.Process.Kill()
	<-s.exited[len(s.exited)-1]
}

// Restart starts a killed Pebble again on the same ports. Its state starts
// empty (accounts, orders) and it has a new root; its log goes on.
func (s *Server) Restart(ctx context.Context) error { return s.startPebble(ctx) }

func lookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", err
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func loop(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("acmeserver: port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func (s *Server) startLogged(logPath string, env []string, bin string, args ...string) (*exec.Cmd, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("acmeserver: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = f, f, env
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("acmeserver: start %s: %w", filepath.Base(bin), err)
	}
	done := make(chan struct{})
	s.exited = append(s.exited, done)
	go func() { cmd.Wait(); f.Close(); close(done) }()
	return cmd, nil
}

func waitTCP(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("acmeserver: %s did not come up: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and localhost for Pebble's
// own HTTPS listener.
func selfSigned(dir string) (certFile, keyFile string, roots *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile, keyFile = filepath.Join(dir, "pebble-cert.pem"), filepath.Join(dir, "pebble-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", "", nil, err
	}
	c, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(c)
	return certFile, keyFile, roots, nil
}

// SetTXT makes the DNS server answer TXT queries for host (no trailing dot
// needed) with value.
func (s *Server) SetTXT(ctx context.Context, host, value string) error {
	return s.challPost(ctx, "/set-txt", map[string]string{"host": dnsName(host), "value": value})
}

// ClearTXT removes host's TXT records.
func (s *Server) ClearTXT(ctx context.Context, host string) error {
	return s.challPost(ctx, "/clear-txt", map[string]string{"host": dnsName(host)})
}

func dnsName(h string) string { return strings.TrimSuffix(h, ".") + "." }

func (s *Server) challPost(ctx context.Context, path string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.mgmt+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("acmeserver: challtestsrv %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("acmeserver: challtestsrv %s: %s", path, resp.Status)
	}
	return nil
}

// Roots returns the roots that verify the certificates Pebble issues (it
// makes a new root every time it starts).
func (s *Server) Roots(ctx context.Context) (*x509.CertPool, error) {
	b, err := s.RootsPEM(ctx)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("acmeserver: roots: no certificate in %q", b)
	}
	return pool, nil
}

// RootsPEM returns Pebble's root certificate, PEM-encoded.
func (s *Server) RootsPEM(ctx context.Context) ([]byte, error) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.TLSRoots}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.pebbleMgmt+"/roots/0", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("acmeserver: roots: %w", err)
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// Orders counts the new-order requests Pebble has received, from its log.
func (s *Server) Orders() (int, error) {
	b, err := os.ReadFile(s.pebbleLog)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte("POST /order-plz")), nil
}

// Log returns Pebble's log so far (for test failures).
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.pebbleLog)
	return string(b)
}

// Pause freezes Pebble (SIGSTOP): connections hang, nothing answers.
func (s *Server) Pause() error { return s.pebble.Process.Signal(syscall.SIGSTOP) }

// Resume thaws a paused Pebble.
func (s *Server) Resume() error { return s.pebble.Process.Signal(syscall.SIGCONT) }

// Stop kills both processes and waits for them to exit.
func (s *Server) Stop() {
	for _, c := range []*exec.Cmd{s.pebble, s.chall} {
		if c != nil && c.Process != nil {
			c.Process.Kill()
		}
	}
	for _, done := range s.exited {
		<-done
	}
	s.exited = nil
}
