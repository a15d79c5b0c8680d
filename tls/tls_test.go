package tls_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/statusedge/statusedge/dev"
	"github.com/statusedge/statusedge/internal/acmeserver"
	"github.com/statusedge/statusedge/internal/testenv"
	"github.com/statusedge/statusedge/origin"
)

// rig is a two-region system with HTTPS, and Pebble validating at the
// first region's edge.
type rig struct {
	t      *testing.T
	sys    *dev.System
	pebble *testenv.Pebble
	dir    string // the system's DataDir
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

func newRig(t *testing.T, validity time.Duration, h dev.HTTPS) *rig {
	t.Helper()
	// With NoHTTP, Pebble's HTTP-01 port has no listener: only TLS-ALPN-01 can pass.
	httpsAddr, httpAddr := freeAddr(t), freeAddr(t)
	p := testenv.StartPebble(t, acmeserver.Config{HTTPPort: port(httpAddr), TLSPort: port(httpsAddr), Validity: validity})
	h.CA, h.CARoots, h.HTTPSAddr, h.HTTPAddr = p.DirectoryURL, p.TLSRoots, httpsAddr, httpAddr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tw := testWriter{t: t, done: new(atomic.Bool)}
	t.Cleanup(func() { tw.done.Store(true) }) // runs after the system's Shutdown
	log := slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h.CertmagicLogger = zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(tw), zap.DebugLevel))
	dir := t.TempDir()
	sys, err := dev.Start(ctx, dev.Config{DataDir: dir, Regions: 2, Fast: true, StartRedis: true, DomainDNS: p.DNSAddr, HTTPS: &h, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	return &rig{t: t, sys: sys, pebble: p, dir: dir}
}

// uniqueName is a fresh domain name for one test: certmagic keeps which
// names are being obtained or renewed in process-wide state, so a renewal
// a finished test left waiting (its origin is gone) would hold up a later
// test's first order of the same name in this process.
func uniqueName(label string) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%x.example.com", label, b)
}

// testWriter sends the system's logs to the test's log (shown on failure).
type testWriter struct {
	t    *testing.T
	done *atomic.Bool
}

func (w testWriter) Write(b []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

// api calls region 0's management API with the operator token.
func (r *rig) api(method, path string, body any) (int, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.sys.Regions[0].APIURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+r.sys.OperatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// addDomain adds name to site and, with verify, publishes its TXT record
// and verifies it; it waits until every edge routes it.
func (r *rig) addDomain(site, name string, verify bool, opts map[string]any) {
	r.t.Helper()
	body := map[string]any{"name": name}
	for k, v := range opts {
		body[k] = v
	}
	status, b := r.api("POST", "/v1/sites/"+site+"/domains", body)
	if status != 201 {
		r.t.Fatalf("add %s: %d %s", name, status, b)
	}
	var d origin.DomainView
	json.Unmarshal(b, &d)
	if !verify {
		return
	}
	r.pebble.SetTXT(d.TXTName, d.TXTValue)
	if status, b := r.api("POST", "/v1/sites/"+site+"/domains/"+name+"/verify", nil); status != 200 {
		r.t.Fatalf("verify %s: %d %s", name, status, b)
	}
	for i := range r.sys.Regions {
		r.waitPage(i, name)
	}
}

// waitPage waits until region i's edge serves host's page (its page
// listener, which every edge has).
func (r *rig) waitPage(i int, host string) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", r.sys.Regions[i].PageURL+"/", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("region %d, host %s: still %v %v", i, host, resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// plainGet sends GET / to region i's plain-HTTP listener with Host host.
func (r *rig) plainGet(i int, host, path string) (*http.Response, []byte) {
	r.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+r.sys.Regions[i].HTTPAddr+path, nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (r *rig) waitPlain(i int, host string, ok func(int) bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, _ := r.plainGet(i, host, "/")
		if ok(resp.StatusCode) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("region %d, host %s: still %d", i, host, resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpsGet opens a new TLS connection to region i's edge with SNI sni and
// asks for / with Host host.
func (r *rig) httpsGet(i int, roots *x509.CertPool, sni, host string) (*http.Response, []byte, *x509.Certificate, error) {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: sni},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, r.sys.Regions[i].HTTPSAddr)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	req, _ := http.NewRequest("GET", "https://"+sni+"/", nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b, resp.TLS.PeerCertificates[0], nil
}

func TestOneOrderServedByEveryRegion(t *testing.T) {
	r := newRig(t, 0, dev.HTTPS{DisableARI: true})
	name := uniqueName("status")
	r.addDomain("acme", name, true, map[string]any{"https_redirect": true, "hsts": true})
	r.addDomain("acme", "pending.example.com", false, nil)
	roots := r.pebble.Roots()

	// The first visitor arrives at the second region's edge: it orders;
	// Pebble validates at the first region's edge, which answers from the
	// shared storage.
	resp, body, leafB, err := r.httpsGet(1, roots, name, name)
	if err != nil {
		t.Fatalf("first HTTPS request: %v\n%s", err, r.pebble.Log())
	}
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("Acme Cloud")) || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Fatalf("edge B: %d %q %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"), body[:min(len(body), 200)])
	}
	if leafB.Subject.CommonName != name && (len(leafB.DNSNames) != 1 || leafB.DNSNames[0] != name) {
		t.Fatalf("certificate names %v", leafB.DNSNames)
	}
	// The other region serves the same certificate, without an order.
	_, _, leafA, err := r.httpsGet(0, roots, name, name)
	if err != nil {
		t.Fatalf("edge A: %v", err)
	}
	if !leafA.Equal(leafB) {
		t.Fatalf("edge A serves serial %s, edge B %s", leafA.SerialNumber, leafB.SerialNumber)
	}
	if n := r.pebble.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders, want 1", n)
	}

	// No certificate, no order, for names that are not verified domains.
	for _, sni := range []string{"pending.example.com", "random-8f3a.example.net", "acme.localhost", "", "127.0.0.1", strings.Repeat("a", 300) + ".com"} {
		for i := range r.sys.Regions {
			if _, _, leaf, err := r.httpsGet(i, roots, sni, name); err == nil {
				t.Errorf("SNI %q at region %d: handshake succeeded with %v", sni, i, leaf.DNSNames)
			}
		}
	}
	if n := r.pebble.Orders(); n != 1 {
		t.Fatalf("after unverified names Pebble saw %d orders, want 1", n)
	}

	// Another site's Host on this connection: 421, not the other page.
	if status, b := r.api("POST", "/v1/sites", map[string]any{"name": "Other", "slug": "other"}); status != 201 {
		t.Fatalf("other site: %d %s", status, b)
	}
	r.waitPlain(0, "other.localhost", func(s int) bool { return s == 200 })
	resp, body, _, err = r.httpsGet(0, roots, name, "other.localhost")
	if err != nil || resp.StatusCode != http.StatusMisdirectedRequest || bytes.Contains(body, []byte("Other")) {
		t.Fatalf("SNI %s, Host other.localhost: %v %v %q", name, err, resp, body)
	}
	// The site's own default hostname on the custom domain's connection is the same site.
	if resp, _, _, err := r.httpsGet(0, roots, name, "acme.localhost"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("SNI %s, Host acme.localhost: %v %v", name, err, resp)
	}

	// Port 80: opted-in domains go to HTTPS; a pending one answers its token.
	presp, _ := r.plainGet(0, name, "/history?x=1")
	if presp.StatusCode != http.StatusPermanentRedirect || presp.Header.Get("Location") != "https://"+name+":"+fmt.Sprint(port(r.sys.Regions[0].HTTPSAddr))+"/history?x=1" {
		t.Fatalf("plain HTTP: %d %q", presp.StatusCode, presp.Header.Get("Location"))
	}
	var list []origin.DomainView
	_, b := r.api("GET", "/v1/sites/acme/domains", nil)
	json.Unmarshal(b, &list)
	for _, d := range list {
		if d.Name == "pending.example.com" {
			if presp, tb := r.plainGet(1, d.Name, "/.well-known/statusedge-challenge/"+d.HTTPBody); presp.StatusCode != 200 || string(tb) != d.HTTPBody {
				t.Fatalf("pending token: %d %q", presp.StatusCode, tb)
			}
			if presp, _ := r.plainGet(1, d.Name, "/.well-known/statusedge-challenge/wrong"); presp.StatusCode == 200 {
				t.Fatal("a wrong token answered 200")
			}
			// The edge's own listener (--listen) answers it too.
			req, _ := http.NewRequest("GET", r.sys.Regions[0].PageURL+"/.well-known/statusedge-challenge/"+d.HTTPBody, nil)
			req.Host = d.Name
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			tb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(tb) != d.HTTPBody {
				t.Fatalf("pending token on the page listener: %d %q", resp.StatusCode, tb)
			}
		}
	}

	// Removed: no edge serves it any more.
	if status, b := r.api("DELETE", "/v1/sites/acme/domains/"+name, nil); status != 204 {
		t.Fatalf("remove: %d %s", status, b)
	}
	for i := range r.sys.Regions {
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, _, _, err := r.httpsGet(i, roots, name, name)
			if err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("region %d still serves the removed domain", i)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if n := r.pebble.Orders(); n != 1 {
		t.Fatalf("in all Pebble saw %d orders, want 1", n)
	}
}

// Short-lived certificates renew before they expire, while visitors keep
// opening connections to both regions; the CA is down (killed) when the
// renewal comes due: the held certificate keeps being served, the renewal
// is retried, and it succeeds once the CA is back. Every region serves the
// renewed certificate (cert event on gossip), and no visitor saw an error.
func TestRenewalWithTheCADown(t *testing.T) {
	const validity = 40 * time.Second
	r := newRig(t, validity, dev.HTTPS{DisableARI: true, RenewalWindow: 0.6, CARetryMax: time.Second})
	name := uniqueName("status")
	r.addDomain("acme", name, true, nil)
	roots := r.pebble.Roots()
	_, _, first, err := r.httpsGet(0, roots, name, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, b, err := r.httpsGet(1, roots, name, name); err != nil || !b.Equal(first) {
		t.Fatalf("region 1: %v", err)
	}
	r.pebble.Kill()

	// Visitors: a new connection to each region in turn, all along.
	type result struct {
		region int
		leaf   *x509.Certificate
		err    error
	}
	pool := roots.Clone()
	var poolMu = make(chan struct{}, 1)
	results := make(chan result, 1<<16)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			poolMu <- struct{}{}
			p := pool.Clone()
			<-poolMu
			resp, _, leaf, err := r.httpsGet(i%2, p, name, name)
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			results <- result{i % 2, leaf, err}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	defer func() { close(stop); <-done }()

	// The renewal comes due (60% of the lifetime left) while the CA is
	// down; the held certificate is served meanwhile.
	due := first.NotAfter.Add(-time.Duration(0.6 * float64(first.NotAfter.Sub(first.NotBefore))))
	for time.Now().Before(due.Add(3 * time.Second)) {
		res := <-results
		if res.err != nil {
			t.Fatalf("visitor error with the CA down: %v", res.err)
		}
		if !res.leaf.Equal(first) {
			t.Fatalf("a new certificate while the CA is down: %s", res.leaf.SerialNumber)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.pebble.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	poolMu <- struct{}{}
	pool = roots.Clone()
	for _, c := range rootsOf(t, r) {
		pool.AddCert(c)
	}
	<-poolMu

	// Before the first certificate expires, both regions serve a renewed one.
	renewed := map[int]bool{}
	for len(renewed) < 2 {
		if time.Now().After(first.NotAfter) {
			t.Fatalf("the certificate expired before it was renewed in every region (renewed: %v)\n%s", renewed, r.pebble.Log())
		}
		res := <-results
		if res.err != nil {
			t.Fatalf("visitor error: %v", res.err)
		}
		if !res.leaf.Equal(first) {
			if !res.leaf.NotAfter.After(first.NotAfter) {
				t.Fatalf("renewed certificate ends %s, before the first (%s)", res.leaf.NotAfter, first.NotAfter)
			}
			renewed[res.region] = true
		}
	}
	close(stop)
	<-done
	stop, done = make(chan struct{}), make(chan struct{})
	close(done)

	// The origins go down: the edges keep serving the certificates they hold.
	for _, reg := range r.sys.Regions {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := reg.Origin.Shutdown(sctx); err != nil {
			t.Fatalf("origin shutdown: %v", err)
		}
		cancel()
	}
	for i := range r.sys.Regions {
		poolMu <- struct{}{}
		p := pool.Clone()
		<-poolMu
		if _, _, leaf, err := r.httpsGet(i, p, name, name); err != nil || leaf.Equal(first) {
			t.Fatalf("region %d with the origins down: %v", i, err)
		}
	}
}

func rootsOf(t *testing.T, r *rig) []*x509.Certificate {
	pemBytes, err := r.pebble.RootsPEM(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, pemBytes = pem.Decode(pemBytes)
		if blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// An edge restarted while both origins are down serves the certificates it
// held, from its local copy (sealed on disk): no order, no origin.
func TestRestartedEdgeServesHeldCertsWithTheOriginsDown(t *testing.T) {
	r := newRig(t, 0, dev.HTTPS{DisableARI: true})
	name := uniqueName("restart")
	r.addDomain("acme", name, true, nil)
	roots := r.pebble.Roots()
	_, _, first, err := r.httpsGet(1, roots, name, name)
	if err != nil {
		t.Fatalf("first HTTPS request: %v\n%s", err, r.pebble.Log())
	}
	// The local copy is sealed: neither the key nor the certificate in clear.
	files := 0
	filepath.WalkDir(r.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "edge-certs") {
			return nil
		}
		files++
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("PRIVATE KEY")) || bytes.Contains(b, []byte("BEGIN CERTIFICATE")) {
			t.Errorf("%s holds a PEM block in clear", p)
		}
		return nil
	})
	if files == 0 {
		t.Fatal("no local copy of the certificate on disk")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The region's Redis must hold a registry with the domain (the edge
	// routes from it while the origin is down): an edge writes the whole
	// table there after a full load (at start), later changes at most
	// every 30 s. A restart with the origins up makes one.
	if err := r.sys.StopEdge(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.sys.StartEdge(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitRedisHas(t, r.sys.Regions[1].RedisURL, "statusedge:registry", `"name":"`+name+`","verified":true`)
	for i := range r.sys.Regions { // off the network: no API, no storage
		if err := r.sys.StopOrigin(ctx, i); err != nil {
			t.Fatalf("stop origin: %v", err)
		}
	}
	if err := r.sys.StopEdge(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// It starts from Redis's registry; its gossip cannot sync (no origin
	// to join), which StartEdge reports once its wait ends.
	sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
	defer scancel()
	if err := r.sys.StartEdge(sctx, 1); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("restart: %v", err)
	}
	resp, body, leaf, err := r.httpsGet(1, roots, name, name)
	if err != nil {
		t.Fatalf("restarted edge with the origins down: %v", err)
	}
	if !leaf.Equal(first) || resp.StatusCode != 200 || !bytes.Contains(body, []byte("Acme Cloud")) {
		t.Fatalf("restarted edge: serial %s (held %s), %d %q", leaf.SerialNumber, first.SerialNumber, resp.StatusCode, body[:min(len(body), 200)])
	}
	if n := r.pebble.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders, want 1", n)
	}
}

// With no plain-HTTP listener on any edge, and nothing on the port where
// Pebble would validate HTTP-01, the certificate comes by TLS-ALPN-01 on
// the HTTPS port alone.
func TestTLSALPNChallengeAlone(t *testing.T) {
	r := newRig(t, 0, dev.HTTPS{DisableARI: true, NoHTTP: true})
	if a := r.sys.Regions[0].HTTPAddr; a != "" {
		t.Fatalf("the edge has a plain-HTTP listener at %s", a)
	}
	name := uniqueName("alpn")
	r.addDomain("acme", name, true, nil)
	roots := r.pebble.Roots()
	resp, _, leaf, err := r.httpsGet(1, roots, name, name) // verified against Pebble's roots
	if err != nil {
		t.Fatalf("HTTPS request: %v\n%s", err, r.pebble.Log())
	}
	if resp.StatusCode != 200 || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != name {
		t.Fatalf("%d, certificate for %v", resp.StatusCode, leaf.DNSNames)
	}
	log := r.pebble.Log()
	if n := r.pebble.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders, want 1", n)
	}
	// Nothing answers HTTP-01 and no DNS-01 solver exists: the valid
	// authorization is TLS-ALPN-01's, and Pebble never tried HTTP.
	if !strings.Contains(log, "set VALID by completed challenge") || strings.Contains(log, "Attempting to validate w/ HTTP") {
		t.Fatalf("Pebble did not validate by TLS-ALPN-01 alone:\n%s", log)
	}
}

// waitRedisHas waits until the value of key in the Redis at addr contains
// want (a plain RESP GET).
func waitRedisHas(t *testing.T, addr, key, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			// GET, then QUIT: Redis answers both and closes the connection.
			fmt.Fprintf(c, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n*1\r\n$4\r\nQUIT\r\n", len(key), key)
			b, _ := io.ReadAll(io.LimitReader(c, 16<<20))
			c.Close()
			if bytes.Contains(b, []byte(want)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis %s: %s does not hold %q", addr, key, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A visitor's TLS 1.3 session resumes on the other region's edge (the
// ticket keys are the cluster's); a TLS 1.2 ticket, which carries the
// session's secret itself, resumes only on the edge that issued it.
func TestSessionResumesAcrossEdges(t *testing.T) {
	r := newRig(t, 0, dev.HTTPS{DisableARI: true})
	name := uniqueName("resume")
	r.addDomain("acme", name, true, nil)
	roots := r.pebble.Roots()
	if _, _, _, err := r.httpsGet(0, roots, name, name); err != nil { // the order
		t.Fatal(err)
	}
	resumed := func(t *testing.T, i int, cache tls.ClientSessionCache, version uint16) bool {
		t.Helper()
		c, err := tls.Dial("tcp", r.sys.Regions[i].HTTPSAddr, &tls.Config{RootCAs: roots, ServerName: name,
			ClientSessionCache: cache, MinVersion: version, MaxVersion: version})
		if err != nil {
			t.Fatalf("region %d: %v", i, err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", name)
		b, _ := io.ReadAll(c) // TLS 1.3 tickets arrive after the handshake
		if !bytes.HasPrefix(b, []byte("HTTP/1.1 200 ")) {
			t.Fatalf("region %d: %.80q", i, b)
		}
		return c.ConnectionState().DidResume
	}
	tests := []struct {
		name       string
		version    uint16
		first, see int
		want       bool
	}{
		{"TLS 1.3, the other region", tls.VersionTLS13, 0, 1, true},
		{"TLS 1.3, the same region", tls.VersionTLS13, 1, 1, true},
		{"TLS 1.2, the same region", tls.VersionTLS12, 0, 0, true},
		{"TLS 1.2, the other region: a full handshake", tls.VersionTLS12, 0, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := tls.NewLRUClientSessionCache(4)
			if resumed(t, tt.first, cache, tt.version) {
				t.Fatal("the first connection resumed")
			}
			if got := resumed(t, tt.see, cache, tt.version); got != tt.want {
				t.Fatalf("resumed = %v, want %v", got, tt.want)
			}
		})
	}
}
