package redisserver

import (
	"context"
	"testing"
	"time"
)

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	r, err := Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Kill)
	if err := ping(r.Addr); err != nil {
		t.Fatalf("ping after start: %v", err)
	}
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := ping(r.Addr); err == nil {
		t.Fatal("paused redis answered PING")
	}
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := ping(r.Addr); err != nil {
		t.Fatalf("ping after resume: %v", err)
	}
	r.Kill()
	if err := ping(r.Addr); err == nil {
		t.Fatal("killed redis answered PING")
	}
	if err := r.Pause(); err == nil {
		t.Fatal("Pause of a killed server did not fail")
	}
	if err := r.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := ping(r.Addr); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	r.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for ping(r.Addr) == nil {
		if time.Now().After(deadline) {
			t.Fatal("stopped redis still answers")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
