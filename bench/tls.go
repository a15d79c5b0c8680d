package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The tls scenario: the edge's HTTPS next to nginx terminating TLS with
// the same certificate and key, on the demo page (cache hits, gzip), each
// server on one core (the edge with GOMAXPROCS=1) and wrk on another:
//   - keep-alive: req/s, p99 and the server's CPU per request;
//   - a new TLS connection per request (Connection: close): handshakes/s
//     (wrk resumes sessions with tickets where the server issues them,
//     both servers do; the edge's /metrics says how many resumed);
//   - the time from the first request for a newly verified domain to its
//     first byte (the ACME order with a local Pebble included).
// The edge is `statusedge dev --https` (its verified demo domain); its
// /metrics, read around each of its loads, must count what wrk did: its
// page answers (the request histogram) and its handshakes.

// TLSConfig configures RunTLS. Zero values are the documented defaults.
type TLSConfig struct {
	// Bin is the statusedge binary to start `dev --https` from (required).
	Bin string
	// Dir is a scratch directory (required): the dev system's data, nginx.
	Dir string
	// Duration is each wrk run's length (default 10 s); Rounds how many
	// times each load runs, the order rotating (default 3; medians).
	Duration time.Duration
	Rounds   int
	// Connections are wrk's keep-alive connections (default 50);
	// HandshakeConnections its connections without keep-alive (default 20).
	Connections, HandshakeConnections int
	// ServerCPU and LoadCPU are the cores of the servers and of wrk; -1
	// each leaves it unpinned (RunTLS pins nothing on a single core).
	ServerCPU, LoadCPU int
	// Progress gets a line per step (nil: none).
	Progress io.Writer
}

// TLSEdgeCount is what the edge's /metrics counted during one of its loads,
// next to what wrk completed.
type TLSEdgeCount struct {
	Load        string  `json:"load"`
	Connections int     `json:"connections"`
	Requests    int64   `json:"wrk_requests"`
	Answers     float64 `json:"edge_answers"`
	Handshakes  float64 `json:"edge_handshakes"`
	Resumed     float64 `json:"edge_resumed_handshakes"`
}

// Agrees reports whether the edge counted what wrk did: every completed
// request as a page answer (at most one more per connection, in flight
// when wrk stopped) and, without keep-alive, a handshake per request.
func (c TLSEdgeCount) Agrees(keepAlive bool) bool {
	within := func(v float64, n int64) bool { return v >= float64(n) && v <= float64(n)+float64(c.Connections) }
	if !within(c.Answers, c.Requests) {
		return false
	}
	if keepAlive {
		return c.Handshakes <= float64(c.Connections)
	}
	return within(c.Handshakes, c.Requests)
}

// TLSRun is what RunTLS measured.
type TLSRun struct {
	Report    Report
	Counts    []TLSEdgeCount
	FirstByte time.Duration
}

// The four loads, by name.
const (
	tlsEdgeKA    = "edge keep-alive"
	tlsNginxKA   = "nginx keep-alive"
	tlsEdgeNew   = "edge new connection per request"
	tlsNginxNew  = "nginx new connection per request"
	tlsDevDomain = "status.acme.test"
)

// RunTLS runs the tls scenario.
func RunTLS(ctx context.Context, cfg TLSConfig) (TLSRun, error) {
	if cfg.Bin == "" || cfg.Dir == "" {
		return TLSRun{}, errors.New("bench: tls: Bin and Dir are required")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return TLSRun{}, ErrNoWrk
	}
	cfg.Duration = cmp.Or(cfg.Duration, 10*time.Second)
	cfg.Rounds = cmp.Or(cfg.Rounds, 3)
	cfg.Connections = cmp.Or(cfg.Connections, 50)
	cfg.HandshakeConnections = cmp.Or(cfg.HandshakeConnections, 20)
	if runtime.NumCPU() < 2 {
		cfg.ServerCPU, cfg.LoadCPU = -1, -1
	}
	say := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", a...)
		}
	}
	loadStart := loadAverage()

	say("starting statusedge dev --https…")
	d, err := startDevHTTPS(ctx, cfg)
	if err != nil {
		return TLSRun{}, err
	}
	defer d.stop()
	run := TLSRun{}
	if run.FirstByte, err = d.firstByte(ctx); err != nil {
		return TLSRun{}, err
	}
	gz, hdr, err := d.get(ctx, "gzip")
	if err != nil {
		return TLSRun{}, err
	}
	identity, _, err := d.get(ctx, "")
	if err != nil {
		return TLSRun{}, err
	}
	certPEM, keyPEM, err := d.certificate(ctx)
	if err != nil {
		return TLSRun{}, err
	}
	say("starting nginx with the edge's certificate…")
	ng, err := startNginxTLS(ctx, filepath.Join(cfg.Dir, "nginx"), certPEM, keyPEM, identity, gz, hdr, cfg.ServerCPU)
	if err != nil {
		return TLSRun{}, err
	}
	defer ng.Stop()

	script := filepath.Join(cfg.Dir, "resolve.lua")
	if err := os.WriteFile(script, []byte(`function wrk.resolve(host, service) wrk.addrs = wrk.lookup("127.0.0.1", service) end
`), 0o644); err != nil {
		return TLSRun{}, fmt.Errorf("bench: tls: %w", err)
	}
	type target struct {
		name      string
		port      int
		pid       int
		keepAlive bool
		edge      bool
	}
	targets := []target{
		{tlsEdgeKA, d.port, d.cmd.Process.Pid, true, true}, {tlsNginxKA, ng.port, ng.PID(), true, false},
		{tlsEdgeNew, d.port, d.cmd.Process.Pid, false, true}, {tlsNginxNew, ng.port, ng.PID(), false, false},
	}
	load := func(t target, dur time.Duration) (Result, error) {
		l := Load{Name: t.name, URL: fmt.Sprintf("https://%s:%d/", tlsDevDomain, t.port), Script: script, Duration: dur,
			Connections: cfg.Connections, CPUs: cores(cfg.LoadCPU), PID: t.pid, Headers: []string{"Accept-Encoding: gzip"}}
		if !t.keepAlive {
			l.Connections = cfg.HandshakeConnections
			l.Headers = append(l.Headers, "Connection: close")
		}
		return Run(ctx, l)
	}
	for _, t := range targets { // connections, caches and heaps settle first
		say("warming up %s…", t.name)
		if _, err := load(t, time.Second); err != nil {
			return TLSRun{}, err
		}
	}
	runs := map[string][]Result{}
	for round := range cfg.Rounds {
		for pair := 0; pair < len(targets); pair += 2 {
			for j := range 2 {
				t := targets[pair+(j+round)%2] // each round starts with the other server
				say("round %d/%d: %s for %s…", round+1, cfg.Rounds, t.name, cfg.Duration)
				var before scrape
				if t.edge {
					if before, err = d.scrape(ctx); err != nil {
						return TLSRun{}, err
					}
				}
				r, err := load(t, cfg.Duration)
				if err != nil {
					return TLSRun{}, err
				}
				runs[t.name] = append(runs[t.name], r)
				if t.edge {
					after, err := d.scrape(ctx)
					if err != nil {
						return TLSRun{}, err
					}
					conns := cfg.Connections
					if !t.keepAlive {
						conns = cfg.HandshakeConnections
					}
					run.Counts = append(run.Counts, TLSEdgeCount{Load: t.name, Connections: conns, Requests: r.Requests,
						Answers: after.answers - before.answers, Handshakes: after.full + after.resumed - before.full - before.resumed,
						Resumed: after.resumed - before.resumed})
				}
			}
		}
	}

	rep := Report{Title: "HTTPS: edge next to nginx, demo page (gzip), TLS 1.3 ECDSA P-256", When: time.Now(), Setup: map[string]string{
		"cores":            strconv.Itoa(runtime.NumCPU()),
		"servers pinned":   pinned(cfg.ServerCPU) + " (the edge with GOMAXPROCS=1, nginx with 1 worker)",
		"wrk":              fmt.Sprintf("%s, 1 thread; %d connections keep-alive, %d without; %s per run", pinned(cfg.LoadCPU), cfg.Connections, cfg.HandshakeConnections, cfg.Duration),
		"rounds":           fmt.Sprintf("%d, the order of the servers alternating; medians shown", cfg.Rounds),
		"page bytes gzip":  strconv.Itoa(len(gz)),
		"load average":     fmt.Sprintf("%s at the start, %s at the end", loadStart, loadAverage()),
		"nginx TLS":        "TLSv1.3, session tickets on, no session cache, gzip_static of the same bytes and headers",
		"certificate from": "the edge's ACME order (local Pebble), read back from the shared storage",
	}}
	for _, t := range targets {
		med, lo, hi := Median(runs[t.name])
		rep.Loads = append(rep.Loads, med)
		if cfg.Rounds > 1 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: median of %d rounds; %.0f to %.0f req/s", t.name, cfg.Rounds, lo, hi))
		}
	}
	ka, nw := rep.Loads[0].RPS/rep.Loads[1].RPS, rep.Loads[2].RPS/rep.Loads[3].RPS
	rep.Checks = append(rep.Checks,
		Check{Goal: "edge keep-alive req/s ≥ nginx's", Got: fmt.Sprintf("%.0f vs %.0f (%.2f×)", rep.Loads[0].RPS, rep.Loads[1].RPS, ka), Met: ka >= 1},
		Check{Goal: "edge new connections/s ≥ nginx's", Got: fmt.Sprintf("%.0f vs %.0f (%.2f×)", rep.Loads[2].RPS, rep.Loads[3].RPS, nw), Met: nw >= 1})
	agree, resumed, handshakes := true, 0.0, 0.0
	for _, c := range run.Counts {
		agree = agree && c.Agrees(c.Load == tlsEdgeKA)
		if c.Load == tlsEdgeNew {
			resumed, handshakes = resumed+c.Resumed, handshakes+c.Handshakes
		}
	}
	rep.Checks = append(rep.Checks, Check{Goal: "the edge's /metrics counted what wrk did (page answers; a handshake per request without keep-alive)",
		Got: countsSummary(run.Counts), Met: agree})
	if handshakes > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Without keep-alive, %.0f of the edge's %.0f handshakes resumed a session (wrk reuses tickets).", resumed, handshakes))
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("First request for a newly verified domain → first byte: %s (ACME order with a local Pebble).", run.FirstByte.Round(time.Millisecond)))
	run.Report = rep
	return run, nil
}

// cores is the one core cpu, or none if cpu < 0 (unpinned).
func cores(cpu int) []int {
	if cpu < 0 {
		return nil
	}
	return []int{cpu}
}

func pinned(cpu int) string {
	if cpu < 0 {
		return "not pinned"
	}
	return fmt.Sprintf("core %d", cpu)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func countsSummary(cs []TLSEdgeCount) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s: wrk %d, answers %.0f, handshakes %.0f", c.Load, c.Requests, c.Answers, c.Handshakes))
	}
	return strings.Join(parts, "; ")
}

// devHTTPS is a running `statusedge dev --https`.
type devHTTPS struct {
	cmd     *exec.Cmd
	done    chan struct{}
	dataDir string
	port    int    // HTTPS
	pageURL string // the page listener (/metrics)
	apiURL  string
	client  *http.Client
}

var (
	devPage = regexp.MustCompile(`page (http://[0-9.:]+)/.*API (http://[0-9.:]+)`)
	devCurl = regexp.MustCompile(`--cacert (\S+) --resolve ` + regexp.QuoteMeta(tlsDevDomain) + `:(\d+):127\.0\.0\.1`)
)

func startDevHTTPS(ctx context.Context, cfg TLSConfig) (*devHTTPS, error) {
	bin, args := cfg.Bin, []string{"dev", "--https", "--data", filepath.Join(cfg.Dir, "data"), "--api-addr", "127.0.0.1:0", "--listen", "127.0.0.1:0"}
	if cfg.ServerCPU >= 0 {
		bin, args = "taskset", append([]string{"-c", strconv.Itoa(cfg.ServerCPU), cfg.Bin}, args...)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: tls: %w", err)
	}
	logf, err := os.Create(filepath.Join(cfg.Dir, "dev.log"))
	if err != nil {
		return nil, fmt.Errorf("bench: tls: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: tls: %w", err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: tls: start %s: %w", cfg.Bin, err)
	}
	d := &devHTTPS{cmd: cmd, done: make(chan struct{}), dataDir: filepath.Join(cfg.Dir, "data")}
	found := make(chan error, 1)
	go func() {
		defer close(d.done)
		defer logf.Close()
		var roots string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := devPage.FindStringSubmatch(line); m != nil && d.pageURL == "" {
				d.pageURL, d.apiURL = m[1], m[2]
			}
			if m := devCurl.FindStringSubmatch(line); m != nil && roots == "" {
				roots = m[1]
				d.port, _ = strconv.Atoi(m[2])
				found <- d.setClient(roots)
			}
		}
		_ = cmd.Wait()
		select {
		case found <- fmt.Errorf("bench: tls: statusedge dev exited before serving HTTPS (see %s)", logf.Name()):
		default:
		}
	}()
	select {
	case err = <-found:
	case <-time.After(2 * time.Minute):
		err = errors.New("bench: tls: statusedge dev --https did not start within 2 minutes")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *devHTTPS) setClient(rootsFile string) error {
	b, err := os.ReadFile(rootsFile)
	if err != nil {
		return fmt.Errorf("bench: tls: roots: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("bench: tls: no certificate in %s", rootsFile)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port))
	d.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig:    &tls.Config{RootCAs: pool, ServerName: tlsDevDomain},
		DisableCompression: true, DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, network, addr)
		},
	}}
	return nil
}

func (d *devHTTPS) stop() {
	if d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *devHTTPS) url() string { return fmt.Sprintf("https://%s:%d/", tlsDevDomain, d.port) }

// firstByte is the time to the first byte of the first HTTPS request (the
// domain's first: the edge orders its certificate).
func (d *devHTTPS) firstByte(ctx context.Context) (time.Duration, error) {
	var start, first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, d.url(), nil)
	start = time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bench: tls: first request: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("bench: tls: first request: %d", resp.StatusCode)
	}
	return first.Sub(start), nil
}

// get fetches the page with Accept-Encoding ae, once it is a cache hit.
func (d *devHTTPS) get(ctx context.Context, ae string) ([]byte, http.Header, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.url(), nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		resp, err := d.client.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("bench: tls: %w", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK && resp.Header.Get("X-Statusedge-Cache") == "l1" {
			return b, resp.Header, nil
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("bench: tls: the page is no cache hit: %d %q", resp.StatusCode, resp.Header.Get("X-Statusedge-Cache"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// certificate reads the certificate and key the edge got back from the
// shared storage, with the dev system's cert secret.
func (d *devHTTPS) certificate(ctx context.Context) (certPEM, keyPEM []byte, err error) {
	b, err := os.ReadFile(filepath.Join(d.dataDir, "secrets.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("bench: tls: %w", err)
	}
	var sec struct {
		CertSecret string `json:"cert_secret"`
	}
	if err := json.Unmarshal(b, &sec); err != nil {
		return nil, nil, fmt.Errorf("bench: tls: secrets: %w", err)
	}
	get := func(route string, q url.Values) ([]byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.apiURL+"/internal/v1/certs/"+route+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+sec.CertSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("bench: tls: storage: %w", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("bench: tls: storage %s: %d %s", route, resp.StatusCode, b)
		}
		return b, err
	}
	b, err = get("list", url.Values{"prefix": {"certificates"}, "recursive": {"true"}})
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, nil, fmt.Errorf("bench: tls: storage list: %w", err)
	}
	for _, k := range keys {
		if base, ok := strings.CutSuffix(k, "/"+tlsDevDomain+".crt"); ok {
			if certPEM, err = get("value", url.Values{"key": {k}}); err != nil {
				return nil, nil, err
			}
			keyPEM, err = get("value", url.Values{"key": {base + "/" + tlsDevDomain + ".key"}})
			return certPEM, keyPEM, err
		}
	}
	return nil, nil, fmt.Errorf("bench: tls: no certificate for %s in storage (%d keys)", tlsDevDomain, len(keys))
}

// scrape is what the edge's /metrics said at one moment.
type scrape struct{ answers, full, resumed float64 }

func (d *devHTTPS) scrape(ctx context.Context) (scrape, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.pageURL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return scrape{}, fmt.Errorf("bench: tls: metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return scrape{}, fmt.Errorf("bench: tls: metrics: %w", err)
	}
	ec, err := ParseEdgeMetrics("edge", bytes.NewReader(b))
	if err != nil {
		return scrape{}, err
	}
	// Every page answer, whatever served it (a live page's minute may
	// turn during a load: its first requests get the previous minute's
	// copy, not an L1 hit).
	s := scrape{answers: ec.Visitors()}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return scrape{}, fmt.Errorf("bench: tls: metrics: %w", err)
	}
	f, ok := fams["statusedge_tls_handshakes_total"]
	if !ok {
		return scrape{}, errors.New("bench: tls: the edge's /metrics has no statusedge_tls_handshakes_total")
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "resumed" && l.GetValue() == "true" {
				s.resumed += m.GetCounter().GetValue()
			} else if l.GetName() == "resumed" {
				s.full += m.GetCounter().GetValue()
			}
		}
	}
	return s, nil
}

// nginxTLS is nginx terminating TLS with the edge's certificate.
type nginxTLS struct {
	*Nginx
	port int
}

func startNginxTLS(ctx context.Context, dir string, certPEM, keyPEM, identity, gz []byte, hdr http.Header, cpu int) (*nginxTLS, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/nginx"); e != nil {
			return nil, ErrNoNginx
		}
		bin = "/usr/sbin/nginx"
	}
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("bench: nginx dir: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("bench: nginx dir: %w", err)
	}
	for name, b := range map[string][]byte{"root/index.html": identity, "root/index.html.gz": gz, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, fmt.Errorf("bench: nginx files: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var adds strings.Builder
	for _, k := range []string{"Cache-Control", "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Strict-Transport-Security"} {
		if v := hdr.Get(k); v != "" && !strings.ContainsAny(v, "\"\\$\n\r") {
			fmt.Fprintf(&adds, "    add_header %s \"%s\" always;\n", k, v)
		}
	}
	user, affinity := "", ""
	if os.Geteuid() == 0 {
		user = "user root root;"
	}
	if cpu >= 0 {
		affinity = "worker_cpu_affinity " + affinityMask(cpu) + ";"
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
%s
%s
pid %[3]s/nginx.pid;
error_log %[3]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; etag off;
  keepalive_requests 1000000;
  client_body_temp_path %[3]s/tmp; proxy_temp_path %[3]s/tmp; fastcgi_temp_path %[3]s/tmp;
  uwsgi_temp_path %[3]s/tmp; scgi_temp_path %[3]s/tmp;
  default_type "text/html; charset=utf-8";
  server {
    listen 127.0.0.1:%[4]d ssl;
    server_name %[5]s;
    ssl_certificate %[3]s/cert.pem; ssl_certificate_key %[3]s/key.pem;
    ssl_protocols TLSv1.3; ssl_session_cache off; ssl_session_tickets on;
    root %[6]s;
    gzip_static on;
    index index.html;
%[7]s  }
}
`, user, affinity, dir, port, tlsDevDomain, root, adds.String())
	cmd, err := startNginxConf(bin, dir, conf)
	if err != nil {
		return nil, err
	}
	n := &nginxTLS{Nginx: &Nginx{URL: fmt.Sprintf("https://%s:%d", tlsDevDomain, port), cmd: cmd, dir: dir}, port: port}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			n.Stop()
			return nil, fmt.Errorf("bench: nginx did not come up: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TLSMain is `statusedge bench tls`: flags, RunTLS with this binary, the
// report into --out. Bad flags exit 2.
func TLSMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statusedge bench tls", flag.ContinueOnError)
	out := fs.String("out", "bench-out/tls", "directory for report.md, report.json and plots")
	dur := fs.Duration("duration", 10*time.Second, "length of each wrk run")
	rounds := fs.Int("rounds", 3, "rounds; each loads every target once, the order alternating")
	conns := fs.Int("connections", 50, "wrk connections with keep-alive")
	hconns := fs.Int("handshake-connections", 20, "wrk connections without keep-alive (a new TLS connection per request)")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v (see %s -h)\n", fs.Name(), err, fs.Name())
		return 2
	}
	if fs.NArg() > 0 || *dur < time.Second || *rounds < 1 || *conns < 1 || *hconns < 1 {
		fmt.Fprintln(stderr, "statusedge bench tls: --duration must be ≥ 1s, --rounds and the connections ≥ 1, and no arguments")
		return 2
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "statusedge bench tls: %v\n", err); return 1 }
	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	tmp, err := os.MkdirTemp("", "statusedge-bench-tls-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	run, err := RunTLS(ctx, TLSConfig{Bin: self, Dir: tmp, Duration: *dur, Rounds: *rounds, Connections: *conns,
		HandshakeConnections: *hconns, ServerCPU: 0, LoadCPU: 1, Progress: stdout})
	if err != nil {
		return fail(err)
	}
	run.Report.Command = "statusedge bench tls " + strings.Join(args, " ")
	files, err := run.Report.Write(*out)
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, run.Report.Markdown())
	fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(files, ", "))
	return 0
}
