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
