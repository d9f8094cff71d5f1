package vad

import "math"

// decimTaps is the length of the 48 kHz -> 16 kHz anti-alias filter. The
// detector only looks below 4 kHz, so aliases matter only where they land
// there, i.e. from 12-20 kHz: a passband edge of 4 kHz and a stopband edge
// of 12 kHz at 48 kHz is a wide transition that 23 Kaiser-windowed taps
// cover with more than 50 dB of attenuation (Kaiser's length formula,
// Oppenheim & Schafer, Discrete-Time Signal Processing, §7.6). That is a
// fifth of the work of the general media/audio resampler, whose steep
// telephone-band filter this analysis does not need.
const decimTaps = 23

// decimFactor is 48000/16000.
const decimFactor = 3

// decimCoef is the low-pass filter, cut off at 8 kHz (the middle of the
// transition band), Kaiser beta 5 (about 55 dB stopband), unity DC gain.
var decimCoef = func() [decimTaps]float64 {
	var c [decimTaps]float64
	const beta = 5.0
	mid := float64(decimTaps-1) / 2
	var sum float64
	for i := range c {
		t := float64(i) - mid
		x := 2 * math.Pi * 8000 / 48000 * t
		sinc := 1.0
		if t != 0 {
			sinc = math.Sin(x) / x
		}
		r := t / mid
		c[i] = sinc * bessel0(beta*math.Sqrt(1-r*r)) / bessel0(beta)
		sum += c[i]
	}
	for i := range c {
		c[i] /= sum
	}
	return c
}()

// bessel0 is the modified Bessel function of the first kind, order zero,
// by its power series (converges fast for the small arguments used here).
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}

// decimator turns a 48 kHz stream into 16 kHz, keeping its filter history
// between frames. Its delay is (decimTaps-1)/2 input samples; the filter is
// symmetric, so the history can be kept oldest first.
type decimator struct {
	work  []float64 // decimTaps-1 samples of history, then one chunk of input
	phase int       // input samples to skip before the next output
}

func newDecimator(chunk int) *decimator {
	return &decimator{work: make([]float64, decimTaps-1+chunk)}
}

// process filters src and writes every third output to dst, returning the
// count written; dst needs room for len(src)/3+1 samples, and outputs that
// do not fit are dropped.
func (z *decimator) process(dst []float64, src []int16) int {
	const h = decimTaps - 1
	n := 0
	for len(src) > 0 {
		c := min(len(src), len(z.work)-h)
		w := z.work[:h+c]
		for i, s := range src[:c] {
			w[h+i] = float64(s)
		}
		p := z.phase
		for ; p < c; p += decimFactor {
			// The filter is symmetric: fold the window and halve the
			// multiplications.
			x := w[p : p+decimTaps]
			acc := decimCoef[decimTaps/2] * x[decimTaps/2]
			for i := range decimTaps / 2 {
				acc += decimCoef[i] * (x[i] + x[decimTaps-1-i])
			}
			if n < len(dst) {
				dst[n] = acc
				n++
			}
		}
		z.phase = p - c
		copy(w[:h], w[c:c+h])
		src = src[c:]
	}
	return n
}

func (z *decimator) reset() {
	clear(z.work)
	z.phase = 0
}
