package dev

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDelayProxyCarriesBytesInOrder sends a stream of writes of many sizes
// through a DelayProxy to an echo server and back (through the delay both
// ways): every byte arrives, in order.
func TestDelayProxyCarriesBytesInOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	px, err := ListenDelay("127.0.0.1:0", ln.Addr().String(), 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	c, err := net.Dial("tcp", px.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 300<<10)
	_, _ = rand.Read(want)
	go func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+len(rest)%7919)
			if _, err := c.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, want the %d sent, in order", len(got), len(want))
	}
	if _, err := ListenDelay("127.0.0.1:0", ln.Addr().String(), -time.Second); err == nil {
		t.Error("a negative delay was accepted")
	}
}

// TestRaftLatencyReplicates runs three regions whose raft traffic crosses
// DelayProxies: the cluster forms and a write reaches every region's edge.
func TestRaftLatencyReplicates(t *testing.T) {
	s := startSystem(t, Config{Regions: 3, RaftLatency: 20 * time.Millisecond})
	for _, r := range s.Regions {
		if r.raftProxy == nil || !strings.HasSuffix(r.Origin.RaftAddr(), r.raftProxy.Addr[strings.LastIndex(r.raftProxy.Addr, ":"):]) {
			t.Fatalf("region %s: raft advertises %s, not its delay proxy", r.Name, r.Origin.RaftAddr())
		}
	}
	postIncident(t, s, s.Regions[1].APIURL, "Delayed replication")
	for _, r := range s.Regions {
		waitServes(t, r.PageURL, "/", "Delayed replication", 30*time.Second)
	}
}

// TestStopOriginServesFromCache stops the origin's API: the edge still
// serves the page it has, writers are refused, and after StartOrigin both
// work again.
func TestStopOriginServesFromCache(t *testing.T) {
	s := startSystem(t, Config{StartRedis: true})
	r := s.Regions[0]
	// The page rendered and cached, not the skeleton sent past the budget
	// while the render still runs (a loaded machine).
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, h, _ := page(t, r.PageURL, "/")
		if code == http.StatusOK && h.Get("X-Statusedge-Skeleton") == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page: %d %v", code, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.StopOrigin(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.StopOrigin(t.Context(), 0); err == nil {
		t.Error("a stopped origin stopped again")
	}
	if code, _, body := page(t, r.PageURL, "/"); code != http.StatusOK || !strings.Contains(body, "Acme Cloud") {
		t.Fatalf("page with the origin stopped: %d %.100s", code, body)
	}
	if resp, err := http.Get(r.APIURL + "/v1/sites"); err == nil {
		resp.Body.Close()
		t.Fatalf("the stopped origin's API answered %d", resp.StatusCode)
	}
	if err := s.StartOrigin(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	postIncident(t, s, r.APIURL, "Back again")
	waitServes(t, r.PageURL, "/", "Back again", 30*time.Second)
}
