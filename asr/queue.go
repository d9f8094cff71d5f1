package asr

import "sync"

// frameQueue is the bounded queue between the media goroutine (push) and
// the session's recognizer goroutine (take). It holds whole frames in one
// preallocated buffer, so neither side allocates, and its lock is shared by
// those two goroutines of one session only, never by all calls. A push to
// a full queue fails and the caller counts the drop: the media path never
// waits for a slow backend.
type frameQueue struct {
	mu       sync.Mutex
	buf      []int16 // capacity frames of frameLen samples
	frameLen int
	capacity int // in frames
	head, n  int // oldest frame index and frame count
	busy     bool
}

func newFrameQueue(frameLen, capacity int) *frameQueue {
	return &frameQueue{
		buf:      make([]int16, frameLen*capacity),
		frameLen: frameLen,
		capacity: capacity,
	}
}

// push copies one frame in; false means the queue was full and the frame
// is dropped.
func (q *frameQueue) push(frame []int16) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == q.capacity {
		return false
	}
	i := (q.head + q.n) % q.capacity
	copy(q.buf[i*q.frameLen:(i+1)*q.frameLen], frame)
	q.n++
	return true
}

// take copies the oldest frames into dst (as many whole frames as fit and
// are queued) and returns the number of samples copied. Until release, the
// queue counts as busy, so pending stays non-zero while the recognizer
// works on what it took.
func (q *frameQueue) take(dst []int16) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := min(q.n, len(dst)/q.frameLen)
	for j := range k {
		i := (q.head + j) % q.capacity
		copy(dst[j*q.frameLen:(j+1)*q.frameLen], q.buf[i*q.frameLen:(i+1)*q.frameLen])
	}
	q.head = (q.head + k) % q.capacity
	q.n -= k
	if k > 0 {
		q.busy = true
	}
	return k * q.frameLen
}

// release marks the frames taken last as processed.
func (q *frameQueue) release() {
	q.mu.Lock()
	q.busy = false
	q.mu.Unlock()
}

// pending reports whether frames are queued or being processed.
func (q *frameQueue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n > 0 || q.busy
}
