// Package dtmf carries DTMF key presses between the media layer and the IVR:
// in RTP as RFC 4733 telephone-events, and in SIP INFO bodies as sent by many
// carriers and phones.
//
// The pieces, each zero-allocation on the per-packet path:
//
//   - [ParseEvent] and [Event.MarshalTo] convert the 4-octet telephone-event
//     payload (RFC 4733 §2.3).
//   - [Receiver] turns the redundant packet stream of RFC 4733 §2.5 (updates
//     every packet time, the end packet sent three times, any of them
//     possibly lost or reordered) into each key press reported exactly once.
//   - [Sender] produces the packet sequence for one key press, driven by the
//     caller's media clock.
//   - [ParseInfo] and [FormatInfo] read and write SIP INFO bodies of type
//     application/dtmf-relay and application/dtmf.
//
// Digits are bytes '0'-'9', '*', '#' and 'A'-'D'; [DigitFromCode] and
// [CodeFromDigit] map them to RFC 4733 §3.2 event codes. Hook flash (event
// 16) is a valid event but not a digit.
//
// The package does not parse RTP headers itself: callers pass the SSRC and
// timestamp they parsed with package media/rtp. It reads no sockets, runs no
// goroutines, and takes the current time as an argument, so tests drive it
// with synthetic clocks.
package dtmf
