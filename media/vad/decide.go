package vad

import (
	"math"
	"time"
)

// Analysis constants; doc.go explains the method.
const (
	// hopDuration is the analysis step: one decision per 10 ms whatever
	// the frame duration, so timing and time constants are the same for
	// 10, 20 and 30 ms frames.
	hopDuration = 10 * time.Millisecond
	// bandLowHz and bandHighHz bound the bins used: below 80 Hz there is
	// hum and no speech; above 4 kHz a narrowband call has nothing, and
	// wideband speech's energy above it adds little to detection.
	bandLowHz  = 80
	bandHighHz = 4000
	// minNoiseDBFS is the lowest noise level the detector assumes, as the
	// level of white noise: below it (digital silence, the idle noise of a
	// G.711 line) the noise floor stops falling, so the tiniest sound after
	// silence is not taken for speech.
	minNoiseDBFS = -70
	// ddAlpha is the decision-directed a priori SNR smoothing of Ephraim
	// and Malah (1984), as used by Sohn et al. (1999).
	ddAlpha = 0.95
	// minXi is the lowest a priori SNR (-25 dB); it bounds the likelihood
	// ratio of bins that hold only noise.
	minXi = 0.003

	// Onset refinement. Fricatives and aspiration ("s" in "seven", "sh"
	// in 是, "h" in "help") put their energy above 2 kHz at a level that in
	// noise is too weak to call speech hop by hop, yet precede the vowel
	// the likelihood ratio does catch by up to 100 ms or more. A CUSUM
	// of the 2-4 kHz band SNR accumulates that weak evidence; when speech
	// starts, a CUSUM already above cusumMinDB moves the onset back to
	// where it left zero, by at most maxLookback.
	onsetBandHz  = 2000
	cusumDriftDB = 1.0 // per hop; noise alone averages 0 dB
	cusumMinDB   = 2.0
	maxLookback  = 200 * time.Millisecond
)

// modeThresholds are the per-hop decision thresholds on the mean log
// likelihood ratio: a hop is speech when the ratio exceeds on, or exceeds
// off and the previous hop was speech (hysteresis keeps a weak tail
// attached to the word it ends). Index by Mode. On stationary noise the
// ratio averages about 0.04 with a standard deviation of 0.02 and peaks at
// about 0.25 in 30 s (TestNoFalseOnsetOnNoise logs the peaks) and 0.33 in
// ten minutes of white noise, while a vowel scores 1-100; a start also
// needs MinSpeech of consecutive hops above "off".
var modeThresholds = [4]struct{ on, off float64 }{
	{0.45, 0.25},
	{0.70, 0.35},
	{1.00, 0.50},
	{2.00, 0.80},
}

// analyse runs one hop: window the last n samples, take their power
// spectrum, update the noise model, and set d.score to the mean log
// likelihood ratio of speech over noise across the bins and d.hiSNR to the
// SNR of the 2-4 kHz band (Sohn, Kim and Sung, "A
// statistical model-based voice activity detection", IEEE Signal
// Processing Letters 6(1), 1999, eqs. 3-5).
//
// Each bin k is modelled as complex Gaussian noise of power λ_k, plus, under
// the speech hypothesis, independent Gaussian speech of a priori SNR ξ_k.
// With the a posteriori SNR γ_k = |X_k|²/λ_k the log likelihood ratio is
//
//	log Λ_k = γ_k ξ_k/(1+ξ_k) - log(1+ξ_k)
//
// and the hop's score is its mean over the bins (the log of the geometric
// mean of Λ_k). ξ_k is estimated decision-directed (Ephraim and Malah,
// IEEE Trans. ASSP 32(6), 1984, eq. 51), with the Wiener gain standing in
// for their amplitude estimator.
func (d *Detector) analyse() {
	for i, w := range d.window {
		d.x[i] = w * d.buf[i]
	}
	d.fft.power(d.power, d.x, d.lo, d.lo+len(d.power)-1)
	d.noise.update(d.power)
	// Σ log(1+ξ) is taken as the log of products of logBatch factors: one
	// logarithm per batch instead of per bin. ξ <= γ, and γ stays below
	// about 5e9 (a full-scale tone over the -70 dBFS floor), so a product
	// of 16 stays below 1e155, far from overflow.
	const logBatch = 16
	noise, prevA2 := d.noise.noise[:len(d.power)], d.prevA2[:len(d.power)]
	var sum, hiPow, hiNoise float64
	prod := 1.0
	for k, p := range d.power {
		lambda := noise[k]
		gamma := p / lambda
		xi := ddAlpha*prevA2[k]/lambda + (1-ddAlpha)*max(gamma-1, 0)
		xi = max(xi, minXi)
		g := xi / (1 + xi)
		sum += gamma * g
		prod *= 1 + xi
		if k%logBatch == logBatch-1 {
			sum -= math.Log(prod)
			prod = 1
		}
		prevA2[k] = g * g * p
		if k >= d.hiLo {
			hiPow += p
			hiNoise += lambda
		}
	}
	sum -= math.Log(prod)
	d.score = sum / float64(len(d.power))
	d.hiSNR = 10 * math.Log10(hiPow/hiNoise)
}

// step applies the hysteresis thresholds to the hop's score and runs the
// start/stop hangover state machine, returning the event this hop caused.
// When hold is set an event was already reported in the current frame, so
// a second transition waits for the next hop (its condition still holds
// then): Process reports at most one event per frame.
func (d *Detector) step(hold bool) Event {
	speech := d.noise.ready() && (d.score > d.on || (d.hopSpeech && d.score > d.off))
	d.hopSpeech = speech
	// The hop is dated by the centre of its window, where the Hann window
	// weighs the audio most.
	at := d.analysed - int64(d.n/2)
	// Page's CUSUM (Biometrika 41, 1954) of the onset band's SNR; the
	// change point it estimates is where the sum last left zero
	// (Basseville and Nikiforov, Detection of Abrupt Changes, 1993, §2.2).
	prev := d.cusum
	d.cusum = max(0, prev+d.hiSNR-cusumDriftDB)
	if prev == 0 {
		d.cusumAt = at
	}
	lastSpeech := d.lastSpeech
	if speech && d.speaking {
		d.lastSpeech = at
	}

	if !d.speaking {
		if !speech {
			d.run = 0
			return None
		}
		if d.run == 0 {
			d.runStart = at
			// Move back to where the high band began to rise, but never
			// into the previous utterance (a lone speech hop since then
			// does not count: it is likely the fricative's own start).
			if prev > cusumMinDB && at-d.cusumAt <= d.lookback && d.cusumAt > lastSpeech {
				d.runStart = d.cusumAt
			}
		}
		d.run++
		if d.run < d.startHop || hold {
			return None
		}
		d.speaking, d.silent = true, 0
		d.onset, d.hadOnset = d.runStart, true
		return SpeechStart
	}
	if speech {
		d.silent = 0
		return None
	}
	d.silent++
	if d.silent < d.endHop || hold {
		return None
	}
	d.speaking, d.run = false, 0
	return SpeechEnd
}
