package acd

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// checkInvariants verifies a snapshot: the properties every transition must keep.
//
//   - a ringing agent rings for exactly one offered entry, whose agents list them;
//   - an offered entry's agents all ring for it, with its offer id (no call offered
//     to an agent who is not ringing for it, no agent ringing for two calls);
//   - a non-ring-all offer rings one agent (ringAll reports which queues may ring more);
//   - an on-call agent's call is not in the store (answered calls leave it), and no two
//     agents are on the same call;
//   - activities have the fields they need (deadlines for ringing, wrap-up, missed).
func checkInvariants(s Snapshot, ringAll func(queue string) bool) error {
	entries := map[string]*Entry{}
	for i := range s.Entries {
		e := &s.Entries[i]
		if entries[e.CallID] != nil {
			return fmt.Errorf("call %s twice in the store", e.CallID)
		}
		entries[e.CallID] = e
	}
	agents := map[string]*AgentState{}
	onCall := map[string]string{}
	for i := range s.Agents {
		a := &s.Agents[i]
		agents[a.ID] = a
		switch a.Activity {
		case ActivityRinging:
			e := entries[a.CallID]
			if e == nil || e.State != EntryOffered || e.OfferID != a.OfferID || !slices.Contains(e.Agents, a.ID) {
				return fmt.Errorf("agent %s rings for call %s offer %s, which is not offered to them (%+v)", a.ID, a.CallID, a.OfferID, e)
			}
			if a.Deadline.IsZero() {
				return fmt.Errorf("agent %s rings without a deadline", a.ID)
			}
		case ActivityOnCall:
			if entries[a.CallID] != nil && entries[a.CallID].Kind == KindInbound {
				return fmt.Errorf("agent %s is on call %s, which still waits", a.ID, a.CallID)
			}
			if other, dup := onCall[a.CallID]; dup {
				return fmt.Errorf("agents %s and %s both on call %s", other, a.ID, a.CallID)
			}
			onCall[a.CallID] = a.ID
		case ActivityWrapUp, ActivityMissed:
			if a.Deadline.IsZero() {
				return fmt.Errorf("agent %s in %s without an end", a.ID, a.Activity)
			}
		case ActivityIdle:
			if a.OfferID != "" || a.CallID != "" {
				return fmt.Errorf("idle agent %s holds call %q offer %q", a.ID, a.CallID, a.OfferID)
			}
		default:
			return fmt.Errorf("agent %s in activity %v", a.ID, a.Activity)
		}
	}
	for _, e := range entries {
		switch e.State {
		case EntryWaiting:
			if e.OfferID != "" || len(e.Agents) > 0 {
				return fmt.Errorf("waiting call %s holds offer %s to %v", e.CallID, e.OfferID, e.Agents)
			}
		case EntryOffered:
			if len(e.Agents) == 0 {
				return fmt.Errorf("call %s offered to nobody", e.CallID)
			}
			if len(e.Agents) > 1 && (ringAll == nil || !ringAll(e.Queue)) {
				return fmt.Errorf("call %s of queue %s offered to %d agents at once", e.CallID, e.Queue, len(e.Agents))
			}
			for _, id := range e.Agents {
				a := agents[id]
				if a == nil || a.Activity != ActivityRinging || a.OfferID != e.OfferID || a.CallID != e.CallID {
					return fmt.Errorf("call %s offered to %s, who is not ringing for it", e.CallID, id)
				}
			}
		default:
			return fmt.Errorf("call %s in state %v", e.CallID, e.State)
		}
	}
	return nil
}

// checkedStore wraps a Store and checks the invariants after every transition; the
// first violation is kept (a test fails on it at the end).
type checkedStore struct {
	Store
	ringAll func(string) bool
	mu      sync.Mutex
	err     error
	checks  int
}

func (c *checkedStore) check(op string) {
	snap, err := c.Store.Snapshot(context.Background())
	if err == nil {
		err = checkInvariants(snap, c.ringAll)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks++
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("after %s: %w", op, err)
	}
}

func (c *checkedStore) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *checkedStore) SetPresence(ctx context.Context, id string, p Presence, r string, now time.Time) ([]Change, error) {
	defer c.check("SetPresence")
	return c.Store.SetPresence(ctx, id, p, r, now)
}

func (c *checkedStore) Join(ctx context.Context, e Entry, n int) error {
	defer c.check("Join")
	return c.Store.Join(ctx, e, n)
}

func (c *checkedStore) Leave(ctx context.Context, id string, now time.Time) (Entry, []Change, error) {
	defer c.check("Leave")
	return c.Store.Leave(ctx, id, now)
}

func (c *checkedStore) Reserve(ctx context.Context, r Reservation) ([]Change, error) {
	defer c.check("Reserve")
	return c.Store.Reserve(ctx, r)
}

func (c *checkedStore) Answer(ctx context.Context, call, offer, agent string, now time.Time) (Entry, []Change, error) {
	defer c.check("Answer")
	return c.Store.Answer(ctx, call, offer, agent, now)
}

func (c *checkedStore) Release(ctx context.Context, r ReleaseRequest) (Released, error) {
	defer c.check("Release")
	return c.Store.Release(ctx, r)
}

func (c *checkedStore) Complete(ctx context.Context, agent, call string, until, now time.Time) ([]Change, error) {
	defer c.check("Complete")
	return c.Store.Complete(ctx, agent, call, until, now)
}

func (c *checkedStore) Ready(ctx context.Context, agent string, now time.Time) ([]Change, error) {
	defer c.check("Ready")
	return c.Store.Ready(ctx, agent, now)
}

func (c *checkedStore) Reconcile(ctx context.Context, now time.Time, g time.Duration, p MissPolicy) (Reconciled, error) {
	defer c.check("Reconcile")
	return c.Store.Reconcile(ctx, now, g, p)
}

func TestCheckInvariantsCatches(t *testing.T) {
	now := time.Unix(1000, 0)
	ringing := AgentState{Agent: Agent{ID: "a"}, Presence: PresenceAvailable, Activity: ActivityRinging, CallID: "c", OfferID: "o", Deadline: now}
	for name, s := range map[string]Snapshot{
		"ringing for nothing": {Agents: []AgentState{ringing}},
		"offer to idle": {Agents: []AgentState{{Agent: Agent{ID: "a"}, Activity: ActivityIdle}},
			Entries: []Entry{{CallID: "c", State: EntryOffered, OfferID: "o", Agents: []string{"a"}}}},
		"two agents, not ring-all": {Agents: []AgentState{ringing, {Agent: Agent{ID: "b"}, Activity: ActivityRinging, CallID: "c", OfferID: "o", Deadline: now}},
			Entries: []Entry{{CallID: "c", Queue: "q", State: EntryOffered, OfferID: "o", Agents: []string{"a", "b"}}}},
		"two on one call": {Agents: []AgentState{{Agent: Agent{ID: "a"}, Activity: ActivityOnCall, CallID: "c"}, {Agent: Agent{ID: "b"}, Activity: ActivityOnCall, CallID: "c"}}},
	} {
		if err := checkInvariants(s, nil); err == nil {
			t.Errorf("%s: not caught", name)
		}
	}
}
