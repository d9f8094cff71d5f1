package rtcp

import "time"

// srHistory is how many of our recent SRs SenderStats remembers to match the
// LSR a peer echoes: a peer reports at most a few intervals late.
const srHistory = 8

// sentSR is one SR we sent: the compact NTP time that comes back as LSR and
// the local (monotonic) time it was sent.
type sentSR struct {
	lsr uint32
	at  time.Time
}

// SenderStats keeps the statistics of our outgoing RTP stream: the packet
// and octet counts and the RTP/NTP timestamp pairing of the SR
// (RFC 3550 §6.4.1), the SRs recently sent so that a peer's report block
// yields the round-trip time, and the peer's latest report on our stream:
// how the caller receives us.
//
// The zero value is ready to use. Update runs once per sent packet and never
// allocates. A SenderStats is not safe for concurrent use (see the package
// documentation for who owns it).
type SenderStats struct {
	ssrc      uint32
	started   bool
	firstSeq  uint16
	packets   uint64
	octets    uint64
	clockRate uint32
	lastRTP   uint32
	lastAt    time.Time

	// Packet counts at the report before last and at the last report,
	// for the "sent since the report before last" rule of §6.4.
	atReport [2]uint64

	sent     [srHistory]sentSR
	sentNext int

	remote     ReceptionReport
	haveRemote bool

	rttLast, rttSum, rttMax time.Duration
	rttCount                int64
}

// Update accounts one RTP packet we sent: our SSRC, its sequence number and
// RTP timestamp, its payload length in octets (headers and padding
// excluded, as the SR's octet count wants), the time the packet's media is
// due (the media clock's tick) and the payload's clock rate. The last
// timestamp and time anchor the RTP time of the next SR.
//
// A new SSRC restarts the counts, as RFC 3550 §6.4.1 requires of a source
// that changes its SSRC.
func (s *SenderStats) Update(ssrc uint32, seq uint16, rtpTime uint32, payloadOctets int, at time.Time, clockRate uint32) {
	if !s.started || ssrc != s.ssrc {
		*s = SenderStats{ssrc: ssrc, started: true, firstSeq: seq}
	}
	s.packets++
	s.octets += uint64(max(payloadOctets, 0))
	s.lastRTP = rtpTime
	s.lastAt = at
	s.clockRate = clockRate
}

// FillSenderReport prepares the next report at now. It must be called for
// every report we send, SR or RR, because it also keeps the count history
// that decides between them.
//
// It returns true when we are a sender, having sent RTP since the report
// before last (RFC 3550 §6.4): sr then holds our SSRC, the NTP time of now,
// the RTP timestamp of the same instant, extrapolated from the last packet
// at the stream's clock rate (§6.4.1: not the timestamp of any packet), and
// the packet and octet counts modulo 2^32. Its report blocks are emptied for
// the caller to add. The SR is remembered to compute the round-trip time
// when a peer echoes it. It returns false when an RR should be sent
// instead; sr is then left alone.
func (s *SenderStats) FillSenderReport(sr *SenderReport, now time.Time) bool {
	sender := s.started && s.packets > s.atReport[0]
	s.atReport[0], s.atReport[1] = s.atReport[1], s.packets
	if !sender {
		return false
	}
	ntp := NTPTime(now)
	d := now.Sub(s.lastAt)
	units := int64(d/time.Second)*int64(s.clockRate) +
		int64(d%time.Second)*int64(s.clockRate)/int64(time.Second)
	*sr = SenderReport{
		SSRC:        s.ssrc,
		NTPTime:     ntp,
		RTPTime:     s.lastRTP + uint32(units),
		PacketCount: uint32(s.packets),
		OctetCount:  uint32(s.octets),
	}
	s.sent[s.sentNext] = sentSR{lsr: MiddleNTP(ntp), at: now}
	s.sentNext = (s.sentNext + 1) % srHistory
	return true
}

// ReceivedReport records a peer's report block about our stream (its SSRC
// is ours), received at arrival, and returns the round-trip time it yields
// (RFC 3550 §6.4.1): arrival minus the time we sent the SR it echoes as LSR,
// minus the DLSR the peer held it. The time the SR was sent is looked up
// among the SRs we remember, so both ends of the subtraction come from our
// monotonic clock and a bogus or stale LSR is rejected rather than turned
// into a wild RTT. A result made slightly negative by the peer's coarse
// DLSR clock counts as zero. ok is false when the block echoes no SR of
// ours (LSR 0: the peer has not received one yet) or the result is
// negative beyond that.
func (s *SenderStats) ReceivedReport(r ReceptionReport, arrival time.Time) (rtt time.Duration, ok bool) {
	s.remote, s.haveRemote = r, true
	if r.LastSenderReport == 0 {
		return 0, false
	}
	for _, sr := range s.sent {
		if sr.lsr != r.LastSenderReport || sr.at.IsZero() {
			continue
		}
		rtt = arrival.Sub(sr.at) - compactToDuration(r.Delay)
		if rtt, ok = clampRTT(rtt); !ok {
			return 0, false
		}
		s.rttLast = rtt
		s.rttSum += rtt
		s.rttMax = max(s.rttMax, rtt)
		s.rttCount++
		return rtt, true
	}
	return 0, false
}

// maxDelayError is how much a peer may overstate DLSR. Peers measure DLSR
// with their own timers, often in milliseconds (libre, under baresip, does:
// testdata/baresip.txt yields RTTs of about -0.1 ms on loopback) or in
// 15.6 ms ticks (Windows), so on a fast path A - LSR - DLSR can come out
// slightly negative.
const maxDelayError = 16 * time.Millisecond

// clampRTT takes a round-trip time that a peer's coarse DLSR made slightly
// negative as zero, and rejects one that is negative beyond that (a stale or
// foreign LSR, a stepped wallclock).
func clampRTT(rtt time.Duration) (time.Duration, bool) {
	switch {
	case rtt >= 0:
		return rtt, true
	case rtt >= -maxDelayError:
		return 0, true
	}
	return 0, false
}

// RoundTripTime computes the round-trip time of RFC 3550 §6.4.1 from a
// report block's LSR and DLSR and the wallclock arrival time of the report,
// all in the compact NTP format: A - LSR - DLSR. It is for callers that did
// not keep the SRs they sent (SenderStats.ReceivedReport is more robust);
// it trusts the local wallclock not to have stepped since the SR left. ok is
// false when lsr is 0 or the result is negative beyond what a peer's coarse
// DLSR explains.
func RoundTripTime(lsr, dlsr uint32, arrival time.Time) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	a := MiddleNTP(NTPTime(arrival))
	rtt := time.Duration(int32(a-lsr-dlsr)) * time.Second / 65536
	return clampRTT(rtt)
}

// SSRC returns our stream's SSRC, 0 before the first packet.
func (s *SenderStats) SSRC() uint32 { return s.ssrc }

// Packets returns the RTP packets sent on the current SSRC.
func (s *SenderStats) Packets() uint64 { return s.packets }

// Octets returns the payload octets sent on the current SSRC.
func (s *SenderStats) Octets() uint64 { return s.octets }

// RTT returns the latest, mean and largest round-trip times measured, and
// whether any was.
func (s *SenderStats) RTT() (last, mean, largest time.Duration, ok bool) {
	if s.rttCount == 0 {
		return 0, 0, 0, false
	}
	return s.rttLast, s.rttSum / time.Duration(s.rttCount), s.rttMax, true
}

// RemoteReport returns the latest report block the peer sent about our
// stream, if any.
func (s *SenderStats) RemoteReport() (ReceptionReport, bool) { return s.remote, s.haveRemote }

// RemoteLossPercent returns the peer's cumulative loss of our stream as a
// percentage of the packets it expected, in [0, 100]: what the caller
// hears. Expected is counted from our first sequence number to the
// extended highest one the peer reports.
func (s *SenderStats) RemoteLossPercent() float64 {
	if !s.haveRemote || s.remote.TotalLost <= 0 {
		return 0
	}
	expected := int64(s.remote.LastSequence) - int64(s.firstSeq) + 1
	if expected <= 0 {
		expected = int64(s.packets)
	}
	if expected <= 0 {
		return 0
	}
	return min(100*float64(s.remote.TotalLost)/float64(expected), 100)
}

// RemoteJitter returns the interarrival jitter of our stream as the peer
// measures it, converted from timestamp units at our clock rate.
func (s *SenderStats) RemoteJitter() time.Duration {
	if !s.haveRemote || s.clockRate == 0 {
		return 0
	}
	return time.Duration(uint64(s.remote.Jitter) * uint64(time.Second) / uint64(s.clockRate))
}
