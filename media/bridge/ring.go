package bridge

import "sync/atomic"

// ring is a bounded single-producer single-consumer queue of PCM samples: the
// producer is one session's clock tick (its Sink), the consumer the other session's
// tick (its Source). The two indices are monotonic counters published with atomics,
// so neither side ever waits for the other and nothing is allocated after newRing.
type ring struct {
	buf  []int16
	mask uint64
	w    atomic.Uint64 // samples ever written; only the producer stores it
	r    atomic.Uint64 // samples ever consumed; only the consumer stores it
}

// newRing returns a ring holding at least n samples (rounded up to a power of two).
func newRing(n int) *ring {
	size := 1
	for size < n {
		size <<= 1
	}
	return &ring{buf: make([]int16, size), mask: uint64(size - 1)}
}

// len is the number of samples waiting. Either side may call it.
func (q *ring) len() int { return int(q.w.Load() - q.r.Load()) }

// write appends as many samples of p as fit and returns how many did not (the
// overflow, dropped by the caller's policy: the newest samples are the ones lost, so
// what is queued keeps playing without a click in the middle of it).
func (q *ring) write(p []int16) (dropped int) {
	w, r := q.w.Load(), q.r.Load()
	free := len(q.buf) - int(w-r)
	n := min(free, len(p))
	for i := range n {
		q.buf[(w+uint64(i))&q.mask] = p[i]
	}
	q.w.Store(w + uint64(n))
	return len(p) - n
}

// read moves up to len(p) samples into p and returns how many.
func (q *ring) read(p []int16) int {
	r, w := q.r.Load(), q.w.Load()
	n := min(int(w-r), len(p))
	start := int(r & q.mask)
	first := min(n, len(q.buf)-start)
	copy(p[:first], q.buf[start:start+first])
	copy(p[first:n], q.buf[:n-first])
	q.r.Store(r + uint64(n))
	return n
}

// skip discards up to n waiting samples (consumer side) and returns how many.
func (q *ring) skip(n int) int {
	r, w := q.r.Load(), q.w.Load()
	n = min(n, int(w-r))
	q.r.Store(r + uint64(n))
	return n
}
