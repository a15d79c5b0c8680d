package gossiptest

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// pair starts two registered transports, a in group "a" and b in "b".
func pair(t *testing.T, n *Network) (a, b *Transport, bAddr string) {
	t.Helper()
	var err error
	a, err = n.Listen("a", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	b, err = n.Listen("b", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown() })
	if _, _, err := a.FinalAdvertiseAddr("", 0); err != nil {
		t.Fatal(err)
	}
	ip, port, err := b.FinalAdvertiseAddr("", 0)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, fmt.Sprintf("%s:%d", ip, port)
}

func recvWithin(b *Transport, d time.Duration) bool {
	select {
	case <-b.PacketCh():
		return true
	case <-time.After(d):
		return false
	}
}

func TestPartitionAndHeal(t *testing.T) {
	n := NewNetwork(1)
	a, b, bAddr := pair(t, n)

	n.Partition("a")
	if _, err := a.DialTimeout(bAddr, time.Second); !errors.Is(err, ErrPartitioned) {
		t.Fatalf("dial across partition = %v, want ErrPartitioned", err)
	}
	if _, err := a.WriteTo([]byte("x"), bAddr); err != nil {
		t.Fatal(err)
	}
	if recvWithin(b, 100*time.Millisecond) {
		t.Fatal("packet crossed the partition")
	}
	if s := n.Stats(); s.Blocked != 1 {
		t.Fatalf("stats %+v, want 1 blocked", s)
	}

	n.Heal()
	c, err := a.DialTimeout(bAddr, time.Second)
	if err != nil {
		t.Fatalf("dial after heal: %v", err)
	}
	c.Close()
	select { // the listener hands the accepted stream to memberlist; be it
	case sc := <-b.StreamCh():
		sc.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("stream not accepted after heal")
	}
	if _, err := a.WriteTo([]byte("x"), bAddr); err != nil {
		t.Fatal(err)
	}
	if !recvWithin(b, 2*time.Second) {
		t.Fatal("packet lost after heal")
	}
}

func TestLossAndLatency(t *testing.T) {
	n := NewNetwork(2)
	a, b, bAddr := pair(t, n)

	n.SetLoss(1, 0, 0)
	for range 10 {
		_, _ = a.WriteTo([]byte("x"), bAddr)
	}
	if recvWithin(b, 100*time.Millisecond) {
		t.Fatal("packet survived 100% loss")
	}
	if s := n.Stats(); s.Dropped != 10 {
		t.Fatalf("stats %+v, want 10 dropped", s)
	}

	n.SetLoss(0, 0, 0)
	n.SetLatency(80 * time.Millisecond)
	start := time.Now()
	_, _ = a.WriteTo([]byte("x"), bAddr)
	if !recvWithin(b, 2*time.Second) {
		t.Fatal("delayed packet never arrived")
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("packet arrived after %v, want ≥ 80ms", d)
	}
	// Unregistered destinations see no faults.
	n.SetLoss(1, 0, 0)
	if _, err := a.WriteTo([]byte("x"), "127.0.0.1:1"); err != nil {
		t.Fatalf("write to unregistered address: %v", err)
	}
	if s := n.Stats(); s.Dropped != 10 {
		t.Fatalf("stats %+v: unregistered destination was faulted", s)
	}
}
