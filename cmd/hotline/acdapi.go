package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/api"
)

// acdAPI adapts *acd.Engine to the API's Queues and Agents, and samples the
// wallboard's queue rows and agent counts. api defines what it needs and imports
// nothing of the engine, so the mapping, field for field and error for error,
// lives here in cmd.
//
// It is a value holding only what the configuration fixed at start (the queue
// order and targets), so copies share the engine and are safe for concurrent use.
type acdAPI struct {
	e *acd.Engine
	// queues is the display order: the configuration's queues as written (the YAML
	// mapping's order), which is how the operator grouped them.
	queues []string
	// targets are each configured queue's goals (service level target and T_sl).
	// A queue missing here (added at run time, or "" for all queues) gets zero
	// Targets, which the API fills with its defaults.
	targets map[string]api.Targets
}

var (
	_ api.Queues = acdAPI{}
	_ api.Agents = acdAPI{}
)

// newACDAPI adapts e, whose configuration is cfg (the one given to acd.NewEngine
// through acd.WithConfig): cfg gives the queues' display order and targets. A nil
// cfg lists no queues.
func newACDAPI(e *acd.Engine, cfg *acd.Config) acdAPI {
	a := acdAPI{e: e, targets: map[string]api.Targets{}}
	if cfg == nil {
		return a
	}
	for _, q := range cfg.Queues {
		a.queues = append(a.queues, q.Name)
		a.targets[q.Name] = api.Targets{
			ServiceLevel:          q.ServiceLevelTarget,
			ServiceLevelThreshold: api.Duration(q.ServiceLevel),
			// acd configures no answer or abandonment goal: zero takes the API's
			// defaults (METRICS.md's 95 % answer rate, a 5 % abandonment ceiling).
		}
	}
	return a
}

// acdErr maps the ACD's errors to the API's sentinels. what names the thing asked
// for in the client's terms (`agent "bob"`): for the sentinels the message is sent
// to the client; any other error is a 500 whose detail is logged, so it keeps the
// ACD's error wrapped.
func acdErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, acd.ErrNotFound), errors.Is(err, acd.ErrUnknownQueue):
		return fmt.Errorf("%s: %w", what, api.ErrNotFound)
	case errors.Is(err, acd.ErrInvalid):
		return fmt.Errorf("%s: %w: %v", what, api.ErrInvalid, err)
	case errors.Is(err, acd.ErrBusy), errors.Is(err, acd.ErrConflict):
		return fmt.Errorf("%s: %w: %v", what, api.ErrConflict, err)
	case errors.Is(err, acd.ErrClosed):
		return fmt.Errorf("%s: %w: the ACD is stopping", what, api.ErrUnavailable)
	}
	return fmt.Errorf("acd: %s: %w", what, err)
}

// QueueNames lists the configured queues in the configuration's order.
func (a acdAPI) QueueNames(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append([]string(nil), a.queues...), nil
}

// QueueStatus returns a queue's live state; an unknown queue is api.ErrNotFound.
func (a acdAPI) QueueStatus(ctx context.Context, queue string) (api.QueueStatus, error) {
	st, err := a.e.Status(ctx, queue)
	if err != nil {
		return api.QueueStatus{}, acdErr(err, fmt.Sprintf("queue %q", queue))
	}
	return api.QueueStatus{
		Queue:           st.Queue,
		Waiting:         st.Waiting,
		Callbacks:       st.Callbacks,
		LongestWait:     api.Duration(st.LongestWait),
		AgentsStaffed:   st.AgentsStaffed,
		AgentsAvailable: st.AgentsAvailable,
		EstimatedWait:   api.DurationOf(st.EstimatedWait, st.EstimateKnown),
	}, nil
}

// QueueFigures returns queue's figures ("" for all queues) for the intervals
// starting in [from, to). The API checks that a named queue exists first (through
// QueueStatus); the ACD's tally answers zeros for a queue it never saw.
func (a acdAPI) QueueFigures(ctx context.Context, queue string, from, to time.Time) (api.QueueFigures, error) {
	if err := ctx.Err(); err != nil {
		return api.QueueFigures{}, err
	}
	return a.figures(a.e.Figures(queue, from, to)), nil
}

// QueueToday returns queue's figures ("" for all) since midnight in the ACD's time
// zone.
func (a acdAPI) QueueToday(ctx context.Context, queue string) (api.QueueFigures, error) {
	if err := ctx.Err(); err != nil {
		return api.QueueFigures{}, err
	}
	return a.figures(a.e.Today(queue)), nil
}

// figures maps acd.Figures to the API's, computing the ratios and means with
// acd.Figures' methods (the one implementation of METRICS.md's definitions).
func (a acdAPI) figures(f acd.Figures) api.QueueFigures {
	return api.QueueFigures{
		Queue:          f.Queue,
		From:           f.From,
		To:             f.To,
		Offered:        f.Offered,
		Answered:       f.Answered,
		AnsweredInSL:   f.AnsweredInSL,
		Abandoned:      f.Abandoned,
		ShortAbandoned: f.ShortAbandoned,
		FlowedOut:      f.FlowedOut(),
		Handled:        f.Handled,
		ServiceLevel:   api.Ratio(f.ServiceLevel()),
		AnswerRate:     api.Ratio(f.AnswerRate()),
		AbandonRate:    api.Ratio(f.AbandonRate()),
		ASA:            api.DurationOf(f.ASA()),
		AHT:            api.DurationOf(f.AHT()),
		Occupancy:      api.Ratio(f.Occupancy()),
		Targets:        a.targets[f.Queue],
	}
}

// Agents lists every agent with their state, sorted by id (the ACD's snapshot
// order).
func (a acdAPI) Agents(ctx context.Context) ([]api.AgentStatus, error) {
	list, err := a.e.Agents(ctx)
	if err != nil {
		return nil, acdErr(err, "agents")
	}
	out := make([]api.AgentStatus, len(list))
	for i := range list {
		out[i] = agentStatus(&list[i])
	}
	return out, nil
}

// agentStatus maps one acd.AgentState to the API's AgentStatus.
func agentStatus(s *acd.AgentState) api.AgentStatus {
	p := api.PresenceUnknown
	if s.Presence != acd.PresenceUnknown {
		p = api.Presence(s.Presence.String())
	}
	return api.AgentStatus{
		ID:        s.ID,
		Name:      s.Name,
		Extension: s.Extension,
		Skills:    maps.Clone(map[string]int(s.Skills)),
		Presence:  p,
		Reason:    s.Reason,
		Activity:  s.Activity.String(),
		State:     s.State().String(),
		Since:     s.Since,
		CallID:    s.CallID,
		Queue:     s.Queue,
		Calls:     s.Calls,
		Missed:    s.Missed,
	}
}

// SetPresence records what an agent chose. The API has checked p and the reason;
// a presence acd does not know is still refused here (api.ErrInvalid), because the
// ACD's store only reports it as an untyped error.
func (a acdAPI) SetPresence(ctx context.Context, id string, p api.Presence, reason string) error {
	var ap acd.Presence
	if err := ap.UnmarshalText([]byte(p)); err != nil || ap == acd.PresenceUnknown {
		return fmt.Errorf("presence %q: %w: want available, break or offline", string(p), api.ErrInvalid)
	}
	if ap != acd.PresenceBreak {
		reason = "" // only a break has a reason
	}
	return acdErr(a.e.SetPresence(ctx, id, ap, reason), fmt.Sprintf("agent %q", id))
}

// Ready ends an agent's wrap-up or missed pause early. The ACD treats Ready on an
// agent with nothing to end as a no-op; the API wants a 409 for it, so the agent's
// activity is read first. Between that read and Ready the wrap-up may end on its
// own: Ready then does nothing and the answer is still right (the agent is ready).
func (a acdAPI) Ready(ctx context.Context, id string) error {
	what := fmt.Sprintf("agent %q", id)
	list, err := a.e.Agents(ctx)
	if err != nil {
		return acdErr(err, what)
	}
	var st *acd.AgentState
	for i := range list {
		if list[i].ID == id {
			st = &list[i]
			break
		}
	}
	switch {
	case st == nil:
		return fmt.Errorf("%s: %w", what, api.ErrNotFound)
	case st.Activity != acd.ActivityWrapUp && st.Activity != acd.ActivityMissed:
		return fmt.Errorf("%s: %w: %s, not in wrap-up or a missed pause", what, api.ErrConflict, st.State())
	}
	return acdErr(a.e.Ready(ctx, id), what)
}

// wallboard samples the wallboard's queue rows (each configured queue's live state
// and today's figures, in display order) and the agents counted by state (states
// with no agent are left out). It reads the ACD's snapshot and live tally only,
// never the event log, so it can run every second.
func (a acdAPI) wallboard(ctx context.Context) ([]api.QueueOverview, map[string]int, error) {
	rows := make([]api.QueueOverview, 0, len(a.queues))
	for _, q := range a.queues {
		st, err := a.QueueStatus(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		today, err := a.QueueToday(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, api.QueueOverview{QueueStatus: st, Today: today})
	}
	list, err := a.e.Agents(ctx)
	if err != nil {
		return nil, nil, acdErr(err, "agents")
	}
	counts := map[string]int{}
	for i := range list {
		counts[list[i].State().String()]++
	}
	return rows, counts, nil
}
