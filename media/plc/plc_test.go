package plc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQualityBeatsBaselines drops 20 ms frames of a voiced tone and of
// espeak-ng speech, at 5 % random and in bursts of three, and measures the
// SNR against the original over 25 realizations of each loss process: over
// the affected frames (lost ones plus the merged frame after each run) and
// over the whole signal. Concealment must beat both zero-fill and
// repeating the last good frame on both.
func TestQualityBeatsBaselines(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		signals := []struct {
			name string
			pcm  []int16
		}{
			{"200 Hz harmonic", harmonic(rate, 3)},
			{"espeak-ng speech", speech(t, rate)},
		}
		for _, sig := range signals {
			for _, p := range patterns {
				name := fmt.Sprintf("%d Hz/%s/%s", rate, sig.name, p.name)
				t.Run(name, func(t *testing.T) {
					frames := len(sig.pcm) / (rate / 50)
					got := map[string][2]float64{}
					for _, m := range methods {
						var as, an, ws, wn float64
						for r := range realizations {
							lost := p.lost(frames, r)
							y := m.run(t, sig.pcm, rate, lost)
							s, n := energies(sig.pcm, y, rate, affected(lost))
							as, an = as+s, an+n
							s, n = energies(sig.pcm, y, rate, nil)
							ws, wn = ws+s, wn+n
						}
						got[m.name] = [2]float64{db(as, an), db(ws, wn)}
						t.Logf("%-18s affected frames %6.2f dB, whole signal %6.2f dB", m.name, got[m.name][0], got[m.name][1])
					}
					for _, base := range []string{"zero fill", "repeat last frame"} {
						if got["plc"][0] <= got[base][0] || got["plc"][1] <= got[base][1] {
							t.Errorf("plc %.2f/%.2f dB does not beat %s %.2f/%.2f dB",
								got["plc"][0], got["plc"][1], base, got[base][0], got[base][1])
						}
					}
				})
			}
		}
	}
}

// TestNoClickAtBoundaries looks at every boundary where concealment starts
// or real speech resumes, in every realization. A click is a step that
// stands out, so two ratios must stay small: the boundary step against the
// largest step of the original within 5 ms (is it bigger than anything the
// signal does there?), and against the largest other step of the output
// within 2.5 ms (is it an outlier where it is heard?). Zero-fill fails
// both on the voiced tone, which shows the measure sees clicks.
func TestNoClickAtBoundaries(t *testing.T) {
	for _, sig := range []struct {
		name string
		pcm  []int16
	}{{"harmonic", harmonic(8000, 3)}, {"speech", speech(t, 8000)}} {
		worst := map[string][2]float64{}
		for _, p := range patterns {
			for r := range realizations {
				lost := p.lost(len(sig.pcm)/160, r)
				for _, m := range methods {
					y := m.run(t, sig.pcm, 8000, lost)
					for f := 1; f < len(lost); f++ {
						if lost[f] == lost[f-1] {
							continue
						}
						b := f * 160
						step := func(s []int16, i int) float64 { return math.Abs(float64(s[i]) - float64(s[i-1])) }
						// Floors of 1 % of full scale, so that silence is
						// not held to a zero bound.
						orig, near := 328.0, 328.0
						for i := max(1, b-40); i < min(len(y), b+40); i++ {
							orig = max(orig, step(sig.pcm, i))
						}
						for i := max(1, b-20); i < min(len(y), b+20); i++ {
							if i != b {
								near = max(near, step(y, i))
							}
						}
						w := worst[m.name]
						worst[m.name] = [2]float64{max(w[0], step(y, b)/orig), max(w[1], step(y, b)/near)}
					}
				}
			}
		}
		for _, m := range methods {
			t.Logf("%s, %-18s worst boundary step: %.2f × the original's local maximum, %.2f × the output's",
				sig.name, m.name, worst[m.name][0], worst[m.name][1])
		}
		if w := worst["plc"]; w[0] > 1.25 || w[1] > 1.5 {
			t.Errorf("%s: a boundary step %.2f × the original's, %.2f × the output's local maximum", sig.name, w[0], w[1])
		}
		if w := worst["zero fill"]; sig.name == "harmonic" && (w[0] <= 1.25 || w[1] <= 1.5) {
			t.Errorf("%s: zero fill %.2f, %.2f within bounds: the measure sees nothing", sig.name, w[0], w[1])
		}
	}
}

// TestAttenuation: for a periodic history the synthetic signal starts at
// full level and fades as exp(-t/12 ms), silent from 60 ms on; the first
// good frame after it fades in from silence over 2.5 ms.
func TestAttenuation(t *testing.T) {
	x := tone(8000, 190, 4000)
	c, err := New(8000)
	if err != nil {
		t.Fatal(err)
	}
	for f := 0; f+160 <= 1600; f += 160 {
		c.Good(slices.Clone(x[f : f+160]))
	}
	y := make([]int16, 800) // 100 ms lost, in five frames
	for f := 0; f < len(y); f += 160 {
		c.Conceal(y[f : f+160])
	}
	if c.voicing < 0.99 {
		t.Fatalf("voicing %.3f for a steady tone", c.voicing)
	}
	ref := rms(x[:800])
	for u := 0; u < 6; u++ {
		got := rms(y[u*80:(u+1)*80]) / ref
		// RMS of exp(-t/τ) over [10u, 10u+10) ms relative to 1.
		want := math.Exp(-float64(u)*10/12) * math.Sqrt(12.0/20*(1-math.Exp(-20.0/12)))
		if math.Abs(got-want) > 0.15*want+0.005 {
			t.Errorf("%d-%d ms: level %.3f, want %.3f", u*10, u*10+10, got, want)
		}
	}
	for i, v := range y[480:] {
		if v != 0 {
			t.Fatalf("sample %d ms after the loss began: %d, want silence", (480+i)/8, v)
		}
	}
	good := slices.Clone(x[2400:2560])
	c.Good(good)
	for i := range 20 {
		if want := int16(math.Round(float64(x[2400+i]) * float64(i+1) / 20)); good[i] != want {
			t.Fatalf("merge sample %d: %d, want %d", i, good[i], want)
		}
	}
	if !slices.Equal(good[20:], x[2420:2560]) {
		t.Error("merge touched more than 2.5 ms")
	}
}

// TestChunking: the output does not depend on how the caller cuts frames.
func TestChunking(t *testing.T) {
	x := speech(t, 8000)
	conceal := func(sizes []int) []int16 {
		c, _ := New(8000)
		for f := 0; f+160 <= 8000; f += 160 {
			c.Good(slices.Clone(x[f : f+160]))
		}
		var y []int16
		for _, n := range sizes {
			buf := make([]int16, n)
			c.Conceal(buf)
			y = append(y, buf...)
		}
		good := slices.Clone(x[8000+len(y) : 8000+len(y)+160])
		c.Good(good)
		return append(y, good...)
	}
	whole := conceal([]int{480})
	for _, sizes := range [][]int{{160, 160, 160}, {80, 80, 80, 80, 80, 80}, slices.Repeat([]int{1}, 480), {7, 300, 173}} {
		if got := conceal(sizes); !slices.Equal(got, whole) {
			t.Errorf("frames %v: output differs from one 60 ms call", sizes[:min(4, len(sizes))])
		}
	}
}

// TestEdgeCases: no panic and sensible output for empty frames, frames
// longer than the history, concealment before any speech and bad rates.
func TestEdgeCases(t *testing.T) {
	for _, rate := range []int{0, 7999, 48001, -8000} {
		if _, err := New(rate); !errors.Is(err, ErrSampleRate) {
			t.Errorf("New(%d): %v", rate, err)
		}
	}
	for _, rate := range []int{8000, 11025, 16000, 22050, 44100, 48000} {
		c, err := New(rate)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]int16, rate/50)
		c.Conceal(y)
		if slices.ContainsFunc(y, func(v int16) bool { return v != 0 }) {
			t.Errorf("%d Hz: concealment before any speech is not silence", rate)
		}
		c.Good(nil)
		c.Conceal(nil)
		c.Good(harmonic(rate, 0.5)) // longer than the history
		c.Conceal(y)
		if rms(y) == 0 {
			t.Errorf("%d Hz: silence after a voiced half second", rate)
		}
		c.Reset()
		c.Conceal(y)
		if rms(y) != 0 {
			t.Errorf("%d Hz: Reset kept the history", rate)
		}
		if c.SampleRate() != rate || c.String() == "" {
			t.Errorf("%d Hz: SampleRate %d", rate, c.SampleRate())
		}
	}
}

// TestPitch: the estimate finds the period of a steady harmonic tone at
// every rate (or a multiple of it, which repeats as well).
func TestPitch(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		for _, f0 := range []float64{80, 120, 190} {
			c, _ := New(rate)
			c.Good(tone(rate, f0, rate/10))
			for i, v := range c.history() {
				c.pbuf[i] = float32(v)
			}
			p, _ := c.findPitch()
			period := float64(rate) / f0
			if k := math.Round(p / period); k < 1 || math.Abs(p-k*period) > 1.5 {
				t.Errorf("%d Hz, f0 %v: pitch %v samples, period %.1f", rate, f0, p, period)
			}
		}
	}
}

// tone is n samples of a steady three-harmonic tone.
func tone(rate int, f0 float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		ph := 2 * math.Pi * f0 * float64(i) / float64(rate)
		out[i] = int16(8000*math.Sin(ph) + 4000*math.Sin(2*ph+1) + 2000*math.Sin(3*ph+2))
	}
	return out
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(1, len(x))))
}

// TestHistoryRing: whatever lengths the frames have (shorter than the history,
// wrapping around its end, longer than all of it), the history an erasure starts
// from is the last samples played, oldest first, and concealing after it gives the
// same audio as a concealer that was fed the same signal in one piece.
func TestHistoryRing(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		c, _ := New(rate)
		n := len(c.hist)
		var played []int16
		r := rand.New(rand.NewPCG(1, uint64(rate)))
		for i, size := range []int{160, 80, 1, 0, 333, 160, n - 1, n, n + 7, 160, 17, 240} {
			frame := make([]int16, size)
			for j := range frame {
				frame[j] = int16(r.IntN(20000) - 10000)
			}
			c.Good(frame)
			played = append(played, frame...)
			want := played[max(0, len(played)-n):]
			got := c.history()
			if len(played) >= n && !slices.Equal(got, want) {
				t.Fatalf("%d Hz, after frame %d (%d samples): the history is not the last %d samples played", rate, i, size, n)
			}
		}
		last := played[len(played)-160:]
		c.Good(last) // after history() put the ring in order: the ring's head moves on
		whole, _ := New(rate)
		whole.Good(append(played, last...))
		a, b := make([]int16, 480), make([]int16, 480)
		c.Conceal(a)
		whole.Conceal(b)
		if !slices.Equal(a, b) {
			t.Errorf("%d Hz: concealment after frames differs from concealment after the same signal in one piece", rate)
		}
	}
}
