package dtmf

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// at returns the test clock ms milliseconds after t0.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// pl builds a telephone-event payload.
func pl(code uint8, end bool, dur uint16) []byte {
	b := make([]byte, EventSize)
	if _, err := (Event{Code: code, End: end, Volume: 10, Duration: dur}).MarshalTo(b); err != nil {
		panic(err)
	}
	return b
}

// pkt is one scripted arrival; expire/flush steps call those methods instead.
type pkt struct {
	ssrc, ts uint32
	payload  []byte
	ms       int    // arrival, ms after t0
	expire   bool   // call Expire(at(ms)) instead of Push
	flush    bool   // call Flush instead of Push
	want     string // digit this step must report, "" for none
}

const ssrcA, ssrcB = 0x11111111, 0x22222222

// press returns the packets of one well-behaved key press as SIPp sends it:
// a start packet, updates every 20 ms, and three end packets.
func press(ssrc, ts uint32, code uint8, startMs int) []pkt {
	var ps []pkt
	for i := range 5 {
		ps = append(ps, pkt{ssrc: ssrc, ts: ts, payload: pl(code, false, uint16(160*i)), ms: startMs + 20*i})
	}
	for i := range 3 {
		ps = append(ps, pkt{ssrc: ssrc, ts: ts, payload: pl(code, true, 800), ms: startMs + 100 + 20*i})
	}
	return ps
}

// run plays a script, checks every step's report, and then that Flush has
// nothing left: no digit was lost or held back.
func run(t *testing.T, r *Receiver, script []pkt) {
	t.Helper()
	play(t, r, script)
	if d, ok := r.Flush(); ok {
		t.Fatalf("after script: Flush reported %q, want nothing", d)
	}
}

// play plays a script and checks every step's report, leaving r as it is.
func play(t *testing.T, r *Receiver, script []pkt) {
	t.Helper()
	for i, p := range script {
		var d byte
		var ok bool
		switch {
		case p.expire:
			d, ok = r.Expire(at(p.ms))
		case p.flush:
			d, ok = r.Flush()
		default:
			var err error
			d, ok, err = r.Push(p.ssrc, p.ts, p.payload, at(p.ms))
			if err != nil {
				t.Fatalf("step %d: Push: %v", i, err)
			}
		}
		got := ""
		if ok {
			got = string(d)
		}
		if got != p.want {
			t.Fatalf("step %d (%+v): reported %q, want %q", i, p, got, p.want)
		}
	}
}

func TestReceiverEndSentThreeTimes(t *testing.T) {
	s := press(ssrcA, 1000, 5, 0)
	s[5].want = "5" // the first end packet, not the start or the repeats
	run(t, &Receiver{}, s)
}

func TestReceiverAllEndsLostNextEvent(t *testing.T) {
	a := press(ssrcA, 1000, 1, 0)[:5] // no end packets
	b := press(ssrcA, 3000, 2, 300)
	b[0].want = "1" // the new event's first packet closes the old one
	b[5].want = "2"
	run(t, &Receiver{}, append(a, b...))
}

func TestReceiverAllEndsLostExpire(t *testing.T) {
	s := press(ssrcA, 1000, 9, 0)[:5] // last packet at 80 ms
	s = append(s,
		pkt{expire: true, ms: 80 + 499},
		pkt{expire: true, ms: 80 + 500, want: "9"},
		pkt{expire: true, ms: 5000},
		// End packets arriving after all: the digit is not repeated.
		pkt{ssrc: ssrcA, ts: 1000, payload: pl(9, true, 800), ms: 5001},
		pkt{ssrc: ssrcA, ts: 1000, payload: pl(9, false, 960), ms: 5002},
		pkt{expire: true, ms: 9000},
	)
	run(t, &Receiver{}, s)
}

func TestReceiverHoldOption(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *Receiver
		hold int
	}{
		{"zero value", &Receiver{}, 500},
		{"NewReceiver default", NewReceiver(), 500},
		{"WithHold(0) keeps default", NewReceiver(WithHold(0)), 500},
		{"WithHold(-1) keeps default", NewReceiver(WithHold(-time.Second)), 500},
		{"WithHold(200ms)", NewReceiver(WithHold(200 * time.Millisecond)), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, tc.r, []pkt{
				{ssrc: ssrcA, ts: 7, payload: pl(3, false, 0), ms: 10},
				{expire: true, ms: 10 + tc.hold - 1},
				{ssrc: ssrcA, ts: 7, payload: pl(3, false, 160), ms: 30}, // refreshes
				{expire: true, ms: 30 + tc.hold - 1},
				{expire: true, ms: 30 + tc.hold, want: "3"},
			})
		})
	}
}

func TestReceiverMarkerLost(t *testing.T) {
	// The start packet (the only one with M set) is lost; the receiver
	// never sees the marker and must not need it.
	s := press(ssrcA, 1000, 7, 0)[1:]
	s[4].want = "7"
	run(t, &Receiver{}, s)
}

func TestReceiverReordered(t *testing.T) {
	t.Run("end before start", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: 500, payload: pl(4, true, 800), ms: 0, want: "4"},
			{ssrc: ssrcA, ts: 500, payload: pl(4, false, 0), ms: 1},
			{ssrc: ssrcA, ts: 500, payload: pl(4, false, 160), ms: 2},
			{ssrc: ssrcA, ts: 500, payload: pl(4, true, 800), ms: 3},
			{expire: true, ms: 9000},
		})
	})
	t.Run("update after end", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: 500, payload: pl(4, false, 0), ms: 0},
			{ssrc: ssrcA, ts: 500, payload: pl(4, true, 800), ms: 20, want: "4"},
			{ssrc: ssrcA, ts: 500, payload: pl(4, false, 640), ms: 21},
			{expire: true, ms: 9000},
		})
	})
	t.Run("old event's end after new event's start", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: 500, payload: pl(4, false, 640), ms: 0},
			{ssrc: ssrcA, ts: 2000, payload: pl(6, false, 0), ms: 10, want: "4"},
			{ssrc: ssrcA, ts: 500, payload: pl(4, true, 800), ms: 11},
			{ssrc: ssrcA, ts: 2000, payload: pl(6, true, 800), ms: 100, want: "6"},
			{ssrc: ssrcA, ts: 500, payload: pl(4, true, 800), ms: 101},
		})
	})
}

func TestReceiverSameDigitTwice(t *testing.T) {
	a := press(ssrcA, 1000, 5, 0)
	b := press(ssrcA, 1000+1600, 5, 200)
	a[5].want = "5"
	b[5].want = "5"
	run(t, &Receiver{}, append(a, b...))
}

func TestReceiverTimestampWrap(t *testing.T) {
	a := press(ssrcA, 0xffffff00, 1, 0)
	b := press(ssrcA, 0x00000280, 2, 200) // after the wrap
	a[5].want = "1"
	b[5].want = "2"
	s := append(a, b...)
	// A late end packet of the pre-wrap event is older, not newer.
	s = append(s, pkt{ssrc: ssrcA, ts: 0xffffff00, payload: pl(1, true, 800), ms: 400})
	run(t, &Receiver{}, s)

	t.Run("ends lost across the wrap", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: 0xfffffff0, payload: pl(8, false, 160), ms: 0},
			{ssrc: ssrcA, ts: 0x00000010, payload: pl(9, false, 0), ms: 300, want: "8"},
			{ssrc: ssrcA, ts: 0x00000010, payload: pl(9, true, 800), ms: 400, want: "9"},
		})
	})
}

func TestReceiverSSRCChange(t *testing.T) {
	t.Run("mid-event", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: 1000, payload: pl(1, false, 160), ms: 0},
			// New stream, unrelated timestamp space: A's digit is
			// reported, B's event starts.
			{ssrc: ssrcB, ts: 5, payload: pl(2, false, 0), ms: 20, want: "1"},
			// A's end packets still in flight: ignored.
			{ssrc: ssrcA, ts: 1000, payload: pl(1, true, 800), ms: 21},
			{ssrc: ssrcA, ts: 900, payload: pl(1, true, 800), ms: 22},
			{ssrc: ssrcB, ts: 5, payload: pl(2, true, 800), ms: 100, want: "2"},
			{ssrc: ssrcB, ts: 5, payload: pl(2, true, 800), ms: 120},
			// Back to A with a newer event: a real new key press.
			{ssrc: ssrcA, ts: 3000, payload: pl(3, true, 800), ms: 500, want: "3"},
			// B's late packets are ignored now that B is previous.
			{ssrc: ssrcB, ts: 5, payload: pl(2, true, 800), ms: 501},
		})
	})
	t.Run("same timestamp on the new SSRC is a new event", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: 1000, payload: pl(1, true, 800), ms: 0, want: "1"},
			{ssrc: ssrcB, ts: 1000, payload: pl(1, true, 800), ms: 200, want: "1"},
		})
	})
	t.Run("two digits from one packet", func(t *testing.T) {
		// A is unfinished; B's only surviving packet is an end packet:
		// one Push completes both, the second comes on the next call.
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: 1000, payload: pl(1, false, 160), ms: 0},
			{ssrc: ssrcB, ts: 50, payload: pl(2, true, 800), ms: 20, want: "1"},
			{expire: true, ms: 21, want: "2"},
			{expire: true, ms: 9000},
		})
	})
}

func TestReceiverHeldDigitOrder(t *testing.T) {
	// The held digit comes out before one completed by the next Push.
	run(t, &Receiver{}, []pkt{
		{ssrc: ssrcA, ts: 1000, payload: pl(1, false, 160), ms: 0},
		{ssrc: ssrcA, ts: 2000, payload: pl(2, true, 800), ms: 20, want: "1"},
		{ssrc: ssrcA, ts: 3000, payload: pl(3, true, 800), ms: 40, want: "2"},
		{ssrc: ssrcA, ts: 3000, payload: pl(3, true, 800), ms: 60, want: "3"},
		{ssrc: ssrcA, ts: 3000, payload: pl(3, true, 800), ms: 80},
	})
	// Flush hands out the held digit first, then the open event's.
	run(t, &Receiver{}, []pkt{
		{ssrc: ssrcA, ts: 1000, payload: pl(1, false, 160), ms: 0},
		{ssrc: ssrcA, ts: 2000, payload: pl(2, true, 800), ms: 20, want: "1"},
		{flush: true, want: "2"},
		{ssrc: ssrcA, ts: 3000, payload: pl(3, false, 160), ms: 40},
		{flush: true, want: "3"},
		{flush: true},
	})
}

func TestReceiverGarbage(t *testing.T) {
	r := &Receiver{}
	play(t, r, []pkt{{ssrc: ssrcA, ts: 1000, payload: pl(5, false, 160), ms: 0}})
	bad := []struct {
		payload []byte
		want    error
	}{
		{nil, ErrShortPayload},
		{[]byte{}, ErrShortPayload},
		{[]byte{5}, ErrShortPayload},
		{[]byte{5, 0x80, 3}, ErrShortPayload},
		{pl(17, true, 800), ErrUnknownEvent},
		{pl(32, false, 0), ErrUnknownEvent}, // RFC 4734 fax tone
		{pl(255, true, 0xffff), ErrUnknownEvent},
	}
	for _, b := range bad {
		// Garbage on the same SSRC, a new timestamp and a new SSRC: none
		// may close, report or restart the open event.
		for _, ssrc := range []uint32{ssrcA, ssrcB} {
			for _, ts := range []uint32{1000, 2000, 0} {
				d, ok, err := r.Push(ssrc, ts, b.payload, at(1))
				if !errors.Is(err, b.want) || ok || d != 0 {
					t.Fatalf("Push(%x) = %q, %v, %v; want error %v", b.payload, d, ok, err, b.want)
				}
			}
		}
	}
	run(t, r, []pkt{
		{expire: true, ms: 499},
		{ssrc: ssrcA, ts: 1000, payload: pl(5, true, 800), ms: 100, want: "5"},
	})
}

func TestReceiverFlash(t *testing.T) {
	run(t, &Receiver{}, []pkt{
		{ssrc: ssrcA, ts: 1000, payload: pl(6, false, 160), ms: 0},
		// Hook flash is a new event: it ends the digit, reports nothing.
		{ssrc: ssrcA, ts: 2000, payload: pl(CodeFlash, false, 0), ms: 100, want: "6"},
		{ssrc: ssrcA, ts: 2000, payload: pl(CodeFlash, true, 1600), ms: 300},
		{expire: true, ms: 5000},
		{ssrc: ssrcA, ts: 4000, payload: pl(CodeFlash, false, 0), ms: 6000},
		{expire: true, ms: 9000},
	})
}

func TestReceiverLongEventSegments(t *testing.T) {
	// RFC 4733 §2.5.1.3: a key held past 0xFFFF units is sent as segments;
	// each new segment's timestamp is the previous one's plus 0xFFFF.
	var start uint32 = 0xfffe0000 // the segments also cross the wrap
	t.Run("E only on the final segment", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: start, payload: pl(0, false, 0), ms: 0},
			{ssrc: ssrcA, ts: start, payload: pl(0, false, 0xff00), ms: 100},
			{ssrc: ssrcA, ts: start, payload: pl(0, false, 0xffff), ms: 200},
			{ssrc: ssrcA, ts: start + 0xffff, payload: pl(0, false, 160), ms: 300},
			{ssrc: ssrcA, ts: start + 0xffff, payload: pl(0, false, 0xffff), ms: 400},
			{ssrc: ssrcA, ts: start + 2*0xffff, payload: pl(0, false, 160), ms: 500},
			{ssrc: ssrcA, ts: start + 2*0xffff, payload: pl(0, true, 800), ms: 600, want: "0"},
			{ssrc: ssrcA, ts: start + 2*0xffff, payload: pl(0, true, 800), ms: 620},
			{ssrc: ssrcA, ts: start + 0xffff, payload: pl(0, false, 0xffff), ms: 640}, // late
		})
	})
	t.Run("E on every segment end", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			{ssrc: ssrcA, ts: start, payload: pl(0, true, 0xffff), ms: 0, want: "0"},
			{ssrc: ssrcA, ts: start + 0xffff, payload: pl(0, true, 800), ms: 100},
		})
	})
	t.Run("not a continuation", func(t *testing.T) {
		run(t, &Receiver{}, []pkt{
			// Shorter than the maximum: a new press of the same key.
			{ssrc: ssrcA, ts: start, payload: pl(0, true, 0xfffe), ms: 0, want: "0"},
			{ssrc: ssrcA, ts: start + 0xffff, payload: pl(0, true, 800), ms: 100, want: "0"},
			// Different key at exactly the segment offset.
			{ssrc: ssrcA, ts: start + 0xffff + 0xffff, payload: pl(1, false, 0xffff), ms: 200},
			{ssrc: ssrcA, ts: start + 3*0xffff, payload: pl(2, true, 800), ms: 300, want: "1"},
			{expire: true, ms: 301, want: "2"},
		})
	})
}

func TestReceiverFlushAndReset(t *testing.T) {
	r := NewReceiver(WithHold(time.Second))
	play(t, r, []pkt{
		{ssrc: ssrcA, ts: 1000, payload: pl(1, false, 160), ms: 0},
		{flush: true, want: "1"},
		{flush: true},
		{ssrc: ssrcA, ts: 1000, payload: pl(1, true, 800), ms: 100}, // already flushed
		{ssrc: ssrcA, ts: 2000, payload: pl(2, false, 160), ms: 200},
	})
	// Reset drops the open event: after it, an old timestamp is new.
	r.Reset()
	if r.holdTime() != time.Second {
		t.Errorf("Reset lost the hold time: %v", r.holdTime())
	}
	run(t, r, []pkt{
		{ssrc: ssrcA, ts: 1000, payload: pl(3, true, 800), ms: 300, want: "3"},
	})
}

func TestReceiverClockStepsBack(t *testing.T) {
	// A wall clock stepping backwards must not expire an event early.
	run(t, &Receiver{}, []pkt{
		{ssrc: ssrcA, ts: 1, payload: pl(1, false, 0), ms: 10000},
		{expire: true, ms: 0},
		{expire: true, ms: 10499},
		{expire: true, ms: 10500, want: "1"},
	})
}
