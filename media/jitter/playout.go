package jitter

import (
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// playout is the consumer side: where in the stream the next Pop plays.
type playout struct {
	playing    bool   // inside a talkspurt: every Pop plays the next frame
	started    bool   // epoch, nextSeq and playTS describe a stream
	epoch      uint32 // the stream being played
	nextSeq    uint16 // sequence number of the next packet to play
	playTS     uint32 // timestamp of the next frame to play
	lastTS     uint32 // timestamp of the last Payload or Lost frame
	lastPlayed uint32 // timestamp of the last packet played
	havePlayed bool   // lastPlayed is valid for epoch
	held       bool   // a frame was inserted while waiting for heldSeq
	heldSeq    uint16
	specRun    float64 // ticks concealed in a row with nothing buffered
	newStream  bool    // the next frame played starts a stream
	delay      float64 // ticks after mean arrival the last frame was played
}

// Pop returns the frame to play now. The media clock calls it once per
// frame it needs, with the time it needs it; the calls themselves are the
// playout clock, so Pop never returns "nothing yet": it returns a packet, a
// Lost frame or Silence.
//
// Inside a talkspurt every Pop plays the next frame in timestamp order. A
// talkspurt starts (after silence, at the first packet, on a new stream) at
// the first Pop that finds its first packet [Stats.TargetDelay] older than
// its expected arrival; this is where the delay adapts. Pop never allocates.
func (b *Buffer) Pop(now time.Time) Frame {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.giveBack()
	at := b.ticks(now)
	if b.disabled {
		return b.popPassThrough(at)
	}
	// Every pass returns or removes a packet or changes state so that the
	// next pass returns; the bound only guards that argument.
	for range 2*len(b.slots) + 4 {
		if !b.play.playing {
			h := b.head()
			if h < 0 || !b.due(h, at) {
				return b.silence()
			}
			b.start(b.skipBacklog(h, at))
		}
		if f, ok := b.step(at); ok {
			return f
		}
	}
	return b.silence()
}

// step plays the next frame of a talkspurt. It returns false after a state
// change that Pop must look at again: a packet dropped, the talkspurt ended
// at a silence gap, or the stream handed over to a newer one.
func (b *Buffer) step(at uint32) (Frame, bool) {
	h := b.head()
	if h < 0 {
		return b.underrun(at), true
	}
	s, p := &b.slots[h], &b.play
	if s.epoch != p.epoch {
		// The stream being played has run out and a new one is queued:
		// start it as a talkspurt of its own when due, concealing the
		// wait like any other underrun.
		if !b.due(h, at) {
			return b.underrun(at), true
		}
		p.playing = false
		return Frame{}, false
	}
	F := int64(b.frameTicks)
	ahead := 2 * int64(int32(s.ts-p.playTS)) // in half ticks
	if ahead < -F || rtp.SeqLess(s.seq, p.nextSeq) || (p.havePlayed && !rtp.TSLess(p.lastPlayed, s.ts)) {
		// Its time has passed: frames were concealed in its place, or the
		// sender's timestamps do not advance with its sequence numbers.
		b.stats.Late++
		b.removeHead()
		return Frame{}, false
	}
	if ahead < F {
		if n, ok := b.compressible(h, at); ok {
			// Skip this frame of silence to move toward the target.
			b.stats.Skipped++
			b.removeHead()
			h = n
		}
		return b.playHead(h, at), true
	}
	if missing := rtp.SeqDiff(p.nextSeq, s.seq); missing > 0 {
		return b.lose(at, h, missing), true
	}
	// Time to spare and no packet missing: the sender paused (silence
	// suppression, RFC 3551 §4.1), so the talkspurt is over. The next one
	// starts when due under the current target delay.
	p.playing = false
	return Frame{}, false
}

// compressible reports whether the head h may be skipped because the caller
// reports silence (SetQuiet) and the delay exceeds the target by more than a
// frame, and returns the packet to play instead: the next sequence number,
// already buffered. One frame per Pop at most, so 100 ms of excess delay
// goes in five frames of a pause.
func (b *Buffer) compressible(h int32, at uint32) (int32, bool) {
	if !b.quiet || len(b.order) < 2 || b.play.epoch != b.rx.epoch {
		return h, false
	}
	s, n := &b.slots[h], b.order[1]
	if b.slots[n].epoch != s.epoch || b.slots[n].seq != s.seq+1 ||
		b.delayAt(at, s.ts) <= b.target+float64(b.frameTicks) {
		return h, false
	}
	return n, true
}

// due reports whether the talkspurt starting with slot h should start now:
// its timestamp's mean arrival is at least the target delay ago.
func (b *Buffer) due(h int32, at uint32) bool {
	s := &b.slots[h]
	if s.epoch != b.rx.epoch {
		return true // the rest of a replaced stream has waited long enough
	}
	return b.delayAt(at, s.ts) >= b.target
}

// skipBacklog drops packets queued before a talkspurt starts while the
// packet after them is itself well past due, so that after a stall, a burst
// or a stream switch playout starts near the target delay instead of keeping
// the backlog as permanent extra delay. It returns the new head. The slack
// of two frames (at least 40 ms) allows for the media clock's tick: a
// normal talkspurt start, even with 10 ms packets on a 20 ms tick, skips
// nothing.
func (b *Buffer) skipBacklog(h int32, at uint32) int32 {
	slack := max(2*float64(b.frameTicks), b.toTicks(2*DefaultFrameDuration))
	for len(b.order) > 1 {
		s, n := &b.slots[h], b.order[1]
		if s.epoch != b.rx.epoch || b.slots[n].epoch != s.epoch || b.delayAt(at, b.slots[n].ts) < b.target+slack {
			break
		}
		b.stats.Late++
		b.removeHead()
		h = n
	}
	return h
}

// start begins a talkspurt at slot h.
func (b *Buffer) start(h int32) {
	s, p := &b.slots[h], &b.play
	if !p.started || p.epoch != s.epoch {
		p.started, p.epoch = true, s.epoch
		p.newStream, p.havePlayed = true, false
	}
	p.playing = true
	p.nextSeq, p.playTS = s.seq, s.ts
	p.held = false
}

// playHead returns the head packet as the next frame.
func (b *Buffer) playHead(h int32, at uint32) Frame {
	s, p := b.slots[h], &b.play
	f := Frame{
		Payload:   b.payload(h),
		NewStream: p.newStream,
		Timestamp: s.ts,
		Duration:  b.frameDuration(),
	}
	if s.epoch == b.rx.epoch {
		p.delay = b.delayAt(at, s.ts)
	}
	p.newStream = false
	p.nextSeq, p.playTS = s.seq+1, s.ts+b.frameTicks
	p.lastTS, p.lastPlayed, p.havePlayed = s.ts, s.ts, true
	p.specRun, p.held = 0, false
	b.stats.Played++
	b.lendHead()
	return f
}

// lose returns a Lost frame for sequence number nextSeq, which is missing
// while a later packet (slot h, missing sequence numbers ahead) is buffered.
func (b *Buffer) lose(at uint32, h int32, missing int) Frame {
	p := &b.play
	f := Frame{Lost: true, Duration: b.frameDuration()}
	b.stats.Lost++
	if !(p.held && p.heldSeq == p.nextSeq) && b.shouldHold(at) {
		// The delay is below target: insert this frame instead of giving
		// the missing packet up, so it can still be played if it is only
		// late. At most once per packet, so a real loss costs one frame.
		p.held, p.heldSeq = true, p.nextSeq
		f.Timestamp = p.lastTS
		b.stats.Inserted++
		return f
	}
	if missing == 1 {
		f.Next = b.next[:copy(b.next, b.payload(h))]
	}
	f.Timestamp = p.playTS
	p.lastTS = p.playTS
	p.nextSeq++
	p.playTS += b.frameTicks
	p.held = false
	return f
}

// underrun answers a Pop inside a talkspurt with nothing buffered. Whether
// a packet was lost or the sender paused is unknown until the next packet
// arrives, so Pop conceals for up to MaxConceal, then reports Silence and
// waits for the next talkspurt. The sequence number is not advanced: a
// packet that continues the sequence after a pause is not late.
func (b *Buffer) underrun(at uint32) Frame {
	p := &b.play
	F := float64(b.frameTicks)
	if p.specRun+F > b.maxConceal+0.5 {
		p.playing = false
		return b.silence()
	}
	p.specRun += F
	b.stats.Lost++
	f := Frame{Lost: true, Duration: b.frameDuration()}
	if b.shouldHold(at) {
		f.Timestamp = p.lastTS
		b.stats.Inserted++
		return f
	}
	f.Timestamp = p.playTS
	p.lastTS = p.playTS
	p.playTS += b.frameTicks
	return f
}

// shouldHold reports whether the current frame is played more than half a
// frame before the target delay: then a frame that must be concealed anyway
// is inserted rather than skipped, growing the delay by one frame. This is
// the only way the delay grows inside a talkspurt, so a continuous stream
// (no silence suppression, no talkspurt boundaries) still adapts upward.
func (b *Buffer) shouldHold(at uint32) bool {
	p := &b.play
	return p.epoch == b.rx.epoch && b.delayAt(at, p.playTS) < b.target-float64(b.frameTicks)/2
}

// popPassThrough is Pop when the buffer is disabled: the newest packet, if
// one arrived since the last Pop, else a short run of Lost, then Silence.
func (b *Buffer) popPassThrough(at uint32) Frame {
	p := &b.play
	if h := b.head(); h >= 0 {
		b.start(h)
		return b.playHead(h, at)
	}
	if F := float64(b.frameTicks); p.playing && p.specRun+F <= b.maxConceal+0.5 {
		p.specRun += F
		b.stats.Lost++
		return Frame{Lost: true, Timestamp: p.lastTS, Duration: b.frameDuration()}
	}
	p.playing = false
	return b.silence()
}

func (b *Buffer) silence() Frame {
	return Frame{Silence: true, Duration: b.frameDuration()}
}

func (b *Buffer) frameDuration() time.Duration {
	return time.Duration(int64(b.frameTicks) * int64(time.Second) / b.clock)
}

// head is the slot to play next, or -1.
func (b *Buffer) head() int32 {
	if len(b.order) == 0 {
		return -1
	}
	return b.order[0]
}
