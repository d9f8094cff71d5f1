package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtcp"
	"github.com/hotline-ivr/hotline/media/vad"
)

var (
	// ErrClosed is returned by Play when the session closed (the call hung up) before the
	// audio finished, and by Configure on a closed session.
	ErrClosed = errors.New("media: session closed")
	// ErrInterrupted is returned by Play when a newer Play replaced this one.
	ErrInterrupted = errors.New("media: playback replaced")
	// ErrNilSource is returned by Play without a Source: a flow bug, reported rather than
	// crashing the clock goroutine every call shares.
	ErrNilSource = errors.New("media: play without a source")
	// ErrPtime is wrapped by Configure for a packet time the codec cannot send (Opus has
	// no 30 ms frames, RFC 6716 §2.1.4), so the SIP layer can retry with its own ptime.
	ErrPtime = errors.New("media: unsupported ptime")
)

// Source yields the audio a session plays, one frame at a time, as mono PCM at the
// session's SampleRate. Read fills frame and returns how many samples it wrote; io.EOF
// (with or without samples) ends the playback. Read runs on the media clock goroutine,
// shared by many calls, so it must not block and must not call the Session.
type Source interface {
	Read(frame []int16) (int, error)
}

// Params is the negotiated media of a call, as the signalling layer agreed it.
type Params struct {
	// Codec and PayloadType are the audio codec both sides send.
	Codec       codec.Codec
	PayloadType uint8
	// DTMFPayloadType is the telephone-event payload type, or -1 when not negotiated.
	// Its clock rate is the codec's (RFC 4733 §2.1: the rate of the audio it replaces).
	DTMFPayloadType int
	// Remote is where to send RTP; an unspecified address (0.0.0.0, old-style hold) sends nothing.
	Remote netip.AddrPort
	// RemoteRTCP is where to send RTCP when it is not multiplexed: the peer's a=rtcp
	// attribute (RFC 3605). The zero value means Remote's port + 1 (RFC 3550 §11).
	RemoteRTCP netip.AddrPort
	// RTCPMux is set when a=rtcp-mux was negotiated (RFC 5761): RTCP then shares the RTP
	// socket in both directions. Reports that still arrive on the RTCP port are read too.
	RTCPMux bool
	// Ptime is the packet duration (default 20 ms; a multiple of 10 ms up to 120 ms that
	// the codec can code: codec.ValidPtime).
	Ptime time.Duration
	// Send and Recv are our directions: both for sendrecv; Recv alone while the caller
	// holds us (they sent sendonly); neither for inactive.
	Send, Recv bool
	// SignalingSource is the IP the SIP request came from, trusted by the latch policy.
	SignalingSource netip.Addr
	// SRTP, when set, protects the call's RTP and RTCP with these SDES keys (RFC 4568,
	// srtp.go); nil sends and accepts plain RTP. Keys the same as the previous
	// Configure's keep the crypto state (rollover counters, replay lists).
	SRTP *SRTPKeys
}

// sessionParams is one Configure's result, immutable once published.
type sessionParams struct {
	Params
	samplesPerFrame int    // PCM samples per frame at Codec.SampleRate()
	tsPerFrame      uint32 // RTP timestamp units per frame at Codec.ClockRate()
	ptimeMs         int
	canSend         bool           // Send, and Remote is an address we may send to
	rtcpRemote      netip.AddrPort // where non-multiplexed RTCP goes, invalid if nowhere
	canRTCP         bool           // Remote is an address we may send reports to
	inband          bool           // detect DTMF tones in the caller's audio
	gen             uint64         // bumps when Remote changes: older latches no longer apply
	// enc is the call's encoder, carried over by every Configure that keeps the codec
	// (its state, for stateful codecs, continues). Only the clock goroutine uses it,
	// under sendMu.
	enc codec.Encoder
	// play is the receive side of the codec: jitter buffer (pushed by the receive
	// goroutine), decoder, concealment and detectors (clock goroutine only). Carried
	// over like enc.
	play *playout
	// srtp is the SRTP contexts for Params.SRTP, nil for plain RTP; carried over by
	// every Configure that keeps the keys.
	srtp *srtpState
}

// sameCodec compares codecs by what SDP negotiates rather than with ==, which would
// panic on a Codec implementation that is not comparable.
func sameCodec(a, b codec.Codec) bool {
	return a.Name() == b.Name() && a.ClockRate() == b.ClockRate() &&
		a.SampleRate() == b.SampleRate() && a.Channels() == b.Channels()
}

// Stats are a session's packet counts, kept for the call record.
type Stats struct {
	PacketsSent, PacketsReceived uint64
	BytesSent, BytesReceived     uint64
	Garbage                      uint64
	// Concealed counts received frames that were lost or late at playout, filled by
	// concealment (PLC, Opus FEC) when anything hears the caller and counted alike
	// when nothing does (the frame is then not decoded at all).
	Concealed uint64
}

// playback is one Play call. Every field but src and done is guarded by Session.sendMu.
type playback struct {
	src      Source
	done     chan error // buffered 1: receives the result exactly once
	finished bool
}

// finish reports the result, once. The caller holds sendMu.
func (pb *playback) finish(err error) {
	if !pb.finished {
		pb.finished = true
		pb.done <- err
	}
}

// latch is the address the caller's packets really come from, valid for the remote
// generation it was learnt under (a re-INVITE to a new address starts afresh).
type latch struct {
	addr netip.AddrPort
	gen  uint64
}

// Session is one call leg's media: an RTP socket and an RTCP socket, the negotiated
// codec, an outgoing stream paced by the engine's clock (silence when nothing plays, so
// the caller never hears a gap), a receive loop that feeds the jitter buffer and turns
// telephone-events into digits, and, on the same clock tick as the outgoing frame, the
// playout of the caller's audio to the in-band DTMF detector, the VAD and the sinks.
//
// Lifecycle: NewSession → Configure (from the SDP offer/answer) → Start (on answer or
// early media) → Play/Digits … → Close. Configure may be called again at any time
// (re-INVITE). Every method is safe for concurrent use.
//
// Goroutines: the receive loop (RTP socket), the RTCP loop (RTCP socket), both owned and
// waited for by Close, and the engine's shared clock, which calls tick.
//
// Lock order: cfgMu, then sendMu, then statsMu, then the clock shard's mutex; digitMu
// and sinkMu are leaves.
type Session struct {
	// The fields every packet and every tick touch come first, together: at a few
	// thousand calls a call's state is out of the cache by its next tick, and each
	// cache line a tick touches is one more to bring back (bench/cachemiss.sh).
	eng     *Engine
	params  atomic.Pointer[sessionParams]
	latched atomic.Pointer[latch] // written by the RTP socket's reader only
	closed  atomic.Bool

	// Send state: the clock goroutine holds sendMu for one tick; Start, Play and Close
	// take it briefly. It is per call, so no lock on the packet path is shared by calls.
	sendMu sync.Mutex
	// statsMu guards rx: the RTP socket's reader updates it per packet, the clock reads
	// it for a report every few seconds.
	statsMu         sync.Mutex
	player          *playback
	removeFromClock func()
	batch           *txBatch     // the shard's batch during a clock tick, else nil
	scratch         *[]int16     // the shard's frame buffer during a clock tick, else nil
	tp              *transportRx // a transport session's carrier (transport.go); nil: sockets
	rxs             *rxSlot      // the clock shard's state for raw (below)
	tickedAt        uint64       // the clock shard's tick that last ticked us early (clockShard.early)
	seq             uint16
	marker          bool
	ts              uint32
	ssrc            uint32 // fixed at creation: read without a lock
	nextDue         time.Time
	rtcpNext        time.Time // when sched's next report is due, once it started (maybeReport)
	digitOut        *digitJob // RFC 4733 digits being sent
	sched           *rtcp.Scheduler
	vadCfg          *vad.Config
	vad             *vad.Detector
	vadRate         int
	sinks           atomic.Pointer[[]*entry[Sink]]
	stereo          atomic.Pointer[[]*entry[StereoSink]]
	lastRx          atomic.Int64 // the last accepted packet, in Engine.mono nanoseconds
	stats           struct {
		sent, recv, bytesSent, bytesRecv, garbage, concealed atomic.Uint64
	}
	txSlot txSlot // this socket in a batch: its descriptor and family lead
	rx     rtcp.ReceiverStats
	tx     rtcp.SenderStats

	conn      *net.UDPConn
	port      int
	local     netip.AddrPort
	rtcpConn  *net.UDPConn
	rtcpPort  int
	rtcpLocal netip.AddrPort
	cname     []byte // RFC 7022 random CNAME, per session
	log       *slog.Logger

	// raw is the RTP socket when the clock shard reads it (rxbatch_linux.go; conn is
	// nil then): rxs is the shard's state for it and removeReceiver stops the reads.
	raw            *rawUDP
	removeReceiver func()

	cfgMu       sync.Mutex            // serialises Configure
	rtcpLatched atomic.Pointer[latch] // written by the RTCP goroutine only

	shard        *clockShard // the clock shard that ticks us, from Start (a raw socket's from NewSession)
	direct       txSlot      // a raw socket's packets sent outside a batch (sendMu)
	frame        []int16     // the frame buffer when ticked without a shard (tests)
	pkt          []byte      // the packet buffer when not sending through a batch
	dtmfTx       dtmfTx
	rtcpOut      rtcp.Compound
	rtcpBuf      []byte
	reportedLost int64 // hotline_rtp_lost_packets_total already counted

	sinkMu sync.Mutex // serialises writers of sinks and stereo

	digitMu sync.Mutex
	merger  *dtmf.Merger

	// Times in Engine.mono nanoseconds, 0 for never.
	started atomic.Int64 // Start
	armed   atomic.Int64 // Start or the latest Configure: the RTP timeout counts from here

	digits   chan byte
	speech   chan SpeechEvent
	timedOut chan struct{}
	timeout  sync.Once
	recvDone chan struct{}
	rtcpDone chan struct{}

	final     atomic.Pointer[rtcp.Summary]
	closeOnce sync.Once
}

// digitBuffer is how many digits a flow may type ahead before further ones are dropped
// (and counted): more than any prompt's worth, small enough to stay bounded.
const digitBuffer = 64

// rtcpBufferSize holds our compound packet (SR with one block, SDES, BYE) many times over.
const rtcpBufferSize = 1500

// rtpPacketSize bounds an RTP packet we send: a 1500-octet Ethernet frame's payload.
const rtpPacketSize = 1500

func newSession(e *Engine, conn *net.UDPConn, port int, rtcpConn *net.UDPConn, rtcpPort int, log *slog.Logger) *Session {
	s := &Session{
		eng:       e,
		conn:      conn,
		port:      port,
		local:     netip.AddrPortFrom(e.cfg.BindIP, uint16(port)),
		rtcpConn:  rtcpConn,
		rtcpPort:  rtcpPort,
		rtcpLocal: netip.AddrPortFrom(e.cfg.BindIP, uint16(rtcpPort)),
		cname:     newCNAME(),
		log:       log,
		pkt:       make([]byte, rtpPacketSize),
		rtcpBuf:   make([]byte, rtcpBufferSize),
		ssrc:      mrand.Uint32(), // RFC 3550 §5.1, §8: random SSRC, sequence and timestamp
		seq:       uint16(mrand.Uint32()),
		ts:        mrand.Uint32(),
		marker:    true,
		merger:    dtmf.NewMerger(dtmf.WithWindow(e.cfg.DTMFMergeWindow)),
		digits:    make(chan byte, digitBuffer),
		speech:    make(chan SpeechEvent, speechBuffer),
		timedOut:  make(chan struct{}),
		recvDone:  make(chan struct{}),
		rtcpDone:  make(chan struct{}),
	}
	// The interval was validated positive, so this cannot fail; without a scheduler
	// the session would simply send no reports.
	if sched, err := rtcp.NewScheduler(rtcp.WithMinInterval(e.cfg.RTCPInterval)); err == nil {
		s.sched = sched
	} else {
		log.Warn("RTCP disabled for this call", "error", err)
	}
	if conn != nil && e.clock.batched() {
		if err := s.txSlot.init(conn); err != nil {
			log.Warn("this call's RTP is sent one system call per packet", "error", err)
		}
	}
	noSinks, noStereo := []*entry[Sink]{}, []*entry[StereoSink]{}
	s.sinks.Store(&noSinks)
	s.stereo.Store(&noStereo)
	return s
}

// newCNAME is a random canonical name (RFC 7022 §4.2: 96 random bits), so the SDES of
// one call tells nothing about the host or other calls.
func newCNAME() []byte {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return []byte(hex.EncodeToString(b[:]))
}

// LocalAddr is the address the RTP socket is bound to.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// RTCPAddr is the address the RTCP socket is bound to. Its port is not LocalAddr's
// port + 1, so the SDP must announce it with a=rtcp (RFC 3605), unless rtcp-mux is
// negotiated.
func (s *Session) RTCPAddr() netip.AddrPort { return s.rtcpLocal }

// Configure applies the negotiated media. It may be called again when a re-INVITE moves
// the remote address, changes the codec or puts the call on hold; a new remote address
// forgets the symmetric RTP latch. Each call restarts the RTP timeout, since a re-INVITE
// is proof the caller is alive even if its media paused (hold) until now.
func (s *Session) Configure(p Params) error {
	if p.Codec == nil {
		return errors.New("media: configure without codec")
	}
	if p.Ptime <= 0 {
		p.Ptime = DefaultPtime
	}
	if p.Ptime%(10*time.Millisecond) != 0 || p.Ptime > 120*time.Millisecond {
		return fmt.Errorf("%w %v (want a multiple of 10 ms up to 120 ms)", ErrPtime, p.Ptime)
	}
	if !codec.ValidPtime(p.Codec, p.Ptime) {
		return fmt.Errorf("%w: %s cannot code %v frames%s", ErrPtime, p.Codec.Name(), p.Ptime, frameSizesHint(p.Codec))
	}
	if p.PayloadType > 127 || p.DTMFPayloadType < -1 || p.DTMFPayloadType > 127 {
		return fmt.Errorf("media: payload types %d/%d out of range", p.PayloadType, p.DTMFPayloadType)
	}
	spf := int(int64(p.Codec.SampleRate()) * int64(p.Ptime) / int64(time.Second))
	tspf := int64(p.Codec.ClockRate()) * int64(p.Ptime) / int64(time.Second)
	if spf <= 0 || tspf <= 0 || spf > 1<<16 {
		return fmt.Errorf("media: codec %s rates %d/%d unusable", p.Codec.Name(), p.Codec.SampleRate(), p.Codec.ClockRate())
	}
	// Compare and send with plain IPv4 addresses whatever the SDP parser produced.
	p.Remote = unmap(p.Remote)
	p.RemoteRTCP = unmap(p.RemoteRTCP)
	p.SignalingSource = p.SignalingSource.Unmap()
	remoteOK := p.Remote.IsValid() && !p.Remote.Addr().IsUnspecified() && p.Remote.Port() != 0
	if s.tp != nil {
		remoteOK = true // the carrier knows where the peer is
		if p.SRTP != nil {
			return errors.New("media: SDES-SRTP on a transport session (its carrier does DTLS-SRTP)")
		}
	}
	sp := &sessionParams{
		Params:          p,
		samplesPerFrame: spf,
		tsPerFrame:      uint32(tspf),
		ptimeMs:         int(p.Ptime / time.Millisecond),
		canSend:         p.Send && remoteOK,
		canRTCP:         remoteOK,
	}
	switch {
	case p.RemoteRTCP.IsValid() && p.RemoteRTCP.Port() != 0 && !p.RemoteRTCP.Addr().IsUnspecified():
		sp.rtcpRemote = p.RemoteRTCP
	case remoteOK && p.Remote.Port() < 65535:
		sp.rtcpRemote = netip.AddrPortFrom(p.Remote.Addr(), p.Remote.Port()+1)
	}
	if !p.RTCPMux && !sp.rtcpRemote.IsValid() {
		sp.canRTCP = false
	}
	if s.tp != nil {
		sp.canRTCP = s.tp.rtcpOut != nil // pion and the like send their own reports
	}
	switch s.eng.cfg.InbandDTMF {
	case InbandDTMFAlways:
		sp.inband = true
	case InbandDTMFAuto:
		sp.inband = p.DTMFPayloadType < 0
	}

	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	old := s.params.Load()
	if old != nil {
		sp.gen = old.gen
		if old.Remote != p.Remote {
			sp.gen++ // a new remote address starts latching afresh
		}
		if sameCodec(old.Codec, p.Codec) {
			sp.enc, sp.play = old.enc, old.play
		}
	}
	if err := configureSRTP(sp, old); err != nil {
		return err
	}
	if sp.enc == nil {
		enc, err := p.Codec.NewEncoder()
		if err != nil {
			return fmt.Errorf("media: %s encoder: %w", p.Codec.Name(), err)
		}
		sp.enc = enc
	}
	if sp.play == nil {
		pl, err := newPlayout(p.Codec, p.Ptime, s.eng.cfg, s.eng.metrics)
		if err != nil {
			return err
		}
		sp.play = pl
		if old != nil {
			// The old jitter buffer goes: count its late packets while it can be read.
			s.sendMu.Lock()
			s.countLoss(old)
			s.sendMu.Unlock()
		}
	}
	s.params.Store(sp)
	s.armed.Store(s.eng.mono(time.Now()))
	return nil
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	if !ap.IsValid() {
		return ap
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// frameSizesHint lists the frame durations a codec accepts, for Configure's error.
func frameSizesHint(c codec.Codec) string {
	fs, ok := c.(codec.FrameSizer)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (it codes %v)", fs.FrameSizes())
}

// SampleRate is the PCM rate Sources must produce (the codec's), or 0 before Configure.
// Sinks receive the caller's audio at this rate too.
func (s *Session) SampleRate() int {
	if p := s.params.Load(); p != nil {
		return p.Codec.SampleRate()
	}
	return 0
}

// Start begins the outgoing stream on the engine clock and arms the RTP timeout. Calling
// it again, or after Close, does nothing. Start before Configure is allowed: the stream
// begins with the first Configure, and the timeout counts from the later of the two.
// The caller's audio is played out (to the detectors and sinks) from Start on, on the
// same ticks as the outgoing stream.
func (s *Session) Start() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.removeFromClock != nil || s.closed.Load() {
		return
	}
	now := s.eng.mono(time.Now())
	s.started.Store(now)
	s.armed.Store(now)
	s.nextDue = time.Time{}
	if s.shard != nil { // it already reads our socket
		s.removeFromClock = s.shard.add(s)
		return
	}
	s.shard, s.removeFromClock = s.eng.clock.add(s)
}

// TimedOut is closed, once, when the caller's RTP stopped for longer than the configured
// timeout while the call was sendrecv (not on hold or inactive). The timeout counts from
// Start and from the latest Configure, so a caller that answers and takes a moment to
// send its first packet gets the full timeout.
func (s *Session) TimedOut() <-chan struct{} { return s.timedOut }

// Play sends src to the caller and returns nil when it has been sent, ctx's error when
// ctx ends (the playback stops within one clock tick), ErrInterrupted when a newer Play
// replaced it, or ErrClosed when the session closes. Once Play has returned, src is
// never read again, so the caller may reuse it.
//
// Play before Start (or before Configure) waits: the audio begins when the stream does.
// With Send false (hold) or no remote address the audio is consumed at the real-time
// pace without being sent, so prompts and timers of a held call still take their time.
// While SendDigits sends RFC 4733 events the playback pauses.
func (s *Session) Play(ctx context.Context, src Source) error {
	if src == nil {
		return ErrNilSource
	}
	if err := ctx.Err(); err != nil {
		return err // do not cut the current playback for one that will never run
	}
	pb := &playback{src: src, done: make(chan error, 1)}
	s.sendMu.Lock()
	if s.closed.Load() {
		s.sendMu.Unlock()
		return ErrClosed
	}
	if old := s.player; old != nil {
		old.finish(ErrInterrupted)
	}
	s.player = pb
	s.sendMu.Unlock()

	select {
	case err := <-pb.done:
		return err
	case <-ctx.Done():
	}
	s.sendMu.Lock()
	if s.player == pb {
		s.player = nil
	}
	pb.finish(ctx.Err()) // unless it finished in the meantime: that result wins
	s.sendMu.Unlock()
	return <-pb.done
}

// Stats returns the session's packet counts.
func (s *Session) Stats() Stats {
	return Stats{
		PacketsSent:     s.stats.sent.Load(),
		PacketsReceived: s.stats.recv.Load(),
		BytesSent:       s.stats.bytesSent.Load(),
		BytesReceived:   s.stats.bytesRecv.Load(),
		Garbage:         s.stats.garbage.Load(),
		Concealed:       s.stats.concealed.Load(),
	}
}

// Close stops sending and receiving, ends any playback and digit sending with ErrClosed,
// sends a last RTCP report with BYE (RFC 3550 §6.6) when the stream had started,
// records the call's quality (Quality, hotline_call_mos, hotline_rtp_jitter_seconds) and
// returns both ports to the engine. It is idempotent and waits for the receive and RTCP
// goroutines, so when it returns the session holds no goroutine, socket or port. It
// needs no context: a hang-up that cancelled the call still records its quality.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.cfgMu.Lock()
		s.closed.Store(true)
		s.cfgMu.Unlock()

		now := time.Now()
		s.sendMu.Lock()
		if s.removeFromClock != nil {
			s.removeFromClock()
			if p := s.params.Load(); p != nil {
				s.sendReport(p, now, true)
			}
		}
		if pb := s.player; pb != nil {
			s.player = nil
			pb.finish(ErrClosed)
		}
		if job := s.digitOut; job != nil {
			s.digitOut = nil
			job.finish(ErrClosed)
		}
		shard := s.shard
		s.sendMu.Unlock()

		switch {
		case s.raw != nil:
			// After removal a tick that had started may still read the socket: it is
			// closed under the shard's flush lock, after that tick.
			s.removeReceiver()
			shard.rx.unregister(s)
			shard.closing(s.raw.Close)
			close(s.recvDone)
			s.rtcpConn.Close()
		case s.tp == nil:
			if shard != nil {
				shard.closing(s.conn.Close) // the shard may hold a packet for the socket
			} else {
				s.conn.Close()
			}
			s.rtcpConn.Close()
		}
		<-s.recvDone
		<-s.rtcpDone

		s.sendMu.Lock()
		if p := s.params.Load(); p != nil {
			s.countLoss(p)
		}
		s.sendMu.Unlock()
		sum := s.summarize()
		s.final.Store(&sum)
		m := s.eng.metrics
		if sum.PacketsReceived > 0 {
			m.jitter.Observe(sum.JitterMs / 1000)
			m.mos.Observe(sum.MOS)
		}
		if sum.HasRTT {
			m.rtt.Observe(sum.RTTMs / 1000)
		}
		s.eng.release(s)
	})
	return nil
}
