package acd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// EventType names a queue event. The names are the queue event log's of METRICS.md,
// spelled as Asterisk's queue_log spells them so existing report tools read them.
type EventType string

// Queue events, one row each in the log.
const (
	EventEnterQueue        EventType = "ENTERQUEUE"        // the call entered a queue (offered)
	EventRingAgent         EventType = "RINGAGENT"         // an offer started ringing an agent
	EventRingNoAnswer      EventType = "RINGNOANSWER"      // an agent did not answer (Reason: no_answer, rejected, failed, timeout)
	EventConnect           EventType = "CONNECT"           // an agent answered (answered; Wait is the ASA sample)
	EventAbandon           EventType = "ABANDON"           // the caller hung up while waiting, T_short or later
	EventShortAbandon      EventType = "SHORTABANDON"      // the caller hung up within T_short of entering
	EventOverflow          EventType = "OVERFLOW"          // left for another queue (To) or closed (Reason closed)
	EventCallbackRequested EventType = "CALLBACKREQUESTED" // left the line keeping their place for a callback
	EventCallbackConnected EventType = "CALLBACKCONNECTED" // a callback reached the customer and an agent
	EventExitTimeout       EventType = "EXITTIMEOUT"       // max wait passed: the flow's timeout outcome
	EventCompleteCaller    EventType = "COMPLETECALLER"    // the conversation ended by the caller (Talk)
	EventCompleteAgent     EventType = "COMPLETEAGENT"     // the conversation ended by the agent (Talk)
	EventTransfer          EventType = "TRANSFER"          // the agent transferred the caller (To, Talk)
	EventAgentState        EventType = "AGENTSTATE"        // an agent's State changed (not a queue event; see doc.go)
)

// Reasons events carry.
const (
	reasonClosed       = "closed"        // OVERFLOW: leave_when_empty
	reasonTimeout      = "timeout"       // OVERFLOW: max wait; RINGNOANSWER: reconciled
	reasonShutdown     = "shutdown"      // EXITTIMEOUT: the engine closed
	reasonBridgeFailed = "bridge_failed" // COMPLETEAGENT: Caller.Bridge failed
)

// QueueEvents lists the thirteen queue event types in the order of METRICS.md.
var QueueEvents = []EventType{
	EventEnterQueue, EventRingAgent, EventRingNoAnswer, EventConnect, EventAbandon,
	EventShortAbandon, EventOverflow, EventCallbackRequested, EventCallbackConnected,
	EventExitTimeout, EventCompleteCaller, EventCompleteAgent, EventTransfer,
}

// Event is one row of the queue event log. Durations are whole milliseconds so the
// JSON is readable and exact; a figure computed live and one computed from the log
// read back are the same numbers.
type Event struct {
	Time   time.Time `json:"time"`
	Type   EventType `json:"event"`
	Queue  string    `json:"queue,omitempty"`
	CallID string    `json:"call_id,omitempty"`
	Agent  string    `json:"agent,omitempty"`
	// WaitMS is the time since the call entered this queue (CONNECT, ABANDON,
	// SHORTABANDON, OVERFLOW, EXITTIMEOUT, CALLBACKREQUESTED) or since the callback was
	// requested (CALLBACKCONNECTED).
	WaitMS int64 `json:"wait_ms,omitempty"`
	// RingMS is how long the agent rang (CONNECT, RINGNOANSWER).
	RingMS int64 `json:"ring_ms,omitempty"`
	// TalkMS is the conversation's length (COMPLETECALLER, COMPLETEAGENT, TRANSFER).
	TalkMS   int64  `json:"talk_ms,omitempty"`
	Position int    `json:"position,omitempty"` // 1-based place in the queue on ENTERQUEUE
	Priority int    `json:"priority,omitempty"` // ENTERQUEUE
	To       string `json:"to,omitempty"`       // OVERFLOW target queue, TRANSFER target
	Reason   string `json:"reason,omitempty"`   // see the event types
	// Callback is true on events of a callback's second leg (CALLBACKCONNECTED and
	// its RINGAGENT, RINGNOANSWER, COMPLETE*), which figures about callers on the
	// line leave out.
	Callback bool   `json:"callback,omitempty"`
	State    State  `json:"state,omitzero"` // AGENTSTATE: the new state
	From     State  `json:"from,omitzero"`  // AGENTSTATE: the old state
	Node     string `json:"node,omitempty"` // the engine node that wrote the row
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// EventLog is the durable queue event log. The engine appends every event as it
// happens and replays the log at start so today's figures survive a restart;
// reports read it back. Implementations: MemLog, FileLog (JSON lines); an SQL one can
// follow behind the same interface.
type EventLog interface {
	// Append writes events durably, in order.
	Append(ctx context.Context, evs ...Event) error
	// Read calls fn for every event with from <= Time < to, in log order (a zero to
	// means no upper bound). An error from fn stops the read and is returned.
	Read(ctx context.Context, from, to time.Time, fn func(Event) error) error
}

// MemLog is an EventLog in memory, for tests and for a node without a disk.
type MemLog struct {
	mu  sync.Mutex // leaf
	evs []Event
}

var _ EventLog = (*MemLog)(nil)

// Append implements EventLog.
func (l *MemLog) Append(_ context.Context, evs ...Event) error {
	l.mu.Lock()
	l.evs = append(l.evs, evs...)
	l.mu.Unlock()
	return nil
}

// Read implements EventLog. fn runs without the lock held.
func (l *MemLog) Read(ctx context.Context, from, to time.Time, fn func(Event) error) error {
	l.mu.Lock()
	evs := l.evs[:len(l.evs):len(l.evs)]
	l.mu.Unlock()
	for _, ev := range evs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if inRange(ev.Time, from, to) {
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// Events returns a copy of every event, for tests.
func (l *MemLog) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

func inRange(t, from, to time.Time) bool {
	return !t.Before(from) && (to.IsZero() || t.Before(to))
}

// FileLog is an append-only JSON-lines EventLog: one event per line, written with
// one write call and synced before Append returns (unless noSync), so a crash loses
// at most the line being written: OpenFileLog cuts such a torn line, and Read skips
// one at the end while the file is being written.
type FileLog struct {
	mu     sync.Mutex // leaf
	path   string
	f      *os.File
	noSync bool
	buf    bytes.Buffer
}

var _ EventLog = (*FileLog)(nil)

// OpenFileLog opens (creating if needed) the log at path for appending. noSync skips
// the fsync after each Append: faster, and a machine crash (not a process crash)
// can lose the last events.
func OpenFileLog(path string, noSync bool) (*FileLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("acd: open event log: %w", err)
	}
	l := &FileLog{path: path, f: f, noSync: noSync}
	if err := l.repairTail(); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// repairTail cuts a torn last line (the process died inside a write): that event's
// Append never returned, so it was never acknowledged, and the lines before it stay
// readable.
func (l *FileLog) repairTail() error {
	fi, err := l.f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	r, err := os.Open(l.path)
	if err != nil {
		return err
	}
	defer r.Close()
	buf := make([]byte, 64<<10)
	for end := fi.Size(); end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := r.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if cut := start + int64(i) + 1; cut != fi.Size() {
				return l.f.Truncate(cut)
			}
			return nil
		}
		end = start
	}
	return l.f.Truncate(0) // a single torn line and nothing else
}

// Append implements EventLog.
func (l *FileLog) Append(_ context.Context, evs ...Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("acd: event log %s is closed", l.path)
	}
	l.buf.Reset()
	enc := json.NewEncoder(&l.buf)
	for _, ev := range evs {
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("acd: encode event: %w", err)
		}
	}
	if _, err := l.f.Write(l.buf.Bytes()); err != nil {
		return fmt.Errorf("acd: write event log: %w", err)
	}
	if !l.noSync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("acd: sync event log: %w", err)
		}
	}
	return nil
}

// Read implements EventLog. A line that does not decode is an error naming its line
// number, except a torn line (no newline) at the very end.
func (l *FileLog) Read(ctx context.Context, from, to time.Time, fn func(Event) error) error {
	f, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("acd: read event log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // an empty or torn final line: ignored
		}
		if err != nil {
			return fmt.Errorf("acd: read event log: %w", err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return fmt.Errorf("acd: %s:%d: %w", l.path, line, err)
		}
		if inRange(ev.Time, from, to) {
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
}

// Close closes the file; later Appends fail. It is idempotent.
func (l *FileLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
