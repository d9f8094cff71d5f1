package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// QueueStatus is a queue's live state (acd.QueueStatus in API units).
type QueueStatus struct {
	Queue           string   `json:"queue"`
	Waiting         int      `json:"waiting"` // calls in the queue, offered ones and callbacks included
	Callbacks       int      `json:"callbacks"`
	LongestWait     Duration `json:"longest_wait_seconds"`
	AgentsStaffed   int      `json:"agents_staffed"`
	AgentsAvailable int      `json:"agents_available"`
	// EstimatedWait is the wait a caller joining now would be told; nil when no
	// eligible agent is staffed (acd's EstimateKnown false).
	EstimatedWait *Duration `json:"estimated_wait_seconds"`
}

// QueueFigures are the figures of shared/METRICS.md for one queue ("" for all)
// over [From, To). Counts come from the queue event log; the ratios and means are
// computed by the backend with acd.Figures' methods (the one implementation of the
// definitions) and are nil when their denominator is zero.
type QueueFigures struct {
	Queue          string    `json:"queue"`
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	Offered        int       `json:"offered"`
	Answered       int       `json:"answered"`
	AnsweredInSL   int       `json:"answered_in_sl"` // answered within T_sl
	Abandoned      int       `json:"abandoned"`      // short abandons excluded
	ShortAbandoned int       `json:"short_abandoned"`
	FlowedOut      int       `json:"flowed_out"` // overflow, callback, max wait, closed
	Handled        int       `json:"handled"`    // conversations whose wrap-up ended
	// ServiceLevel is answered within T_sl ÷ (answered + abandoned), 0 to 1.
	ServiceLevel *float64 `json:"service_level"`
	// AnswerRate is answered ÷ (offered − short abandons).
	AnswerRate *float64 `json:"answer_rate"`
	// AbandonRate is abandoned ÷ (offered − short abandons).
	AbandonRate *float64 `json:"abandon_rate"`
	// ASA is the mean wait of answered calls; AHT talk plus wrap-up per handled call.
	ASA *Duration `json:"asa_seconds"`
	AHT *Duration `json:"aht_seconds"`
	// Occupancy is time on calls or wrap-up ÷ logged-in time excluding breaks
	// (engine-wide, whatever Queue is).
	Occupancy *float64 `json:"occupancy"`
	Targets   Targets  `json:"targets"`
}

// Targets are a queue's goals, which the wallboard colours figures against. A
// zero field takes its default (the Default*Target constants, from METRICS.md and
// the seeds) when the API serves it.
type Targets struct {
	ServiceLevel float64 `json:"service_level"` // the least SL on target (0.8)
	// ServiceLevelThreshold is T_sl, the answer time SL counts (20 s).
	ServiceLevelThreshold Duration `json:"service_level_threshold_seconds"`
	AnswerRate            float64  `json:"answer_rate"`  // the least answer rate on target (0.95)
	AbandonRate           float64  `json:"abandon_rate"` // the most abandonment on target (0.05)
}

// Target defaults. SL 80/20 and the answer rate above 95 % are METRICS.md's;
// METRICS.md sets no abandonment target, and 5 % is the common industry ceiling
// (the seeds' 0.6 % is an aspiration a queue can configure, not a default that
// would paint every wallboard red).
const (
	DefaultServiceLevelTarget    = 0.80
	DefaultServiceLevelThreshold = 20 * time.Second
	DefaultAnswerRateTarget      = 0.95
	DefaultAbandonRateTarget     = 0.05
)

// withDefaults fills zero targets with the defaults.
func (t Targets) withDefaults() Targets {
	if t.ServiceLevel == 0 {
		t.ServiceLevel = DefaultServiceLevelTarget
	}
	if t.ServiceLevelThreshold == 0 {
		t.ServiceLevelThreshold = Duration(DefaultServiceLevelThreshold)
	}
	if t.AnswerRate == 0 {
		t.AnswerRate = DefaultAnswerRateTarget
	}
	if t.AbandonRate == 0 {
		t.AbandonRate = DefaultAbandonRateTarget
	}
	return t
}

// QueueOverview is a queue's live state and today's figures: one row of the
// queue list and of the wallboard.
type QueueOverview struct {
	QueueStatus
	Today QueueFigures `json:"today"`
}

// Presence is what an agent chose (acd.Presence by name).
type Presence string

// The presences an agent can be set to.
const (
	PresenceUnknown   Presence = ""
	PresenceAvailable Presence = "available"
	PresenceBreak     Presence = "break"
	PresenceOffline   Presence = "offline"
)

func (p Presence) valid() bool {
	return p == PresenceAvailable || p == PresenceBreak || p == PresenceOffline
}

// AgentStatus is an agent's profile and state (acd.AgentState in API units).
type AgentStatus struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Extension string         `json:"extension"`
	Skills    map[string]int `json:"skills,omitempty"`
	Presence  Presence       `json:"presence"`
	Reason    string         `json:"reason"`   // break reason
	Activity  string         `json:"activity"` // idle, ringing, on_call, wrap_up, missed
	// State folds presence and activity (acd.State): offline, available, break,
	// ringing, on_call, wrap_up, missed. The wallboard counts agents by it.
	State  string    `json:"state"`
	Since  time.Time `json:"since"`
	CallID string    `json:"call_id"`
	Queue  string    `json:"queue"`
	Calls  int       `json:"calls"`  // answered since login
	Missed int       `json:"missed"` // consecutive unanswered offers
}

// PresenceChange is the body of PUT /api/v1/agents/{id}/presence.
type PresenceChange struct {
	Presence Presence `json:"presence"`
	Reason   string   `json:"reason,omitempty"` // for break
}

// FlowInfo is a loaded flow.
type FlowInfo struct {
	Name     string    `json:"name"`
	Version  string    `json:"version"` // content hash; call records name it
	File     string    `json:"file"`
	LoadedAt time.Time `json:"loaded_at"`
	Default  bool      `json:"default"` // answers inbound calls
}

// ValidationError is what Flows.Reload returns (possibly wrapped) when it refuses
// the new flows: every problem, so the author fixes them in one pass. The old
// flows keep serving. The API answers 422 with the problems.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems as file:line:col: message, one a line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flows refused: %d problem(s)", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	return b.String()
}

// Problem is one flow validation problem (flows.Error).
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"` // 1-based; 0 when unknown
	Col     int    `json:"col"`  // 1-based; 0 when unknown
	Message string `json:"message"`
}

// String formats p as file:line:col: message.
func (p Problem) String() string {
	pos := p.File
	if p.Line > 0 {
		pos = fmt.Sprintf("%s:%d", pos, p.Line)
		if p.Col > 0 {
			pos = fmt.Sprintf("%s:%d", pos, p.Col)
		}
	}
	if pos == "" {
		return p.Message
	}
	return pos + ": " + p.Message
}

// TicketStatus is where a work ticket stands.
type TicketStatus string

// The ticket statuses (store.Ticket*).
const (
	TicketUnknown    TicketStatus = ""
	TicketOpen       TicketStatus = "open"
	TicketInProgress TicketStatus = "in_progress"
	TicketResolved   TicketStatus = "resolved"
	TicketClosed     TicketStatus = "closed"
)

func (s TicketStatus) valid() bool {
	switch s {
	case TicketOpen, TicketInProgress, TicketResolved, TicketClosed:
		return true
	}
	return false
}

// Ticket is a work ticket (store.Ticket).
type Ticket struct {
	ID         string          `json:"id"`
	CallID     string          `json:"call_id"`
	Category   string          `json:"category"`
	Priority   string          `json:"priority"` // low, normal, high or urgent
	Status     TicketStatus    `json:"status"`
	Caller     string          `json:"caller"`
	Called     string          `json:"called"`
	Flow       string          `json:"flow"`
	Language   string          `json:"language"`
	Summary    string          `json:"summary"`
	Fields     json.RawMessage `json:"fields,omitempty"` // collected data, a JSON object
	Transcript []string        `json:"transcript,omitempty"`
	Recordings []string        `json:"recordings,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// TicketUpdate is the body of PATCH /api/v1/tickets/{id}.
type TicketUpdate struct {
	Status TicketStatus `json:"status"`
}

// TicketQuery selects tickets, newest first (store.TicketFilter).
type TicketQuery struct {
	Status   TicketStatus
	Category string
	Caller   string
	CallID   string
	From, To time.Time // From <= CreatedAt < To
	Limit    int
	Cursor   string
}

// TicketPage is one page of tickets; Next is "" after the last.
type TicketPage struct {
	Tickets []Ticket
	Next    string
}

// SurveyResult is one answered survey question (store.SurveyResult).
type SurveyResult struct {
	CallID string    `json:"call_id"`
	At     time.Time `json:"at"`
	Node   string    `json:"node"`
	Var    string    `json:"var"`
	Score  int       `json:"score"` // 1 to 5
}

// SurveyQuery selects survey results, oldest first (store.SurveyFilter).
type SurveyQuery struct {
	CallID   string
	From, To time.Time
	Limit    int
}

// Ban is a source the flood guard refuses.
type Ban struct {
	Key    string    `json:"key"`  // what is banned: an IP address or a number
	Kind   string    `json:"kind"` // ip or number
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until,omitzero"` // zero: until cleared
	Hits   int       `json:"hits"`           // attempts refused since
}

// CallCounts are the live calls by stage, the wallboard's three big numbers.
type CallCounts struct {
	InIVR      int `json:"in_ivr"`
	Waiting    int `json:"waiting"`
	WithAgents int `json:"with_agents"`
}

// WallboardData is one sample of what the wallboard shows.
type WallboardData struct {
	Calls  CallCounts      `json:"calls"`
	Queues []QueueOverview `json:"queues"`
	// Agents counts agents by state (AgentStatus.State); states with none may be
	// left out.
	Agents map[string]int `json:"agents"`
}

// WallboardUpdate is one server-sent event of /api/v1/events/wallboard: a sample,
// when it was taken, and the calls of the last hour.
type WallboardUpdate struct {
	At time.Time `json:"at"`
	WallboardData
	History []HistoryPoint `json:"history"`
	// Interval is how often updates come, so the page can tell a stalled stream.
	Interval Duration `json:"interval_seconds"`
	// Error is set when the sample failed: the figures are the last good ones.
	Error string `json:"error,omitempty"`
}

// HistoryPoint is one minute of the chart: the sample with the most calls at once
// in the minute starting at T, by stage (one sample, so a call that moved from the
// IVR to a queue within the minute counts once).
type HistoryPoint struct {
	T          time.Time `json:"t"`
	InIVR      int       `json:"in_ivr"`
	Waiting    int       `json:"waiting"`
	WithAgents int       `json:"with_agents"`
}
