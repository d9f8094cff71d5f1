package acd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentEnqueueAndAgents runs on the real clock with millisecond timings:
// hundreds of goroutines call Enqueue (hanging up at random) while others flip agents'
// presence, end wrap-ups, unregister and re-register endpoints, add and remove an
// agent and ask for callbacks. Run with -race. Every Store transition is checked
// against the invariants, every Enqueue must return, the log must replay to the live
// figures, and no goroutine may be left behind.
func TestConcurrentEnqueueAndAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time stress test")
	}
	before := runtime.NumGoroutine()
	cfg := "engine: {timezone: UTC, grace: 30ms, missed_pause: 5ms, auto_break_after: 4}\nagents:\n"
	behaviours := map[string]agentBehaviour{}
	var bmu sync.Mutex
	brng := rand.New(rand.NewPCG(1, 2))
	for i := range 12 {
		id := fmt.Sprintf("a%d", i)
		cfg += fmt.Sprintf("  - {id: %s, skills: {x: %d}, presence: available}\n", id, 1+i%5)
		behaviours[id] = func(Offer) (time.Duration, OfferResult, bool) {
			bmu.Lock()
			defer bmu.Unlock()
			switch p := brng.Float64(); {
			case p < 0.1:
				return time.Second, OfferAnswered, false // rings out
			case p < 0.15:
				return time.Millisecond, OfferRejected, false
			case p < 0.18:
				return time.Millisecond, OfferFailed, false
			}
			return time.Duration(brng.IntN(4)) * time.Millisecond, OfferAnswered, false
		}
	}
	cfg += `queues:
  li: {strategy: longest_idle, ring_timeout: 20ms, wrap_up: 2ms, announce_first: 5ms, announce_every: 20ms, max_wait: 150ms, overflow: all}
  rr: {strategy: round_robin, ring_timeout: 20ms, skills: {x: 2}, max_size: 20, relax: [{after: 10ms, lower: 1}]}
  fc: {strategy: fewest_calls, ring_timeout: 20ms, wrap_up: 1ms}
  bs: {strategy: best_skill_match, ring_timeout: 20ms, skills: {x: 4}, leave_when_empty: true, empty: no_available}
  all: {strategy: ring_all, ring_timeout: 20ms}
`
	h := newHarness(t, cfg, behaviours)
	h.w.realTime = true
	h.dialer.ring, h.dialer.talk = time.Millisecond, 2*time.Millisecond
	queues := []string{"li", "rr", "fc", "bs", "all"}
	ctx, stop := context.WithCancel(context.Background())
	var chaos sync.WaitGroup
	for g := range 6 {
		chaos.Add(1)
		go func() {
			defer chaos.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for ctx.Err() == nil {
				id := fmt.Sprintf("a%d", rng.IntN(12))
				switch rng.IntN(6) {
				case 0:
					h.e.SetPresence(ctx, id, PresenceBreak, "coffee")
				case 1, 2:
					h.e.SetPresence(ctx, id, PresenceAvailable, "")
				case 3:
					h.e.Ready(ctx, id)
				case 4:
					h.e.SetEndpoint(id, nil)
					time.Sleep(time.Millisecond)
					h.e.SetEndpoint(id, h.eps[id])
				case 5:
					h.e.AddAgent(ctx, Agent{ID: "temp", Skills: Skills{"x": 5}})
					h.e.SetPresence(ctx, "temp", PresenceAvailable, "")
					h.e.RemoveAgent(ctx, "temp")
				}
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
		}()
	}
	var calls sync.WaitGroup
	var done, completed atomic.Int32
	var omu sync.Mutex
	outcomes := map[Outcome]int{}
	const n = 600
	for i := range n {
		calls.Add(1)
		go func() {
			defer calls.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 5))
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
			c := &fakeCaller{talk: time.Duration(rng.IntN(10)) * time.Millisecond}
			req := Request{Queue: queues[rng.IntN(len(queues))], Priority: rng.IntN(11), AnnouncePosition: true, AnnounceWait: true}
			if rng.IntN(10) == 0 {
				req.Callback = true
			}
			id := fmt.Sprintf("r%d", i)
			patience := time.Duration(1+rng.IntN(120)) * time.Millisecond
			ch := h.call(id, req, c, patience)
			if req.Callback && rng.IntN(2) == 0 {
				time.Sleep(time.Millisecond)
				h.e.RequestCallback(id)
			}
			select {
			case r := <-ch:
				if r.res.Outcome == OutcomeCompleted {
					completed.Add(1)
				}
				omu.Lock()
				outcomes[r.res.Outcome]++
				omu.Unlock()
				if r.res.Outcome == OutcomeError || r.res.Outcome == OutcomeUnknown {
					t.Errorf("%s: %+v %v", id, r.res, r.err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%s: Enqueue did not return", id)
			}
			done.Add(1)
		}()
	}
	calls.Wait()
	stop()
	chaos.Wait()
	time.Sleep(100 * time.Millisecond) // callbacks and wrap-ups drain
	end := time.Now()
	h.close()
	t.Logf("%d calls returned, %d completed, %d offers, %d invariant checks; outcomes %v", done.Load(), completed.Load(), h.w.offers, h.store.checks, outcomes)
	checkReplay(t, h.log, h.e, end)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left (%d before):\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
