package jitter

import (
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestConcurrentPushPop runs the two real callers at once, as a session
// does: a receive goroutine pushing packets as they "arrive" (30 ms ± 15 ms
// of network delay) and a media clock popping every 20 ms. Time is
// synctest's virtual clock; the race detector checks the locking.
func TestConcurrentPushPop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Config{})
		var ids int
		s := newSender(65000, 4_294_000_000, 21, &ids)
		s.t = time.Now()
		rng := rand.New(rand.NewPCG(7, 8))
		ps := arrive(s.talk(500, true), func(int, pkt) time.Duration {
			return 30*time.Millisecond + time.Duration((rng.Float64()*2-1)*float64(15*time.Millisecond))
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, p := range ps {
				time.Sleep(time.Until(p.at))
				b.Push(p.seq, p.ts, p.ssrc, p.marker, payloadOf(p, 160), time.Now())
			}
		}()
		tick := time.NewTicker(ptime)
		defer tick.Stop()
		var os []out
		for range 540 {
			now := <-tick.C
			f := b.Pop(now)
			os = append(os, out{Frame: f, id: idOf(f.Payload), at: now})
			if f.Payload != nil {
				os[len(os)-1].Payload = slices.Clone(f.Payload)
			}
		}
		<-done
		checkOrder(t, os)
		if got := played(os); len(got) != 500 {
			st := b.Stats()
			t.Errorf("played %d of 500: %+v", len(got), st)
		}
	})
}
