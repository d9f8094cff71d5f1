package acd

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Presence is what the agent chose: it is theirs to set (API, softphone button, phone
// feature code) and the engine changes it on its own only for the automatic break
// after too many unanswered offers. It is kept apart from Activity so that an agent
// who goes on break during a call is on break once the call and its wrap-up end,
// without losing what they asked for.
type Presence uint8

// Presence values. The zero value is PresenceUnknown so that a forgotten field is
// visible rather than silently "offline".
const (
	PresenceUnknown   Presence = iota
	PresenceOffline            // logged out: not counted as staffed
	PresenceAvailable          // ready for calls
	PresenceBreak              // logged in, not taking calls (a reason says why)
)

var presenceNames = []string{"unknown", "offline", "available", "break"}

// String returns the presence's config and API name.
func (p Presence) String() string { return enumString(presenceNames, int(p)) }

// MarshalText encodes the presence by name (JSON, YAML).
func (p Presence) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes a presence name.
func (p *Presence) UnmarshalText(b []byte) error {
	return enumParse(presenceNames, "presence", string(b), (*uint8)(p))
}

// Activity is what the system sees the agent doing. Only the engine changes it, and
// only through the Store's atomic transitions.
type Activity uint8

// Activity values.
const (
	ActivityUnknown Activity = iota
	ActivityIdle             // not busy: offerable if the presence is available
	ActivityRinging          // an offer is ringing the agent's endpoint
	ActivityOnCall           // talking to a caller
	ActivityWrapUp           // after-call work, for the queue's wrap-up time
	ActivityMissed           // did not answer an offer; held back for the missed pause
)

var activityNames = []string{"unknown", "idle", "ringing", "on_call", "wrap_up", "missed"}

// String returns the activity's API name.
func (a Activity) String() string { return enumString(activityNames, int(a)) }

// MarshalText encodes the activity by name.
func (a Activity) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes an activity name.
func (a *Activity) UnmarshalText(b []byte) error {
	return enumParse(activityNames, "activity", string(b), (*uint8)(a))
}

// State folds Presence and Activity into the one word a wallboard shows and the
// hotline_agents{state} gauge counts: the activity while the agent is busy with a call
// (ringing, on_call, wrap_up, missed), otherwise the presence (available, break,
// offline). Occupancy uses it: on_call and wrap_up are busy time; everything but
// offline and break is staffed time.
type State uint8

// State values.
const (
	StateUnknown State = iota
	StateOffline
	StateAvailable
	StateBreak
	StateRinging
	StateOnCall
	StateWrapUp
	StateMissed
)

var stateNames = []string{"unknown", "offline", "available", "break", "ringing", "on_call", "wrap_up", "missed"}

// States lists every known state, in gauge order.
var States = []State{StateOffline, StateAvailable, StateBreak, StateRinging, StateOnCall, StateWrapUp, StateMissed}

// String returns the state's name, as used in the hotline_agents gauge.
func (s State) String() string { return enumString(stateNames, int(s)) }

// MarshalText encodes the state by name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	return enumParse(stateNames, "state", string(b), (*uint8)(s))
}

// Staffed reports whether time in s counts as logged-in time for occupancy.
func (s State) Staffed() bool { return s >= StateAvailable && s != StateBreak }

// Busy reports whether time in s counts as time on calls or wrap-up for occupancy.
func (s State) Busy() bool { return s == StateOnCall || s == StateWrapUp }

// StateOf combines a presence and an activity (see State).
func StateOf(p Presence, a Activity) State {
	switch a {
	case ActivityRinging:
		return StateRinging
	case ActivityOnCall:
		return StateOnCall
	case ActivityWrapUp:
		return StateWrapUp
	case ActivityMissed:
		return StateMissed
	}
	switch p {
	case PresenceAvailable:
		return StateAvailable
	case PresenceBreak:
		return StateBreak
	case PresenceOffline:
		return StateOffline
	}
	return StateUnknown
}

// Strategy chooses among the agents who could take a call.
type Strategy uint8

// Strategies. LongestIdle is the default: it spreads work fairly and is what callers'
// figures (ASA) are least sensitive to.
const (
	StrategyUnknown        Strategy = iota
	StrategyLongestIdle             // the agent idle the longest (since their last call or login)
	StrategyRoundRobin              // the next agent after the one this queue chose last, by id
	StrategyFewestCalls             // the agent who answered the fewest calls since logging in
	StrategyBestSkillMatch          // the highest total level in the call's required skills
	StrategyRingAll                 // every eligible agent at once; the first to answer wins
)

var strategyNames = []string{"unknown", "longest_idle", "round_robin", "fewest_calls", "best_skill_match", "ring_all"}

// String returns the strategy's config name.
func (s Strategy) String() string { return enumString(strategyNames, int(s)) }

// MarshalText encodes the strategy by name.
func (s Strategy) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a strategy name.
func (s *Strategy) UnmarshalText(b []byte) error {
	return enumParse(strategyNames, "strategy", string(b), (*uint8)(s))
}

// Outcome is how Enqueue ended. The names are the queue node's outcomes in flows
// (completed, full, timeout, closed, callback, error) plus abandoned, which no flow
// routes: it is returned, with the context's error, when the caller hung up.
type Outcome uint8

// Outcomes.
const (
	OutcomeUnknown   Outcome = iota
	OutcomeCompleted         // an agent talked to the caller and hung up; the caller is back in the flow
	OutcomeFull              // the queue held max_size calls
	OutcomeTimeout           // max wait passed with no overflow queue
	OutcomeClosed            // no agent could serve the queue (join/leave-when-empty rules)
	OutcomeCallback          // the caller took a callback; their place is kept
	OutcomeError             // the request was invalid or a component failed
	OutcomeAbandoned         // the caller hung up (context cancelled)
)

var outcomeNames = []string{"unknown", "completed", "full", "timeout", "closed", "callback", "error", "abandoned"}

// String returns the outcome's name, as the flow's outcome keys spell it.
func (o Outcome) String() string { return enumString(outcomeNames, int(o)) }

// MarshalText encodes the outcome by name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// OfferResult is what an Endpoint reports for one offer.
type OfferResult uint8

// Offer results. Rejected, NoAnswer and Failed all count as unanswered for the
// automatic break.
const (
	OfferUnknown  OfferResult = iota
	OfferAnswered             // the agent picked up; a Leg is returned
	OfferRejected             // the agent declined (SIP 486/603, softphone reject)
	OfferNoAnswer             // rang until the context's deadline
	OfferFailed               // could not ring: not registered, 4xx/5xx, network
)

var offerNames = []string{"unknown", "answered", "rejected", "no_answer", "failed"}

// String returns the result's name, as RINGNOANSWER reasons spell it.
func (r OfferResult) String() string { return enumString(offerNames, int(r)) }

// BridgeEnd says who ended a conversation, which decides COMPLETEAGENT,
// COMPLETECALLER or TRANSFER.
type BridgeEnd uint8

// Bridge ends.
const (
	EndUnknown  BridgeEnd = iota
	EndAgent              // the agent hung up: the caller goes back to the flow
	EndCaller             // the caller hung up
	EndTransfer           // the agent transferred the caller (BridgeResult.To says where)
)

var endNames = []string{"unknown", "agent", "caller", "transfer"}

// String returns the end's name.
func (b BridgeEnd) String() string { return enumString(endNames, int(b)) }

// Skills maps a skill name to a level from 1 (basic) to 5 (expert). For a call it
// holds minimum levels: an agent qualifies when each of their levels is at least
// the call's.
type Skills map[string]int

// MinSkillLevel and MaxSkillLevel bound skill levels, on agents and on requirements.
const (
	MinSkillLevel = 1
	MaxSkillLevel = 5
)

// Validate reports the first level outside 1–5 or empty skill name.
func (s Skills) Validate() error {
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("empty skill name")
		}
		if v := s[k]; v < MinSkillLevel || v > MaxSkillLevel {
			return fmt.Errorf("skill %q: level %d is outside %d to %d", k, v, MinSkillLevel, MaxSkillLevel)
		}
	}
	return nil
}

// Meets reports whether an agent with skills s meets requirement req.
func (s Skills) Meets(req Skills) bool {
	for k, min := range req {
		if s[k] < min {
			return false
		}
	}
	return true
}

// Score is the total of s's levels in req's skills: best_skill_match's measure.
func (s Skills) Score(req Skills) int {
	n := 0
	for k := range req {
		n += s[k]
	}
	return n
}

// Clone returns a copy of s (nil stays nil).
func (s Skills) Clone() Skills {
	if s == nil {
		return nil
	}
	return maps.Clone(s)
}

// String formats s as "billing:3,french:2" in name order, for logs and messages.
func (s Skills) String() string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(s)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", k, s[k])
	}
	return b.String()
}

func enumString(names []string, i int) string {
	if i < 0 || i >= len(names) {
		return names[0]
	}
	return names[i]
}

func enumParse(names []string, what, s string, dst *uint8) error {
	for i, n := range names[1:] {
		if n == s {
			*dst = uint8(i + 1)
			return nil
		}
	}
	return fmt.Errorf("unknown %s %q (one of %s)", what, s, strings.Join(names[1:], ", "))
}
