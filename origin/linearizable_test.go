package origin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/statusedge/statusedge/content"
)

// appendOutput is what a client saw: the incident's update bodies after its
// append, or unknown when no answer came back (the write may or may not have
// happened).
type appendOutput struct {
	bodies  []string
	unknown bool
}

// incidentModel is the sequential spec of one incident's timeline: each
// append adds its body at the end and answers the whole timeline.
var incidentModel = porcupine.Model{
	Init: func() any { return []string{} },
	Step: func(state, input, output any) (bool, any) {
		next := append(slices.Clone(state.([]string)), input.(string))
		out := output.(appendOutput)
		return out.unknown || slices.Equal(out.bodies, next), next
	},
	Equal: func(a, b any) bool { return slices.Equal(a.([]string), b.([]string)) },
	DescribeOperation: func(input, output any) string {
		out := output.(appendOutput)
		if out.unknown {
			return fmt.Sprintf("append(%s) -> ?", input)
		}
		return fmt.Sprintf("append(%s) -> %d updates", input, len(out.bodies))
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%d updates", len(state.([]string))) },
}

// burst is a set of clients appending updates to one incident through the
// HTTP API of random replicas, each retrying an unanswered append with the
// same Idempotency-Key on other replicas, and recording what it saw.
type burst struct {
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	acks  atomic.Int64 // acknowledged appends

	mu  sync.Mutex
	ops []porcupine.Operation
}

// startBurst starts clients clients against the replicas at urls; initial
// is the number of updates the incident had before.
func startBurst(clients int, urls []string, path, token string, initial int) *burst {
	b := &burst{start: time.Now(), stop: make(chan struct{})}
	for ci := range clients {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(ci), 7))
			for seq := 0; ; seq++ {
				select {
				case <-b.stop:
					return
				default:
				}
				body := fmt.Sprintf("c%d-%d", ci, seq)
				call := time.Since(b.start).Nanoseconds()
				out := appendOutput{unknown: true}
				// Retry with the same key on other replicas until answered.
				for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); {
					a, err := tryCall(urls[rng.IntN(len(urls))], "POST", path, token,
						map[string]any{"status": "identified", "body": body}, "Idempotency-Key", body)
					if err == nil && a.status == 201 {
						var inc content.Incident
						if json.Unmarshal(a.body, &inc) == nil && len(inc.Updates) >= initial {
							out = appendOutput{}
							for _, u := range inc.Updates[initial:] {
								out.bodies = append(out.bodies, u.Body)
							}
							b.acks.Add(1)
						}
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				ret := time.Since(b.start).Nanoseconds()
				b.mu.Lock()
				b.ops = append(b.ops, porcupine.Operation{ClientId: ci, Input: body, Call: call, Output: out, Return: ret})
				b.mu.Unlock()
			}
		}()
	}
	return b
}

// finish stops the clients and waits for them.
func (b *burst) finish() {
	close(b.stop)
	b.wg.Wait()
}

// check verifies the recorded history against final, the timeline every
// replica agrees on: no update applied twice, every acknowledged append
// present, and the history linearizable (porcupine, with a visualization
// written on failure).
func (b *burst) check(t *testing.T, final []string) {
	t.Helper()
	seen := map[string]int{}
	for _, body := range final {
		seen[body]++
		if seen[body] > 1 {
			t.Fatalf("update %s applied twice", body)
		}
	}
	// Ops without an answer either happened (then they linearize anywhere
	// up to the end) or did not (then they are dropped).
	end := time.Since(b.start).Nanoseconds()
	var history []porcupine.Operation
	unknown := 0
	for _, op := range b.ops {
		if op.Output.(appendOutput).unknown {
			unknown++
			if seen[op.Input.(string)] == 0 {
				continue
			}
			op.Return = end
		} else if seen[op.Input.(string)] == 0 {
			t.Fatalf("acknowledged write %s is missing", op.Input)
		}
		history = append(history, op)
	}
	res, info := porcupine.CheckOperationsVerbose(incidentModel, history, 60*time.Second)
	if res != porcupine.Ok {
		file := filepath.Join(os.TempDir(), fmt.Sprintf("origin-linearizability-%d.html", time.Now().UnixNano()))
		if err := porcupine.VisualizePath(incidentModel, info, file); err != nil {
			t.Logf("visualize: %v", err)
		}
		t.Fatalf("history of %d ops is %s; visualization in %s", len(history), res, file)
	}
	t.Logf("%d ops (%d acknowledged, %d unknown), %d updates, linearizable", len(b.ops), len(b.ops)-unknown, unknown, len(final))
}

// TestKillLeaderDuringBurstIsLinearizable sends concurrent incident updates
// to random replicas, stops the leader (Shutdown) in the middle, then checks
// that every acknowledged write is on every surviving replica and that the
// client history is linearizable; finally the stopped replica restarts from
// disk and catches up. TestSIGKILLLeaderProcess is the same with real
// processes and SIGKILL.
func TestKillLeaderDuringBurstIsLinearizable(t *testing.T) {
	c := newCluster(t, 3, 0)
	f := newFixture(t, c)
	path := "/v1/sites/acme/incidents/" + f.incidentID + "/updates"
	initial := len(c.leader().n.Site("acme").Incident(f.incidentID).Updates)

	var urls []string
	for _, tn := range c.nodes {
		urls = append(urls, tn.url())
	}
	b := startBurst(6, urls, path, f.token, initial)
	poll(t, 20*time.Second, "writes before the kill", func() bool { return b.acks.Load() >= 60 })
	leader := c.leader()
	killed := slices.Index(c.nodes, leader)
	c.kill(killed)
	before := b.acks.Load()
	poll(t, 30*time.Second, "writes after the kill", func() bool { return b.acks.Load() >= before+60 })
	b.finish()

	// Every survivor has the same timeline, holding every acknowledged write.
	final := agreeOn(t, c, f.incidentID, initial)
	b.check(t, final)

	// The killed replica restarts from disk and catches up; its version
	// never goes below what it had.
	c.restart(killed)
	c.waitApplied(c.waitLeader().n.AppliedIndex())
	if got := bodies(c.nodes[killed].n.Site("acme").Incident(f.incidentID).Updates[initial:]); !slices.Equal(got, final) {
		t.Fatalf("restarted replica has %d updates, want %d", len(got), len(final))
	}
}

func bodies(us []*content.Update) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Body
	}
	return out
}

// procBurst is a fixture for the process tests: a site, an incident, and
// six clients appending to it through every replica.
type procBurst struct {
	*burst
	token, incident, path string
	initial               int
}

func startProcBurst(t *testing.T, c *procCluster) *procBurst {
	t.Helper()
	return startProcBurstN(t, c, 6)
}

// startProcBurstN is startProcBurst with clients clients (fewer for a long
// test: an incident takes at most MaxUpdates updates), writing through the
// replicas in on (all if none).
func startProcBurstN(t *testing.T, c *procCluster, clients int, on ...*procNode) *procBurst {
	t.Helper()
	pb := procFixture(t, c)
	if len(on) == 0 {
		on = c.nodes
	}
	var urls []string
	for _, p := range on {
		urls = append(urls, p.url())
	}
	pb.burst = startBurst(clients, urls, pb.path, pb.token, pb.initial)
	t.Cleanup(func() {
		select {
		case <-pb.stop:
		default:
			pb.finish()
		}
	})
	return pb
}

// procFixture creates the site and incident on c.
func procFixture(t testing.TB, c *procCluster) *procBurst {
	t.Helper()
	leader := c.waitLeader()
	var created struct {
		APIToken string `json:"api_token"`
	}
	a := call(t, leader.url(), "POST", "/v1/sites", testOperator, map[string]any{"name": "Acme", "slug": "acme"})
	if a.status != 201 {
		t.Fatalf("create site: %d %s", a.status, a.body)
	}
	a.json(t, &created)
	var inc content.Incident
	a = call(t, leader.url(), "POST", "/v1/sites/acme/incidents", created.APIToken, map[string]any{"name": "API errors", "status": "investigating",
		"impact": "major", "body": "looking"})
	if a.status != 201 {
		t.Fatalf("create incident: %d %s", a.status, a.body)
	}
	a.json(t, &inc)
	return &procBurst{token: created.APIToken, incident: inc.ID, path: "/v1/sites/acme/incidents/" + inc.ID + "/updates", initial: len(inc.Updates)}
}

// waitAcks waits for n more acknowledged writes.
func (pb *procBurst) waitAcks(t *testing.T, n int64, what string) {
	t.Helper()
	before := pb.acks.Load()
	poll(t, 30*time.Second, what, func() bool { return pb.acks.Load() >= before+n })
}

// settle stops the clients, writes a barrier through the leader and checks
// that the replicas in on agree, hold every acknowledged write once and
// saw a linearizable history.
func (pb *procBurst) settle(t *testing.T, c *procCluster, on []*procNode) {
	t.Helper()
	pb.finish()
	nl := c.waitLeader()
	poll(t, 15*time.Second, "the barrier write", func() bool {
		a, err := tryCall(nl.url(), "POST", pb.path, pb.token, map[string]any{"status": "monitoring", "body": "barrier"}, "Idempotency-Key", "barrier")
		return err == nil && a.status == 201
	})
	var final []string
	for _, p := range on {
		got := waitTimelineEndsWith(t, p, pb.token, pb.incident, "barrier")
		got = got[pb.initial : len(got)-1]
		if final == nil {
			final = got
		} else if !slices.Equal(got, final) {
			t.Fatalf("replicas disagree: %s has %d updates, another %d", p.id, len(got), len(final))
		}
	}
	pb.check(t, final)
}

// TestLeaderRestartsFromEmptyDataDir: the leader's process is killed
// mid-burst and its data dir lost. Restarted empty with a leftover
// --bootstrap (next to its peers), it refuses to found a second cluster;
// restarted empty without flags, it is caught up by the cluster and
// answers no site route until then. Every acknowledged write survives
// once, on all three.
func TestLeaderRestartsFromEmptyDataDir(t *testing.T) {
	c := newProcCluster(t, 3)
	pb := startProcBurst(t, c)
	pb.waitAcks(t, 60, "writes before the kill")
	killed := slices.Index(c.nodes, c.waitLeader())
	c.kill(killed)
	p := c.nodes[killed]
	if err := os.RemoveAll(p.dir); err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, o := range c.nodes {
		if o != p {
			peers = append(peers, o.url())
		}
	}
	code, stderr := runOnce(t, c.bin, originArgs(t, p.dir, "--bootstrap", "--bootstrap-peers", strings.Join(peers, ","))...)
	if code != 1 || !strings.Contains(stderr, "--join") {
		t.Fatalf("bootstrap on an empty dir next to a cluster: exit %d, stderr %s", code, stderr)
	}
	pb.waitAcks(t, 60, "writes after the kill")
	c.start(killed)
	watchPromotion(t, c, p)
	pb.waitAcks(t, 60, "writes with the emptied replica back")
	pb.settle(t, c, c.nodes)
}

// watchPromotion follows an emptied member p back to voter, with writes
// going on: once the leader has demoted it to non-voter, it must not list
// it as a voter again before p reports it is caught up (which latches).
func watchPromotion(t *testing.T, c *procCluster, p *procNode) {
	t.Helper()
	demoted := false
	poll(t, 30*time.Second, p.id+" a voter again, caught up", func() bool {
		l := c.waitLeader()
		st, err := c.status(l)
		if err != nil {
			return false
		}
		i := slices.IndexFunc(st.Servers, func(s ClusterServer) bool { return s.ID == p.id })
		if i < 0 {
			return false
		}
		a, err := tryCall(p.url(), "GET", "/internal/v1/member", testSecret, nil)
		var ms MemberState
		if err != nil || a.status != 200 || jsonUnmarshal(a.body, &ms) != nil {
			return false
		}
		switch voter := st.Servers[i].Suffrage == "voter"; {
		case !voter:
			demoted = true
		case demoted && !ms.CaughtUp:
			t.Fatalf("%s was promoted back to voter before it caught up (applied %d)", p.id, ms.Applied)
		}
		return st.Servers[i].Suffrage == "voter" && ms.CaughtUp
	})
	t.Logf("%s back as a voter (seen demoted meanwhile: %v)", p.id, demoted)
}

// TestForeignDataDirAtAMembersAddress: a member is replaced mid-burst by a
// replica started on another cluster's data dir, at the member's raft
// address (the cluster keeps sending it appends and vote requests). The
// cluster keeps writing with the other two, the foreign replica keeps its
// own state, and the member restarted on its own dir catches up.
func TestForeignDataDirAtAMembersAddress(t *testing.T) {
	other := newProcCluster(t, 1)
	// A longer log with a higher term than the cluster's.
	for range 3 {
		other.stop(0)
		other.start(0)
	}
	ol := other.waitLeader()
	if a := call(t, ol.url(), "POST", "/v1/sites", testOperator, map[string]any{"name": "Other", "slug": "other"}); a.status != 201 {
		t.Fatalf("create site in the other cluster: %d %s", a.status, a.body)
	}
	foreignID, _ := ReadClusterID(other.nodes[0].dir)
	other.stop(0)

	c := newProcCluster(t, 3)
	pb := startProcBurst(t, c)
	pb.waitAcks(t, 60, "writes before the swap")
	var swapped int
	for i, p := range c.nodes {
		if st, err := c.status(p); err == nil && st.Leader != p.id {
			swapped = i
			break
		}
	}
	c.kill(swapped)
	own := c.nodes[swapped].dir
	c.nodes[swapped].dir = other.nodes[0].dir
	c.start(swapped)
	pb.waitAcks(t, 60, "writes with the foreign replica at the member's address")
	if st, err := c.status(c.nodes[swapped]); err != nil || st.ClusterID != foreignID {
		t.Fatalf("the foreign replica now has cluster id %q (%v), want %q", st.ClusterID, err, foreignID)
	}
	c.kill(swapped)
	c.nodes[swapped].dir = own
	c.start(swapped)
	pb.settle(t, c, c.nodes)
}

// diskStaller stalls the writes to raft.db of chosen replicas (the kernel
// cannot freeze a filesystem under a test everywhere; the hook sits where
// the fsync is).
type diskStaller struct {
	mu      sync.Mutex
	stalled map[string]chan struct{}
}

// option installs the hook on every replica of a cluster.
func (d *diskStaller) option(bound time.Duration) func(*Config) {
	return func(cfg *Config) {
		id := cfg.ID
		cfg.DiskStallTimeout = bound
		cfg.diskHook = func() {
			d.mu.Lock()
			ch := d.stalled[id]
			d.mu.Unlock()
			if ch != nil {
				<-ch
			}
		}
	}
}

func (d *diskStaller) stall(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stalled == nil {
		d.stalled = map[string]chan struct{}{}
	}
	if d.stalled[id] == nil {
		d.stalled[id] = make(chan struct{})
	}
}

func (d *diskStaller) release(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch := d.stalled[id]; ch != nil {
		close(ch)
		delete(d.stalled, id)
	}
}

func (d *diskStaller) releaseAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, ch := range d.stalled {
		close(ch)
		delete(d.stalled, id)
	}
}

// TestLeaderDiskStallIsLinearizable: the leader's disk hangs mid-burst
// (every write to raft.db blocks). It fences itself, a follower is
// elected and writes go on; when the disk answers again the old leader
// follows, and every acknowledged write is on all three exactly once.
func TestLeaderDiskStallIsLinearizable(t *testing.T) {
	var disks diskStaller
	c := newCluster(t, 3, 0, disks.option(300*time.Millisecond))
	t.Cleanup(disks.releaseAll) // before the cluster's shutdown
	f := newFixture(t, c)
	path := "/v1/sites/acme/incidents/" + f.incidentID + "/updates"
	initial := len(c.leader().n.Site("acme").Incident(f.incidentID).Updates)
	var urls []string
	for _, tn := range c.nodes {
		urls = append(urls, tn.url())
	}
	b := startBurst(6, urls, path, f.token, initial)
	poll(t, 20*time.Second, "writes before the stall", func() bool { return b.acks.Load() >= 60 })
	old := c.leader()
	disks.stall(old.id)
	poll(t, 20*time.Second, "another leader", func() bool {
		for _, tn := range c.live() {
			if tn != old && tn.n.IsLeader() {
				return true
			}
		}
		return false
	})
	if !old.n.Fenced() {
		t.Fatal("the stalled leader did not fence itself")
	}
	before := b.acks.Load()
	poll(t, 30*time.Second, "writes during the stall", func() bool { return b.acks.Load() >= before+60 })
	disks.release(old.id)
	poll(t, 20*time.Second, "the old leader to follow", func() bool { return !old.n.IsLeader() && !old.n.Fenced() })
	b.finish()

	b.check(t, agreeOn(t, c, f.incidentID, initial))
}

// agreeOn waits until every live replica has applied all the leader has and
// returns the incident's timeline after initial, failing if they differ.
func agreeOn(t *testing.T, c *testCluster, incident string, initial int) []string {
	t.Helper()
	nl := c.waitLeader()
	if err := nl.n.raft.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	c.waitApplied(nl.n.AppliedIndex())
	final := bodies(nl.n.Site("acme").Incident(incident).Updates[initial:])
	for _, tn := range c.live() {
		if got := bodies(tn.n.Site("acme").Incident(incident).Updates[initial:]); !slices.Equal(got, final) {
			t.Fatalf("%s has %d updates, leader %d", tn.id, len(got), len(final))
		}
	}
	return final
}

// mountTmpfs mounts a tmpfs of size bytes on a fresh dir (unmounted at
// cleanup): a real filesystem that fills up.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (needs root, as in CI): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes into dir until the filesystem is full, and returns the file.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			return path
		}
	}
}

// TestLeaderDiskFullIsLinearizable: the leader's data dir is on a small
// tmpfs that fills up mid-burst (every write to raft.db fails with
// ENOSPC). The cluster goes on writing through a healthy leader; once space
// is freed the replica catches up, and every acknowledged write is on all
// three exactly once. (Its raft term still saves: bbolt rewrites pages the
// file already holds. A disk that refuses the term is
// TestTermWriteRefusedStopsCleanly; a replica that gave up on its disk,
// exit code 4, is restarted here.)
func TestLeaderDiskFullIsLinearizable(t *testing.T) {
	disk := mountTmpfs(t, 16<<20)
	c := newProcCluster(t, 3, func(p *procNode) {
		if p.id == "n0" {
			p.dir = filepath.Join(disk, "n0")
		}
	})
	pb := startProcBurst(t, c)
	pb.waitAcks(t, 60, "writes before the disk fills")
	if l := c.waitLeader(); l != c.nodes[0] {
		t.Logf("n0 is not the leader (%s is): its full disk still must not stop writes", l.id)
	}
	// Another incident takes big updates, so raft.db must grow into the
	// full filesystem (bbolt reuses its free pages for small ones).
	l := c.waitLeader()
	var pad content.Incident
	a := call(t, l.url(), "POST", "/v1/sites/acme/incidents", pb.token, map[string]any{"name": "Padding", "status": "investigating", "impact": "minor", "body": "pad"})
	if a.status != 201 {
		t.Fatalf("padding incident: %d %s", a.status, a.body)
	}
	a.json(t, &pad)
	filler := fill(t, disk)
	big := strings.Repeat("x", MaxBodyBytes-1024)
	for i := range 40 {
		p := c.nodes[i%len(c.nodes)]
		if !p.running() {
			continue
		}
		tryCall(p.url(), "POST", "/v1/sites/acme/incidents/"+pad.ID+"/updates", pb.token,
			map[string]any{"status": "identified", "body": big}, "Idempotency-Key", fmt.Sprintf("pad-%d", i))
	}
	pb.waitAcks(t, 60, "writes with n0's disk full")
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if !c.nodes[0].running() {
		t.Logf("n0 stopped on its full disk: %v", c.nodes[0].cmd.ProcessState)
		c.start(0)
	}
	pb.waitAcks(t, 30, "writes with n0's disk freed")
	pb.settle(t, c, c.nodes)
	if log, _ := os.ReadFile(c.nodes[0].logPath); !bytes.Contains(log, []byte("no space left on device")) {
		t.Fatalf("n0 never hit the full disk:\n%s", c.logTail(c.nodes[0]))
	}
}
