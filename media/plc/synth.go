package plc

import "math"

// begin starts an erasure: freeze the history, find the pitch, set up a
// one-period segment whose wrap-around is smoothed (I.2.2) and the fade.
func (c *Concealer) begin() {
	h := c.history()
	for i, v := range h {
		c.pbuf[i] = float32(v)
	}
	c.pitch, c.voicing = c.findPitch()
	c.ov = max(1, int(c.pitch/4))
	end := len(c.pbuf)
	copy(c.tail[:c.ov], c.pbuf[end-c.ov:])
	c.seg, c.pos = c.pitch, 0
	c.olaN, c.olaPos = 0, 0
	c.smoothWrap()
	// Spread the step from the extrapolated last real sample to the first
	// synthetic one, so the junction changes no faster than the signal did
	// over the last period: the appendix overlap-adds the junction into
	// delayed output, which hotline does not keep. A periodic history has
	// no step, and the correction is nil.
	pred := 2*float32(h[end-1]) - float32(h[end-2])
	c.step = pred - c.at(float64(end)-c.seg)
	var slope float32
	p := int(c.pitch)
	for i := end - p; i < end; i++ {
		slope += abs32(float32(h[i]) - float32(h[i-1]))
	}
	slope = max(slope/float32(p), 1)
	c.stepLen = min(max(c.ov, int(abs32(c.step)/slope)+1), p)
	c.stepPos = 0
	tau := fadeAperiodicMs + (fadePeriodicMs-fadeAperiodicMs)*c.voicing*c.voicing
	c.gain = 1
	c.decay = float32(math.Exp(-1000 / (tau * float64(c.rate))))
}

// addPeriod lengthens the repeated segment by one pitch period (at 10 and
// 20 ms, I.2.3): repeating a single period for long sounds buzzy. The old
// continuation is faded into the new one over a quarter period.
func (c *Concealer) addPeriod() {
	save := c.pos
	for i := range c.ov {
		c.ola[i] = c.segment()
	}
	// Continue at the same phase in the oldest period of the longer
	// segment, so that all of it plays before the next wrap.
	c.pos = math.Mod(save, c.pitch)
	c.seg += c.pitch
	c.smoothWrap()
	c.olaN, c.olaPos = c.ov, 0
}

// smoothWrap overlap-adds the last quarter period of the segment with the
// quarter period before the segment's start, so that jumping from the end
// back to the start continues the waveform (the appendix's first
// overlapadd call). It always starts from the original tail, so the
// segment can be lengthened and smoothed again.
func (c *Concealer) smoothWrap() {
	end := len(c.pbuf)
	src := float64(end) - c.seg - float64(c.ov) // before the segment's start
	dst := c.pbuf[end-c.ov:]
	step := 1 / float32(c.ov)
	for i := range c.ov {
		w := float32(i+1) * step
		dst[i] = (1-w)*c.tail[i] + w*c.at(src+float64(i))
	}
}

// next returns the next synthetic sample before the fade: the segment, the
// previous segment fading out after a period change, and the junction
// correction fading out at the start.
func (c *Concealer) next() float32 {
	v := c.segment()
	if c.olaPos < c.olaN {
		w := float32(c.olaPos+1) / float32(c.olaN)
		v = (1-w)*c.ola[c.olaPos] + w*v
		c.olaPos++
	}
	if c.stepPos < c.stepLen {
		v += c.step * (1 - float32(c.stepPos)/float32(c.stepLen))
		c.stepPos++
	}
	return v
}

// segment returns the next sample of the repeated segment.
func (c *Concealer) segment() float32 {
	v := c.at(float64(len(c.pbuf)) - c.seg + c.pos)
	if c.pos++; c.pos >= c.seg {
		c.pos -= c.seg
	}
	return v
}

// at reads pbuf at a fractional index with a Catmull-Rom cubic, so that a
// pitch period between two integers repeats without the phase drift that
// rounding it would add (a 0.5-sample error every 10 ms period turns a
// 2 kHz harmonic by 0.8 rad). Past the end it continues one segment back,
// which is where the segment wraps to.
func (c *Concealer) at(x float64) float32 {
	i := int(math.Floor(x))
	mu := float32(x - float64(i))
	var p0, p1, p2, p3 float32
	if i >= 1 && i+2 < len(c.pbuf) {
		p := c.pbuf[i-1 : i+3]
		p0, p1, p2, p3 = p[0], p[1], p[2], p[3]
	} else {
		p0, p1, p2, p3 = c.tap(i-1), c.tap(i), c.tap(i+1), c.tap(i+2)
	}
	a := 0.5*(p3-p0) + 1.5*(p1-p2)
	b := p0 - 2.5*p1 + 2*p2 - 0.5*p3
	d := 0.5 * (p2 - p0)
	return ((a*mu+b)*mu+d)*mu + p1
}

func (c *Concealer) tap(i int) float32 {
	if i >= len(c.pbuf) {
		i -= int(math.Round(c.seg))
	}
	return c.pbuf[max(0, min(i, len(c.pbuf)-1))]
}

// findPitch estimates the pitch period at the end of pbuf (I.2.2): the lag
// between pitchMin and pitchMax whose window best matches the last corrLen
// samples by normalised cross-correlation, searched coarsely on every
// ndec-th sample, refined around the best lag at full resolution, then to
// a fraction of a sample by parabolic interpolation. Ties go to the
// shorter lag, as in the appendix. It also returns the cosine similarity
// of the two windows as a measure of periodicity.
func (c *Concealer) findPitch() (lag, voicing float64) {
	x := c.pbuf
	end := len(x)
	ref := x[end-c.corrLen:]
	cand := func(l int) []float32 { return x[end-c.corrLen-l:] }
	best, l := math.Inf(-1), c.pitchMax
	floor := corrMinPower * float64((c.corrLen+c.ndec-1)/c.ndec) / 80
	for k := c.pitchMax; k >= c.pitchMin; k -= c.ndec {
		if s := score(ref, cand(k), c.ndec, floor); s >= best {
			best, l = s, k
		}
	}
	lo, hi := max(c.pitchMin, l-(c.ndec-1)), min(c.pitchMax, l+(c.ndec-1))
	floor = corrMinPower * float64(c.corrLen) / 80
	best = math.Inf(-1)
	for k := hi; k >= lo; k-- {
		if s := score(ref, cand(k), 1, floor); s > best {
			best, l = s, k
		}
	}
	// The vertex of the parabola through the scores of l-1, l and l+1.
	frac := 0.0
	if l > c.pitchMin && l < c.pitchMax {
		sm, sp := score(ref, cand(l-1), 1, floor), score(ref, cand(l+1), 1, floor)
		if d := sm - 2*best + sp; d < 0 {
			frac = min(max(0.5*(sm-sp)/d, -0.5), 0.5)
		}
	}
	// best is normalised by the candidate's energy only; dividing by the
	// reference's too gives the cosine similarity.
	var e float64
	for _, v := range ref {
		e += float64(v) * float64(v)
	}
	return float64(l) + frac, min(max(best/math.Sqrt(max(e, floor)), 0), 1)
}

// score is the cross-correlation of ref with cand, normalised by cand's
// energy (at least floor, so near-silence does not produce a wild lag),
// over every step-th sample.
func score(ref, cand []float32, step int, floor float64) float64 {
	var e, r float64
	cand = cand[:len(ref)]
	for i := 0; i < len(ref); i += step {
		v := float64(cand[i])
		e += v * v
		r += v * float64(ref[i])
	}
	return r / math.Sqrt(max(e, floor))
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
