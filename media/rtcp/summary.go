package rtcp

import (
	"log/slog"
	"math"
	"time"
)

// Summary is a call's media quality for its call record: what we received
// from the caller, what the caller reported receiving from us, the
// round-trip time, and an E-model MOS for each direction. Zero values mean
// "not measured" where the field says so.
type Summary struct {
	// PacketsSent and OctetsSent count our RTP packets and their payload
	// octets.
	PacketsSent uint64 `json:"packets_sent"`
	OctetsSent  uint64 `json:"octets_sent"`
	// PacketsReceived counts every RTP packet received from the caller.
	PacketsReceived uint64 `json:"packets_received"`
	// PacketsExpected and PacketsLost follow RFC 3550 A.3: expected from
	// the sequence numbers, lost = expected - received (negative when
	// duplicates outnumber losses).
	PacketsExpected uint64 `json:"packets_expected"`
	PacketsLost     int64  `json:"packets_lost"`
	// LossPercent is PacketsLost as a percentage of PacketsExpected.
	LossPercent float64 `json:"loss_percent"`
	// JitterMs is the interarrival jitter of the caller's stream at the
	// end of the call (RFC 3550 A.8), in milliseconds.
	JitterMs float64 `json:"jitter_ms"`
	// RTTMs is the mean round-trip time from RTCP in milliseconds; 0 when
	// HasRTT is false (the peer sent no report echoing our SR).
	RTTMs  float64 `json:"rtt_ms"`
	HasRTT bool    `json:"has_rtt"`
	// RFactor and MOS rate what we received (G.107); 0 when nothing was
	// received.
	RFactor float64 `json:"r_factor"`
	MOS     float64 `json:"mos"`
	// HasRemote says whether the peer reported on our stream; the Remote
	// fields are 0 otherwise. They describe what the caller heard.
	HasRemote         bool    `json:"has_remote"`
	RemoteLossPercent float64 `json:"remote_loss_percent"`
	RemoteJitterMs    float64 `json:"remote_jitter_ms"`
	RemoteRFactor     float64 `json:"remote_r_factor"`
	RemoteMOS         float64 `json:"remote_mos"`
}

// Summarize computes a call's Summary from its receiver and sender
// statistics (either may be nil). q supplies what the statistics cannot
// know: the codec, the jitter buffer's delay and the packetization; its
// RTT, LossPercent and BurstRatio are filled from the statistics. The
// caller's MOS assumes the caller's jitter buffer delays as much as ours,
// and random loss, since a report block carries no burst information.
//
// Call it once, when the call ends, from the goroutine that owns the
// statistics (or after it stopped).
func Summarize(rx *ReceiverStats, tx *SenderStats, q Quality) Summary {
	var s Summary
	q.RTT = 0
	if tx != nil {
		s.PacketsSent, s.OctetsSent = tx.Packets(), tx.Octets()
		if _, mean, _, ok := tx.RTT(); ok {
			s.RTTMs, s.HasRTT = ms(mean), true
			q.RTT = mean
		}
	}
	if rx != nil && rx.Packets() > 0 {
		s.PacketsReceived = rx.Packets()
		s.PacketsExpected = rx.Expected()
		s.PacketsLost = rx.Lost()
		s.LossPercent = rx.LossPercent()
		s.JitterMs = ms(rx.Jitter())
		in := q
		in.LossPercent, in.BurstRatio = s.LossPercent, rx.BurstRatio()
		s.RFactor = RFactor(in)
		s.MOS = MOS(s.RFactor)
	}
	if tx != nil {
		if _, ok := tx.RemoteReport(); ok {
			s.HasRemote = true
			s.RemoteLossPercent = tx.RemoteLossPercent()
			s.RemoteJitterMs = ms(tx.RemoteJitter())
			out := q
			out.LossPercent, out.BurstRatio = s.RemoteLossPercent, 1
			s.RemoteRFactor = RFactor(out)
			s.RemoteMOS = MOS(s.RemoteRFactor)
		}
	}
	return s
}

// ms converts d to milliseconds rounded to microseconds, for readable
// records.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// LogValue lets a call's "call ended" log line carry the summary as a
// group, quality=..., with the figures an operator looks at first.
func (s Summary) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Uint64("sent", s.PacketsSent),
		slog.Uint64("received", s.PacketsReceived),
		slog.Int64("lost", s.PacketsLost),
		slog.Float64("loss_pct", round2(s.LossPercent)),
		slog.Float64("jitter_ms", s.JitterMs),
		slog.Float64("mos", round2(s.MOS)),
	}
	if s.HasRTT {
		attrs = append(attrs, slog.Float64("rtt_ms", s.RTTMs))
	}
	if s.HasRemote {
		attrs = append(attrs,
			slog.Float64("remote_loss_pct", round2(s.RemoteLossPercent)),
			slog.Float64("remote_jitter_ms", s.RemoteJitterMs),
			slog.Float64("remote_mos", round2(s.RemoteMOS)))
	}
	return slog.GroupValue(attrs...)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
