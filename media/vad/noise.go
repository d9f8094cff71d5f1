package vad

import "math"

// Minimum-statistics noise tracking (R. Martin, "Noise power spectral
// density estimation based on optimal smoothing and minimum statistics",
// IEEE Trans. Speech and Audio Processing 9(5), 2001, §III-§IV), in the
// simplified form with a fixed smoothing constant. Speech raises the power
// of a frequency bin only part of the time, so the minimum of its smoothed
// power over a window a little longer than a word stays at the noise level
// even while someone talks, and no speech/non-speech decision is needed to
// update it. The window is split into subwindows so the minimum slides in
// steps instead of being recomputed over the whole window every hop.
const (
	// noiseSmooth is the first-order smoothing of each bin's power per
	// 10 ms hop (time constant about 45 ms): enough to steady the minimum,
	// short enough to catch the gaps between syllables.
	noiseSmooth = 0.8
	// noiseSubwins and noiseSubwinHops set the minimum window: 8 x 12 hops
	// = 0.96 s, so a rise to stationary noise of any level is learnt within
	// 0.96 to 1.08 s; a fall is followed at once.
	noiseSubwins    = 8
	noiseSubwinHops = 12
	// noiseBias corrects the minimum's downward bias: for noise alone the
	// mean smoothed power is this many times the windowed minimum (measured
	// for these constants and this analysis window on white and pink noise;
	// TestNoiseBias checks it). Without it the a posteriori SNR of pure
	// noise would average about 4 dB, not 0 dB.
	noiseBias = 2.45
	// noiseInitHops is how long the tracker averages before it starts
	// taking minima: seeded with one raw periodogram, a bin that happened
	// to be near zero would hold its minimum there for a whole window and
	// look like speech. The detector makes no decisions meanwhile.
	noiseInitHops = 10
)

// noiseTracker holds the per-bin minimum statistics of one detector.
type noiseTracker struct {
	smooth  []float64 // smoothed power per bin
	actMin  []float64 // minimum of smooth within the current subwindow
	ringMin []float64 // minimum over the completed subwindows in ring
	ring    []float64 // noiseSubwins rows of per-bin subwindow minima
	noise   []float64 // the estimate: noiseBias * min(actMin, ringMin), floored
	floor   float64   // lowest noise power per bin (see minNoiseDBFS)
	hops    int       // hops into the current subwindow
	slot    int       // ring row the current subwindow will fill
	seen    int       // hops seen since reset, counted up to noiseInitHops
}

func newNoiseTracker(bins int, floor float64) *noiseTracker {
	t := &noiseTracker{
		smooth:  make([]float64, bins),
		actMin:  make([]float64, bins),
		ringMin: make([]float64, bins),
		ring:    make([]float64, noiseSubwins*bins),
		noise:   make([]float64, bins),
		floor:   floor,
	}
	t.reset()
	return t
}

func (t *noiseTracker) reset() {
	inf := math.Inf(1)
	for _, s := range [][]float64{t.actMin, t.ringMin, t.ring} {
		for i := range s {
			s[i] = inf
		}
	}
	clear(t.smooth)
	for i := range t.noise {
		t.noise[i] = t.floor
	}
	t.hops, t.slot, t.seen = 0, 0, 0
}

// ready reports whether the initial averaging is over.
func (t *noiseTracker) ready() bool { return t.seen >= noiseInitHops }

// update folds one hop's power spectrum into the statistics and refreshes
// the noise estimate. The first noiseInitHops hops are averaged, so a call
// that starts in noise starts with that noise as its floor rather than
// treating it as speech.
func (t *noiseTracker) update(power []float64) {
	if t.seen < noiseInitHops {
		t.seen++
		w := 1 / float64(t.seen)
		for k, p := range power {
			t.smooth[k] += w * (p - t.smooth[k])
			t.noise[k] = max(t.smooth[k], t.floor)
		}
		return
	}
	for k, p := range power {
		s := noiseSmooth*t.smooth[k] + (1-noiseSmooth)*p
		t.smooth[k] = s
		a := min(t.actMin[k], s)
		t.actMin[k] = a
		t.noise[k] = max(noiseBias*min(a, t.ringMin[k]), t.floor)
	}
	t.hops++
	if t.hops < noiseSubwinHops {
		return
	}
	// The subwindow is complete: store its minima, drop the oldest, and
	// recompute the minimum over the ring (once per 12 hops, not per hop).
	bins := len(t.smooth)
	copy(t.ring[t.slot*bins:(t.slot+1)*bins], t.actMin)
	t.slot = (t.slot + 1) % noiseSubwins
	t.hops = 0
	for k := range t.ringMin {
		m := math.Inf(1)
		for r := range noiseSubwins {
			m = min(m, t.ring[r*bins+k])
		}
		t.ringMin[k] = m
		t.actMin[k] = math.Inf(1)
	}
}
