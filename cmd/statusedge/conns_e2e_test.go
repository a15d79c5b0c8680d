package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds this repo's statusedge into a temp dir.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "statusedge")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDevProcess runs `statusedge dev` as its own process under an fd
// limit of nofile and returns its edge's address.
func startDevProcess(tb testing.TB, bin string, nofile int) string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), bin,
		"dev", "--data", tb.TempDir(), "--api-addr", "127.0.0.1:0", "--listen", "127.0.0.1:0")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := cmd.Wait(); err != nil && !strings.Contains(err.Error(), "signal") {
			tb.Logf("dev exited: %v", err)
		}
	})
	pageRE := regexp.MustCompile(`page http://(127\.0\.0\.1:\d+)/`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := pageRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return addr
	case <-time.After(60 * time.Second):
		tb.Fatal("dev did not print its page URL")
	}
	return ""
}

// holdIdle opens n keep-alive connections from the loopback address src,
// each after one answered request (a visitor that went quiet), and closes
// them when the test ends. It returns how many it got open.
func holdIdle(tb testing.TB, src, addr string, n int) int {
	tb.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	opened := 0
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			continue
		}
		tb.Cleanup(func() { c.Close() })
		opened++
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: acme.localhost\r\n\r\n")
	}
	return opened
}

// visit fetches the demo page from 127.0.0.1 on a fresh connection.
func visit(addr string) (int, error) {
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Host = "acme.localhost"
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// The review's attack: `statusedge dev` at a low fd limit, ~1,100 idle
// keep-alive connections, and its edge stopped accepting for good
// (fasthttp's accept loop ends on EMFILE). Here 40 loopback addresses hold
// 30 idle connections each, four times the limit of 256 descriptors. The
// edge keeps accepting: it holds at most its MaxConns (the limit less a
// reserve), cuts idle timeouts under pressure, and a visitor from another
// address gets the page while the flood is still open and after it ends.
func TestEdgeSurvivesDescriptorExhaustion(t *testing.T) {
	if os.Getenv("STATUSEDGE_SKIP_PROCESS_TESTS") != "" {
		t.Log("process tests disabled by STATUSEDGE_SKIP_PROCESS_TESTS")
		return
	}
	bin := buildBinary(t)
	addr := startDevProcess(t, bin, 256)
	if code, err := visit(addr); err != nil || code != 200 {
		t.Fatalf("before the flood: %d %v", code, err)
	}
	opened := 0
	for i := range 40 {
		opened += holdIdle(t, fmt.Sprintf("127.0.1.%d", i+1), addr, 30)
	}
	t.Logf("flood: %d connections opened", opened)
	ok := false
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		code, err := visit(addr)
		if err == nil && code == 200 {
			ok = true
			break
		}
		lastErr = fmt.Errorf("status %d: %v", code, err)
	}
	if !ok {
		t.Fatalf("a visitor got no page during the flood: %v", lastErr)
	}
	// More floods come and go; the edge is still there after each.
	for round := range 2 {
		for i := range 20 {
			holdIdle(t, fmt.Sprintf("127.0.%d.%d", round+2, i+1), addr, 30)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, err := visit(addr)
			if err == nil && code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no page: %d %v", round, code, err)
			}
		}
	}
}
