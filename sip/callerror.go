package sip

import (
	"errors"
	"fmt"
	"strconv"
)

// Why an outbound call (Dial) or a transfer (Refer) did not connect. Dial and Refer
// return a *CallError whose Unwrap yields one of these, so callers branch with
// errors.Is without reading status codes: the flow's transfer node maps them to its
// busy, no_answer and failed outcomes, the ACD to OfferRejected, OfferNoAnswer and
// OfferFailed, a callback dialler to "retry later".
var (
	// ErrBusy: the callee is busy (486 Busy Here, 600 Busy Everywhere).
	ErrBusy = errors.New("sip: callee busy")
	// ErrNoAnswer: nobody answered before the ring timeout (we sent CANCEL, RFC 3261
	// §9.1), or a proxy gave up ringing (408 Request Timeout, an unsolicited 487).
	ErrNoAnswer = errors.New("sip: no answer")
	// ErrRejected: the callee or the network refused the call (603 Decline, 403
	// Forbidden, 607 Unwanted).
	ErrRejected = errors.New("sip: call rejected")
	// ErrUnavailable: the callee cannot be reached now (404, 410, 480, 484, 604, any
	// 5xx, a 3xx redirect, which is not followed), or the INVITE got no response at
	// all (Timer B, RFC 3261 §17.1.1.2) or could not be sent.
	ErrUnavailable = errors.New("sip: callee unavailable")
	// ErrCanceled: our side gave up before the answer: Dial's ctx ended, the Call
	// (given to DialRequest.OnProgress) was hung up, or the server closed.
	ErrCanceled = errors.New("sip: call canceled")
	// ErrAuthFailed: the trunk challenged us (401/407) and we had no credentials for
	// the realm, or it refused the ones we sent.
	ErrAuthFailed = errors.New("sip: authentication failed")
	// ErrMedia: no usable audio: 488/606, or an answer we cannot use (the call is
	// then ACKed and ended with BYE, RFC 3261 §13.2.2.4).
	ErrMedia = errors.New("sip: no usable media")
	// ErrFailed: any other final response.
	ErrFailed = errors.New("sip: call failed")

	// ErrRefused: the engine did not place the call: a toll-fraud guard of the trunk
	// refused it (ErrNotAllowed, ErrTrunkFull, ErrTrunkRate). Nothing left the engine;
	// the attempt is logged and counted in hotline_outbound_attempts_total.
	ErrRefused = errors.New("sip: outbound call refused")
	// ErrNotAllowed: the destination matches none of the trunk's allow patterns.
	ErrNotAllowed = fmt.Errorf("%w: destination not in the trunk's allow list", ErrRefused)
	// ErrTrunkFull: the trunk already carries max_calls outbound calls.
	ErrTrunkFull = fmt.Errorf("%w: trunk at its concurrent call limit", ErrRefused)
	// ErrTrunkRate: the trunk started calls_per_minute calls in the last minute.
	ErrTrunkRate = fmt.Errorf("%w: trunk at its calls-per-minute limit", ErrRefused)

	// ErrInvalidDial: the DialRequest itself is wrong (no target, a number without a
	// trunk, an unknown trunk, a header the dialog owns, a number that is no number).
	ErrInvalidDial = errors.New("sip: invalid dial request")
	// ErrUnknownTrunk: DialRequest.Trunk names no configured trunk.
	ErrUnknownTrunk = fmt.Errorf("%w: unknown trunk", ErrInvalidDial)
	// ErrServerClosed: Dial after Close, or before Listen.
	ErrServerClosed = errors.New("sip: server not serving")

	// ErrReferRefused: the peer answered our REFER with an error (RFC 3515 §2.4.2:
	// 403, 405, 501, 603...). The call stays up.
	ErrReferRefused = errors.New("sip: transfer refused")
)

// CallError is how an outbound call attempt ended without a conversation: our Dial,
// or the call a transferee placed for our REFER (its final NOTIFY, RFC 3515 §2.4.5).
// It carries the SIP status, like livekit's errors that know their status and metric
// label.
type CallError struct {
	// Status is the final SIP status code, 0 when none came (no response, canceled
	// before any, refused by policy).
	Status int
	// Reason is the status's reason phrase or what happened instead.
	Reason string
	// Err is the sentinel to branch on: ErrBusy, ErrNoAnswer, ErrRejected...
	Err error
	// Cause is the underlying error, if any: ctx.Err(), a transport error.
	Cause error
}

func (e *CallError) Error() string {
	var s string
	switch {
	case e.Status > 0:
		s = fmt.Sprintf("%v: %d %s", e.Err, e.Status, e.Reason)
	case e.Reason != "":
		s = fmt.Sprintf("%v: %s", e.Err, e.Reason)
	default:
		s = e.Err.Error()
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap yields the sentinel and the cause.
func (e *CallError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// SIPStatus is the final status code (0 when none).
func (e *CallError) SIPStatus() int { return e.Status }

// statusError maps a final failure status to its sentinel.
func statusError(code int, reason string) *CallError {
	var err error
	switch {
	case code == 486 || code == 600:
		err = ErrBusy
	case code == 408 || code == 487:
		err = ErrNoAnswer
	case code == 403 || code == 603 || code == 607:
		err = ErrRejected
	case code == 401 || code == 407:
		err = ErrAuthFailed
	case code == 488 || code == 606:
		err = ErrMedia
	case code == 404 || code == 410 || code == 480 || code == 484 || code == 485 || code == 604,
		code >= 500 && code < 600, code >= 300 && code < 400:
		err = ErrUnavailable
	default:
		err = ErrFailed
	}
	if reason == "" {
		reason = reasonPhrase(code)
	}
	return &CallError{Status: code, Reason: reason, Err: err}
}

// Outcome labels: the result label of hotline_outbound_attempts_total and the cause
// of an outbound call that never connected. Bounded values.
const (
	resultAnswered    = "answered"
	resultBusy        = "busy"
	resultNoAnswer    = "no_answer"
	resultRejected    = "rejected"
	resultUnavailable = "unavailable"
	resultCanceled    = "canceled"
	resultAuthFailed  = "auth_failed"
	resultMedia       = "media_failed"
	resultFailed      = "failed"
	resultNotAllowed  = "refused_destination"
	resultTrunkFull   = "refused_concurrency"
	resultTrunkRate   = "refused_rate"
	resultInvalid     = "invalid"
	resultShutdown    = "shutdown"
)

// resultOf is the metric label of a Dial error.
func resultOf(err error) string {
	switch {
	case err == nil:
		return resultAnswered
	case errors.Is(err, ErrServerClosed):
		return resultShutdown
	case errors.Is(err, ErrBusy):
		return resultBusy
	case errors.Is(err, ErrNoAnswer):
		return resultNoAnswer
	case errors.Is(err, ErrRejected):
		return resultRejected
	case errors.Is(err, ErrUnavailable):
		return resultUnavailable
	case errors.Is(err, ErrCanceled):
		return resultCanceled
	case errors.Is(err, ErrAuthFailed):
		return resultAuthFailed
	case errors.Is(err, ErrMedia):
		return resultMedia
	case errors.Is(err, ErrNotAllowed):
		return resultNotAllowed
	case errors.Is(err, ErrTrunkFull):
		return resultTrunkFull
	case errors.Is(err, ErrTrunkRate):
		return resultTrunkRate
	case errors.Is(err, ErrInvalidDial):
		return resultInvalid
	}
	return resultFailed
}

// statusText renders a status for logs: "486 Busy Here".
func statusText(code int, reason string) string {
	if reason == "" {
		reason = reasonPhrase(code)
	}
	return strconv.Itoa(code) + " " + reason
}
