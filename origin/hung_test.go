package origin

import (
	"io"
	"net/http"
	"path/filepath"
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
	edge := &procNode{id: "edge", logPath: filepath.Join(t.TempDir(), "edge.log")}
	c.relaunch(edge, []string{"edge", "--listen", listen, "--origin", hung.url() + "," + other.url(),
		"--cluster-secret", testSecret, "--log-level", "warn", "--stale-after", "3s"})
	t.Cleanup(func() {
		edge.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-edge.done:
		case <-time.After(10 * time.Second):
			edge.cmd.Process.Kill()
			<-edge.done
		}
		if t.Failed() {
			t.Logf("edge log:\n%s", c.logTail(edge))
		}
	})
	summary := func() (stale string, body string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+listen+"/api/v2/summary.json", nil)
		req.Host = "acme.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", ""
		}
		return resp.Header.Get("X-Statusedge-Stale"), string(b)
	}
	write := func(body string) {
		t.Helper()
		poll(t, 15*time.Second, "the write "+body, func() bool {
			a, err := tryCall(leader.url(), "POST", pb.path, pb.token, map[string]any{"status": "identified", "body": body}, "Idempotency-Key", body)
			return err == nil && a.status == 201
		})
	}
	write("before-the-stop")
	poll(t, 30*time.Second, "the edge to serve the first write", func() bool {
		stale, body := summary()
		return stale == "" && strings.Contains(body, "before-the-stop")
	})

	if err := hung.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.cmd.Process.Signal(syscall.SIGCONT) })
	write("while-stopped")
	// Well inside the long poll's 40 s and past --stale-after, so that a
	// page marked stale would show.
	var stale, body string
	poll(t, 15*time.Second, "the edge to serve the write made while its first replica hangs", func() bool {
		stale, body = summary()
		return strings.Contains(body, "while-stopped")
	})
	time.Sleep(4 * time.Second) // past --stale-after: a hung replica must not make the origin look silent
	if stale, body = summary(); stale != "" || !strings.Contains(body, "while-stopped") {
		t.Fatalf("with one replica hung the edge serves stale %q:\n%.300s", stale, body)
	}
}
