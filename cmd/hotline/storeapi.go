package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/store"
)

// storeAPI adapts store.Store to the API's Records, Tickets and Surveys: api
// defines what it needs and imports nothing of the engine, so the mapping, field
// for field, lives here in cmd.
type storeAPI struct {
	s store.Store
	// recDir is the recordings directory api.DirRecordings serves: record paths
	// under it become names relative to it; paths elsewhere cannot be served and
	// are left out.
	recDir string
}

var (
	_ api.Records = storeAPI{}
	_ api.Tickets = storeAPI{}
	_ api.Surveys = storeAPI{}
)

// apiErr maps the store's sentinels to the API's, keeping the message.
func apiErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	case errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("%w: %w", api.ErrUnavailable, err)
	}
	return err
}

func (a storeAPI) SearchRecords(ctx context.Context, q api.RecordQuery) (api.RecordPage, error) {
	page, err := a.s.SearchCalls(ctx, store.SearchFilter{
		From: q.From, To: q.To, Caller: q.Caller, Called: q.Called,
		Disposition: store.Disposition(q.Disposition), Queue: q.Queue, Agent: q.Agent, Flow: q.Flow,
		State: store.CallState(q.State), Limit: q.Limit, Cursor: q.Cursor,
	})
	if err != nil {
		return api.RecordPage{}, apiErr(err)
	}
	out := api.RecordPage{Next: page.Next, Records: make([]api.CallRecord, len(page.Calls))}
	for i := range page.Calls {
		out.Records[i] = a.record(&page.Calls[i])
	}
	return out, nil
}

func (a storeAPI) Record(ctx context.Context, id string) (api.CallRecord, error) {
	r, err := a.s.Call(ctx, id)
	if err != nil {
		return api.CallRecord{}, apiErr(err)
	}
	return a.record(&r), nil
}

func (a storeAPI) Timeline(ctx context.Context, id string) ([]api.TimelineEvent, error) {
	evs, err := a.s.Timeline(ctx, id)
	if err != nil {
		return nil, apiErr(err)
	}
	out := make([]api.TimelineEvent, len(evs))
	for i, e := range evs {
		out[i] = api.TimelineEvent{At: e.At, Kind: string(e.Kind), Name: e.Name, Detail: e.Detail, Data: e.Data}
	}
	return out, nil
}

func (a storeAPI) record(r *store.CallRecord) api.CallRecord {
	q := r.Quality
	return api.CallRecord{
		ID: r.ID, State: string(r.State), Node: r.Node,
		StartedAt: r.StartedAt, AnsweredAt: r.AnsweredAt, EndedAt: r.EndedAt, Duration: api.Duration(r.Duration()),
		Direction: string(r.Direction), Caller: r.Caller, Called: r.Called, Trunk: r.Trunk,
		Transport: r.Transport, Codec: r.Codec, Flow: r.Flow, FlowVersion: r.FlowVersion, Language: r.Language,
		NodePath: r.NodePath, Intent: r.Intent, IntentConfidence: r.IntentConfidence, Sentiment: r.Sentiment,
		Disposition: string(r.Disposition), Contained: r.Contained, Queue: r.Queue, Agent: r.Agent,
		Wait: api.Duration(r.Wait), Talk: api.Duration(r.Talk), Hold: api.Duration(r.Hold), WrapUp: api.Duration(r.WrapUp),
		Recordings: a.recordingNames(r.Recordings), SurveyScores: r.SurveyScores, TicketIDs: r.TicketIDs,
		HangupCause: r.HangupCause, HangupSide: string(r.HangupSide),
		Quality: api.Quality{PacketsSent: q.PacketsSent, PacketsReceived: q.PacketsReceived, PacketsLost: q.PacketsLost,
			LossPercent: q.LossPercent, JitterMs: q.JitterMs, RTTMs: q.RTTMs, MOS: q.MOS},
		Vars: r.Vars,
	}
}

// recordingNames turns the recorder's paths into names under recDir.
func (a storeAPI) recordingNames(paths []string) []string {
	var names []string
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			names = append(names, filepath.ToSlash(p))
			continue
		}
		if a.recDir == "" {
			continue
		}
		rel, err := filepath.Rel(a.recDir, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		names = append(names, filepath.ToSlash(rel))
	}
	return names
}

func (a storeAPI) Tickets(ctx context.Context, q api.TicketQuery) (api.TicketPage, error) {
	page, err := a.s.Tickets(ctx, store.TicketFilter{Status: store.TicketStatus(q.Status), Category: q.Category,
		Caller: q.Caller, CallID: q.CallID, From: q.From, To: q.To, Limit: q.Limit, Cursor: q.Cursor})
	if err != nil {
		return api.TicketPage{}, apiErr(err)
	}
	out := api.TicketPage{Next: page.Next, Tickets: make([]api.Ticket, len(page.Tickets))}
	for i := range page.Tickets {
		out.Tickets[i] = a.ticket(&page.Tickets[i])
	}
	return out, nil
}

func (a storeAPI) Ticket(ctx context.Context, id string) (api.Ticket, error) {
	t, err := a.s.Ticket(ctx, id)
	if err != nil {
		return api.Ticket{}, apiErr(err)
	}
	return a.ticket(&t), nil
}

// SetTicketStatus writes synchronously (not through the Writer): the API answers
// with the ticket as stored.
func (a storeAPI) SetTicketStatus(ctx context.Context, id string, st api.TicketStatus) (api.Ticket, error) {
	if _, err := a.s.Ticket(ctx, id); err != nil {
		return api.Ticket{}, apiErr(err)
	}
	op := store.SetTicketStatus{ID: id, Status: store.TicketStatus(st), At: time.Now()}
	if err := a.s.Write(ctx, op); err != nil {
		return api.Ticket{}, apiErr(err)
	}
	return a.Ticket(ctx, id)
}

func (a storeAPI) ticket(t *store.Ticket) api.Ticket {
	return api.Ticket{ID: t.ID, CallID: t.CallID, Category: t.Category, Priority: t.Priority,
		Status: api.TicketStatus(t.Status), Caller: t.Caller, Called: t.Called, Flow: t.Flow, Language: t.Language,
		Summary: t.Summary, Fields: t.Fields, Transcript: t.Transcript, Recordings: a.recordingNames(t.Recordings),
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (a storeAPI) SurveyResults(ctx context.Context, q api.SurveyQuery) ([]api.SurveyResult, error) {
	rs, err := a.s.SurveyResults(ctx, store.SurveyFilter{CallID: q.CallID, From: q.From, To: q.To, Limit: q.Limit})
	if err != nil {
		return nil, apiErr(err)
	}
	out := make([]api.SurveyResult, len(rs))
	for i, r := range rs {
		out[i] = api.SurveyResult{CallID: r.CallID, At: r.At, Node: r.Node, Var: r.Var, Score: r.Score}
	}
	return out, nil
}
