package acd

import (
	"context"
	"errors"
	"time"
)

// Interfaces the telephony side implements. acd defines them (the consumer owns
// its interfaces) so that SIP, WebRTC and test fakes plug in without acd importing
// any of them.

// Caller is the waiting caller's leg, as the flow runtime hands it to Enqueue. Every
// method blocks until done or until ctx ends, and must return promptly when ctx
// ends: the engine cancels ctx to interrupt hold for an announcement or a connect.
type Caller interface {
	// Hold plays music on hold (or the flow's hold prompt) until ctx ends, then
	// returns 0 and nil. When the caller presses a key it returns the key at once
	// (the engine acts on the callback key and calls Hold again). The caller must
	// never hear silence, including while an agent's phone rings: the engine keeps
	// Hold running until it bridges.
	Hold(ctx context.Context) (key byte, err error)
	// Announce speaks a position, wait or callback announcement and returns when it
	// has been played, or the key the caller pressed during it.
	Announce(ctx context.Context, a Announcement) (key byte, err error)
	// Bridge connects the caller with the agent's answered leg and returns when the
	// conversation ends, saying who ended it. It returns EndCaller when ctx ends
	// (the caller hung up).
	Bridge(ctx context.Context, agent Leg) (BridgeResult, error)
}

// TranscriptSource is optionally implemented by a Caller whose transcript grows while
// the caller waits (speech recognition running): the screen-pop then carries the
// transcript as of the offer instead of Call.Transcript.
type TranscriptSource interface {
	Transcript() string
}

// Leg is an agent's answered leg, returned by Endpoint.Offer. The Caller's Bridge
// takes it; the telephony side knows its concrete type.
type Leg interface {
	// Whisper plays text to the agent only (queue name, intent) before bridging.
	Whisper(ctx context.Context, text string) error
	// Hangup ends the agent's leg. It must be idempotent: the engine calls it after
	// every conversation and for answers that came too late.
	Hangup(ctx context.Context) error
}

// BridgeResult says how a conversation ended.
type BridgeResult struct {
	End BridgeEnd
	// To is the transfer target (EndTransfer): a queue name this engine knows (the
	// caller queues there) or anything else (the telephony side moved the call).
	To string
}

// TransferCaller is optionally implemented by a Caller that can connect itself to a
// transfer target outside the engine's queues (another agent, a number): once a
// conversation ended with EndTransfer to such a target, the engine records the
// TRANSFER (the first agent's talk time ends there, their wrap-up starts) and calls
// ConnectTransfer, which rings the target with the caller on hold, bridges them and
// returns when that conversation ends (EndAgent: the target hung up and the caller
// goes back to the flow; EndCaller). When it returns an error wrapping
// ErrTransferFailed (the target did not answer) the caller is queued again in the
// queue they were transferred from, keeping their arrival time.
type TransferCaller interface {
	ConnectTransfer(ctx context.Context, to string) (BridgeResult, error)
}

// ErrTransferFailed is wrapped by TransferCaller.ConnectTransfer when the target
// could not be reached: the engine queues the caller again.
var ErrTransferFailed = errors.New("acd: transfer target not reached")

// Endpoint is how an agent is reached: their registered SIP contacts or their
// WebRTC softphone. The telephony side registers one per agent with SetEndpoint
// (on REGISTER, on WebSocket connect) and removes it with nil.
type Endpoint interface {
	// Offer rings the agent with the call and returns when they answer (a Leg and
	// OfferAnswered), reject, fail, or when ctx ends (OfferNoAnswer). ctx carries the
	// ring timeout, and is also cancelled when the caller hangs up or another agent
	// answers a ring-all offer. An Endpoint that does not return by the deadline
	// plus the engine's grace is reconciled: the offer is counted as no answer and
	// a Leg returned afterwards is hung up.
	Offer(ctx context.Context, o Offer) (Leg, OfferResult, error)
}

// Dialer places callbacks. When an agent answers a callback offer, the engine dials
// the customer; the returned Caller is bridged to the agent as for an inbound call.
type Dialer interface {
	// Dial calls cb.Number and returns the customer's leg once they answered, or an
	// error (no answer, busy, failed): the callback is retried later.
	Dial(ctx context.Context, cb Callback) (Caller, error)
}

// Call is what the flow knows about the call: the screen-pop's material.
type Call struct {
	ID         string            // the call id, unique while the call lives
	Caller     string            // the caller's number
	Called     string            // the number dialled
	IVRPath    []string          // flow nodes visited, in order
	Digits     string            // digits collected
	Vars       map[string]string // the flow's screen_pop variables, rendered
	Intent     string            // the recognized intent
	Sentiment  float64           // -1 negative to 1 positive
	Transcript string            // what the caller said so far
}

// Request is what the flow's queue node asks.
type Request struct {
	Queue    string // the ACD queue id (the flow environment's binding)
	Priority int    // 0 to 10, higher first
	Skills   Skills // minimum levels, added to the queue's
	// AnnouncePosition and AnnounceWait ask for periodic announcements of the
	// caller's position and estimated wait.
	AnnouncePosition, AnnounceWait bool
	// Callback offers a callback (a Dialer must be configured); CallbackAfter delays
	// the offer; CallbackKey takes it (DefaultCallbackKey when 0); CallbackNumber is
	// where to call back (Call.Caller when empty).
	Callback       bool
	CallbackAfter  time.Duration
	CallbackKey    byte
	CallbackNumber string
	// Timeout is the flow's longest wait (timeouts.queue), counted from the first
	// queue the caller entered: then the timeout outcome, whatever the queue's
	// overflow. 0 leaves only the queue's max_wait.
	Timeout time.Duration
}

// EnqueueResult is how a queued call ended.
type EnqueueResult struct {
	Outcome Outcome
	Queue   string        // the queue the call was in last (after overflow or transfer)
	Agent   string        // the agent who answered (completed)
	Wait    time.Duration // time waiting, over every queue
	Talk    time.Duration // conversation time (completed)
	End     BridgeEnd     // who ended the conversation (completed)
	// TransferTo is a transfer target outside this engine's queues (completed, End
	// EndTransfer): the telephony side has moved the call (a TransferCaller has
	// connected it and the caller's talk with the target is over).
	TransferTo string
	CallbackID string // the pending callback (callback)
}

// Announcement is what the caller should hear at an announcement time.
type Announcement struct {
	Queue    string
	Position int // 1-based place among the queue's calls; 0 when not asked for
	// Wait is the estimated wait; WaitKnown is false when no agent could serve the
	// call now (say nothing rather than a made-up number).
	Wait          time.Duration
	WaitKnown     bool
	OfferCallback bool // "press CallbackKey to be called back, keeping your place"
	CallbackKey   byte
}

// Offer is one agent's offer of a call, as Endpoint.Offer receives it.
type Offer struct {
	OfferID     string
	CallID      string
	Queue       string
	Agent       string
	Callback    bool // a callback: the customer is dialled once the agent answers
	RingTimeout time.Duration
	ScreenPop   ScreenPop
}

// ScreenPop is the event the agent's client receives when a call is offered to
// them; the WebSocket layer serialises it as JSON.
type ScreenPop struct {
	Type         string            `json:"type"` // always "offer"
	OfferID      string            `json:"offer_id"`
	Agent        string            `json:"agent"`
	CallID       string            `json:"call_id"`
	Queue        string            `json:"queue"`
	CallerNumber string            `json:"caller_number"`
	Called       string            `json:"called,omitempty"`
	WaitSeconds  float64           `json:"wait_seconds"` // since entering the queue (callbacks: since requested)
	Priority     int               `json:"priority"`
	Skills       Skills            `json:"skills,omitempty"` // the requirement as relaxed at offer time
	IVRPath      []string          `json:"ivr_path,omitempty"`
	Digits       string            `json:"digits,omitempty"`
	Vars         map[string]string `json:"vars,omitempty"`
	Intent       string            `json:"intent,omitempty"`
	Sentiment    float64           `json:"sentiment"`
	Transcript   string            `json:"transcript,omitempty"`
	Callback     bool              `json:"callback,omitempty"`
	OfferedAt    time.Time         `json:"offered_at"`
}

// QueueStatus is a queue's live state: what flows' queue_size, queue_wait and
// agents_available report, and what a wallboard shows.
type QueueStatus struct {
	Queue           string        `json:"queue"`
	Waiting         int           `json:"waiting"` // calls in the queue, offered ones included
	Callbacks       int           `json:"callbacks"`
	LongestWait     time.Duration `json:"longest_wait_ns"`
	AgentsStaffed   int           `json:"agents_staffed"`   // eligible, available presence, any activity
	AgentsAvailable int           `json:"agents_available"` // eligible and idle now
	// EstimatedWait is the estimate for a caller joining now; EstimateKnown is false
	// when no eligible agent is staffed.
	EstimatedWait time.Duration `json:"estimated_wait_ns"`
	EstimateKnown bool          `json:"estimate_known"`
	AHT           time.Duration `json:"aht_ns"` // the smoothed AHT the estimate uses
}

// Errors Engine methods return.
var (
	ErrClosed       = errors.New("acd: engine closed")
	ErrUnknownQueue = errors.New("acd: unknown queue")
	ErrInvalid      = errors.New("acd: invalid request")
	ErrNoCallback   = errors.New("acd: callback not available")
)
