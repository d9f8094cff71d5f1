package api

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// The backends the API serves. api defines them (the consumer owns its
// interfaces) and imports nothing of the engine: cmd/hotline adapts sip, ivr,
// acd, flows and store to them. A backend left nil makes its routes answer 501
// with a message naming what is missing, so a partial engine still serves the rest.
//
// Methods are called concurrently from request goroutines and must honour ctx.
// Errors wrap the sentinels below so the API answers with the right status;
// anything else is a 500 whose detail is logged, not sent.

// Errors backends wrap (with %w) to choose the HTTP status. The wrapped message
// is sent to the client for these, so it should say what was wrong in the
// client's terms ("queue \"billing\": not found").
var (
	ErrNotFound    = errors.New("not found")       // 404
	ErrInvalid     = errors.New("invalid request") // 400
	ErrConflict    = errors.New("conflict")        // 409: not in this state (an agent with no wrap-up to end)
	ErrUnavailable = errors.New("unavailable now") // 503: draining, over capacity, a store down
)

// Calls is the engine's live calls (sip and ivr, adapted by cmd).
type Calls interface {
	// ActiveCalls lists the calls in progress on this node.
	ActiveCalls(ctx context.Context) ([]ActiveCall, error)
	// ActiveCall returns one live call, or ErrNotFound.
	ActiveCall(ctx context.Context, id string) (ActiveCall, error)
	// Hangup ends a live call (BYE, or CANCEL before answer) for the given reason
	// (written as the record's hang-up cause, side engine). It returns once the
	// hang-up has started; the call's own teardown writes its record. ErrNotFound
	// for a call that is not (or no longer) up.
	Hangup(ctx context.Context, id, reason string) error
}

// Originator places outbound calls into a flow (reminders, care calls).
type Originator interface {
	// Originate validates the request (unknown flow or trunk: ErrInvalid), starts
	// dialling and returns the new call's id at once, without waiting for an
	// answer: the call's record says how it went. Over capacity: ErrUnavailable.
	Originate(ctx context.Context, req OriginateRequest) (callID string, err error)
}

// Records is the durable call records (store.Store).
type Records interface {
	// SearchRecords returns one page of records, newest first. A query the store
	// cannot use (a bad cursor) is ErrInvalid.
	SearchRecords(ctx context.Context, q RecordQuery) (RecordPage, error)
	// Record returns one record, or ErrNotFound.
	Record(ctx context.Context, id string) (CallRecord, error)
	// Timeline returns a call's events in time order, queue events merged in.
	Timeline(ctx context.Context, id string) ([]TimelineEvent, error)
}

// Recordings opens recording files by the names call records list. DirRecordings
// is the implementation over a directory; cmd uses it unless recordings live
// elsewhere.
type Recordings interface {
	// Open returns the recording, or ErrNotFound. name has been checked by the API
	// (a slash-separated relative path without dot segments), but an implementation
	// must still refuse to leave its storage: DirRecordings does with os.Root.
	Open(ctx context.Context, name string) (RecordingFile, error)
}

// RecordingFile is an open recording; *os.File implements it. The API serves it
// with http.ServeContent, so range requests (seeking in a player) work.
type RecordingFile interface {
	io.ReadSeekCloser
	Stat() (fs.FileInfo, error)
}

// Queues is the ACD's queues and their figures (acd.Engine, adapted by cmd).
type Queues interface {
	// QueueNames lists the configured queues, in display order.
	QueueNames(ctx context.Context) ([]string, error)
	// QueueStatus returns a queue's live state; an unknown queue is ErrNotFound.
	QueueStatus(ctx context.Context, queue string) (QueueStatus, error)
	// QueueFigures returns queue's figures ("" for all queues) for the intervals
	// starting in [from, to) (acd.Engine.Figures) and its Targets.
	QueueFigures(ctx context.Context, queue string, from, to time.Time) (QueueFigures, error)
	// QueueToday returns queue's figures ("" for all) since midnight in the
	// engine's time zone (acd.Engine.Today) and its Targets.
	QueueToday(ctx context.Context, queue string) (QueueFigures, error)
}

// Agents is the ACD's agents and the supervisor's commands (acd.Engine).
type Agents interface {
	// Agents lists every agent with their state.
	Agents(ctx context.Context) ([]AgentStatus, error)
	// SetPresence records what an agent chose (available, break with a reason,
	// offline); it does not interrupt a call. Unknown agent: ErrNotFound.
	SetPresence(ctx context.Context, id string, p Presence, reason string) error
	// Ready ends an agent's wrap-up or missed pause early. Unknown agent:
	// ErrNotFound; an agent with nothing to end: ErrConflict.
	Ready(ctx context.Context, id string) error
}

// AgentAdmin creates, changes and deletes agents at run time (the ACD with its
// agents file, adapted by cmd). An Agents backend that also implements it serves
// POST /api/v1/agents, PUT and DELETE /api/v1/agents/{id} and PUT
// /api/v1/agents/{id}/skills; without it they answer 501. The API has checked the
// spec's shape (ids, levels 1 to 5, lengths); the backend checks what needs its
// state.
type AgentAdmin interface {
	// CreateAgent adds an agent, offline until they log in. An id in use:
	// ErrConflict.
	CreateAgent(ctx context.Context, a AgentSpec) (AgentStatus, error)
	// UpdateAgent replaces an agent's profile; their presence and a call in
	// progress are kept (new skills count from the next offer). Unknown: ErrNotFound.
	UpdateAgent(ctx context.Context, a AgentSpec) (AgentStatus, error)
	// SetSkills replaces an agent's skills only. Unknown: ErrNotFound.
	SetSkills(ctx context.Context, id string, skills map[string]int) (AgentStatus, error)
	// DeleteAgent removes an agent. Ringing or on a call: ErrConflict (delete
	// once the call ends); unknown: ErrNotFound.
	DeleteAgent(ctx context.Context, id string) error
}

// Flows is the loaded flows and their hot reload (flows.LoadDir behind cmd).
type Flows interface {
	// Flows lists the flows new calls run.
	Flows(ctx context.Context) ([]FlowInfo, error)
	// Reload loads and validates the flow files again and, only if every file is
	// valid, swaps them in for new calls (live calls finish on theirs) and returns
	// the new list. Refused: a *ValidationError (possibly wrapped) listing every
	// problem, the old flows still serving.
	Reload(ctx context.Context) ([]FlowInfo, error)
}

// Tickets is the work tickets (store.Store).
type Tickets interface {
	// Tickets returns one page of tickets, newest first.
	Tickets(ctx context.Context, q TicketQuery) (TicketPage, error)
	// Ticket returns one ticket, or ErrNotFound.
	Ticket(ctx context.Context, id string) (Ticket, error)
	// SetTicketStatus changes a ticket's status and returns it updated, or
	// ErrNotFound.
	SetTicketStatus(ctx context.Context, id string, s TicketStatus) (Ticket, error)
}

// Surveys is the post-call survey answers (store.Store).
type Surveys interface {
	// SurveyResults returns the answers q selects, oldest first, at most q.Limit
	// (DefaultLimit when 0).
	SurveyResults(ctx context.Context, q SurveyQuery) ([]SurveyResult, error)
}

// Bans is the flood guard's ban list (the guard itself comes later; this is what
// the API needs from it).
type Bans interface {
	// Bans lists the sources refused now.
	Bans(ctx context.Context) ([]Ban, error)
	// Unban lifts one ban by its key, or ErrNotFound.
	Unban(ctx context.Context, key string) error
	// UnbanAll lifts every ban and says how many there were.
	UnbanAll(ctx context.Context) (int, error)
}

// Readiness says whether this node should be sent new calls: /readyz answers 503
// while Ready returns an error (draining after SIGTERM, over capacity), with the
// error as the reason, so Kamailio's dispatcher or a load balancer stops routing.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Wallboard samples what the wallboard shows. It is called once per update
// interval (every second) by one goroutine, whatever the number of viewers, so it
// may read the ACD's snapshot but should not scan the call records.
// NewWallboard builds one from Calls, Queues and Agents.
type Wallboard interface {
	Wallboard(ctx context.Context) (WallboardData, error)
}
