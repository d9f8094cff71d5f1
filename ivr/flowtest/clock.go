package flowtest

import (
	"slices"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/ivr"
)

// clock is the virtual time of one simulated call: the runtime's clock
// (ivr.WithClock) and the timers of its waits on the caller (ivr.WithTimers). Time
// moves only when the driver advances it, so a test that lets a 5 s gather time out
// runs in microseconds and always the same way. Every timer's C reports, through
// idle, that the call is about to wait on it: the moment a caller could act.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	armed  []*vtimer // the timers that will fire, in no particular order
	onIdle func(t *vtimer)
}

var _ ivr.Timers = (*clock)(nil)

func newClock(start time.Time) *clock { return &clock{now: start} }

// Now is the runtime's clock (ivr.WithClock).
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer arms a timer that fires d from now, in virtual time.
func (c *clock) NewTimer(d time.Duration) ivr.Timer {
	t := &vtimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// left returns the time until the earliest armed timer fires, false when none is
// armed.
func (c *clock) left() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.armed) == 0 {
		return 0, false
	}
	first := c.armed[0].when
	for _, t := range c.armed[1:] {
		if t.when.Before(first) {
			first = t.when
		}
	}
	return max(0, first.Sub(c.now)), true
}

// advance moves the clock forward by d, or only up to the earliest armed timer when
// that fires sooner, and fires every timer then due. It returns the time that passed
// and whether a timer fired: then the call has something to react to.
func (c *clock) advance(d time.Duration) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	target := c.now.Add(max(0, d))
	fired := false
	for _, t := range c.armed {
		if !t.when.After(target) {
			target, fired = t.when, true
		}
	}
	passed := target.Sub(c.now)
	c.now = target
	if fired {
		c.armed = slices.DeleteFunc(c.armed, func(t *vtimer) bool {
			if t.when.After(c.now) {
				return false
			}
			t.fire(c.now)
			return true
		})
	}
	return passed, fired
}

// vtimer is a timer of the virtual clock.
type vtimer struct {
	c    *clock
	ch   chan time.Time // holds the expiry until the runtime receives it
	when time.Time      // when it fires, while armed
}

// C tells the clock's owner that the call is about to wait on t (see ivr.Timers),
// then returns the channel it waits on.
func (t *vtimer) C() <-chan time.Time {
	if t.c.onIdle != nil {
		t.c.onIdle(t)
	}
	return t.ch
}

// Stop disarms t and drops an expiry not yet received, as *time.Timer does.
func (t *vtimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.stopLocked()
}

// Reset re-arms t to fire d from now.
func (t *vtimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.stopLocked()
	t.when = t.c.now.Add(d)
	if d <= 0 {
		t.fire(t.c.now)
	} else {
		t.c.armed = append(t.c.armed, t)
	}
	return was
}

func (t *vtimer) stopLocked() bool {
	n := len(t.c.armed)
	t.c.armed = slices.DeleteFunc(t.c.armed, func(x *vtimer) bool { return x == t })
	select {
	case <-t.ch:
	default:
	}
	return len(t.c.armed) < n
}

// fire delivers the expiry; the channel has room, since an armed timer holds none.
func (t *vtimer) fire(now time.Time) {
	select {
	case t.ch <- now:
	default:
	}
}

// pending reports whether t fired and the runtime has not received it yet.
func (t *vtimer) pending() bool { return len(t.ch) > 0 }

// deadline is when t fires.
func (t *vtimer) deadline() time.Time {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.when
}
