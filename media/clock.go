package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// ticker is what the media clock needs from a per-call stream: emit every frame that is
// due at now, queueing its packets on tx when it can (nil: send them at once). It runs
// on the clock's shard goroutine and must not block.
type ticker interface {
	clockTick(now time.Time, tx *txBatch)
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
}

type clockShard struct {
	mu      sync.Mutex // serialises writers of streams; readers load the snapshot
	streams atomic.Pointer[[]ticker]
	ticks   atomic.Uint64

	// flushMu is held for a whole tick, from the first stream to the flush of the
	// batch: a socket whose packets may be queued is closed under it (closing).
	flushMu sync.Mutex
	tx      *txBatch // the shard's batched sender; nil: one system call per packet

	// receivers are the sessions whose RTP socket the shard reads at every tick
	// (rxbatch_linux.go), from NewSession to Close; rx is the ring it reads them with.
	receivers atomic.Pointer[[]*Session]
	rx        *rxBatch
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
		empty, none := []ticker{}, []*Session{}
		s.streams.Store(&empty)
		s.receivers.Store(&none)
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

// tick reads the sockets of the shard's receivers, lets every stream emit what is due
// at now, then sends what they queued. Receiving first puts the packets that arrived
// since the last tick in the jitter buffers before the streams play them out.
func (s *clockShard) tick(now time.Time) {
	s.ticks.Add(1)
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.rx.receive(*s.receivers.Load())
	for _, st := range *s.streams.Load() {
		st.clockTick(now, s.tx)
	}
	s.tx.flush()
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
func (s *clockShard) len() int { return len(*s.streams.Load()) }

// pick chooses the shard for a new session, round robin.
func (c *Clock) pick() *clockShard { return c.shards[int(c.next.Add(1))%len(c.shards)] }

// add registers a stream on the next shard and returns the shard and a function that
// removes it (see addTo).
func (c *Clock) add(st ticker) (shard *clockShard, remove func()) {
	s := c.pick()
	return s, s.add(st)
}

// add registers a stream on the shard and returns a function that removes it; calling
// that function again does nothing. Removal waits for nothing: a stream must tolerate
// one more tick after it (Session.tick checks closed under its lock) and close its
// socket through the shard (closing).
func (s *clockShard) add(st ticker) (remove func()) {
	return addTo(&s.mu, &s.streams, st)
}

// addReceiver lets the shard read x's socket at every tick until remove is called;
// as with add, a tick that had started may still read it, so x closes its socket
// through closing.
func (s *clockShard) addReceiver(x *Session) (remove func()) {
	return addTo(&s.mu, &s.receivers, x)
}

// addTo adds v to the copy-on-write list at p (writers hold mu) and returns the
// function that takes it out again, once.
func addTo[T comparable](mu *sync.Mutex, p *atomic.Pointer[[]T], v T) (remove func()) {
	mu.Lock()
	old := *p.Load()
	list := make([]T, len(old), len(old)+1)
	copy(list, old)
	list = append(list, v)
	p.Store(&list)
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			old := *p.Load()
			list := make([]T, 0, len(old))
			for _, o := range old {
				if o != v {
					list = append(list, o)
				}
			}
			p.Store(&list)
		})
	}
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
