// Package sqlq holds the SQL both backends share: the calls table's column list
// and the WHERE clauses of searches, written once with '?' markers that each
// backend renders as its placeholders (SQLite ?, PostgreSQL $n), so a filter means
// the same rows on every backend.
package sqlq

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hotline-ivr/hotline/store"
)

// CallColumns are the calls table's columns in the order backends insert and scan
// them (the latest schema).
var CallColumns = []string{
	"id", "node", "state", "started_at", "answered_at", "ended_at",
	"direction", "caller", "called", "trunk", "transport", "codec",
	"flow", "flow_version", "language", "node_path",
	"intent", "intent_confidence", "sentiment", "disposition", "contained",
	"queue", "agent", "wait_ms", "talk_ms", "hold_ms", "wrapup_ms",
	"recordings", "survey_scores", "ticket_ids", "hangup_cause", "hangup_side",
	"packets_sent", "packets_received", "packets_lost", "loss_pct", "jitter_ms", "rtt_ms", "mos",
	"vars",
}

// ColumnList is CallColumns joined with ", ", optionally each prefixed with a table
// alias ("c.").
func ColumnList(prefix string) string {
	var b strings.Builder
	for i, c := range CallColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(prefix)
		b.WriteString(c)
	}
	return b.String()
}

// Placeholders returns "?, ?, …" n times for SQLite or "$1, $2, …" for PostgreSQL,
// starting after the first `from` arguments.
func Placeholders(n, from int, dollar bool) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Placeholder(from+i+1, dollar))
	}
	return b.String()
}

// Placeholder is the n-th (1-based) parameter marker.
func Placeholder(n int, dollar bool) string {
	if !dollar {
		return "?"
	}
	return "$" + itoa(n)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// Where accumulates conditions joined by AND, and their arguments.
type Where struct {
	dollar bool
	conds  []string
	args   []any
}

// NewWhere starts an empty condition list; dollar selects PostgreSQL's $n markers.
func NewWhere(dollar bool) *Where { return &Where{dollar: dollar} }

// Add appends cond, whose '?' markers take args in order.
func (w *Where) Add(cond string, args ...any) {
	if w.dollar {
		var b strings.Builder
		n := len(w.args)
		for _, r := range cond {
			if r == '?' {
				n++
				b.WriteString(Placeholder(n, true))
			} else {
				b.WriteRune(r)
			}
		}
		cond = b.String()
	}
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// SQL is " WHERE c1 AND c2…", or "" with no conditions.
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Args are the arguments of every condition, in order.
func (w *Where) Args() []any { return w.args }

// Next is the marker of the next argument, for a LIMIT after the conditions.
func (w *Where) Next(arg any) string {
	w.args = append(w.args, arg)
	return Placeholder(len(w.args), w.dollar)
}

// Calls builds the WHERE of a SearchFilter (already validated). ts converts a time
// to the backend's column value (unix microseconds in SQLite, timestamptz in
// PostgreSQL).
func Calls(f store.SearchFilter, dollar bool, ts func(time.Time) any) (*Where, error) {
	w := NewWhere(dollar)
	if !f.From.IsZero() {
		w.Add("started_at >= ?", ts(f.From))
	}
	if !f.To.IsZero() {
		w.Add("started_at < ?", ts(f.To))
	}
	match(w, "caller", f.Caller)
	match(w, "called", f.Called)
	eq(w, "disposition", string(f.Disposition))
	eq(w, "queue", f.Queue)
	eq(w, "agent", f.Agent)
	eq(w, "flow", f.Flow)
	eq(w, "state", string(f.State))
	if f.Cursor != "" {
		c, err := store.ParseCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		w.Add("(started_at, id) < (?, ?)", ts(c.At), c.ID)
	}
	return w, nil
}

// Tickets builds the WHERE of a TicketFilter (already validated).
func Tickets(f store.TicketFilter, dollar bool, ts func(time.Time) any) (*Where, error) {
	w := NewWhere(dollar)
	if !f.From.IsZero() {
		w.Add("created_at >= ?", ts(f.From))
	}
	if !f.To.IsZero() {
		w.Add("created_at < ?", ts(f.To))
	}
	eq(w, "status", string(f.Status))
	eq(w, "category", f.Category)
	eq(w, "caller", f.Caller)
	eq(w, "call_id", f.CallID)
	if f.Cursor != "" {
		c, err := store.ParseCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		w.Add("(created_at, id) < (?, ?)", ts(c.At), c.ID)
	}
	return w, nil
}

// QueueEvents builds the WHERE of a QueueEventFilter (already validated).
func QueueEvents(f store.QueueEventFilter, dollar bool, ts func(time.Time) any) *Where {
	w := NewWhere(dollar)
	if !f.From.IsZero() {
		w.Add("at >= ?", ts(f.From))
	}
	if !f.To.IsZero() {
		w.Add("at < ?", ts(f.To))
	}
	eq(w, "queue", f.Queue)
	eq(w, "call_id", f.CallID)
	eq(w, "agent", f.Agent)
	eq(w, "type", string(f.Type))
	return w
}

// Surveys builds the WHERE of a SurveyFilter (already validated).
func Surveys(f store.SurveyFilter, dollar bool, ts func(time.Time) any) *Where {
	w := NewWhere(dollar)
	eq(w, "call_id", f.CallID)
	if !f.From.IsZero() {
		w.Add("at >= ?", ts(f.From))
	}
	if !f.To.IsZero() {
		w.Add("at < ?", ts(f.To))
	}
	return w
}

func eq(w *Where, col, v string) {
	if v != "" {
		w.Add(col+" = ?", v)
	}
}

// match is equality, or a prefix match when v ends in '*'. The prefix is compared
// with substr, not LIKE: SQLite's LIKE ignores ASCII case and PostgreSQL's does
// not, and a filter must select the same rows on both.
func match(w *Where, col, v string) {
	if p, ok := strings.CutSuffix(v, "*"); ok {
		if p != "" {
			w.Add("substr("+col+", 1, ?) = ?", utf8.RuneCountInString(p), p)
		}
		return
	}
	eq(w, col, v)
}
