package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/statusedge/statusedge/content"
)

const (
	testOperator = "operator-token-0123456789"
	testSecret   = "cluster-secret-0123456789"
	testEdgeSec  = "edge-secret-0123456789"
)

// testNode is one replica of a testCluster: raft on disk in a temp dir,
// its API on a loopback port, both kept across restarts.
type testNode struct {
	id       string
	dir      string
	raftAddr string
	apiAddr  string // host:port
	voter    bool
	n        *Node
	srv      *http.Server
}

func (tn *testNode) url() string { return "http://" + tn.apiAddr }

// testCluster starts real replicas on loopback and can kill and restart them.
type testCluster struct {
	t     testing.TB
	nodes []*testNode
	opts  []func(*Config)
}

func testConfig() Config {
	c := DefaultConfig()
	c.OperatorToken, c.ClusterSecret, c.EdgeSecret = testOperator, testSecret, testEdgeSec
	c.HeartbeatTimeout = 300 * time.Millisecond
	c.ElectionTimeout = 300 * time.Millisecond
	c.LeaderLeaseTimeout = 150 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.MaintenanceTick = 50 * time.Millisecond
	c.ApplyTimeout = 5 * time.Second
	c.PromoteAfter = 100 * time.Millisecond
	c.Logger = hclog.New(&hclog.LoggerOptions{Name: "origin", Level: hclog.Error, Output: os.Stderr})
	return c
}

// newCluster starts voters voters (the first bootstraps) and nonvoters
// non-voters, and waits until all have joined.
func newCluster(t testing.TB, voters, nonvoters int, opts ...func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, opts: opts}
	t.Cleanup(c.shutdown)
	for i := 0; i < voters+nonvoters; i++ {
		tn := &testNode{id: fmt.Sprintf("n%d", i), dir: filepath.Join(t.TempDir(), "data"), raftAddr: "127.0.0.1:0", voter: i < voters}
		c.nodes = append(c.nodes, tn)
		c.start(tn, i == 0)
		if i == 0 {
			c.waitLeader()
			continue
		}
		// A loaded machine can cost the leader its lease mid-join: retry
		// with whoever leads then (a join is idempotent).
		var err error
		for try := 0; try < 5; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err = c.leader().n.Join(ctx, JoinInput{ID: tn.id, Address: tn.raftAddr, Voter: tn.voter, APIAddr: tn.url()})
			cancel()
			if err == nil || !(errors.Is(err, ErrNoLeader) || errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost)) {
				break
			}
		}
		if err != nil {
			t.Fatalf("join %s: %v", tn.id, err)
		}
	}
	c.waitMembers()
	return c
}

func (c *testCluster) start(tn *testNode, bootstrap bool) {
	c.t.Helper()
	addr := tn.apiAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("listen %s: %v", addr, err)
	}
	tn.apiAddr = ln.Addr().String()
	cfg := testConfig()
	cfg.ID, cfg.DataDir, cfg.RaftAddr, cfg.APIAddr, cfg.Voter, cfg.Bootstrap = tn.id, tn.dir, tn.raftAddr, tn.url(), tn.voter, bootstrap
	cfg.Renderer = echoRenderer{}
	for _, o := range c.opts {
		o(&cfg)
	}
	var n *Node
	for deadline := time.Now().Add(5 * time.Second); ; { // the old raft port may linger briefly
		if n, err = Open(cfg); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		ln.Close()
		c.t.Fatalf("open %s: %v", tn.id, err)
	}
	tn.n, tn.raftAddr = n, n.RaftAddr()
	tn.srv = &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go tn.srv.Serve(ln)
}

// kill stops a replica (raft and API); its data stays on disk.
func (c *testCluster) kill(i int) {
	tn := c.nodes[i]
	if tn.n == nil {
		return
	}
	tn.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tn.n.Shutdown(ctx); err != nil {
		c.t.Errorf("shutdown %s: %v", tn.id, err)
	}
	tn.n = nil
}

// restart starts a killed replica again from its data dir.
func (c *testCluster) restart(i int) {
	c.t.Helper()
	c.start(c.nodes[i], false)
}

func (c *testCluster) shutdown() {
	for i := range c.nodes {
		c.kill(i)
	}
}

func (c *testCluster) live() []*testNode {
	var out []*testNode
	for _, tn := range c.nodes {
		if tn.n != nil {
			out = append(out, tn)
		}
	}
	return out
}

// waitLeader waits until a live replica leads and returns it.
func (c *testCluster) waitLeader() *testNode {
	c.t.Helper()
	var l *testNode
	poll(c.t, 15*time.Second, "a leader", func() bool {
		l = c.leaderOrNil()
		return l != nil
	})
	return l
}

func (c *testCluster) leaderOrNil() *testNode {
	for _, tn := range c.live() {
		if tn.n.IsLeader() {
			return tn
		}
	}
	return nil
}

func (c *testCluster) leader() *testNode {
	c.t.Helper()
	return c.waitLeader()
}

// waitMembers waits until every live replica knows every API address.
func (c *testCluster) waitMembers() {
	c.t.Helper()
	poll(c.t, 15*time.Second, "members registered", func() bool {
		for _, tn := range c.live() {
			ok := true
			tn.n.fsm.read(func(st *state) {
				for _, o := range c.live() {
					if st.Members[o.id] != o.url() {
						ok = false
					}
				}
			})
			if !ok {
				return false
			}
		}
		return true
	})
}

// waitApplied waits until every live replica has applied idx.
func (c *testCluster) waitApplied(idx uint64) {
	c.t.Helper()
	for _, tn := range c.live() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := tn.n.WaitIndex(ctx, idx)
		cancel()
		if err != nil {
			c.t.Fatalf("%s did not apply index %d (at %d)", tn.id, idx, tn.n.AppliedIndex())
		}
	}
}

func poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echoRenderer is the test Renderer: it echoes what it was asked.
type echoRenderer struct{}

func (echoRenderer) Render(s *content.Site, audience, path string, now time.Time) ([]byte, string, error) {
	if path == "/missing" {
		return nil, "", fmt.Errorf("no page: %w", os.ErrNotExist)
	}
	if _, err := s.ForAudience(audience); err != nil {
		return nil, "", err
	}
	return fmt.Appendf(nil, "%s v%d %s %s", s.Slug, s.Version, audience, path), "text/plain; charset=utf-8", nil
}

// answer is one HTTP exchange in a test.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// errField returns the error's field and status from an error body.
func (a answer) errField() (string, int) {
	var e struct {
		Error struct {
			Status int    `json:"status"`
			Field  string `json:"field"`
		} `json:"error"`
	}
	json.Unmarshal(a.body, &e)
	return e.Error.Field, e.Error.Status
}

var testClient = &http.Client{Timeout: 20 * time.Second}

// call sends a request; body may be a string (sent as is) or a value (JSON).
func call(t testing.TB, base, method, path, token string, body any, hdr ...string) answer {
	t.Helper()
	a, err := tryCall(base, method, path, token, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

func tryCall(base, method, path, token string, body any, hdr ...string) (answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return answer{}, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		return answer{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, err
}

var _ = raft.Leader

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func TestConfigSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, cluster, edge, want string
	}{
		{"both set", testSecret, testEdgeSec, ""},
		{"no edge secret: edges use the cluster secret", testSecret, "", ""},
		{"short cluster secret", "short", "", "ClusterSecret must be at least 16"},
		{"short edge secret", testSecret, "short", "EdgeSecret must be at least 16"},
		{"edge secret equal to the cluster secret", testSecret, testSecret, "must differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			c.ID, c.DataDir, c.RaftAddr = "n0", t.TempDir(), "127.0.0.1:0"
			c.ClusterSecret, c.EdgeSecret = tc.cluster, tc.edge
			err := c.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
