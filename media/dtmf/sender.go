package dtmf

import "time"

// DefaultVolume is the power level the Sender reports, in -dBm0 (RFC 4733
// §2.3.4). Receivers that regenerate the tone play it at this level;
// -10 dBm0 is a common level for generated DTMF, loud enough for any
// detector behind a gateway without clipping.
const DefaultVolume = 10

// endRepeats is how many times the end packet is sent (RFC 4733 §2.5.1.4:
// "a total of three times").
const endRepeats = 3

// Limits on Start's arguments, so the arithmetic below cannot overflow.
const (
	maxClockRate = 1 << 20
	maxDuration  = time.Hour
)

// Sender produces the telephone-event payloads for one key press at a time
// (RFC 4733 §2.5.1), paced by the caller's media clock.
//
// After Start, the caller calls Next once per packet time, in place of the
// audio frame it would have sent, and sends each payload in an RTP packet
// with:
//   - the telephone-event payload type negotiated in SDP;
//   - the marker bit when Next says so (the first packet, §2.5.1.2);
//   - the same RTP timestamp for every packet of the event: the media
//     clock's timestamp when the key press starts, which the caller
//     chooses and keeps (§2.5.1.2);
//   - the next sequence number of the stream for every packet,
//     retransmitted end packets included (§2.5.1.6).
//
// The packets are: updates carrying the duration so far, one packet time
// more each, then the end packet (E bit, full duration) three times
// (§2.5.1.4). A 100 ms digit at 8000 Hz with 20 ms packets gives durations
// 160, 320, 480, 640, then 800 with E three times: seven packets.
//
// Events longer than the 16-bit duration field (8.19 s at 8000 Hz, 1.36 s at
// 48000 Hz) would need segments (§2.5.1.3); Start rejects them instead.
//
// The zero value is an idle Sender. A Sender is not safe for concurrent use;
// Next never allocates.
type Sender struct {
	code   uint8
	total  uint32 // full duration, timestamp units
	step   uint32 // one packet time, timestamp units
	sent   uint32 // duration reported by the last update
	ends   int    // end packets still to send once ending
	ending bool
	marked bool // first packet sent
	active bool
}

// Start prepares the packets for one key press of digit ('0'-'9', '*', '#',
// 'A'-'D', 'a'-'d') lasting duration, for a telephone-event clock of
// clockRate Hz (8000 unless SDP's rtpmap says otherwise) and packets every
// ptime milliseconds.
//
// It returns ErrBusy while a previous event is still being sent (send digits
// one after another, with a pause between them), ErrUnknownEvent for
// anything but a digit, ErrBadClock when clockRate or ptime is not positive
// or one packet time does not fit the duration field, and ErrBadDuration
// when duration is shorter than one clock tick or longer than the duration
// field can carry.
func (s *Sender) Start(digit byte, duration time.Duration, clockRate, ptime int) error {
	if s.active {
		return ErrBusy
	}
	code, ok := CodeFromDigit(digit)
	if !ok {
		return ErrUnknownEvent
	}
	if clockRate <= 0 || clockRate > maxClockRate || ptime <= 0 || ptime > maxSegment {
		return ErrBadClock
	}
	step := int64(clockRate) * int64(ptime) / 1000
	if step < 1 || step > maxSegment {
		return ErrBadClock
	}
	if duration <= 0 || duration > maxDuration {
		return ErrBadDuration
	}
	total := int64(duration) * int64(clockRate) / int64(time.Second)
	if total < 1 || total > maxSegment {
		return ErrBadDuration
	}
	*s = Sender{
		code:   code,
		total:  uint32(total),
		step:   uint32(step),
		ends:   endRepeats,
		active: true,
	}
	return nil
}

// Active reports whether an event is being sent, that is whether Next still
// has packets to give.
func (s *Sender) Active() bool {
	return s.active
}

// Next writes the payload for the current packet time into payload and
// returns its length (EventSize), whether the RTP marker bit must be set,
// and done, which is true when this was the event's last packet, after
// which the Sender is idle and Start may be called again.
//
// When no event is active Next returns (0, false, true). If payload is
// shorter than EventSize it writes nothing, does not advance, and returns
// (0, false, false).
func (s *Sender) Next(payload []byte) (n int, marker bool, done bool) {
	if !s.active {
		return 0, false, true
	}
	if len(payload) < EventSize {
		return 0, false, false
	}
	ev := Event{Code: s.code, Volume: DefaultVolume}
	if !s.ending && s.sent+s.step < s.total {
		// An update: the duration of the event up to the end of
		// this packet time (RFC 4733 §2.5.1.2).
		s.sent += s.step
		ev.Duration = uint16(s.sent)
	} else {
		// The end packet, repeated with identical content
		// (RFC 4733 §2.5.1.4).
		s.ending = true
		ev.End = true
		ev.Duration = uint16(s.total)
		s.ends--
		done = s.ends == 0
	}
	n, _ = ev.MarshalTo(payload) // cannot fail: length checked, volume constant
	marker = !s.marked
	s.marked = true
	if done {
		s.active = false
	}
	return n, marker, done
}
