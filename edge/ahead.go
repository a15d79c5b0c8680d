package edge

import (
	"sync"
	"time"
)

// Render-ahead: when a site's version moves, the edge renders the new
// version's hot paths before it switches visitors to it, so they find the
// pages ready. It renders them only for the viewers seen on this edge
// recently (Config.RenderAheadSeen), "/" for each of them before any other
// path, at most Config.RenderAheadPerSite pages per site and version; and
// the sites with work take turns, one render at a time, so a tenant whose
// change fans out to many viewers delays another tenant's update by a few
// renders, not by all of its own. A viewer not rendered ahead gets the page
// at its first miss (the earlier copy at once while it renders).

// aheadWorkers render ahead at once.
const aheadWorkers = 4

// maxAheadSites bounds the sites queued for render-ahead; past it a site
// waits for the sweep.
const maxAheadSites = 4096

// aheadQueue is the render-ahead work, per site, served round robin.
type aheadQueue struct {
	mu     sync.Mutex
	ring   []*aheadWork         // sites with work, in turn order
	next   int                  // the ring index whose turn is next
	bySite map[*site]*aheadWork // every site queued or in flight
	wake   chan struct{}        // a token when work was added
}

// aheadWork is one site's render-ahead of its target version.
type aheadWork struct {
	st     *site
	target uint64
	// planning: a worker is listing the renders (after the entry refresh);
	// planned: todo holds them.
	planning, planned bool
	todo              []fillReq // renders not handed out, in order
	running           int       // renders of target in flight
	failed            bool
}

// aheadJob is what a worker takes from the queue: plan w, or render r.
type aheadJob struct {
	w      *aheadWork
	target uint64
	plan   bool
	r      fillReq
}

func newAheadQueue() *aheadQueue {
	return &aheadQueue{bySite: map[*site]*aheadWork{}, wake: make(chan struct{}, 1)}
}

// queueAhead queues st for render-ahead of its newest known version.
func (s *Server) queueAhead(st *site) {
	if st.current.Load() == 0 { // never served: nothing to render ahead of
		return
	}
	q := s.aheadQ
	q.mu.Lock()
	defer q.mu.Unlock()
	target := st.known.Load()
	if target <= st.current.Load() {
		return
	}
	w := q.bySite[st]
	switch {
	case w != nil && w.target >= target:
		return
	case w == nil && len(q.bySite) >= maxAheadSites:
		return // the periodic sweep picks it up
	case w == nil:
		w = &aheadWork{st: st}
		q.bySite[st] = w
		q.ring = append(q.ring, w)
	default: // a newer version: what was planned for the older one is moot
		q.removeRing(w)
		q.ring = append(q.ring, w)
	}
	w.target, w.planned, w.todo, w.running, w.failed = target, false, nil, 0, false
	if se := st.entry.Load(); se.e.Version >= target && !w.planning {
		// The entry is the new version's (the usual case: the registry
		// follower fetched it first): plan now, it costs no call.
		now := s.cfg.Now()
		w.todo, w.planned = s.aheadRenders(st, se, target, st.today(now), 0, time.Time{}, now), true
		if len(w.todo) == 0 {
			q.removeRing(w)
			s.aheadFinish(w)
			return
		}
	}
	q.signal()
}

// take hands out the next job, sites in turn, or false if there is none.
func (q *aheadQueue) take() (aheadJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for n := len(q.ring); n > 0; n-- {
		if q.next >= len(q.ring) {
			q.next = 0
		}
		w := q.ring[q.next]
		switch {
		case !w.planned && !w.planning:
			w.planning = true
			q.next++
			return aheadJob{w: w, target: w.target, plan: true}, true
		case len(w.todo) > 0:
			r := w.todo[0]
			w.todo = w.todo[1:]
			w.running++
			if len(w.todo) == 0 { // nothing more to hand out: off the ring
				q.drop(q.next)
			} else {
				q.next++
			}
			return aheadJob{w: w, target: w.target, r: r}, true
		}
		q.next++ // planning elsewhere: the next site's turn
	}
	return aheadJob{}, false
}

// takeFrom hands out w's next render of target, if it has one.
func (q *aheadQueue) takeFrom(w *aheadWork, target uint64) (aheadJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bySite[w.st] != w || w.target != target || len(w.todo) == 0 {
		return aheadJob{}, false
	}
	r := w.todo[0]
	w.todo = w.todo[1:]
	w.running++
	if len(w.todo) == 0 {
		q.removeRing(w)
	}
	return aheadJob{w: w, target: target, r: r}, true
}

// drop takes ring[i] off the ring, keeping the turn order.
func (q *aheadQueue) drop(i int) {
	q.ring = append(q.ring[:i], q.ring[i+1:]...)
	if q.next > i {
		q.next--
	}
}

// aheadDone records the end of job j: a plan's renders (todo), or a
// render's error. The site switches once every render of its target is done.
func (s *Server) aheadDone(j aheadJob, todo []fillReq, err error) {
	q := s.aheadQ
	q.mu.Lock()
	defer q.mu.Unlock()
	w := j.w
	if j.plan {
		w.planning = false
	}
	if q.bySite[w.st] != w || w.target != j.target {
		if j.plan && q.bySite[w.st] == w {
			q.signal() // plan again, for the newer target
		}
		return // a newer version took over: this job's result is moot
	}
	switch {
	case j.plan:
		w.planned, w.todo = true, todo
		if len(todo) == 0 {
			q.removeRing(w)
		} else {
			q.signal()
		}
	default:
		w.running--
		if err != nil && !w.failed {
			w.failed, w.todo = true, nil
			q.removeRing(w)
			s.log.Info("render-ahead failed; staying on current version", "site", w.st.id,
				"version", w.target, "current", w.st.current.Load(), "path", j.r.path, "err", err)
		}
	}
	if w.planned && len(w.todo) == 0 && w.running == 0 {
		s.aheadFinish(w)
	}
}

// aheadFinish ends w, whose renders are all done: the site switches to its
// target unless one failed (the sweep retries). Under q.mu.
func (s *Server) aheadFinish(w *aheadWork) {
	delete(s.aheadQ.bySite, w.st)
	if w.failed {
		return
	}
	if cur := w.st.current.Load(); raise(&w.st.current, w.target) {
		s.m.aheads.Inc()
		s.log.Debug("switched version", "site", w.st.id, "from", cur, "to", w.target)
	}
}

// removeRing takes w off the ring if it is there. Under q.mu.
func (q *aheadQueue) removeRing(w *aheadWork) {
	for i, x := range q.ring {
		if x == w {
			q.drop(i)
			return
		}
	}
}

// renderAheadLoop is one render-ahead worker.
func (s *Server) renderAheadLoop() {
	q := s.aheadQ
	for {
		j, ok := q.take()
		if !ok {
			select {
			case <-s.ctx.Done():
				return
			case <-q.wake:
			}
			continue
		}
		q.signal() // there may be more for another worker
		if j.plan {
			s.aheadDone(j, s.planAhead(j.w.st, j.target), nil)
			// The plan was the site's turn: its first render ("/" of
			// the viewer seen last) goes with it.
			if j, ok = q.takeFrom(j.w, j.target); !ok {
				continue
			}
		}
		s.m.aheadRenders.Inc()
		s.bindAhead(&j.r)
		s.aheadDone(j, nil, s.fillNow(j.r).err)
	}
}

// bindAhead gives a version's render-ahead r its key as it starts: a live
// site's pages hold one minute, so once a render of r's version said the
// site is live (an earlier path, or a try before a retry), the fill looks
// for the page under the minute's key, rendered as of now, instead of
// guessing the day's and rendering it again.
func (s *Server) bindAhead(r *fillReq) {
	now := s.cfg.Now()
	if r.minute = r.st.minute(r.version, now); r.minute != 0 {
		r.at = now
	}
	r.base = string(appendMinuteKey(nil, r.st.id, r.version, r.aud, r.day, r.minute, []byte(r.path)))
}

// signal wakes one waiting worker (if none waits, the next to wait goes
// on at once).
func (q *aheadQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// planAhead lists the renders ahead of version target of st: the hot
// paths of the viewers seen within RenderAheadSeen, every viewer's "/"
// first, at most RenderAheadPerSite. The entry is refreshed first if it is
// older than target (an access change moves the version too).
func (s *Server) planAhead(st *site, target uint64) []fillReq {
	se := st.entry.Load()
	if se.e.Version < target {
		// A replica behind the news answers with an older entry: the
		// renders then wait for the version at the origin, and refuse a
		// viewer it no longer admits.
		c := s.refreshEntry(st.id)
		select {
		case <-c.done:
		case <-s.ctx.Done():
			return nil
		}
		se = st.entry.Load()
	}
	now := s.cfg.Now()
	return s.aheadRenders(st, se, target, st.today(now), 0, time.Time{}, now)
}

// aheadRenders lists the hot-path renders of version ver of st (as of the
// minute beginning at at when minute is not 0; else unkeyed, for bindAhead)
// for the viewers seen within
// RenderAheadSeen of now: each viewer's "/", most recent first, then their
// other hot paths, at most RenderAheadPerSite in all.
func (s *Server) aheadRenders(st *site, se *siteEntry, ver uint64, day int32, minute int64, at, now time.Time) []fillReq {
	vws := se.recentViewers(st, now.Add(-s.cfg.RenderAheadSeen).Unix())
	var out []fillReq
	for _, p := range hotPaths {
		for _, vw := range vws {
			if len(out) == s.cfg.RenderAheadPerSite {
				return out
			}
			r := fillReq{st: st, version: ver, aud: vw[0], originAud: vw[1], day: day, minute: minute, at: at, path: p}
			if minute != 0 { // else bindAhead keys it as it starts
				r.base = string(appendMinuteKey(nil, st.id, ver, vw[0], day, minute, []byte(p)))
			}
			out = append(out, r)
		}
	}
	return out
}
