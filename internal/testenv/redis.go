// Package testenv starts the real things tests need (redis-server, headless
// Chromium, TCP links a test can cut to partition a client from a server)
// on loopback, in the test's temp dir, and stops them in t.Cleanup.
// Test-only: it takes a testing.TB and fails the test on error.
package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/statusedge/statusedge/internal/redisserver"
)

// Redis is one redis-server process on 127.0.0.1 for one test. Its port stays
// the same across Restart so clients can reconnect.
type Redis struct {
	tb  testing.TB
	srv *redisserver.Server
}

// StartRedis starts a redis-server on a free loopback port in a fresh temp
// dir (no persistence) and waits until it answers PING. It is stopped at the
// end of the test.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := redisserver.Start(ctx, tb.TempDir())
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(srv.Kill)
	return &Redis{tb: tb, srv: srv}
}

// Addr is host:port of the server.
func (r *Redis) Addr() string { return r.srv.Addr }

// Kill ends the server with SIGKILL (a crash) and waits for it to exit.
func (r *Redis) Kill() { r.srv.Kill() }

// Stop ends the server with SIGTERM (a clean shutdown) and waits for it.
func (r *Redis) Stop() { r.srv.Stop() }

// Restart starts a stopped or killed server again on the same port (with an
// empty dataset) and waits until it answers.
func (r *Redis) Restart() {
	r.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.srv.Restart(ctx); err != nil {
		r.tb.Fatalf("testenv: restart: %v", err)
	}
}

// Pause freezes the server (SIGSTOP): connections stay open, nothing answers.
func (r *Redis) Pause() {
	r.tb.Helper()
	if err := r.srv.Pause(); err != nil {
		r.tb.Fatalf("testenv: %v", err)
	}
}

// Resume continues a paused server (SIGCONT).
func (r *Redis) Resume() {
	r.tb.Helper()
	if err := r.srv.Resume(); err != nil {
		r.tb.Fatalf("testenv: %v", err)
	}
}
