package vad

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// TestRealFFTMatchesDFT checks the packed real FFT against a direct DFT.
func TestRealFFTMatchesDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{4, 8, 256, 512} {
		f := newRealFFT(n)
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64() * 1000
		}
		got := make([]float64, n/2+1)
		f.power(got, x, 0, n/2)
		for k := 0; k <= n/2; k++ {
			var re, im float64
			for i, v := range x {
				a := -2 * math.Pi * float64(k*i) / float64(n)
				re += v * math.Cos(a)
				im += v * math.Sin(a)
			}
			want := re*re + im*im
			if math.Abs(got[k]-want) > 1e-9*max(want, 1e3*float64(n)) {
				t.Fatalf("n=%d bin %d: got %g, want %g", n, k, got[k], want)
			}
		}
	}
}

// TestDecimator checks the 48 -> 16 kHz filter: unity gain in the band the
// detector analyses, and at least 50 dB against what would alias into it.
func TestDecimator(t *testing.T) {
	gain := func(freq float64) float64 {
		in := audio.Tone(freq, 48000, 300*time.Millisecond, 0.5)
		z := newDecimator(960)
		out := make([]float64, len(in)/3+1)
		var got []float64
		for i := 0; i+960 <= len(in); i += 960 {
			n := z.process(out, in[i:i+960])
			if n != 320 {
				t.Fatalf("a 960-sample frame gave %d outputs, want 320", n)
			}
			got = append(got, out[:n]...)
		}
		var sum float64
		for _, v := range got[len(got)/2:] {
			sum += v * v
		}
		rms := math.Sqrt(sum / float64(len(got)-len(got)/2))
		return 20 * math.Log10(rms/audio.RMS(in))
	}
	for _, f := range []float64{100, 1000, 3000, 4000} {
		if g := gain(f); math.Abs(g) > 0.5 {
			t.Errorf("%.0f Hz: gain %.2f dB, want within 0.5 dB", f, g)
		}
	}
	// 12-20 kHz lands on 0-4 kHz after decimation by 3.
	for _, f := range []float64{12000, 14000, 17000, 20000} {
		if g := gain(f); g > -50 {
			t.Errorf("%.0f Hz: gain %.1f dB, want below -50 dB", f, g)
		}
	}
}
