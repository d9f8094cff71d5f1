package acd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// storeBackends lists every Store implementation; the tests below run on each. A
// Redis store joins the table when it exists.
var storeBackends = []struct {
	name string
	new  func(t *testing.T) Store
}{
	{"mem", func(*testing.T) Store { return NewMemStore() }},
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func availableAgent(t *testing.T, s Store, id string, skills Skills) {
	t.Helper()
	ctx := context.Background()
	if err := s.PutAgent(ctx, Agent{ID: id, Skills: skills}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPresence(ctx, id, PresenceAvailable, "", t0); err != nil {
		t.Fatal(err)
	}
}

func agentState(t *testing.T, s Store, id string) AgentState {
	t.Helper()
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range snap.Agents {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("no agent %s", id)
	return AgentState{}
}

func TestStoreOfferLifecycle(t *testing.T) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := &checkedStore{Store: b.new(t)}
			availableAgent(t, s, "a", nil)
			availableAgent(t, s, "b", nil)
			if err := s.Join(ctx, Entry{CallID: "c1", Queue: "q", Kind: KindInbound, Arrived: t0, Joined: t0}, 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Join(ctx, Entry{CallID: "c2", Queue: "q", Kind: KindInbound}, 1); !errors.Is(err, ErrFull) {
				t.Fatalf("second join into max_size 1: %v", err)
			}
			if err := s.Join(ctx, Entry{CallID: "c1", Queue: "r"}, 0); !errors.Is(err, ErrExists) {
				t.Fatalf("same call twice: %v", err)
			}
			r := Reservation{CallID: "c1", OfferID: "o1", Queue: "q", Agents: []string{"a"}, Deadline: t0.Add(20 * time.Second), Now: t0}
			ch, err := s.Reserve(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch) != 1 || ch[0].From != StateAvailable || ch[0].To != StateRinging || ch[0].CallID != "c1" {
				t.Errorf("reserve changes = %+v", ch)
			}
			// No call offered twice, no agent offered two calls.
			if _, err := s.Reserve(ctx, Reservation{CallID: "c1", OfferID: "o2", Queue: "q", Agents: []string{"b"}, Now: t0}); !errors.Is(err, ErrConflict) {
				t.Errorf("offered twice: %v", err)
			}
			s.Join(ctx, Entry{CallID: "c3", Queue: "r", Kind: KindInbound}, 0)
			if _, err := s.Reserve(ctx, Reservation{CallID: "c3", OfferID: "o3", Queue: "r", Agents: []string{"a"}, Now: t0}); !errors.Is(err, ErrConflict) {
				t.Errorf("agent offered two calls: %v", err)
			}
			if _, err := s.Reserve(ctx, Reservation{CallID: "c3", OfferID: "o3", Queue: "q", Agents: []string{"b"}, Now: t0}); !errors.Is(err, ErrConflict) {
				t.Errorf("reservation for the wrong queue: %v", err)
			}
			// A stale answer (wrong offer id) is refused; the right one connects.
			if _, _, err := s.Answer(ctx, "c1", "o0", "a", t0); !errors.Is(err, ErrStale) {
				t.Errorf("stale answer: %v", err)
			}
			en, ch, err := s.Answer(ctx, "c1", "o1", "a", t0.Add(3*time.Second))
			if err != nil || en.CallID != "c1" {
				t.Fatal(en, err)
			}
			if len(ch) != 1 || ch[0].To != StateOnCall {
				t.Errorf("answer changes = %+v", ch)
			}
			if _, _, err := s.Leave(ctx, "c1", t0); !errors.Is(err, ErrNotFound) {
				t.Errorf("answered call still leaves: %v", err)
			}
			ch, err = s.Complete(ctx, "a", "c1", t0.Add(time.Minute), t0.Add(30*time.Second))
			if err != nil || len(ch) != 1 || ch[0].To != StateWrapUp {
				t.Fatalf("complete: %+v %v", ch, err)
			}
			rec, err := s.Reconcile(ctx, t0.Add(59*time.Second), time.Second, MissPolicy{})
			if err != nil || len(rec.Changes) != 0 {
				t.Fatalf("wrap-up ended early: %+v %v", rec, err)
			}
			rec, _ = s.Reconcile(ctx, t0.Add(time.Minute), time.Second, MissPolicy{})
			if len(rec.Changes) != 1 || rec.Changes[0].From != StateWrapUp || rec.Changes[0].To != StateAvailable || rec.Changes[0].CallID != "c1" {
				t.Fatalf("wrap-up end: %+v", rec)
			}
			if a := agentState(t, s, "a"); a.Calls != 1 || !a.IdleSince.Equal(t0.Add(time.Minute)) {
				t.Errorf("agent after call: %+v", a)
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStoreMissAndAutoBreak(t *testing.T) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := &checkedStore{Store: b.new(t)}
			availableAgent(t, s, "a", nil)
			p := MissPolicy{Pause: 10 * time.Second, BreakAfter: 2}
			now := t0
			for i := 1; i <= 2; i++ {
				id := fmt.Sprintf("c%d", i)
				s.Join(ctx, Entry{CallID: id, Queue: "q", Kind: KindInbound}, 0)
				if _, err := s.Reserve(ctx, Reservation{CallID: id, OfferID: "o" + id, Queue: "q", Agents: []string{"a"}, Deadline: now.Add(time.Second), Now: now}); err != nil {
					t.Fatal(err)
				}
				rel, err := s.Release(ctx, ReleaseRequest{CallID: id, OfferID: "o" + id, AgentID: "a", Result: OfferNoAnswer, Now: now, Policy: p})
				if err != nil || !rel.Requeued {
					t.Fatalf("release %d: %+v %v", i, rel, err)
				}
				if rel.AutoBreak != (i == 2) {
					t.Errorf("after %d misses auto break = %v", i, rel.AutoBreak)
				}
				a := agentState(t, s, "a")
				if a.Activity != ActivityMissed || !a.Deadline.Equal(now.Add(10*time.Second)) {
					t.Errorf("after miss %d: %+v", i, a)
				}
				s.Reconcile(ctx, now.Add(10*time.Second), time.Second, p)
				now = now.Add(10 * time.Second)
			}
			a := agentState(t, s, "a")
			if a.Presence != PresenceBreak || a.Reason != AutoBreakReason || a.Activity != ActivityIdle || a.State() != StateBreak {
				t.Errorf("after two misses: %+v", a)
			}
			if _, err := s.SetPresence(ctx, "a", PresenceAvailable, "", now); err != nil {
				t.Fatal(err)
			}
			if a := agentState(t, s, "a"); a.Missed != 0 {
				t.Errorf("missed count survives going available: %d", a.Missed)
			}
			// An offer nobody answers nor rejects is reconciled after deadline + grace.
			s.Reserve(ctx, Reservation{CallID: "c1", OfferID: "x", Queue: "q", Agents: []string{"a"}, Deadline: now.Add(20 * time.Second), Now: now})
			if rec, _ := s.Reconcile(ctx, now.Add(24*time.Second), 5*time.Second, p); len(rec.Expired) != 0 {
				t.Fatalf("expired before grace: %+v", rec)
			}
			rec, _ := s.Reconcile(ctx, now.Add(25*time.Second), 5*time.Second, p)
			if len(rec.Expired) != 1 || rec.Expired[0].CallID != "c1" || rec.Expired[0].AgentID != "a" {
				t.Fatalf("stuck offer not reconciled: %+v", rec)
			}
			if _, err := s.Release(ctx, ReleaseRequest{CallID: "c1", OfferID: "x", AgentID: "a", Result: OfferNoAnswer, Now: now}); !errors.Is(err, ErrStale) {
				t.Errorf("late release after reconcile: %v", err)
			}
			if _, _, err := s.Answer(ctx, "c1", "x", "a", now); !errors.Is(err, ErrStale) {
				t.Errorf("late answer after reconcile: %v", err)
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStoreRingAllAndLeave(t *testing.T) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := &checkedStore{Store: b.new(t), ringAll: func(string) bool { return true }}
			for _, id := range []string{"a", "b", "c"} {
				availableAgent(t, s, id, nil)
			}
			s.Join(ctx, Entry{CallID: "c1", Queue: "q", Kind: KindInbound}, 0)
			if _, err := s.Reserve(ctx, Reservation{CallID: "c1", OfferID: "o", Queue: "q", Agents: []string{"a", "b", "c"}, Deadline: t0.Add(time.Minute), Now: t0}); err != nil {
				t.Fatal(err)
			}
			// b rejects: the call stays offered to a and c.
			rel, err := s.Release(ctx, ReleaseRequest{CallID: "c1", OfferID: "o", AgentID: "b", Result: OfferRejected, Now: t0})
			if err != nil || rel.Requeued {
				t.Fatalf("one of three rejects: %+v %v", rel, err)
			}
			_, ch, err := s.Answer(ctx, "c1", "o", "c", t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch) != 2 { // c to on_call, a back to available
				t.Errorf("ring-all answer changes: %+v", ch)
			}
			if a := agentState(t, s, "a"); a.Activity != ActivityIdle || a.Missed != 0 {
				t.Errorf("ring-all loser: %+v", a)
			}
			// A caller who leaves while ringing frees the agent without a miss.
			s.Join(ctx, Entry{CallID: "c2", Queue: "q", Kind: KindInbound}, 0)
			s.Reserve(ctx, Reservation{CallID: "c2", OfferID: "o2", Queue: "q", Agents: []string{"a"}, Deadline: t0.Add(time.Minute), Now: t0})
			en, ch, err := s.Leave(ctx, "c2", t0)
			if err != nil || en.State != EntryOffered || len(ch) != 1 || ch[0].To != StateAvailable {
				t.Fatalf("leave while ringing: %+v %+v %v", en, ch, err)
			}
			if a := agentState(t, s, "a"); a.Missed != 0 || a.Activity != ActivityIdle {
				t.Errorf("agent after caller left: %+v", a)
			}
			if _, err := s.RemoveAgent(ctx, "c"); !errors.Is(err, ErrBusy) {
				t.Errorf("removing an agent on a call: %v", err)
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStoreConcurrentReserve races many goroutines reserving random calls for
// random agents: every success must be exclusive, and the invariants hold after
// every transition.
func TestStoreConcurrentReserve(t *testing.T) {
	for _, b := range storeBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := &checkedStore{Store: b.new(t)}
			const agents, calls = 8, 40
			for i := range agents {
				availableAgent(t, s, fmt.Sprintf("a%d", i), nil)
			}
			for i := range calls {
				s.Join(ctx, Entry{CallID: fmt.Sprintf("c%d", i), Queue: "q", Kind: KindInbound}, 0)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := map[string]string{} // agent -> call
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 1))
					for range 200 {
						call := fmt.Sprintf("c%d", rng.IntN(calls))
						agent := fmt.Sprintf("a%d", rng.IntN(agents))
						offer := fmt.Sprintf("%d-%d", g, rng.Uint64())
						if _, err := s.Reserve(ctx, Reservation{CallID: call, OfferID: offer, Queue: "q", Agents: []string{agent}, Deadline: t0.Add(time.Minute), Now: t0}); err != nil {
							continue
						}
						mu.Lock()
						if prev, ok := won[agent]; ok {
							t.Errorf("agent %s reserved for %s and %s", agent, prev, call)
						}
						won[agent] = call
						mu.Unlock()
						runtime.Gosched() // let others try to take the agent meanwhile
						mu.Lock()
						delete(won, agent) // before releasing: then another goroutine may win it
						mu.Unlock()
						if rng.IntN(2) == 0 {
							s.Release(ctx, ReleaseRequest{CallID: call, OfferID: offer, AgentID: agent, Now: t0})
						} else if _, _, err := s.Answer(ctx, call, offer, agent, t0); err == nil {
							s.Complete(ctx, agent, call, t0, t0)
						}
					}
				}()
			}
			wg.Wait()
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
