package origin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// runOnce runs the statusedge binary to its end and returns its exit code
// and stderr. A run that has not ended after a minute is a hang: it is
// killed and the test fails.
func runOnce(t testing.TB, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("statusedge %s hung (killed after a minute); stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run statusedge: %v", err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// originArgs are the flags of a one-shot origin run on dir.
func originArgs(t testing.TB, dir string, extra ...string) []string {
	return append([]string{"origin", "--id", "x", "--data", dir, "--raft-addr", freeAddr(t), "--api-addr", freeAddr(t),
		"--operator-token", testOperator, "--cluster-secret", testSecret, "--log-level", "error"}, extra...)
}

// oneLine checks that stderr is a single line holding every want.
func oneLine(t testing.TB, stderr string, want ...string) {
	t.Helper()
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr is not one line:\n%s", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not name %q", stderr, w)
		}
	}
}

// stop sends SIGTERM to replica i and waits for it to end.
func (c *procCluster) stop(i int) {
	c.t.Helper()
	p := c.nodes[i]
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		c.t.Fatalf("%s did not stop on SIGTERM", p.id)
	}
}

// TestBootstrapIsOneTime: --bootstrap makes a cluster once; on a data dir
// that holds one (the README used to show --bootstrap on every start) or
// next to a peer that holds one it is refused, and nothing changes.
func TestBootstrapIsOneTime(t *testing.T) {
	c := newProcCluster(t, 2)
	st, err := c.status(c.nodes[0])
	if err != nil || st.ClusterID == "" {
		t.Fatalf("cluster status has no cluster id: %+v %v", st, err)
	}
	if st1, _ := c.status(c.nodes[1]); st1.ClusterID != st.ClusterID {
		t.Fatalf("the joined replica has cluster id %q, the bootstrapped one %q", st1.ClusterID, st.ClusterID)
	}
	c.stop(1)
	for _, tc := range []struct {
		name string
		dir  string
		args []string
	}{
		{"dir that holds the cluster", c.nodes[1].dir, nil},
		{"empty dir next to a member", t.TempDir(), []string{"--bootstrap-peers", "http://127.0.0.1:1," + c.nodes[0].url()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(filepath.Join(tc.dir, identityFile))
			code, stderr := runOnce(t, c.bin, originArgs(t, tc.dir, append([]string{"--bootstrap"}, tc.args...)...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
			}
			oneLine(t, stderr, st.ClusterID, "--bootstrap")
			if after, _ := os.ReadFile(filepath.Join(tc.dir, identityFile)); !bytes.Equal(before, after) {
				t.Fatalf("cluster id changed from %q to %q", before, after)
			}
		})
	}
	// Without --bootstrap the member restarts into the same cluster.
	c.start(1)
	c.waitMembers()
}

// TestForeignDataDirCannotJoin: a replica started with another cluster's
// data dir and --join is refused before anything changes, on either side.
func TestForeignDataDirCannotJoin(t *testing.T) {
	a := newProcCluster(t, 1)
	b := newProcCluster(t, 1)
	stB, _ := b.status(b.nodes[0])
	stA, _ := a.status(a.nodes[0])
	b.stop(0)
	code, stderr := runOnce(t, a.bin, originArgs(t, b.nodes[0].dir, "--join", a.nodes[0].url())...)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
	}
	oneLine(t, stderr, stA.ClusterID, stB.ClusterID)
	if id, _ := ReadClusterID(b.nodes[0].dir); id != stB.ClusterID {
		t.Fatalf("foreign dir now names cluster %q", id)
	}
	if st, _ := a.status(a.nodes[0]); len(st.Servers) != 1 {
		t.Fatalf("cluster a has %d servers after the refused join", len(st.Servers))
	}
	// And the API refuses a join naming another cluster.
	if r := call(t, a.nodes[0].url(), "POST", "/v1/cluster/join", testOperator,
		JoinInput{ID: "n9", Address: "127.0.0.1:1", Voter: true, ClusterID: stB.ClusterID}); r.status != 409 {
		t.Fatalf("join naming another cluster: %d %s", r.status, r.body)
	} else if f, _ := r.errField(); f != "cluster_id" {
		t.Fatalf("join naming another cluster: field %q", f)
	}
}

// TestRaftRefusesAnotherCluster: raft connections carry the cluster id, so
// a replica of one cluster can neither append to nor ask votes of another
// cluster's replica, even at an address the other cluster lists.
func TestRaftRefusesAnotherCluster(t *testing.T) {
	a := newCluster(t, 1, 0)
	b := newCluster(t, 1, 0)
	na, nb := a.leader().n, b.leader().n
	if na.ClusterID() == nb.ClusterID() || na.ClusterID() == "" {
		t.Fatalf("cluster ids %q and %q", na.ClusterID(), nb.ClusterID())
	}
	if _, err := na.stream.Dial("127.0.0.1:1", time.Second); err == nil {
		t.Fatal("dial of a closed port worked")
	}
	c, err := nb.stream.Dial(na.trans.LocalAddr(), 2*time.Second)
	if err == nil {
		c.Close()
		t.Fatal("a replica of cluster b opened a raft connection to cluster a")
	}
	if !errors.Is(err, ErrForeignCluster) {
		t.Fatalf("dial: %v", err)
	}
	// The same replica's own cluster still talks to it.
	if c, err := na.stream.Dial(na.trans.LocalAddr(), 2*time.Second); err != nil {
		t.Fatalf("dial within the cluster: %v", err)
	} else {
		c.Close()
	}
}

// TestDataDirInUse: a second origin or dev on a data dir in use fails at
// once with one line naming the dir and the process that holds it (it
// used to wait on bbolt's lock forever, ignoring SIGTERM).
func TestDataDirInUse(t *testing.T) {
	c := newProcCluster(t, 1)
	holder := strconv.Itoa(c.nodes[0].cmd.Process.Pid)
	code, stderr := runOnce(t, c.bin, originArgs(t, c.nodes[0].dir)...)
	if code != 1 {
		t.Fatalf("origin: exit %d, want 1; stderr: %s", code, stderr)
	}
	oneLine(t, stderr, c.nodes[0].dir, "process "+holder)

	// dev keeps its replica's data in <data>/eu/origin.
	devDir := filepath.Join(t.TempDir(), "devdata")
	if err := os.MkdirAll(filepath.Join(devDir, "eu"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(c.nodes[0].dir, filepath.Join(devDir, "eu", "origin")); err != nil {
		t.Fatal(err)
	}
	code, stderr = runOnce(t, c.bin, "dev", "--data", devDir, "--api-addr", freeAddr(t), "--listen", freeAddr(t))
	if code != 1 {
		t.Fatalf("dev: exit %d, want 1; stderr: %s", code, stderr)
	}
	oneLine(t, stderr, filepath.Join(devDir, "eu", "origin"), "process "+holder)
}

// TestDamagedStore: a damaged raft.db is reported in one line with exit
// code 3 (not bbolt's panic, a SIGSEGV or 2, the usage code), and never
// bootstrapped over.
func TestDamagedStore(t *testing.T) {
	c := newProcCluster(t, 1)
	c.stop(0)
	good, err := os.ReadFile(filepath.Join(c.nodes[0].dir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := ReadClusterID(c.nodes[0].dir)
	garbage := bytes.Repeat([]byte("statusedge"), len(good)/10)
	for _, tc := range []struct {
		name    string
		db      []byte // nil: no raft.db
		withID  bool
		extra   []string
		wantMsg string
	}{
		{"zero length", []byte{}, true, nil, "empty"},
		{"zero length with --bootstrap", []byte{}, false, []string{"--bootstrap"}, "empty"},
		{"garbage", garbage, true, nil, "raft.db"},
		{"meta pages only", good[:8192], true, []string{"--bootstrap"}, "raft.db"},
		{"cluster id without raft.db", nil, true, []string{"--bootstrap"}, "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.db != nil {
				if err := os.WriteFile(filepath.Join(dir, "raft.db"), tc.db, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.withID {
				if err := writeClusterID(dir, id); err != nil {
					t.Fatal(err)
				}
			}
			code, stderr := runOnce(t, c.bin, originArgs(t, dir, tc.extra...)...)
			if code != 3 {
				t.Fatalf("exit %d, want 3; stderr: %s", code, stderr)
			}
			oneLine(t, stderr, dir, tc.wantMsg)
			got, _ := os.ReadFile(filepath.Join(dir, "raft.db"))
			if tc.db != nil && !bytes.Equal(got, tc.db) {
				t.Fatal("raft.db was changed")
			}
			if gotID, _ := ReadClusterID(dir); tc.withID != (gotID != "") {
				t.Fatalf("cluster id is now %q", gotID)
			}
		})
	}
}

// TestRestartNeverNeedsJoinTarget: a member restarted with the --join it
// was first started with comes back from its own state without asking the
// join target (which may be down: a restart must never cost quorum).
func TestRestartNeverNeedsJoinTarget(t *testing.T) {
	c := newProcCluster(t, 3)
	var asked atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer target.Close()
	c.stop(1)
	c.kill(0) // the replica every other one joined through
	c.start(1, "--join", target.URL)
	poll(t, 20*time.Second, "n1 to say it restarts from its own state", func() bool {
		return bytes.Contains(c.logTail(c.nodes[1]), []byte("restarting from own state"))
	})
	l := c.waitLeader()
	a := call(t, l.url(), "POST", "/v1/sites", testOperator, map[string]any{"name": "Acme", "slug": "acme"})
	if a.status != 201 {
		t.Fatalf("write with n1 and n2: %d %s", a.status, a.body)
	}
	if n := asked.Load(); n > 1 {
		t.Fatalf("the restarted member asked its join target %d times (it checks once at most)", n)
	}
	if !c.nodes[1].running() {
		t.Fatal("n1 exited")
	}
}
