package auth

import (
	"testing"
	"time"
)

// TestNonceCounterEviction: the LRU forgets the least recently used nonce, and from
// then on answers NCForgotten for any unknown nonce issued no later than it.
func TestNonceCounterEviction(t *testing.T) {
	c := NewNonceCounter(2)
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		nonce  string
		issued time.Time
		nc     uint32
		want   NCVerdict
	}{
		{"a", at(1), 1, NCFresh},
		{"b", at(2), 1, NCFresh},
		{"a", at(1), 2, NCFresh},     // a is now the most recently used
		{"c", at(3), 1, NCFresh},     // evicts b: horizon = 2s
		{"b", at(2), 2, NCForgotten}, // b may have been used
		{"z", at(2), 1, NCForgotten}, // never seen, but issued before the horizon
		{"d", at(4), 1, NCFresh},     // after the horizon: surely unused; evicts a
		{"a", at(1), 3, NCForgotten},
		{"c", at(3), 1, NCReplay},
		{"d", at(4), 1, NCReplay},
		{"d", at(4), 9, NCFresh},
	}
	for i, s := range steps {
		if got := c.Advance(s.nonce, s.issued, s.nc); got != s.want {
			t.Errorf("step %d (%s nc=%d): %v, want %v", i, s.nonce, s.nc, got, s.want)
		}
	}
}
