// Package dtmf carries DTMF key presses between the media layer and the IVR:
// in RTP as RFC 4733 telephone-events, in SIP INFO bodies as sent by many
// carriers and phones, and as tones in the audio for carriers that use
// neither.
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
//   - [Detector] recognises digits sent in-band, as tones in 8, 16 or 48 kHz
//     PCM: Goertzel filters on the ITU-T Q.23 frequencies, with the
//     frequency, level, twist, timing and signal-to-noise rules of the Q.24
//     receiver and a second-harmonic check against talk-off by speech and
//     music.
//   - [AppendTone] and [ToneSource] generate those tones, so the player can
//     send digits in-band.
//   - [Merger] reports a key press once when a peer sends it by more than
//     one route (telephone-events and tones, INFO and telephone-events).
//
// Tone levels are in dBm0 with the G.711 reference for 16-bit PCM: a
// full-scale sine is +3.17 dBm0, so a 0 dBm0 sine peaks at 22748 (RMS
// 16086).
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
