package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Limiter is told about every failed authentication, keyed on the socket source
// address (never on header text, which an attacker writes). The flood and ban guard
// implements it; it decides when a source has failed too often. AuthFailed is called
// synchronously on the request path and must not block.
type Limiter interface {
	// AuthFailed reports a failure from src for reason; recent is how many failures
	// src has had in the authenticator's FailureWindow, this one included.
	AuthFailed(src netip.Addr, reason Reason, recent int)
}

// Defaults of the per-source failure counter.
const (
	DefaultFailureWindow  = 10 * time.Minute
	DefaultFailureSources = 65536
)

// failureCounter counts failures per source address in fixed windows; an LRU bounds
// the number of sources it remembers, so a spoofed-address flood over UDP cannot grow
// it without limit (the oldest sources are forgotten first).
type failureCounter struct {
	mu     sync.Mutex
	window time.Duration
	cap    int
	order  *list.List // of *failureEntry, most recently failed first
	bySrc  map[netip.Addr]*list.Element
}

type failureEntry struct {
	src   netip.Addr
	start time.Time
	count int
}

func newFailureCounter(window time.Duration, capacity int) *failureCounter {
	return &failureCounter{window: window, cap: capacity, order: list.New(), bySrc: make(map[netip.Addr]*list.Element)}
}

// add counts one failure of src at now and returns the count in src's window.
func (f *failureCounter) add(src netip.Addr, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if el, ok := f.bySrc[src]; ok {
		e := el.Value.(*failureEntry)
		f.order.MoveToFront(el)
		if now.Sub(e.start) >= f.window {
			e.start, e.count = now, 0
		}
		e.count++
		return e.count
	}
	for f.order.Len() >= f.cap {
		old := f.order.Back()
		f.order.Remove(old)
		delete(f.bySrc, old.Value.(*failureEntry).src)
	}
	f.bySrc[src] = f.order.PushFront(&failureEntry{src: src, start: now, count: 1})
	return 1
}

// recent is src's failure count in its current window (0 when none).
func (f *failureCounter) recent(src netip.Addr, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	el, ok := f.bySrc[src]
	if !ok {
		return 0
	}
	e := el.Value.(*failureEntry)
	if now.Sub(e.start) >= f.window {
		return 0
	}
	return e.count
}
