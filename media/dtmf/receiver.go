package dtmf

import (
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// DefaultHold is how long Receiver.Expire waits after the last packet of an
// event whose end packets never arrived before it reports the digit anyway.
// Senders refresh a held key every packet time (20-50 ms, RFC 4733
// §2.5.1.2), so 500 ms of silence means the end was lost, while a user still
// hears the prompt react promptly.
const DefaultHold = 500 * time.Millisecond

// ReceiverOption configures a Receiver built by NewReceiver.
type ReceiverOption func(*Receiver)

// WithHold sets how long Expire waits, after the last packet of an unfinished
// event, before reporting its digit. A d of zero or less keeps DefaultHold.
func WithHold(d time.Duration) ReceiverOption {
	return func(r *Receiver) { r.hold = d }
}

// Receiver turns the telephone-event packets of one RTP session into digits,
// reporting each key press exactly once.
//
// RFC 4733 makes the stream redundant so it survives loss: every packet of
// one event carries the RTP timestamp of the event's start (§2.5.1.2), the
// sender repeats it every packet time with a growing duration, and sends the
// end packet (E bit) three times (§2.5.1.4). The Receiver therefore keys
// events by (SSRC, timestamp):
//
//   - The digit is reported when the first end packet of an event arrives.
//     Retransmitted end packets and any later packet with the same
//     timestamp, in any order, are ignored.
//   - Neither the marker bit (it may be lost) nor a minimum duration is
//     required: the first packet seen of an event opens it, whatever it is.
//   - If all end packets are lost, the open event is reported when a packet
//     of a newer event arrives, or by Expire once nothing has arrived for
//     the hold time, or by Flush.
//   - A packet whose timestamp is older (RFC 3550 serial order, across
//     wrap-around) than the current event's belongs to an event already
//     handled and is ignored. RFC 3550 §5.1 requires the timestamp clock to
//     increase monotonically, so a compliant sender never goes back.
//   - A new SSRC is a new stream (RFC 3550 §8): the unfinished event of the
//     old stream is reported and state starts afresh. Late packets of the
//     previous SSRC that arrive after the switch are ignored.
//   - A key held longer than the 16-bit duration field allows is split by
//     the sender into segments (RFC 4733 §2.5.1.3); the receiver joins a
//     segment that starts 0xFFFF units after a same-code event that reached
//     the maximum duration (receiver side: §2.5.2.3), so it is one digit.
//
// Hook flash (event 16) takes part in this bookkeeping (it ends an
// unfinished digit) but reports nothing; other event codes are rejected
// with ErrUnknownEvent, like any bad payload.
//
// When one packet completes two digits (the unfinished event and a new event
// whose only surviving packet is an end packet) the second is held and
// returned by the next call to Push, Expire or Flush, so the media loop must
// keep calling Expire periodically as it does anyway.
//
// The zero value is ready to use with DefaultHold. A Receiver is not safe for
// concurrent use; it belongs to the goroutine that reads the RTP session.
// Push, Expire and Flush never allocate.
type Receiver struct {
	hold time.Duration

	cur  stream     // the stream being received
	prev prevStream // the stream before the last SSRC change

	queue  [2]byte // digits completed but not yet returned, oldest first
	queued int
}

// stream is the receive state of one SSRC: its newest event.
type stream struct {
	valid  bool
	ssrc   uint32
	ts     uint32    // RTP timestamp of the newest event (its start)
	code   uint8     // event code of its first packet
	open   bool      // seen, not yet reported
	maxDur uint16    // largest duration seen, for long-event segments
	last   time.Time // arrival of its most recent packet
}

// prevStream remembers where the previous SSRC stopped, so its packets that
// are still in flight after a switch are not taken for new events.
type prevStream struct {
	valid bool
	ssrc  uint32
	ts    uint32
}

// maxSegment is the duration of each segment but the last of a long event
// (RFC 4733 §2.5.1.3): the largest value of the 16-bit duration field.
const maxSegment = 0xFFFF

// NewReceiver returns a Receiver configured by opts. It never fails; the zero
// Receiver is equivalent to NewReceiver().
func NewReceiver(opts ...ReceiverOption) *Receiver {
	r := &Receiver{}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Push handles one telephone-event packet: its RTP SSRC and timestamp, its
// payload and its arrival time. It returns a digit to report (ok is true) or
// nothing.
//
// A payload that ParseEvent rejects (short, or an event code outside 0-16)
// returns that error so the caller can count it; it changes no state and
// reports no digit (a digit held from an earlier call waits for the next
// call).
func (r *Receiver) Push(ssrc, timestamp uint32, payload []byte, now time.Time) (digit byte, ok bool, err error) {
	ev, err := ParseEvent(payload)
	if err != nil {
		return 0, false, err
	}
	c := &r.cur
	switch {
	case !c.valid:
		r.begin(ssrc, timestamp, ev, now)
	case ssrc != c.ssrc:
		if r.prev.valid && ssrc == r.prev.ssrc && !rtp.TSLess(r.prev.ts, timestamp) {
			break // still in flight from before the switch
		}
		r.close()
		r.prev = prevStream{valid: true, ssrc: c.ssrc, ts: c.ts}
		r.begin(ssrc, timestamp, ev, now)
	case timestamp == c.ts:
		r.update(ev, now)
	case rtp.TSLess(timestamp, c.ts):
		// An event older than the current one: already reported, or
		// superseded when the newer event started. Ignore.
	case c.maxDur == maxSegment && ev.Code == c.code && timestamp-c.ts == maxSegment:
		// RFC 4733 §2.5.2.3: the next segment of a long event.
		c.ts = timestamp
		c.maxDur = 0
		r.update(ev, now)
	default:
		// A newer event: the current one has ended even if its end
		// packets were lost.
		r.close()
		r.begin(ssrc, timestamp, ev, now)
	}
	digit, ok = r.pop()
	return digit, ok, nil
}

// Expire reports the digit of an event whose end packets were all lost, once
// no packet of it has arrived for the hold time before now. The media loop
// calls it periodically (every packet time is fine; it is cheap). It first
// returns any digit held back by Push, and never reports a digit twice.
func (r *Receiver) Expire(now time.Time) (digit byte, ok bool) {
	if r.queued > 0 {
		return r.pop()
	}
	if c := &r.cur; c.valid && c.open && now.Sub(c.last) >= r.holdTime() {
		r.close()
	}
	return r.pop()
}

// Flush reports a held or unfinished digit without waiting for the hold
// time, for when the stream ends (BYE, re-INVITE to a new media path). Call
// it until ok is false to drain. Later packets of the flushed event are
// still recognised and ignored.
func (r *Receiver) Flush() (digit byte, ok bool) {
	if r.queued > 0 {
		return r.pop()
	}
	r.close()
	return r.pop()
}

// Reset forgets all streams and held digits, keeping the hold time. Use it
// when the negotiated telephone-event stream is replaced and its timestamps
// may legitimately restart.
func (r *Receiver) Reset() {
	*r = Receiver{hold: r.hold}
}

func (r *Receiver) holdTime() time.Duration {
	if r.hold <= 0 {
		return DefaultHold
	}
	return r.hold
}

// begin makes the packet's event the current one of stream ssrc.
func (r *Receiver) begin(ssrc, timestamp uint32, ev Event, now time.Time) {
	r.cur = stream{
		valid:  true,
		ssrc:   ssrc,
		ts:     timestamp,
		code:   ev.Code,
		open:   true,
		maxDur: ev.Duration,
		last:   now,
	}
	r.update(ev, now)
}

// update applies another packet of the current event.
func (r *Receiver) update(ev Event, now time.Time) {
	c := &r.cur
	c.last = now
	if ev.Duration > c.maxDur {
		c.maxDur = ev.Duration
	}
	if ev.End {
		r.close()
	}
}

// close reports the current event if it is still open.
func (r *Receiver) close() {
	c := &r.cur
	if !c.valid || !c.open {
		return
	}
	c.open = false
	d, ok := DigitFromCode(c.code)
	if !ok {
		return // flash: ends the event, reports no digit
	}
	// At most one digit is ever held between calls (a call completes
	// at most two, and two only when the previous call left none), so
	// the queue cannot overflow; the check only keeps this panic-free.
	if r.queued < len(r.queue) {
		r.queue[r.queued] = d
		r.queued++
	}
}

// pop returns the oldest completed digit.
func (r *Receiver) pop() (byte, bool) {
	if r.queued == 0 {
		return 0, false
	}
	d := r.queue[0]
	r.queue[0] = r.queue[1]
	r.queued--
	return d, true
}
