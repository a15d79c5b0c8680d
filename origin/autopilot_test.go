package origin

import (
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestEmptyMemberCannotElectAStaleLeader is raft's hazard of a member
// restarted on an empty data dir: writes are committed by the leader and
// one follower b while the other follower a is stopped (SIGSTOP), so a
// lacks them. Then b loses its data dir and restarts empty, the leader's
// process is killed, and a resumes. With its empty log b would grant a its
// vote, and a would lead without the committed writes (and, once the old
// leader returns, erase them there). b may not vote before it has caught
// up: no leader is elected until the old leader is back, every
// acknowledged write survives on all three, and b is a voter again only
// once caught up.
func TestEmptyMemberCannotElectAStaleLeader(t *testing.T) {
	t.Parallel()
	c := newProcCluster(t, 3)
	pb := procFixture(t, c)
	l := c.waitLeader()
	li := slices.Index(c.nodes, l)
	ai, bi := (li+1)%3, (li+2)%3
	a, b := c.nodes[ai], c.nodes[bi]
	write := func(body string) { t.Helper(); mustWrite(t, l, pb.path, pb.token, body) }
	write("before")
	waitTimelineEndsWith(t, a, pb.token, pb.incident, "before")
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.cmd.Process.Signal(syscall.SIGCONT) })
	var acked []string
	for i := range 5 {
		body := fmt.Sprintf("while-%s-stopped-%d", a.id, i)
		write(body) // committed by the leader and b
		acked = append(acked, body)
	}
	c.kill(bi)
	if err := os.RemoveAll(b.dir); err != nil {
		t.Fatal(err)
	}
	c.kill(li)
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	c.start(bi)
	// Several election timeouts: a asks the empty b for its vote.
	time.Sleep(5 * time.Second)
	c.start(li)
	c.waitMembers()
	nl := c.waitLeader()
	poll(t, 15*time.Second, "the barrier write", func() bool {
		r, err := tryCall(nl.url(), "POST", pb.path, pb.token, map[string]any{"status": "monitoring", "body": "barrier"}, "Idempotency-Key", "barrier")
		return err == nil && r.status == 201
	})
	for _, p := range c.nodes {
		got := waitTimelineEndsWith(t, p, pb.token, pb.incident, "barrier")
		for _, w := range acked {
			if !slices.Contains(got, w) {
				t.Fatalf("%s lost the acknowledged write %q (timeline %q)", p.id, w, got)
			}
		}
	}
}

// TestEmptiedVoterDemotedUntilCaughtUp: a member (in a network namespace
// of its own, netLab) loses its data dir and restarts empty with its raft
// port blocked (nftables in its namespace), so it cannot catch up while
// its API answers. The leader's autopilot demotes it to non-voter, the
// other two keep writing, and once the port opens it catches up and is a
// voter again, never before it reports caught up; every acknowledged write
// is on all three exactly once.
func TestEmptiedVoterDemotedUntilCaughtUp(t *testing.T) {
	t.Parallel()
	lab := newNetLab(t, 3)
	c := newProcCluster(t, 3, inNetLab(lab))
	li := slices.Index(c.nodes, c.waitLeader())
	bi := (li + 1) % 3
	b := c.nodes[bi]
	pb := startProcBurstN(t, c, 1, c.except(bi)...)
	pb.waitAcks(t, 20, "writes before the wipe")
	c.kill(bi)
	if err := os.RemoveAll(b.dir); err != nil {
		t.Fatal(err)
	}
	lab.blockPort(bi, 7000)
	c.start(bi)
	poll(t, 20*time.Second, b.id+" demoted to non-voter", func() bool {
		st, err := c.status(c.waitLeader())
		i := slices.IndexFunc(st.Servers, func(s ClusterServer) bool { return s.ID == b.id })
		return err == nil && i >= 0 && st.Servers[i].Suffrage == "nonvoter"
	})
	pb.waitAcks(t, 20, "writes with "+b.id+" a non-voter")
	lab.unblock(bi)
	watchPromotion(t, c, b)
	pb.waitAcks(t, 20, "writes with "+b.id+" a voter again")
	pb.settle(t, c, c.nodes)
}
