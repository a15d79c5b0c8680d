package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEdgeWithWrongSecretExits: an edge whose secret the origin refuses
// exits 1 with one clear line instead of retrying like an outage forever.
func TestEdgeWithWrongSecretExits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	apiAddr := freeAddr()
	var oOut, oErr, eOut, eErr lockedBuffer
	originDone := make(chan int, 1)
	go func() {
		originDone <- run(ctx, []string{"origin", "--data", t.TempDir(), "--raft-addr", "127.0.0.1:0", "--api-addr", apiAddr,
			"--bootstrap", "--operator-token", "operator-token-for-secret-e2e", "--cluster-secret", "cluster-secret-for-secret-e2e",
			"--edge-secret", "edge-secret-for-secret-e2e", "--log-level", "error"}, &oOut, &oErr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-originDone:
		case <-time.After(30 * time.Second):
			t.Error("origin did not stop")
		}
	})
	eventually(t, 30*time.Second, "the origin to be ready", func() bool {
		resp, err := http.Get("http://" + apiAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	edgeDone := make(chan int, 1)
	go func() {
		edgeDone <- run(ctx, []string{"edge", "--listen", freeAddr(), "--origin", "http://" + apiAddr,
			"--edge-secret", "not-the-edge-secret-at-all"}, &eOut, &eErr)
	}()
	select {
	case code := <-edgeDone:
		if code != 1 {
			t.Fatalf("edge exited %d, want 1", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the edge kept running with a refused secret")
	}
	var line string
	for _, l := range strings.Split(eErr.String(), "\n") {
		if strings.HasPrefix(l, "statusedge edge:") {
			line = l
		}
	}
	if !strings.Contains(line, "refused the edge secret") || !strings.Contains(line, "--edge-secret") {
		t.Fatalf("no clear line on stderr:\n%s", eErr.String())
	}
}
