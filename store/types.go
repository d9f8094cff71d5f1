package store

import (
	"encoding/json"
	"slices"
	"time"
)

// CallState says whether a record is final. The zero value is StateUnknown, never
// stored.
type CallState string

// The record states.
const (
	StateUnknown CallState = ""
	// StateActive: the call is (or was, if the engine died) in progress; the record
	// holds what was known at the start or the last UpdateCall.
	StateActive CallState = "active"
	// StateEnded: the record is final, written by FinishCall or RecoverActive.
	StateEnded CallState = "ended"
)

// Direction says who placed the call.
type Direction string

// The directions; the zero value is DirectionUnknown.
const (
	DirectionUnknown  Direction = ""
	DirectionInbound  Direction = "inbound"  // a caller dialled the engine
	DirectionOutbound Direction = "outbound" // the engine originated it (reminders, callbacks)
)

// Disposition is how a call ended, for reports and the containment figure. The flow
// values mirror flows.Disposition*; rejected and failed are the engine's, for calls
// that never reached a flow. Other values are stored as given.
type Disposition string

// The dispositions; the zero value is DispositionUnknown.
const (
	DispositionUnknown     Disposition = ""
	DispositionResolved    Disposition = "resolved"    // the caller's need was met
	DispositionUnresolved  Disposition = "unresolved"  // ended without meeting it
	DispositionTransferred Disposition = "transferred" // left the flow for another party
	DispositionAbandoned   Disposition = "abandoned"   // the caller hung up first
	DispositionError       Disposition = "error"       // something failed (also set by RecoverActive)
	DispositionRejected    Disposition = "rejected"    // refused before a flow ran (busy, draining, auth)
	DispositionFailed      Disposition = "failed"      // set-up failed (no media, no flow)
)

// HangupSide says who ended the call.
type HangupSide string

// The hang-up sides; the zero value is HangupUnknown.
const (
	HangupUnknown HangupSide = ""
	HangupCaller  HangupSide = "caller" // the party who placed the call
	HangupCallee  HangupSide = "callee" // the party called (an agent, a transfer target, the customer of an outbound call)
	HangupEngine  HangupSide = "engine" // the flow, a timeout, a drain or a restart
)

// CauseEngineRestart is the hang-up cause RecoverActive writes: the engine died
// while the call was up, and the record was completed at the next start.
const CauseEngineRestart = "engine_restart"

// CallRecord is the durable record of one call (a CDR). Field comments give the
// unit; empty strings and zero numbers mean "not known" or "did not happen".
type CallRecord struct {
	ID string // the engine's call id, unique
	// Node is the engine node that owns the call. RecoverActive only completes the
	// records of its own node, so that one node restarting against a shared
	// PostgreSQL does not end the live calls of the others. Empty on StartCall: the
	// store's node (Config.Node) is written.
	Node  string
	State CallState // set by the store: active after StartCall, ended after FinishCall

	StartedAt  time.Time // the call reached the engine (INVITE received, or origination)
	AnsweredAt time.Time // answered (200 OK); zero if never
	EndedAt    time.Time // zero while active

	Direction Direction
	Caller    string // the calling number or URI user
	Called    string // the dialled number
	Trunk     string // the environment's trunk name, "" for a direct peer
	Transport string // udp, tcp, tls, ws, wss or webrtc
	Codec     string // the negotiated codec: PCMU, PCMA, G722, opus

	Flow        string   // the flow's name
	FlowVersion string   // the flow's content hash (reloads make new versions)
	Language    string   // the call's language at the end (en, zh)
	NodePath    []string // the executed nodes in order (subflow nodes as "flow:node")

	Intent           string  // the last intent recognized, "" for none
	IntentConfidence float64 // 0 to 1
	Sentiment        float64 // of the caller's last speech, -1 (negative) to 1 (positive)

	Disposition Disposition
	// Contained: the call ended inside the IVR resolved, without a queue or a
	// transfer (the self-service containment figure of METRICS.md).
	Contained bool

	Queue  string        // the last queue entered, "" for none
	Agent  string        // the agent who handled the call, "" for none
	Wait   time.Duration // in queue before an agent answered or the caller left (ms precision)
	Talk   time.Duration // connected to an agent (ms precision)
	Hold   time.Duration // on hold during the conversation (ms precision)
	WrapUp time.Duration // the agent's after-call work (ms precision)

	// Recordings are the call's recording files (the call recording, then
	// voicemails), as the recorder referenced them. Purge returns them.
	Recordings   []string
	SurveyScores []int    // every survey answer in order, 1 to 5
	TicketIDs    []string // tickets created during the call

	HangupCause string // a SIP reason or engine cause: normal_clearing, busy, cancel, no_answer, engine_restart…
	HangupSide  HangupSide

	Quality Quality

	// Vars are the flow's variables at the end of the call as a JSON object (nil for
	// none). It is JSON, not a map, so the record handed to a Writer is a snapshot the
	// call goroutine can go on changing.
	Vars json.RawMessage
}

// Quality is a call's media quality, from media/rtcp.Summary: what the engine
// received from the caller.
type Quality struct {
	PacketsSent     int64
	PacketsReceived int64
	PacketsLost     int64   // RFC 3550 A.3: expected - received
	LossPercent     float64 // lost as a percentage of expected
	JitterMs        float64 // interarrival jitter at the end, in milliseconds
	RTTMs           float64 // mean round-trip time from RTCP, 0 when unknown
	MOS             float64 // E-model estimate, 1 to 4.5; 0 when nothing was received
}

// Duration is how long the call lasted: EndedAt - StartedAt, or 0 while active.
func (r *CallRecord) Duration() time.Duration {
	if r.EndedAt.IsZero() || r.StartedAt.IsZero() {
		return 0
	}
	return r.EndedAt.Sub(r.StartedAt)
}

// clone copies the record's lists and vars, so the copy shares no memory with r.
func (r CallRecord) clone() CallRecord {
	r.NodePath, r.Recordings = slices.Clone(r.NodePath), slices.Clone(r.Recordings)
	r.SurveyScores, r.TicketIDs = slices.Clone(r.SurveyScores), slices.Clone(r.TicketIDs)
	r.Vars = slices.Clone(r.Vars)
	return r
}
