package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/sqlq"
)

// The call upserts, built once from sqlq.CallColumns. Every variant inserts the
// full row; they differ in what a conflict (the id exists) does.
var (
	insertCall = "INSERT INTO calls (" + sqlq.ColumnList("") + ") VALUES (" +
		sqlq.Placeholders(len(sqlq.CallColumns), 0, true) + ")"
	// StartCall: keep the existing row (a retried batch, or FinishCall got there first).
	startCallSQL = insertCall + " ON CONFLICT (id) DO NOTHING"
	// UpdateCall: overwrite an active row, never an ended one.
	updateCallSQL = insertCall + " ON CONFLICT (id) DO UPDATE SET " + setExcluded() + " WHERE calls.state = 'active'"
	// FinishCall: overwrite whatever is there.
	finishCallSQL = insertCall + " ON CONFLICT (id) DO UPDATE SET " + setExcluded()
)

// setExcluded is "col = excluded.col, …" for every column but the id.
func setExcluded() string {
	var b strings.Builder
	for _, c := range sqlq.CallColumns[1:] {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c + " = excluded." + c)
	}
	return b.String()
}

const (
	insertEventSQL = `INSERT INTO call_events (call_id, at, kind, name, detail, data) VALUES ($1, $2, $3, $4, $5, $6)`
	insertQueueSQL = `INSERT INTO queue_events (at, type, queue, call_id, agent, wait_ms, ring_ms, talk_ms,
		position, priority, target, reason, callback, state, from_state, node)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`
	insertSurveySQL = `INSERT INTO survey_results (call_id, at, node, var, score) VALUES ($1, $2, $3, $4, $5)`
	putTicketSQL    = `INSERT INTO tickets (id, call_id, category, priority, status, caller, called, flow,
		language, summary, fields, transcript, recordings, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id, category = excluded.category,
		priority = excluded.priority, status = excluded.status, caller = excluded.caller,
		called = excluded.called, flow = excluded.flow, language = excluded.language,
		summary = excluded.summary, fields = excluded.fields, transcript = excluded.transcript,
		recordings = excluded.recordings, updated_at = excluded.updated_at`
	ticketStatusSQL = `UPDATE tickets SET status = $1, updated_at = $2 WHERE id = $3`
)

// Write implements store.Store: the ops are sent as one pipelined batch, which
// PostgreSQL runs as one implicit transaction: one network round trip for the lot.
func (s *Store) Write(ctx context.Context, ops ...store.Op) error {
	for _, op := range ops {
		if op == nil {
			return fmt.Errorf("postgres: write: %w: nil Op", store.ErrInvalid)
		}
		if err := op.Validate(); err != nil {
			return fmt.Errorf("postgres: write: %w", err)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("postgres: write: %w", err)
	}
	b := &pgx.Batch{}
	for _, op := range ops {
		if err := s.queue(b, op); err != nil {
			return fmt.Errorf("postgres: write: %w", err)
		}
	}
	// A batch runs as one implicit transaction (the pipeline has one Sync): all
	// or nothing, without the two round trips of BEGIN and COMMIT.
	err := s.pool.with(ctx, func(c *pgx.Conn) error {
		br := c.SendBatch(ctx, b)
		for i := range ops {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("op %d of %d (%T): %w", i+1, len(ops), ops[i], err)
			}
		}
		return br.Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: write %d ops: %w", len(ops), s.wrap(err))
	}
	return nil
}

// queue adds one op's statement to the batch.
func (s *Store) queue(b *pgx.Batch, op store.Op) error {
	switch o := op.(type) {
	case store.StartCall:
		b.Queue(startCallSQL, s.callArgs(&o.Record, store.StateActive)...)
	case store.UpdateCall:
		b.Queue(updateCallSQL, s.callArgs(&o.Record, store.StateActive)...)
	case store.FinishCall:
		b.Queue(finishCallSQL, s.callArgs(&o.Record, store.StateEnded)...)
	case store.CallEvent:
		b.Queue(insertEventSQL, o.CallID, o.At, string(o.Kind), o.Name, o.Detail, nullJSON(o.Data))
	case store.QueueEvent:
		b.Queue(insertQueueSQL, o.Time, string(o.Type), o.Queue, o.CallID, o.Agent,
			o.WaitMS, o.RingMS, o.TalkMS, o.Position, o.Priority, o.To, o.Reason, o.Callback,
			o.State, o.From, o.Node)
	case store.SurveyResult:
		b.Queue(insertSurveySQL, o.CallID, o.At, o.Node, o.Var, o.Score)
	case store.PutTicket:
		t := &o.Ticket
		status, updated := t.Status, t.UpdatedAt
		if status == store.TicketUnknown {
			status = store.TicketOpen
		}
		if updated.IsZero() {
			updated = t.CreatedAt
		}
		b.Queue(putTicketSQL, t.ID, t.CallID, t.Category, t.Priority, string(status),
			t.Caller, t.Called, t.Flow, t.Language, t.Summary, object(t.Fields), list(t.Transcript),
			list(t.Recordings), t.CreatedAt, updated)
	case store.SetTicketStatus:
		b.Queue(ticketStatusSQL, string(o.Status), o.At, o.ID)
	default:
		return fmt.Errorf("%w: unknown op %T", store.ErrInvalid, op)
	}
	return nil
}

// callArgs are a record's values in sqlq.CallColumns order.
func (s *Store) callArgs(r *store.CallRecord, state store.CallState) []any {
	node := r.Node
	if node == "" {
		node = s.node
	}
	q := &r.Quality
	scores := r.SurveyScores
	if scores == nil {
		scores = []int{}
	}
	return []any{
		r.ID, node, string(state), r.StartedAt, nullTime(r.AnsweredAt), nullTime(r.EndedAt),
		string(r.Direction), r.Caller, r.Called, r.Trunk, r.Transport, r.Codec,
		r.Flow, r.FlowVersion, r.Language, list(r.NodePath),
		r.Intent, r.IntentConfidence, r.Sentiment, string(r.Disposition), r.Contained,
		r.Queue, r.Agent, r.Wait.Milliseconds(), r.Talk.Milliseconds(), r.Hold.Milliseconds(), r.WrapUp.Milliseconds(),
		list(r.Recordings), scores, list(r.TicketIDs), r.HangupCause, string(r.HangupSide),
		q.PacketsSent, q.PacketsReceived, q.PacketsLost, q.LossPercent, q.JitterMs, q.RTTMs, q.MOS,
		object(r.Vars),
	}
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// list is l, or an empty array for nil (pgx sends a nil slice as NULL).
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// object is validated JSON as text for a jsonb column ("{}" for none).
func object(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// nullJSON is validated JSON as text, or NULL for none.
func nullJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}
