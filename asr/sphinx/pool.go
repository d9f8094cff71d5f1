package sphinx

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errPoolClosed is returned by acquire after the backend was closed.
var errPoolClosed = errors.New("sphinx: backend closed")

// PoolStats are the decoder pool's counters, for metrics and for tests
// that prove nothing leaks: Created-Freed decoders exist, of which Idle
// wait in the pool and InUse are held by sessions.
type PoolStats struct {
	Size    int   // the most decoders the pool creates
	Created int   // decoders loaded since New
	Freed   int   // decoders freed (Close, or a decoder that failed)
	Idle    int   // decoders waiting in the pool
	InUse   int   // decoders held by sessions
	Waits   int64 // acquisitions that had to wait for a decoder
	Gets    int64 // acquisitions
}

// pool hands out decoders: loading one takes hundreds of milliseconds and
// tens of megabytes, so they are made up front (preload) or on first
// need up to size, and reused by every session. A session waits for a
// free decoder with its context.
type pool struct {
	slots chan struct{} // one token per decoder that may exist
	load  func() (*decoder, error)

	mu     sync.Mutex
	idle   []*decoder
	closed bool
	stats  PoolStats

	observeWait func(time.Duration)
}

func newPool(size, preload int, load func() (*decoder, error)) (*pool, error) {
	p := &pool{slots: make(chan struct{}, size), load: load}
	p.stats.Size = size
	for range min(preload, size) {
		d, err := load()
		if err != nil {
			p.close()
			return nil, err
		}
		p.mu.Lock()
		p.stats.Created++
		p.idle = append(p.idle, d)
		p.mu.Unlock()
	}
	return p, nil
}

// acquire returns a decoder, loading one if none is idle and the pool is
// not full, or waiting for one until ctx ends.
func (p *pool) acquire(ctx context.Context) (*decoder, error) {
	start := time.Now()
	waited := false
	select {
	case p.slots <- struct{}{}:
	default:
		waited = true
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	p.stats.Gets++
	if waited {
		p.stats.Waits++
	}
	var d *decoder
	if n := len(p.idle); n > 0 {
		d = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	p.stats.InUse++
	p.mu.Unlock()
	if p.observeWait != nil {
		p.observeWait(time.Since(start))
	}
	if d != nil {
		return d, nil
	}
	d, err := p.load()
	p.mu.Lock()
	if err != nil {
		p.stats.InUse--
	} else {
		p.stats.Created++
	}
	p.mu.Unlock()
	if err != nil {
		<-p.slots
		return nil, err
	}
	return d, nil
}

// release returns a decoder to the pool after clearing its session state.
// broken decoders (a C call failed mid-utterance) are freed instead and
// replaced on the next need.
func (p *pool) release(d *decoder, broken bool) {
	d.reset()
	p.mu.Lock()
	p.stats.InUse--
	if p.closed || broken {
		p.stats.Freed++
		p.mu.Unlock()
		d.free()
	} else {
		p.idle = append(p.idle, d)
		p.mu.Unlock()
	}
	<-p.slots
}

// close frees the idle decoders; decoders still in use are freed when
// they are released.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.stats.Freed += len(idle)
	p.mu.Unlock()
	for _, d := range idle {
		d.free()
	}
}

func (p *pool) snapshot() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Idle = len(p.idle)
	return s
}
