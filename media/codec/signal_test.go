package codec

import (
	"math"
	"math/rand/v2"
)

// Signal helpers shared by the codec tests (and, through export_test.go,
// by the external tests that need media/audio).

// tone returns n samples of a sine of freq Hz at rate Hz with peak amp.
func tone(freq float64, rate, n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

// noise returns n samples of uniform white noise with peak amp, from a
// fixed seed so failures reproduce.
func noise(n int, amp float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * (2*r.Float64() - 1))
	}
	return out
}

// alignedSNR compares out with ref delayed by the codec: it tries every lag
// 0..maxLag and returns the best signal-to-noise ratio in dB, measured over
// ref[from:to] against out[from+lag:to+lag], and the lag that gave it.
func alignedSNR(ref, out []int16, from, to, maxLag int) (snr float64, lag int) {
	snr = math.Inf(-1)
	for l := 0; l <= maxLag && to+l <= len(out); l++ {
		if s := segmentSNR(ref[from:to], out[from+l:to+l]); s > snr {
			snr, lag = s, l
		}
	}
	return snr, lag
}

// segmentSNR is 10 log10(sum ref^2 / sum (ref-out)^2) over equal-length slices.
func segmentSNR(ref, out []int16) float64 {
	var sig, errSum float64
	for i := range ref {
		r, d := float64(ref[i]), float64(out[i])-float64(ref[i])
		sig += r * r
		errSum += d * d
	}
	if errSum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/errSum)
}

// toneAmplitude measures the amplitude of the freq Hz component of x (a
// single-bin DFT, i.e. a Goertzel detector), so leakage of other
// frequencies and codec noise do not count towards it.
func toneAmplitude(x []int16, freq float64, rate int) float64 {
	var re, im float64
	w := 2 * math.Pi * freq / float64(rate)
	for i, v := range x {
		re += float64(v) * math.Cos(w*float64(i))
		im += float64(v) * math.Sin(w*float64(i))
	}
	return 2 * math.Hypot(re, im) / float64(len(x))
}

// rms is the root-mean-square of x.
func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

func dB(ratio float64) float64 { return 20 * math.Log10(ratio) }
