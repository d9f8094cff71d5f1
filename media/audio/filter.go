package audio

import (
	"math"
)

// Low-pass prototype design for the polyphase resampler: a windowed-sinc
// FIR with a Kaiser window, sized with Kaiser's formulas (J. F. Kaiser,
// "Nonrecursive digital filter design using the I0-sinh window function",
// Proc. IEEE ISCAS 1974; also Oppenheim & Schafer, Discrete-Time Signal
// Processing, 3rd ed., chapter 7).

const (
	// passEdge is the end of the passband as a fraction of the lower of the
	// two Nyquist frequencies: 0.85 keeps the whole 300-3400 Hz telephone
	// band flat at 8 kHz (ITU-T G.712) and 6.8 kHz at 16 kHz.
	passEdge = 0.85
	// stopEdge is where the stopband starts, as a fraction of the lower
	// Nyquist frequency. At 1.0 nothing that could alias into the output
	// band survives, at the price of a 15% transition band.
	stopEdge = 1.0
	// stopbandDB is the stopband attenuation the filter is sized for.
	// 80 dB keeps images and aliases below the 16-bit noise floor of
	// speech at normal levels, with ~68 taps per output phase at 8 kHz.
	stopbandDB = 80.0
	// maxPhases bounds the interpolation factor after reducing the ratio;
	// every phase costs one row of coefficients.
	maxPhases = 4096
	// maxCoefficients bounds the coefficient table (8 MiB of float32).
	maxCoefficients = 1 << 21
)

// kaiserBeta returns the Kaiser window shape parameter for a stopband
// attenuation in dB (Kaiser 1974, eq. for A > 50 and 21 <= A <= 50).
func kaiserBeta(atten float64) float64 {
	switch {
	case atten > 50:
		return 0.1102 * (atten - 8.7)
	case atten >= 21:
		return 0.5842*math.Pow(atten-21, 0.4) + 0.07886*(atten-21)
	default:
		return 0
	}
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// summed from its power series until the terms stop mattering.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1.0; k < 500; k++ {
		term *= q / (k * k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// filterLength returns the odd number of taps of the prototype filter
// running at upRate (= inRate * L) for a transition band of width
// transHz, per Kaiser's estimate N-1 = (A - 7.95) / (2.285 * Δω).
func filterLength(upRate, transHz float64) float64 {
	dw := 2 * math.Pi * transHz / upRate
	return math.Ceil((stopbandDB-7.95)/(2.285*dw)) + 1
}

// designPolyphase builds the coefficient table for interpolation by l and
// decimation by m. It returns the coefficients laid out phase by phase, each
// phase holding taps values in reverse time order so that an output is a
// forward dot product with the most recent taps input samples, and the
// prototype's group delay in upsampled samples.
func designPolyphase(inRate, outRate, l int, n int) (coef []float32, taps, delay int) {
	lower := float64(min(inRate, outRate))
	upRate := float64(inRate) * float64(l)
	cutoff := (passEdge + stopEdge) / 2 * lower / 2 / upRate // cycles per upsampled sample
	half := (n - 1) / 2
	beta := kaiserBeta(stopbandDB)
	i0beta := besselI0(beta)

	taps = (n + l - 1) / l
	taps = (taps + 3) &^ 3 // multiple of 4 for the unrolled dot product
	proto := make([]float64, taps*l)
	for j := range n {
		x := float64(j - half)
		v := 2 * cutoff
		if x != 0 {
			v = math.Sin(2*math.Pi*cutoff*x) / (math.Pi * x)
		}
		r := x / float64(half)
		proto[j] = v * besselI0(beta*math.Sqrt(max(0, 1-r*r))) / i0beta
	}

	// Phase p uses prototype taps p, p+l, p+2l, ... Normalising each phase
	// to unit DC gain (rather than the whole filter to gain l) removes the
	// small phase-to-phase gain differences that would otherwise modulate
	// the signal at the input rate.
	coef = make([]float32, taps*l)
	for p := range l {
		var sum float64
		for k := range taps {
			sum += proto[k*l+p]
		}
		if sum == 0 {
			sum = 1
		}
		row := coef[p*taps : (p+1)*taps]
		for k := range taps {
			row[taps-1-k] = float32(proto[k*l+p] / sum)
		}
	}
	return coef, taps, half
}
