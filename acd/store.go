package acd

import (
	"context"
	"errors"
	"time"
)

// Store holds the shared queue and agent state: who is waiting, who is offered to
// whom, what every agent is doing. It is an interface so that several engine nodes
// can share one Redis (or any store with atomic scripts) instead of the in-memory
// MemStore; the engine never keeps a second copy of this state.
//
// # Atomicity
//
// Every method is one atomic transition: it checks its preconditions and applies its
// effects with no other transition in between, or fails without effect. That is what
// makes double offers impossible, across goroutines and across nodes: the dispatcher
// chooses from a Snapshot that may already be stale, and Reserve re-checks, at the
// moment it commits, that the call is still waiting and every agent still idle and
// available. An offer carries an id (OfferID); Answer and Release name it, so a late
// answer to an offer the reconciler already expired is refused (ErrStale) instead of
// connecting a call that went to someone else.
//
// # Mapping to Redis
//
// All keys share the hash tag {acd} so that a Redis Cluster keeps them in one slot
// and one Lua script may touch them all:
//
//	acd:{acd}:agent:<id>   hash: profile JSON, presence, reason, activity, since,
//	                       idle_since, call_id, offer_id, deadline, missed, calls
//	acd:{acd}:call:<id>    hash: the Entry (queue, kind, priority, skills, arrived,
//	                       joined, node, state, offer_id, agents, deadline, not_before)
//	acd:{acd}:waiting:<q>  sorted set of call ids by arrival (ZCARD is the queue size)
//	acd:{acd}:deadlines    sorted set "agent:<id>" / "call:<id>" by the unix-ms time a
//	                       ringing offer, a wrap-up or a missed pause ends
//	acd:{acd}:rr           hash queue -> last agent chosen (round robin)
//	acd:{acd}:changes      pub/sub channel published by every script (Changed)
//
// Join, Leave, Reserve, Answer, Release, Complete, Ready, SetPresence and Reconcile
// are each one EVALSHA script: Redis runs a script without interleaving any other
// command, so the precondition checks (HGET state ... == "idle") and the writes are
// atomic exactly like MemStore's mutex-held sections. Join uses ZCARD for max_size in
// the same script. Reconcile reads ZRANGEBYSCORE deadlines -inf now-grace and applies
// the same transitions as Release and Ready; running it on every node at once is safe
// because each expiry re-checks the offer id. Snapshot needs no atomicity (Reserve
// re-checks) and can be a pipelined HGETALL over SCAN results, or a script for
// consistency in tests. Plain MULTI/WATCH would work too (WATCH the agent and call
// keys, re-read, MULTI the writes, retry on a nil EXEC), at the cost of a round trip
// per retry under contention; scripts are preferred.
//
// Every Entry records the node that owns the caller's leg. An inbound call is only
// offered by its own node (the leg and the Caller live there); a callback can be
// offered by any node. A node refreshes a lease key (acd:{acd}:node:<id>, SET PX);
// when a lease expires, Reconcile on a surviving node removes that node's inbound
// entries (their callers' legs died with it) and frees agents ringing for them.
type Store interface {
	// PutAgent creates an agent (offline, idle) or updates an existing agent's profile,
	// keeping their presence and activity.
	PutAgent(ctx context.Context, a Agent) error
	// RemoveAgent deletes an agent who is idle or in wrap-up or missed; it fails with
	// ErrBusy while they ring or talk, and ErrNotFound for an unknown id.
	RemoveAgent(ctx context.Context, id string) ([]Change, error)
	// SetPresence records what the agent chose. Going available clears the missed
	// count; logging in (from offline) also resets the call count fewest_calls uses.
	SetPresence(ctx context.Context, id string, p Presence, reason string, now time.Time) ([]Change, error)

	// Join adds a waiting call. It fails with ErrFull when maxSize > 0 and the queue
	// already holds maxSize calls, and ErrExists when the call id is present.
	Join(ctx context.Context, e Entry, maxSize int) error
	// Leave removes a call, waiting or offered (an offered call's agents go back to
	// idle, not missed). ErrNotFound means the call is not in the store, which after
	// Join means an agent answered it.
	Leave(ctx context.Context, callID string, now time.Time) (Entry, []Change, error)

	// Reserve offers a waiting call to agents: the call becomes offered and every
	// agent ringing, all or nothing. ErrConflict when the call is not waiting in
	// r.Queue (or its not-before time is ahead) or an agent is not idle and available.
	Reserve(ctx context.Context, r Reservation) ([]Change, error)
	// Answer connects an offered call to one of the agents it rings: the call leaves
	// the store, the agent is on the call, the other agents of a ring-all offer go
	// back to idle. ErrStale when the offer is gone (expired, abandoned, answered).
	Answer(ctx context.Context, callID, offerID, agentID string, now time.Time) (Entry, []Change, error)
	// Release ends one agent's part of an offer that was not answered. A counted
	// result (rejected, no answer, failed) puts the agent in missed for the policy's
	// pause and may start the automatic break; OfferUnknown (cancelled) makes them
	// idle. When no agent is left ringing the call is waiting again, in its place.
	// ErrStale when the agent is not ringing for this offer any more.
	Release(ctx context.Context, r ReleaseRequest) (Released, error)
	// Complete moves an agent who was on callID to wrap-up until wrapUntil (or to
	// idle when wrapUntil is not after now).
	Complete(ctx context.Context, agentID, callID string, wrapUntil, now time.Time) ([]Change, error)
	// Ready ends an agent's wrap-up or missed pause early (the agent pressed ready).
	// It is a no-op for an agent in any other activity.
	Ready(ctx context.Context, agentID string, now time.Time) ([]Change, error)

	// Reconcile applies the timeouts that keep the state from getting stuck: offers
	// ringing past their deadline plus grace are released as no-answers (the call
	// waits again in its place, the agent is missed), and wrap-ups and missed
	// pauses that have ended make their agents idle.
	Reconcile(ctx context.Context, now time.Time, grace time.Duration, policy MissPolicy) (Reconciled, error)

	// Snapshot returns every agent and entry as of one moment, sorted (agents by id,
	// entries by arrival then call id), plus the round-robin cursors.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Changed receives a value (coalesced) after any transition, from any node, so a
	// dispatcher can wake up. It never closes.
	Changed() <-chan struct{}
}

// Errors a Store returns; the engine branches on them with errors.Is.
var (
	ErrNotFound = errors.New("acd: not found")
	ErrExists   = errors.New("acd: already exists")
	ErrFull     = errors.New("acd: queue full")
	ErrConflict = errors.New("acd: state changed (reservation refused)")
	ErrStale    = errors.New("acd: offer no longer valid")
	ErrBusy     = errors.New("acd: agent busy")
)

// Agent is an agent's profile: who they are and what they can do.
type Agent struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Extension string `json:"extension,omitempty"` // the number callers and phones know them by
	Skills    Skills `json:"skills,omitempty"`
}

// AgentState is an agent's profile and state in the Store.
type AgentState struct {
	Agent
	Presence  Presence  `json:"presence"`
	Reason    string    `json:"reason,omitempty"` // break reason
	Activity  Activity  `json:"activity"`
	Since     time.Time `json:"since"`             // when Activity last changed
	IdleSince time.Time `json:"idle_since"`        // end of the last call's wrap-up, or login: longest_idle's key
	CallID    string    `json:"call_id,omitempty"` // the call ringing, talking or wrapped up
	Queue     string    `json:"queue,omitempty"`   // CallID's queue
	OfferID   string    `json:"offer_id,omitempty"`
	// Deadline is when ringing must be answered (the ring timeout; Reconcile adds
	// grace), or when wrap-up or the missed pause ends.
	Deadline time.Time `json:"deadline,omitzero"`
	Missed   int       `json:"missed"` // consecutive unanswered offers
	Calls    int       `json:"calls"`  // calls answered since login
}

// State folds the agent's presence and activity (see State).
func (a AgentState) State() State { return StateOf(a.Presence, a.Activity) }

// Offerable reports whether an offer may be reserved for the agent now.
func (a AgentState) Offerable() bool {
	return a.Presence == PresenceAvailable && a.Activity == ActivityIdle
}

// EntryKind tells a caller on the line from a pending callback.
type EntryKind uint8

// Entry kinds.
const (
	KindUnknown  EntryKind = iota
	KindInbound            // a caller waiting on the line (owned by one node)
	KindCallback           // a callback keeping the caller's place; any node may dial it
)

// EntryState is where a call in the store is: waiting or being offered.
type EntryState uint8

// Entry states. A connected call is not in the store: Answer removes it.
const (
	EntryUnknown EntryState = iota
	EntryWaiting
	EntryOffered
)

// Entry is one call in a queue.
type Entry struct {
	CallID   string
	Queue    string
	Kind     EntryKind
	Priority int    // 0 to 10 from the flow; higher is served first
	Skills   Skills // the requirement before relaxation
	// Arrived is when the caller first joined any queue; overflow and callbacks keep
	// it, so ordering (age breaks ties) keeps the caller's place.
	Arrived time.Time
	// Joined is when the call entered this queue: waits, ASA and relaxation count
	// from here.
	Joined    time.Time
	Node      string // the engine node owning the caller's leg (inbound)
	State     EntryState
	OfferID   string
	Agents    []string  // the agents an offer rings
	Deadline  time.Time // when the offer's ring timeout ends
	NotBefore time.Time // a callback retry waits until then
	Attempts  int       // callback dial attempts so far
}

// Reservation asks Reserve to offer a call to agents.
type Reservation struct {
	CallID   string
	OfferID  string
	Queue    string // the queue planned for (the call must still be there) and the round-robin cursor
	Agents   []string
	Deadline time.Time // now + ring timeout
	Now      time.Time
}

// MissPolicy is what an unanswered offer does to an agent.
type MissPolicy struct {
	// Pause is how long the agent stays in missed before they are offered again.
	Pause time.Duration
	// BreakAfter puts the agent on break after this many consecutive unanswered
	// offers; 0 never does.
	BreakAfter int
}

// AutoBreakReason is the break reason of an agent the engine put on break after
// MissPolicy.BreakAfter unanswered offers.
const AutoBreakReason = "missed offers"

// ReleaseRequest names the offer an agent did not answer and what happened.
type ReleaseRequest struct {
	CallID, OfferID, AgentID string
	// Result is OfferRejected, OfferNoAnswer or OfferFailed (counted) or
	// OfferUnknown (cancelled: another agent answered, the caller left).
	Result OfferResult
	Now    time.Time
	Policy MissPolicy
}

// Released says what Release did.
type Released struct {
	Requeued  bool // no agent rings the call any more: it waits again
	AutoBreak bool // the agent was put on break (MissPolicy.BreakAfter)
	Queue     string
	Changes   []Change
}

// Expired is an offer Reconcile released because it rang past deadline + grace.
type Expired struct {
	CallID, OfferID, AgentID, Queue string
	Since                           time.Time // when the offer started ringing
	AutoBreak                       bool
}

// Reconciled says what Reconcile did.
type Reconciled struct {
	Expired []Expired
	Changes []Change
}

// Change is one agent's State changing, as a transition reports it; the engine
// logs each as an AGENTSTATE event (occupancy and after-call work come from them)
// and updates the hotline_agents gauge.
type Change struct {
	Agent    string
	From, To State
	Reason   string // break reason when To is break
	// CallID is the call the agent was busy with (leaving on_call or wrap_up) or is
	// now busy with (entering ringing or on_call).
	CallID string
	// Queue is the call's queue, when known (entering ringing or on_call).
	Queue string
}

// Snapshot is the whole state at one moment.
type Snapshot struct {
	Agents  []AgentState
	Entries []Entry
	Cursors map[string]string // queue -> agent id chosen last (round robin)
}
