package edge

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisErrorsAreLogged: a Redis that dies is not only counted: the
// edge says so in its log, once per breaker opening.
func TestRedisErrorsAreLogged(t *testing.T) {
	rd := testenv.StartRedis(t)
	o := startOrigin(t, testSite("pub", "pub.test", content.Public))
	var logs syncBuffer
	e := startEdge(t, o, func(c *Config) {
		c.RedisAddr = rd.Addr()
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	eventually(t, 10*time.Second, "redis in use", func() bool { return e.l2.client.Load() != nil })
	rd.Kill()
	eventually(t, 20*time.Second, "a logged redis error", func() bool {
		e.get(t, "pub.test", "/?page="+itoa(uint64(time.Now().UnixNano()%1000))) // a miss asks Redis
		return strings.Contains(logs.String(), "redis error")
	})
}
