package rtcp

import (
	"math"
	"time"
)

// Constants of the sequence validation of RFC 3550 Appendix A.1.
const (
	// maxDropout is the largest forward jump of the sequence number that
	// still counts as loss rather than a restarted source.
	maxDropout = 3000
	// maxMisorder is how far back a sequence number may be and still count
	// as a late (reordered or duplicate) packet of the same stream.
	maxMisorder = 100
	// minSequential is how many packets in sequence a new source must
	// send before it is valid (the probation).
	minSequential = 2
	seqMod        = 1 << 16
)

// maxTransitJump is the largest change of relative transit time, in
// seconds, that counts as jitter. A larger one is a timestamp discontinuity
// (a sender that restarts its clock, a peer that switches streams behind one
// SSRC), not network delay variation; the jitter estimate re-anchors
// instead of absorbing a spike that would take minutes to decay.
const maxTransitJump = 3

// ReceiverStats keeps the reception statistics of one incoming RTP stream as
// RFC 3550 Appendix A specifies them: the extended highest sequence number
// with wrap-around cycles and the probation of new sources (A.1), expected,
// received and lost packets and the fraction lost per report interval
// (A.3), the interarrival jitter (A.8), and the last SR received for LSR and
// DLSR (§6.4.1). From them it builds the report block we send about the
// stream, and it totals the call for the Summary.
//
// The zero value is ready to use. Update runs once per received packet and
// never allocates. A ReceiverStats is not safe for concurrent use: the
// goroutine that reads the socket owns it (see the package documentation).
type ReceiverStats struct {
	ssrc    uint32
	started bool
	// packets is every packet handed to Update, a call total kept across SSRC
	// changes; it sits here, beside what Update reads first, so a packet touches
	// two cache lines of the struct rather than three.
	packets uint64

	// RFC 3550 A.1 source state.
	maxSeq        uint16
	cycles        uint32 // shifted count of sequence number cycles
	baseSeq       uint32
	badSeq        uint32
	probation     int
	received      uint32 // packets counted since the source became valid
	expectedPrior uint32
	receivedPrior uint32

	// Loss bursts seen as gaps in the sequence, for the E-model's BurstR.
	bursts, burstLost uint32

	// A.8 jitter, in timestamp units of clockRate.
	clockRate   uint32
	epoch       time.Time // arrival time origin for the transit computation
	transit     uint32
	haveTransit bool
	jitter      float64

	// §6.4.1: the last SR received, and from which source.
	lastSR     uint32
	lastSRAt   time.Time
	lastSRSSRC uint32

	// Call totals, kept across SSRC changes (and packets, above).
	pastExpected, pastLost    int64 // totals of earlier sources
	pastBursts, pastBurstLost uint64
}

// Update accounts one received RTP packet of the stream: its SSRC, sequence
// number and RTP timestamp, the time it arrived, and the clock rate of its
// payload type. Pass clockRate 0 for packets whose timestamp is not their
// sampling instant, such as RFC 4733 telephone-events (which carry the
// event's start time): they count for sequence and loss but not for jitter.
//
// A new SSRC starts a new source (its predecessor's counts stay in the
// call totals). A ReceiverStats follows one source at a time: a peer that
// interleaves SSRCs, as gateways that send telephone-events under their own
// SSRC do, needs one ReceiverStats per SSRC. It returns false while the source is on probation
// (RFC 3550 A.1: two packets in sequence make it valid) and for the first
// packet after a jump of the sequence number, which is taken as a restart
// only if the next packet confirms it. The jitter buffer may drop those
// packets; they are counted either way.
func (s *ReceiverStats) Update(ssrc uint32, seq uint16, rtpTime uint32, arrival time.Time, clockRate uint32) bool {
	s.packets++
	if !s.started || ssrc != s.ssrc {
		s.newSource(ssrc, seq)
	}
	valid := s.updateSeq(seq)
	if clockRate != 0 {
		s.updateJitter(rtpTime, arrival, clockRate)
	}
	return valid
}

// newSource starts the statistics of a source heard for the first time,
// keeping the totals of the previous one (RFC 3550 A.1, first packet).
func (s *ReceiverStats) newSource(ssrc uint32, seq uint16) {
	if s.started {
		exp, lost := s.expectedLost()
		s.pastExpected += int64(exp)
		s.pastLost += lost
		s.pastBursts += uint64(s.bursts)
		s.pastBurstLost += uint64(s.burstLost)
	}
	*s = ReceiverStats{
		ssrc:          ssrc,
		started:       true,
		packets:       s.packets,
		lastSR:        s.lastSR,
		lastSRAt:      s.lastSRAt,
		lastSRSSRC:    s.lastSRSSRC,
		pastExpected:  s.pastExpected,
		pastLost:      s.pastLost,
		pastBursts:    s.pastBursts,
		pastBurstLost: s.pastBurstLost,
	}
	s.initSeq(seq)
	s.maxSeq = seq - 1
	s.probation = minSequential
}

// initSeq is init_seq of RFC 3550 A.1.
func (s *ReceiverStats) initSeq(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = seqMod + 1 // so seq == badSeq is false
	s.cycles = 0
	s.received = 0
	s.receivedPrior = 0
	s.expectedPrior = 0
	s.bursts, s.burstLost = 0, 0
	s.haveTransit = false
}

// updateSeq is update_seq of RFC 3550 A.1, with loss bursts counted.
func (s *ReceiverStats) updateSeq(seq uint16) bool {
	udelta := seq - s.maxSeq
	switch {
	case s.probation > 0:
		// The source is valid after minSequential packets in sequence.
		if seq == s.maxSeq+1 {
			s.probation--
			s.maxSeq = seq
			if s.probation == 0 {
				s.initSeq(seq)
				s.received++
				return true
			}
		} else {
			s.probation = minSequential - 1
			s.maxSeq = seq
		}
		return false
	case udelta < maxDropout:
		// In order, with a permissible gap.
		if seq < s.maxSeq {
			s.cycles += seqMod // the sequence number wrapped
		}
		if udelta > 1 {
			s.bursts++
			s.burstLost += uint32(udelta - 1)
		}
		s.maxSeq = seq
	case udelta <= seqMod-maxMisorder:
		// A very large jump: a restarted sender, or garbage. Two
		// sequential packets after the jump make it a restart.
		if uint32(seq) != s.badSeq {
			s.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return false
		}
		s.initSeq(seq)
	default:
		// A duplicate or reordered packet: counted, max unchanged.
	}
	s.received++
	return true
}

// updateJitter is the interarrival jitter estimate of RFC 3550 A.8:
// J += (|D| - J) / 16, where D is the change of relative transit time
// (arrival in timestamp units minus RTP timestamp) between packets in
// arrival order. Only differences matter, so arrival times are counted from
// the source's first packet, which keeps the conversion exact and free of
// overflow, and the uint32 arithmetic follows the RTP timestamp's wrap.
func (s *ReceiverStats) updateJitter(rtpTime uint32, arrival time.Time, clockRate uint32) {
	if clockRate != s.clockRate {
		if s.clockRate != 0 {
			// A new payload type: keep the estimate, in the new units.
			s.jitter *= float64(clockRate) / float64(s.clockRate)
		}
		s.clockRate = clockRate
		s.haveTransit = false
	}
	if s.epoch.IsZero() {
		s.epoch = arrival
	}
	d := arrival.Sub(s.epoch)
	units := int64(d/time.Second)*int64(clockRate) + int64(d%time.Second)*int64(clockRate)/int64(time.Second)
	transit := uint32(units) - rtpTime
	if !s.haveTransit {
		s.transit, s.haveTransit = transit, true
		return
	}
	delta := int64(int32(transit - s.transit))
	s.transit = transit
	if delta < 0 {
		delta = -delta
	}
	if delta > maxTransitJump*int64(clockRate) {
		return // a timestamp discontinuity: re-anchored above
	}
	s.jitter += (float64(delta) - s.jitter) / 16
}

// ReceivedSenderReport records an SR: the SSRC that sent it, its NTP
// timestamp and when it arrived. The next report block about that source
// echoes the NTP time's middle bits as LSR with the time held since as
// DLSR, from which the peer computes the round-trip time (RFC 3550 §6.4.1).
// An SR may arrive before the source's first RTP packet; it is kept for
// the block once the source is valid.
func (s *ReceiverStats) ReceivedSenderReport(ssrc uint32, ntpTime uint64, arrival time.Time) {
	s.lastSR = MiddleNTP(ntpTime)
	s.lastSRAt = arrival
	s.lastSRSSRC = ssrc
}

// expectedLost returns the packets expected and lost since the source became
// valid (RFC 3550 A.3). Lost is negative when duplicates outnumber losses.
func (s *ReceiverStats) expectedLost() (uint32, int64) {
	if !s.started || s.probation > 0 {
		return 0, 0
	}
	extendedMax := s.cycles + uint32(s.maxSeq)
	expected := extendedMax - s.baseSeq + 1
	return expected, int64(expected) - int64(s.received)
}

// ReceptionReport builds the report block about this stream for the SR or
// RR sent at now, and starts a new report interval: the fraction lost covers
// the packets since the previous call (RFC 3550 A.3). It returns false, and
// no block, until a source is valid: a report then carries no block for it.
func (s *ReceiverStats) ReceptionReport(now time.Time) (ReceptionReport, bool) {
	if !s.started || s.probation > 0 {
		return ReceptionReport{}, false
	}
	expected, lost := s.expectedLost()
	expectedInterval := expected - s.expectedPrior
	s.expectedPrior = expected
	receivedInterval := s.received - s.receivedPrior
	s.receivedPrior = s.received
	lostInterval := int64(expectedInterval) - int64(receivedInterval)
	var fraction uint8
	if expectedInterval != 0 && lostInterval > 0 {
		fraction = uint8(min(lostInterval<<8/int64(expectedInterval), 255))
	}
	r := ReceptionReport{
		SSRC:         s.ssrc,
		FractionLost: fraction,
		TotalLost:    int32(min(max(lost, minTotalLost), maxTotalLost)),
		LastSequence: s.cycles + uint32(s.maxSeq),
		Jitter:       uint32(min(s.jitter, math.MaxUint32)),
	}
	if !s.lastSRAt.IsZero() && s.lastSRSSRC == s.ssrc {
		r.LastSenderReport = s.lastSR
		r.Delay = durationToCompact(now.Sub(s.lastSRAt))
	}
	return r, true
}

// SSRC returns the current source, 0 before the first packet.
func (s *ReceiverStats) SSRC() uint32 { return s.ssrc }

// Packets returns every packet handed to Update, including those on
// probation and duplicates: the "packets received" of a call record.
func (s *ReceiverStats) Packets() uint64 { return s.packets }

// Expected returns the packets expected over the call, from the sequence
// numbers of every source (RFC 3550 A.3).
func (s *ReceiverStats) Expected() uint64 {
	exp, _ := s.expectedLost()
	return uint64(s.pastExpected) + uint64(exp)
}

// Lost returns the packets lost over the call, negative when duplicates
// outnumber losses (RFC 3550 A.3).
func (s *ReceiverStats) Lost() int64 {
	_, lost := s.expectedLost()
	return s.pastLost + lost
}

// LossPercent returns Lost as a percentage of Expected, in [0, 100], the
// packet-loss input of the E-model.
func (s *ReceiverStats) LossPercent() float64 {
	exp, lost := s.Expected(), s.Lost()
	if exp == 0 || lost <= 0 {
		return 0
	}
	return min(100*float64(lost)/float64(exp), 100)
}

// Jitter returns the current interarrival jitter estimate as a duration.
func (s *ReceiverStats) Jitter() time.Duration {
	if s.clockRate == 0 {
		return 0
	}
	return time.Duration(s.jitter / float64(s.clockRate) * float64(time.Second))
}

// BurstRatio estimates the E-model's BurstR (ITU-T G.107 §7.4): the mean
// length of the loss bursts observed, divided by the mean length expected
// if the same loss rate were random, 1/(1-p). It is 1 for random loss and
// grows with burstiness; values below 1 (loss more spread out than random)
// are reported as 1. Bursts are sequence gaps, so a reordered packet may
// count as a burst that later filled in; at the loss rates that matter this
// overestimates only slightly.
func (s *ReceiverStats) BurstRatio() float64 {
	bursts := s.pastBursts + uint64(s.bursts)
	lostInBursts := s.pastBurstLost + uint64(s.burstLost)
	exp := s.Expected()
	if bursts == 0 || exp == 0 {
		return 1
	}
	p := float64(lostInBursts) / float64(exp)
	if p >= 1 {
		return 1
	}
	return max(float64(lostInBursts)/float64(bursts)*(1-p), 1)
}
