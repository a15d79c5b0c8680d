package origin

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// DefaultDiskStallTimeout is how long one write to raft.db (each one ends
// in an fsync) may take before a leader decides its disk has stalled.
const DefaultDiskStallTimeout = time.Second

// watchedStore is raft's log and stable store with every write timed: a
// write that has not returned after the stall bound marks the disk
// stalled until it does (see Node.diskLoop). hook, if set, runs before
// each write (tests stall a disk with it).
type watchedStore interface {
	raft.LogStore
	raft.StableStore
}

type diskWatch struct {
	watchedStore
	hook func()
	// term, if set, takes over a failed write of raft's current term
	// (which raft would answer with a panic; see termGuard).
	term *termGuard

	mu       sync.Mutex
	inflight map[uint64]time.Time
	seq      uint64
}

func newDiskWatch(s watchedStore, hook func()) *diskWatch {
	return &diskWatch{watchedStore: s, hook: hook, inflight: map[uint64]time.Time{}}
}

// write runs fn as one timed write.
func (d *diskWatch) write(fn func() error) error {
	d.mu.Lock()
	d.seq++
	id := d.seq
	d.inflight[id] = time.Now()
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.inflight, id)
		d.mu.Unlock()
	}()
	if d.hook != nil {
		d.hook()
	}
	return fn()
}

// oldest returns how long the oldest write in flight has taken (0: none).
func (d *diskWatch) oldest(now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var max time.Duration
	for _, t := range d.inflight {
		if a := now.Sub(t); a > max {
			max = a
		}
	}
	return max
}

func (d *diskWatch) StoreLog(l *raft.Log) error {
	return d.write(func() error { return d.watchedStore.StoreLog(l) })
}

func (d *diskWatch) StoreLogs(ls []*raft.Log) error {
	return d.write(func() error { return d.watchedStore.StoreLogs(ls) })
}

func (d *diskWatch) DeleteRange(lo, hi uint64) error {
	return d.write(func() error { return d.watchedStore.DeleteRange(lo, hi) })
}

func (d *diskWatch) Set(k, v []byte) error {
	return d.write(func() error { return d.watchedStore.Set(k, v) })
}

func (d *diskWatch) SetUint64(k []byte, v uint64) error {
	set := func() error { return d.watchedStore.SetUint64(k, v) }
	err := d.write(set)
	if err != nil && d.term != nil && bytes.Equal(k, raftTermKey) {
		return d.term.retry(func() error { return d.write(set) }, err)
	}
	return err
}

// raftTermKey is hashicorp/raft's stable-store key for its current term.
// raft panics when it cannot save it (Raft.setCurrentTerm): the process
// would die with a stack trace and exit code 2, wherever it was.
var raftTermKey = []byte("CurrentTerm")

// DefaultDiskFailTimeout is how long a replica that cannot save its raft
// term stays fenced, retrying, before it gives up (Node.Fatal).
const DefaultDiskFailTimeout = 10 * time.Second

// termGuard keeps a replica whose disk refuses its raft term out of the
// cluster instead of letting raft panic: it fences the replica (no raft
// connection in or out, so nothing is said in a term that is not on disk)
// and retries the write every retryEvery. If the disk takes it, the fence
// lifts and raft goes on; after giveUp it reports a fatal error once, and
// when the replica then shuts down it lets raft go on (the term unsaved,
// said to no one) so that the shutdown completes and the process exits
// with its own code.
type termGuard struct {
	stream     *identityStream
	closeConns func()
	log        func(msg string, args ...any)
	stop       <-chan struct{}
	fatal      chan<- error
	giveUp     time.Duration
	retryEvery time.Duration
	stuck      atomic.Bool
}

func (g *termGuard) retry(write func() error, err error) error {
	g.stuck.Store(true)
	defer g.stuck.Store(false)
	g.stream.setFence(true)
	g.closeConns()
	g.log("cannot save the raft term: fenced, retrying until the disk takes it", "error", err, "give_up_after", g.giveUp)
	start := time.Now()
	reported := false
	t := time.NewTicker(g.retryEvery)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return nil // fenced since the failure: the unsaved term reached no one
		case <-t.C:
		}
		if err = write(); err == nil {
			g.log("raft term saved: the disk is back")
			return nil
		}
		if !reported && time.Since(start) >= g.giveUp {
			reported = true
			select {
			case g.fatal <- fmt.Errorf("%w: cannot save the raft term for %v: %v", ErrDiskFailed, g.giveUp, err):
			default:
			}
		}
	}
}
