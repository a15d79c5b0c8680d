// Package redisserver runs redis-server processes on loopback for statusedge
// dev topologies and tests: In, a working directory; out, a running server
// with no persistence on a free 127.0.0.1 port that can be stopped, killed,
// restarted on the same port, paused (SIGSTOP) and resumed.
package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrNoRedis is returned when redis-server is not installed.
var ErrNoRedis = errors.New("redisserver: redis-server not found (apt-get install redis-server)")

// Server is a redis-server process on 127.0.0.1 with no persistence. Its port
// stays the same across Restart so clients reconnect to it.
type Server struct {
	Addr string // 127.0.0.1:port

	bin, dir string
	port     int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

// Start starts a redis-server on a free loopback port, working in dir,
// and waits until it answers PING. The binary is $REDIS_SERVER or
// redis-server on the PATH.
func Start(ctx context.Context, dir string) (*Server, error) {
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			return nil, ErrNoRedis
		}
		bin = p
	}
	// redis-server changes into --dir before it opens --logfile: both must
	// be absolute for a relative dir (dev's default ./data) to work.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("redisserver: redis dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("redisserver: redis dir: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("redisserver: redis port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &Server{bin: bin, dir: dir, port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Server) start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return errors.New("redisserver: redis already running")
	}
	logPath := filepath.Join(r.dir, "redis.log")
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "no", "--protected-mode", "no",
		"--loglevel", "warning", "--logfile", logPath)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redisserver: start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.cmd, r.exited, r.paused = cmd, exited, false
	deadline := time.Now().Add(10 * time.Second)
	for ping(r.Addr) != nil {
		select {
		case <-exited:
			r.cmd = nil
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("redisserver: redis-server exited at start: %s", log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redisserver: redis-server on %s not ready after 10s", r.Addr)
		}
	}
	return nil
}

// ping sends an inline PING and waits for +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected answer %q", line)
	}
	return nil
}

func (r *Server) stopWith(sig syscall.Signal) {
	r.mu.Lock()
	cmd, exited, paused := r.cmd, r.exited, r.paused
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	if paused {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	r.mu.Lock()
	r.cmd, r.paused = nil, false
	r.mu.Unlock()
}

func (r *Server) signal(sig syscall.Signal, paused bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return errors.New("redisserver: redis not running")
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("redisserver: signal redis: %w", err)
	}
	r.paused = paused
	return nil
}

// Stop ends the server with SIGTERM (a clean shutdown) and waits for it.
func (r *Server) Stop() { r.stopWith(syscall.SIGTERM) }

// Kill ends the server with SIGKILL (a crash) and waits for it to exit.
func (r *Server) Kill() { r.stopWith(syscall.SIGKILL) }

// Restart kills the server if it runs and starts it again on the same port,
// with an empty dataset.
func (r *Server) Restart(ctx context.Context) error {
	r.stopWith(syscall.SIGKILL)
	return r.start(ctx)
}

// Pause freezes the server (SIGSTOP): connections stay open, nothing answers.
func (r *Server) Pause() error { return r.signal(syscall.SIGSTOP, true) }

// Resume continues a paused server (SIGCONT).
func (r *Server) Resume() error { return r.signal(syscall.SIGCONT, false) }
