package rtcp

import (
	"math"
	"testing"
	"time"
)

// TestMOSKnownPoints: the G.107 Annex B mapping at the R values of the G.109
// quality categories, as tabulated in G.107 Figure B.1 and G.109.
func TestMOSKnownPoints(t *testing.T) {
	for _, tc := range []struct{ r, mos float64 }{
		{93.2, 4.41}, // G.107 default connection (G.711, no impairment)
		{90, 4.34},   // G.109: "very satisfied" from here up
		{80, 4.02},   // "satisfied"
		{70, 3.60},   // "some users dissatisfied"
		{60, 3.10},   // "many users dissatisfied"
		{50, 2.58},   // "nearly all users dissatisfied"
		{0, 1}, {-10, 1}, {100, 4.5}, {120, 4.5},
	} {
		if got := MOS(tc.r); math.Abs(got-tc.mos) > 0.005 {
			t.Errorf("MOS(%v) = %.4f, want %.2f", tc.r, got, tc.mos)
		}
	}
	if MOS(math.NaN()) != 1 {
		t.Error("MOS(NaN)")
	}
}

func TestMOSMonotonic(t *testing.T) {
	prev := MOS(-1)
	for r := -1.0; r <= 101; r += 0.01 {
		m := MOS(r)
		if m < prev || m < 1 || m > 4.5 {
			t.Fatalf("MOS(%.2f) = %v after %v", r, m, prev)
		}
		prev = m
	}
}

func g711(t *testing.T, plc bool) Codec {
	t.Helper()
	c, ok := LookupCodec("PCMU", plc)
	if !ok {
		t.Fatal("PCMU unknown")
	}
	return c
}

// TestRFactorG711 checks R for G.711 against values computed by hand from
// G.107's Ie,eff and the Id fit.
func TestRFactorG711(t *testing.T) {
	plc, raw := g711(t, true), g711(t, false)
	for _, tc := range []struct {
		name string
		q    Quality
		r    float64
	}{
		{"no impairment", Quality{Codec: plc}, 93.2},
		// Id = 0.024 * 150 = 3.6.
		{"150 ms one-way", Quality{Codec: plc, RTT: 200 * time.Millisecond, JitterBuffer: 40 * time.Millisecond, Packetization: 10 * time.Millisecond}, 89.6},
		// Id = 0.024 * 200 + 0.11 * 22.7 = 7.297.
		{"200 ms one-way", Quality{Codec: plc, RTT: 400 * time.Millisecond}, 85.903},
		// Id = 9.6 + 0.11 * 222.7 = 34.097, below G.109's "many dissatisfied".
		{"400 ms one-way", Quality{Codec: plc, RTT: 800 * time.Millisecond}, 59.103},
		// Ie,eff = 95 * 1 / (1 + 25.1) = 3.640.
		{"1 % random loss, PLC", Quality{Codec: plc, LossPercent: 1}, 89.560},
		// Ie,eff = 95 * 2 / (2 + 25.1) = 7.011.
		{"2 % random loss, PLC", Quality{Codec: plc, LossPercent: 2}, 86.189},
		// Ie,eff = 95 * 1 / (1 + 4.3) = 17.925: concealment matters.
		{"1 % random loss, no PLC", Quality{Codec: raw, LossPercent: 1}, 75.275},
		// BurstR 2: Ie,eff = 95 * 2 / (1 + 25.1) = 7.280.
		{"2 % bursty loss, PLC", Quality{Codec: plc, LossPercent: 2, BurstRatio: 2}, 85.920},
		// Everything lost: Ie,eff = 95 * 100 / (100 + 25.1) = 75.94.
		{"all lost", Quality{Codec: plc, LossPercent: 100}, 17.260},
		{"beyond the scale", Quality{Codec: plc, LossPercent: 100, RTT: 2 * time.Second}, 0},
	} {
		got := RFactor(tc.q)
		if math.Abs(got-tc.r) > 0.005 {
			t.Errorf("%s: R = %.3f, want %.3f", tc.name, got, tc.r)
		}
	}
}

func TestRFactorMonotonic(t *testing.T) {
	base := Quality{Codec: g711(t, true), RTT: 100 * time.Millisecond, LossPercent: 1}
	prev := RFactor(base)
	for d := time.Duration(0); d < 2*time.Second; d += 5 * time.Millisecond {
		q := base
		q.JitterBuffer = d
		r := RFactor(q)
		if r > prev+1e-9 {
			t.Fatalf("R rose from %v to %v as delay grew to %v", prev, r, d)
		}
		prev = r
	}
	prev = RFactor(Quality{Codec: base.Codec})
	for loss := 0.0; loss <= 100; loss += 0.25 {
		for _, burst := range []float64{1, 1.5, 3} {
			q := base
			q.LossPercent, q.BurstRatio = loss, burst
			_ = RFactor(q)
		}
		q := base
		q.RTT, q.LossPercent = 0, loss
		r := RFactor(q)
		if r > prev+1e-9 {
			t.Fatalf("R rose from %v to %v as loss grew to %v %%", prev, r, loss)
		}
		prev = r
		q.BurstRatio = 2
		if RFactor(q) > r+1e-9 {
			t.Fatalf("bursty loss rated better than random at %v %%", loss)
		}
	}
	// A more robust codec rates higher under the same loss.
	q := Quality{Codec: g711(t, false), LossPercent: 3}
	if RFactor(q) >= RFactor(Quality{Codec: g711(t, true), LossPercent: 3}) {
		t.Error("G.711 without PLC rated at least as well as with PLC")
	}
	// Garbage inputs stay on the scale.
	for _, q := range []Quality{
		{LossPercent: math.NaN()}, {LossPercent: -5}, {LossPercent: 500}, {BurstRatio: math.Inf(1), LossPercent: 1},
		{RTT: -time.Second}, {BurstRatio: math.NaN(), LossPercent: 1},
	} {
		if r := RFactor(q); !(r >= 0 && r <= 93.2) {
			t.Errorf("RFactor(%+v) = %v", q, r)
		}
	}
}

func TestLookupCodec(t *testing.T) {
	for _, tc := range []struct {
		name string
		plc  bool
		bpl  float64
	}{
		{"PCMU", true, 25.1}, {"pcma", true, 25.1}, {"PCMA", false, 4.3},
		{"G722", true, 25.1}, {"g722", false, 4.3}, {"opus", true, 20}, {"OPUS", false, 20},
	} {
		c, ok := LookupCodec(tc.name, tc.plc)
		if !ok || c.Ie != 0 || c.Bpl != tc.bpl || c.Name == "" {
			t.Errorf("%s plc=%v: %+v %v", tc.name, tc.plc, c, ok)
		}
	}
	if _, ok := LookupCodec("G729", true); ok {
		t.Error("G729 known")
	}
}
