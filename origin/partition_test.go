package origin

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statusedge/statusedge/content"
)

// TestPartitionedLeaderProcesses partitions real processes with network
// namespaces (netLab): three `statusedge origin` replicas, each in a
// namespace of its own, and two `statusedge edge` processes, one next to
// the leader and one next to a follower. The leader's namespace (the
// leader and its edge) is cut off from the rest. The leader loses
// leadership, writes resume on the majority side and reach its edge, and
// the minority's edge marks its pages stale; once healed, the minority's
// edge serves the writes made meanwhile, unmarked, the old leader catches
// up, and every acknowledged write is on all three exactly once.
func TestPartitionedLeaderProcesses(t *testing.T) {
	t.Parallel()
	lab := newNetLab(t, 3)
	c := newProcCluster(t, 3, inNetLab(lab))
	li := slices.Index(c.nodes, c.waitLeader())
	mi := (li + 1) % 3 // a replica of the majority
	edgeURL := func(i int) string { return "http://" + lab.Addr(i) + ":8080" }
	for _, i := range []int{li, mi} {
		origins := []string{c.nodes[i].url()}
		for j, p := range c.nodes {
			if j != i {
				origins = append(origins, p.url())
			}
		}
		c.startEdge(t, fmt.Sprintf("edge%d", i), lab.NS(i), "--listen", lab.Addr(i)+":8080", "--origin", strings.Join(origins, ","), "--stale-after", "2s")
	}
	// summary fetches the site's summary from edge i, from the host or,
	// while the host is cut off from it, from inside its namespace.
	summary := func(i int, inside bool) (stale bool, body string) {
		if inside {
			out, err := lab.curl(i, "-i", "-H", "Host: acme.localhost", edgeURL(i)+"/api/v2/summary.json")
			if err != nil || !strings.HasPrefix(out, "HTTP/1.1 200") {
				return false, ""
			}
			return strings.Contains(strings.ToLower(out), "x-statusedge-stale: 1"), out
		}
		return edgeSummary(edgeURL(i), "acme.localhost")
	}
	waitServed := func(i int, inside bool, want string) {
		t.Helper()
		poll(t, 20*time.Second, fmt.Sprintf("edge%d to serve %q unmarked", i, want), func() bool {
			stale, body := summary(i, inside)
			return !stale && strings.Contains(body, want)
		})
	}
	// The clients write through the majority's replicas (one through the
	// cut-off leader would wait out its timeout on every try).
	pb := startProcBurstN(t, c, 2, c.except(li)...)
	pb.waitAcks(t, 20, "writes before the partition")
	// The markers the edges are checked for go to an incident of their
	// own (the burst's incident holds the burst's writes only).
	var marker content.Incident
	a := call(t, c.nodes[li].url(), "POST", "/v1/sites/acme/incidents", pb.token, map[string]any{"name": "Markers", "status": "investigating", "impact": "minor", "body": "markers"})
	if a.status != 201 {
		t.Fatalf("marker incident: %d %s", a.status, a.body)
	}
	a.json(t, &marker)
	write := func(p *procNode, body string) {
		t.Helper()
		mustWrite(t, p, "/v1/sites/acme/incidents/"+marker.ID+"/updates", pb.token, body)
	}
	write(c.nodes[li], "before-the-partition")
	waitServed(li, false, "before-the-partition")
	waitServed(mi, false, "before-the-partition")

	lab.cut(li)
	old := c.nodes[li]
	poll(t, 20*time.Second, "a leader on the majority side", func() bool {
		st, err := c.status(c.nodes[mi])
		return err == nil && st.Leader != "" && st.Leader != old.id
	})
	pb.waitAcks(t, 20, "writes on the majority side")
	write(c.nodes[mi], "during-the-partition")
	waitServed(mi, false, "during-the-partition")
	poll(t, 20*time.Second, old.id+" to lose its leadership", func() bool {
		out, err := lab.curl(li, "-H", "Authorization: Bearer "+testOperator, old.url()+"/v1/cluster")
		return err == nil && strings.Contains(out, `"cluster_id"`) && !strings.Contains(out, `"leader":"`+old.id+`"`)
	})
	poll(t, 20*time.Second, "the minority's edge to mark its pages stale", func() bool {
		stale, body := summary(li, true)
		return stale && strings.Contains(body, "before-the-partition")
	})

	lab.heal(li)
	waitServed(li, false, "during-the-partition")
	pb.settle(t, c, c.nodes)
}
