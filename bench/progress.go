package bench

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress tells a person how a run goes: a progress bar on a terminal
// (schollz/progressbar), one plain line every few seconds otherwise (CI
// logs). A nil *Progress says nothing.
type Progress struct {
	w    io.Writer
	term bool
}

// NewProgress writes to w; term says whether w is a terminal.
func NewProgress(w io.Writer, term bool) *Progress { return &Progress{w: w, term: term} }

// Printf writes a line between phases.
func (p *Progress) Printf(format string, args ...any) {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Phase is one timed part of a run (a load).
type Phase struct {
	p          *Progress
	name       string
	start      time.Time
	total      time.Duration
	count      uint64 // of a burst: requests expected
	mu         sync.Mutex
	n, errs    uint64
	lastLine   time.Time
	bar        *progressbar.ProgressBar
	lastFilled int64
}

// Phase starts a phase of length total, or of count requests (a burst).
func (p *Progress) Phase(name string, total time.Duration, count uint64) *Phase {
	ph := &Phase{p: p, name: name, start: time.Now(), total: total, count: count, lastLine: time.Now()}
	if p == nil || !p.term {
		if p != nil {
			p.Printf("%s: started (%s)", name, ph.goal())
		}
		return ph
	}
	max := int64(total / (100 * time.Millisecond))
	if count > 0 {
		max = int64(count)
	}
	ph.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return ph
}

func (ph *Phase) goal() string {
	if ph.count > 0 {
		return fmt.Sprintf("%d requests at once", ph.count)
	}
	return ph.total.String()
}

// Add counts one answered request.
func (ph *Phase) Add(failed bool) {
	if ph == nil || ph.p == nil {
		return
	}
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.n++
	if failed {
		ph.errs++
	}
	now := time.Now()
	if ph.bar != nil {
		filled := int64(now.Sub(ph.start) / (100 * time.Millisecond))
		if ph.count > 0 {
			filled = int64(ph.n)
		}
		if filled > ph.lastFilled {
			ph.lastFilled = filled
			_ = ph.bar.Set64(filled)
			ph.bar.Describe(fmt.Sprintf("%s: %d requests, %d errors", ph.name, ph.n, ph.errs))
		}
		return
	}
	if now.Sub(ph.lastLine) >= 5*time.Second {
		ph.lastLine = now
		ph.p.Printf("%s: %s of %s, %d requests, %d errors", ph.name, now.Sub(ph.start).Round(time.Second), ph.goal(), ph.n, ph.errs)
	}
}

// Done ends the phase.
func (ph *Phase) Done() {
	if ph == nil || ph.p == nil {
		return
	}
	if ph.bar != nil {
		_ = ph.bar.Finish()
	}
	ph.p.Printf("%s: done, %d requests, %d errors in %s", ph.name, ph.n, ph.errs, time.Since(ph.start).Round(100*time.Millisecond))
}
