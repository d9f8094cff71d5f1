package media

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtcp"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// housekeepEvery is how often the receive loop reports DTMF digits whose end packets
// were lost and checks the RTP timeout: on the first packet at or after the time, or,
// when none comes, when the socket's read deadline passes housekeepSlack later. The
// slack lets a call whose media flows housekeep on a packet instead of being woken by
// the deadline four times a second; an idle session wakes every housekeepEvery +
// housekeepSlack.
const (
	housekeepEvery = 250 * time.Millisecond
	housekeepSlack = 50 * time.Millisecond
)

// receiveBuffer holds any datagram an Ethernet path delivers unfragmented.
const receiveBuffer = 2048

// rxState is what the RTP socket's reader (receive goroutine or clock shard) owns: its telephone-event receiver and the
// Compound that multiplexed RTCP (RFC 5761) is parsed into. Tests and benchmarks make
// their own and call handlePacket directly.
type rxState struct {
	dtmf *dtmf.Receiver
	rtcp rtcp.Compound
}

func newRxState() *rxState { return &rxState{dtmf: dtmf.NewReceiver()} }

// reader reads the session's RTP socket for the receive loop (recv_linux.go: recvmmsg
// without a read per packet that only finds the queue empty; recv_other.go: one
// ReadFromUDPAddrPort per datagram). read hands what arrives to handlePacket and
// returns when housekeeping is due at next, or with the socket's error: its read
// deadline, a transient error, or net.ErrClosed once Close closed it.
type reader interface {
	read(next time.Time) error
}

// startReceiving starts the socket readers: the RTCP socket's goroutine and, unless the
// clock shard reads the RTP socket (raw), the RTP socket's. Close closes the sockets and
// waits for both (recvDone, rtcpDone).
func (s *Session) startReceiving() {
	if s.raw != nil {
		s.removeReceiver = s.shard.addReceiver(s)
	} else {
		go s.receive()
	}
	go s.receiveRTCP()
}

// attachRaw makes raw the session's RTP socket, read by a clock shard from now on
// (startReceiving adds the session to the shard's housekeeping too).
func (s *Session) attachRaw(raw *rawUDP) error {
	s.raw = raw
	s.rxs = newRxSlot(raw.fd, time.Now())
	s.shard = s.eng.clock.pick()
	s.direct.initRaw(raw)
	if s.eng.clock.batched() {
		s.txSlot.initRaw(raw)
	}
	return s.shard.rx.register(s)
}

// writeTo sends one packet from the RTP socket outside any batch. The caller holds
// sendMu (a raw socket's one direct header is shared by RTP and multiplexed RTCP).
func (s *Session) writeTo(pkt []byte, dst netip.AddrPort) error {
	if s.raw != nil {
		return s.direct.send(pkt, dst)
	}
	_, err := s.conn.WriteToUDPAddrPort(pkt, dst)
	return err
}

// receive is the session's only reader of the RTP socket. Its reader allocates its
// buffers once, and it exits when Close closes the socket.
func (s *Session) receive() {
	defer close(s.recvDone)
	st := newRxState()
	r, err := newReader(s, st)
	if err != nil {
		s.log.Error("RTP receive loop not started", "error", err)
		return
	}
	next := time.Now().Add(housekeepEvery)
	if err := s.conn.SetReadDeadline(next.Add(housekeepSlack)); err != nil {
		return
	}
	for {
		err := r.read(next)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// Otherwise housekeeping is due, the deadline passed or a transient error
		// such as an ICMP report came; either way the loop goes on.
		if now := time.Now(); !now.Before(next) {
			s.housekeep(now, st.dtmf)
			next = now.Add(housekeepEvery)
			if err := s.conn.SetReadDeadline(next.Add(housekeepSlack)); err != nil {
				return // closed
			}
		}
	}
}

// housekeep reports a digit whose end packets were all lost and closes TimedOut when
// the caller's RTP stopped. The timeout applies only while both directions are on: on
// hold or inactive, silence from the caller is expected.
func (s *Session) housekeep(now time.Time, rx *dtmf.Receiver) {
	if d, ok := rx.Expire(now); ok {
		s.digitFrom(d, dtmf.RouteRFC4733, now)
	}
	p := s.params.Load()
	timeout := s.eng.cfg.Timeout
	if p == nil || s.started.Load() == 0 || timeout <= 0 || !(p.canSend && p.Recv) {
		return // old-style hold (c=0.0.0.0) counts as hold too
	}
	last := max(s.lastRx.Load(), s.armed.Load())
	if time.Duration(s.eng.mono(now)-last) > timeout {
		s.timeout.Do(func() {
			s.eng.metrics.timeouts.Inc()
			s.log.Warn("RTP timeout: no media from caller", "timeout", timeout)
			close(s.timedOut)
		})
	}
}

// handlePacket accounts one datagram: RTCP goes to the RTCP handler, anything that is
// not acceptable RTP is counted as garbage by reason, telephone-events become digits,
// audio goes into the jitter buffer, and both update the RFC 3550 reception statistics.
// It must not allocate: it runs for every packet of every call.
func (s *Session) handlePacket(pkt []byte, from netip.AddrPort, now time.Time, st *rxState) {
	m := s.eng.metrics
	if rtp.IsRTCP(pkt) {
		s.handleRTCP(pkt, from, now, &st.rtcp, false)
		return
	}
	p := s.params.Load()
	if p != nil && p.srtp != nil {
		n, err := p.srtp.rx.UnprotectRTP(pkt)
		if err != nil {
			s.srtpDrop(err, false)
			return
		}
		pkt = pkt[:n]
	}
	var h rtp.Header
	payload, err := h.Unmarshal(pkt)
	if err != nil {
		switch err {
		case rtp.ErrShortPacket:
			s.garbage(m.garbageShort)
		case rtp.ErrBadVersion:
			s.garbage(m.garbageVersion)
		default:
			s.garbage(m.garbageBad)
		}
		return
	}
	if p == nil {
		s.garbage(m.beforeRemote)
		return
	}
	if s.tp == nil && !s.acceptSource(p, from) { // a carrier authenticated its peer
		s.garbage(m.foreignSource)
		return
	}
	var clockRate uint32 // 0: telephone-events count for loss, not for jitter
	switch {
	case int(h.PayloadType) == p.DTMFPayloadType:
		d, ok, err := st.dtmf.Push(h.SSRC, h.Timestamp, payload, now)
		if err != nil {
			s.garbage(m.dtmfBadPayload)
			return
		}
		if ok {
			s.digitFrom(d, dtmf.RouteRFC4733, now)
		}
	case h.PayloadType == p.PayloadType:
		p.play.jb.Push(h.SequenceNumber, h.Timestamp, h.SSRC, h.Marker, payload, now)
		clockRate = uint32(p.Codec.ClockRate())
	default:
		s.garbage(m.garbagePT)
		return
	}
	s.statsMu.Lock()
	// Telephone-events share the audio's sequence numbers when they share its SSRC,
	// so they count there; under an SSRC of their own they would restart the source.
	if clockRate != 0 || h.SSRC == s.rx.SSRC() {
		s.rx.Update(h.SSRC, h.SequenceNumber, h.Timestamp, now, clockRate)
	}
	s.statsMu.Unlock()
	s.lastRx.Store(s.eng.mono(now))
	s.stats.recv.Add(1)
	s.stats.bytesRecv.Add(uint64(len(pkt)))
	m.packetsReceived.Inc()
	m.bytesReceived.Add(float64(len(pkt)))
}

// garbage counts a refused datagram for the call record and the metric reason.
func (s *Session) garbage(reason prometheus.Counter) {
	s.stats.garbage.Add(1)
	reason.Inc()
}

// acceptSource applies the symmetric RTP policy (RFC 4961) to a packet's source address
// and latches the outgoing stream to it when the policy allows. Only the RTP
// socket's one reader calls it, so it is the only writer of s.latched.
func (s *Session) acceptSource(p *sessionParams, from netip.AddrPort) bool {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	l := s.latched.Load()
	current := l != nil && l.gen == p.gen
	switch s.eng.cfg.Latch {
	case LatchOff:
		return true
	case LatchAny:
		if current {
			return l.addr == from
		}
		s.latch(p, from)
		return true
	default: // LatchAuto
		if !s.trusted(p, from.Addr()) {
			return false
		}
		// Follow the trusted source, so a NAT that rebinds the caller's port mid-call
		// does not cut the audio; a change allocates, steady state does not.
		if !current || l.addr != from {
			s.latch(p, from)
		}
		return true
	}
}

// trusted reports whether ip is the SDP-announced address of the caller's RTP or RTCP,
// or the address the SIP signalling came from: the sources LatchAuto accepts.
func (s *Session) trusted(p *sessionParams, ip netip.Addr) bool {
	return ip == p.Remote.Addr() || ip == p.SignalingSource ||
		(p.RemoteRTCP.IsValid() && ip == p.RemoteRTCP.Addr())
}

func (s *Session) latch(p *sessionParams, to netip.AddrPort) {
	s.latched.Store(&latch{addr: to, gen: p.gen})
	s.eng.metrics.latches.Inc()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("symmetric RTP: sending to the caller's source address", "remote", to.String())
	}
}
