package origin

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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
	nl := c.waitLeader()
	if err := nl.n.raft.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	c.waitApplied(nl.n.AppliedIndex())
	final := bodies(nl.n.Site("acme").Incident(f.incidentID).Updates[initial:])
	for _, tn := range c.live() {
		if got := bodies(tn.n.Site("acme").Incident(f.incidentID).Updates[initial:]); !slices.Equal(got, final) {
			t.Fatalf("%s has %d updates, leader %d", tn.id, len(got), len(final))
		}
	}
	b.check(t, final)

	// The killed replica restarts from disk and catches up; its version
	// never goes below what it had.
	c.restart(killed)
	c.waitApplied(nl.n.AppliedIndex())
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
