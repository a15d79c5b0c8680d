package origin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// Change tells a subscriber that a site changed: its new version, or that
// it was deleted at that index.
type Change struct {
	SiteID  string
	Version uint64
	Deleted bool
	// Cert, instead of SiteID, names a certificate stored at Version.
	Cert string
}

// fsm adapts state to raft.FSM and tells waiters and subscribers about
// applied changes. Snapshots are zstd-compressed JSON lines (see encodeState).
type fsm struct {
	mu      sync.RWMutex
	st      *state
	changed chan struct{} // closed and replaced after every apply
	applied atomic.Uint64

	subMu  sync.Mutex
	subs   map[int]func(Change)
	nextID int

	// gone lists the sites deleted at an index past goneFloor, oldest
	// first (at most maxGone; under mu): what a versions delta says was
	// removed. It is not replicated state: a replica knows the deletions
	// it applied itself since it started or last restored a snapshot.
	gone      []goneSite
	goneFloor uint64
}

type goneSite struct {
	id    string
	index uint64
}

// maxGone bounds the deletions a replica remembers for versions deltas;
// an edge further behind gets the whole versions map.
const maxGone = 4096

func newFSM() *fsm {
	return &fsm{st: newState(), changed: make(chan struct{}), subs: map[int]func(Change){}}
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	var cmd Command
	if err := json.Unmarshal(l.Data, &cmd); err != nil {
		// Cannot happen for commands this package wrote; answer, change nothing.
		f.mu.Lock()
		f.st.Index = max(f.st.Index, l.Index)
		f.advance(l.Index)
		f.mu.Unlock()
		return fail(malformed("", "undecodable command"))
	}
	return f.applyCommand(l.Index, &cmd)
}

func (f *fsm) applyCommand(index uint64, cmd *Command) *Result {
	f.mu.Lock()
	res := f.st.apply(index, cmd)
	if res.Err == nil && res.Deleted && !res.Replayed {
		if len(f.gone) == maxGone {
			f.goneFloor = f.gone[0].index
			f.gone = slices.Delete(f.gone, 0, 1)
		}
		f.gone = append(f.gone, goneSite{res.SiteID, index})
	}
	f.advance(index)
	f.mu.Unlock()
	if res.Err == nil && !res.Replayed && res.SiteID != "" {
		f.publish(Change{SiteID: res.SiteID, Version: res.Version, Deleted: res.Deleted})
	}
	if res.Err == nil && res.Cert != "" {
		f.publish(Change{Cert: res.Cert, Version: index})
	}
	return res
}

// advance records index as applied and wakes waiters; f.mu is held.
func (f *fsm) advance(index uint64) {
	f.applied.Store(max(f.applied.Load(), index))
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fsm) publish(c Change) {
	f.subMu.Lock()
	subs := make([]func(Change), 0, len(f.subs))
	for _, fn := range f.subs {
		subs = append(subs, fn)
	}
	f.subMu.Unlock()
	for _, fn := range subs {
		fn(c)
	}
}

func (f *fsm) subscribe(fn func(Change)) func() {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	id := f.nextID
	f.nextID++
	f.subs[id] = fn
	return func() {
		f.subMu.Lock()
		delete(f.subs, id)
		f.subMu.Unlock()
	}
}

// versions returns the registry version and every site's version, or,
// when after > 0 and the deletions since after are known (delta), only the
// sites changed after it and the ids of those deleted after it.
func (f *fsm) versions(after uint64) (v uint64, sites map[string]uint64, removed []string, delta bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	delta = after > 0 && after >= f.goneFloor && after <= f.st.Changed
	sites = map[string]uint64{}
	for id, s := range f.st.Sites {
		if !delta || s.Version > after {
			sites[id] = s.Version
		}
	}
	if delta {
		for _, g := range f.gone {
			if _, back := sites[g.id]; g.index > after && !back {
				removed = append(removed, g.id)
			}
		}
	}
	return f.st.Changed, sites, removed, delta
}

// read runs fn with the state under a read lock; fn must not keep the state.
func (f *fsm) read(fn func(*state)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.st)
}

// wait blocks until cond holds (checked under the read lock after every
// apply) or ctx is done.
func (f *fsm) wait(ctx context.Context, cond func(*state) bool) error {
	for {
		f.mu.RLock()
		ok := cond(f.st)
		ch := f.changed
		f.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Snapshot implements raft.FSM: it copies the maps (sites are immutable and
// shared), so it is cheap; the encoding happens in Persist.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &fsmSnapshot{st: f.st.clone()}, nil
}

// Restore implements raft.FSM: it discards the state and loads the snapshot.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := decodeState(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	old := f.st
	f.st = st
	f.gone, f.goneFloor = nil, st.Index // deletions up to the snapshot are not known one by one
	f.advance(st.Index)
	f.mu.Unlock()
	for id, s := range st.Sites {
		if o, ok := old.Sites[id]; !ok || o.Version != s.Version {
			f.publish(Change{SiteID: id, Version: s.Version})
		}
	}
	for id := range old.Sites {
		if _, ok := st.Sites[id]; !ok {
			f.publish(Change{SiteID: id, Version: st.Index, Deleted: true})
		}
	}
	return nil
}

type fsmSnapshot struct{ st *state }

// Persist writes the state as a version-2 snapshot (see encodeState).
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 1<<20)
	err := encodeState(w, s.st)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("origin: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

// sentinelFor re-attaches the sentinel to an *Error that crossed the wire.
func sentinelFor(e *Error) *Error {
	if e == nil || e.Err != nil {
		return e
	}
	switch e.Status {
	case http.StatusBadRequest:
		e.Err = ErrMalformed
	case http.StatusUnprocessableEntity:
		e.Err = ErrInvalid
	case http.StatusNotFound:
		e.Err = ErrNotFound
	case http.StatusConflict:
		e.Err = ErrConflict
	case http.StatusServiceUnavailable:
		e.Err = ErrNoLeader
	}
	return e
}
