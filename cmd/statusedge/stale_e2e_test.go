package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEdgeMarksPagesStaleWhenTheOriginStops: `statusedge origin` and
// `statusedge edge` run; once the origin is gone, every page the edge
// serves (from its cache) carries the note, X-Statusedge-Stale and a short
// Cache-Control; the edge says it is ready on /readyz and live on /livez.
func TestEdgeMarksPagesStaleWhenTheOriginStops(t *testing.T) {
	const (
		operator = "operator-token-for-stale-e2e"
		cluster  = "cluster-secret-for-stale-e2e"
		edgeSec  = "edge-secret-for-stale-e2e"
	)
	octx, stopOrigin := context.WithCancel(context.Background())
	ectx, stopEdge := context.WithCancel(context.Background())
	apiAddr, pageAddr := freeAddr(), freeAddr()
	var oOut, oErr, eOut, eErr lockedBuffer
	originDone, edgeDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(originDone)
		run(octx, []string{"origin", "--data", t.TempDir(), "--raft-addr", "127.0.0.1:0", "--api-addr", apiAddr,
			"--bootstrap", "--operator-token", operator, "--cluster-secret", cluster, "--edge-secret", edgeSec, "--log-level", "error"}, &oOut, &oErr)
	}()
	t.Cleanup(func() {
		stopOrigin()
		stopEdge()
		for name, done := range map[string]chan struct{}{"origin": originDone, "edge": edgeDone} {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop", name)
			}
		}
	})
	api := "http://" + apiAddr
	eventually(t, 30*time.Second, "the origin to be ready", func() bool {
		resp, err := http.Get(api + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	b, _ := json.Marshal(map[string]any{"name": "Stale", "slug": "stale", "hostnames": []string{"stale.test"}})
	req, _ := http.NewRequest(http.MethodPost, api+"/v1/sites", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+operator)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create site: %v %v", resp, err)
	}
	go func() {
		defer close(edgeDone)
		run(ectx, []string{"edge", "--listen", pageAddr, "--origin", api, "--edge-secret", edgeSec, "--stale-after", "500ms"}, &eOut, &eErr)
	}()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(host, path, ae string) (int, http.Header, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+pageAddr+path, nil)
		req.Host = host
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	eventually(t, 30*time.Second, "edge /readyz 200", func() bool { code, _, _ := get("10.1.2.3", "/readyz", ""); return code == 200 })
	if code, _, body := get("10.1.2.3", "/livez", ""); code != 200 || !strings.Contains(body, "live") {
		t.Fatalf("edge /livez: %d %q", code, body)
	}
	for _, p := range []string{"/", "/api/v2/summary.json"} {
		eventually(t, 30*time.Second, p+" from the edge's cache", func() bool {
			code, h, _ := get("stale.test", p, "")
			return code == 200 && h.Get("X-Statusedge-Cache") == "l1" && h.Get("X-Statusedge-Stale") == ""
		})
	}
	stopOrigin()
	<-originDone
	eventually(t, 30*time.Second, "the page marked stale", func() bool {
		_, h, _ := get("stale.test", "/", "")
		return h.Get("X-Statusedge-Stale") == "1"
	})
	for _, p := range []string{"/", "/api/v2/summary.json"} {
		code, h, body := get("stale.test", p, "")
		if code != 200 || h.Get("X-Statusedge-Stale") != "1" || !strings.Contains(h.Get("Cache-Control"), "max-age=5") {
			t.Errorf("%s: %d, stale %q, Cache-Control %q", p, code, h.Get("X-Statusedge-Stale"), h.Get("Cache-Control"))
		}
		if p == "/" && !strings.Contains(body, "may be out of date") {
			t.Errorf("%s: no note on the page", p)
		}
	}
}
