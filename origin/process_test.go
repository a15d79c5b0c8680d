package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// buildStatusedge builds the statusedge binary into a temp dir, once per
// test that asks, and returns its path.
func buildStatusedge(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build statusedge: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "statusedge")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "../cmd/statusedge")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/statusedge: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (a replica keeps its addresses across restarts, so they are chosen
// up front).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// procNode is one `statusedge origin` process; its data dir and addresses
// survive restarts.
type procNode struct {
	id, dir, raftAddr, apiAddr, logPath string
	// netns, if set, is the network namespace the process runs in (see netLab).
	netns string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

func (p *procNode) url() string { return "http://" + p.apiAddr }

// running reports whether the process is started and has not exited.
func (p *procNode) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// procCluster runs replicas as real processes of the statusedge binary on
// loopback, and can SIGKILL and restart them.
type procCluster struct {
	t     testing.TB
	bin   string
	nodes []*procNode
}

// newProcCluster starts n voters: the first bootstraps, the others join
// through it with --join; it returns when every replica reports all n
// servers with their API addresses and a leader.
// opts may change a replica before its first start (its data dir, say).
func newProcCluster(t testing.TB, n int, opts ...func(*procNode)) *procCluster {
	t.Helper()
	c := &procCluster{t: t, bin: buildStatusedge(t)}
	t.Cleanup(c.shutdown)
	base := t.TempDir()
	for i := range n {
		p := &procNode{
			id: fmt.Sprintf("n%d", i), dir: filepath.Join(base, fmt.Sprintf("n%d", i)),
			raftAddr: freeAddr(t), apiAddr: freeAddr(t), logPath: filepath.Join(base, fmt.Sprintf("n%d.log", i)),
		}
		for _, o := range opts {
			o(p)
		}
		c.nodes = append(c.nodes, p)
	}
	for i := range c.nodes {
		switch i {
		case 0:
			c.start(i, "--bootstrap")
		default:
			c.start(i, "--join", c.nodes[0].url())
		}
	}
	c.waitMembers()
	return c
}

// start execs replica i with its fixed flags plus extra.
func (c *procCluster) start(i int, extra ...string) {
	c.t.Helper()
	p := c.nodes[i]
	args := append([]string{"origin", "--id", p.id, "--data", p.dir, "--raft-addr", p.raftAddr, "--api-addr", p.apiAddr,
		"--operator-token", testOperator, "--cluster-secret", testSecret, "--log-level", "warn"}, extra...)
	c.relaunch(p, args)
	retries := 0
	poll(c.t, 15*time.Second, p.id+"'s API", func() bool {
		if !p.running() {
			// A fixed port can be held for a moment by another socket (an
			// outgoing connection's ephemeral port): try again, briefly.
			if tail := c.logTail(p); bytes.Contains(tail, []byte("address already in use")) && retries < 20 {
				retries++
				time.Sleep(250 * time.Millisecond)
				c.relaunch(p, args)
				return false
			}
			c.t.Fatalf("%s exited: %v\n%s", p.id, p.cmd.ProcessState, c.logTail(p))
		}
		a, err := tryCall(p.url(), "GET", "/v1/cluster", testOperator, nil)
		return err == nil && a.status == 200
	})
}

// relaunch execs p with args, its output appended to its log.
func (c *procCluster) relaunch(p *procNode, args []string) {
	c.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	p.cmd = exec.Command(c.bin, args...)
	if p.netns != "" {
		// ip netns exec execs the binary: the pid is the replica's own.
		p.cmd = exec.Command("ip", append([]string{"netns", "exec", p.netns, c.bin}, args...)...)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		c.t.Fatalf("start %s: %v", p.id, err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		logf.Close()
		close(done)
	}(p.cmd, p.done)
}

// kill sends SIGKILL to replica i and waits until it is gone: no shutdown
// code runs, its data dir is left as the kernel found it.
func (c *procCluster) kill(i int) {
	c.t.Helper()
	p := c.nodes[i]
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatalf("kill %s: %v", p.id, err)
	}
	<-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		c.t.Fatalf("%s ended with %v, not by SIGKILL", p.id, p.cmd.ProcessState)
	}
}

// shutdown stops every running replica: SIGTERM, then SIGKILL after 10 s.
// On failure it logs the tail of every replica's log.
func (c *procCluster) shutdown() {
	for _, p := range c.nodes {
		if p.running() {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range c.nodes {
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	if c.t.Failed() {
		for _, p := range c.nodes {
			c.t.Logf("%s log:\n%s", p.id, c.logTail(p))
		}
	}
}

func (c *procCluster) logTail(p *procNode) []byte {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return b
}

func (c *procCluster) live() []*procNode {
	var out []*procNode
	for _, p := range c.nodes {
		if p.running() {
			out = append(out, p)
		}
	}
	return out
}

// except lists every replica but the i-th.
func (c *procCluster) except(i int) []*procNode {
	return slices.Delete(slices.Clone(c.nodes), i, i+1)
}

// liveURLs are the API URLs of the running replicas.
func (c *procCluster) liveURLs() []string {
	var us []string
	for _, p := range c.live() {
		us = append(us, p.url())
	}
	return us
}

// status asks replica p how it sees the cluster.
func (c *procCluster) status(p *procNode) (ClusterStatus, error) {
	var st ClusterStatus
	a, err := tryCall(p.url(), "GET", "/v1/cluster", testOperator, nil)
	if err == nil && a.status != 200 {
		err = fmt.Errorf("GET /v1/cluster: %d %s", a.status, a.body)
	}
	if err == nil {
		err = jsonUnmarshal(a.body, &st)
	}
	return st, err
}

// waitMembers waits until every live replica knows every replica (as a
// voter, promoted once caught up, with its API address) and a live leader.
func (c *procCluster) waitMembers() {
	c.t.Helper()
	poll(c.t, 30*time.Second, "every replica to see the whole cluster", func() bool {
		for _, p := range c.live() {
			st, err := c.status(p)
			if err != nil || len(st.Servers) != len(c.nodes) || c.leaderOf(st) == nil {
				return false
			}
			for _, s := range st.Servers {
				if s.API == "" || s.Suffrage != "voter" {
					return false
				}
			}
		}
		return true
	})
}

// leaderOf returns the live replica st names as leader, or nil.
func (c *procCluster) leaderOf(st ClusterStatus) *procNode {
	for _, p := range c.live() {
		if p.id == st.Leader {
			return p
		}
	}
	return nil
}

// waitLeader waits until a live replica is named leader by another live one.
func (c *procCluster) waitLeader() *procNode {
	c.t.Helper()
	var l *procNode
	poll(c.t, 20*time.Second, "a live leader", func() bool {
		for _, p := range c.live() {
			if st, err := c.status(p); err == nil {
				if l = c.leaderOf(st); l != nil {
					return true
				}
			}
		}
		return false
	})
	return l
}

// timeline reads the incident's update bodies from replica p (a local read).
func timeline(p *procNode, token, incident string) ([]string, error) {
	a, err := tryCall(p.url(), "GET", "/v1/sites/acme/incidents/"+incident, token, nil)
	if err != nil {
		return nil, err
	}
	if a.status != 200 {
		return nil, fmt.Errorf("GET incident on %s: %d %s", p.id, a.status, a.body)
	}
	var inc content.Incident
	if err := jsonUnmarshal(a.body, &inc); err != nil {
		return nil, err
	}
	return bodies(inc.Updates), nil
}

// waitTimelineEndsWith polls replica p until the incident's last update is
// last (so p has applied everything before it) and returns the timeline.
func waitTimelineEndsWith(t testing.TB, p *procNode, token, incident, last string) []string {
	t.Helper()
	var got []string
	var err error
	poll(t, 20*time.Second, p.id+" to apply "+last, func() bool {
		got, err = timeline(p, token, incident)
		return err == nil && len(got) > 0 && got[len(got)-1] == last
	})
	return got
}

// TestSIGKILLLeaderProcess is TestKillLeaderDuringBurstIsLinearizable with
// real `statusedge origin` processes: concurrent clients append incident
// updates through the HTTP API of all three replicas, the leader's process
// gets SIGKILL mid-burst, and afterwards every acknowledged write is on
// both survivors, the client history is linearizable, and the killed
// replica, restarted on its data dir, catches up.
func TestSIGKILLLeaderProcess(t *testing.T) {
	c := newProcCluster(t, 3)
	leader := c.waitLeader()

	// A site with one component and an incident to append to.
	var created struct {
		Site     SiteView `json:"site"`
		APIToken string   `json:"api_token"`
	}
	a := call(t, leader.url(), "POST", "/v1/sites", testOperator, map[string]any{"name": "Acme", "slug": "acme"})
	if a.status != 201 {
		t.Fatalf("create site: %d %s", a.status, a.body)
	}
	a.json(t, &created)
	token := created.APIToken
	var comp content.Component
	if a = call(t, leader.url(), "POST", "/v1/sites/acme/components", token, map[string]any{"name": "API"}); a.status != 201 {
		t.Fatalf("create component: %d %s", a.status, a.body)
	}
	a.json(t, &comp)
	var inc content.Incident
	a = call(t, leader.url(), "POST", "/v1/sites/acme/incidents", token, map[string]any{"name": "API errors", "status": "investigating",
		"impact": "major", "body": "looking", "components": map[string]string{comp.ID: "partial_outage"}})
	if a.status != 201 {
		t.Fatalf("create incident: %d %s", a.status, a.body)
	}
	a.json(t, &inc)
	initial := len(inc.Updates)
	path := "/v1/sites/acme/incidents/" + inc.ID + "/updates"

	var urls []string
	for _, p := range c.nodes {
		urls = append(urls, p.url())
	}
	b := startBurst(6, urls, path, token, initial)
	defer func() {
		select {
		case <-b.stop:
		default:
			b.finish()
		}
	}()
	poll(t, 20*time.Second, "writes before the kill", func() bool { return b.acks.Load() >= 60 })
	killed := slices.Index(c.nodes, c.waitLeader())
	c.kill(killed)
	before := b.acks.Load()
	poll(t, 30*time.Second, "writes after the kill", func() bool { return b.acks.Load() >= before+60 })
	b.finish()

	// A last write through the new leader: a survivor whose timeline ends
	// with it has applied everything before it.
	nl := c.waitLeader()
	poll(t, 15*time.Second, "the barrier write", func() bool {
		a, err := tryCall(nl.url(), "POST", path, token, map[string]any{"status": "monitoring", "body": "barrier"}, "Idempotency-Key", "barrier")
		return err == nil && a.status == 201
	})
	var final []string
	for _, p := range c.live() {
		got := waitTimelineEndsWith(t, p, token, inc.ID, "barrier")
		got = got[initial : len(got)-1]
		if final == nil {
			final = got
		} else if !slices.Equal(got, final) {
			t.Fatalf("survivors disagree: %s has %d updates, another %d", p.id, len(got), len(final))
		}
	}
	b.check(t, final)

	// The killed replica restarts on its data dir (no --join, no
	// --bootstrap: raft state and membership come from disk) and catches up.
	c.start(killed)
	got := waitTimelineEndsWith(t, c.nodes[killed], token, inc.ID, "barrier")
	if got = got[initial : len(got)-1]; !slices.Equal(got, final) {
		t.Fatalf("restarted replica has %d updates, want %d", len(got), len(final))
	}
	c.waitMembers()
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %.200q: %w", b, err)
	}
	return nil
}

// startEdge runs `statusedge edge` with args (in network namespace netns,
// if set) until the test ends.
func (c *procCluster) startEdge(t testing.TB, id, netns string, args ...string) *procNode {
	t.Helper()
	e := &procNode{id: id, netns: netns, logPath: filepath.Join(t.TempDir(), id+".log")}
	c.relaunch(e, append([]string{"edge", "--cluster-secret", testSecret, "--log-level", "warn"}, args...))
	t.Cleanup(func() {
		e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
			e.cmd.Process.Kill()
			<-e.done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", e.id, c.logTail(e))
		}
	})
	return e
}

// edgeSummary fetches host's /api/v2/summary.json from the edge at base:
// whether it came marked stale, and the body ("" unless 200).
func edgeSummary(base, host string) (stale bool, body string) {
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v2/summary.json", nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return false, ""
	}
	return resp.Header.Get("X-Statusedge-Stale") == "1", string(b)
}

// mustWrite appends the update body to the incident at path through p,
// retrying (the same Idempotency-Key: body) until it is acknowledged.
func mustWrite(t testing.TB, p *procNode, path, token, body string) {
	t.Helper()
	poll(t, 20*time.Second, "the write "+body, func() bool {
		a, err := tryCall(p.url(), "POST", path, token, map[string]any{"status": "identified", "body": body}, "Idempotency-Key", body)
		return err == nil && a.status == 201
	})
}
