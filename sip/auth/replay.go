package auth

import (
	"container/list"
	"sync"
	"time"
)

// NCVerdict is a NonceCounter's answer.
type NCVerdict uint8

// Verdicts. The zero value is Unknown, never returned.
const (
	NCUnknown NCVerdict = iota
	// NCFresh: nc is higher than every count accepted before with the nonce.
	NCFresh
	// NCReplay: nc was already used (or a higher one was): the request is a replay
	// or a copy (RFC 7616 §3.4: the server SHOULD check nc to detect replays).
	NCReplay
	// NCForgotten: the counter no longer knows whether the nonce was used (its record
	// was evicted). The caller answers with a stale challenge: the client retries
	// with a new nonce at no cost to the user, and a replay gains nothing.
	NCForgotten
)

// NonceCounter remembers the highest nonce count accepted per nonce. The in-memory
// one is per process; nodes that share a nonce secret should share one of these too
// (a Redis implementation fits this interface).
type NonceCounter interface {
	// Advance accepts nc for nonce (issued at issued) if it is higher than any count
	// accepted with it before, and records it.
	Advance(nonce string, issued time.Time, nc uint32) NCVerdict
}

// DefaultNonceCounts is the default capacity of the in-memory nonce-count table: one
// entry per nonce in use, and a phone uses one nonce per NonceTTL.
const DefaultNonceCounts = 65536

// lruCounter is the in-memory NonceCounter: an LRU of nonce -> highest nc.
//
// Eviction must not reopen a replay window. The table tracks the horizon, the latest
// issue time among evicted nonces: a nonce missing from the table but issued after
// the horizon can never have been used (it would still be there), so its first nc is
// fresh; one issued at or before it might have been, and gets NCForgotten.
type lruCounter struct {
	mu      sync.Mutex
	cap     int
	order   *list.List // of *ncEntry, most recently used first
	byNonce map[string]*list.Element
	horizon time.Time
}

type ncEntry struct {
	nonce   string
	issued  time.Time
	highest uint32
}

// NewNonceCounter returns the in-memory NonceCounter holding at most capacity nonces
// (DefaultNonceCounts when capacity <= 0).
func NewNonceCounter(capacity int) NonceCounter {
	if capacity <= 0 {
		capacity = DefaultNonceCounts
	}
	return &lruCounter{cap: capacity, order: list.New(), byNonce: make(map[string]*list.Element)}
}

func (c *lruCounter) Advance(nonce string, issued time.Time, nc uint32) NCVerdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byNonce[nonce]; ok {
		e := el.Value.(*ncEntry)
		c.order.MoveToFront(el)
		if nc <= e.highest {
			return NCReplay
		}
		e.highest = nc
		return NCFresh
	}
	if !issued.After(c.horizon) {
		return NCForgotten
	}
	if nc == 0 {
		return NCReplay // counts start at 1 (RFC 7616 §3.4)
	}
	for c.order.Len() >= c.cap {
		old := c.order.Back()
		e := old.Value.(*ncEntry)
		c.order.Remove(old)
		delete(c.byNonce, e.nonce)
		if e.issued.After(c.horizon) {
			c.horizon = e.issued
		}
	}
	c.byNonce[nonce] = c.order.PushFront(&ncEntry{nonce: nonce, issued: issued, highest: nc})
	return NCFresh
}

var _ NonceCounter = (*lruCounter)(nil)
