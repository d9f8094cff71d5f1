package jitter

import (
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// Sequence-number sanity limits of RFC 3550 Appendix A.1: a jump forward of
// more than maxDropout or back by more than maxMisorder is not believed
// until the next packet continues from it (the sender restarted).
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// seenWindow is how many sequence numbers behind the highest the duplicate
// detector remembers (one bit each, like the SRTP replay list of RFC 3711
// §3.3.2). Anything older is far behind the playout point and is late.
const seenWindow = 64

// Buffer is an adaptive jitter buffer for one received RTP stream. The
// receive goroutine calls [Buffer.Push] for every packet; the media clock
// calls [Buffer.Pop] whenever it needs the next frame. Both may run at the
// same time: each Buffer has its own mutex, held only for the few hundred
// nanoseconds a call takes, and no lock is shared between calls.
//
// Payloads are copied into slots allocated once by [New], so neither Push
// nor Pop allocates.
type Buffer struct {
	mu sync.Mutex

	// Fixed by New.
	clock      int64   // RTP clock rate in Hz
	minTarget  float64 // MinDelay in ticks
	maxTarget  float64 // MaxDelay in ticks
	maxConceal float64 // MaxConceal in ticks
	maxDelay   time.Duration
	initFrame  uint32 // FrameDuration in ticks
	maxStep    uint32 // longest believable packet duration in ticks
	decay      float64
	resync     float64 // transit deviation in ticks that means a timestamp jump
	disabled   bool
	maxPacket  int

	// Storage: slots[i] describes arena[i*maxPacket:][:slots[i].n].
	arena []byte
	slots []slot
	free  []int32 // unused slot indices
	order []int32 // buffered slots in playout order: by epoch, then sequence
	lent  int32   // the slot whose payload the last Pop returned, or -1
	next  []byte  // Frame.Next, valid until the next Pop

	// origin anchors the receiver clock: ticks(t) counts RTP clock units
	// since the first time seen, modulo 2^32 like RTP timestamps.
	origin     time.Time
	haveOrigin bool

	epoch      uint32  // incremented for every new stream (SSRC, restart)
	rx         stream  // the stream packets are arriving on
	frameTicks uint32  // inferred packet duration
	target     float64 // adaptive target delay in ticks
	switched   bool    // an SSRC change happened; prevSSRC and switchedAt are valid
	prevSSRC   uint32
	switchedAt uint32

	quiet bool // the caller's VAD hears silence (SetQuiet)
	play  playout
	stats Stats
}

// slot is one buffered packet.
type slot struct {
	epoch uint32
	ts    uint32
	n     int32
	seq   uint16
}

// stream is the receive-side state of the current SSRC.
type stream struct {
	active    bool
	ssrc      uint32
	epoch     uint32
	hiSeq     uint16 // highest sequence number accepted
	seen      uint64 // bit i set: hiSeq-i was received
	probation bool   // a sequence jump was seen; badSeq confirms it
	badSeq    uint16

	// Timing, in ticks. transit = arrival - timestamp (RFC 3550 §6.4.1).
	transitRef  uint32  // transit of the stream's first packet
	meanOff     float64 // smoothed transit minus transitRef
	observed    int     // packets in the estimates, up to meanWarmup
	lastTransit uint32
	jitter      float64 // RFC 3550 A.8 interarrival jitter

	// Packet duration inference from consecutive timestamps.
	lastSeq   uint16
	lastTS    uint32
	lastStep  uint32
	stepKnown bool // a step was measured on this stream
}

// Frame is what Pop returns for one frame period. Exactly one of three
// cases holds: Payload is set (a packet to decode), Lost is set (a packet
// was expected and is missing: conceal it), or Silence is set (nothing was
// expected: play silence or comfort noise and do not conceal).
type Frame struct {
	// Payload is the packet's payload, in the buffer's own storage: read
	// only, and valid until the next Pop or Reset.
	Payload []byte
	// Lost means a packet should have been played now but is missing. The
	// caller conceals it: decoder PLC (Opus), or the plc package for codecs
	// without their own (G.711, G.722).
	Lost bool
	// Next is the payload of the packet after a Lost one when it is already
	// buffered, so an Opus decoder can recover the lost frame from Next's
	// in-band FEC (RFC 6716 §2.1.7) instead of guessing. Valid until the
	// next Pop; nil when not buffered.
	Next []byte
	// Silence means no packet was due: before the first packet, in a
	// silence-suppression (DTX) gap, or after the sender stopped.
	Silence bool
	// NewStream marks the first frame of a new stream: the first ever, a
	// new SSRC, or a sender restart. Timestamps start over and a stateful
	// decoder (G.722, Opus) should be reset.
	NewStream bool
	// Timestamp is the RTP timestamp of the frame. Played frames of one
	// stream have strictly increasing timestamps and a Lost frame never
	// goes back in time. Zero for Silence.
	Timestamp uint32
	// Duration is how much audio the frame stands for: the inferred packet
	// duration. A caller whose clock tick is longer calls Pop again until
	// the tick is filled; one whose tick is shorter keeps the remainder.
	Duration time.Duration
}

// Stats are cumulative counters and the current estimates of a Buffer. They
// feed RTCP receiver reports, metrics and the call record.
type Stats struct {
	Received    uint64 // packets pushed, whatever became of them
	Played      uint64 // frames returned with a payload
	Lost        uint64 // frames returned as Lost (concealed), Inserted included
	Inserted    uint64 // Lost frames inserted to grow the delay, no packet missing
	Late        uint64 // arrived after their playout time, dropped
	Duplicate   uint64 // already received, dropped
	Reordered   uint64 // arrived after a higher sequence number, still in time
	Overflow    uint64 // dropped because more than MaxDelay was queued
	Skipped     uint64 // frames dropped in caller-reported silence to shrink the delay
	Refused     uint64 // payload above MaxPacket, or an unconfirmed sequence jump
	SSRCChanges uint64 // switches to a new SSRC
	Resyncs     uint64 // restarts of sequence numbers or timestamps on one SSRC

	// Jitter is the RFC 3550 A.8 interarrival jitter of the current stream
	// in timestamp units, as an RTCP report block carries it;
	// JitterDuration is the same in time.
	Jitter         uint32
	JitterDuration time.Duration
	// TargetDelay is the delay the buffer currently aims for.
	TargetDelay time.Duration
	// Delay is how long after its mean arrival time the last frame was
	// played: the delay the buffer actually adds now.
	Delay time.Duration
	// Buffered is the number of packets waiting.
	Buffered int
}

// New returns a Buffer for a stream described by cfg, with every slot
// allocated up front. It returns an error wrapping [ErrConfig] listing every
// problem when cfg is invalid.
func New(cfg Config) (*Buffer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := cfg.slotCount() + 1 // and the one the last Pop lent out (lendHead)
	b := &Buffer{
		clock:     int64(cfg.ClockRate),
		maxDelay:  cfg.MaxDelay,
		disabled:  cfg.Disabled,
		maxPacket: cfg.MaxPacket,
		arena:     make([]byte, n*cfg.MaxPacket),
		slots:     make([]slot, n),
		free:      make([]int32, 0, n),
		order:     make([]int32, 0, n),
		next:      make([]byte, cfg.MaxPacket),
	}
	b.minTarget = b.toTicks(cfg.MinDelay)
	b.maxTarget = b.toTicks(cfg.MaxDelay)
	b.maxConceal = b.toTicks(cfg.MaxConceal)
	b.initFrame = uint32(max(1, b.toTicks(cfg.FrameDuration)))
	b.maxStep = uint32(b.toTicks(maxFrameDuration))
	b.decay = b.toTicks(targetDecay)
	b.resync = b.toTicks(max(resyncTransit, 2*cfg.MaxDelay))
	b.reset()
	return b, nil
}

// Push hands one received RTP packet to the buffer: its header fields, its
// payload (copied, so the caller may reuse its read buffer at once) and the
// time it arrived. Duplicates, late packets and oversized payloads are
// dropped and counted. Push never allocates.
func (b *Buffer) Push(seq uint16, ts, ssrc uint32, marker bool, payload []byte, arrival time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Received++
	if len(payload) > b.maxPacket {
		b.stats.Refused++
		return
	}
	if !b.accept(seq, ts, ssrc, marker, b.ticks(arrival)) {
		return
	}
	b.insert(seq, ts, payload)
}

// accept classifies a packet against the current stream, starting a new
// stream when the SSRC changes or the sender restarted, and updates the
// timing estimates. It returns false, having counted why, for a packet that
// must not be buffered.
func (b *Buffer) accept(seq uint16, ts, ssrc uint32, marker bool, at uint32) bool {
	r := &b.rx
	if !r.active {
		b.newStream(ssrc, seq, ts, at)
		return true
	}
	if ssrc != r.ssrc {
		// Packets of the previous SSRC still in flight after a switch are
		// stragglers, not a switch back.
		if b.switched && ssrc == b.prevSSRC && float64(int32(at-b.switchedAt)) < b.maxTarget {
			b.stats.Late++
			return false
		}
		b.stats.SSRCChanges++
		b.switched, b.prevSSRC, b.switchedAt = true, r.ssrc, at
		b.newStream(ssrc, seq, ts, at)
		return true
	}
	// RFC 3550 A.1: believe a big sequence jump only when the next packet
	// continues from it.
	d := rtp.SeqDiff(r.hiSeq, seq)
	if d > maxDropout || d < -maxMisorder {
		if r.probation && seq == r.badSeq {
			b.stats.Resyncs++
			b.newStream(ssrc, seq, ts, at)
			return true
		}
		r.probation, r.badSeq = true, seq+1
		b.stats.Refused++
		return false
	}
	r.probation = false
	if d <= 0 {
		if -d >= seenWindow {
			b.stats.Late++
			return false
		}
		if r.seen&(1<<uint(-d)) != 0 {
			b.stats.Duplicate++
			return false
		}
	}
	transit := at - ts
	F := int64(b.frameTicks)
	positioned := b.play.started && b.play.epoch == r.epoch
	// A transit time far from the mean means the sender's timestamps jumped
	// (a restart, or a relay switching sources); so does a talkspurt start
	// stamped before what was already played.
	if dev := float64(int32(transit-r.transitRef)) - r.meanOff; dev > b.resync || dev < -b.resync ||
		(marker && positioned && 2*int64(int32(ts-b.play.playTS)) < -F) {
		b.stats.Resyncs++
		b.newStream(ssrc, seq, ts, at)
		return true
	}
	if d > 0 {
		r.seen = r.seen<<uint(min(d, seenWindow)) | 1
		r.hiSeq = seq
	} else {
		r.seen |= 1 << uint(-d)
	}
	// Late packets still tell how the network behaves: estimate first.
	b.observe(transit)
	b.inferFrame(seq, ts, marker)
	if positioned && (rtp.SeqLess(seq, b.play.nextSeq) || 2*int64(int32(ts-b.play.playTS)) < -F) {
		b.stats.Late++
		return false
	}
	if d < 0 {
		b.stats.Reordered++
	}
	return true
}

// newStream starts receive state for a new SSRC or a restarted sender.
// Packets of the stream being played out stay buffered so the switch costs
// no audio; any older stream's packets are dropped.
func (b *Buffer) newStream(ssrc uint32, seq uint16, ts, at uint32) {
	if b.rx.active {
		keep := b.rx.epoch
		j := 0
		for _, i := range b.order {
			if b.slots[i].epoch == keep {
				b.order[j] = i
				j++
			} else {
				b.free = append(b.free, i)
				b.stats.Overflow++
			}
		}
		b.order = b.order[:j]
	}
	b.epoch++
	b.rx = stream{
		active:      true,
		ssrc:        ssrc,
		epoch:       b.epoch,
		hiSeq:       seq,
		seen:        1,
		transitRef:  at - ts,
		lastTransit: at - ts,
		observed:    1,
		lastSeq:     seq,
		lastTS:      ts,
	}
}

// insert copies a packet into a free slot and links it in playout order,
// then enforces the overflow limit. Most packets arrive in order, so the
// search for the position starts at the tail.
func (b *Buffer) insert(seq uint16, ts uint32, payload []byte) {
	if len(b.free) == 0 {
		b.dropOldest()
	}
	i := b.free[len(b.free)-1]
	b.free = b.free[:len(b.free)-1]
	b.slots[i] = slot{epoch: b.rx.epoch, ts: ts, n: int32(len(payload)), seq: seq}
	copy(b.arena[int(i)*b.maxPacket:], payload)
	pos := len(b.order)
	for pos > 0 && b.before(i, b.order[pos-1]) {
		pos--
	}
	b.order = append(b.order, 0)
	copy(b.order[pos+1:], b.order[pos:])
	b.order[pos] = i
	if b.disabled {
		// Pass-through keeps only the newest packet.
		for len(b.order) > 1 {
			b.dropOldest()
		}
		return
	}
	// Overflow: more audio queued than MaxDelay plus the frame about to play.
	for len(b.order) > 1 && float64(len(b.order)-1)*float64(b.frameTicks) > b.maxTarget {
		b.dropOldest()
	}
}

// before reports whether slot a plays before slot b.
func (b *Buffer) before(a, c int32) bool {
	sa, sc := &b.slots[a], &b.slots[c]
	if sa.epoch != sc.epoch {
		return int32(sa.epoch-sc.epoch) < 0
	}
	return rtp.SeqLess(sa.seq, sc.seq)
}

// dropOldest discards the head packet to make room, moving the playout
// position past it as if it had been played, so no Lost frame stands in for
// it: the buffer is compressed, which only an overflow may do mid-talkspurt.
func (b *Buffer) dropOldest() {
	if len(b.order) == 0 {
		return
	}
	s := &b.slots[b.order[0]]
	if p := &b.play; p.started && p.epoch == s.epoch && !rtp.SeqLess(s.seq, p.nextSeq) {
		p.nextSeq = s.seq + 1
		p.playTS = s.ts + b.frameTicks
		p.lastTS, p.lastPlayed, p.havePlayed = s.ts, s.ts, true
	}
	b.stats.Overflow++
	b.removeHead()
}

// removeHead returns the head slot to the free list.
func (b *Buffer) removeHead() {
	b.free = append(b.free, b.order[0])
	b.unlink()
}

// lendHead takes the head slot out of playout order but keeps it from the free list
// until the next Pop: the Frame returned points into it, and the consumer decodes it
// there without the lock while Push may be filling free slots. Handing out the
// arena's bytes instead of a copy spares every call's tick a write to a buffer of its
// own (New makes one slot more for it).
func (b *Buffer) lendHead() {
	b.lent = b.order[0]
	b.unlink()
}

// giveBack returns the slot lent by the last Pop to the free list.
func (b *Buffer) giveBack() {
	if b.lent >= 0 {
		b.free = append(b.free, b.lent)
		b.lent = -1
	}
}

func (b *Buffer) unlink() {
	copy(b.order, b.order[1:])
	b.order = b.order[:len(b.order)-1]
}

// payload returns the bytes stored in slot i.
func (b *Buffer) payload(i int32) []byte {
	off := int(i) * b.maxPacket
	return b.arena[off : off+int(b.slots[i].n)]
}

// SetQuiet tells the buffer whether the caller's voice activity detector
// hears silence in the audio Pop has been returning. Senders that never
// suppress silence (most PSTN gateways send G.711 continuously) give the
// buffer no talkspurt boundary at which a delay grown during a jitter
// episode could shrink again. While quiet, Pop treats the pause as such a
// boundary and skips up to one buffered frame per call until the delay is
// within a frame of the target. Speech is never skipped as long as the
// caller reports voice onset with SetQuiet(false) at once.
func (b *Buffer) SetQuiet(quiet bool) {
	b.mu.Lock()
	b.quiet = quiet
	b.mu.Unlock()
}

// Stats returns a snapshot of the counters and estimates.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Jitter = uint32(b.rx.jitter)
	s.JitterDuration = b.toDuration(b.rx.jitter)
	s.TargetDelay = b.toDuration(b.target)
	s.Delay = b.toDuration(max(0, b.play.delay))
	s.Buffered = len(b.order)
	return s
}

// Reset drops every buffered packet and forgets the stream and the delay
// estimates, so the next packet starts afresh as if it were the first (its
// frame carries NewStream). Counters are kept: they belong to the call.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reset()
}

func (b *Buffer) reset() {
	b.order = b.order[:0]
	b.free = b.free[:0]
	b.lent = -1
	for i := len(b.slots) - 1; i >= 0; i-- {
		b.free = append(b.free, int32(i))
	}
	b.rx = stream{}
	b.play = playout{}
	b.switched = false
	b.frameTicks = b.initFrame
	b.target = clamp(float64(b.frameTicks), b.minTarget, b.maxTarget)
}

// ticks converts a wall-clock time into receiver clock units, modulo 2^32,
// counted from the first time the buffer saw. Seconds and the remainder are
// scaled separately so that no call is long enough to overflow.
func (b *Buffer) ticks(t time.Time) uint32 {
	if !b.haveOrigin {
		b.origin, b.haveOrigin = t, true
	}
	d := t.Sub(b.origin)
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	return uint32(sec*b.clock + rem*b.clock/int64(time.Second))
}

func (b *Buffer) toTicks(d time.Duration) float64 {
	return d.Seconds() * float64(b.clock)
}

func (b *Buffer) toDuration(ticks float64) time.Duration {
	return time.Duration(ticks / float64(b.clock) * float64(time.Second))
}

func clamp(v, lo, hi float64) float64 {
	return min(max(v, lo), hi)
}
