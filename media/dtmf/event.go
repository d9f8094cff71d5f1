package dtmf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// EventSize is the length in octets of one telephone-event payload block
// (RFC 4733 §2.3).
const EventSize = 4

// Event codes of RFC 4733 §3.2 that this package maps to digits. Codes 0-9
// are the digits themselves.
const (
	CodeStar  uint8 = 10 // '*'
	CodePound uint8 = 11 // '#'
	CodeA     uint8 = 12 // 'A'; B, C and D follow
	CodeD     uint8 = 15 // 'D'
	CodeFlash uint8 = 16 // hook flash: a valid event, but not a digit
)

// MaxVolume is the largest value of the 6-bit volume field (-63 dBm0).
const MaxVolume = 63

// Errors returned by this package. They are sentinels so the media loop can
// count bad packets by kind without allocating.
var (
	// ErrShortPayload means a telephone-event payload has fewer than
	// EventSize octets.
	ErrShortPayload = errors.New("dtmf: telephone-event payload too short")
	// ErrUnknownEvent means an event code or digit outside DTMF 0-15 and
	// flash (16), such as the RFC 4734 modem and fax tones.
	ErrUnknownEvent = errors.New("dtmf: unknown event")
	// ErrShortBuffer means a destination buffer is shorter than EventSize.
	// It wraps io.ErrShortBuffer.
	ErrShortBuffer = fmt.Errorf("dtmf: %w", io.ErrShortBuffer)
	// ErrBadVolume means an Event's Volume exceeds MaxVolume and would
	// overwrite the E and R bits.
	ErrBadVolume = errors.New("dtmf: volume out of range 0..63")
	// ErrBadDuration means a duration is negative, zero where a length is
	// needed, or longer than the 16-bit duration field can carry.
	ErrBadDuration = errors.New("dtmf: duration out of range")
	// ErrBadClock means a clock rate or packet time the Sender cannot use.
	ErrBadClock = errors.New("dtmf: invalid clock rate or packet time")
	// ErrBusy means Sender.Start was called while an event is still being
	// sent.
	ErrBusy = errors.New("dtmf: sender busy")
	// ErrUnsupportedType means a SIP INFO Content-Type that carries no
	// DTMF this package understands.
	ErrUnsupportedType = errors.New("dtmf: unsupported content type")
	// ErrBadBody means a SIP INFO body without a usable Signal or with a
	// malformed Duration.
	ErrBadBody = errors.New("dtmf: malformed INFO body")
)

// Event is one RFC 4733 §2.3 telephone-event payload:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Event struct {
	// Code is the event (§2.3.1): 0-9, 10 '*', 11 '#', 12-15 A-D,
	// 16 flash (§3.2).
	Code uint8
	// End is the E bit (§2.3.2): set in the final packet(s) of the event.
	End bool
	// Volume is the power level in -dBm0, 0..63 (§2.3.4).
	Volume uint8
	// Duration is the length of the event so far, in RTP timestamp units
	// counted from the event's RTP timestamp (§2.3.5).
	Duration uint16
}

// ParseEvent decodes the telephone-event payload of an RTP packet.
//
// It needs EventSize octets; further octets are ignored: redundancy
// (RFC 2198) is not negotiated, and packing several events in one packet
// (RFC 4733 §2.5.1.5) is not used by DTMF senders in practice. The R bit is
// ignored as §2.3.3 requires of receivers.
//
// For an event code outside 0-16 ParseEvent returns ErrUnknownEvent together
// with the decoded event, so a caller that handles other registered events
// (RFC 4734) can still use it. It never allocates.
func ParseEvent(payload []byte) (Event, error) {
	if len(payload) < EventSize {
		return Event{}, ErrShortPayload
	}
	e := Event{
		Code:     payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(payload[2:]),
	}
	if e.Code > CodeFlash {
		return e, ErrUnknownEvent
	}
	return e, nil
}

// MarshalTo writes e as a 4-octet telephone-event payload (RFC 4733 §2.3)
// into b and returns EventSize. The R bit is written as zero (§2.3.3). Any
// event code is written, so a caller can send events this package does not
// name; a Volume above MaxVolume returns ErrBadVolume and a b shorter than
// EventSize ErrShortBuffer, with nothing written.
func (e Event) MarshalTo(b []byte) (int, error) {
	if e.Volume > MaxVolume {
		return 0, ErrBadVolume
	}
	if len(b) < EventSize {
		return 0, ErrShortBuffer
	}
	b1 := e.Volume
	if e.End {
		b1 |= 0x80
	}
	b[0] = e.Code
	b[1] = b1
	binary.BigEndian.PutUint16(b[2:], e.Duration)
	return EventSize, nil
}

// DigitFromCode returns the digit of a DTMF event code (RFC 4733 §3.2):
// '0'-'9', '*', '#' and 'A'-'D'. Flash and unknown codes return false.
func DigitFromCode(code uint8) (byte, bool) {
	switch {
	case code <= 9:
		return '0' + code, true
	case code == CodeStar:
		return '*', true
	case code == CodePound:
		return '#', true
	case code >= CodeA && code <= CodeD:
		return 'A' + (code - CodeA), true
	}
	return 0, false
}

// CodeFromDigit returns the RFC 4733 §3.2 event code of a digit. It accepts
// '0'-'9', '*', '#', 'A'-'D' and, because users and INFO bodies write them,
// 'a'-'d'.
func CodeFromDigit(d byte) (uint8, bool) {
	switch {
	case d >= '0' && d <= '9':
		return d - '0', true
	case d == '*':
		return CodeStar, true
	case d == '#':
		return CodePound, true
	case d >= 'A' && d <= 'D':
		return CodeA + (d - 'A'), true
	case d >= 'a' && d <= 'd':
		return CodeA + (d - 'a'), true
	}
	return 0, false
}
