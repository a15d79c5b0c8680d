package origin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// ackLog records when writes were acknowledged.
type ackLog struct {
	mu   sync.Mutex
	acks []time.Time
}

// writers starts n clients appending to path through random replicas
// (urls() is asked on every try), each write retried with its own
// Idempotency-Key until answered 201; stop ends them.
func (l *ackLog) writers(n int, urls func() []string, path, token string) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for ci := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(ci), 11))
			for seq := 0; ; seq++ {
				key := fmt.Sprintf("w%d-%d-%d", ci, seq, time.Now().UnixNano())
				for {
					select {
					case <-quit:
						return
					default:
					}
					us := urls()
					a, err := tryCall(us[rng.IntN(len(us))], "POST", path, token, map[string]any{"status": "identified", "body": key}, "Idempotency-Key", key)
					if err == nil && a.status == 201 {
						l.mu.Lock()
						l.acks = append(l.acks, time.Now())
						l.mu.Unlock()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	return func() { close(quit); wg.Wait() }
}

// after counts the acknowledgements after t.
func (l *ackLog) after(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := 0
	for _, a := range l.acks {
		if a.After(t) {
			k++
		}
	}
	return k
}

// outage is the longest time without an acknowledged write from fault on:
// from the last acknowledgement before the fault to the first after it,
// or between two acknowledgements after it.
func (l *ackLog) outage(fault time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	acks := slices.Clone(l.acks)
	slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
	var worst time.Duration
	for i := 1; i < len(acks); i++ {
		if acks[i].After(fault) {
			worst = max(worst, acks[i].Sub(acks[i-1]))
		}
	}
	return worst
}

// BenchmarkWriteOutageLeaderSIGKILL measures the write outage when the
// leader's process (a real `statusedge origin` with production raft
// timing) gets SIGKILL while three clients write through all replicas.
// Goal: at most 3 s.
//
//	go test ./origin -run '^$' -bench WriteOutageLeaderSIGKILL -benchtime 3x
func BenchmarkWriteOutageLeaderSIGKILL(b *testing.B) {
	c := newProcCluster(b, 3)
	pb := procFixture(b, c)
	var total time.Duration
	for range b.N {
		var l ackLog
		stop := l.writers(3, c.liveURLs, pb.path, pb.token)
		poll(b, 20*time.Second, "writes before the kill", func() bool { return l.after(time.Time{}) >= 30 })
		killed := slices.Index(c.nodes, c.waitLeader())
		fault := time.Now()
		c.kill(killed)
		poll(b, 30*time.Second, "writes after the kill", func() bool { return l.after(fault) >= 30 })
		stop()
		total += l.outage(fault)
		c.start(killed)
		c.waitMembers()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-outage")
}

// BenchmarkWriteOutageLeaderDiskStall measures the write outage when every
// write to the leader's raft.db hangs (production raft timing and stall
// bound, in-process replicas; see diskStaller), three clients writing
// through every replica. Goal: at most 3 s.
//
//	go test ./origin -run '^$' -bench WriteOutageLeaderDiskStall -benchtime 3x
func BenchmarkWriteOutageLeaderDiskStall(b *testing.B) {
	var disks diskStaller
	prod := DefaultConfig()
	c := newCluster(b, 3, 0, disks.option(DefaultDiskStallTimeout), func(cfg *Config) {
		cfg.HeartbeatTimeout, cfg.ElectionTimeout = prod.HeartbeatTimeout, prod.ElectionTimeout
		cfg.LeaderLeaseTimeout, cfg.CommitTimeout, cfg.ApplyTimeout = prod.LeaderLeaseTimeout, prod.CommitTimeout, prod.ApplyTimeout
	})
	b.Cleanup(disks.releaseAll)
	f := newFixture(b, c)
	path := "/v1/sites/acme/incidents/" + f.incidentID + "/updates"
	var urls []string
	for _, tn := range c.nodes {
		urls = append(urls, tn.url())
	}
	var total time.Duration
	for range b.N {
		var l ackLog
		stop := l.writers(3, func() []string { return urls }, path, f.token)
		poll(b, 20*time.Second, "writes before the stall", func() bool { return l.after(time.Time{}) >= 30 })
		old := c.leader()
		fault := time.Now()
		disks.stall(old.id)
		poll(b, 30*time.Second, "writes during the stall", func() bool { return l.after(fault) >= 30 })
		stop()
		total += l.outage(fault)
		disks.release(old.id)
		poll(b, 20*time.Second, "the old leader to recover", func() bool { return !old.n.Fenced() })
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-outage")
}

// BenchmarkWriteOutageLeaderFrozenDisk measures the write outage when the
// leader's filesystem (ext4 on a loop device, see loopDisk) is frozen with
// fsfreeze, real `statusedge origin` processes with production raft
// timing and stall bound, three clients writing through every replica.
// Goal: at most 3 s.
//
//	go test ./origin -run '^$' -bench WriteOutageLeaderFrozenDisk -benchtime 3x
func BenchmarkWriteOutageLeaderFrozenDisk(b *testing.B) {
	disks, on := loopDisks(b, "n0", "n1", "n2")
	c := newProcCluster(b, 3, on)
	pb := procFixture(b, c)
	var total time.Duration
	for range b.N {
		var l ackLog
		stop := l.writers(3, c.liveURLs, pb.path, pb.token)
		poll(b, 20*time.Second, "writes before the freeze", func() bool { return l.after(time.Time{}) >= 30 })
		old := c.waitLeader()
		fault := time.Now()
		disks[old.id].freeze()
		poll(b, 30*time.Second, "writes with the disk frozen", func() bool { return l.after(fault) >= 30 })
		stop()
		total += l.outage(fault)
		disks[old.id].thaw()
		poll(b, 20*time.Second, old.id+" ready again", func() bool {
			a, err := tryCall(old.url(), "GET", "/readyz", "", nil)
			return err == nil && a.status == 200
		})
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-outage")
}

// BenchmarkPartitionedEdgeProcesses measures, on real processes in network
// namespaces (netLab: three `statusedge origin`, one `statusedge edge`
// next to replica n0, production defaults, --stale-after 5 s), how long
// after n0's namespace is cut off the edge there marks its pages stale
// (s-to-stale; goal: at most one versions-poll interval, 30 s), and how
// long after the cut heals it serves a write made meanwhile, unmarked
// (s-catch-up; goal: at most 2 s).
//
//	go test ./origin -run '^$' -bench PartitionedEdgeProcesses -benchtime 2x
func BenchmarkPartitionedEdgeProcesses(b *testing.B) {
	lab := newNetLab(b, 3)
	c := newProcCluster(b, 3, inNetLab(lab))
	pb := procFixture(b, c)
	var origins []string
	for _, p := range c.nodes {
		origins = append(origins, p.url())
	}
	edge := "http://" + lab.Addr(0) + ":8080"
	c.startEdge(b, "edge0", lab.NS(0), "--listen", lab.Addr(0)+":8080", "--origin", strings.Join(origins, ","))
	served := func(want string) bool {
		stale, body := edgeSummary(edge, "acme.localhost")
		return !stale && strings.Contains(body, want)
	}
	var toStale, catchUp time.Duration
	for k := range b.N {
		before, during := fmt.Sprintf("before-%d", k), fmt.Sprintf("during-%d", k)
		mustWrite(b, c.waitLeader(), pb.path, pb.token, before)
		poll(b, 30*time.Second, "the edge to serve "+before, func() bool { return served(before) })
		cut := time.Now()
		lab.cut(0)
		poll(b, 60*time.Second, "the edge's pages marked stale", func() bool {
			out, err := lab.curl(0, "-i", "-H", "Host: acme.localhost", edge+"/api/v2/summary.json")
			return err == nil && strings.Contains(strings.ToLower(out), "x-statusedge-stale: 1")
		})
		toStale += time.Since(cut)
		var maj *procNode
		poll(b, 30*time.Second, "a leader on the majority side", func() bool {
			st, err := c.status(c.nodes[1])
			maj = c.leaderOf(st)
			return err == nil && maj != nil && maj != c.nodes[0]
		})
		mustWrite(b, maj, pb.path, pb.token, during)
		healed := time.Now()
		lab.heal(0)
		poll(b, 30*time.Second, "the edge to serve "+during, func() bool { return served(during) })
		catchUp += time.Since(healed)
	}
	b.ReportMetric(toStale.Seconds()/float64(b.N), "s-to-stale")
	b.ReportMetric(catchUp.Seconds()/float64(b.N), "s-catch-up")
}
