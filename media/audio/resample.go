package audio

import (
	"fmt"
	"math"
)

// resampleBlock is the number of input samples converted per inner pass; the
// work buffer holds this many plus the filter history.
const resampleBlock = 1024

// Resampler converts a stream of mono 16-bit PCM from one sample rate to
// another with a polyphase windowed-sinc FIR: the ratio is reduced to L/M,
// the signal is conceptually upsampled by L, low-pass filtered below the
// lower of the two Nyquist frequencies, and decimated by M, computing only
// the outputs that survive decimation (Crochiere & Rabiner, "Interpolation
// and Decimation of Digital Signals - A Tutorial Review", Proc. IEEE 69(3),
// 1981).
//
// A call leg keeps one Resampler per direction and feeds it frame after
// frame; the filter history carries over between calls, so frame
// boundaries are inaudible. After NewResampler nothing allocates. A
// Resampler is not safe for concurrent use. The zero value copies its input
// unchanged, like a Resampler between equal rates.
type Resampler struct {
	inRate, outRate int
	l, m            int       // reduced interpolation and decimation factors
	mDiv, mMod      int       // m / l and m % l: input and phase advance per output
	taps            int       // coefficients per phase (multiple of 4)
	coef            []float32 // l rows of taps, each in reverse time order
	work            []float32 // taps-1 samples of history, then one block of input
	delay           int       // group delay in upsampled samples

	// next is the work index of the newest input sample the next output
	// needs and phase its position between inputs, in 1/l steps.
	next, phase int
	// startNext and startPhase are the values Reset restores.
	startNext, startPhase int
}

// NewResampler returns a Resampler from inRate to outRate (both in Hz). Any
// rational ratio works as long as the reduced interpolation factor stays
// below 4096 and the filter table below 2 Mi coefficients, which covers
// every pair of the usual rates (8000, 11025, 16000, 22050, 24000, 32000,
// 44100, 48000). Equal rates give a pass-through copy.
func NewResampler(inRate, outRate int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inRate > maxWAVRate || outRate > maxWAVRate {
		return nil, fmt.Errorf("audio: resampling %d Hz to %d Hz: rates must be 1..%d Hz", inRate, outRate, maxWAVRate)
	}
	g := gcd(inRate, outRate)
	r := &Resampler{inRate: inRate, outRate: outRate, l: outRate / g, m: inRate / g}
	if r.l == r.m {
		return r, nil
	}
	if r.l > maxPhases {
		return nil, fmt.Errorf("audio: resampling %d Hz to %d Hz needs %d filter phases (max %d)",
			inRate, outRate, r.l, maxPhases)
	}
	lower := float64(min(inRate, outRate))
	n := filterLength(float64(inRate)*float64(r.l), (stopEdge-passEdge)*lower/2)
	// The table holds l rows of ceil(n/l) taps rounded up to a multiple of 4.
	if n+4*float64(r.l) > maxCoefficients {
		return nil, fmt.Errorf("audio: resampling %d Hz to %d Hz needs a %.0f-tap filter (max %d)",
			inRate, outRate, n, maxCoefficients)
	}
	if int(n)%2 == 0 {
		n++ // odd length: integral group delay
	}
	r.coef, r.taps, r.delay = designPolyphase(inRate, outRate, r.l, int(n))
	r.mDiv, r.mMod = r.m/r.l, r.m%r.l
	r.work = make([]float32, r.taps-1+max(resampleBlock, 2*r.taps))
	r.startNext = r.taps - 1
	r.Reset()
	return r, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// InRate returns the input sample rate in Hz.
func (r *Resampler) InRate() int { return r.inRate }

// OutRate returns the output sample rate in Hz.
func (r *Resampler) OutRate() int { return r.outRate }

// String describes the conversion for logs, e.g. "resample 8000->48000".
func (r *Resampler) String() string {
	return fmt.Sprintf("resample %d->%d", r.inRate, r.outRate)
}

// Delay returns the group delay the filter adds, in output samples: what
// enters as input sample t comes out at output sample
// t*outRate/inRate + Delay().
// Streams that must stay aligned (echo reference, recording of both legs)
// compensate with it; Resample does so automatically.
func (r *Resampler) Delay() float64 {
	if r.coef == nil {
		return 0
	}
	return float64(r.delay) / float64(r.m)
}

// OutLen returns an upper bound on the samples Process writes for n input
// samples. It does not depend on the Resampler's state, so a buffer sized
// once with OutLen(frameLen) fits every call with frameLen samples; the
// actual count varies by one between calls when the ratio does not divide
// the frame evenly (e.g. 22050->8000).
func (r *Resampler) OutLen(n int) int {
	if n <= 0 {
		return 0
	}
	if r.m == 0 { // zero Resampler: a pass-through copy
		return n
	}
	return int((int64(n)*int64(r.l) + int64(r.m) - 1) / int64(r.m))
}

// Reset clears the filter history, so the next Process starts a new stream
// as if the Resampler were new. It lets a pooled Resampler be reused for
// another call without redesigning the filter.
func (r *Resampler) Reset() {
	if r.coef == nil {
		return
	}
	clear(r.work)
	r.next, r.phase = r.startNext, r.startPhase
}

// Process consumes all of src and writes the resampled samples to dst,
// returning how many it wrote. dst must have room for OutLen(len(src))
// samples; if it is shorter, the samples that do not fit are dropped (the
// stream stays in time) rather than the call failing mid-stream. Samples
// are rounded and saturated to 16 bits. Process does not allocate.
func (r *Resampler) Process(dst, src []int16) int {
	if r.coef == nil {
		return copy(dst, src)
	}
	hist := r.taps - 1
	block := len(r.work) - hist
	written := 0
	next, phase := r.next, r.phase
	for len(src) > 0 {
		n := min(len(src), block)
		w := r.work[:hist+n]
		in := w[hist:]
		for i, s := range src[:n] {
			in[i] = float32(s)
		}
		src = src[n:]
		for next < len(w) {
			if written < len(dst) {
				c := r.coef[phase*r.taps : (phase+1)*r.taps]
				dst[written] = saturate16(dot(c, w[next-hist:next+1]))
				written++
			}
			phase += r.mMod
			next += r.mDiv
			if phase >= r.l {
				phase -= r.l
				next++
			}
		}
		// Keep the newest taps-1 samples as history for the next block.
		copy(w[:hist], w[n:])
		next -= n
	}
	r.next, r.phase = next, phase
	return written
}

// dot is the FIR inner product. Four independent accumulators let the CPU
// overlap the floating-point additions; len(c) is a multiple of 4.
func dot(c, x []float32) float32 {
	x = x[:len(c)]
	var s0, s1, s2, s3 float32
	for i := 0; i+3 < len(c); i += 4 {
		cc := c[i : i+4 : i+4]
		xx := x[i : i+4 : i+4]
		s0 += cc[0] * xx[0]
		s1 += cc[1] * xx[1]
		s2 += cc[2] * xx[2]
		s3 += cc[3] * xx[3]
	}
	return (s0 + s1) + (s2 + s3)
}

// saturate16 rounds to the nearest integer (halves away from zero) and
// clips to the int16 range.
func saturate16(v float32) int16 {
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

// Resample converts a whole clip, such as a synthesized or recorded prompt,
// from inRate to outRate. Unlike a bare Resampler it removes the filter's
// group delay and flushes its tail, so the result has exactly
// ceil(len(pcm)*outRate/inRate) samples and output sample i lines up with
// input time i*inRate/outRate. The input is not modified.
func Resample(pcm []int16, inRate, outRate int) ([]int16, error) {
	r, err := NewResampler(inRate, outRate)
	if err != nil {
		return nil, err
	}
	if r.coef == nil {
		return append([]int16(nil), pcm...), nil
	}
	want := r.OutLen(len(pcm))
	// Start the stream delay samples (upsampled) late, so output 0 is
	// centred on input 0, then feed enough zeros to flush the last outputs.
	r.startNext = r.taps - 1 + r.delay/r.l
	r.startPhase = r.delay % r.l
	r.Reset()
	pad := make([]int16, r.delay/r.l+2)
	out := make([]int16, r.OutLen(len(pcm))+r.OutLen(len(pad)))
	n := r.Process(out, pcm)
	n += r.Process(out[n:], pad)
	return out[:min(n, want)], nil
}
