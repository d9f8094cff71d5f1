package plc

import (
	"errors"
	"fmt"
	"math"
)

// The constants of ITU-T G.711 Appendix I (09/1999), §I.2 and the reference
// code's LowcFE class, in samples at 8 kHz. New scales them to its rate.
const (
	refRate      = 8000
	pitchMin8k   = 40  // 5 ms: 200 Hz, the highest pitch searched
	pitchMax8k   = 120 // 15 ms: 66.7 Hz, the lowest
	corrLen8k    = 160 // 20 ms correlation window
	unit8k       = 80  // 10 ms: the period-growth step
	eOverlap8k   = 32  // 4 ms: merge overlap added per 10 ms erased
	corrMinPower = 250 // energy floor of the coarse search (80 terms)
	silentUnits  = 6   // silent from 60 ms on
	maxPeriods   = 3   // the repeated segment grows to three pitch periods
)

// The fade: exp(-t/τ) from full level, τ from fadeAperiodicMs for a
// noise-like history to fadePeriodicMs for a perfectly periodic one
// (quadratic in the normalised pitch correlation). The appendix's 20 % per
// 10 ms after 10 ms at full level loses to silence in SNR on speech; the
// package documentation gives the measurements.
const (
	fadeAperiodicMs = 2  // time constant for noise-like history
	fadePeriodicMs  = 12 // time constant for a perfectly periodic history
)

// Sample rates New accepts.
const (
	MinSampleRate = 8000
	MaxSampleRate = 48000
)

// ErrSampleRate is returned by New for a rate outside
// [MinSampleRate, MaxSampleRate].
var ErrSampleRate = errors.New("plc: unsupported sample rate")

// Concealer fills frames lost from one mono stream of 16-bit PCM with
// synthetic speech in the manner of ITU-T G.711 Appendix I, for codecs that
// have no concealment of their own (G.711, G.722). The caller feeds every
// frame it plays to Good and calls Conceal for every frame it lost.
//
// Where it departs from the appendix (no added delay, a fractional pitch
// period, a faster fade that follows the periodicity, a shorter merge after
// a faded erasure) is explained in the package documentation.
//
// A Concealer allocates only in New and is not safe for concurrent use: it
// belongs to one call leg's playout path.
type Concealer struct {
	rate int

	// Scaled constants, in samples.
	pitchMin, pitchMax, corrLen, unit, eOverlap, ndec int

	hist []int16   // the last len(hist) samples played, a ring: the oldest at head
	head int       // where the next sample played goes, over the oldest
	pbuf []float32 // hist frozen at the start of an erasure; its tail smoothed
	tail []float32 // pbuf's original last ov samples
	ola  []float32 // the old continuation being faded out after a period change

	erased  int     // samples concealed in the current erasure; 0 outside one
	pitch   float64 // pitch period found at the start of the erasure
	voicing float64 // its normalised correlation, 0 (noise) to 1 (periodic)
	ov      int     // overlap length, a quarter of the pitch period
	seg     float64 // the repeated segment: the last seg samples of pbuf
	pos     float64 // read position in the segment
	olaN    int     // length of the pending overlap-add
	olaPos  int     // samples of it done
	gain    float32 // level of the next synthetic sample
	decay   float32 // per-sample factor of the fade
	step    float32 // junction correction: extrapolated last sample minus first synthetic
	stepLen int     // samples the correction fades over
	stepPos int     // samples of it done
}

// New returns a Concealer for sampleRate Hz (8000 for G.711, 16000 for
// G.722; any rate from MinSampleRate to MaxSampleRate). The appendix's
// 8 kHz constants are scaled to the rate, so its behaviour in milliseconds
// is the same at every rate.
func New(sampleRate int) (*Concealer, error) {
	if sampleRate < MinSampleRate || sampleRate > MaxSampleRate {
		return nil, fmt.Errorf("%w: %d Hz (want %d..%d)", ErrSampleRate, sampleRate, MinSampleRate, MaxSampleRate)
	}
	scale := func(n int) int { return max(1, (n*sampleRate+refRate/2)/refRate) }
	c := &Concealer{
		rate:     sampleRate,
		pitchMin: scale(pitchMin8k),
		pitchMax: scale(pitchMax8k),
		corrLen:  scale(corrLen8k),
		unit:     scale(unit8k),
		eOverlap: scale(eOverlap8k),
		// The coarse pitch search looks at every ndec-th sample: 4 kHz
		// effective, as the appendix's decimation by 2 at 8 kHz.
		ndec: scale(2),
	}
	// History: three periods of the lowest pitch plus a quarter period for
	// the overlap, 48.75 ms (390 samples at 8 kHz, I.2.1), and four samples
	// for the interpolator; at least the correlation window behind the
	// longest lag.
	n := max(maxPeriods*c.pitchMax+c.pitchMax/4, c.corrLen+c.pitchMax) + 4
	c.hist = make([]int16, n)
	c.pbuf = make([]float32, n)
	c.tail = make([]float32, c.pitchMax/4+1)
	c.ola = make([]float32, c.pitchMax/4+1)
	return c, nil
}

// SampleRate returns the rate New was given.
func (c *Concealer) SampleRate() int { return c.rate }

// String describes the stage for a processing chain's log line.
func (c *Concealer) String() string {
	return fmt.Sprintf("plc g711-appendix-i %d Hz", c.rate)
}

// Reset forgets the history, as at the start of a new stream, so nothing
// of the previous stream is ever repeated into the next one.
func (c *Concealer) Reset() {
	clear(c.hist)
	c.head = 0
	c.erased, c.olaN, c.olaPos = 0, 0, 0
}

// Good records a frame that is being played: a decoded packet, and also
// silence or comfort noise played in a pause, so that the history is what
// the listener heard. If it is the first frame after concealed ones, its
// start is overlap-added with the continuing synthetic signal in place
// (appendix I.2.4), so the return to real speech does not click. Good does
// not allocate.
func (c *Concealer) Good(frame []int16) {
	if c.erased > 0 {
		c.merge(frame)
		c.erased = 0
	}
	c.remember(frame)
}

// Conceal fills dst, one lost frame of any length, with synthetic speech:
// the last pitch period (found by normalised autocorrelation over the
// history) repeated, growing to two and three periods after 10 and 20 ms
// to avoid a buzz (appendix I.2.2, I.2.3), fading from full level with a
// time constant of 2 to 12 ms depending on how periodic the history was,
// and silent from 60 ms on. Conceal does not allocate.
func (c *Concealer) Conceal(dst []int16) {
	rest := dst
	for len(rest) > 0 {
		if c.erased >= silentUnits*c.unit {
			clear(rest)
			c.erased = min(c.erased+len(rest), (silentUnits+1)*c.unit)
			c.gain = 0
			break
		}
		if c.erased%c.unit == 0 {
			switch k := c.erased / c.unit; {
			case k == 0:
				c.begin()
			case k < maxPeriods:
				c.addPeriod()
			}
		}
		n := min(len(rest), c.unit-c.erased%c.unit)
		for i := range n {
			rest[i] = saturate(c.next() * c.gain)
			c.gain *= c.decay
		}
		c.erased += n
		rest = rest[n:]
	}
	c.remember(dst)
}

// merge fades frame, the first good one after an erasure, in over the
// continuing synthetic signal (the appendix's overlapaddatend). The
// appendix overlaps a quarter pitch period plus 4 ms per 10 ms erased, at
// most 10 ms, to hide the synthetic signal's phase drift; that length is
// scaled by the synthetic signal's remaining level, since a faded signal
// has no phase to hide and a long fade-in would only attenuate the real
// speech, but kept to at least 2.5 ms so that speech resuming at full
// level after a faded erasure does not start with a click.
func (c *Concealer) merge(frame []int16) {
	units := (c.erased + c.unit - 1) / c.unit
	olen := c.ov + (units-1)*c.eOverlap
	olen = max(c.unit/4, int(float32(olen)*c.gain))
	n := min(olen, c.unit, len(frame))
	step := 1 / float32(max(n, 1))
	for i := range n {
		w := float32(i+1) * step
		frame[i] = saturate((1-w)*c.gain*c.next() + w*float32(frame[i]))
	}
}

// remember appends played samples to the history. It runs for every frame of
// every call, so the history is a ring that takes the new samples over the
// oldest: a frame writes its own length, where shifting the history would
// read and write all of it, cache lines the next call's tick then misses.
// Putting the samples in order (history) and the conversion to float wait
// for an erasure.
func (c *Concealer) remember(s []int16) {
	h := c.hist
	if len(s) >= len(h) {
		copy(h, s[len(s)-len(h):])
		c.head = 0
		return
	}
	n := copy(h[c.head:], s)
	copy(h, s[n:])
	c.head = (c.head + len(s)) % len(h)
}

// history puts the ring in order, oldest first, and returns it: the start of
// an erasure reads it as a signal. pbuf, which begin overwrites next, holds
// the samples meanwhile, so this does not allocate.
func (c *Concealer) history() []int16 {
	if c.head != 0 {
		h, n := c.hist, len(c.hist)
		for i := range h {
			c.pbuf[i] = float32(h[(c.head+i)%n])
		}
		for i, v := range c.pbuf[:n] {
			h[i] = int16(v)
		}
		c.head = 0
	}
	return c.hist
}

func saturate(v float32) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}
