package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// ticker is what the media clock needs from a per-call stream: emit every frame that is
// due at now. It runs on the clock's shard goroutine and must not block.
type ticker interface {
	tick(now time.Time)
}

// Clock paces the outgoing audio of every call. Instead of one time.Ticker and one
// goroutine per call, a few shards each wake every interval and let each of their
// streams emit the frames that are due; a late wake-up catches up instead of drifting.
// Streams are spread over shards so no lock is shared by all calls.
//
// The pacing logic lives in the streams (Session.tick takes the time as an argument) and
// the shard loop only calls it, so tests drive the same code with chosen times.
type Clock struct {
	interval time.Duration
	shards   []*clockShard
	next     atomic.Uint32
	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

type clockShard struct {
	mu      sync.Mutex // serialises writers of streams; readers load the snapshot
	streams atomic.Pointer[[]ticker]
	ticks   atomic.Uint64
}

// NewClock starts shards goroutines ticking every interval (20 ms is the usual ptime).
func NewClock(shards int, interval time.Duration) *Clock {
	c := newClock(shards, interval)
	c.start()
	return c
}

// newClock builds a clock without starting its goroutines.
func newClock(shards int, interval time.Duration) *Clock {
	if shards < 1 {
		shards = 1
	}
	if interval <= 0 {
		interval = DefaultClockInterval
	}
	c := &Clock{interval: interval, stop: make(chan struct{})}
	for range shards {
		s := &clockShard{}
		empty := []ticker{}
		s.streams.Store(&empty)
		c.shards = append(c.shards, s)
	}
	return c
}

// start runs one goroutine per shard; Close waits for them.
func (c *Clock) start() {
	for _, s := range c.shards {
		c.wg.Add(1)
		go c.run(s)
	}
}

func (c *Clock) run(s *clockShard) {
	defer c.wg.Done()
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			s.tick(now)
		}
	}
}

// tick lets every stream of the shard emit what is due at now.
func (s *clockShard) tick(now time.Time) {
	s.ticks.Add(1)
	for _, st := range *s.streams.Load() {
		st.tick(now)
	}
}

// len is the number of streams on the shard.
func (s *clockShard) len() int { return len(*s.streams.Load()) }

// add registers a stream on the next shard, round robin, and returns a function that
// removes it; calling that function again does nothing. Removal waits for nothing: a
// stream must tolerate one more tick after it (Session.tick checks closed under its lock).
func (c *Clock) add(st ticker) (remove func()) {
	s := c.shards[int(c.next.Add(1))%len(c.shards)]
	s.mu.Lock()
	old := *s.streams.Load()
	list := make([]ticker, len(old), len(old)+1)
	copy(list, old)
	list = append(list, st)
	s.streams.Store(&list)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			old := *s.streams.Load()
			list := make([]ticker, 0, len(old))
			for _, o := range old {
				if o != st {
					list = append(list, o)
				}
			}
			s.streams.Store(&list)
		})
	}
}

// Interval is the tick period, the granularity of outgoing packet timing.
func (c *Clock) Interval() time.Duration { return c.interval }

// Close stops every shard and waits for them. It is idempotent.
func (c *Clock) Close() {
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
}
