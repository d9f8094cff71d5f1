package rtcp

import (
	"math"
	"strings"
	"time"
)

// The E-model (ITU-T G.107) rates a call's transmission quality as R, 0-100,
// by subtracting impairments from the rating of a perfect narrowband
// connection:
//
//	R = Ro - Is - Id - Ie,eff + A
//
// This is the reduced form commonly used for VoIP monitoring (Cole and
// Rosenbluth, "Voice over IP performance monitoring", ACM SIGCOMM CCR 31(2),
// 2001; ITU-T G.107 §7 with default values): Ro - Is is 93.2, the rating of
// G.107's default connection; the advantage factor A is 0 (wired
// telephony); echo is taken as cancelled; Id depends on the one-way
// mouth-to-ear delay alone and Ie,eff on the codec and the packet loss.
// Every codec is rated on the narrowband scale, so a MOS from a G.722 call
// and one from a G.711 call compare directly in call records.

// defaultR is Ro - Is with G.107's default parameters (G.107 §7.7): the R of
// a G.711 connection with no delay, loss or echo.
const defaultR = 93.2

// Codec holds the codec-dependent inputs of the E-model. The values are
// narrowband-scale planning values; see LookupCodec for where each comes
// from.
type Codec struct {
	// Name identifies the codec and its loss concealment in logs.
	Name string
	// Ie is the equipment impairment factor: the codec's own distortion
	// without loss (ITU-T G.113 Appendix I).
	Ie float64
	// Bpl is the packet-loss robustness factor: the larger, the better
	// the codec and its concealment hide lost packets (ITU-T G.113
	// Appendix I, Table I.3).
	Bpl float64
}

// Planning values for the codecs hotline negotiates.
//
//   - G.711 (PCMU, PCMA): Ie = 0 and, for random loss, Bpl = 25.1 with the
//     packet loss concealment of G.711 Appendix I or Bpl = 4.3 without
//     concealment (ITU-T G.113 Appendix I, Tables I.1 and I.3).
//   - G.722 at 64 kbit/s: ITU-T G.113 Appendix IV rates wideband codecs on
//     the wideband scale (Ie,wb). Mitel's MiVoice MX-ONE planning guide
//     gives G.722 at 64 kbit/s Ie,wb = 14 and maps it to the narrowband
//     scale as Ie = Ie,wb - 15 = -1. A negative impairment would rate G.722
//     above this scale's ceiling, so Ie = 0: on the narrowband scale G.722
//     is at least as good as G.711. We found no published Bpl for G.722;
//     as a waveform codec with G.711 Appendix I-class concealment (G.722
//     Appendices III and IV, 10 ms frames) it is given G.711's 25.1, and
//     4.3 without concealment.
//   - Opus (RFC 6716): no ITU-T values exist. Ie = 0 for the same reason
//     as G.722: at the 24-40 kbit/s of a VoIP call Opus is wideband or
//     better. Bpl = 20 after Alahmadi, Pocta and Melvin, "An adaptive
//     bitrate switching algorithm for speech applications in context of
//     WebRTC", ACM TOMM 17(4), 2021, whose fits for wideband Opus at
//     11-15 kbit/s span Bpl 17.6-24.8 under random loss; 20 sits inside
//     that range, below G.711 with concealment. (Their super-wideband
//     fits, about 10-12 at 22-40 kbit/s, belong to another rating scale
//     and are not used.) Opus's own concealment is always on; its in-band
//     FEC is not credited, so the estimate errs low when FEC is used.
const (
	bplG711PLC   = 25.1
	bplG711NoPLC = 4.3
	bplOpus      = 20
)

// LookupCodec returns the E-model values for an SDP encoding name (PCMU,
// PCMA, G722, opus; case-insensitive), with or without packet loss
// concealment in the receiver that plays the stream. The values and their
// sources are listed above. Unknown names return false; a caller can then
// fill a Codec from ITU-T G.113 Appendix I itself.
func LookupCodec(encodingName string, plc bool) (Codec, bool) {
	switch strings.ToUpper(encodingName) {
	case "PCMU", "PCMA":
		if plc {
			return Codec{Name: "G.711+PLC", Ie: 0, Bpl: bplG711PLC}, true
		}
		return Codec{Name: "G.711", Ie: 0, Bpl: bplG711NoPLC}, true
	case "G722":
		if plc {
			return Codec{Name: "G.722+PLC", Ie: 0, Bpl: bplG711PLC}, true
		}
		return Codec{Name: "G.722", Ie: 0, Bpl: bplG711NoPLC}, true
	case "OPUS":
		return Codec{Name: "Opus", Ie: 0, Bpl: bplOpus}, true
	}
	return Codec{}, false
}

// Quality holds the measured inputs of the E-model for one direction of a
// call.
type Quality struct {
	// Codec is the codec of the direction rated.
	Codec Codec
	// RTT is the round-trip time from RTCP (SenderStats.RTT); half of it
	// is taken as the one-way network delay.
	RTT time.Duration
	// JitterBuffer is the playout delay of the receiver's jitter buffer.
	JitterBuffer time.Duration
	// Packetization is the frame duration (ptime): a sample waits that
	// long to be sent.
	Packetization time.Duration
	// LossPercent is the percentage of packets lost or discarded late,
	// 0-100 (ReceiverStats.LossPercent).
	LossPercent float64
	// BurstRatio is G.107's BurstR: 1 for random loss, above 1 for bursty
	// (ReceiverStats.BurstRatio). Zero or less is taken as 1.
	BurstRatio float64
}

// OneWayDelay returns the mouth-to-ear delay that Id is computed from: half
// the round-trip time, plus the jitter buffer and the packetization.
func (q Quality) OneWayDelay() time.Duration {
	return q.RTT/2 + q.JitterBuffer + q.Packetization
}

// RFactor returns the transmission rating R, 0-93.2 on G.107's narrowband
// scale: 93.2 - Id - Ie,eff. Above 90 users are very satisfied, 80-90
// satisfied, 70-80 some are dissatisfied, 60-70 many, below 60 nearly all
// (ITU-T G.109 Table 1).
func RFactor(q Quality) float64 {
	d := float64(q.OneWayDelay()) / float64(time.Millisecond)
	r := defaultR - delayImpairment(d) - effectiveEquipmentImpairment(q)
	if math.IsNaN(r) {
		return 0
	}
	return min(max(r, 0), defaultR)
}

// delayImpairment is Id for a one-way delay of d milliseconds with echo
// cancelled: Cole and Rosenbluth's fit of G.107's Id (defaults, perfect echo
// control), Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3), where the step H
// marks where delay starts to break conversational interactivity.
func delayImpairment(d float64) float64 {
	d = max(d, 0)
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	return id
}

// effectiveEquipmentImpairment is Ie,eff of ITU-T G.107 §7.4 (eq. 7-29):
// Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl).
func effectiveEquipmentImpairment(q Quality) float64 {
	ppl := min(max(q.LossPercent, 0), 100)
	burst := q.BurstRatio
	if !(burst >= 1) { // also NaN
		burst = 1
	}
	ie, bpl := q.Codec.Ie, q.Codec.Bpl
	if ppl == 0 {
		return ie
	}
	return ie + (95-ie)*ppl/(ppl/burst+bpl)
}

// MOS maps a rating R to the estimated mean opinion score MOS_CQE of ITU-T
// G.107 Annex B (eq. B-4):
//
//	R <= 0:      MOS = 1
//	0 < R < 100: MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6
//	R >= 100:    MOS = 4.5
//
// The cubic dips to 0.99 for R below 6.5; MOS returns 1 there so that it
// never decreases as R grows. R = 93.2, a perfect G.711 call, gives 4.41.
func MOS(r float64) float64 {
	switch {
	case math.IsNaN(r) || r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return max(1+0.035*r+r*(r-60)*(100-r)*7e-6, 1)
}
