package loadtest

import (
	"math"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtcp"
)

const frame20 = int64(20 * time.Millisecond)

// feed sends packets with the given sequence numbers, 20 ms apart, timestamps 160
// apart (PCMU), into a fresh rxStats.
func feed(seqs ...uint16) *rxStats {
	var s rxStats
	for i, q := range seqs {
		s.update(q, uint32(q)*160, int64(i)*frame20, 8000)
	}
	return &s
}

func TestRxStatsLoss(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		seqs                      []uint16
		expected, lost, lateOrDup uint64
		wantReceived              uint64
	}{
		{name: "none lost", seqs: []uint16{1, 2, 3, 4}, expected: 4, lost: 0, wantReceived: 4},
		{name: "gaps", seqs: []uint16{1, 2, 3, 5, 6, 9}, expected: 9, lost: 3, wantReceived: 6},
		{name: "wrap-around", seqs: []uint16{65534, 65535, 0, 2}, expected: 5, lost: 1, wantReceived: 4},
		{name: "reordered fills its gap", seqs: []uint16{1, 2, 4, 3, 5}, expected: 5, lost: 0, lateOrDup: 1, wantReceived: 5},
		{name: "duplicate does not make loss negative", seqs: []uint16{1, 2, 2, 3}, expected: 3, lost: 0, lateOrDup: 1, wantReceived: 4},
		{name: "one packet", seqs: []uint16{7}, expected: 1, lost: 0, wantReceived: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := feed(tc.seqs...)
			if s.expected() != tc.expected || s.lost() != tc.lost || s.lateOrDup != tc.lateOrDup || s.received != tc.wantReceived {
				t.Errorf("expected %d lost %d late/dup %d received %d; want %d %d %d %d",
					s.expected(), s.lost(), s.lateOrDup, s.received, tc.expected, tc.lost, tc.lateOrDup, tc.wantReceived)
			}
		})
	}
	var empty rxStats
	if empty.expected() != 0 || empty.lost() != 0 {
		t.Errorf("empty stream: expected %d lost %d", empty.expected(), empty.lost())
	}
}

func TestRxStatsJitterPerfectPacing(t *testing.T) {
	s := feed(10, 11, 12, 13, 14, 15, 16, 17)
	if s.jitter != 0 || s.maxGap != frame20 {
		t.Errorf("perfect pacing: jitter %v, max gap %v; want 0 and 20ms", s.jitter, time.Duration(s.maxGap))
	}
}

// TestRxStatsJitterKnown: packets sent every 20 ms arrive alternately 10 ms and 30 ms
// apart, so |D| is 10 ms for every packet after the first and RFC 3550 A.8 gives
// J(n) = 10 ms × (1 − (15/16)^n) after n differences.
func TestRxStatsJitterKnown(t *testing.T) {
	var s rxStats
	var rr rtcp.ReceiverStats
	at := int64(0)
	base := time.Unix(1_700_000_000, 0)
	const n = 200
	for i := range n + 1 {
		if i > 0 {
			if i%2 == 1 {
				at += int64(10 * time.Millisecond)
			} else {
				at += int64(30 * time.Millisecond)
			}
		}
		seq, ts := uint16(1000+i), uint32(5000+160*i)
		s.update(seq, ts, at, 8000)
		rr.Update(0x1234, seq, ts, base.Add(time.Duration(at)), 8000)
		if i == 0 {
			continue
		}
		want := 10e6 * (1 - math.Pow(15.0/16, float64(i)))
		if math.Abs(s.jitter-want) > 1 {
			t.Fatalf("after %d packets jitter %.0fns, want %.0fns", i, s.jitter, want)
		}
	}
	// The engine's own RFC 3550 implementation (media/rtcp, integer timestamp units)
	// must agree to within one timestamp unit (125 µs at 8 kHz).
	if d := math.Abs(s.jitter - float64(rr.Jitter())); d > float64(125*time.Microsecond) {
		t.Errorf("jitter %v, media/rtcp says %v", time.Duration(s.jitter), rr.Jitter())
	}
	if s.maxGap != int64(30*time.Millisecond) {
		t.Errorf("max gap %v, want 30ms", time.Duration(s.maxGap))
	}
}

func TestHistogramQuantile(t *testing.T) {
	var h histogram
	for i := 1; i <= 100; i++ {
		h.add(int64(i) * int64(time.Millisecond))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.01, 1100 * time.Microsecond}, // bucket [1.0, 1.1) ms: its upper edge
		{0.50, 50100 * time.Microsecond},
		{0.99, 99100 * time.Microsecond},
		{1.00, 100 * time.Millisecond}, // the exact maximum caps the last bucket
	} {
		if got := h.quantile(tc.q); got != tc.want {
			t.Errorf("q%.2f = %v, want %v", tc.q, got, tc.want)
		}
	}
	if h.mean() != 50500*time.Microsecond {
		t.Errorf("mean %v, want 50.5ms", h.mean())
	}
	// Gaps beyond the buckets count, and only the maximum knows their size.
	h.add(int64(3 * time.Second))
	if got := h.quantile(1); got != 3*time.Second {
		t.Errorf("overflow max %v, want 3s", got)
	}
	var o histogram
	o.add(int64(5 * time.Millisecond))
	o.merge(&h)
	if o.n != 102 || o.max != int64(3*time.Second) || o.over != 1 {
		t.Errorf("merge: n %d max %v over %d", o.n, time.Duration(o.max), o.over)
	}
	var empty histogram
	if empty.quantile(0.99) != 0 || empty.mean() != 0 {
		t.Error("empty histogram must give 0")
	}
}

// TestPercentileNearestRank uses the textbook example of the nearest-rank method.
func TestPercentileNearestRank(t *testing.T) {
	xs := []float64{50, 15, 40, 20, 35}
	for _, tc := range []struct{ q, want float64 }{
		{0.05, 15}, {0.30, 20}, {0.40, 20}, {0.50, 35}, {0.99, 50}, {1, 50},
	} {
		if got := percentile(xs, tc.q); got != tc.want {
			t.Errorf("p%.0f = %g, want %g", 100*tc.q, got, tc.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("empty input must give 0")
	}
	d := distOf([]float64{4, 1, 3, 2})
	if d.N != 4 || d.Mean != 2.5 || d.P50 != 2 || d.P99 != 4 || d.Max != 4 {
		t.Errorf("distOf: %+v", d)
	}
	// 1,000 setup latencies of 1..1000 ms: p99 is the 990th.
	many := make([]float64, 1000)
	for i := range many {
		many[len(many)-1-i] = float64(i + 1)
	}
	if d := distOf(many); d.P99 != 990 || d.P50 != 500 || d.P90 != 900 {
		t.Errorf("distOf(1..1000): %+v", d)
	}
}

func TestNiceWidthAndBins(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{{0.3, 0.5}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {120, 200}, {0, 1}} {
		if got := niceWidth(tc.in); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("niceWidth(%g) = %g, want %g", tc.in, got, tc.want)
		}
	}
	bins := histogramBins([]float64{1, 2, 3, 4, 39.9}, 40)
	total := 0
	for _, b := range bins {
		total += b.Count
	}
	if total != 5 || bins[0].LoMs != 0 || bins[1].LoMs != 1 {
		t.Errorf("bins %+v", bins)
	}
}
