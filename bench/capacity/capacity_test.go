package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestBucketize(t *testing.T) {
	top := `Showing nodes accounting for 6.31s, 100% of 6.31s total
      flat  flat%   sum%        cum   cum%
     3.00s 60.00% 60.00%      3.00s 60.00%  internal/runtime/syscall/linux.Syscall6
     1.00s 20.00% 80.00%      1.00s 20.00%  runtime.findRunnable
     0.50s 10.00% 90.00%      0.50s 10.00%  github.com/hotline-ivr/hotline/media/codec.EncodeMulaw (inline)
     0.50s 10.00%   100%      0.50s 10.00%  github.com/hotline-ivr/hotline/media.(*Session).handlePacket
`
	got := bucketize(top)
	want := map[string]float64{
		"system calls (socket reads and writes, futex, epoll)":              0.6,
		"Go scheduler and netpoller (park, wake, find work)":                0.2,
		"codecs and signal processing (media/codec, vad, dtmf, plc, audio)": 0.1,
		"media path (RTP, jitter buffer, sessions)":                         0.1,
	}
	if len(got) != len(want) {
		t.Fatalf("buckets %+v, want %v", got, want)
	}
	for _, b := range got {
		if want[b.Kind] != b.Share {
			t.Errorf("%s: %v, want %v", b.Kind, b.Share, want[b.Kind])
		}
	}
	if got[0].Share != 0.6 {
		t.Errorf("not sorted by share: %+v", got)
	}
}

func TestMetricSum(t *testing.T) {
	m := metricLines(strings.Split(`# HELP hotline_dtmf_digits_total x
hotline_dtmf_digits_total{source="inband"} 0
hotline_dtmf_digits_total{source="rfc4733"} 12
hotline_dtmf_digits_total_other 5
hotline_calls_ended_total{cause="engine_bye",direction="inbound",transport="udp"} 10
hotline_calls_ended_total{cause="caller_bye",direction="inbound",transport="udp"} 3
hotline_rtp_packets_received_total 810`, "\n"))
	for _, c := range []struct {
		name, label string
		want        float64
	}{
		{"hotline_dtmf_digits_total", "", 12},
		{"hotline_calls_ended_total", `cause="engine_bye"`, 10},
		{"hotline_calls_ended_total", "", 13},
		{"hotline_rtp_packets_received_total", "", 810},
		{"hotline_absent", "", 0},
	} {
		if got := m.sum(c.name, c.label); got != c.want {
			t.Errorf("sum(%s, %s) = %v, want %v", c.name, c.label, got, c.want)
		}
	}
}

func TestShareBudget(t *testing.T) {
	b := shareBudget(15*time.Minute, []string{"ceiling", "b", "a", "c", "a-cps", "b-cps", "sipp"}, true)
	var sum time.Duration
	for _, d := range b {
		sum += d
	}
	// The profile's share is kept back from the regimes.
	if sum >= 15*time.Minute || sum < 14*time.Minute {
		t.Errorf("regimes share %v of 15m", sum)
	}
	if b["b"] <= b["a-cps"] {
		t.Errorf("regime b gets %v, a-cps %v: the long IVR steps need more", b["b"], b["a-cps"])
	}
}

func TestSIPpLoad(t *testing.T) {
	sc := sippConfig{callsPer: 2}
	for _, c := range []struct {
		n     int
		rate  float64
		calls int
	}{{3, 5, 10}, {100, 10, 200}, {400, 40, 800}, {2000, 50, 4000}} {
		if rate, calls := sc.load(c.n); rate != c.rate || calls != c.calls {
			t.Errorf("load(%d) = %v/s, %d calls; want %v/s, %d", c.n, rate, calls, c.rate, c.calls)
		}
	}
}

// TestQuantileDelta checks the histogram quantile over the difference of two scrapes
// against values worked out by hand.
func TestQuantileDelta(t *testing.T) {
	before := metricLines{
		`h_bucket{le="0.001"} 10`, `h_bucket{le="0.01"} 10`, `h_bucket{le="+Inf"} 10`,
	}
	after := metricLines{
		`h_bucket{le="0.001"} 60`, `h_bucket{le="0.01"} 110`, `h_bucket{le="+Inf"} 110`,
		`other_bucket{le="0.001"} 5`,
	}
	// 100 new observations: 50 up to 1 ms, 50 between 1 and 10 ms.
	for _, c := range []struct{ q, want float64 }{{0.5, 0.001}, {0.25, 0.0005}, {0.99, 0.001 + 0.009*49/50}} {
		if got := quantileDelta(before, after, "h", c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q%.2f = %g, want %g", c.q, got, c.want)
		}
	}
	if got := quantileDelta(before, before, "h", 0.99); got != 0 {
		t.Errorf("nothing observed: %g, want 0", got)
	}
	past := metricLines{`h_bucket{le="0.001"} 10`, `h_bucket{le="0.01"} 10`, `h_bucket{le="+Inf"} 20`}
	if got := quantileDelta(before, past, "h", 0.99); got != 0.01 {
		t.Errorf("beyond the last bucket: %g, want 0.01", got)
	}
}
