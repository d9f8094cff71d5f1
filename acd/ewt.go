package acd

import (
	"time"
)

// The estimated wait (EWT) announced to callers and returned as queue_wait to flows.
//
// A caller at position p (1-based, in serving order) of a queue whose eligible agents
// number N (presence available, whatever they are doing now), I of them idle now,
// waits for the (p − I)-th agent to come free, then for that agent to answer. With
// handle times of mean AHT (talk plus wrap-up), busy agents come free at a rate of
// N ÷ AHT, so
//
//	EWT = max(0, p − I) × AHT ÷ N + R
//
// where R is the time agents take to answer an offer. The first term is exact for
// exponential handle times (memoryless: an agent mid-call is as far from done as a
// fresh one) and first-come first-served; with other distributions it stays right
// on average. AHT and R are the queue's exponentially smoothed AHT and answer time
// (each new call weighs ahtAlpha = 0.1, about the last twenty calls; AHT starts at
// the queue's expected_aht, R at 0), which follow a change of call types within
// minutes while one long call moves them by a tenth.
//
// Known biases, measured by the simulations in sim_test.go and sim_erlang_test.go:
// callers ahead who abandon make the estimate long; higher-priority callers who
// arrive later make it short; agents shared with other queues make it short. When N
// is 0 no estimate is made (WaitKnown false): the caller hears their position only.

// EstimateWait returns the queueing part of the estimated wait at position
// (1-based) for staffed eligible agents of whom idle are idle now: max(0, position −
// idle) × aht ÷ staffed; false when staffed is 0. The engine adds the smoothed
// answer time.
func EstimateWait(position, staffed, idle int, aht time.Duration) (time.Duration, bool) {
	if staffed <= 0 {
		return 0, false
	}
	ahead := position - idle
	if ahead <= 0 {
		return 0, true
	}
	return time.Duration(int64(ahead) * int64(aht) / int64(staffed)), true
}

// queueView is what the estimator needs from a snapshot for one call.
type queueView struct {
	position, staffed, idle int
}

// viewFor returns the position of entry e among its queue's calls (or, when e is
// not in snap, the position a newcomer e would take) and the agents eligible for its
// current requirement.
func viewFor(snap Snapshot, queues map[string]*QueueConfig, e Entry, now time.Time, reachable func(string) bool) queueView {
	q := queues[e.Queue]
	var v queueView
	if q == nil {
		return v
	}
	pe := effectivePriority(&e, q, now)
	for i := range snap.Entries {
		o := &snap.Entries[i]
		if o.Queue != e.Queue || o.CallID == e.CallID {
			continue
		}
		po := effectivePriority(o, q, now)
		if po > pe || (po == pe && compareArrival(*o, e) < 0) {
			v.position++
		}
	}
	v.position++
	req := q.Requirement(e.Skills, now.Sub(e.Joined))
	for i := range snap.Agents {
		a := &snap.Agents[i]
		if a.Presence != PresenceAvailable || !eligible(a, q, req) || !reachable(a.ID) {
			continue
		}
		v.staffed++
		if a.Activity == ActivityIdle {
			v.idle++
		}
	}
	return v
}
