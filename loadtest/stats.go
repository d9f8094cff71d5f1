package loadtest

import (
	"math"
	"slices"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// rxStats follows one received RTP stream the way the caller's phone would judge it:
// packets lost (sequence gaps), interarrival jitter and the gaps between arrivals. It
// is a plain value owned by the goroutine that reads the socket; update never
// allocates, since it runs once per received packet for every call.
type rxStats struct {
	started  bool
	baseSeq  uint16 // sequence number of the first packet
	maxSeq   uint16 // highest sequence number seen, modulo 2^16
	cycles   uint32 // sequence wrap-arounds times 2^16 (RFC 3550 A.1)
	received uint64
	// lateOrDup counts packets whose sequence number is not above the highest seen:
	// reordered or duplicated on the way. They still count as received.
	lateOrDup uint64

	lastArrival int64  // ns since the Unix epoch, of the previous packet
	lastTS      uint32 // RTP timestamp of the previous packet
	jitter      float64
	maxJitter   float64
	maxGap      int64 // longest interval between two arrivals, ns
}

// update records a packet with sequence number seq and RTP timestamp ts that arrived
// at arrival (ns). It returns the interval since the previous arrival (0 for the
// first packet) for the caller's gap histogram.
//
// Jitter is the interarrival jitter of RFC 3550 A.8: D is the difference between the
// spacing of two arrivals and the spacing of their RTP timestamps, and the estimate
// moves 1/16 of the way towards |D| with every packet, which is what a receiver
// reports in RTCP and what the caller's jitter buffer has to absorb.
func (s *rxStats) update(seq uint16, ts uint32, arrival int64, clockRate uint32) (gap int64) {
	if !s.started {
		s.started = true
		s.baseSeq, s.maxSeq = seq, seq
		s.received = 1
		s.lastArrival, s.lastTS = arrival, ts
		return 0
	}
	s.received++
	if d := rtp.SeqDiff(s.maxSeq, seq); d > 0 {
		if seq < s.maxSeq {
			s.cycles += 1 << 16 // wrapped around (RFC 3550 A.1)
		}
		s.maxSeq = seq
	} else {
		s.lateOrDup++
	}
	gap = arrival - s.lastArrival
	if gap > s.maxGap {
		s.maxGap = gap
	}
	if clockRate > 0 {
		// int32 of the difference takes the shorter way round a timestamp wrap.
		tsNs := float64(int32(ts-s.lastTS)) * 1e9 / float64(clockRate)
		d := math.Abs(float64(gap) - tsNs)
		s.jitter += (d - s.jitter) / 16
		if s.jitter > s.maxJitter {
			s.maxJitter = s.jitter
		}
	}
	s.lastArrival, s.lastTS = arrival, ts
	return gap
}

// expected is how many packets the sender sent from the first to the highest
// sequence number seen (RFC 3550 A.3).
func (s *rxStats) expected() uint64 {
	if !s.started {
		return 0
	}
	extMax := uint64(s.cycles) + uint64(s.maxSeq)
	return extMax - uint64(s.baseSeq) + 1
}

// lost is expected minus received as RFC 3550 A.3 counts it: a late packet fills its
// gap, a duplicate can make the difference negative, which is clamped to 0.
func (s *rxStats) lost() uint64 {
	if e := s.expected(); e > s.received {
		return e - s.received
	}
	return 0
}

// Gap histogram: fixed 100 µs buckets up to one second, which resolves the 30 ms
// criterion finely and bounds memory (80 KiB per socket); longer gaps land in an
// overflow count and only the exact maximum remembers them.
const (
	gapBucketWidth = 100 * time.Microsecond
	gapBuckets     = int(time.Second / gapBucketWidth)
)

// histogram counts durations in fixed-width buckets. add never allocates, so the
// receive loop can feed it every packet.
type histogram struct {
	counts [gapBuckets]uint64
	over   uint64
	n      uint64
	sum    int64
	max    int64
}

func (h *histogram) add(d int64) {
	if d < 0 {
		d = 0
	}
	i := d / int64(gapBucketWidth)
	if i >= int64(gapBuckets) {
		h.over++
	} else {
		h.counts[i]++
	}
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i := range h.counts {
		h.counts[i] += o.counts[i]
	}
	h.over += o.over
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0..1) as the upper edge of the bucket that holds
// it, so a reported p99 of 20.1 ms means "99 % of gaps were under 20.1 ms"; the
// exact maximum for the top of the range. An empty histogram gives 0.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			return min(time.Duration(i+1)*gapBucketWidth, time.Duration(h.max))
		}
	}
	return time.Duration(h.max)
}

// mean is the average duration, 0 when empty.
func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / int64(h.n))
}

// percentile returns the q-quantile (0..1) of xs by the nearest-rank method (the
// smallest value with at least q of the samples at or below it), which never invents
// a value that was not measured. xs is sorted in place; empty gives 0.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	if !slices.IsSorted(xs) {
		slices.Sort(xs)
	}
	rank := int(math.Ceil(q * float64(len(xs))))
	rank = max(1, min(rank, len(xs)))
	return xs[rank-1]
}

// Dist summarizes a set of measurements in milliseconds.
type Dist struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// distOf summarizes xs (milliseconds); xs is sorted in place.
func distOf(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return Dist{
		N:    len(xs),
		Mean: round3(sum / float64(len(xs))),
		P50:  round3(percentile(xs, 0.50)),
		P90:  round3(percentile(xs, 0.90)),
		P99:  round3(percentile(xs, 0.99)),
		Max:  round3(xs[len(xs)-1]),
	}
}

// round3 keeps three decimals, enough for milliseconds in a report.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
