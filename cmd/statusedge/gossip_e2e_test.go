package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The standalone binaries in one gossip cluster: `statusedge origin` and
// `statusedge edge` (its version poll off, so only gossip can tell it),
// each a run of the real command on loopback. A change posted to the
// origin's API reaches the edge's page through gossip.
func TestOriginAndEdgeGossip(t *testing.T) {
	const (
		operator = "operator-token-for-gossip-e2e"
		cluster  = "cluster-secret-for-gossip-e2e"
		edgeSec  = "edge-secret-for-gossip-e2e"
		gkey     = "00112233445566778899aabbccddeeff"
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	apiAddr, originGossip, pageAddr, edgeGossip := freeAddr(), freeAddr(), freeAddr(), freeAddr()
	var oOut, oErr, eOut, eErr lockedBuffer
	originDone, edgeDone := make(chan int, 1), make(chan int, 1)
	go func() {
		originDone <- run(ctx, []string{"origin", "--data", t.TempDir(), "--raft-addr", "127.0.0.1:0", "--api-addr", apiAddr,
			"--bootstrap", "--region", "eu", "--operator-token", operator, "--cluster-secret", cluster, "--edge-secret", edgeSec,
			"--gossip-addr", originGossip, "--gossip-key", gkey, "--gossip-profile", "local", "--log-level", "error"}, &oOut, &oErr)
	}()
	t.Cleanup(func() {
		cancel()
		for name, done := range map[string]chan int{"origin": originDone, "edge": edgeDone} {
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("%s exited %d", name, code)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop", name)
			}
		}
	})
	api := "http://" + apiAddr
	call := func(method, path string, body any) (int, http.Header, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, api+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+operator)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, []byte(err.Error())
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, out
	}
	eventually(t, 30*time.Second, "the origin to lead", func() bool {
		code, _, _ := call(http.MethodGet, "/v1/cluster", nil)
		return code == 200 && strings.Contains(oOut.String(), "gossip")
	})
	if code, _, b := call(http.MethodPost, "/v1/sites", map[string]any{"name": "Gossip", "slug": "gossip", "hostnames": []string{"gossip.test"}}); code != 201 {
		t.Fatalf("create site: %d %s", code, b)
	}
	var comp struct{ ID string }
	code, _, b := call(http.MethodPost, "/v1/sites/gossip/components", map[string]any{"name": "API"})
	if code != 201 || json.Unmarshal(b, &comp) != nil {
		t.Fatalf("create component: %d %s", code, b)
	}

	go func() {
		edgeDone <- run(ctx, []string{"edge", "--region", "us", "--listen", pageAddr, "--origin", api, "--edge-secret", edgeSec,
			"--gossip-addr", edgeGossip, "--gossip-join", originGossip, "--gossip-key", gkey, "--gossip-profile", "local",
			"--versions-poll=false"}, &eOut, &eErr)
	}()
	page := func() (int, uint64, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+pageAddr+"/", nil)
		req.Host = "gossip.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		v, _ := strconv.ParseUint(resp.Header.Get("X-Statusedge-Version"), 10, 64)
		return resp.StatusCode, v, string(body)
	}
	eventually(t, 30*time.Second, "the edge to serve the page", func() bool { code, _, _ := page(); return code == 200 })

	code, h, b := call(http.MethodPatch, "/v1/sites/gossip/components/"+comp.ID, map[string]any{"status": "major_outage"})
	if code != 200 {
		t.Fatalf("change: %d %s", code, b)
	}
	want, _ := strconv.ParseUint(h.Get("X-Statusedge-Version"), 10, 64)
	eventually(t, 30*time.Second, fmt.Sprintf("the edge to serve version %d", want), func() bool {
		code, v, body := page()
		return code == 200 && v >= want && strings.Contains(body, "Major Outage")
	})
}

// eventually polls f until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !f(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
