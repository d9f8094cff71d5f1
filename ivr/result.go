package ivr

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// Result is what happened to a call in its flow, for the call record.
type Result struct {
	Flow, Version string
	// Disposition is how the call ended: the hangup node's, abandoned when the caller
	// hung up first, error when the flow failed, unresolved otherwise.
	Disposition string
	Reason      string // the hangup node's reason, if any
	// Path lists the executed nodes in order; nodes of a subflow are written
	// "flow:node", and the on_hangup section's nodes follow the call's.
	Path []string
	// Vars holds the top flow's variables at the end of the call, typed as the flow
	// declares them (built-ins included; runtime functions and now left out).
	Vars     Vars
	Language string // the call's language at the end

	// What the caller said and meant: the last intent recognized and its confidence,
	// the sentiment of the last speech, and every transcript in order.
	Intent           string
	IntentConfidence float64
	Sentiment        float64
	Transcript       []string

	Survey     []SurveyAnswer // every survey answer, in order
	Tickets    []string       // ids of the tickets created
	Recordings []string       // references of the recordings kept
	// Queue is the last queue node's result, nil when none ran; QueueEntered reports
	// whether the call entered any queue (completed, timeout or callback): the
	// transfer-to-human figure.
	Queue        *QueueRecord
	QueueEntered bool
	// Transfer is the last transfer node's result, nil when none ran.
	Transfer *TransferRecord
	// Contained: the call ended inside the IVR with disposition resolved, without
	// entering a queue or being transferred: self-service containment.
	Contained bool

	// Err is the error that ended the flow abnormally, if any: the context's error when
	// the caller hung up (disposition abandoned), else what failed (disposition error,
	// unless a hangup node had already set one).
	Err error
}

// SurveyAnswer is one answered survey question.
type SurveyAnswer struct {
	Node  string // the survey node
	Var   string // the question's variable
	Score int    // 1 to 5
}

// QueueRecord is how a call left a queue.
type QueueRecord struct {
	Name    string        // the queue's name in the flow
	ID      string        // the ACD's id
	Outcome flows.Outcome // completed, full, timeout, closed, callback or error
	Agent   string
	Waited  time.Duration
	Talked  time.Duration // with the agent
}

// TransferRecord is a transfer's target and outcome.
type TransferRecord struct {
	To      string
	Mode    string
	Outcome flows.Outcome // ok, busy, no_answer, failed or error
}

// Vars are a call's variables by name, typed as in flows: string, float64 (number),
// int, bool, time.Time, time.Duration, []any, map[string]any or any.
type Vars map[string]any

// String returns variable name as text, as a prompt would say it: "" for a
// variable that is missing or nil, whole numbers without decimals.
func (v Vars) String(name string) string { return formatValue(v[name]) }

// formatValue renders a value as text: strings as is, whole numbers without a
// decimal point, times in RFC 3339, nil as nothing.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', 0, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// record collects what the call record needs beyond the variables.
type record struct {
	transcript   []string
	survey       []SurveyAnswer
	tickets      []string
	recordings   []string
	queue        *QueueRecord
	queueEntered bool
	transfer     *TransferRecord
	transferred  bool // a transfer node succeeded
}

// result builds the call's Result once the flow and its on_hangup section are done.
func (c *call) result(err error) Result {
	f, vars := c.top.flow, c.top.vars
	res := Result{
		Flow: f.Name, Version: f.Version, Disposition: c.disp, Reason: c.reason,
		Path: c.path, Vars: dataVars(vars), Language: c.top.lang(),
		Transcript: slices.Clone(c.rec.transcript), Survey: c.rec.survey,
		Tickets: c.rec.tickets, Recordings: c.rec.recordings,
		Queue: c.rec.queue, QueueEntered: c.rec.queueEntered, Transfer: c.rec.transfer,
		Err: err,
	}
	res.Intent, _ = vars["intent"].(string)
	res.IntentConfidence, _ = vars["intent_confidence"].(float64)
	res.Sentiment, _ = vars["sentiment"].(float64)
	res.Contained = res.Disposition == DispositionResolved && !c.rec.queueEntered && !c.rec.transferred
	return res
}
