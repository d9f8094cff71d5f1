package media

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/hotline-ivr/hotline/media/rtcp"
)

// RTCP (RFC 3550 §6). Each session has an RTCP socket of its own, on a port chosen
// independently of the RTP port (announced with a=rtcp, RFC 3605), unless rtcp-mux
// (RFC 5761) puts the reports on the RTP socket. Reports are read by receiveRTCP (and by
// the RTP receive loop when multiplexed) and feed the reception statistics (the SR's
// NTP time, echoed as LSR) and the sender statistics (the caller's report on our
// stream: loss, jitter and round-trip time). Reports are sent from the clock tick when
// the rtcp.Scheduler says so, with no timer or goroutine per call, and once more with a
// BYE at Close. Quality totals the call.

// receiveRTCP is the only reader of the RTCP socket; it exits when Close closes it.
func (s *Session) receiveRTCP() {
	defer close(s.rtcpDone)
	buf := make([]byte, receiveBuffer)
	var in rtcp.Compound
	for {
		n, from, err := s.rtcpConn.ReadFromUDPAddrPort(buf)
		switch {
		case err == nil:
			s.handleRTCP(buf[:n], from, time.Now(), &in, true)
		case errors.Is(err, net.ErrClosed):
			return
		default:
			// A transient error such as an ICMP port unreachable for a report we sent.
		}
	}
}

// handleRTCP accounts one RTCP datagram from the RTCP socket (onRTCPPort) or multiplexed
// on the RTP socket. Malformed reports and reports from strangers are counted and
// dropped. It does not allocate.
func (s *Session) handleRTCP(pkt []byte, from netip.AddrPort, now time.Time, in *rtcp.Compound, onRTCPPort bool) {
	m := s.eng.metrics
	m.rtcpReceived.Inc()
	p := s.params.Load()
	if p != nil && p.srtp != nil {
		n, err := p.srtp.rx.UnprotectRTCP(pkt)
		if err != nil {
			s.srtpDrop(err, true)
			return
		}
		pkt = pkt[:n]
	}
	if err := in.Unmarshal(pkt); err != nil {
		switch {
		case errors.Is(err, rtcp.ErrTooShort):
			m.rtcpShort.Inc()
		case errors.Is(err, rtcp.ErrBadVersion):
			m.rtcpVersion.Inc()
		case errors.Is(err, rtcp.ErrBadLength):
			m.rtcpLength.Inc()
		case errors.Is(err, rtcp.ErrBadPadding):
			m.rtcpPadding.Inc()
		case errors.Is(err, rtcp.ErrBadFirstPacket):
			m.rtcpFirst.Inc()
		default:
			m.rtcpMalformed.Inc()
		}
		return
	}
	if p == nil {
		return // before the offer/answer: nothing to relate the report to
	}
	from = unmap(from)
	if s.tp == nil && s.eng.cfg.Latch == LatchAuto && !s.trusted(p, from.Addr()) {
		m.rtcpForeign.Inc()
		return
	}
	if onRTCPPort && s.tp == nil && s.eng.cfg.Latch != LatchOff {
		// Symmetric RTCP (RFC 4961): answer where the caller's reports come from, so
		// they cross the caller's NAT. A change allocates; steady state does not.
		if l := s.rtcpLatched.Load(); l == nil || l.gen != p.gen || l.addr != from {
			s.rtcpLatched.Store(&latch{addr: from, gen: p.gen})
		}
	}
	if in.Report == rtcp.TypeSenderReport {
		// Only the caller's stream's SR is echoed (LSR/DLSR): a report meant for
		// another call (a peer that ignores a=rtcp and sends to our RTP port + 1,
		// behind the same trunk address) must not displace it.
		s.statsMu.Lock()
		if src := s.rx.SSRC(); src == 0 || src == in.SenderReport.SSRC {
			s.rx.ReceivedSenderReport(in.SenderReport.SSRC, in.SenderReport.NTPTime, now)
		}
		s.statsMu.Unlock()
	}
	if b, ok := in.ReportAbout(s.ssrc); ok {
		s.sendMu.Lock()
		rtt, haveRTT := s.tx.ReceivedReport(b, now)
		s.sendMu.Unlock()
		if haveRTT && s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("RTCP round trip", "rtt", rtt)
		}
	}
	if in.HasGoodbye && s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("RTCP BYE from the caller")
	}
}

// maybeReport sends a report when the scheduler says one is due (RFC 3550 §6.2); the
// caller holds sendMu. It runs on every tick: a comparison, usually.
func (s *Session) maybeReport(p *sessionParams, now time.Time) {
	// The scheduler is an object of its own, one more cache line for every call's
	// tick; rtcpNext, among the fields the tick touches anyway, says that nearly
	// every tick comes before its next report.
	if s.sched == nil || now.Before(s.rtcpNext) {
		return
	}
	due := s.sched.Due(now)
	s.rtcpNext = s.sched.Next()
	if !due {
		return
	}
	s.sendReport(p, now, false)
	s.countLoss(p)
}

// sendReport builds and sends our compound packet (RFC 3550 §6.1): an SR if we sent RTP
// since the report before last, else an RR, each with the block about the caller's
// stream once it is valid, then SDES with our CNAME, then BYE if bye. The caller holds
// sendMu. It does not allocate.
func (s *Session) sendReport(p *sessionParams, now time.Time, bye bool) {
	out := &s.rtcpOut
	if !p.canRTCP {
		// Nowhere to send (hold with 0.0.0.0, no address yet); FillSenderReport still
		// keeps its history in step with the reports we would have sent.
		s.tx.FillSenderReport(&out.SenderReport, now)
		return
	}
	s.statsMu.Lock()
	block, haveBlock := s.rx.ReceptionReport(now)
	s.statsMu.Unlock()
	if s.tx.FillSenderReport(&out.SenderReport, now) {
		out.Report = rtcp.TypeSenderReport
		if haveBlock {
			_ = out.SenderReport.AddReport(block) // one block of 31: cannot be full
		}
	} else {
		out.Report = rtcp.TypeReceiverReport
		out.ReceiverReport.SSRC, out.ReceiverReport.ReportCount = s.ssrc, 0
		if haveBlock {
			_ = out.ReceiverReport.AddReport(block)
		}
	}
	out.HasSDES = true
	out.SourceDescription.ChunkCount = 1
	out.SourceDescription.Chunks[0] = rtcp.SDESChunk{Source: s.ssrc, CNAME: s.cname}
	out.HasGoodbye = bye
	if bye {
		out.Goodbye.Sources[0], out.Goodbye.SourceCount, out.Goodbye.Reason = s.ssrc, 1, nil
	}
	n, err := out.MarshalTo(s.rtcpBuf)
	m := s.eng.metrics
	if err == nil && p.srtp != nil && s.tp == nil {
		n, err = p.srtp.tx.ProtectRTCP(s.rtcpBuf, n) // RFC 3711 §3.4, in place
	}
	if err != nil {
		m.rtcpSendErrors.Inc()
		return
	}
	if s.tp != nil {
		// canRTCP is set only when the carrier takes reports (RTCPWriter).
		if err := s.tp.rtcpOut.WriteRTCP(s.rtcpBuf[:n]); err != nil {
			m.rtcpSendErrors.Inc()
			return
		}
		if s.sched != nil {
			s.sched.Sent(n)
		}
		m.rtcpSent.Inc()
		return
	}
	if p.RTCPMux {
		dst := p.Remote
		if l := s.latched.Load(); l != nil && l.gen == p.gen {
			dst = l.addr
		}
		err = s.writeTo(s.rtcpBuf[:n], dst)
	} else {
		dst := p.rtcpRemote
		if l := s.rtcpLatched.Load(); l != nil && l.gen == p.gen {
			dst = l.addr
		}
		_, err = s.rtcpConn.WriteToUDPAddrPort(s.rtcpBuf[:n], dst)
	}
	if err != nil {
		m.rtcpSendErrors.Inc()
		return
	}
	if s.sched != nil {
		s.sched.Sent(n)
	}
	m.rtcpSent.Inc()
}

// countLoss adds what the call lost and dropped late since the last count to
// hotline_rtp_lost_packets_total and hotline_rtp_late_packets_total; the caller holds
// sendMu. It runs at each report and at Close, so the counters follow long calls.
func (s *Session) countLoss(p *sessionParams) {
	m := s.eng.metrics
	s.statsMu.Lock()
	lost := s.rx.Lost()
	s.statsMu.Unlock()
	if lost > s.reportedLost {
		m.lostPackets.Add(float64(lost - s.reportedLost))
		s.reportedLost = lost
	}
	if pl := p.play; pl != nil {
		if late := pl.jb.Stats().Late; late > pl.reportedLate {
			m.latePackets.Add(float64(late - pl.reportedLate))
			pl.reportedLate = late
		}
	}
}

// Quality is the call's media quality for its call record: packets, loss %, jitter and
// round-trip time from RTCP, and an E-model MOS for what we received and, when the
// caller reported on our stream, for what the caller heard. After Close it is the
// final figure, computed once.
func (s *Session) Quality() rtcp.Summary {
	if q := s.final.Load(); q != nil {
		return *q
	}
	return s.summarize()
}

// summarize computes the Summary from the statistics; it takes sendMu and statsMu.
func (s *Session) summarize() rtcp.Summary {
	var q rtcp.Quality
	if p := s.params.Load(); p != nil {
		c, ok := rtcp.LookupCodec(p.Codec.Name(), true)
		if !ok {
			c, _ = rtcp.LookupCodec("PCMU", true) // an unknown codec rated as G.711 with PLC
		}
		q.Codec, q.Packetization = c, p.Ptime
		q.JitterBuffer = p.play.jb.Stats().Delay
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return rtcp.Summarize(&s.rx, &s.tx, q)
}
