package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
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
	DTMFPayloadType int
	// Remote is where to send RTP; an unspecified address (0.0.0.0, old-style hold) sends nothing.
	Remote netip.AddrPort
	// Ptime is the packet duration (default 20 ms; a multiple of 10 ms up to 120 ms).
	Ptime time.Duration
	// Send and Recv are our directions: both for sendrecv; Recv alone while the caller
	// holds us (they sent sendonly); neither for inactive.
	Send, Recv bool
	// SignalingSource is the IP the SIP request came from, trusted by the latch policy.
	SignalingSource netip.Addr
}

// sessionParams is one Configure's result, immutable once published.
type sessionParams struct {
	Params
	samplesPerFrame int    // PCM samples per frame at Codec.SampleRate()
	tsPerFrame      uint32 // RTP timestamp units per frame at Codec.ClockRate()
	canSend         bool   // Send, and Remote is an address we may send to
	gen             uint64 // bumps when Remote changes: older latches no longer apply
	// enc is the call's encoder, carried over by every Configure that keeps the codec
	// (its state, for stateful codecs, continues). Only the clock goroutine uses it,
	// under sendMu.
	enc codec.Encoder
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

// Session is one call leg's RTP stream: a socket, the negotiated codec, an outgoing
// stream paced by the engine's clock (silence when nothing plays, so the caller never
// hears a gap), and a receive loop that detects DTMF and notices when RTP stops.
//
// Lifecycle: NewSession → Configure (from the SDP offer/answer) → Start (on answer or
// early media) → Play/Digits … → Close. Configure may be called again at any time
// (re-INVITE). Every method is safe for concurrent use.
//
// Lock order: cfgMu, then sendMu, then the clock shard's mutex.
type Session struct {
	eng   *Engine
	conn  *net.UDPConn
	port  int
	local netip.AddrPort
	log   *slog.Logger

	cfgMu   sync.Mutex // serialises Configure
	params  atomic.Pointer[sessionParams]
	latched atomic.Pointer[latch] // written by the receive goroutine only
	closed  atomic.Bool

	// Send state: the clock goroutine holds sendMu for one tick; Start, Play and Close
	// take it briefly. It is per call, so no lock on the packet path is shared by calls.
	sendMu          sync.Mutex
	player          *playback
	removeFromClock func()
	frame           []int16
	pkt             []byte
	seq             uint16
	ts              uint32
	ssrc            uint32
	marker          bool
	nextDue         time.Time

	// Times in Engine.mono nanoseconds, 0 for never.
	started atomic.Int64 // Start
	armed   atomic.Int64 // Start or the latest Configure: the RTP timeout counts from here
	lastRx  atomic.Int64 // the last accepted packet

	digits   chan byte
	timedOut chan struct{}
	timeout  sync.Once
	recvDone chan struct{}

	stats struct {
		sent, recv, bytesSent, bytesRecv, garbage atomic.Uint64
	}
	closeOnce sync.Once
}

// digitBuffer is how many digits a flow may type ahead before further ones are dropped
// (and counted): more than any prompt's worth, small enough to stay bounded.
const digitBuffer = 64

func newSession(e *Engine, conn *net.UDPConn, port int, log *slog.Logger) *Session {
	return &Session{
		eng:      e,
		conn:     conn,
		port:     port,
		local:    netip.AddrPortFrom(e.cfg.BindIP, uint16(port)),
		log:      log,
		pkt:      make([]byte, 1500),
		ssrc:     rand.Uint32(), // RFC 3550 §5.1, §8: random SSRC, sequence and timestamp
		seq:      uint16(rand.Uint32()),
		ts:       rand.Uint32(),
		marker:   true,
		digits:   make(chan byte, digitBuffer),
		timedOut: make(chan struct{}),
		recvDone: make(chan struct{}),
	}
}

// LocalAddr is the address the RTP socket is bound to.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

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
		return fmt.Errorf("media: unsupported ptime %v", p.Ptime)
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
	p.Remote = netip.AddrPortFrom(p.Remote.Addr().Unmap(), p.Remote.Port())
	p.SignalingSource = p.SignalingSource.Unmap()
	sp := &sessionParams{
		Params:          p,
		samplesPerFrame: spf,
		tsPerFrame:      uint32(tspf),
		canSend: p.Send && p.Remote.IsValid() && !p.Remote.Addr().IsUnspecified() &&
			p.Remote.Port() != 0,
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
			sp.enc = old.enc
		}
	}
	if sp.enc == nil {
		enc, err := p.Codec.NewEncoder()
		if err != nil {
			return fmt.Errorf("media: %s encoder: %w", p.Codec.Name(), err)
		}
		sp.enc = enc
	}
	s.params.Store(sp)
	s.armed.Store(s.eng.mono(time.Now()))
	return nil
}

// SampleRate is the PCM rate Sources must produce (the codec's), or 0 before Configure.
func (s *Session) SampleRate() int {
	if p := s.params.Load(); p != nil {
		return p.Codec.SampleRate()
	}
	return 0
}

// Start begins the outgoing stream on the engine clock and arms the RTP timeout. Calling
// it again, or after Close, does nothing. Start before Configure is allowed: the stream
// begins with the first Configure, and the timeout counts from the later of the two.
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
	s.removeFromClock = s.eng.clock.add(s)
}

// Digits delivers each DTMF digit the caller pressed, once, whatever route it took. It
// holds 64 digits of type-ahead; later ones are dropped and counted. It is never closed:
// select on it together with the call's context.
func (s *Session) Digits() <-chan byte { return s.digits }

// TimedOut is closed, once, when the caller's RTP stopped for longer than the configured
// timeout while the call was sendrecv (not on hold or inactive). The timeout counts from
// Start and from the latest Configure, so a caller that answers and takes a moment to
// send its first packet gets the full timeout.
func (s *Session) TimedOut() <-chan struct{} { return s.timedOut }

// InjectDigit delivers a digit that arrived by signalling (SIP INFO).
func (s *Session) InjectDigit(d byte) {
	s.eng.metrics.dtmfInfo.Inc()
	s.deliverDigit(d)
}

// deliverDigit never blocks: the receive loop calls it, and a flow that does not read
// its digits must not stall the caller's RTP.
func (s *Session) deliverDigit(d byte) {
	select {
	case s.digits <- d:
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("dtmf digit", "digit", string(d))
		}
	default:
		s.eng.metrics.dtmfDropped.Inc()
	}
}

// Play sends src to the caller and returns nil when it has been sent, ctx's error when
// ctx ends (the playback stops within one clock tick), ErrInterrupted when a newer Play
// replaced it, or ErrClosed when the session closes. Once Play has returned, src is
// never read again, so the caller may reuse it.
//
// Play before Start (or before Configure) waits: the audio begins when the stream does.
// With Send false (hold) or no remote address the audio is consumed at the real-time
// pace without being sent, so prompts and timers of a held call still take their time.
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
	}
}

// Close stops sending and receiving, ends any playback with ErrClosed and returns the
// port to the engine. It is idempotent and waits for the receive goroutine, so when it
// returns the session holds no goroutine, socket or port.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.cfgMu.Lock()
		s.closed.Store(true)
		s.cfgMu.Unlock()

		s.sendMu.Lock()
		if s.removeFromClock != nil {
			s.removeFromClock()
		}
		if pb := s.player; pb != nil {
			s.player = nil
			pb.finish(ErrClosed)
		}
		s.sendMu.Unlock()

		s.conn.Close()
		<-s.recvDone
		s.eng.release(s)
	})
	return nil
}
