package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
)

// Engine is what Queue needs of the ACD; *acd.Engine is one.
type Engine interface {
	Enqueue(ctx context.Context, call acd.Call, req acd.Request, caller acd.Caller) (acd.EnqueueResult, error)
	Status(ctx context.Context, queue string) (acd.QueueStatus, error)
}

var (
	_ Engine         = (*acd.Engine)(nil)
	_ ivr.Queue      = (*Queue)(nil)
	_ ivr.QueueInfo  = (*Queue)(nil)
	_ acd.Caller     = (*caller)(nil)
	_ EndpointSetter = (*acd.Engine)(nil)
)

// DefaultHoldPromptEvery is how often a queue node's hold prompt comes back between
// stretches of music on hold.
const DefaultHoldPromptEvery = 30 * time.Second

// Queue hands a flow's calls to the ACD: it is the ivr.Queue cmd/hotline wires with
// ivr.WithQueue. Safe for concurrent use.
type Queue struct {
	engine      Engine
	music       *bridge.Music
	promptEvery time.Duration
	dtmf        bool
	dtmfMode    media.DTMFMode
	log         *slog.Logger

	transfers TransferDialer // rings agents and numbers a caller is transferred to
	convMu    sync.Mutex
	convs     map[string]*conversation // the calls talking to an agent, by call id (Monitor, Transfer)
}

// QueueOption configures a Queue.
type QueueOption func(*Queue)

// WithMusic sets the music on hold (default: the built-in tune of bridge.Tune).
func WithMusic(m *bridge.Music) QueueOption { return func(q *Queue) { q.music = m } }

// WithHoldPromptEvery sets how long the music plays between repetitions of a queue
// node's hold prompt (default DefaultHoldPromptEvery).
func WithHoldPromptEvery(d time.Duration) QueueOption {
	return func(q *Queue) { q.promptEvery = d }
}

// WithDTMFPassthrough forwards keys between caller and agent while they talk (so an
// agent's IVR prompts or a caller's card entry reach the other side), in mode.
// Default off: the keys are nobody's during the conversation.
func WithDTMFPassthrough(mode media.DTMFMode) QueueOption {
	return func(q *Queue) { q.dtmf, q.dtmfMode = true, mode }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) QueueOption { return func(q *Queue) { q.log = l } }

// NewQueue returns the flow runtime's queue over engine.
func NewQueue(engine Engine, opts ...QueueOption) (*Queue, error) {
	if engine == nil {
		return nil, errors.New("telephony: queue without an ACD engine")
	}
	q := &Queue{engine: engine, promptEvery: DefaultHoldPromptEvery, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(q)
	}
	if q.music == nil {
		m, err := bridge.NewMusic("")
		if err != nil {
			return nil, err
		}
		q.music = m
	}
	if err := q.music.Prepare(8000, 16000, 48000); err != nil { // G.711, G.722, Opus
		return nil, fmt.Errorf("telephony: music on hold: %w", err)
	}
	if q.promptEvery <= 0 {
		return nil, fmt.Errorf("telephony: hold prompt interval %v must be positive", q.promptEvery)
	}
	return q, nil
}

// Enqueue implements ivr.Queue: it runs the call through the ACD and maps how it
// left to the queue node's outcomes. A caller who hangs up gets ctx's error (the
// runtime records the abandon); an invalid request or a failed component an error.
func (q *Queue) Enqueue(ctx context.Context, req ivr.QueueRequest) (ivr.QueueResult, error) {
	if req.Leg == nil || req.Leg.Channel() == nil {
		return ivr.QueueResult{Outcome: flows.OutcomeError}, fmt.Errorf("telephony: enqueue %s: no call leg", req.CallID)
	}
	log := q.log.With("call_id", req.CallID, "queue", req.Queue)
	call := acd.Call{ID: req.CallID, Caller: req.Caller, Called: req.Called}
	if len(req.ScreenPop) > 0 {
		call.Vars = make(map[string]string, len(req.ScreenPop))
		for k, v := range req.ScreenPop {
			call.Vars[k] = fmt.Sprint(v)
		}
		if s, ok := req.ScreenPop["intent"].(string); ok {
			call.Intent = s
		}
		if f, ok := req.ScreenPop["sentiment"].(float64); ok {
			call.Sentiment = f
		}
	}
	var skills acd.Skills
	if len(req.Skills) > 0 {
		skills = make(acd.Skills, len(req.Skills))
		for k, v := range req.Skills {
			skills[k] = v
		}
	}
	areq := acd.Request{
		Queue: req.Queue, Priority: req.Priority, Skills: skills,
		AnnouncePosition: req.AnnouncePosition, AnnounceWait: req.AnnounceWait,
		Callback: req.Callback, CallbackAfter: req.CallbackAfter, Timeout: req.Timeout,
	}
	c := &caller{q: q, id: req.CallID, leg: req.Leg, ch: req.Leg.Channel(), log: log, prompt: true}
	res, err := q.engine.Enqueue(ctx, call, areq, c)
	out := ivr.QueueResult{Outcome: outcome(res.Outcome), Agent: res.Agent, Waited: res.Wait, Talked: res.Talk}
	log.Info("telephony: left queue", "outcome", res.Outcome.String(), "agent", res.Agent,
		"wait", res.Wait.Round(time.Millisecond), "talk", res.Talk.Round(time.Millisecond), "end", res.End.String(), "err", err)
	if err != nil {
		if res.Outcome != acd.OutcomeCompleted || ctx.Err() == nil {
			out.Outcome = flows.OutcomeError
		} // else: the caller hung up on the agent; completed, with the hang-up as error
		return out, fmt.Errorf("telephony: enqueue %s in %s: %w", req.CallID, req.Queue, err)
	}
	if out.Outcome == flows.OutcomeError {
		return out, fmt.Errorf("telephony: enqueue %s in %s: the ACD returned %s", req.CallID, req.Queue, res.Outcome)
	}
	return out, nil
}

// outcome maps the ACD's outcome to the queue node's.
func outcome(o acd.Outcome) flows.Outcome {
	switch o {
	case acd.OutcomeCompleted:
		return flows.OutcomeCompleted
	case acd.OutcomeFull:
		return flows.OutcomeFull
	case acd.OutcomeTimeout:
		return flows.OutcomeTimeout
	case acd.OutcomeClosed:
		return flows.OutcomeClosed
	case acd.OutcomeCallback:
		return flows.OutcomeCallback
	}
	return flows.OutcomeError
}

// QueueStatus implements ivr.QueueInfo (queue_size, queue_wait, agents_available).
func (q *Queue) QueueStatus(ctx context.Context, queue string) (ivr.QueueStatus, error) {
	st, err := q.engine.Status(ctx, queue)
	if err != nil {
		return ivr.QueueStatus{}, fmt.Errorf("telephony: status of %s: %w", queue, err)
	}
	out := ivr.QueueStatus{Waiting: st.Waiting, AgentsAvailable: st.AgentsAvailable}
	if st.EstimateKnown {
		out.ExpectedWait = st.EstimatedWait
	}
	return out, nil
}
