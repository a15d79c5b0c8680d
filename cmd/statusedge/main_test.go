package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while a command writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Setenv("STATUSEDGE_EDGE_SECRET", "")
	t.Setenv("STATUSEDGE_CLUSTER_SECRET", "")
	t.Setenv("STATUSEDGE_GOSSIP_KEY", "")
	originArgs := []string{"origin", "--data", t.TempDir(), "--raft-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0",
		"--operator-token", "operator-token-0123456789", "--cluster-secret", "cluster-secret-0123456789"}
	tests := []struct {
		name string
		args []string
		want string // on stderr
	}{
		{"no command", nil, "usage: statusedge"},
		{"unknown command", []string{"serve"}, `unknown command "serve"`},
		{"dev: bad flag", []string{"dev", "--nope"}, "flag provided but not defined"},
		{"dev: stray argument", []string{"dev", "extra"}, `unexpected argument "extra"`},
		{"dev: regions out of range", []string{"dev", "--regions", "0"}, "--regions"},
		{"dev: redis with several regions", []string{"dev", "--regions", "3", "--redis", "127.0.0.1:6379"}, "--redis"},
		{"origin: bad flag", []string{"origin", "--nope"}, "flag provided but not defined"},
		{"origin: short edge secret", append(originArgs, "--edge-secret", "short"), "--edge-secret"},
		{"origin: edge secret is the cluster secret", append(originArgs, "--edge-secret", "cluster-secret-0123456789"), "must differ"},
		{"edge: bad flag", []string{"edge", "--nope"}, "flag provided but not defined"},
		{"edge: no secret", []string{"edge", "--origin", "http://127.0.0.1:1"}, "--edge-secret are required"},
		{"edge: gossip only, without gossip", []string{"edge", "--origin", "http://127.0.0.1:1", "--edge-secret", "edge-secret-0123456789", "--versions-poll=false"}, "needs --gossip-addr"},
		{"edge: bad gossip key", []string{"edge", "--origin", "http://127.0.0.1:1", "--edge-secret", "edge-secret-0123456789", "--gossip-addr", "127.0.0.1:0", "--gossip-key", "xyz"}, "--gossip-key"},
		{"edge: bad gossip seed", []string{"edge", "--origin", "http://127.0.0.1:1", "--edge-secret", "edge-secret-0123456789", "--gossip-addr", "127.0.0.1:0", "--gossip-join", "nohost"}, "--gossip-join"},
		{"origin: gossip without a region", append(originArgs, "--gossip-addr", "127.0.0.1:0"), "--region is required"},
		{"origin: bad gossip profile", append(originArgs, "--region", "eu", "--gossip-addr", "127.0.0.1:0", "--gossip-profile", "moon"), "--gossip-profile"},
		{"bench: no benchmark", []string{"bench"}, "usage: statusedge bench"},
		{"bench: unknown", []string{"bench", "fast"}, `unknown benchmark "fast"`},
		{"bench propagation: bad latency", []string{"bench", "propagation", "--latency", "soon"}, "--latency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr does not say %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

// TestDevRunsAndStopsCleanly is `make run`: statusedge dev starts the whole
// system with the demo site, prints where it is, serves the page, and stops
// cleanly when interrupted.
func TestDevRunsAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data", t.TempDir(), "--api-addr", "127.0.0.1:0", "--listen", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	pageRE := regexp.MustCompile(`(http://acme\.localhost:(\d+)/)`)
	tokenRE := regexp.MustCompile(`admin token\s+(\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	var port string
	for port == "" {
		if m := pageRE.FindStringSubmatch(stdout.String()); m != nil && tokenRE.MatchString(stdout.String()) {
			port = m[2]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("dev exited %d before it was ready:\n%s\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev did not print its URLs:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+"/", nil)
	req.Host = "acme.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Acme Cloud") {
		t.Fatalf("demo page: %d %.200s", resp.StatusCode, body)
	}
	cancel() // Ctrl-C
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("dev exited %d after Ctrl-C:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop within 30 s of Ctrl-C")
	}
	if !strings.Contains(stdout.String(), "stopped") {
		t.Errorf("dev did not say it stopped:\n%s", stdout.String())
	}
}
