package media

import (
	"errors"
	"io"
	"net/netip"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// The outgoing stream (RFC 3550 §5.1, RFC 3551 §4.1): one packet per ptime, audio from
// the current playback or silence (or an RFC 4733 event in its place), sequence +1 per
// packet sent, timestamp + one frame's clock units per frame elapsed (sent or not),
// marker on the first packet of a talk spurt: the first packet, and the first after a
// pause in sending (hold, resync). Every frame slot also plays out one frame of the
// caller's audio (playout.go) and polls the RTCP scheduler (rtcp.go), so one tick
// drives both directions and the reports.

const (
	// maxCatchUpFrames is the most frames one tick sends: a wake-up a few ticks late
	// catches up without a burst the caller's jitter buffer would drop.
	maxCatchUpFrames = 5
	// resyncAfter is how far behind schedule a stream may fall before it skips the
	// missed frames (advancing the timestamp, as silence suppression would) instead of
	// sending them late.
	resyncAfter = 200 * time.Millisecond
)

// tick emits every frame due at now, plays out as many of the caller's, and sends an
// RTCP report when one is due, each packet with its own system call. Tests call it
// directly with chosen times.
func (s *Session) tick(now time.Time) { s.clockTick(now, nil) }

// clockTick is tick on the clock goroutine of shard sh: the RTP packets go into the
// shard's batch when there is one (the shard sends them after the tick), and the
// outgoing frame is made in the shard's buffer.
func (s *Session) clockTick(now time.Time, sh *clockShard) {
	p := s.params.Load()
	if p == nil {
		return // Start before Configure: nothing to send yet
	}
	s.sendMu.Lock()
	if s.closed.Load() || s.removeFromClock == nil {
		s.sendMu.Unlock()
		return // a tick that raced with Close (the socket is closing), or before Start
	}
	if sh != nil {
		s.batch, s.scratch = sh.tx, &sh.frame
	}
	s.advance(p, now)
	s.batch, s.scratch = nil, nil
	s.maybeReport(p, now)
	s.sendMu.Unlock()
	if s.tp != nil {
		s.transportHousekeep(now) // after sendMu: see transportRx's lock order
	}
}

// advance emits the frames due at now; the caller holds sendMu.
func (s *Session) advance(p *sessionParams, now time.Time) {
	if s.nextDue.IsZero() {
		s.nextDue = now
	}
	if behind := now.Sub(s.nextDue); behind > resyncAfter {
		skipped := behind / p.Ptime
		s.ts += uint32(skipped) * p.tsPerFrame
		s.nextDue = s.nextDue.Add(skipped * p.Ptime)
		s.marker = true // RFC 3551 §4.1: a new talk spurt after a gap
		s.eng.metrics.lateTicks.Inc()
	}
	limit := now.Add(s.eng.slack)
	for i := 0; i < maxCatchUpFrames && !s.nextDue.After(limit); i++ {
		s.emit(p, s.nextDue)
		s.nextDue = s.nextDue.Add(p.Ptime)
	}
}

// emit produces one frame slot: an RFC 4733 event packet while SendDigits runs, else
// the player's audio or silence, sent when our direction allows; then one frame of the
// caller's audio is played out beside it. A playback that ends with this frame is
// reported after the packet left, so Play returns when the audio has been sent.
func (s *Session) emit(p *sessionParams, due time.Time) {
	buf := s.scratch
	if buf == nil {
		buf = &s.frame // ticked outside a clock shard (tests)
	}
	if cap(*buf) < p.samplesPerFrame {
		*buf = make([]int16, p.samplesPerFrame) // only when ptime or codec grows
	}
	if s.digitOut != nil && s.emitDigit(p, due) {
		s.playFrame(p, due, nil) // an event replaced our audio: our side is silent
		return
	}
	frame := (*buf)[:p.samplesPerFrame]
	n := 0
	var ended *playback
	var endErr error
	if pb := s.player; pb != nil {
		var err error
		n, err = pb.src.Read(frame)
		n = max(0, min(n, len(frame))) // a Source that miscounts cannot crash the clock
		if err != nil {
			s.player = nil
			if !errors.Is(err, io.EOF) {
				endErr = err
			}
			ended = pb
		}
	}
	clear(frame[n:])
	var engine []int16 // what the caller gets from us: nothing unless we send
	if s.sendAudio(p, frame, due) {
		engine = frame
	}
	s.playFrame(p, due, engine)
	if ended != nil {
		ended.finish(endErr)
	}
}

// sendAudio encodes frame and writes it to the remote as the next RTP packet, if our
// direction and the remote address allow; the timestamp advances either way. It
// reports whether the frame was meant for the caller (sending is on).
func (s *Session) sendAudio(p *sessionParams, frame []int16, due time.Time) bool {
	ts := s.ts
	s.ts += p.tsPerFrame
	if !p.canSend {
		s.marker = true // the first packet after hold starts a talk spurt
		return false
	}
	pkt := s.packetBuf()
	plen, err := p.enc.Encode(pkt[rtp.HeaderSize:], frame)
	if err != nil {
		s.eng.metrics.sendErrors.Inc()
		return true
	}
	// Opus DTX: in silence the encoder returns 1–2 byte frames; they are sent as they
	// are (RFC 7587 §3.1.3 allows either), which keeps the caller's jitter buffer fed.
	if s.writeRTP(p, pkt, p.PayloadType, s.marker, ts, ts, plen, due) {
		s.marker = false
	}
	return true
}

// packetBuf is where the next RTP packet is written: the next entry of the shard's
// batch when the packet goes there, else the session's own buffer.
func (s *Session) packetBuf() []byte {
	if s.tp == nil {
		if b := s.batch.buffer(&s.txSlot); b != nil {
			return b
		}
	}
	return s.pkt
}

// writeRTP sends the payload of plen octets already in pkt (from packetBuf) after the
// header, as the next packet of the stream with timestamp ts; clockTS is the stream's
// timestamp for the frame slot (an RFC 4733 event keeps its start as ts), which
// anchors the SR's RTP time. A packet the kernel refused does not use up its sequence
// number.
func (s *Session) writeRTP(p *sessionParams, pkt []byte, pt uint8, marker bool, ts, clockTS uint32, plen int, due time.Time) bool {
	m := s.eng.metrics
	h := rtp.Header{
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: s.seq,
		Timestamp:      ts,
		SSRC:           s.ssrc,
	}
	if _, err := h.MarshalTo(pkt); err != nil {
		m.sendErrors.Inc()
		return false
	}
	size := rtp.HeaderSize + plen
	var err error
	if p.srtp != nil {
		// RFC 3711 §3.3: encrypt and authenticate in place, just before the write.
		if size, err = p.srtp.tx.ProtectRTP(pkt, size); err != nil {
			m.sendErrors.Inc()
			return false
		}
	}
	switch {
	case s.tp != nil:
		err = s.tp.transmit.WriteRTP(pkt[:size])
	case s.batch.queue(&s.txSlot, pkt[:size], s.target(p)):
		// sent with the chunk, at the latest at the end of the tick; a refusal is
		// counted there
	default:
		err = s.writeTo(pkt[:size], s.target(p))
	}
	if err != nil {
		m.sendErrors.Inc()
		return false
	}
	s.stats.sent.Add(1)
	s.stats.bytesSent.Add(uint64(size))
	m.packetsSent.Inc()
	m.bytesSent.Add(float64(size))
	s.tx.Update(s.ssrc, s.seq, clockTS, plen, due, uint32(p.Codec.ClockRate()))
	s.seq++
	return true
}

// target is where outgoing RTP goes: the address latched for the current remote, else
// the SDP address. Only called when p.canSend (or p.canRTCP for multiplexed RTCP), so
// a hold (0.0.0.0) is never overridden by a latch.
func (s *Session) target(p *sessionParams) netip.AddrPort {
	if l := s.latched.Load(); l != nil && l.gen == p.gen {
		return l.addr
	}
	return p.Remote
}
