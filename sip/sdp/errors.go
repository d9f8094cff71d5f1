package sdp

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors for branching with [errors.Is]. Parse errors wrap
// ErrMalformed through [*ParseError]; negotiation errors wrap the others
// through [*NegotiationError], which also says which SIP response to send.
var (
	// ErrMalformed means the body is not a valid session description
	// (RFC 8866 §5, §9). A UAS usually rejects such an INVITE with 400.
	ErrMalformed = errors.New("sdp: malformed session description")

	// ErrNoAudio means the offer has no audio m-line the engine can use:
	// only video, every audio port 0, or only transports it does not speak.
	// The caller answers 488 (RFC 3261 §21.4.26).
	ErrNoAudio = errors.New("sdp: no usable audio stream")

	// ErrNoCommonCodec means an audio stream was offered but none of its
	// formats is one of the configured codecs. The caller answers 488 with
	// Warning 305 (RFC 3261 §20.43).
	ErrNoCommonCodec = errors.New("sdp: no common audio codec")

	// ErrAddress means the connection data cannot be turned into an IP
	// address and port: no c= line, a host name, an address that does not
	// match its address type, or a port of zero.
	ErrAddress = errors.New("sdp: unusable connection address")

	// ErrAnswerMismatch means an answer does not correspond to our offer,
	// for example a different number of m-lines (RFC 3264 §6).
	ErrAnswerMismatch = errors.New("sdp: answer does not match offer")
)

// maxErrText bounds how much of an offending line a ParseError quotes, so
// a hostile body cannot blow up log lines.
const maxErrText = 64

// ParseError reports why [Parse] rejected a body and where. It unwraps to
// [ErrMalformed], so callers branch with errors.Is and log the details.
type ParseError struct {
	// Line is the 1-based line number, or 0 when the problem concerns the
	// body as a whole (for example a missing s= line).
	Line int
	// Text is the offending line, truncated to 64 bytes.
	Text string
	// Reason says what is wrong, e.g. "port out of range".
	Reason string
}

func newParseError(line int, text, reason string) *ParseError {
	if len(text) > maxErrText {
		text = text[:maxErrText] + "..."
	}
	return &ParseError{Line: line, Text: text, Reason: reason}
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "sdp: " + e.Reason
	}
	return fmt.Sprintf("sdp: line %d: %s: %q", e.Line, e.Reason, e.Text)
}

// Unwrap returns [ErrMalformed].
func (e *ParseError) Unwrap() error { return ErrMalformed }

// StatusCode is the SIP response a UAS sends for an offer it cannot parse:
// 400 Bad Request (RFC 3261 §21.4.1).
func (e *ParseError) StatusCode() int { return 400 }

// Warning codes from RFC 3261 §20.43 that a 488 response carries to say
// why an offer was refused.
const (
	WarnIncompatibleAddress   = 301 // "Incompatible network address formats"
	WarnIncompatibleTransport = 302 // "Incompatible transport protocol"
	WarnMediaNotAvailable     = 304 // "Media type not available"
	WarnIncompatibleFormat    = 305 // "Incompatible media format"
	WarnMiscellaneous         = 399 // "Miscellaneous warning"
)

// NegotiationError reports why an offer or answer could not be negotiated.
// It unwraps to one of [ErrNoAudio], [ErrNoCommonCodec], [ErrAddress] or
// [ErrAnswerMismatch] and carries the SIP status and Warning code the
// signalling layer should send, so that layer needs no SDP knowledge.
type NegotiationError struct {
	// Err is the sentinel this error wraps.
	Err error
	// Warn is the RFC 3261 §20.43 warn-code, e.g. [WarnIncompatibleFormat].
	Warn int
	// Detail is a human-readable explanation for logs, e.g. the formats
	// that were offered.
	Detail string
}

// Error implements error.
func (e *NegotiationError) Error() string {
	msg := "sdp: negotiation failed"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Detail == "" {
		return msg
	}
	return msg + ": " + e.Detail
}

// Unwrap returns the wrapped sentinel.
func (e *NegotiationError) Unwrap() error { return e.Err }

// StatusCode is the SIP response for a refused offer: 488 Not Acceptable
// Here (RFC 3261 §21.4.26).
func (e *NegotiationError) StatusCode() int { return 488 }

// Warning formats the value of a SIP Warning header (RFC 3261 §20.43),
// e.g. `305 hotline "Incompatible media format"`. agent is the warn-agent,
// usually the host name or product token.
func (e *NegotiationError) Warning(agent string) string {
	if agent == "" {
		agent = "-"
	}
	return strconv.Itoa(e.Warn) + " " + agent + " " + strconv.Quote(warnText(e.Warn))
}

func warnText(code int) string {
	switch code {
	case WarnIncompatibleAddress:
		return "Incompatible network address formats"
	case WarnIncompatibleTransport:
		return "Incompatible transport protocol"
	case WarnMediaNotAvailable:
		return "Media type not available"
	case WarnIncompatibleFormat:
		return "Incompatible media format"
	default:
		return "Miscellaneous warning"
	}
}

func negErr(err error, warn int, format string, args ...any) *NegotiationError {
	return &NegotiationError{Err: err, Warn: warn, Detail: fmt.Sprintf(format, args...)}
}
