package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Duration is a span of time that encodes in JSON as seconds, a number with
// millisecond precision (12.5). Every duration in the API uses it and every such
// field ends in _seconds, so a client never has to guess between nanoseconds
// (Go's default encoding) and milliseconds.
type Duration time.Duration

// maxSeconds bounds decoded durations: about 292 years fits time.Duration.
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// MarshalJSON encodes d as seconds, rounded to the millisecond.
func (d Duration) MarshalJSON() ([]byte, error) {
	s := math.Round(float64(d)/float64(time.Millisecond)) / 1000
	return strconv.AppendFloat(nil, s, 'f', -1, 64), nil
}

// UnmarshalJSON decodes seconds (a JSON number).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a number of seconds: %w", err)
	}
	if math.IsNaN(s) || math.Abs(s) > maxSeconds {
		return errors.New("duration: out of range")
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Ratio returns &v when ok, else nil (JSON null). It turns the (value, ok) pairs
// acd.Figures methods return into a field in one expression:
// ServiceLevel: api.Ratio(f.ServiceLevel()). A ratio whose denominator is zero is
// null, because "no calls" is neither 0 % nor 100 %.
func Ratio(v float64, ok bool) *float64 {
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// DurationOf returns the Duration of d when ok, else nil (JSON null): the
// companion of Ratio for ASA and AHT.
func DurationOf(d time.Duration, ok bool) *Duration {
	if !ok {
		return nil
	}
	v := Duration(d)
	return &v
}

// CallStage is where a live call is: what the wallboard counts as "in IVR",
// "waiting in queue" and "with agents".
type CallStage string

// The stages; the zero value is StageUnknown.
const (
	StageUnknown CallStage = ""
	StageSetup   CallStage = "setup" // ringing or being answered; outbound: dialling
	StageIVR     CallStage = "ivr"   // in a flow
	StageQueue   CallStage = "queue" // waiting in an ACD queue
	StageAgent   CallStage = "agent" // talking to an agent (or an agent's phone rings while hold music plays: still queue)
)

// ActiveCall is a call in progress on this engine node.
type ActiveCall struct {
	ID          string    `json:"id"`
	Direction   string    `json:"direction"` // inbound or outbound
	Caller      string    `json:"caller"`
	Called      string    `json:"called"`
	Trunk       string    `json:"trunk"`     // the environment's trunk name, "" for a direct peer
	Transport   string    `json:"transport"` // udp, tcp, tls, ws, wss or webrtc
	Codec       string    `json:"codec"`     // "" until negotiated
	Source      string    `json:"source"`    // the peer's address (ip:port)
	StartedAt   time.Time `json:"started_at"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	Stage       CallStage `json:"stage"`
	Flow        string    `json:"flow"`
	FlowVersion string    `json:"flow_version"`
	Node        string    `json:"node"`  // the flow node running now
	Queue       string    `json:"queue"` // while in a queue or with an agent
	Agent       string    `json:"agent"` // while with an agent
	// Duration is filled by the API (now − StartedAt); backends leave it zero.
	Duration Duration `json:"duration_seconds"`
}

// OriginateRequest asks for an outbound call into a flow: the reminder and care
// calls. The engine dials To and, once answered, runs Flow with Vars set.
type OriginateRequest struct {
	To    string `json:"to"`              // number or SIP URI user to call
	From  string `json:"from,omitempty"`  // caller ID to present; the trunk's default when empty
	Trunk string `json:"trunk,omitempty"` // the environment's trunk name; the default trunk when empty
	Flow  string `json:"flow"`            // the flow to run once answered
	// Vars are set in the flow before it starts (string values; the flow's declared
	// types convert them).
	Vars map[string]string `json:"vars,omitempty"`
	// RingTimeout is how long to ring before giving up (0: the engine's default).
	RingTimeout Duration `json:"ring_timeout_seconds,omitempty"`
}

// Originated is the answer to an accepted OriginateRequest.
type Originated struct {
	CallID string `json:"call_id"`
}

// CallRecord is the durable record of one call (store.CallRecord, field for
// field). Empty strings and zeros mean "not known" or "did not happen".
type CallRecord struct {
	ID               string          `json:"id"`
	State            string          `json:"state"` // active or ended
	Node             string          `json:"node"`  // the engine node that owned the call
	StartedAt        time.Time       `json:"started_at"`
	AnsweredAt       time.Time       `json:"answered_at,omitzero"`
	EndedAt          time.Time       `json:"ended_at,omitzero"`
	Duration         Duration        `json:"duration_seconds"` // EndedAt − StartedAt; 0 while active
	Direction        string          `json:"direction"`        // inbound or outbound
	Caller           string          `json:"caller"`
	Called           string          `json:"called"`
	Trunk            string          `json:"trunk"`
	Transport        string          `json:"transport"`
	Codec            string          `json:"codec"`
	Flow             string          `json:"flow"`
	FlowVersion      string          `json:"flow_version"`
	Language         string          `json:"language"`
	NodePath         []string        `json:"node_path,omitempty"`
	Intent           string          `json:"intent"`
	IntentConfidence float64         `json:"intent_confidence"`
	Sentiment        float64         `json:"sentiment"`   // -1 negative to 1 positive
	Disposition      string          `json:"disposition"` // resolved, unresolved, transferred, abandoned, error, rejected, failed
	Contained        bool            `json:"contained"`
	Queue            string          `json:"queue"`
	Agent            string          `json:"agent"`
	Wait             Duration        `json:"wait_seconds"`
	Talk             Duration        `json:"talk_seconds"`
	Hold             Duration        `json:"hold_seconds"`
	WrapUp           Duration        `json:"wrap_up_seconds"`
	Recordings       []string        `json:"recordings,omitempty"` // names for GET /api/v1/recordings/{name}
	SurveyScores     []int           `json:"survey_scores,omitempty"`
	TicketIDs        []string        `json:"ticket_ids,omitempty"`
	HangupCause      string          `json:"hangup_cause"`
	HangupSide       string          `json:"hangup_side"` // caller, callee or engine
	Quality          Quality         `json:"quality"`
	Vars             json.RawMessage `json:"vars,omitempty"` // the flow's variables at the end, a JSON object
}

// Quality is a call's media quality as the engine received it.
type Quality struct {
	PacketsSent     int64   `json:"packets_sent"`
	PacketsReceived int64   `json:"packets_received"`
	PacketsLost     int64   `json:"packets_lost"`
	LossPercent     float64 `json:"loss_percent"`
	JitterMs        float64 `json:"jitter_ms"`
	RTTMs           float64 `json:"rtt_ms"`
	MOS             float64 `json:"mos"` // 1 to 4.5; 0 when nothing was received
}

// TimelineEvent is one line of a call's timeline (store.CallEvent): SIP messages in
// brief, flow nodes, prompts, recognized text, DTMF, queue events, quality.
type TimelineEvent struct {
	At     time.Time       `json:"at"`
	Kind   string          `json:"kind"` // sip, node, prompt, speech, dtmf, queue, quality, recording, error, note
	Name   string          `json:"name"`
	Detail string          `json:"detail"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// RecordDetail is a call record with its timeline, as GET /api/v1/records/{id}
// answers.
type RecordDetail struct {
	CallRecord
	Timeline []TimelineEvent `json:"timeline"`
}

// RecordQuery selects call records (store.SearchFilter, field for field). Every
// set field must match. Caller and Called match exactly, or as a prefix when they
// end in '*'.
type RecordQuery struct {
	From, To    time.Time // From <= StartedAt < To; a zero bound is open
	Caller      string
	Called      string
	Disposition string
	Queue       string
	Agent       string
	Flow        string
	State       string // active, ended or ""
	Limit       int    // 1 to MaxLimit; 0: the backend's default
	Cursor      string // RecordPage.Next of the previous page
}

// RecordPage is one page of call records, newest first; Next is the cursor of the
// next page, "" after the last.
type RecordPage struct {
	Records []CallRecord
	Next    string
}

// Page sizes of list queries, as the store applies them.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// AgentSpec is the body of POST /api/v1/agents (create) and PUT
// /api/v1/agents/{id} (replace the profile): an agent as acd.yaml defines one, plus
// the SIP password their phone registers with.
type AgentSpec struct {
	// ID is required on POST; on PUT the path names the agent and an id here, if
	// given, must be the same.
	ID        string         `json:"id,omitempty"`
	Name      string         `json:"name,omitempty"`
	Extension string         `json:"extension,omitempty"` // the number the phone registers as; default the id
	Skills    map[string]int `json:"skills,omitempty"`    // skill -> level 1 to 5
	// Password, when set, lets the agent's phone register with the engine's
	// registrar as Extension (or ID) with this digest password. It is kept as HA1
	// digests only and never returned; left out on PUT, the current one stays.
	Password string `json:"password,omitempty"`
}

// SkillsChange is the body of PUT /api/v1/agents/{id}/skills: the agent's new
// skills, replacing all of them.
type SkillsChange struct {
	Skills map[string]int `json:"skills"`
}
