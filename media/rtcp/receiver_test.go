package rtcp

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// stream feeds s a G.711 stream (8 kHz, 20 ms packets) of n packets from
// sequence number seq0, skipping the packets for which drop returns true;
// packet i is sent at i*20 ms and arrives delay(i) later.
func stream(s *ReceiverStats, seq0 uint16, first, n int, drop func(int) bool, delay func(int) time.Duration) {
	for i := first; i < first+n; i++ {
		if drop != nil && drop(i) {
			continue
		}
		var d time.Duration
		if delay != nil {
			d = delay(i)
		}
		arrival := t0.Add(time.Duration(i)*20*time.Millisecond + d)
		s.Update(0x5eed, seq0+uint16(i), 1000+uint32(i)*160, arrival, 8000)
	}
}

func TestProbation(t *testing.T) {
	var s ReceiverStats
	if s.Update(1, 100, 0, t0, 8000) {
		t.Error("first packet valid, want probation")
	}
	if _, ok := s.ReceptionReport(t0); ok {
		t.Error("report block during probation")
	}
	// Out of sequence during probation restarts it.
	if s.Update(1, 200, 0, t0, 8000) {
		t.Error("out-of-sequence packet ended probation")
	}
	if !s.Update(1, 201, 160, t0, 8000) {
		t.Error("second sequential packet did not end probation")
	}
	r, ok := s.ReceptionReport(t0)
	if !ok || r.SSRC != 1 || r.LastSequence != 201 || r.TotalLost != 0 {
		t.Errorf("after probation: %+v %v", r, ok)
	}
	if s.Packets() != 3 || s.Expected() != 1 || s.Lost() != 0 {
		t.Errorf("packets %d expected %d lost %d", s.Packets(), s.Expected(), s.Lost())
	}
}

// TestCycles crosses the 65535 -> 0 wrap twice, with a packet reordered
// across the wrap.
func TestCycles(t *testing.T) {
	var s ReceiverStats
	seq := uint16(65530)
	for range 10 { // 65530 .. 3
		s.Update(7, seq, 0, t0, 0)
		seq++
	}
	r, _ := s.ReceptionReport(t0)
	if r.LastSequence != 1<<16+3 {
		t.Fatalf("extended highest %#x, want %#x", r.LastSequence, 1<<16+3)
	}
	// 65535 again (a duplicate arriving late, across the wrap): no cycle.
	s.Update(7, 65535, 0, t0, 0)
	for range 65536 {
		s.Update(7, seq, 0, t0, 0)
		seq++
	}
	r, _ = s.ReceptionReport(t0)
	if r.LastSequence != 2<<16+3 {
		t.Fatalf("extended highest %#x, want %#x", r.LastSequence, 2<<16+3)
	}
	// Expected from the base (65531, the second packet) to 2<<16+3.
	if want := uint64(2<<16 + 3 - 65531 + 1); s.Expected() != want || s.Lost() != -1 {
		t.Errorf("expected %d lost %d, want %d and -1 (one duplicate)", s.Expected(), s.Lost(), want)
	}
}

func TestSequenceJump(t *testing.T) {
	var s ReceiverStats
	stream(&s, 0, 0, 10, nil, nil) // 0..9
	if s.Update(0x5eed, 20000, 0, t0, 0) {
		t.Error("a jump of 19990 accepted at once")
	}
	if !s.Update(0x5eed, 20001, 0, t0, 0) {
		t.Error("two sequential packets after a jump did not resync")
	}
	r, _ := s.ReceptionReport(t0)
	if r.LastSequence != 20001 || r.TotalLost != 0 {
		t.Errorf("after resync %+v", r)
	}
	// A gap below the dropout limit counts as loss.
	s.Update(0x5eed, 20101, 0, t0, 0)
	r, _ = s.ReceptionReport(t0)
	if r.TotalLost != 99 {
		t.Errorf("lost %d after a gap of 99, want 99", r.TotalLost)
	}
}

// TestFractionLost checks A.3 interval arithmetic with hand-computed values.
func TestFractionLost(t *testing.T) {
	var s ReceiverStats
	drop := func(i int) bool { return i > 0 && i%20 == 0 } // 20, 40, 60, 80
	stream(&s, 1000, 0, 100, drop, nil)
	// Probation ends at packet 1, so the interval covers 1..99: expected 99,
	// received 95, lost 4; fraction = 4*256/99 = 10 (10.34 truncated).
	r, _ := s.ReceptionReport(t0)
	if r.FractionLost != 10 || r.TotalLost != 4 {
		t.Errorf("interval 1: fraction %d lost %d, want 10 and 4", r.FractionLost, r.TotalLost)
	}
	// Interval 2: 100..199, every tenth lost: 10 of 100, fraction 25.
	stream(&s, 1000, 100, 100, func(i int) bool { return i%10 == 0 }, nil)
	r, _ = s.ReceptionReport(t0)
	if r.FractionLost != 25 || r.TotalLost != 14 || r.LastSequence != 1199 {
		t.Errorf("interval 2: %+v, want fraction 25, lost 14, highest 1199", r)
	}
	// Interval 3: nothing new, fraction 0.
	r, _ = s.ReceptionReport(t0)
	if r.FractionLost != 0 || r.TotalLost != 14 {
		t.Errorf("empty interval: %+v", r)
	}
	// Interval 4: duplicates only; lost goes down, fraction stays 0.
	s.Update(0x5eed, 1199, 0, t0, 0)
	s.Update(0x5eed, 1199, 0, t0, 0)
	r, _ = s.ReceptionReport(t0)
	if r.FractionLost != 0 || r.TotalLost != 12 {
		t.Errorf("duplicates: %+v", r)
	}
	if got := s.LossPercent(); math.Abs(got-12.0/199*100) > 1e-9 {
		t.Errorf("LossPercent %v", got)
	}
}

// TestJitterAlternating: arrivals alternate between on time and 4 ms late,
// so |D| is 4 ms = 32 units for every packet and J converges to 32 units:
// after n packets J = 32 (1 - (15/16)^n).
func TestJitterAlternating(t *testing.T) {
	var s ReceiverStats
	stream(&s, 0, 0, 500, nil, func(i int) time.Duration { return time.Duration(i%2) * 4 * time.Millisecond })
	r, _ := s.ReceptionReport(t0)
	if r.Jitter < 31 || r.Jitter > 32 {
		t.Errorf("jitter %d units, want 32 (4 ms at 8 kHz)", r.Jitter)
	}
	if j := s.Jitter(); j < 3900*time.Microsecond || j > 4*time.Millisecond {
		t.Errorf("Jitter() = %v, want 4ms", j)
	}
	// Constant delay: jitter decays by 15/16 per packet from 32.
	var c ReceiverStats
	stream(&c, 0, 0, 500, nil, func(int) time.Duration { return 80 * time.Millisecond })
	if c.Jitter() != 0 {
		t.Errorf("constant delay: jitter %v", c.Jitter())
	}
}

// TestJitterUniform: delays uniform in [0, 30 ms] give E|D| = 30/3 = 10 ms,
// the mean of |X-Y| for independent uniforms, so J hovers around 10 ms.
func TestJitterUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s ReceiverStats
	var sum time.Duration
	n := 0
	for i := range 20000 {
		d := time.Duration(rng.Float64() * float64(30*time.Millisecond))
		arrival := t0.Add(time.Duration(i)*20*time.Millisecond + d)
		s.Update(1, uint16(i), uint32(i)*160, arrival, 8000)
		if i > 1000 {
			sum += s.Jitter()
			n++
		}
	}
	mean := sum / time.Duration(n)
	if mean < 9500*time.Microsecond || mean > 10500*time.Microsecond {
		t.Errorf("mean jitter %v, want 10ms ± 5%%", mean)
	}
}

// TestJitterWithLoss: a stream with known loss and jitter at 48 kHz (Opus)
// whose RTP timestamp wraps mid-stream.
func TestJitterWithLoss(t *testing.T) {
	var s ReceiverStats
	ts0 := uint32(math.MaxUint32 - 960*100)
	for i := range 1000 {
		if i%50 == 25 { // 2 % loss
			continue
		}
		d := time.Duration(i%2) * 2 * time.Millisecond // |D| = 2 ms = 96 units
		s.Update(9, uint16(i), ts0+uint32(i)*960, t0.Add(time.Duration(i)*20*time.Millisecond+d), 48000)
	}
	r, _ := s.ReceptionReport(t0)
	// Across a loss, neighbours 24 and 26 have the same parity: D = 0
	// once per 50 packets, so J sits a little under 96 units.
	if r.Jitter < 85 || r.Jitter > 96 {
		t.Errorf("jitter %d units, want 85-96", r.Jitter)
	}
	if r.TotalLost != 20 || r.FractionLost != 20*256/999 {
		t.Errorf("lost %d fraction %d, want 20 and %d", r.TotalLost, r.FractionLost, 20*256/999)
	}
	if br := s.BurstRatio(); br != 1 {
		t.Errorf("BurstRatio %v for isolated losses, want 1", br)
	}
}

func TestJitterIgnoresEventsAndJumps(t *testing.T) {
	var s ReceiverStats
	stream(&s, 0, 0, 100, nil, nil)
	// Telephone-events reuse one timestamp for 100 ms: clock rate 0.
	for i := range 5 {
		s.Update(0x5eed, uint16(100+i), 1000+100*160, t0.Add(time.Duration(100+i)*20*time.Millisecond), 0)
	}
	// The sender's timestamp jumps by an hour (a restarted clock).
	for i := 105; i < 110; i++ {
		s.Update(0x5eed, uint16(i), 1000+uint32(i)*160+3600*8000, t0.Add(time.Duration(i)*20*time.Millisecond), 8000)
	}
	if j := s.Jitter(); j != 0 {
		t.Errorf("jitter %v after events and a timestamp jump, want 0", j)
	}
	r, _ := s.ReceptionReport(t0)
	if r.TotalLost != 0 || r.LastSequence != 109 {
		t.Errorf("events must count for loss: %+v", r)
	}
}

func TestBurstRatio(t *testing.T) {
	var s ReceiverStats
	// Bursts of 4 lost packets every 100: p = 4 %, mean burst 4,
	// BurstR = 4 * (1 - 0.04) = 3.84.
	stream(&s, 0, 0, 10000, func(i int) bool { return i%100 >= 50 && i%100 < 54 }, nil)
	if br := s.BurstRatio(); math.Abs(br-3.84) > 0.01 {
		t.Errorf("BurstRatio %v, want 3.84", br)
	}
}

func TestLSRAndDLSR(t *testing.T) {
	var s ReceiverStats
	stream(&s, 0, 0, 10, nil, nil)
	r, _ := s.ReceptionReport(t0)
	if r.LastSenderReport != 0 || r.Delay != 0 {
		t.Errorf("no SR yet: LSR %x DLSR %d", r.LastSenderReport, r.Delay)
	}
	ntp := uint64(0xe1a41c52_8f5c28f5)
	s.ReceivedSenderReport(0x5eed, ntp, t0)
	r, _ = s.ReceptionReport(t0.Add(1250 * time.Millisecond))
	if r.LastSenderReport != 0x1c528f5c || r.Delay != 81920 { // 1.25 * 65536
		t.Errorf("LSR %x DLSR %d, want 1c528f5c and 81920", r.LastSenderReport, r.Delay)
	}
	// An SR from another source is not echoed for this one.
	s.ReceivedSenderReport(0x0bad, ntp, t0)
	if r, _ = s.ReceptionReport(t0); r.LastSenderReport != 0 || r.Delay != 0 {
		t.Errorf("foreign SR echoed: LSR %x DLSR %d", r.LastSenderReport, r.Delay)
	}
}

func TestSSRCChangeKeepsTotals(t *testing.T) {
	var s ReceiverStats
	// The first source: expected 100 (after probation), lost 1.
	stream(&s, 0, 0, 101, func(i int) bool { return i == 50 }, nil)
	// A new source: expected 50, lost 0.
	for i := range 51 {
		s.Update(0xbeef, uint16(30000+i), uint32(i)*160, t0.Add(time.Duration(i)*20*time.Millisecond), 8000)
	}
	if s.SSRC() != 0xbeef || s.Expected() != 150 || s.Lost() != 1 || s.Packets() != 151 {
		t.Errorf("ssrc %x expected %d lost %d packets %d", s.SSRC(), s.Expected(), s.Lost(), s.Packets())
	}
	r, _ := s.ReceptionReport(t0)
	if r.SSRC != 0xbeef || r.TotalLost != 0 {
		t.Errorf("block for the new source: %+v", r)
	}
}
