package dtmf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SIP INFO content types that carry DTMF. Neither is defined by an RFC:
// dtmf-relay is Cisco's format, adopted by most carriers, PBXs and phones;
// application/dtmf carries the bare digit.
const (
	ContentTypeDTMFRelay = "application/dtmf-relay"
	ContentTypeDTMF      = "application/dtmf"
)

// maxDurationDigits bounds the Duration value so parsing cannot overflow
// (999,999,999 ms is 11.5 days).
const maxDurationDigits = 9

// ParseInfo extracts the key press from the body of a SIP INFO request.
//
// contentType is the Content-Type header value; its parameters are ignored
// and the media type is compared case-insensitively. Any type other than
// application/dtmf-relay or application/dtmf returns ErrUnsupportedType, so
// the SIP layer can answer 415 for it.
//
// application/dtmf-relay bodies are lines of Key=Value:
//
//	Signal=5
//	Duration=160
//
// Keys are case-insensitive, spaces around keys and values and both CRLF and
// bare LF line ends are tolerated, unknown keys are ignored and the first of
// a repeated key is used. Signal is a digit ('0'-'9', '*', '#', 'A'-'D',
// 'a'-'d') or an event code 0-15 (phones send "10" and "11" for '*' and
// '#'). Duration is in milliseconds and optional: if it is missing or
// malformed dur is 0, since the digit matters and the duration rarely does.
// A body without a Signal returns ErrBadBody; a Signal that is not a digit
// (including flash, 16) returns ErrUnknownEvent.
//
// application/dtmf bodies are the bare Signal ("5"), and dur is 0.
func ParseInfo(contentType string, body []byte) (digit byte, dur time.Duration, err error) {
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	switch {
	case strings.EqualFold(mediaType, ContentTypeDTMFRelay):
		return parseRelay(body)
	case strings.EqualFold(mediaType, ContentTypeDTMF):
		digit, err = parseSignal(bytes.TrimSpace(body))
		return digit, 0, err
	}
	return 0, 0, fmt.Errorf("%w: %q", ErrUnsupportedType, mediaType)
}

// parseRelay reads an application/dtmf-relay body.
func parseRelay(body []byte) (byte, time.Duration, error) {
	var signal, duration []byte
	var haveSignal, haveDuration bool
	for len(body) > 0 {
		line := body
		body = nil
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, body = line[:i], line[i+1:]
		}
		eq := bytes.IndexByte(line, '=')
		if eq < 0 {
			continue // blank or not Key=Value
		}
		key := bytes.TrimSpace(line[:eq])
		val := bytes.TrimSpace(line[eq+1:]) // also drops the CR of CRLF
		switch {
		case !haveSignal && equalFoldASCII(key, "signal"):
			signal, haveSignal = val, true
		case !haveDuration && equalFoldASCII(key, "duration"):
			duration, haveDuration = val, true
		}
	}
	if !haveSignal {
		return 0, 0, fmt.Errorf("%w: no Signal", ErrBadBody)
	}
	digit, err := parseSignal(signal)
	if err != nil {
		return 0, 0, err
	}
	ms, ok := parseUint(duration, maxDurationDigits)
	if !ok {
		ms = 0
	}
	return digit, time.Duration(ms) * time.Millisecond, nil
}

// parseSignal reads a Signal value: a digit character or an event code 0-15.
func parseSignal(v []byte) (byte, error) {
	if len(v) == 0 {
		return 0, fmt.Errorf("%w: empty Signal", ErrBadBody)
	}
	if len(v) == 1 {
		if code, ok := CodeFromDigit(v[0]); ok {
			d, _ := DigitFromCode(code) // normalises 'a'-'d' to 'A'-'D'
			return d, nil
		}
	}
	if code, ok := parseUint(v, 2); ok {
		if d, ok := DigitFromCode(uint8(code)); ok {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: Signal %q", ErrUnknownEvent, v)
}

// parseUint parses a non-empty decimal of at most maxDigits digits.
func parseUint(v []byte, maxDigits int) (uint64, bool) {
	if len(v) == 0 || len(v) > maxDigits {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// equalFoldASCII reports whether b equals the lower-case ASCII word s,
// ignoring case, without converting b to a string.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// FormatInfo builds an application/dtmf-relay INFO body for one key press,
// the form every peer that accepts INFO understands:
//
//	Signal=5\r\nDuration=160\r\n
//
// digit is '0'-'9', '*', '#', 'A'-'D' or 'a'-'d' (written upper-case) and is
// written as the character, not the event code. dur is written in whole
// milliseconds, truncated. It returns ErrUnknownEvent for any other digit
// and ErrBadDuration for a negative or implausibly long (over an hour) dur,
// rather than let a bad argument become a bogus INFO.
func FormatInfo(digit byte, dur time.Duration) (contentType string, body []byte, err error) {
	code, ok := CodeFromDigit(digit)
	if !ok {
		return "", nil, fmt.Errorf("%w: digit %q", ErrUnknownEvent, digit)
	}
	if dur < 0 || dur > maxDuration {
		return "", nil, ErrBadDuration
	}
	d, _ := DigitFromCode(code)
	body = make([]byte, 0, len("Signal=X\r\nDuration=\r\n")+7)
	body = append(body, "Signal="...)
	body = append(body, d)
	body = append(body, "\r\nDuration="...)
	body = strconv.AppendInt(body, dur.Milliseconds(), 10)
	body = append(body, "\r\n"...)
	return ContentTypeDTMFRelay, body, nil
}
