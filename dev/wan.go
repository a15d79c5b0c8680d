package dev

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/statusedge/statusedge/origin"
)

// DelayProxy forwards TCP connections from its loopback address to a target
// and holds every chunk of bytes, in each direction, for a fixed one-way
// latency before passing it on: a WAN link without a bandwidth limit. Order
// is kept and nothing is dropped (TCP would not drop either), so it suits
// raft's transport and HTTP clients alike. Bytes that arrive during the
// delay are not held back any longer than the delay: a stream of small
// writes keeps its pacing, only shifted.
type DelayProxy struct {
	// Addr is where to connect (127.0.0.1:port).
	Addr string

	ln     net.Listener
	target string
	delay  time.Duration
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// ListenDelay starts a DelayProxy on listen (127.0.0.1:0 for any port) in
// front of target, adding one-way delay to both directions.
func ListenDelay(listen, target string, delay time.Duration) (*DelayProxy, error) {
	if delay < 0 {
		return nil, errors.New("dev: negative delay")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("dev: delay proxy: %w", err)
	}
	p := &DelayProxy{Addr: ln.Addr().String(), ln: ln, target: target, delay: delay, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *DelayProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Add(2)
		go p.pump(up, c)
		go p.pump(c, up)
	}
}

func (p *DelayProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// chunk is bytes read at a moment, due at that moment plus the delay.
type chunk struct {
	due time.Time
	b   []byte
}

// pump copies src to dst, each chunk delivered delay after it was read. A
// reader goroutine stamps chunks; this one sleeps until each is due. Both
// end when src ends or Close cuts the connections.
func (p *DelayProxy) pump(dst, src net.Conn) {
	defer p.wg.Done()
	q := make(chan chunk, 1024)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{due: time.Now().Add(p.delay), b: b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	broken := false
	for c := range q {
		if broken {
			continue // drain, so the reader is never stuck on a full queue
		}
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.b); err != nil {
			broken = true
			src.Close()
		}
	}
	// Half-close so the other direction drains.
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// Close stops accepting and cuts every connection.
func (p *DelayProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// StopOrigin takes region i's origin off the network for everyone who uses
// its management and internal API — the edge and writers — as a crashed
// origin would be: the listener closes and open connections are cut. The
// replica's raft keeps running (a quorum elsewhere is not disturbed), so
// StartOrigin brings it back as it was.
func (s *System) StopOrigin(ctx context.Context, i int) error {
	reg := s.Regions[i]
	if reg.apiServer == nil {
		return fmt.Errorf("dev: region %s: origin already stopped", reg.Name)
	}
	err := reg.apiServer.Close()
	reg.apiServer = nil
	return err
}

// StartOrigin serves region i's API again on its old address.
func (s *System) StartOrigin(ctx context.Context, i int) error {
	reg := s.Regions[i]
	if reg.apiServer != nil {
		return fmt.Errorf("dev: region %s: origin already running", reg.Name)
	}
	addr := reg.APIURL[len("http://"):]
	var ln net.Listener
	err := waitFor(ctx, 10*time.Second, func() bool { // the old socket may linger a moment
		var err error
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	if err != nil {
		return fmt.Errorf("dev: region %s: api listen %s: %w", reg.Name, addr, err)
	}
	reg.apiServer = origin.HTTPServer(reg.Origin.Handler())
	go func() { _ = reg.apiServer.Serve(origin.Listener(ln, 0)) }()
	return nil
}
