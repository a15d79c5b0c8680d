package testenv

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Link is a TCP path from a client to one server through a relay on
// 127.0.0.1, which a test can cut (a network partition: every connection
// through it closes, new ones are closed as soon as they are accepted) and
// heal. It is closed at the end of the test.
type Link struct {
	ln     net.Listener
	target string
	cut    atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartLink relays connections made to its Addr to target.
func StartLink(tb testing.TB, target string) *Link {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: link: %v", err)
	}
	l := &Link{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	tb.Cleanup(l.close)
	return l
}

// Addr is the relay's host:port: dial it instead of the target.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Cut partitions the link: every relayed connection closes, and new ones
// are closed at once, until Heal.
func (l *Link) Cut() {
	l.cut.Store(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
}

// Heal lets connections through again.
func (l *Link) Heal() { l.cut.Store(false) }

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if l.cut.Load() {
			c.Close()
			continue
		}
		l.wg.Add(1)
		go l.relay(c)
	}
}

func (l *Link) track(c net.Conn, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.conns[c] = struct{}{}
	} else {
		delete(l.conns, c)
	}
}

func (l *Link) relay(c net.Conn) {
	defer l.wg.Done()
	defer c.Close()
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		return
	}
	defer up.Close()
	l.track(c, true)
	l.track(up, true)
	defer l.track(c, false)
	defer l.track(up, false)
	if l.cut.Load() { // cut while this one was being set up
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

func (l *Link) close() {
	l.ln.Close()
	l.Cut()
	l.wg.Wait()
}
