package loadtest

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// clip is audio pre-encoded into one RTP payload per packet time. Clips are encoded
// once when the run starts and shared read-only by every call, so a generated call
// costs no encoding at all: the generator must load the engine, not itself.
type clip struct {
	frames [][]byte
}

// command is what a call's script asks its stream to send next; the clock goroutine
// picks it up at the next frame.
type command struct {
	digits string // key presses, RFC 4733
	clip   *clip  // a phrase to say once
}

// streamParams is what offer/answer decided for one call's media.
type streamParams struct {
	remote     netip.AddrPort
	sending    bool // false: signalling-only calls send no RTP
	pt         uint8
	dtmfPT     uint8
	hasDTMF    bool
	clockRate  uint32 // RTP clock of the audio codec
	dtmfRate   int    // RTP clock of telephone-event
	tsPerFrame uint32
	ptimeMs    int
	energy     energyFn      // G.711: energy straight from the payload
	dec        codec.Decoder // Opus: decoded first
	idle       *clip         // sent while the script sends nothing else
	digitDur   time.Duration
}

// digitGapFrames is the pause between two key presses of one command (100 ms).
const digitGapFrames = 5

// stream is one call's RTP, both ways.
type stream struct {
	streamParams
	sock   *rtpSocket
	events chan event
	closed atomic.Bool
	sent   atomic.Uint64
	// dropped counts events the script was too slow to take (its channel was full).
	dropped atomic.Uint64

	// Send side, owned by the socket's clock goroutine.
	ssrc      uint32
	seq       uint16
	ts        uint32
	nextDue   int64
	marker    bool
	cur       *clip
	pos       int
	pending   atomic.Pointer[command]
	dtmf      dtmf.Sender
	digits    string
	digitIdx  int
	gapFrames int
	dtmfTS    uint32
	// skipped counts frames this generator sent late enough to skip: its own
	// lateness, reported so it is never mistaken for the engine's.
	skipped atomic.Uint64

	// Receive side, owned by the socket's receive goroutine; rxMu lets the call
	// read the results once the stream is unregistered.
	rxMu    sync.Mutex
	rx      rxStats
	det     speechDetector
	pcm     []int16
	otherPT uint64
}

// newStream prepares a stream; nothing is sent or received before start.
func newStream(p streamParams, speechThreshold float64, gap time.Duration, ptime time.Duration) *stream {
	st := &stream{
		streamParams: p,
		events:       make(chan event, 16),
		ssrc:         rand.Uint32(),
		seq:          uint16(rand.Uint32()),
		ts:           rand.Uint32(),
		marker:       true,
		cur:          p.idle,
	}
	st.det = speechDetector{threshold: speechThreshold, gap: int64(gap), frameDur: int64(ptime)}
	if p.dec != nil {
		st.pcm = make([]int16, codec.OpusMaxFrameSamples)
	}
	return st
}

// start attaches the stream to a socket of pool: from now on it receives, and (if
// sending) its first packet leaves at a random phase of the packet time.
func (st *stream) start(s *rtpSocket, now time.Time) {
	st.sock = s
	st.nextDue = now.UnixNano() + rand.Int64N(int64(s.pool.ptime))
	s.register(st)
}

// stop detaches the stream; afterwards result may be read.
func (st *stream) stop() {
	if st.sock != nil {
		st.sock.unregister(st)
	}
}

// send asks the clock goroutine to send c from the next frame on.
func (st *stream) send(c *command) { st.pending.Store(c) }

// notify gives the script an event without ever blocking the media path.
func (st *stream) notify(k eventKind, at int64) {
	select {
	case st.events <- event{kind: k, at: at}:
	default:
		st.dropped.Add(1)
	}
}

// emit adds the stream's frames due at now to the socket's batch. A late wake-up
// catches up a few frames; a stream far behind skips ahead (advancing the timestamp
// as silence suppression would) rather than burst.
func (st *stream) emit(now, ptime int64, s *rtpSocket) {
	if st.closed.Load() {
		return
	}
	if behind := now - st.nextDue; behind > int64(resyncAfter) {
		skip := behind / ptime
		st.ts += uint32(skip) * st.tsPerFrame
		st.nextDue += skip * ptime
		st.skipped.Add(uint64(skip))
		st.marker = true // RFC 3551 §4.1: a new talk spurt after a gap
	}
	for i := 0; i < maxCatchUp && st.nextDue <= now; i++ {
		if s.tx.full() {
			s.flush()
		}
		st.frame(&s.tx, st.nextDue)
		st.nextDue += ptime
	}
}

// frame writes the packet for one packet time into the batch: a telephone-event
// packet while key presses are being sent, else the next frame of the phrase or of
// the idle audio. The timestamp advances by one frame either way (RFC 4733 §2.5.1.2:
// an event keeps its start timestamp while the media clock runs on).
func (st *stream) frame(b *sendBatch, due int64) {
	if c := st.pending.Swap(nil); c != nil {
		if c.digits != "" && st.hasDTMF {
			st.digits, st.digitIdx, st.gapFrames = c.digits, 0, 0
		} else if c.digits != "" {
			st.notify(evDigitSent, due) // nothing to send them with: say so at once
		}
		if c.clip != nil && len(c.clip.frames) > 0 {
			st.cur, st.pos = c.clip, 0
		}
		st.notify(evInputStart, due)
	}
	buf := b.slot()
	h := rtp.Header{SSRC: st.ssrc, SequenceNumber: st.seq}
	n, ok := st.digitFrame(buf[rtp.HeaderSize:], &h, due)
	if !ok {
		c := st.cur
		if c == nil || len(c.frames) == 0 {
			c = st.idle
		}
		n = copy(buf[rtp.HeaderSize:], c.frames[st.pos%len(c.frames)])
		st.pos++
		if st.pos >= len(c.frames) {
			st.pos = 0
			if c != st.idle {
				st.cur = st.idle
				st.notify(evPhraseSent, due+int64(time.Duration(st.ptimeMs)*time.Millisecond))
			}
		}
		h.PayloadType, h.Marker, h.Timestamp = st.pt, st.marker, st.ts
		st.marker = false
	}
	if _, err := h.MarshalTo(buf); err != nil {
		return // cannot happen with a 7-bit payload type; send nothing rather than garbage
	}
	b.commit(rtp.HeaderSize+n, st.remote)
	st.seq++
	st.ts += st.tsPerFrame
	st.sent.Add(1)
}

// digitFrame writes the telephone-event payload for this packet time when a key
// press is being sent, and reports whether it did.
func (st *stream) digitFrame(payload []byte, h *rtp.Header, due int64) (int, bool) {
	if !st.dtmf.Active() {
		if st.digitIdx >= len(st.digits) {
			return 0, false
		}
		if st.gapFrames > 0 {
			st.gapFrames--
			return 0, false
		}
		d := st.digits[st.digitIdx]
		st.digitIdx++
		if err := st.dtmf.Start(d, st.digitDur, st.dtmfRate, st.ptimeMs); err != nil {
			st.finishDigit(due) // validated before the run; skip rather than stall
			return 0, false
		}
		st.dtmfTS = st.ts
	}
	n, marker, done := st.dtmf.Next(payload)
	h.PayloadType, h.Marker, h.Timestamp = st.dtmfPT, marker, st.dtmfTS
	if done {
		st.finishDigit(due)
	}
	return n, true
}

// finishDigit moves on after one key press: a pause before the next, or the event
// that the command is done.
func (st *stream) finishDigit(due int64) {
	if st.digitIdx < len(st.digits) {
		st.gapFrames = digitGapFrames
		return
	}
	st.digits, st.digitIdx = "", 0
	st.notify(evDigitSent, due+int64(time.Duration(st.ptimeMs)*time.Millisecond))
}

// receive handles one RTP packet from the engine, arrived at at (ns since the Unix
// epoch); agg is the socket's aggregate, whose lock the caller holds.
func (st *stream) receive(pkt []byte, at int64, agg *rxAggregate, startNs int64) {
	var h rtp.Header
	payload, err := h.Unmarshal(pkt)
	if err != nil {
		agg.malformed++
		return
	}
	st.rxMu.Lock()
	defer st.rxMu.Unlock()
	if h.PayloadType != st.pt {
		st.otherPT++ // telephone-event or comfort noise: not audio to judge
		return
	}
	gap := st.rx.update(h.SequenceNumber, h.Timestamp, at, st.clockRate)
	if st.rx.received > 1 {
		agg.add(at, startNs, st.rx.jitter, gap)
	}
	var sum uint64
	var samples int
	switch {
	case st.energy != nil:
		sum, samples = st.energy(payload)
	case st.dec != nil:
		if k, err := st.dec.Decode(st.pcm, payload); err == nil {
			sum, samples = pcmEnergy(st.pcm[:k])
		}
	}
	if ev, evAt := st.det.frame(sum, samples, at); ev != evUnknown {
		st.notify(ev, evAt)
	}
}

// streamResult is what the caller's side measured on one call.
type streamResult struct {
	sent, received, expected, lost, lateOrDup uint64
	jitter, maxJitter                         float64 // ns
	maxGap                                    int64
	speechFrames, frames                      uint64
	skipped, dropped                          uint64
}

// result reads the measurements; call it after stop.
func (st *stream) result() streamResult {
	st.rxMu.Lock()
	defer st.rxMu.Unlock()
	return streamResult{
		sent:         st.sent.Load(),
		received:     st.rx.received,
		expected:     st.rx.expected(),
		lost:         st.rx.lost(),
		lateOrDup:    st.rx.lateOrDup,
		jitter:       st.rx.jitter,
		maxJitter:    st.rx.maxJitter,
		maxGap:       st.rx.maxGap,
		speechFrames: st.det.loud,
		frames:       st.det.frames,
		skipped:      st.skipped.Load(),
		dropped:      st.dropped.Load(),
	}
}
