package origin

import (
	"sync"
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
	return d.write(func() error { return d.watchedStore.SetUint64(k, v) })
}
