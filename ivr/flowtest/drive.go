package flowtest

// The step machine of a test case: it drives a Call through the case's steps.
//
// Actions (press, say) act when the call next waits for the caller, or, right
// after an expect_prompt that matched the prompt still playing, during that prompt
// (barge-in and type-ahead, as a caller who knows the menu). Expectations look at
// what happened since the previous action, and pass as soon as it satisfies them;
// if the call comes to wait for the caller (or reaches a queue, a transfer or its
// end) without that, the case fails there.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hotline-ivr/hotline/flows"
)

// newMockClient is the http client of a test case: answered in process (see
// mockTransport).
func newMockClient(env *flows.Env, mocks map[string]map[string]*Mock) *http.Client {
	return &http.Client{Transport: newMockTransport(env, mocks, NewBilling())}
}

// caseRun is one case being run.
type caseRun struct {
	ctx     context.Context
	call    *Call
	ev      Event
	failure *Failure

	promptFrom int  // the log index expect_prompt searches from
	nodeFrom   int  // the log index expect_node searches from
	playing    int  // at an EventPrompt, the log index of its prompt; else -1
	matched    bool // the last expect_prompt matched the prompt playing now
}

// next moves the call on to its next event; false (with the failure set) when it
// does not come back.
func (r *caseRun) next() bool {
	ev, err := r.call.Next(r.ctx)
	if err != nil {
		r.failure = &Failure{Step: "(the call)", Expected: "the call to go on", Got: err.Error()}
		return false
	}
	r.ev, r.matched, r.playing = ev, false, -1
	if ev.Kind == EventPrompt {
		log := r.call.Log(0)
		for i := len(log) - 1; i >= 0; i-- {
			if log[i].Kind == EntryPrompt {
				r.playing = i
				break
			}
		}
	}
	return true
}

// acted marks an action: expectations look at what happens from now on.
func (r *caseRun) acted() {
	n := len(r.call.Log(0))
	r.promptFrom, r.nodeFrom = n, n
}

func (r *caseRun) fail(st *step, expected, got string) bool {
	r.failure = &Failure{Pos: st.pos, Step: st.src, Expected: expected, Got: got}
	return false
}

// do runs one step; false when the case failed.
func (r *caseRun) do(st *step) bool {
	switch st.kind {
	case stepPress, stepSay:
		return r.input(st)
	case stepWait, stepTimeout:
		return r.wait(st)
	case stepHangup:
		r.acted()
		r.call.Hangup()
		for r.ev.Kind != EventEnd {
			if !r.next() {
				return false
			}
		}
		return true
	case stepQueue, stepTransfer:
		return r.outcome(st)
	}
	for {
		ok, expected, got := r.check(st)
		if ok {
			return true
		}
		if r.ev.Kind != EventPrompt {
			return r.fail(st, expected, got+"; "+r.call.describe(r.ev))
		}
		if !r.next() {
			return false
		}
	}
}

// input presses keys or speaks.
func (r *caseRun) input(st *step) bool {
	what := "to press " + st.keys
	if st.kind == stepSay {
		what = "to say " + fmt.Sprintf("%q", st.text)
	}
	for {
		switch r.ev.Kind {
		case EventPrompt:
			if r.matched && r.deliver(st) == nil {
				return r.next()
			}
			if !r.next() {
				return false
			}
			continue
		case EventWait:
			err := r.deliver(st)
			if errors.Is(err, ErrNotListening) {
				return r.fail(st, what, "node "+r.ev.Node+" waits for keys only (its input is dtmf): it cannot hear speech")
			}
			if err != nil {
				return r.fail(st, what, err.Error())
			}
			return r.next()
		}
		return r.fail(st, "the call to wait for the caller, "+what, r.call.describe(r.ev))
	}
}

func (r *caseRun) deliver(st *step) error {
	r.acted()
	if st.kind == stepPress {
		return r.call.Press(st.keys)
	}
	return r.call.Say(st.text)
}

// wait lets time pass with no input: st.wait of it, or (timeout) until the wait
// the call is in runs out.
func (r *caseRun) wait(st *step) bool {
	r.acted()
	left := st.wait
	for st.kind == stepTimeout || left > 0 {
		switch r.ev.Kind {
		case EventPrompt:
			if !r.next() {
				return false
			}
			continue
		case EventEnd:
			return st.kind == stepWait || r.fail(st, "a wait for the caller to run out", r.call.describe(r.ev))
		case EventWait:
		default:
			return r.fail(st, "the call to wait for the caller", r.call.describe(r.ev)+
				" (how a queue or transfer turns out is set with queue: or transfer:)")
		}
		d := left
		if st.kind == stepTimeout {
			d = r.ev.Wait.Left
			if r.ev.Wait.Recording {
				d = min(d, r.ev.Wait.EndOnSilence+silenceMargin)
			}
		}
		passed, err := r.call.Advance(d)
		if err != nil {
			return r.fail(st, "time to pass", err.Error())
		}
		left -= passed
		woke := r.call.wake
		if woke && !r.next() {
			return false
		}
		if st.kind == stepTimeout {
			return woke || r.fail(st, "the wait to run out", r.call.describe(r.ev))
		}
	}
	return true
}

// outcome answers the queue or transfer the call comes to.
func (r *caseRun) outcome(st *step) bool {
	want, what := EventQueue, "the call to enter a queue"
	if st.kind == stepTransfer {
		want, what = EventTransfer, "a transfer"
	}
	for r.ev.Kind == EventPrompt {
		if !r.next() {
			return false
		}
	}
	if r.ev.Kind != want {
		return r.fail(st, what, r.call.describe(r.ev))
	}
	r.acted()
	if err := r.call.Answer(st.outcome); err != nil {
		return r.fail(st, what, err.Error())
	}
	return r.next()
}

// check evaluates an expectation now: whether it holds, and if not, what was
// expected and what happened instead.
func (r *caseRun) check(st *step) (ok bool, expected, got string) {
	log := r.call.Log(0)
	switch st.kind {
	case stepExpectPrompt:
		expected = "a prompt matching " + st.match.String()
		var said []string
		for i := r.promptFrom; i < len(log); i++ {
			if log[i].Kind != EntryPrompt {
				continue
			}
			if st.match.matches(log[i].Text) {
				r.promptFrom = i + 1
				r.matched = i == r.playing
				return true, "", ""
			}
			said = append(said, fmt.Sprintf("%q", log[i].Text))
		}
		if len(said) == 0 {
			return false, expected, "no prompt since the previous step"
		}
		return false, expected, "the call said " + strings.Join(said, ", ")
	case stepExpectNode:
		expected = "the call to go through node " + st.node
		var went []string
		for i := r.nodeFrom; i < len(log); i++ {
			if log[i].Kind != EntryNode {
				continue
			}
			if log[i].Node == st.node {
				r.nodeFrom = i + 1
				return true, "", ""
			}
			went = append(went, log[i].Node)
		}
		if len(went) == 0 {
			return false, expected, "the call went through no node since the previous step"
		}
		return false, expected, "the call went through " + strings.Join(went, " > ")
	case stepExpectVar:
		vars := r.call.Vars()
		if r.ev.Kind == EventEnd {
			vars = r.ev.Result.Vars
		}
		var want, have []string
		for _, v := range st.vars {
			if got, present := vars[v.name]; !present || !v.want.matches(got) {
				want = append(want, v.name+" = "+v.want.String())
				have = append(have, v.name+" = "+formatValue(got))
			}
		}
		return len(want) == 0, strings.Join(want, ", "), strings.Join(have, ", ")
	case stepExpectQueue:
		expected = "queue " + st.queue.name
		for i := len(log) - 1; i >= 0; i-- {
			if log[i].Kind == EntryQueue {
				diff := st.queue.check(log[i].Queue)
				return diff == "", expected, "the call entered queue " + describeQueue(log[i].Queue) + ": " + diff
			}
		}
		return false, expected, "the call entered no queue"
	case stepExpectTransfer:
		expected = "a transfer (" + st.src + ")"
		for i := len(log) - 1; i >= 0; i-- {
			if log[i].Kind == EntryTransfer {
				diff := st.xfer.check(log[i].Transfer)
				return diff == "", expected, diff
			}
		}
		return false, expected, "no transfer"
	case stepExpectTicket:
		expected = "a ticket (" + st.src + ")"
		for i := len(log) - 1; i >= 0; i-- {
			if log[i].Kind == EntryTicket {
				diff := st.ticket.check(log[i].Ticket)
				return diff == "", expected, "ticket " + describeTicket(log[i].Ticket) + ": " + diff
			}
		}
		return false, expected, "no ticket was created"
	case stepExpectDisposition:
		expected = "the call to end with disposition " + st.disp
		if r.ev.Kind != EventEnd {
			return false, expected, "the call has not ended"
		}
		res := r.ev.Result
		return res.Disposition == st.disp, expected, "it ended with disposition " + res.Disposition
	case stepExpectPath:
		path := r.call.Path()
		if r.ev.Kind == EventEnd {
			path = r.ev.Result.Path
		}
		pattern := make([]string, len(st.path))
		for i, it := range st.path {
			pattern[i] = it.node
		}
		return matchesPath(st.path, path), "path " + strings.Join(pattern, " > "), "path " + strings.Join(path, " > ")
	}
	return false, "a known step", "step " + st.src
}
