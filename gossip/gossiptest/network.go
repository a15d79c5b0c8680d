// Package gossiptest injects network faults under memberlist: a Network is
// shared by the transports of one test cluster and drops, delays and
// partitions their traffic, the way memberlist's mock_transport.go and
// etcd's robustness failpoints do, but over real UDP and TCP sockets on
// loopback (each Transport wraps a memberlist.NetTransport).
//
// Every transport belongs to a group (a region, usually). Faults apply to
// packets (UDP: gossip, probes) sent from one registered transport to
// another; streams (TCP: push/pull, joins) are refused across a partition
// and see the added latency, but are never dropped, as TCP would not be.
//
// It is a test helper, importable by any package's tests (edge, dev harness).
package gossiptest

import (
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrPartitioned is returned by DialTimeout across a partition.
var ErrPartitioned = errors.New("gossiptest: partitioned")

// Network holds the faults in force; change them at any time.
type Network struct {
	mu        sync.Mutex
	rng       *rand.Rand
	groups    map[string]string // advertised "ip:port" → group
	drop      float64           // fraction of packets dropped
	delayFrac float64           // fraction of packets delayed by up to delayMax
	delayMax  time.Duration
	latency   time.Duration   // one-way latency added between different groups
	isolated  map[string]bool // groups on one side of the partition
	parted    bool

	dropped, delayed, blocked, sent atomic.Uint64
}

// NewNetwork returns a Network without faults; seed makes drops repeatable
// (as far as goroutine scheduling allows).
func NewNetwork(seed uint64) *Network {
	return &Network{
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		groups: make(map[string]string),
	}
}

// SetLoss drops a fraction drop of packets and delays a fraction delay of
// the others by a uniform random duration up to maxDelay.
func (n *Network) SetLoss(drop, delay float64, maxDelay time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.drop, n.delayFrac, n.delayMax = drop, delay, maxDelay
}

// SetLatency adds d of one-way latency to every packet and stream between
// two different groups.
func (n *Network) SetLatency(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latency = d
}

// Partition cuts all traffic between the given groups and every other group.
func (n *Network) Partition(side ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated = make(map[string]bool, len(side))
	for _, g := range side {
		n.isolated[g] = true
	}
	n.parted = true
}

// Heal removes the partition.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.parted = false
	n.isolated = nil
}

// Stats counts packets: sent (delivered to the inner transport, maybe late),
// dropped by loss, delayed, and blocked by a partition.
type Stats struct{ Sent, Dropped, Delayed, Blocked uint64 }

// Stats returns the packet counters.
func (n *Network) Stats() Stats {
	return Stats{Sent: n.sent.Load(), Dropped: n.dropped.Load(), Delayed: n.delayed.Load(), Blocked: n.blocked.Load()}
}

type verdict struct {
	block, drop bool
	delay       time.Duration
}

func (n *Network) judge(from, to string, packet bool) verdict {
	n.mu.Lock()
	defer n.mu.Unlock()
	dst, ok := n.groups[to]
	if !ok {
		return verdict{}
	}
	var v verdict
	if n.parted && n.isolated[from] != n.isolated[dst] {
		v.block = true
		return v
	}
	if from != dst {
		v.delay = n.latency
	}
	if packet {
		if n.drop > 0 && n.rng.Float64() < n.drop {
			v.drop = true
			return v
		}
		if n.delayFrac > 0 && n.delayMax > 0 && n.rng.Float64() < n.delayFrac {
			v.delay += time.Duration(n.rng.Int64N(int64(n.delayMax)))
		}
	}
	return v
}

// Listen starts a memberlist NetTransport on 127.0.0.1:port (0: a free
// port) and wraps it into group.
func (n *Network) Listen(group string, port int, logger *log.Logger) (*Transport, error) {
	if logger == nil {
		logger = log.New(discard{}, "", 0)
	}
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		BindPort:  port,
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gossiptest: listen on 127.0.0.1:%d: %w", port, err)
	}
	return n.Wrap(group, nt), nil
}

// Wrap puts inner into group. The address is registered when memberlist
// asks for it (FinalAdvertiseAddr).
func (n *Network) Wrap(group string, inner memberlist.Transport) *Transport {
	return &Transport{net: n, group: group, inner: inner}
}

// Transport is a memberlist.Transport with the Network's faults applied to
// what it sends.
type Transport struct {
	net    *Network
	group  string
	inner  memberlist.Transport
	port   atomic.Int64
	closed atomic.Bool
}

var _ memberlist.Transport = (*Transport)(nil)

// Port returns the advertised port, once memberlist has asked for it.
func (t *Transport) Port() int { return int(t.port.Load()) }

// FinalAdvertiseAddr implements memberlist.Transport.
func (t *Transport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	a, p, err := t.inner.FinalAdvertiseAddr(ip, port)
	if err != nil {
		return a, p, err
	}
	t.port.Store(int64(p))
	t.net.mu.Lock()
	t.net.groups[net.JoinHostPort(a.String(), strconv.Itoa(p))] = t.group
	t.net.mu.Unlock()
	return a, p, nil
}

// WriteTo implements memberlist.Transport: the packet may be blocked,
// dropped or delivered late (in another goroutine, so maybe reordered).
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	now := time.Now()
	v := t.net.judge(t.group, addr, true)
	switch {
	case v.block:
		t.net.blocked.Add(1)
		return now, nil
	case v.drop:
		t.net.dropped.Add(1)
		return now, nil
	case v.delay > 0:
		t.net.delayed.Add(1)
		buf := append([]byte(nil), b...)
		time.AfterFunc(v.delay, func() {
			if !t.closed.Load() {
				t.net.sent.Add(1)
				_, _ = t.inner.WriteTo(buf, addr)
			}
		})
		return now, nil
	}
	t.net.sent.Add(1)
	return t.inner.WriteTo(b, addr)
}

// PacketCh implements memberlist.Transport.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.inner.PacketCh() }

// DialTimeout implements memberlist.Transport: refused across a partition;
// with latency, the dial and every write wait the one-way latency.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	v := t.net.judge(t.group, addr, false)
	if v.block {
		return nil, fmt.Errorf("gossiptest: dial %s from %s: %w", addr, t.group, ErrPartitioned)
	}
	if v.delay > 0 {
		time.Sleep(min(v.delay, timeout))
	}
	c, err := t.inner.DialTimeout(addr, timeout)
	if err != nil || v.delay == 0 {
		return c, err
	}
	return &slowConn{Conn: c, delay: v.delay}, nil
}

// StreamCh implements memberlist.Transport.
func (t *Transport) StreamCh() <-chan net.Conn { return t.inner.StreamCh() }

// Shutdown implements memberlist.Transport; late packets are discarded.
func (t *Transport) Shutdown() error {
	t.closed.Store(true)
	return t.inner.Shutdown()
}

type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c *slowConn) Write(b []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Write(b)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
