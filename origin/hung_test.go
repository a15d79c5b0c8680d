package origin

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEdgeMovesOnFromAHungReplica: a `statusedge edge` process lists a
// follower first and another replica after it. The follower's process is
// stopped (SIGSTOP: its sockets still accept, nothing answers). A write
// made meanwhile reaches the edge through the other replica, and the page
// is not marked stale: the edge's long poll, pings and renders do not wait
// on the hung replica. (Before, the long poll waited out its 40 s and then
// gave up without trying the next replica, and every ping spent its bound
// on the hung one, so pages were marked stale.)
func TestEdgeMovesOnFromAHungReplica(t *testing.T) {
	t.Parallel()
	c := newProcCluster(t, 3)
	pb := procFixture(t, c)
	leader := c.waitLeader()
	var hung, other *procNode
	for _, p := range c.nodes {
		switch {
		case p == leader:
		case hung == nil:
			hung = p
		default:
			other = p
		}
	}
	listen := freeAddr(t)
	c.startEdge(t, "edge", "", "--listen", listen, "--origin", hung.url()+","+other.url(), "--stale-after", "3s")
	summary := func() (bool, string) { return edgeSummary("http://"+listen, "acme.localhost") }
	write := func(body string) { t.Helper(); mustWrite(t, leader, pb.path, pb.token, body) }
	write("before-the-stop")
	poll(t, 30*time.Second, "the edge to serve the first write", func() bool {
		stale, body := summary()
		return !stale && strings.Contains(body, "before-the-stop")
	})

	if err := hung.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.cmd.Process.Signal(syscall.SIGCONT) })
	write("while-stopped")
	// Well inside the long poll's 40 s and past --stale-after, so that a
	// page marked stale would show.
	var stale bool
	var body string
	poll(t, 15*time.Second, "the edge to serve the write made while its first replica hangs", func() bool {
		stale, body = summary()
		return strings.Contains(body, "while-stopped")
	})
	time.Sleep(4 * time.Second) // past --stale-after: a hung replica must not make the origin look silent
	if stale, body = summary(); stale || !strings.Contains(body, "while-stopped") {
		t.Fatalf("with one replica hung the edge serves (stale %v):\n%.300s", stale, body)
	}
}
