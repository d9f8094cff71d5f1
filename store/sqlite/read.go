package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/sqlq"
)

var selectCalls = "SELECT " + sqlq.ColumnList("") + " FROM calls"

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanCall reads one calls row in sqlq.CallColumns order.
func scanCall(sc rowScanner) (store.CallRecord, error) {
	var (
		r                                       store.CallRecord
		started                                 int64
		answered, ended                         sql.NullInt64
		state, direction, disposition, side     string
		path, recordings, scores, tickets, vars string
		waitMS, talkMS, holdMS, wrapMS          int64
		q                                       = &r.Quality
	)
	err := sc.Scan(&r.ID, &r.Node, &state, &started, &answered, &ended,
		&direction, &r.Caller, &r.Called, &r.Trunk, &r.Transport, &r.Codec,
		&r.Flow, &r.FlowVersion, &r.Language, &path,
		&r.Intent, &r.IntentConfidence, &r.Sentiment, &disposition, &r.Contained,
		&r.Queue, &r.Agent, &waitMS, &talkMS, &holdMS, &wrapMS,
		&recordings, &scores, &tickets, &r.HangupCause, &side,
		&q.PacketsSent, &q.PacketsReceived, &q.PacketsLost, &q.LossPercent, &q.JitterMs, &q.RTTMs, &q.MOS,
		&vars)
	if err != nil {
		return r, err
	}
	r.State, r.Direction = store.CallState(state), store.Direction(direction)
	r.Disposition, r.HangupSide = store.Disposition(disposition), store.HangupSide(side)
	r.StartedAt, r.AnsweredAt, r.EndedAt = fromMicros(started), fromNullMicros(answered), fromNullMicros(ended)
	r.Wait, r.Talk = time.Duration(waitMS)*time.Millisecond, time.Duration(talkMS)*time.Millisecond
	r.Hold, r.WrapUp = time.Duration(holdMS)*time.Millisecond, time.Duration(wrapMS)*time.Millisecond
	if err := errors.Join(decodeList(path, &r.NodePath), decodeList(recordings, &r.Recordings),
		decodeList(scores, &r.SurveyScores), decodeList(tickets, &r.TicketIDs)); err != nil {
		return r, fmt.Errorf("call %s: %w", r.ID, err)
	}
	r.Vars = decodeObject(vars)
	return r, nil
}

// decodeList reads a JSON array column; an empty array is nil.
func decodeList[T any](s string, dst *[]T) error {
	if s == "" || s == "[]" {
		*dst = nil
		return nil
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("decode %.40q: %w", s, err)
	}
	if len(*dst) == 0 {
		*dst = nil
	}
	return nil
}

// decodeObject reads a JSON object column; "{}" is nil.
func decodeObject(s string) json.RawMessage {
	if s == "" || s == "{}" {
		return nil
	}
	return json.RawMessage(s)
}

// Call implements store.Store.
func (s *Store) Call(ctx context.Context, id string) (store.CallRecord, error) {
	r, err := scanCall(s.read.QueryRowContext(ctx, selectCalls+" WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("sqlite: call %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: read call %q: %w", id, s.wrap(err))
	}
	return r, nil
}

// SearchCalls implements store.Store.
func (s *Store) SearchCalls(ctx context.Context, f store.SearchFilter) (store.CallPage, error) {
	var page store.CallPage
	if err := f.Validate(); err != nil {
		return page, fmt.Errorf("sqlite: search calls: %w", err)
	}
	w, err := sqlq.Calls(f, false, tsArg)
	if err != nil {
		return page, fmt.Errorf("sqlite: search calls: %w", err)
	}
	n := f.PageSize()
	query := selectCalls + w.SQL() + " ORDER BY started_at DESC, id DESC LIMIT " + w.Next(n+1)
	rows, err := s.read.QueryContext(ctx, query, w.Args()...)
	if err != nil {
		return page, fmt.Errorf("sqlite: search calls: %w", s.wrap(err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanCall(rows)
		if err != nil {
			return page, fmt.Errorf("sqlite: search calls: %w", err)
		}
		page.Calls = append(page.Calls, r)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("sqlite: search calls: %w", s.wrap(err))
	}
	if len(page.Calls) > n {
		page.Calls = page.Calls[:n]
		last := page.Calls[n-1]
		page.Next = store.Cursor{At: last.StartedAt, ID: last.ID}.String()
	}
	return page, nil
}

func tsArg(t time.Time) any { return t.UnixMicro() }

// Timeline implements store.Store.
func (s *Store) Timeline(ctx context.Context, callID string) ([]store.CallEvent, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT seq, call_id, at, kind, name, detail, data
		FROM call_events WHERE call_id = ? ORDER BY at, seq`, callID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: timeline of %q: %w", callID, s.wrap(err))
	}
	defer rows.Close()
	var evs []store.CallEvent
	for rows.Next() {
		var (
			e    store.CallEvent
			at   int64
			kind string
			data sql.NullString
		)
		if err := rows.Scan(&e.Seq, &e.CallID, &at, &kind, &e.Name, &e.Detail, &data); err != nil {
			return nil, fmt.Errorf("sqlite: timeline of %q: %w", callID, err)
		}
		e.At, e.Kind = fromMicros(at), store.EventKind(kind)
		if data.Valid {
			e.Data = json.RawMessage(data.String)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: timeline of %q: %w", callID, s.wrap(err))
	}
	var qevs []store.QueueEvent
	err = s.QueueEvents(ctx, store.QueueEventFilter{CallID: callID}, func(e store.QueueEvent) error {
		qevs = append(qevs, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: timeline of %q: %w", callID, err)
	}
	return store.MergeTimeline(evs, qevs), nil
}

// QueueEvents implements store.Store.
func (s *Store) QueueEvents(ctx context.Context, f store.QueueEventFilter, fn func(store.QueueEvent) error) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("sqlite: queue events: %w", err)
	}
	w := sqlq.QueueEvents(f, false, tsArg)
	rows, err := s.read.QueryContext(ctx, `SELECT seq, at, type, queue, call_id, agent, wait_ms, ring_ms,
		talk_ms, position, priority, target, reason, callback, state, from_state, node
		FROM queue_events`+w.SQL()+` ORDER BY at, seq`, w.Args()...)
	if err != nil {
		return fmt.Errorf("sqlite: queue events: %w", s.wrap(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e     store.QueueEvent
			at    int64
			etype string
		)
		if err := rows.Scan(&e.Seq, &at, &etype, &e.Queue, &e.CallID, &e.Agent, &e.WaitMS, &e.RingMS,
			&e.TalkMS, &e.Position, &e.Priority, &e.To, &e.Reason, &e.Callback, &e.State, &e.From, &e.Node); err != nil {
			return fmt.Errorf("sqlite: queue events: %w", err)
		}
		e.Time, e.Type = fromMicros(at), store.QueueEventType(etype)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: queue events: %w", s.wrap(err))
	}
	return nil
}

const selectTickets = `SELECT id, call_id, category, priority, status, caller, called, flow, language,
	summary, fields, transcript, recordings, created_at, updated_at FROM tickets`

func scanTicket(sc rowScanner) (store.Ticket, error) {
	var (
		t                              store.Ticket
		status, fields, transcript, rc string
		created, updated               int64
	)
	err := sc.Scan(&t.ID, &t.CallID, &t.Category, &t.Priority, &status, &t.Caller, &t.Called, &t.Flow,
		&t.Language, &t.Summary, &fields, &transcript, &rc, &created, &updated)
	if err != nil {
		return t, err
	}
	t.Status, t.CreatedAt, t.UpdatedAt = store.TicketStatus(status), fromMicros(created), fromMicros(updated)
	t.Fields = decodeObject(fields)
	if err := errors.Join(decodeList(transcript, &t.Transcript), decodeList(rc, &t.Recordings)); err != nil {
		return t, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	return t, nil
}

// Ticket implements store.Store.
func (s *Store) Ticket(ctx context.Context, id string) (store.Ticket, error) {
	t, err := scanTicket(s.read.QueryRowContext(ctx, selectTickets+" WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("sqlite: ticket %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("sqlite: read ticket %q: %w", id, s.wrap(err))
	}
	return t, nil
}

// Tickets implements store.Store.
func (s *Store) Tickets(ctx context.Context, f store.TicketFilter) (store.TicketPage, error) {
	var page store.TicketPage
	if err := f.Validate(); err != nil {
		return page, fmt.Errorf("sqlite: tickets: %w", err)
	}
	w, err := sqlq.Tickets(f, false, tsArg)
	if err != nil {
		return page, fmt.Errorf("sqlite: tickets: %w", err)
	}
	n := f.PageSize()
	rows, err := s.read.QueryContext(ctx, selectTickets+w.SQL()+" ORDER BY created_at DESC, id DESC LIMIT "+w.Next(n+1), w.Args()...)
	if err != nil {
		return page, fmt.Errorf("sqlite: tickets: %w", s.wrap(err))
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return page, fmt.Errorf("sqlite: tickets: %w", err)
		}
		page.Tickets = append(page.Tickets, t)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("sqlite: tickets: %w", s.wrap(err))
	}
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
		return nil, fmt.Errorf("sqlite: survey results: %w", err)
	}
	w := sqlq.Surveys(f, false, tsArg)
	rows, err := s.read.QueryContext(ctx, `SELECT seq, call_id, at, node, var, score FROM survey_results`+
		w.SQL()+" ORDER BY at, seq LIMIT "+w.Next(f.PageSize()), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: survey results: %w", s.wrap(err))
	}
	defer rows.Close()
	var out []store.SurveyResult
	for rows.Next() {
		var (
			r  store.SurveyResult
			at int64
		)
		if err := rows.Scan(&r.Seq, &r.CallID, &at, &r.Node, &r.Var, &r.Score); err != nil {
			return nil, fmt.Errorf("sqlite: survey results: %w", err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: survey results: %w", s.wrap(err))
	}
	return out, nil
}
