package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/sqlq"
)

var selectCalls = "SELECT " + sqlq.ColumnList("") + " FROM calls"

// scanCall reads one calls row in sqlq.CallColumns order.
func scanCall(row pgx.Row) (store.CallRecord, error) {
	var (
		r                                   store.CallRecord
		answered, ended                     *time.Time
		state, direction, disposition, side string
		vars                                string
		waitMS, talkMS, holdMS, wrapMS      int64
		q                                   = &r.Quality
	)
	err := row.Scan(&r.ID, &r.Node, &state, &r.StartedAt, &answered, &ended,
		&direction, &r.Caller, &r.Called, &r.Trunk, &r.Transport, &r.Codec,
		&r.Flow, &r.FlowVersion, &r.Language, &r.NodePath,
		&r.Intent, &r.IntentConfidence, &r.Sentiment, &disposition, &r.Contained,
		&r.Queue, &r.Agent, &waitMS, &talkMS, &holdMS, &wrapMS,
		&r.Recordings, &r.SurveyScores, &r.TicketIDs, &r.HangupCause, &side,
		&q.PacketsSent, &q.PacketsReceived, &q.PacketsLost, &q.LossPercent, &q.JitterMs, &q.RTTMs, &q.MOS,
		&vars)
	if err != nil {
		return r, err
	}
	r.State, r.Direction = store.CallState(state), store.Direction(direction)
	r.Disposition, r.HangupSide = store.Disposition(disposition), store.HangupSide(side)
	r.StartedAt, r.AnsweredAt, r.EndedAt = r.StartedAt.UTC(), deref(answered), deref(ended)
	r.Wait, r.Talk = time.Duration(waitMS)*time.Millisecond, time.Duration(talkMS)*time.Millisecond
	r.Hold, r.WrapUp = time.Duration(holdMS)*time.Millisecond, time.Duration(wrapMS)*time.Millisecond
	r.NodePath, r.Recordings, r.TicketIDs = nilIfEmpty(r.NodePath), nilIfEmpty(r.Recordings), nilIfEmpty(r.TicketIDs)
	r.SurveyScores = nilIfEmpty(r.SurveyScores)
	r.Vars = decodeObject(vars)
	return r, nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func nilIfEmpty[T any](l []T) []T {
	if len(l) == 0 {
		return nil
	}
	return l
}

// decodeObject reads a jsonb object column; "{}" is nil.
func decodeObject(s string) json.RawMessage {
	if s == "" || s == "{}" {
		return nil
	}
	return json.RawMessage(s)
}

// Call implements store.Store.
func (s *Store) Call(ctx context.Context, id string) (store.CallRecord, error) {
	r, err := scanCall(s.pool.QueryRow(ctx, selectCalls+" WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("postgres: call %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: read call %q: %w", id, s.wrap(err))
	}
	return r, nil
}

// SearchCalls implements store.Store.
func (s *Store) SearchCalls(ctx context.Context, f store.SearchFilter) (store.CallPage, error) {
	var page store.CallPage
	if err := f.Validate(); err != nil {
		return page, fmt.Errorf("postgres: search calls: %w", err)
	}
	w, err := sqlq.Calls(f, true, tsArg)
	if err != nil {
		return page, fmt.Errorf("postgres: search calls: %w", err)
	}
	n := f.PageSize()
	rows, err := s.pool.Query(ctx, selectCalls+w.SQL()+" ORDER BY started_at DESC, id DESC LIMIT "+w.Next(n+1), w.Args()...)
	if err != nil {
		return page, fmt.Errorf("postgres: search calls: %w", s.wrap(err))
	}
	page.Calls, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.CallRecord, error) { return scanCall(row) })
	if err != nil {
		return store.CallPage{}, fmt.Errorf("postgres: search calls: %w", s.wrap(err))
	}
	page.Calls = nilIfEmpty(page.Calls)
	if len(page.Calls) > n {
		page.Calls = page.Calls[:n]
		last := page.Calls[n-1]
		page.Next = store.Cursor{At: last.StartedAt, ID: last.ID}.String()
	}
	return page, nil
}

func tsArg(t time.Time) any { return t }

// Timeline implements store.Store.
func (s *Store) Timeline(ctx context.Context, callID string) ([]store.CallEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, call_id, at, kind, name, detail, data
		FROM call_events WHERE call_id = $1 ORDER BY at, seq`, callID)
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline of %q: %w", callID, s.wrap(err))
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.CallEvent, error) {
		var (
			e    store.CallEvent
			kind string
			data *string
		)
		err := row.Scan(&e.Seq, &e.CallID, &e.At, &kind, &e.Name, &e.Detail, &data)
		e.At, e.Kind = e.At.UTC(), store.EventKind(kind)
		if data != nil {
			e.Data = json.RawMessage(*data)
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline of %q: %w", callID, s.wrap(err))
	}
	var qevs []store.QueueEvent
	err = s.QueueEvents(ctx, store.QueueEventFilter{CallID: callID}, func(e store.QueueEvent) error {
		qevs = append(qevs, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline of %q: %w", callID, err)
	}
	return store.MergeTimeline(nilIfEmpty(evs), qevs), nil
}

// QueueEvents implements store.Store. Rows are streamed from the server as fn
// consumes them.
func (s *Store) QueueEvents(ctx context.Context, f store.QueueEventFilter, fn func(store.QueueEvent) error) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("postgres: queue events: %w", err)
	}
	w := sqlq.QueueEvents(f, true, tsArg)
	rows, err := s.pool.Query(ctx, `SELECT seq, at, type, queue, call_id, agent, wait_ms, ring_ms,
		talk_ms, position, priority, target, reason, callback, state, from_state, node
		FROM queue_events`+w.SQL()+` ORDER BY at, seq`, w.Args()...)
	if err != nil {
		return fmt.Errorf("postgres: queue events: %w", s.wrap(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e     store.QueueEvent
			etype string
		)
		if err := rows.Scan(&e.Seq, &e.Time, &etype, &e.Queue, &e.CallID, &e.Agent, &e.WaitMS, &e.RingMS,
			&e.TalkMS, &e.Position, &e.Priority, &e.To, &e.Reason, &e.Callback, &e.State, &e.From, &e.Node); err != nil {
			return fmt.Errorf("postgres: queue events: %w", err)
		}
		e.Time, e.Type = e.Time.UTC(), store.QueueEventType(etype)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: queue events: %w", s.wrap(err))
	}
	return nil
}

const selectTickets = `SELECT id, call_id, category, priority, status, caller, called, flow, language,
	summary, fields, transcript, recordings, created_at, updated_at FROM tickets`

func scanTicket(row pgx.Row) (store.Ticket, error) {
	var (
		t              store.Ticket
		status, fields string
	)
	err := row.Scan(&t.ID, &t.CallID, &t.Category, &t.Priority, &status, &t.Caller, &t.Called, &t.Flow,
		&t.Language, &t.Summary, &fields, &t.Transcript, &t.Recordings, &t.CreatedAt, &t.UpdatedAt)
	t.Status, t.Fields = store.TicketStatus(status), decodeObject(fields)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	t.Transcript, t.Recordings = nilIfEmpty(t.Transcript), nilIfEmpty(t.Recordings)
	return t, err
}

// Ticket implements store.Store.
func (s *Store) Ticket(ctx context.Context, id string) (store.Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, selectTickets+" WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Ticket{}, fmt.Errorf("postgres: ticket %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Ticket{}, fmt.Errorf("postgres: read ticket %q: %w", id, s.wrap(err))
	}
	return t, nil
}

// Tickets implements store.Store.
func (s *Store) Tickets(ctx context.Context, f store.TicketFilter) (store.TicketPage, error) {
	var page store.TicketPage
	if err := f.Validate(); err != nil {
		return page, fmt.Errorf("postgres: tickets: %w", err)
	}
	w, err := sqlq.Tickets(f, true, tsArg)
	if err != nil {
		return page, fmt.Errorf("postgres: tickets: %w", err)
	}
	n := f.PageSize()
	rows, err := s.pool.Query(ctx, selectTickets+w.SQL()+" ORDER BY created_at DESC, id DESC LIMIT "+w.Next(n+1), w.Args()...)
	if err != nil {
		return page, fmt.Errorf("postgres: tickets: %w", s.wrap(err))
	}
	page.Tickets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Ticket, error) { return scanTicket(row) })
	if err != nil {
		return store.TicketPage{}, fmt.Errorf("postgres: tickets: %w", s.wrap(err))
	}
	page.Tickets = nilIfEmpty(page.Tickets)
	if len(page.Tickets) > n {
		page.Tickets = page.Tickets[:n]
		last := page.Tickets[n-1]
		page.Next = store.Cursor{At: last.CreatedAt, ID: last.ID}.String()
	}
	return page, nil
}

// SurveyResults implements store.Store.
func (s *Store) SurveyResults(ctx context.Context, f store.SurveyFilter) ([]store.SurveyResult, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("postgres: survey results: %w", err)
	}
	w := sqlq.Surveys(f, true, tsArg)
	rows, err := s.pool.Query(ctx, `SELECT seq, call_id, at, node, var, score FROM survey_results`+
		w.SQL()+" ORDER BY at, seq LIMIT "+w.Next(f.PageSize()), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("postgres: survey results: %w", s.wrap(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SurveyResult, error) {
		var r store.SurveyResult
		err := row.Scan(&r.Seq, &r.CallID, &r.At, &r.Node, &r.Var, &r.Score)
		r.At = r.At.UTC()
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: survey results: %w", s.wrap(err))
	}
	return nilIfEmpty(out), nil
}
