package acd

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemStore is the in-memory Store for a single engine node: one mutex makes every
// transition atomic. It is the default and the reference the Redis store must
// behave like (the same tests run against both).
type MemStore struct {
	mu      sync.Mutex // a leaf lock: no other lock is taken while it is held
	agents  map[string]*AgentState
	entries map[string]*Entry
	size    map[string]int    // queue -> entries
	cursors map[string]string // queue -> last agent (round robin)
	changed chan struct{}
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore {
	return &MemStore{
		agents:  map[string]*AgentState{},
		entries: map[string]*Entry{},
		size:    map[string]int{},
		cursors: map[string]string{},
		changed: make(chan struct{}, 1),
	}
}

// tracker records the State of each agent a transition touches, before it changes,
// so the transition can report Changes.
type tracker struct {
	order []*AgentState
	from  map[*AgentState]State
	call  map[*AgentState]string
}

func (t *tracker) touch(a *AgentState) {
	if t.from == nil {
		t.from, t.call = map[*AgentState]State{}, map[*AgentState]string{}
	}
	if _, ok := t.from[a]; !ok {
		t.order = append(t.order, a)
		t.from[a] = a.State()
		t.call[a] = a.CallID
	}
}

func (t *tracker) changes() []Change {
	var out []Change
	for _, a := range t.order {
		to := a.State()
		if to == t.from[a] {
			continue
		}
		c := Change{Agent: a.ID, From: t.from[a], To: to, CallID: a.CallID, Queue: a.Queue}
		if c.CallID == "" {
			c.CallID = t.call[a]
		}
		if to == StateBreak {
			c.Reason = a.Reason
		}
		out = append(out, c)
	}
	return out
}

func (s *MemStore) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Changed implements Store.
func (s *MemStore) Changed() <-chan struct{} { return s.changed }

// PutAgent implements Store.
func (s *MemStore) PutAgent(_ context.Context, a Agent) error {
	if a.ID == "" {
		return fmt.Errorf("acd: agent id is empty")
	}
	a.Skills = a.Skills.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.agents[a.ID]; ok {
		cur.Agent = a
	} else {
		s.agents[a.ID] = &AgentState{Agent: a, Presence: PresenceOffline, Activity: ActivityIdle}
	}
	s.notify()
	return nil
}

// RemoveAgent implements Store.
func (s *MemStore) RemoveAgent(_ context.Context, id string) ([]Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[id]
	if !ok {
		return nil, fmt.Errorf("agent %q: %w", id, ErrNotFound)
	}
	if a.Activity == ActivityRinging || a.Activity == ActivityOnCall {
		return nil, fmt.Errorf("agent %q is %s: %w", id, a.Activity, ErrBusy)
	}
	var t tracker
	t.touch(a)
	a.Presence, a.Activity, a.CallID, a.Queue = PresenceOffline, ActivityIdle, "", ""
	delete(s.agents, id)
	s.notify()
	return t.changes(), nil
}

// SetPresence implements Store.
func (s *MemStore) SetPresence(_ context.Context, id string, p Presence, reason string, now time.Time) ([]Change, error) {
	if p != PresenceOffline && p != PresenceAvailable && p != PresenceBreak {
		return nil, fmt.Errorf("acd: cannot set presence %s", p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[id]
	if !ok {
		return nil, fmt.Errorf("agent %q: %w", id, ErrNotFound)
	}
	var t tracker
	t.touch(a)
	if a.Presence == PresenceOffline && p != PresenceOffline {
		a.Calls = 0 // a new login: fewest_calls counts from here
		a.IdleSince = now
	}
	if p == PresenceAvailable {
		if a.Presence != PresenceAvailable && a.Activity == ActivityIdle {
			a.IdleSince = now // idle time counts from being ready, not from the break
		}
		a.Missed = 0
	}
	a.Presence, a.Reason = p, ""
	if p == PresenceBreak {
		a.Reason = reason
	}
	s.notify()
	return t.changes(), nil
}

// Join implements Store.
func (s *MemStore) Join(_ context.Context, e Entry, maxSize int) error {
	if e.CallID == "" || e.Queue == "" {
		return fmt.Errorf("acd: entry needs a call id and a queue")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[e.CallID]; ok {
		return fmt.Errorf("call %q: %w", e.CallID, ErrExists)
	}
	if maxSize > 0 && s.size[e.Queue] >= maxSize {
		return fmt.Errorf("queue %q holds %d calls: %w", e.Queue, s.size[e.Queue], ErrFull)
	}
	e.State, e.OfferID, e.Agents, e.Deadline = EntryWaiting, "", nil, time.Time{}
	e.Skills = e.Skills.Clone()
	s.entries[e.CallID] = &e
	s.size[e.Queue]++
	s.notify()
	return nil
}

func (s *MemStore) remove(e *Entry) {
	delete(s.entries, e.CallID)
	if s.size[e.Queue]--; s.size[e.Queue] <= 0 {
		delete(s.size, e.Queue)
	}
}

// idle makes a ringing agent idle again (the offer was cancelled, not missed).
func idle(a *AgentState, now time.Time) {
	a.Activity, a.Since = ActivityIdle, now
	a.CallID, a.Queue, a.OfferID, a.Deadline = "", "", "", time.Time{}
}

// Leave implements Store.
func (s *MemStore) Leave(_ context.Context, callID string, now time.Time) (Entry, []Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[callID]
	if !ok {
		return Entry{}, nil, fmt.Errorf("call %q: %w", callID, ErrNotFound)
	}
	var t tracker
	if e.State == EntryOffered {
		for _, id := range e.Agents {
			if a := s.agents[id]; a != nil && a.Activity == ActivityRinging && a.OfferID == e.OfferID {
				t.touch(a)
				idle(a, now)
			}
		}
	}
	s.remove(e)
	s.notify()
	return copyEntry(e), t.changes(), nil
}

// Reserve implements Store.
func (s *MemStore) Reserve(_ context.Context, r Reservation) ([]Change, error) {
	if len(r.Agents) == 0 || r.OfferID == "" {
		return nil, fmt.Errorf("acd: reservation needs an offer id and agents")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[r.CallID]
	switch {
	case !ok:
		return nil, fmt.Errorf("call %q is gone: %w", r.CallID, ErrConflict)
	case e.State != EntryWaiting:
		return nil, fmt.Errorf("call %q is already offered: %w", r.CallID, ErrConflict)
	case r.Queue != "" && r.Queue != e.Queue:
		return nil, fmt.Errorf("call %q moved to queue %q: %w", r.CallID, e.Queue, ErrConflict)
	case r.Now.Before(e.NotBefore):
		return nil, fmt.Errorf("call %q waits until %s: %w", r.CallID, e.NotBefore.Format(time.RFC3339), ErrConflict)
	}
	for i, id := range r.Agents {
		a := s.agents[id]
		if a == nil || !a.Offerable() {
			return nil, fmt.Errorf("agent %q is not available: %w", id, ErrConflict)
		}
		if slices.Contains(r.Agents[:i], id) {
			return nil, fmt.Errorf("agent %q listed twice: %w", id, ErrConflict)
		}
	}
	var t tracker
	for _, id := range r.Agents {
		a := s.agents[id]
		t.touch(a)
		a.Activity, a.Since = ActivityRinging, r.Now
		a.CallID, a.Queue, a.OfferID, a.Deadline = r.CallID, e.Queue, r.OfferID, r.Deadline
	}
	e.State, e.OfferID, e.Agents, e.Deadline = EntryOffered, r.OfferID, slices.Clone(r.Agents), r.Deadline
	if r.Queue != "" {
		s.cursors[r.Queue] = r.Agents[len(r.Agents)-1]
	}
	s.notify()
	return t.changes(), nil
}

// Answer implements Store.
func (s *MemStore) Answer(_ context.Context, callID, offerID, agentID string, now time.Time) (Entry, []Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[callID]
	if !ok || e.State != EntryOffered || e.OfferID != offerID || !slices.Contains(e.Agents, agentID) {
		return Entry{}, nil, fmt.Errorf("call %q offer %s: %w", callID, offerID, ErrStale)
	}
	a := s.agents[agentID]
	if a == nil || a.Activity != ActivityRinging || a.OfferID != offerID {
		return Entry{}, nil, fmt.Errorf("agent %q offer %s: %w", agentID, offerID, ErrStale)
	}
	var t tracker
	t.touch(a)
	a.Activity, a.Since, a.OfferID, a.Deadline = ActivityOnCall, now, "", time.Time{}
	a.Missed = 0
	a.Calls++
	for _, id := range e.Agents {
		if o := s.agents[id]; id != agentID && o != nil && o.Activity == ActivityRinging && o.OfferID == offerID {
			t.touch(o)
			idle(o, now)
		}
	}
	s.remove(e)
	s.notify()
	return copyEntry(e), t.changes(), nil
}

// Release implements Store.
func (s *MemStore) Release(_ context.Context, r ReleaseRequest) (Released, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[r.AgentID]
	if a == nil || a.Activity != ActivityRinging || a.OfferID != r.OfferID {
		return Released{}, fmt.Errorf("agent %q offer %s: %w", r.AgentID, r.OfferID, ErrStale)
	}
	var t tracker
	out := s.release(&t, a, r.Result, r.Now, r.Policy)
	out.Changes = t.changes()
	s.notify()
	return out, nil
}

// release ends a's part in its current offer; s.mu is held.
func (s *MemStore) release(t *tracker, a *AgentState, res OfferResult, now time.Time, p MissPolicy) Released {
	t.touch(a)
	offerID, callID := a.OfferID, a.CallID
	var out Released
	idle(a, now)
	if res == OfferRejected || res == OfferNoAnswer || res == OfferFailed {
		a.Missed++
		if p.Pause > 0 {
			a.Activity, a.Deadline = ActivityMissed, now.Add(p.Pause)
		}
		if p.BreakAfter > 0 && a.Missed >= p.BreakAfter && a.Presence == PresenceAvailable {
			a.Presence, a.Reason = PresenceBreak, AutoBreakReason
			out.AutoBreak = true
		}
	}
	if e := s.entries[callID]; e != nil && e.State == EntryOffered && e.OfferID == offerID {
		out.Queue = e.Queue
		e.Agents = slices.DeleteFunc(e.Agents, func(id string) bool { return id == a.ID })
		if len(e.Agents) == 0 {
			e.State, e.OfferID, e.Agents, e.Deadline = EntryWaiting, "", nil, time.Time{}
			out.Requeued = true
		}
	}
	return out
}

// Complete implements Store.
func (s *MemStore) Complete(_ context.Context, agentID, callID string, wrapUntil, now time.Time) ([]Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[agentID]
	if a == nil || a.Activity != ActivityOnCall || a.CallID != callID {
		return nil, fmt.Errorf("agent %q is not on call %q: %w", agentID, callID, ErrStale)
	}
	var t tracker
	t.touch(a)
	if wrapUntil.After(now) {
		a.Activity, a.Since, a.Deadline = ActivityWrapUp, now, wrapUntil
	} else {
		idle(a, now)
		a.IdleSince = now
	}
	s.notify()
	return t.changes(), nil
}

// Ready implements Store.
func (s *MemStore) Ready(_ context.Context, agentID string, now time.Time) ([]Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[agentID]
	if a == nil {
		return nil, fmt.Errorf("agent %q: %w", agentID, ErrNotFound)
	}
	var t tracker
	s.ready(&t, a, now)
	if ch := t.changes(); ch != nil {
		s.notify()
		return ch, nil
	}
	return nil, nil
}

func (s *MemStore) ready(t *tracker, a *AgentState, now time.Time) {
	switch a.Activity {
	case ActivityWrapUp:
		t.touch(a)
		idle(a, now)
		a.IdleSince = now
	case ActivityMissed:
		t.touch(a)
		idle(a, now)
	}
}

// Reconcile implements Store.
func (s *MemStore) Reconcile(_ context.Context, now time.Time, grace time.Duration, p MissPolicy) (Reconciled, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t tracker
	var out Reconciled
	for _, a := range s.sortedAgents() {
		switch a.Activity {
		case ActivityRinging:
			if a.Deadline.IsZero() || now.Before(a.Deadline.Add(grace)) {
				continue
			}
			x := Expired{CallID: a.CallID, OfferID: a.OfferID, AgentID: a.ID, Queue: a.Queue, Since: a.Since}
			x.AutoBreak = s.release(&t, a, OfferNoAnswer, now, p).AutoBreak
			out.Expired = append(out.Expired, x)
		case ActivityWrapUp, ActivityMissed:
			if !now.Before(a.Deadline) {
				s.ready(&t, a, now)
			}
		}
	}
	// An offered entry none of whose agents rings for it cannot be answered: wait again.
	for _, e := range s.entries {
		if e.State != EntryOffered {
			continue
		}
		live := false
		for _, id := range e.Agents {
			if a := s.agents[id]; a != nil && a.Activity == ActivityRinging && a.OfferID == e.OfferID {
				live = true
			}
		}
		if !live {
			e.State, e.OfferID, e.Agents, e.Deadline = EntryWaiting, "", nil, time.Time{}
		}
	}
	out.Changes = t.changes()
	if len(out.Changes) > 0 || len(out.Expired) > 0 {
		s.notify()
	}
	return out, nil
}

func (s *MemStore) sortedAgents() []*AgentState {
	out := make([]*AgentState, 0, len(s.agents))
	for _, a := range s.agents {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *AgentState) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Snapshot implements Store.
func (s *MemStore) Snapshot(context.Context) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{
		Agents:  make([]AgentState, 0, len(s.agents)),
		Entries: make([]Entry, 0, len(s.entries)),
		Cursors: make(map[string]string, len(s.cursors)),
	}
	for _, a := range s.sortedAgents() {
		c := *a
		c.Skills = a.Skills.Clone()
		snap.Agents = append(snap.Agents, c)
	}
	for _, e := range s.entries {
		snap.Entries = append(snap.Entries, copyEntry(e))
	}
	slices.SortFunc(snap.Entries, compareArrival)
	for q, a := range s.cursors {
		snap.Cursors[q] = a
	}
	return snap, nil
}

func compareArrival(a, b Entry) int {
	if c := a.Arrived.Compare(b.Arrived); c != 0 {
		return c
	}
	return cmp.Compare(a.CallID, b.CallID)
}

func copyEntry(e *Entry) Entry {
	c := *e
	c.Skills = e.Skills.Clone()
	c.Agents = slices.Clone(e.Agents)
	return c
}
