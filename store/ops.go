package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Op is one write: StartCall, UpdateCall, FinishCall, CallEvent, QueueEvent,
// SurveyResult, PutTicket or SetTicketStatus. Store.Write applies a list of them in
// one transaction, in order; a Writer queues them. The set is closed (the method is
// unexported) so every backend handles every Op.
type Op interface {
	// Validate reports what makes the op unwritable, before it is queued: a Writer
	// refuses it at Submit, where the caller can still log it, instead of failing a
	// whole batch later.
	Validate() error
	isOp()
}

// StartCall inserts a call's record in state active. The call has reached the
// engine: write it before the call is answered, rejected or routed, so that a crash
// at any later point leaves a record for RecoverActive to complete. Writing it again
// for the same id does nothing (a retried batch is harmless).
type StartCall struct{ Record CallRecord }

// UpdateCall checkpoints an active call: every field is written and the state
// stays active, so a crash keeps what was known (answered, queue, agent). It
// inserts the record if StartCall was never written, and does nothing once the
// record is ended (a checkpoint overtaken by FinishCall is stale).
type UpdateCall struct{ Record CallRecord }

// FinishCall completes a call's record: every field is written and the state
// becomes ended. It inserts the record if StartCall was never written, and
// overwrites one RecoverActive completed (the call was alive after all).
type FinishCall struct{ Record CallRecord }

// PutTicket creates a ticket, or replaces every field of an existing one but its
// creation time. An empty Status is written as open.
type PutTicket struct{ Ticket Ticket }

// SetTicketStatus changes a ticket's status and its UpdatedAt to At; a missing
// ticket is not an error (the change is dropped with nothing to change).
type SetTicketStatus struct {
	ID     string
	Status TicketStatus
	At     time.Time
}

func (StartCall) isOp()       {}
func (UpdateCall) isOp()      {}
func (FinishCall) isOp()      {}
func (PutTicket) isOp()       {}
func (SetTicketStatus) isOp() {}
func (CallEvent) isOp()       {}
func (QueueEvent) isOp()      {}
func (SurveyResult) isOp()    {}

// Limits on what an op may hold: a runaway flow must not make rows no report can
// read, and a bound keeps a batch's size predictable.
const (
	maxIDLen     = 128      // call, ticket and agent ids, queue and flow names
	maxTextLen   = 4096     // a record's other strings, an event's name
	maxDetailLen = 64 << 10 // an event's detail, a ticket's summary and each transcript line
	maxJSONLen   = 1 << 20  // vars, event data, ticket fields
	maxListLen   = 10000    // node path, recordings, scores, transcript lines
)

// Validate implements Op.
func (o StartCall) Validate() error { return validateRecord("StartCall", &o.Record, false) }

// Validate implements Op.
func (o UpdateCall) Validate() error { return validateRecord("UpdateCall", &o.Record, false) }

// Validate implements Op. The record needs its EndedAt.
func (o FinishCall) Validate() error { return validateRecord("FinishCall", &o.Record, true) }

func validateRecord(op string, r *CallRecord, final bool) error {
	v := validator{op: op, key: r.ID}
	v.id("ID", r.ID, true)
	v.id("Node", r.Node, false)
	v.time("StartedAt", r.StartedAt, true)
	if final {
		v.time("EndedAt", r.EndedAt, true)
	}
	v.texts("Direction", string(r.Direction), "Caller", r.Caller, "Called", r.Called, "Trunk", r.Trunk,
		"Transport", r.Transport, "Codec", r.Codec, "Flow", r.Flow, "FlowVersion", r.FlowVersion,
		"Language", r.Language, "Intent", r.Intent, "Disposition", string(r.Disposition),
		"Queue", r.Queue, "Agent", r.Agent, "HangupCause", r.HangupCause, "HangupSide", string(r.HangupSide))
	v.list("NodePath", r.NodePath)
	v.list("Recordings", r.Recordings)
	v.list("TicketIDs", r.TicketIDs)
	if len(r.SurveyScores) > maxListLen {
		v.fail("SurveyScores has %d entries, more than %d", len(r.SurveyScores), maxListLen)
	}
	v.duration("Wait", r.Wait)
	v.duration("Talk", r.Talk)
	v.duration("Hold", r.Hold)
	v.duration("WrapUp", r.WrapUp)
	v.json("Vars", r.Vars, true)
	return v.err
}

// Validate implements Op.
func (e CallEvent) Validate() error {
	v := validator{op: "CallEvent", key: e.CallID}
	v.id("CallID", e.CallID, true)
	v.time("At", e.At, true)
	v.text("Kind", string(e.Kind), maxIDLen)
	v.text("Name", e.Name, maxTextLen)
	v.text("Detail", e.Detail, maxDetailLen)
	v.json("Data", e.Data, false)
	return v.err
}

// Validate implements Op. Type must be 1 to 32 of A-Z and '_' (any such name is
// kept, so an acd that logs a new event type loses nothing).
func (e QueueEvent) Validate() error {
	v := validator{op: "QueueEvent", key: e.CallID}
	v.time("Time", e.Time, true)
	if !validEventType(string(e.Type)) {
		v.fail("Type %q: want 1 to 32 of A-Z and _", e.Type)
	}
	v.id("Queue", e.Queue, false)
	v.id("CallID", e.CallID, false)
	v.id("Agent", e.Agent, false)
	v.texts("To", e.To, "Reason", e.Reason, "State", e.State, "From", e.From, "Node", e.Node)
	return v.err
}

func validEventType(t string) bool {
	if t == "" || len(t) > 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return true
}

// Validate implements Op.
func (s SurveyResult) Validate() error {
	v := validator{op: "SurveyResult", key: s.CallID}
	v.id("CallID", s.CallID, true)
	v.time("At", s.At, true)
	v.text("Node", s.Node, maxTextLen)
	v.text("Var", s.Var, maxTextLen)
	return v.err
}

// Validate implements Op.
func (o PutTicket) Validate() error {
	t := &o.Ticket
	v := validator{op: "PutTicket", key: t.ID}
	v.id("ID", t.ID, true)
	v.id("CallID", t.CallID, false)
	v.time("CreatedAt", t.CreatedAt, true)
	if t.Status != TicketUnknown && !t.Status.valid() {
		v.fail("Status %q: want open, in_progress, resolved or closed", t.Status)
	}
	v.texts("Category", t.Category, "Priority", t.Priority, "Caller", t.Caller, "Called", t.Called,
		"Flow", t.Flow, "Language", t.Language)
	v.text("Summary", t.Summary, maxDetailLen)
	v.json("Fields", t.Fields, true)
	v.list("Recordings", t.Recordings)
	if len(t.Transcript) > maxListLen {
		v.fail("Transcript has %d lines, more than %d", len(t.Transcript), maxListLen)
	}
	for i, line := range t.Transcript {
		v.text(fmt.Sprintf("Transcript[%d]", i), line, maxDetailLen)
	}
	return v.err
}

// Validate implements Op.
func (o SetTicketStatus) Validate() error {
	v := validator{op: "SetTicketStatus", key: o.ID}
	v.id("ID", o.ID, true)
	v.time("At", o.At, true)
	if !o.Status.valid() {
		v.fail("Status %q: want open, in_progress, resolved or closed", o.Status)
	}
	return v.err
}

// validator collects the first problem of an op as an error wrapping ErrInvalid.
type validator struct {
	op, key string
	err     error
}

func (v *validator) fail(format string, args ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("%w: %s %q: %s", ErrInvalid, v.op, truncate(v.key, 40), fmt.Sprintf(format, args...))
	}
}

func (v *validator) id(name, s string, required bool) {
	if required && s == "" {
		v.fail("%s is empty", name)
	}
	v.text(name, s, maxIDLen)
}

func (v *validator) text(name, s string, limit int) {
	if len(s) > limit {
		v.fail("%s is %d bytes, more than %d", name, len(s), limit)
	} else if !utf8.ValidString(s) {
		v.fail("%s is not valid UTF-8", name)
	} else if strings.IndexByte(s, 0) >= 0 {
		v.fail("%s holds a NUL byte", name) // PostgreSQL text cannot
	}
}

// texts checks name, value pairs against maxTextLen, in order.
func (v *validator) texts(pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		v.text(pairs[i], pairs[i+1], maxTextLen)
	}
}

func (v *validator) duration(name string, d time.Duration) {
	if d < 0 {
		v.fail("%s is negative (%v)", name, d)
	}
}

func (v *validator) time(name string, t time.Time, required bool) {
	if required && t.IsZero() {
		v.fail("%s is zero", name)
	}
	if y := t.Year(); !t.IsZero() && (y < 1970 || y > 9999) {
		v.fail("%s %v is out of range", name, t)
	}
}

func (v *validator) list(name string, l []string) {
	if len(l) > maxListLen {
		v.fail("%s has %d entries, more than %d", name, len(l), maxListLen)
		return
	}
	for i, s := range l {
		v.text(fmt.Sprintf("%s[%d]", name, i), s, maxTextLen)
	}
}

// json checks raw is empty or one valid JSON value (an object when object is set)
// without NUL characters, which PostgreSQL's jsonb refuses.
func (v *validator) json(name string, raw json.RawMessage, object bool) {
	if len(raw) == 0 {
		return
	}
	if len(raw) > maxJSONLen {
		v.fail("%s is %d bytes of JSON, more than %d", name, len(raw), maxJSONLen)
		return
	}
	if !json.Valid(raw) {
		v.fail("%s is not valid JSON", name)
		return
	}
	if object && bytes.TrimLeft(raw, " \t\r\n")[0] != '{' {
		v.fail("%s is not a JSON object", name)
		return
	}
	if bytes.Contains(raw, []byte(`\u0000`)) {
		v.fail("%s holds a NUL character", name)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
