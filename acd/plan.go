package acd

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// The dispatcher's decisions, as pure functions of a Snapshot and the time: which
// call goes to which agents, which calls must leave an empty queue, when to look
// again. No clock, no goroutine, no store: plan_test.go drives them directly, and
// every node running them against the same shared state decides the same way
// (Reserve arbitrates when two nodes race).

// planInput is what plan needs besides the snapshot.
type planInput struct {
	now    time.Time
	queues map[string]*QueueConfig
	grace  time.Duration
	// reachable reports whether an agent has an Endpoint on this node.
	reachable func(agent string) bool
	// owns reports whether this node may offer an inbound call (its caller is here
	// and still on the line). Callbacks may be offered by any node.
	owns func(callID string) bool
}

// planOffer is one reservation to try.
type planOffer struct {
	entry  Entry
	agents []string
	req    Skills // the requirement as relaxed now
}

// planResult is what one dispatcher pass does.
type planResult struct {
	offers []planOffer
	closed []string  // inbound calls whose queue is empty (leave_when_empty)
	next   time.Time // when the state changes by time alone; zero: not before a kick
}

// effectivePriority is the base priority plus growth for the time since arrival.
func effectivePriority(e *Entry, q *QueueConfig, now time.Time) float64 {
	p := float64(e.Priority)
	if q != nil && q.PriorityPerMinute > 0 {
		p += q.PriorityPerMinute * now.Sub(e.Arrived).Minutes()
	}
	return p
}

// orderEntries sorts entries the way they are served: higher effective priority
// first, then earlier arrival, then call id (a total order, so every node agrees).
func orderEntries(es []Entry, queues map[string]*QueueConfig, now time.Time) {
	slices.SortStableFunc(es, func(a, b Entry) int {
		pa, pb := effectivePriority(&a, queues[a.Queue], now), effectivePriority(&b, queues[b.Queue], now)
		if pa != pb && math.Abs(pa-pb) > 1e-9 {
			return cmp.Compare(pb, pa)
		}
		return compareArrival(a, b)
	})
}

// eligible reports whether agent a may take a call of q needing req.
func eligible(a *AgentState, q *QueueConfig, req Skills) bool {
	if len(q.Members) > 0 && !slices.Contains(q.Members, a.ID) {
		return false
	}
	return a.Skills.Meets(req)
}

// fullyRelaxed is the requirement after every relaxation step.
func fullyRelaxed(q *QueueConfig, flow Skills) Skills {
	return q.Requirement(flow, time.Duration(math.MaxInt64))
}

// queueEmpty reports whether no agent could ever serve a call of q needing flow
// skills (after every relaxation step), in q's sense of empty.
func queueEmpty(q *QueueConfig, flow Skills, agents []AgentState) bool {
	req := fullyRelaxed(q, flow)
	for i := range agents {
		a := &agents[i]
		if !eligible(a, q, req) {
			continue
		}
		switch q.Empty {
		case EmptyNoAvailable:
			if a.Presence == PresenceAvailable {
				return false
			}
		default:
			if a.Presence != PresenceOffline {
				return false
			}
		}
	}
	return true
}

func earlier(cur, t time.Time) time.Time {
	if cur.IsZero() || t.Before(cur) {
		return t
	}
	return cur
}

// plan decides one dispatcher pass.
func plan(snap Snapshot, in planInput) planResult {
	var out planResult
	now := in.now
	free := make([]*AgentState, 0, len(snap.Agents))
	for i := range snap.Agents {
		a := &snap.Agents[i]
		switch a.Activity {
		case ActivityRinging:
			out.next = earlier(out.next, a.Deadline.Add(in.grace))
		case ActivityWrapUp, ActivityMissed:
			out.next = earlier(out.next, a.Deadline)
		}
		if a.Offerable() && in.reachable(a.ID) {
			free = append(free, a)
		}
	}
	entries := slices.Clone(snap.Entries)
	orderEntries(entries, in.queues, now)
	taken := map[string]bool{}
	cursors := make(map[string]string, len(snap.Cursors))
	for k, v := range snap.Cursors {
		cursors[k] = v
	}
	for i := range entries {
		e := &entries[i]
		q := in.queues[e.Queue]
		if q == nil {
			continue
		}
		if e.Kind == KindInbound && !in.owns(e.CallID) {
			continue
		}
		if e.Kind == KindInbound && q.LeaveWhenEmpty && queueEmpty(q, e.Skills, snap.Agents) {
			out.closed = append(out.closed, e.CallID)
			continue
		}
		if e.State != EntryWaiting {
			continue
		}
		if now.Before(e.NotBefore) {
			out.next = earlier(out.next, e.NotBefore)
			continue
		}
		wait := now.Sub(e.Joined)
		req := q.Requirement(e.Skills, wait)
		var pool []*AgentState
		for _, a := range free {
			if !taken[a.ID] && eligible(a, q, req) {
				pool = append(pool, a)
			}
		}
		if len(pool) == 0 {
			if after, ok := q.nextRelax(wait); ok {
				out.next = earlier(out.next, e.Joined.Add(after))
			}
			continue
		}
		chosen := choose(q.Strategy, pool, req, cursors[q.Name])
		for _, id := range chosen {
			taken[id] = true
		}
		cursors[q.Name] = chosen[len(chosen)-1]
		out.offers = append(out.offers, planOffer{entry: *e, agents: chosen, req: req})
	}
	return out
}

// choose picks agents from a non-empty pool (sorted by id) by strategy.
func choose(s Strategy, pool []*AgentState, req Skills, cursor string) []string {
	longestIdle := func(a, b *AgentState) int {
		return cmp.Or(a.IdleSince.Compare(b.IdleSince), cmp.Compare(a.ID, b.ID))
	}
	var best *AgentState
	switch s {
	case StrategyRingAll:
		ids := make([]string, len(pool))
		for i, a := range pool {
			ids[i] = a.ID
		}
		return ids
	case StrategyRoundRobin:
		// pool is sorted by id: the first after the cursor, wrapping around.
		best = pool[0]
		for _, a := range pool {
			if a.ID > cursor {
				best = a
				break
			}
		}
	case StrategyFewestCalls:
		best = slices.MinFunc(pool, func(a, b *AgentState) int {
			return cmp.Or(cmp.Compare(a.Calls, b.Calls), longestIdle(a, b))
		})
	case StrategyBestSkillMatch:
		best = slices.MinFunc(pool, func(a, b *AgentState) int {
			return cmp.Or(cmp.Compare(b.Skills.Score(req), a.Skills.Score(req)), longestIdle(a, b))
		})
	default: // StrategyLongestIdle
		best = slices.MinFunc(pool, longestIdle)
	}
	return []string{best.ID}
}
