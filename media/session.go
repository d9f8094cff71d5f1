package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

var (
	// ErrClosed is returned by Play when the session closed (the call hung up) before the
	// audio finished.
	ErrClosed = errors.New("media: session closed")
	// ErrInterrupted is returned by Play when a newer Play replaced this one.
	ErrInterrupted = errors.New("media: playback replaced")
)

// Source yields the audio a session plays, one frame at a time, as mono PCM at the
// session's SampleRate. Read fills frame and returns how many samples it wrote; io.EOF
// (with or without samples) ends the playback. Read runs on the media clock goroutine and
// must not block.
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
	// Ptime is the packet duration (default 20 ms).
	Ptime time.Duration
	// Send and Recv are our directions: both for sendrecv; Recv alone while the caller
	// holds us (they sent sendonly); neither for inactive.
	Send, Recv bool
	// SignalingSource is the IP the SIP request came from, trusted by the latch policy.
	SignalingSource netip.Addr
}

type sessionParams struct {
	Params
	samplesPerFrame int    // PCM samples per frame at Codec.SampleRate()
	tsPerFrame      uint32 // RTP timestamp units per frame at Codec.ClockRate()
}

// Stats are a session's packet counts, kept for the call record.
type Stats struct {
	PacketsSent, PacketsReceived uint64
	BytesSent, BytesReceived     uint64
	Garbage                      uint64
}

type playback struct {
	src  Source
	done chan error
	once sync.Once
}

func (pb *playback) finish(err error) { pb.once.Do(func() { pb.done <- err }) }

// Session is one call leg's RTP stream: a socket, the negotiated codec, an outgoing
// stream paced by the engine's clock (silence when nothing plays, so the caller never
// hears a gap), and a receive loop that detects DTMF and notices when RTP stops.
type Session struct {
	eng   *Engine
	conn  *net.UDPConn
	port  int
	local netip.AddrPort
	log   *slog.Logger

	params  atomic.Pointer[sessionParams]
	latched atomic.Pointer[netip.AddrPort]
	player  atomic.Pointer[playback]
	closed  atomic.Bool

	// send state, owned by the clock goroutine (sendMu guards against Start/Configure)
	sendMu   sync.Mutex
	enc      codec.Encoder
	encCodec codec.Codec
	frame    []int16
	pkt      []byte
	seq      uint16
	ts       uint32
	ssrc     uint32
	marker   bool
	nextDue  time.Time
	silence  []byte

	removeFromClock func()
	started         atomic.Int64 // unix nanos of Start, 0 before
	lastRx          atomic.Int64 // unix nanos of the last accepted packet

	digits   chan byte
	timedOut chan struct{}
	timeout  sync.Once
	recvDone chan struct{}

	stats struct {
		sent, recv, bytesSent, bytesRecv, garbage atomic.Uint64
	}
	closeOnce sync.Once
}

func newSession(e *Engine, conn *net.UDPConn, port int, log *slog.Logger) *Session {
	s := &Session{
		eng:      e,
		conn:     conn,
		port:     port,
		local:    netip.AddrPortFrom(e.cfg.BindIP, uint16(port)),
		log:      log,
		pkt:      make([]byte, 1500),
		ssrc:     rand.Uint32(),
		seq:      uint16(rand.Uint32()),
		ts:       rand.Uint32(),
		marker:   true,
		digits:   make(chan byte, 64),
		timedOut: make(chan struct{}),
		recvDone: make(chan struct{}),
	}
	return s
}

// LocalAddr is the address the RTP socket is bound to.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// Configure applies the negotiated media. It may be called again when a re-INVITE moves
// the remote address, changes the codec or puts the call on hold.
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
	sp := &sessionParams{
		Params:          p,
		samplesPerFrame: int(int64(p.Codec.SampleRate()) * int64(p.Ptime) / int64(time.Second)),
		tsPerFrame:      uint32(int64(p.Codec.ClockRate()) * int64(p.Ptime) / int64(time.Second)),
	}
	old := s.params.Swap(sp)
	if old == nil || old.Remote != p.Remote {
		s.latched.Store(nil) // a new remote address starts latching afresh
	}
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
// it again does nothing.
func (s *Session) Start() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.removeFromClock != nil || s.closed.Load() {
		return
	}
	now := time.Now()
	s.started.Store(now.UnixNano())
	s.nextDue = time.Time{}
	s.removeFromClock = s.eng.clock.add(s)
}

// Digits delivers each DTMF digit the caller pressed, once, whatever route it took.
func (s *Session) Digits() <-chan byte { return s.digits }

// TimedOut is closed when the caller's RTP stopped for longer than the configured
// timeout while the call was not on hold.
func (s *Session) TimedOut() <-chan struct{} { return s.timedOut }

// InjectDigit delivers a digit that arrived by signalling (SIP INFO).
func (s *Session) InjectDigit(d byte) {
	s.eng.metrics.dtmfInfo.Inc()
	s.deliverDigit(d)
}

func (s *Session) deliverDigit(d byte) {
	select {
	case s.digits <- d:
		s.log.Debug("dtmf digit", "digit", string(d))
	default:
		s.eng.metrics.dtmfDropped.Inc()
	}
}

// Play sends src to the caller and returns when it has been sent, when ctx ends (the
// playback stops within one clock tick) or when the session closes. Only one playback
// runs at a time: a new Play replaces the current one.
func (s *Session) Play(ctx context.Context, src Source) error {
	if s.closed.Load() {
		return ErrClosed
	}
	pb := &playback{src: src, done: make(chan error, 1)}
	if old := s.player.Swap(pb); old != nil {
		old.finish(ErrInterrupted)
	}
	if s.closed.Load() { // Close may have run between the check and the swap
		if s.player.CompareAndSwap(pb, nil) {
			pb.finish(ErrClosed)
		}
	}
	select {
	case err := <-pb.done:
		return err
	case <-ctx.Done():
		s.player.CompareAndSwap(pb, nil)
		pb.finish(ctx.Err())
		return ctx.Err()
	}
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
// port to the engine. It is idempotent and waits for the receive goroutine.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.sendMu.Lock()
		if s.removeFromClock != nil {
			s.removeFromClock()
		}
		s.sendMu.Unlock()
		s.conn.Close()
		<-s.recvDone
		if pb := s.player.Swap(nil); pb != nil {
			pb.finish(ErrClosed)
		}
		s.eng.release(s)
	})
	return nil
}

// target is where outgoing RTP goes: the latched source, else the SDP address.
func (s *Session) target(p *sessionParams) netip.AddrPort {
	if l := s.latched.Load(); l != nil {
		return *l
	}
	return p.Remote
}

const (
	maxCatchUpFrames = 5                      // a late tick sends at most this many frames at once
	resyncAfter      = 200 * time.Millisecond // further behind than this, skip instead of burst
)

// tick emits every frame due at now. It runs on the clock goroutine.
func (s *Session) tick(now time.Time) {
	if s.closed.Load() {
		return
	}
	p := s.params.Load()
	if p == nil {
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.nextDue.IsZero() {
		s.nextDue = now
	}
	if behind := now.Sub(s.nextDue); behind > resyncAfter {
		skipped := int(behind / p.Ptime)
		s.ts += uint32(skipped) * p.tsPerFrame
		s.nextDue = s.nextDue.Add(time.Duration(skipped) * p.Ptime)
		s.eng.metrics.lateTicks.Inc()
	}
	for i := 0; i < maxCatchUpFrames && !s.nextDue.After(now); i++ {
		s.emit(p)
		s.nextDue = s.nextDue.Add(p.Ptime)
	}
}

// emit produces one frame: the player's audio or silence, sent when our direction allows.
func (s *Session) emit(p *sessionParams) {
	if cap(s.frame) < p.samplesPerFrame {
		s.frame = make([]int16, p.samplesPerFrame) // only when ptime or codec grows
	}
	frame := s.frame[:p.samplesPerFrame]
	n := 0
	if pb := s.player.Load(); pb != nil {
		var err error
		n, err = pb.src.Read(frame)
		if err != nil {
			if s.player.CompareAndSwap(pb, nil) {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				pb.finish(err)
			}
		}
	}
	clear(frame[n:])
	defer func() { s.ts += p.tsPerFrame }()
	dst := s.target(p)
	if !p.Send || !dst.IsValid() || dst.Addr().IsUnspecified() || dst.Port() == 0 {
		return
	}
	if s.encCodec != p.Codec {
		enc, err := p.Codec.NewEncoder()
		if err != nil {
			s.eng.metrics.sendErrors.Inc()
			return
		}
		s.enc, s.encCodec = enc, p.Codec
	}
	plen, err := s.enc.Encode(s.pkt[rtp.HeaderSize:], frame)
	if err != nil {
		s.eng.metrics.sendErrors.Inc()
		return
	}
	h := rtp.Header{
		Version:        2,
		Marker:         s.marker,
		PayloadType:    p.PayloadType,
		SequenceNumber: s.seq,
		Timestamp:      s.ts,
		SSRC:           s.ssrc,
	}
	if _, err := h.MarshalTo(s.pkt); err != nil {
		s.eng.metrics.sendErrors.Inc()
		return
	}
	size := rtp.HeaderSize + plen
	if _, err := s.conn.WriteToUDPAddrPort(s.pkt[:size], dst); err != nil {
		s.eng.metrics.sendErrors.Inc()
		return
	}
	s.marker = false
	s.seq++
	s.stats.sent.Add(1)
	s.stats.bytesSent.Add(uint64(size))
	s.eng.metrics.packetsSent.Inc()
	s.eng.metrics.bytesSent.Add(float64(size))
}

const (
	housekeepEvery = 250 * time.Millisecond
	readDeadline   = 500 * time.Millisecond
)

func (s *Session) startReceiving() { go s.receive() }

// receive is the session's only reader of the socket. It allocates its buffers once.
func (s *Session) receive() {
	defer close(s.recvDone)
	buf := make([]byte, 2048)
	rx := dtmf.NewReceiver()
	var lastHousekeep time.Time
	for {
		now := time.Now()
		if now.Sub(lastHousekeep) >= housekeepEvery {
			s.housekeep(now, rx)
			lastHousekeep = now
			if err := s.conn.SetReadDeadline(now.Add(readDeadline)); err != nil {
				return
			}
		}
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // deadline (housekeeping above) or a transient ICMP error
		}
		s.handlePacket(buf[:n], from, time.Now(), rx)
	}
}

func (s *Session) housekeep(now time.Time, rx *dtmf.Receiver) {
	if d, ok := rx.Expire(now); ok {
		s.eng.metrics.dtmfRFC4733.Inc()
		s.deliverDigit(d)
	}
	p := s.params.Load()
	started := s.started.Load()
	timeout := s.eng.cfg.Timeout
	if p == nil || started == 0 || timeout <= 0 || !(p.Send && p.Recv) {
		return // on hold or inactive: silence from the caller is expected
	}
	last := max(s.lastRx.Load(), started)
	if now.Sub(time.Unix(0, last)) > timeout {
		s.timeout.Do(func() {
			s.eng.metrics.timeouts.Inc()
			s.log.Warn("RTP timeout: no media from caller", "timeout", timeout)
			close(s.timedOut)
		})
	}
}

func (s *Session) handlePacket(pkt []byte, from netip.AddrPort, now time.Time, rx *dtmf.Receiver) {
	m := s.eng.metrics
	if rtp.IsRTCP(pkt) {
		return // RTCP multiplexed on the RTP port (RFC 5761): reports are handled elsewhere
	}
	var h rtp.Header
	payload, err := h.Unmarshal(pkt)
	if err != nil {
		s.stats.garbage.Add(1)
		if errors.Is(err, rtp.ErrShortPacket) {
			m.garbageShort.Inc()
		} else {
			m.garbageVersion.Inc()
		}
		return
	}
	p := s.params.Load()
	if p == nil {
		m.beforeRemote.Inc()
		return
	}
	if !s.acceptSource(p, from) {
		s.stats.garbage.Add(1)
		m.foreignSource.Inc()
		return
	}
	switch {
	case int(h.PayloadType) == p.DTMFPayloadType:
		d, ok, err := rx.Push(h.SSRC, h.Timestamp, payload, now)
		if err != nil {
			m.dtmfBadPayload.Inc()
			return
		}
		if ok {
			m.dtmfRFC4733.Inc()
			s.deliverDigit(d)
		}
	case h.PayloadType == p.PayloadType:
	default:
		s.stats.garbage.Add(1)
		m.garbagePT.Inc()
		return
	}
	s.lastRx.Store(now.UnixNano())
	s.stats.recv.Add(1)
	s.stats.bytesRecv.Add(uint64(len(pkt)))
	m.packetsReceived.Inc()
	m.bytesReceived.Add(float64(len(pkt)))
}

// acceptSource applies the symmetric RTP policy to a packet's source address and latches
// the outgoing stream to it when the policy allows.
func (s *Session) acceptSource(p *sessionParams, from netip.AddrPort) bool {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	switch s.eng.cfg.Latch {
	case LatchOff:
		return true
	case LatchAny:
		if l := s.latched.Load(); l != nil {
			return *l == from
		}
		s.latch(from)
		return true
	default: // LatchAuto
		ip := from.Addr()
		if ip != p.Remote.Addr().Unmap() && ip != p.SignalingSource.Unmap() {
			return false
		}
		if l := s.latched.Load(); l == nil || *l != from {
			s.latch(from)
		}
		return true
	}
}

func (s *Session) latch(to netip.AddrPort) {
	s.latched.Store(&to)
	s.log.Debug("symmetric RTP: sending to the caller's source address", "remote", to.String())
}
