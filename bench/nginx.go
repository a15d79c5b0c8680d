package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoNginx is returned when nginx is not installed.
var ErrNoNginx = errors.New("bench: nginx not found (apt-get install nginx-light)")

// Nginx is an nginx process serving fixed, precompressed files on loopback:
// the yardstick the edge's cache-hit path is measured against.
type Nginx struct {
	URL string // http://127.0.0.1:port
	cmd *exec.Cmd
	dir string
}

// StartNginx serves files (path → identity bytes, with gzipped twins as
// path+".gz", served by gzip_static) with one worker pinned to cpu (>= 0).
// Every answer also carries the headers in extra, so that nginx can send
// the same response as the server it is compared with.
func StartNginx(ctx context.Context, dir string, files map[string][]byte, extra http.Header, cpu int) (*Nginx, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/sbin/nginx"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
		if err != nil {
			return nil, ErrNoNginx
		}
	}
	root := filepath.Join(dir, "root")
	for p, b := range files {
		f := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return nil, fmt.Errorf("bench: nginx files: %w", err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return nil, fmt.Errorf("bench: nginx files: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// Started as root, nginx's workers would drop to an unprivileged user that
	// cannot read a private temp dir: keep them as the invoking user.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;"
	}
	affinity := ""
	if cpu >= 0 {
		affinity = "worker_cpu_affinity " + affinityMask(cpu) + ";"
	}
	var adds strings.Builder
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		for _, v := range extra[k] {
			if strings.ContainsAny(k, " \t") || strings.ContainsAny(k+v, "\"\\$\n\r") {
				return nil, fmt.Errorf("bench: nginx: header %s: %q cannot be written into nginx.conf", k, v)
			}
			fmt.Fprintf(&adds, "    add_header %s \"%s\" always;\n", k, v)
		}
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
%s
%s
pid %[3]s/nginx.pid;
error_log %[3]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=100 inactive=60s;
  client_body_temp_path %[3]s/tmp; proxy_temp_path %[3]s/tmp; fastcgi_temp_path %[3]s/tmp;
  uwsgi_temp_path %[3]s/tmp; scgi_temp_path %[3]s/tmp;
  types { text/html html; application/json json; }
  default_type text/html;
  server {
    listen 127.0.0.1:%[4]d;
    root %[5]s;
    gzip_static on;
    index index.html;
%[6]s  }
}
`, user, affinity, dir, port, root, adds.String())
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("bench: nginx dir: %w", err)
	}
	cmd, err := startNginxConf(bin, dir, conf)
	if err != nil {
		return nil, err
	}
	n := &Nginx{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, dir: dir}
	if err := waitHTTP(ctx, n.URL+"/", 5*time.Second); err != nil {
		n.Stop()
		return nil, fmt.Errorf("bench: nginx did not come up: %w", err)
	}
	return n, nil
}

// startNginxConf writes conf as dir/nginx.conf and starts nginx (bin) on
// it, with dir as its prefix and its error log there.
func startNginxConf(bin, dir, conf string) (*exec.Cmd, error) {
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("bench: nginx conf: %w", err)
	}
	cmd := exec.Command(bin, "-c", confPath, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start nginx: %w", err)
	}
	return cmd, nil
}

// PID is the nginx master's process id (its worker is a child).
func (n *Nginx) PID() int { return n.cmd.Process.Pid }

// Stop ends the nginx process and waits for it.
func (n *Nginx) Stop() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = n.cmd.Process.Kill()
			<-done
		}
	}
}

// affinityMask is nginx's binary CPU mask for one core ("10" for cpu 1).
func affinityMask(cpu int) string {
	m := "1"
	for i := 0; i < cpu; i++ {
		m += "0"
	}
	return m
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers (any status) or the timeout passes.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
