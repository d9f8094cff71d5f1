package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/bits"
	"runtime"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/sqlq"
)

// The call upserts, built once from sqlq.CallColumns. Every variant inserts the
// full row; they differ in what a conflict (the id exists) does.
var (
	insertCall = "INSERT INTO calls (" + sqlq.ColumnList("") + ") VALUES (" +
		sqlq.Placeholders(len(sqlq.CallColumns), 0, false) + ")"
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

// writeStatements are prepared on the write connection at Open.
var writeStatements = append([]string{startCallSQL, updateCallSQL, finishCallSQL,
	insertQueueSQL, insertSurveySQL, putTicketSQL, ticketStatusSQL}, insertEventsSQL...)

// maxEventRows is the most timeline events one INSERT carries. A run of events in
// a transaction (a call's SIP ladder, its nodes and prompts, gathered by the
// Writer) goes in as few multi-row INSERTs as its length allows: each statement
// costs the write path a fixed price in the driver and the SQLite VM, so sixteen
// rows in one cost far less than sixteen statements of one
// (BenchmarkCallWithTimeline). Rows, and so seq, keep the ops' order.
const maxEventRows = 32

// insertEventsSQL[k] inserts 1<<k events, for 1<<k ≤ maxEventRows: a run of
// any length up to maxEventRows is one statement per set bit of its length.
var insertEventsSQL = func() []string {
	var q []string
	for n := 1; n <= maxEventRows; n *= 2 {
		q = append(q, insertEventSQL+strings.Repeat(", (?, ?, ?, ?, ?, ?)", n-1))
	}
	return q
}()

const (
	insertEventSQL = `INSERT INTO call_events (call_id, at, kind, name, detail, data) VALUES (?, ?, ?, ?, ?, ?)`
	insertQueueSQL = `INSERT INTO queue_events (at, type, queue, call_id, agent, wait_ms, ring_ms, talk_ms,
		position, priority, target, reason, callback, state, from_state, node)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertSurveySQL = `INSERT INTO survey_results (call_id, at, node, var, score) VALUES (?, ?, ?, ?, ?)`
	putTicketSQL    = `INSERT INTO tickets (id, call_id, category, priority, status, caller, called, flow,
		language, summary, fields, transcript, recordings, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id, category = excluded.category,
		priority = excluded.priority, status = excluded.status, caller = excluded.caller,
		called = excluded.called, flow = excluded.flow, language = excluded.language,
		summary = excluded.summary, fields = excluded.fields, transcript = excluded.transcript,
		recordings = excluded.recordings, updated_at = excluded.updated_at`
	ticketStatusSQL = `UPDATE tickets SET status = ?, updated_at = ? WHERE id = ?`
)

// Write implements store.Store: one immediate transaction for all ops.
func (s *Store) Write(ctx context.Context, ops ...store.Op) error {
	for _, op := range ops {
		if op == nil {
			return fmt.Errorf("sqlite: write: %w: nil Op", store.ErrInvalid)
		}
		if err := op.Validate(); err != nil {
			return fmt.Errorf("sqlite: write: %w", err)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("sqlite: write: %w", err)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: write: begin: %w", s.wrap(err))
	}
	defer tx.Rollback()
	w := txWriter{tx: tx, node: s.node, prepared: s.prepared, stmts: map[string]*sql.Stmt{}, ran: time.Now()}
	defer w.close()
	// The statements run without ctx's cancellation: the driver starts a goroutine
	// per statement to watch a context that can be cancelled (at 900 calls of the
	// capacity benchmark, 540 a second on the engine's one core), and a statement
	// takes microseconds. ctx is checked between operations instead, and cancelling
	// it still rolls the transaction back.
	sctx := context.WithoutCancel(ctx)
	for i := 0; i < len(ops); {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sqlite: write op %d of %d: %w", i+1, len(ops), err)
		}
		if _, ok := ops[i].(store.CallEvent); ok {
			j := i + 1
			for j < len(ops) && j-i < maxEventRows {
				if _, ok := ops[j].(store.CallEvent); !ok {
					break
				}
				j++
			}
			if err := w.events(sctx, ops[i:j]); err != nil {
				return fmt.Errorf("sqlite: write ops %d-%d of %d (timeline events): %w", i+1, j, len(ops), s.wrap(err))
			}
			i = j
			continue
		}
		if err := w.op(sctx, ops[i]); err != nil {
			return fmt.Errorf("sqlite: write op %d of %d (%T): %w", i+1, len(ops), ops[i], s.wrap(err))
		}
		i++
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: write: commit %d ops: %w", len(ops), s.wrap(err))
	}
	return nil
}

// txWriter applies ops in one transaction with the statements prepared at Open:
// on the single write connection they are parsed once for the store's life.
type txWriter struct {
	tx       *sql.Tx
	node     string
	prepared map[string]*sql.Stmt // by query, on the write connection
	stmts    map[string]*sql.Stmt // the same, bound to tx
	args     []any                // reused for multi-row inserts
	ran      time.Time            // when the transaction last let other goroutines run
}

// yieldEvery bounds how long a transaction keeps the CPU. SQLite here is Go code that
// runs on the engine's own cores, a statement after another without blocking, so a
// transaction of a few hundred ops held a core for up to 10 ms in the traces of
// bench/PROFILE.md ("Shorter ticks"), and on a one-core engine a media clock tick due
// meanwhile waits that long: every call of the shard then sends its audio late.
// Between statements the transaction steps aside once this much time has passed.
const yieldEvery = time.Millisecond

func (w *txWriter) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

func (w *txWriter) exec(ctx context.Context, query string, args ...any) error {
	st := w.stmts[query]
	if st == nil {
		p := w.prepared[query]
		if p == nil {
			return fmt.Errorf("statement not prepared: %.40s", query)
		}
		st = w.tx.StmtContext(ctx, p)
		w.stmts[query] = st
	}
	_, err := st.ExecContext(ctx, args...)
	if now := time.Now(); now.Sub(w.ran) >= yieldEvery {
		runtime.Gosched()
		w.ran = now
	}
	return err
}

// events inserts a run of at most maxEventRows CallEvent ops, the largest
// multi-row statement that fits first.
func (w *txWriter) events(ctx context.Context, ops []store.Op) error {
	for len(ops) > 0 {
		k := bits.Len(uint(len(ops))) - 1 // 1<<k ≤ len(ops)
		n := 1 << k
		w.args = w.args[:0]
		for _, op := range ops[:n] {
			o := op.(store.CallEvent)
			w.args = append(w.args, o.CallID, micros(o.At), string(o.Kind), o.Name, o.Detail, nullJSON(o.Data))
		}
		if err := w.exec(ctx, insertEventsSQL[k], w.args...); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

func (w *txWriter) op(ctx context.Context, op store.Op) error {
	switch o := op.(type) {
	case store.StartCall:
		return w.exec(ctx, startCallSQL, w.callArgs(&o.Record, store.StateActive)...)
	case store.UpdateCall:
		return w.exec(ctx, updateCallSQL, w.callArgs(&o.Record, store.StateActive)...)
	case store.FinishCall:
		return w.exec(ctx, finishCallSQL, w.callArgs(&o.Record, store.StateEnded)...)
	case store.QueueEvent:
		return w.exec(ctx, insertQueueSQL, micros(o.Time), string(o.Type), o.Queue, o.CallID, o.Agent,
			o.WaitMS, o.RingMS, o.TalkMS, o.Position, o.Priority, o.To, o.Reason, o.Callback,
			o.State, o.From, o.Node)
	case store.SurveyResult:
		return w.exec(ctx, insertSurveySQL, o.CallID, micros(o.At), o.Node, o.Var, o.Score)
	case store.PutTicket:
		t := &o.Ticket
		status, updated := t.Status, t.UpdatedAt
		if status == store.TicketUnknown {
			status = store.TicketOpen
		}
		if updated.IsZero() {
			updated = t.CreatedAt
		}
		return w.exec(ctx, putTicketSQL, t.ID, t.CallID, t.Category, t.Priority, string(status),
			t.Caller, t.Called, t.Flow, t.Language, t.Summary, object(t.Fields), list(t.Transcript),
			list(t.Recordings), micros(t.CreatedAt), micros(updated))
	case store.SetTicketStatus:
		return w.exec(ctx, ticketStatusSQL, string(o.Status), micros(o.At), o.ID)
	default:
		return fmt.Errorf("%w: unknown op %T", store.ErrInvalid, op)
	}
}

// callArgs are a record's values in sqlq.CallColumns order.
func (w *txWriter) callArgs(r *store.CallRecord, state store.CallState) []any {
	node := r.Node
	if node == "" {
		node = w.node
	}
	q := &r.Quality
	return []any{
		r.ID, node, string(state), micros(r.StartedAt), nullMicros(r.AnsweredAt), nullMicros(r.EndedAt),
		string(r.Direction), r.Caller, r.Called, r.Trunk, r.Transport, r.Codec,
		r.Flow, r.FlowVersion, r.Language, list(r.NodePath),
		r.Intent, r.IntentConfidence, r.Sentiment, string(r.Disposition), r.Contained,
		r.Queue, r.Agent, r.Wait.Milliseconds(), r.Talk.Milliseconds(), r.Hold.Milliseconds(), r.WrapUp.Milliseconds(),
		list(r.Recordings), ints(r.SurveyScores), list(r.TicketIDs), r.HangupCause, string(r.HangupSide),
		q.PacketsSent, q.PacketsReceived, q.PacketsLost, q.LossPercent, q.JitterMs, q.RTTMs, q.MOS,
		object(r.Vars),
	}
}

// micros is a time as stored: unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros is micros, or NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// list is a string list as a JSON array ("[]" for none).
func list(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // strings always marshal
	return string(b)
}

func ints(l []int) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// object is validated JSON, compacted ("{}" for none).
func object(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return compact(raw)
}

// nullJSON is validated JSON compacted, or NULL for none.
func nullJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return compact(raw)
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw) // validated before: cannot happen
	}
	return b.String()
}
