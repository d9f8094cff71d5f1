package media

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ticker is what the media clock needs from a per-call stream: emit every frame that is
// due at now, queueing its packets on the batch of shard sh when it can (sh nil, or no
// batch: send them at once). It runs on the clock's shard goroutine and must not block.
type ticker interface {
	clockTick(now time.Time, sh *clockShard)
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
	batching bool // set by batchSends before the shards start, then only read
	reading  bool // set by batchReceives before the shards start, then only read
	// multishot: each shard goroutine, at its start, tries to switch its receive ring
	// to multishot reads on its own locked thread (rxring_linux.go); msErrs are the
	// reasons of those that could not, read after start.
	multishot bool
	msErrs    []error
	msMu      sync.Mutex

	// late and busy, when set before start, observe each tick's lateness and length.
	late, busy prometheus.Observer
}

type clockShard struct {
	streams roster[ticker]
	ticks   atomic.Uint64

	// flushMu is held for a whole tick, from the first stream to the flush of the
	// batch: a socket whose packets may be queued is closed under it (closing).
	flushMu sync.Mutex
	tx      *txBatch // the shard's batched sender; nil: one system call per packet

	// frame is the PCM buffer each stream fills with its outgoing frame in turn during
	// a tick (under flushMu). One buffer for the shard stays in the cache, where one
	// per call would be one more for every tick to bring back from memory.
	frame []int16

	// receivers are the sessions whose RTP socket the shard reads at every tick
	// (rxbatch_linux.go), from NewSession to Close; rx is the ring it reads them with.
	receivers roster[*Session]
	rx        *rxBatch

	// tickN numbers the current tick and tickAt is its time, for early: both are
	// the shard goroutine's, set at the start of each tick.
	tickN  uint64
	tickAt time.Time
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
		c.shards = append(c.shards, &clockShard{})
	}
	return c
}

// start runs one goroutine per shard; Close waits for them. It returns once every
// shard has set its receive ring up, so sessions register after that.
func (c *Clock) start() {
	var ready sync.WaitGroup
	for i, s := range c.shards {
		c.wg.Add(1)
		ready.Add(1)
		go c.run(s, c.interval*time.Duration(i)/time.Duration(len(c.shards)), ready.Done)
	}
	ready.Wait()
}

// multishotErrs is why shards kept the epoll listing (nil: every shard reads with
// multishot reads, or none was asked to).
func (c *Clock) multishotErrs() []error {
	c.msMu.Lock()
	defer c.msMu.Unlock()
	return c.msErrs
}

// run ticks shard s every interval, phase after the first shard. Staggered shards
// share the CPU in turns instead of all waking at once, where the last would wait for
// every other's tick each time and the Go scheduler's other work would find the whole
// interval's media squeezed into one burst.
func (c *Clock) run(s *clockShard, phase time.Duration, ready func()) {
	defer c.wg.Done()
	if s.rx != nil && c.multishot {
		// The goroutine stays on this thread for good: a multishot ring answers only
		// the thread that made it.
		if err := lockForMultishot(s.rx); err != nil {
			c.msMu.Lock()
			c.msErrs = append(c.msErrs, err)
			c.msMu.Unlock()
		}
	}
	ready()
	if phase > 0 {
		select {
		case <-c.stop:
			return
		case <-time.After(phase):
		}
	}
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case due := <-t.C:
			// The ticker's value is when the tick was due, not when this goroutine got
			// to run: the difference is the lateness every stream of the shard inherits.
			start := time.Now()
			s.tick(due)
			if c.late != nil {
				c.late.Observe(start.Sub(due).Seconds())
				c.busy.Observe(time.Since(start).Seconds())
			}
		}
	}
}

// tick reads the sockets of the shard's receivers, lets every stream emit what is due
// at now, then sends what they queued. Receiving first puts the packets that arrived
// since the last tick in the jitter buffers before the streams play them out.
//
// A session that received a packet is ticked as soon as its datagrams of the chunk of
// reads have been delivered (early), while what the packet touched of its state is still in
// the cache, and not again in the pass over every stream: at a few thousand calls a
// call's state would otherwise be brought back from memory twice per tick.
func (s *clockShard) tick(now time.Time) {
	s.tickN = s.ticks.Add(1)
	s.tickAt = now
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.rx.receive(s.receivers.snapshot())
	for _, st := range s.streams.snapshot() {
		if ss, ok := st.(*Session); ok && ss.tickedAt == s.tickN {
			continue
		}
		st.clockTick(now, s)
	}
	s.tx.flush()
}

// early ticks ss, whose packets this tick's reads just delivered, unless it was
// already. ss is on this shard: a raw socket's session is read and ticked by the same
// one. A session not started yet ignores the tick, as in the pass over the streams.
func (s *clockShard) early(ss *Session) {
	if ss.tickedAt != s.tickN {
		ss.tickedAt = s.tickN
		ss.clockTick(s.tickAt, s)
	}
}

// closing runs fn, which closes a stream's socket, between two ticks, so no packet the
// shard queued still names the socket's descriptor.
func (s *clockShard) closing(fn func() error) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return fn()
}

// batchSends gives every shard a batched sender (txbatch_linux.go); it fails, leaving
// the clock as it was, where the kernel does not offer one. Before start.
func (c *Clock) batchSends(m *Metrics, onFail func(error)) error {
	var made []*txBatch
	for range c.shards {
		tx, err := newTxBatch(m, onFail)
		if err != nil {
			for _, tx := range made {
				tx.close()
			}
			return err
		}
		made = append(made, tx)
	}
	for i, s := range c.shards {
		s.tx = made[i]
	}
	c.batching = true
	return nil
}

// batchReceives gives every shard a receive ring (rxbatch_linux.go); it fails, leaving
// the clock as it was, where the kernel does not offer one. Before start.
func (c *Clock) batchReceives(m *Metrics, onFail func(error)) error {
	var made []*rxBatch
	for range c.shards {
		rx, err := newRxBatch(m, onFail)
		if err != nil {
			for _, rx := range made {
				rx.close()
			}
			return err
		}
		made = append(made, rx)
	}
	for i, s := range c.shards {
		s.rx = made[i]
		s.rx.early = s.early
	}
	c.reading = true
	return nil
}

// reads reports whether the shards read the sessions' RTP sockets (sessions then get
// raw sockets and no receive goroutine); it does not change when Close releases them.
func (c *Clock) reads() bool { return c.reading }

// batched reports whether the shards were given batched senders (sessions then
// prepare their side of it); it does not change when Close releases them.
func (c *Clock) batched() bool { return c.batching }

// len is the number of streams on the shard.
func (s *clockShard) len() int { return s.streams.len() }

// pick chooses the shard for a new session, round robin.
func (c *Clock) pick() *clockShard { return c.shards[int(c.next.Add(1))%len(c.shards)] }

// add registers a stream on the next shard and returns the shard and a function that
// removes it (see roster.add).
func (c *Clock) add(st ticker) (shard *clockShard, remove func()) {
	s := c.pick()
	return s, s.add(st)
}

// add registers a stream on the shard and returns a function that removes it; calling
// that function again does nothing. Removal waits for nothing: a stream must tolerate
// one more tick after it (Session.tick checks closed under its lock) and close its
// socket through the shard (closing).
func (s *clockShard) add(st ticker) (remove func()) {
	return s.streams.add(st)
}

// addReceiver lets the shard read x's socket at every tick until remove is called;
// as with add, a tick that had started may still read it, so x closes its socket
// through closing.
func (s *clockShard) addReceiver(x *Session) (remove func()) {
	return s.receivers.add(x)
}

// roster is a shard's list of streams or receivers: calls join and leave it from
// their own goroutines while the shard's tick walks it. Joining and leaving edit
// one slice under a lock, in place (a leaver's slot takes the last member), and
// the tick copies the members into its own slice only when they changed since
// its last copy, into room it keeps. So a call's arrival or departure costs a
// lock and a scan, not a fresh copy of every member (what a copy-on-write list
// would allocate at each change: tens of kilobytes per call at a thousand calls
// a shard, which the collector then has to sweep).
type roster[T comparable] struct {
	mu      sync.Mutex
	members []T
	version atomic.Uint64 // bumped at every change, under mu

	// The tick's copy: touched only by snapshot, which the shard's tick calls
	// under flushMu, so one caller at a time.
	seen uint64
	copy []T
}

// add makes v a member and returns the function that takes it out again; calling
// that again does nothing. A tick that had taken its snapshot before the removal
// may still see v once.
func (r *roster[T]) add(v T) (remove func()) {
	r.mu.Lock()
	r.members = append(r.members, v)
	r.version.Add(1)
	r.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { r.remove(v) }) }
}

func (r *roster[T]) remove(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, m := range r.members {
		if m == v {
			last := len(r.members) - 1
			r.members[i] = r.members[last]
			var zero T
			r.members[last] = zero // the slice must not keep a departed call alive
			r.members = r.members[:last]
			r.version.Add(1)
			return
		}
	}
}

// snapshot is the members as of now, in a slice valid until the next snapshot. It
// copies only after a change (a tick without arrivals or departures copies nothing).
func (r *roster[T]) snapshot() []T {
	if r.version.Load() != r.seen {
		r.mu.Lock()
		clear(r.copy) // departed members are not kept alive by stale entries
		r.copy = append(r.copy[:0], r.members...)
		r.seen = r.version.Load()
		r.mu.Unlock()
	}
	return r.copy
}

// len is the number of members.
func (r *roster[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// Interval is the tick period, the granularity of outgoing packet timing.
func (c *Clock) Interval() time.Duration { return c.interval }

// Close stops every shard, waits for them and releases their batched senders. It is
// idempotent.
func (c *Clock) Close() {
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
	for _, s := range c.shards {
		s.flushMu.Lock()
		s.tx.close()
		s.tx = nil
		s.rx.close() // kept: sessions still closing unregister from it
		s.flushMu.Unlock()
	}
}
