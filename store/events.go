package store

import (
	"encoding/json"
	"strconv"
	"time"
)

// EventKind says which layer a timeline event comes from; `hotline calls show` prints
// it as a column. The zero value is KindUnknown.
type EventKind string

// The timeline event kinds.
const (
	KindUnknown   EventKind = ""
	KindSIP       EventKind = "sip"       // a SIP message in brief: Name "INVITE", "200 OK"; Detail the essentials
	KindNode      EventKind = "node"      // a flow node started: Name the node, Detail its type or outcome
	KindPrompt    EventKind = "prompt"    // a prompt played: Name the prompt, Detail its text
	KindSpeech    EventKind = "speech"    // recognized text: Name "final" or the intent, Detail the transcript
	KindDTMF      EventKind = "dtmf"      // digits: Name the method (rfc4733, info, inband), Detail the digits
	KindQueue     EventKind = "queue"     // a queue event (Timeline merges the queue event log in)
	KindQuality   EventKind = "quality"   // a media quality sample or the final summary
	KindRecording EventKind = "recording" // a recording started or was stored: Detail the file
	KindError     EventKind = "error"     // something failed: Detail the error
	KindNote      EventKind = "note"      // anything else worth telling the operator
)

// CallEvent is one line of a call's timeline. As an Op it is appended; the call's
// record must exist (StartCall before it, in the same or an earlier write).
type CallEvent struct {
	CallID string
	// Seq is assigned by the store and orders events of the same instant in the
	// order they were written; it is ignored on write.
	Seq    int64
	At     time.Time
	Kind   EventKind
	Name   string
	Detail string
	// Data is optional structured detail as JSON (nil for none), for the API.
	Data json.RawMessage
}

// QueueEventType names a queue event: the METRICS.md names, spelled as Asterisk's
// queue_log spells them (acd.EventType uses the same strings).
type QueueEventType string

// The queue event log's types.
const (
	QueueEventUnknown      QueueEventType = ""
	QueueEnterQueue        QueueEventType = "ENTERQUEUE"
	QueueRingAgent         QueueEventType = "RINGAGENT"
	QueueRingNoAnswer      QueueEventType = "RINGNOANSWER"
	QueueConnect           QueueEventType = "CONNECT"
	QueueAbandon           QueueEventType = "ABANDON"
	QueueShortAbandon      QueueEventType = "SHORTABANDON"
	QueueOverflow          QueueEventType = "OVERFLOW"
	QueueCallbackRequested QueueEventType = "CALLBACKREQUESTED"
	QueueCallbackConnected QueueEventType = "CALLBACKCONNECTED"
	QueueExitTimeout       QueueEventType = "EXITTIMEOUT"
	QueueCompleteCaller    QueueEventType = "COMPLETECALLER"
	QueueCompleteAgent     QueueEventType = "COMPLETEAGENT"
	QueueTransfer          QueueEventType = "TRANSFER"
	QueueAgentState        QueueEventType = "AGENTSTATE" // not a queue event: the acd logs agent states beside them, for occupancy
)

// QueueEventTypes lists the thirteen queue event types in the order of METRICS.md.
var QueueEventTypes = []QueueEventType{
	QueueEnterQueue, QueueRingAgent, QueueRingNoAnswer, QueueConnect, QueueAbandon,
	QueueShortAbandon, QueueOverflow, QueueCallbackRequested, QueueCallbackConnected,
	QueueExitTimeout, QueueCompleteCaller, QueueCompleteAgent, QueueTransfer,
}

// QueueEvent is one row of the durable queue event log. Its fields are acd.Event's,
// name for name, so the acd's EventLog is a field-by-field adapter over Store; the
// figures of METRICS.md are computed from these rows. As an Op it is appended. The
// log is independent of call records: rows need no record and outlive none.
type QueueEvent struct {
	// Seq is assigned by the store (log order among rows of the same instant); it is
	// ignored on write.
	Seq    int64
	Time   time.Time
	Type   QueueEventType
	Queue  string
	CallID string
	Agent  string
	WaitMS int64 // since the call entered the queue (CONNECT, ABANDON…)
	RingMS int64 // how long the agent rang (CONNECT, RINGNOANSWER)
	TalkMS int64 // the conversation (COMPLETECALLER, COMPLETEAGENT, TRANSFER)
	// Position is the 1-based place in the queue (ENTERQUEUE, ABANDON); Priority the
	// call's priority (ENTERQUEUE).
	Position int
	Priority int
	To       string // OVERFLOW target queue, TRANSFER target
	Reason   string
	Callback bool   // an event of a callback's second leg
	State    string // AGENTSTATE: the new state
	From     string // AGENTSTATE: the old state
	Node     string // the engine node that wrote the row
}

// QueueEventFilter selects queue events: From <= Time < To (a zero bound is open),
// and each non-empty field must match exactly.
type QueueEventFilter struct {
	From, To time.Time
	Queue    string
	CallID   string
	Agent    string
	Type     QueueEventType
}

// SurveyResult is one answered survey question. As an Op it is appended; the call's
// record must exist. CallRecord.SurveyScores holds the same scores in order, for
// reports that want one row per call.
type SurveyResult struct {
	CallID string
	Seq    int64 // assigned by the store; ignored on write
	At     time.Time
	Node   string // the survey node
	Var    string // the question's variable
	Score  int    // 1 to 5
}

// SurveyFilter selects survey results: by call, or From <= At < To (a zero bound is
// open), oldest first.
type SurveyFilter struct {
	CallID   string
	From, To time.Time
	Limit    int // 0: DefaultLimit; at most MaxLimit
}

// TimelineEvent renders a queue event as a KindQueue timeline event: Name is the
// event type and Detail says where and how long in words ("queue billing, agent
// alice, waited 12.5s").
func (e QueueEvent) TimelineEvent() CallEvent {
	ms := func(label string, n int64) string {
		if n <= 0 {
			return ""
		}
		return label + " " + dur(time.Duration(n)*time.Millisecond)
	}
	var pos, prio string
	if e.Position > 0 {
		pos = "position " + strconv.Itoa(e.Position)
	}
	if e.Priority != 0 {
		prio = "priority " + strconv.Itoa(e.Priority)
	}
	var cb string
	if e.Callback {
		cb = "callback leg"
	}
	detail := join(", ", prefixed("queue ", e.Queue), prefixed("agent ", e.Agent), pos, prio,
		ms("waited", e.WaitMS), ms("rang", e.RingMS), ms("talked", e.TalkMS),
		prefixed("to ", e.To), prefixed("reason ", e.Reason), cb)
	return CallEvent{CallID: e.CallID, Seq: e.Seq, At: e.Time, Kind: KindQueue, Name: string(e.Type), Detail: detail}
}

// MergeTimeline merges a call's events and its queue events, each already in
// order, into one timeline in time order; at the same instant call events come
// first. Backends use it so that every Store tells the same story.
func MergeTimeline(events []CallEvent, queue []QueueEvent) []CallEvent {
	if len(queue) == 0 {
		return events
	}
	out := make([]CallEvent, 0, len(events)+len(queue))
	i, j := 0, 0
	for i < len(events) || j < len(queue) {
		if j == len(queue) || (i < len(events) && !queue[j].Time.Before(events[i].At)) {
			out = append(out, events[i])
			i++
		} else {
			out = append(out, queue[j].TimelineEvent())
			j++
		}
	}
	return out
}
