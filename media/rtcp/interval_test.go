package rtcp

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// comp is e - 3/2 as a variable, so the expected intervals below are
// computed in floating point like the code's, not as exact constants.
var comp = math.E - 1.5

func TestDeterministicInterval(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    IntervalParams
		want time.Duration
	}{
		{"two-party G.711", IntervalParams{Members: 2, Senders: 2, Bandwidth: 545, AvgSize: 112}, 5 * time.Second},
		{"initial", IntervalParams{Members: 2, Senders: 2, Bandwidth: 545, AvgSize: 112, Initial: true}, 2500 * time.Millisecond},
		{"no bandwidth given", IntervalParams{AvgSize: 112}, 5 * time.Second},
		{"members below 2", IntervalParams{Members: -3, Senders: 9, Bandwidth: 10, AvgSize: 100}, 20 * time.Second},
		// 100 octets * 2 members / 10 octet/s = 20 s.
		{"bandwidth bound", IntervalParams{Members: 2, Senders: 2, Bandwidth: 10, AvgSize: 100}, 20 * time.Second},
		// One sender of ten: senders share 1/4 of 100 octet/s, n = 1: 4 s.
		{"sender share", IntervalParams{Members: 10, Senders: 1, WeSent: true, Bandwidth: 100, AvgSize: 100, Min: time.Second}, 4 * time.Second},
		// Receivers share 3/4 among 9: 100*9/75 = 12 s.
		{"receiver share", IntervalParams{Members: 10, Senders: 1, Bandwidth: 100, AvgSize: 100, Min: time.Second}, 12 * time.Second},
		{"custom minimum", IntervalParams{Min: time.Second, Initial: true}, 500 * time.Millisecond},
	} {
		if got := DeterministicInterval(tc.p); got != tc.want {
			t.Errorf("%s: Td = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestIntervalBounds: T is Td times [0.5, 1.5) divided by e - 3/2.
func TestIntervalBounds(t *testing.T) {
	p := IntervalParams{Members: 2, Senders: 2, Bandwidth: 545, AvgSize: 112}
	lo := time.Duration(float64(5*time.Second) * 0.5 / comp)
	hi := time.Duration(float64(5*time.Second) * 1.5 / comp)
	if got := Interval(p, 0); got != lo || got.Round(time.Millisecond) != 2052*time.Millisecond {
		t.Errorf("u=0: %v, want %v (2.052 s)", got, lo)
	}
	if got := Interval(p, 1); got > hi || got < hi-time.Microsecond || got.Round(time.Millisecond) != 6156*time.Millisecond {
		t.Errorf("u=1: %v, want %v (6.156 s)", got, hi)
	}
	if Interval(p, -1) != lo || Interval(p, math.NaN()) < lo {
		t.Error("u out of range not clamped")
	}
	p.Initial = true
	if got := Interval(p, 0); got != lo/2 {
		t.Errorf("initial u=0: %v, want %v", got, lo/2)
	}
	p.Initial = false
	rng := rand.New(rand.NewPCG(3, 4))
	var sum time.Duration
	const n = 10000
	for range n {
		got := Interval(p, rng.Float64())
		if got < lo || got > hi {
			t.Fatalf("interval %v outside [%v, %v]", got, lo, hi)
		}
		sum += got
	}
	mean := sum / n
	want := time.Duration(float64(5*time.Second) / comp) // 4.104 s
	if (mean - want).Abs() > 50*time.Millisecond {
		t.Errorf("mean interval %v, want %v", mean, want)
	}
}

func TestScheduler(t *testing.T) {
	s, err := NewScheduler(WithRandom(func() float64 { return 0.5 }))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Next().IsZero() {
		t.Error("Next before start")
	}
	// Poll every 20 ms for 30 s: reports at 2.052 s, then every 4.104 s.
	var due []time.Duration
	for tick := time.Duration(0); tick <= 30*time.Second; tick += 20 * time.Millisecond {
		if s.Due(t0.Add(tick)) {
			due = append(due, tick)
			s.Sent(84)
		}
	}
	first := time.Duration(float64(2500*time.Millisecond) / comp)
	step := time.Duration(float64(5*time.Second) / comp)
	if len(due) != 7 {
		t.Fatalf("%d reports in 30 s (%v), want 7", len(due), due)
	}
	// Each report is due at the first tick at or after its time; the next
	// interval counts from that tick.
	want := first
	for i, d := range due {
		if d < want || d >= want+20*time.Millisecond {
			t.Errorf("report %d at %v, want in [%v, %v)", i, d, want, want+20*time.Millisecond)
		}
		want = d + step
	}
	// Sent keeps the average size: 84 + 28 octets after many reports.
	for range 200 {
		s.Sent(84)
	}
	if math.Abs(s.params.AvgSize-112) > 0.5 {
		t.Errorf("average RTCP size %v, want 112", s.params.AvgSize)
	}
	// A late poll delays only that report: the next counts from it.
	late := t0.Add(time.Hour)
	if !s.Due(late) || s.Due(late.Add(step-time.Millisecond)) || !s.Due(late.Add(step)) {
		t.Error("late poll")
	}
}

func TestSchedulerOptions(t *testing.T) {
	for name, opt := range map[string]SchedulerOption{
		"negative bandwidth": WithBandwidth(-1),
		"NaN bandwidth":      WithBandwidth(math.NaN()),
		"zero minimum":       WithMinInterval(0),
		"nil random":         WithRandom(nil),
	} {
		if _, err := NewScheduler(opt); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	s, err := NewScheduler(WithMinInterval(time.Second), WithBandwidth(545), WithRandom(func() float64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	s.Due(t0)
	if got := s.Next().Sub(t0); got != time.Duration(float64(500*time.Millisecond)*0.5/comp) {
		t.Errorf("first report after %v", got)
	}
}
