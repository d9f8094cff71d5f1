package dtmf

import (
	"errors"
	"math"
	"math/cmplx"
)

// ErrSampleRate means a PCM sample rate the in-band detector or tone
// generator does not handle. They work at the rates of the codecs hotline
// decodes to: 8000 (G.711), 16000 (G.722) and 48000 Hz (Opus).
var ErrSampleRate = errors.New("dtmf: unsupported sample rate")

// The DTMF frequency pairs of ITU-T Q.23 (keypad rows: low group; columns:
// high group). Read-only tables.
var (
	lowFreqs  = [4]float64{697, 770, 852, 941}
	highFreqs = [4]float64{1209, 1336, 1477, 1633}
)

// keypad is indexed by row*4+column.
const keypad = "123A456B789C*0#D"

// Detection parameters. Each limit cites the ITU-T Q.23 (sender) or Q.24
// (receiver) figure it implements and the margin chosen; inband_test.go
// measures them with tones made by sox.
const (
	// halfBlock8k is half the Goertzel block at 8000 Hz: 102 samples
	// (12.75 ms) put the DFT nulls 78.4 Hz apart, close to the spacing of
	// neighbouring DTMF frequencies, so each filter barely sees its
	// neighbours. A block is analysed every half block (6.375 ms).
	halfBlock8k = 51

	// operateMs is how long a tone must have lasted to be a digit. Q.24:
	// tones of 40 ms must operate, tones of 23 ms must not. The length is
	// measured from the amplitude of the blocks at the tone's edges, so
	// it hardly depends on how the tone falls on the block grid: measured
	// over every digit and alignment, tones up to 32 ms are never
	// reported and tones from 38 ms always are.
	operateMs = 34
	// minRun valid blocks in a row are needed before the frequency can
	// be measured over one block's lag (blocks 1 and 3 do not overlap).
	minRun = 3
	// pauseBlocks blocks in a row without the held digit release it, so
	// that the next tone of the same digit is a new key press. Q.24:
	// pauses of 40 ms separate digits; interruptions of 10 ms do not.
	// Measured: gaps up to 26 ms are always bridged (a lost packet, a
	// bad keypad contact), gaps from 34 ms always separate.
	pauseBlocks = 6

	// minLevelDBm0 is the weakest tone, per frequency, that is accepted.
	// Q.24 receivers operate from -25 dBm0 per tone; the 5 dB margin
	// covers line loss spread and partly filled blocks. There is no
	// upper limit: 16-bit PCM cannot carry two tones of more than about
	// -3 dBm0 each unclipped, and a clipped digit is still a digit.
	minLevelDBm0 = -30
	// Twist is the level difference between the tones. Q.24: the
	// low-group tone may be up to 8 dB louder than the high one (normal
	// twist: lines lose more at high frequencies), the high one up to
	// 4 dB louder (reverse twist: phones send it about 2 dB louder).
	// twistMarginDB keeps signals at the limits accepted although a tone
	// 1.5 % off frequency reads up to 1.4 dB low in its filter.
	maxNormalTwistDB  = 8
	maxReverseTwistDB = 4
	twistMarginDB     = 1
	// minDominance is the share of the block's energy the two tones must
	// hold (the signal-to-other-energy check). Speech and music spread
	// their energy over many frequencies; a chord of three equal sines,
	// one of them a DTMF pair, holds 2/3 in two and fails. Measured with
	// white noise: every digit of 100 ms is found down to 6 dB SNR, of
	// 40 ms down to 7 dB, and none is reported twice or wrongly at any SNR.
	minDominance = 0.72
	// groupMarginDB: in each group the winning frequency must be this
	// much stronger than the other three, so two tones of one group (not
	// a digit) are rejected. A tone 1.5 % off frequency still leaks at
	// least 11.7 dB less into its neighbour's filter.
	groupMarginDB = 8
	// harmonicMarginDB: the second harmonic of each tone must be this
	// much weaker than the tone. Q.23 requires senders to keep distortion
	// products 20 dB below the tones, which leaves 10 dB for codecs and
	// lines; voices and instruments have strong harmonics. The check is skipped
	// for the five digits whose low-tone harmonic lies within
	// harmonicClearance of their own high tone (2x697 = 1394 Hz beside
	// 1336 Hz, for example), which no 12.75 ms filter can separate.
	harmonicMarginDB  = 10
	harmonicClearance = 120 // Hz
	// maxDeviation is the largest accepted frequency error of either
	// tone, measured over the tone's first 34 ms: midway between Q.24's
	// "operate within 1.5 %" and "do not operate beyond 3.5 %", and above
	// the 1.8 % Q.23 allows senders. Measured: 2 % is always accepted,
	// 3 % always rejected.
	maxDeviation = 0.025

	// fullScaleDBm0 is the level of a full-scale sine in 16-bit PCM:
	// G.711 puts the largest μ-law sine at +3.17 dBm0, so 0 dBm0 is a sine
	// 3.17 dB below full scale (peak 22748, RMS 16086).
	fullScaleDBm0 = 3.17
)

// nFilters counts the Goertzel filters: the 8 DTMF frequencies (4 low,
// then 4 high) followed by their second harmonics in the same order.
const nFilters = 16

// dBm0Peak returns the peak amplitude, in 16-bit sample units, of a sine at
// level dBm0 (see fullScaleDBm0).
func dBm0Peak(level float64) float64 {
	return 32768 * math.Pow(10, (level-fullScaleDBm0)/20)
}

// Detector recognises DTMF digits sent in-band, as tones in the audio, for
// carriers and gateways that neither negotiate RFC 4733 nor send SIP INFO.
//
// It runs 16 Goertzel filters, the 8 DTMF frequencies and their second
// harmonics, over blocks of 12.75 ms (102 samples at 8000 Hz, 204 at
// 16000 Hz), one block every 6.375 ms. A block holds a digit when it passes
// the checks of ITU-T Q.24: one tone from each group at -30 dBm0 or more;
// twist within 4 dB reverse and 8 dB normal (plus 1 dB); each tone at least
// 8 dB above the rest of its group; the two tones holding at least 72 % of
// the block's energy; second harmonics 10 dB down.
//
// A run of such blocks is a digit once the tone has lasted 34 ms, measured
// to within about 2 ms (Q.24: tones of 40 ms must be recognised, tones of
// 23 ms must not), and only if both frequencies, measured from the phase
// advance of the filters over that time, are within 2.5 % of nominal (Q.24:
// recognise within 1.5 %, never beyond 3.5 %).
//
// A digit is reported as soon as it is recognised, not when the key is
// released, so a prompt can be interrupted at once. A held key is one
// digit: the same digit is reported again only after a pause of about 30 ms
// (Q.24: a 40 ms pause separates digits; shorter interruptions, such as a
// lost packet, are bridged). A different digit needs no pause.
//
// A Detector handles one stream of mono 16-bit PCM. It is not safe for
// concurrent use; it belongs to the goroutine that decodes the call's
// audio. Process never allocates once the Detector is built.
type Detector struct {
	rate     int
	half     int     // samples per half block
	blockHz  float64 // rate / block length: the period of the fine estimate
	minPower float64 // block DFT power of a tone at minLevelDBm0
	operate  float64 // operateMs in samples
	lim      limits

	// Filter constants, per filter.
	coef [nFilters]float64    // 2cos(ω), the Goertzel recursion
	step [nFilters]complex128 // e^{-jω}, finishing a half block
	fin  [nFilters]complex128 // e^{-jω(half-1)}: DFT phase at the half's start
	rot  [nFilters]complex128 // e^{-jω·half}: moves a half block to the block's time base

	// Running state of the current half block.
	s1, s2 [nFilters]float64
	energy float64
	pos    int

	// The previous half block, and the fundamentals of the last two
	// blocks for the frequency estimate over one block's lag.
	prev     [nFilters]complex128
	prevE    float64
	havePrev bool
	hist     [2][8]complex128

	// Digit state machine.
	cand     byte // digit of the current run of valid blocks, 0 if none
	run      int  // length of that run
	decided  bool // the run was reported or rejected
	row, col int  // the candidate's tones
	// The tone's amplitude in the block before the run, the run's first
	// and latest blocks, and summed over the blocks between.
	beforeAmp, firstAmp, lastAmp, innerAmp float64
	coarse                                 [2]complex128
	fine                                   [2]complex128
	held                                   byte // last reported digit, until a pause releases it
	gap                                    int  // blocks since held was last seen
	outBuf                                 [16]byte
	out                                    []byte
}

// limits holds the dB thresholds as power ratios.
type limits struct {
	reverseTwist, normalTwist, group, harmonic float64
}

// NewDetector returns a Detector for mono 16-bit PCM at sampleRate, which
// must be 8000, 16000 or 48000 Hz (ErrSampleRate otherwise).
func NewDetector(sampleRate int) (*Detector, error) {
	if !toneRate(sampleRate) {
		return nil, ErrSampleRate
	}
	d := &Detector{
		rate: sampleRate,
		half: halfBlock8k * sampleRate / 8000,
		lim: limits{
			reverseTwist: dB(maxReverseTwistDB + twistMarginDB),
			normalTwist:  dB(maxNormalTwistDB + twistMarginDB),
			group:        dB(groupMarginDB),
			harmonic:     dB(harmonicMarginDB),
		},
	}
	d.blockHz = float64(sampleRate) / float64(2*d.half)
	d.operate = float64(operateMs * sampleRate / 1000)
	for i := range nFilters {
		f := filterFreq(i)
		w := 2 * math.Pi * f / float64(sampleRate)
		d.coef[i] = 2 * math.Cos(w)
		d.step[i] = cmplx.Exp(complex(0, -w))
		d.fin[i] = cmplx.Exp(complex(0, -w*float64(d.half-1)))
		d.rot[i] = cmplx.Exp(complex(0, -w*float64(d.half)))
	}
	// A sine of amplitude A over a block of n samples gives a DFT
	// magnitude of A*n/2.
	a := dBm0Peak(minLevelDBm0) * float64(d.half)
	d.minPower = a * a
	d.out = d.outBuf[:0]
	return d, nil
}

// toneRate reports whether the in-band code handles rate.
func toneRate(rate int) bool {
	return rate == 8000 || rate == 16000 || rate == 48000
}

// filterFreq returns the centre frequency of filter i.
func filterFreq(i int) float64 {
	switch {
	case i < 4:
		return lowFreqs[i]
	case i < 8:
		return highFreqs[i-4]
	case i < 12:
		return 2 * lowFreqs[i-8]
	}
	return 2 * highFreqs[i-12]
}

// Reset forgets all audio and digit state, for when the stream is replaced
// (re-INVITE, hold). The sample rate is kept.
func (d *Detector) Reset() {
	*d = Detector{
		rate: d.rate, half: d.half, blockHz: d.blockHz,
		minPower: d.minPower, operate: d.operate, lim: d.lim,
		coef: d.coef, step: d.step, fin: d.fin, rot: d.rot,
	}
	d.out = d.outBuf[:0]
}

// Process consumes pcm, any number of samples, and returns the digits
// recognised in it, in order: usually none, at most one per 40 ms of audio.
// The returned slice belongs to the Detector and is valid until the next
// call. Frames may be of any length; state carries over between calls.
//
// Process does not allocate, except to grow its digit buffer the first time
// a single call yields more than 16 digits (over half a second of audio).
func (d *Detector) Process(pcm []int16) []byte {
	d.out = d.out[:0]
	for len(pcm) > 0 {
		n := min(len(pcm), d.half-d.pos)
		d.filter(pcm[:n])
		pcm = pcm[n:]
		d.pos += n
		if d.pos == d.half {
			d.endHalf()
		}
	}
	return d.out
}

// filter runs the Goertzel recursion s[n] = x[n] + 2cos(ω)s[n-1] - s[n-2]
// of every filter over pcm, which lies within one half block.
func (d *Detector) filter(pcm []int16) {
	s1, s2, c := d.s1, d.s2, d.coef
	e := d.energy
	for _, v := range pcm {
		x := float64(v)
		e += x * x
		for i := range nFilters {
			s := x + c[i]*s1[i] - s2[i]
			s2[i] = s1[i]
			s1[i] = s
		}
	}
	d.s1, d.s2, d.energy = s1, s2, e
}

// endHalf finishes a half block: its DFT at each filter frequency, then the
// analysis of the block made of it and the previous half.
func (d *Detector) endHalf() {
	var cur [nFilters]complex128
	for i := range nFilters {
		// After the recursion, s1 - e^{-jω}s2 = Σ x[n]e^{jω(half-1-n)}.
		y := complex(d.s1[i], 0) - d.step[i]*complex(d.s2[i], 0)
		cur[i] = y * d.fin[i]
	}
	curE := d.energy
	d.s1, d.s2, d.energy, d.pos = [nFilters]float64{}, [nFilters]float64{}, 0, 0
	if d.havePrev {
		d.block(&cur, d.prevE+curE)
	}
	d.prev, d.prevE, d.havePrev = cur, curE, true
}

// block analyses the block made of d.prev and cur, with energy e, and runs
// the digit state machine.
func (d *Detector) block(cur *[nFilters]complex128, e float64) {
	// The block's DFT is the first half's plus the second's moved to the
	// block's time base.
	var x [nFilters]complex128
	var p [nFilters]float64
	for i := range nFilters {
		x[i] = d.prev[i] + d.rot[i]*cur[i]
		p[i] = sqAbs(x[i])
	}
	digit, row, col := d.classify(&p, e)
	d.track(digit, row, col, cur, &x)
	d.hist[1] = d.hist[0]
	copy(d.hist[0][:], x[:8])
}

// classify applies the per-block checks of Q.24 and returns the digit the
// block holds, or 0.
func (d *Detector) classify(p *[nFilters]float64, e float64) (digit byte, row, col int) {
	row, col = argmax4(p[0:4]), argmax4(p[4:8])
	pr, pc := p[row], p[4+col]
	n := float64(2 * d.half)
	switch {
	case pr < d.minPower || pc < d.minPower:
		return 0, 0, 0
	case pc > pr*d.lim.reverseTwist || pr > pc*d.lim.normalTwist:
		return 0, 0, 0
	case pr+pc < minDominance*e*n/2: // a pure tone gives |X|² = E·n/2
		return 0, 0, 0
	}
	for i := range 4 {
		if i != row && p[i]*d.lim.group > pr {
			return 0, 0, 0
		}
		if i != col && p[4+i]*d.lim.group > pc {
			return 0, 0, 0
		}
	}
	if p[12+col]*d.lim.harmonic > pc {
		return 0, 0, 0
	}
	if math.Abs(2*lowFreqs[row]-highFreqs[col]) > harmonicClearance && p[8+row]*d.lim.harmonic > pr {
		return 0, 0, 0
	}
	return keypad[row*4+col], row, col
}

// track runs the timing rules of Q.24 over the per-block results and
// reports digits.
func (d *Detector) track(digit byte, row, col int, cur, x *[nFilters]complex128) {
	if digit != 0 && digit == d.cand {
		d.run++
		if d.run >= 3 {
			d.innerAmp += d.lastAmp
		}
		d.lastAmp = toneAmp(x[:], row, col)
	} else {
		if d.cand != 0 && !d.decided && d.run >= minRun {
			// The run has ended, undecided: a short tone, now
			// measured with the block after it.
			d.decide(d.cand, toneAmp(x[:], d.row, d.col))
		}
		d.cand, d.run, d.decided = digit, 0, false
		d.coarse, d.fine = [2]complex128{}, [2]complex128{}
		if digit != 0 {
			d.run = 1
			d.row, d.col = row, col
			d.beforeAmp = toneAmp(d.hist[0][:], row, col)
			d.firstAmp = toneAmp(x[:], row, col)
			d.lastAmp, d.innerAmp = d.firstAmp, 0
		}
	}
	if digit != 0 {
		// Frequency evidence. Coarse: the phase advance from the first
		// half block to the second (lag of half a block, unambiguous to
		// ±157 Hz, noisy). Fine: the advance from the block before last
		// to this one (lag of a block, precise, ambiguous modulo 78 Hz).
		for k, i := range [2]int{row, 4 + col} {
			d.coarse[k] += d.rot[i] * cur[i] * cmplx.Conj(d.prev[i])
			if d.run >= minRun {
				d.fine[k] += x[i] * cmplx.Conj(d.hist[1][i]) * d.rot[i] * d.rot[i]
			}
		}
	}
	if digit != 0 && digit == d.held {
		d.gap = 0
	} else if d.held != 0 {
		if d.gap++; d.gap >= pauseBlocks {
			d.held = 0
		}
	}
	if digit != 0 && !d.decided && d.run >= minRun {
		d.decide(digit, 0)
	}
}

// decide reports the current run's digit once its tone has lasted the
// operate time, unless it is the held digit or off frequency. afterAmp is
// the tone's amplitude in the block after the run, 0 while it goes on.
func (d *Detector) decide(digit byte, afterAmp float64) {
	if !(d.toneLength(afterAmp) >= d.operate) { // NaN-proof
		return
	}
	d.decided = true
	if digit != d.held && d.inTolerance() {
		d.out = append(d.out, digit)
		d.held, d.gap = digit, 0
	}
}

// toneAmp returns the summed DFT magnitude of a digit's two tones.
func toneAmp(x []complex128, row, col int) float64 {
	return cmplx.Abs(x[row]) + cmplx.Abs(x[4+col])
}

// toneLength estimates, in samples, how long the current run's tone has
// lasted, given the tone's amplitude in the block after the run (0 while
// the run goes on).
//
// A block's amplitude is proportional to the share of it the tone fills,
// measured against the inner blocks of the run, which the tone fills (their
// average, as they vary by up to ±9 % while the two tones leak into each
// other's filters). The run's K blocks cover half blocks h0..hK; the tone
// fills h1..hK-1. At the start, block 1 filled to c1 means the tone fills
// 2c1-1 of h0, and if block 1 is full the block before it, filled to c0,
// adds 2c0-1 from the half block before h0. Likewise at the end. Counting
// those edge blocks keeps the estimate within about 2 ms whatever the
// alignment of the tone to the blocks.
func (d *Detector) toneLength(afterAmp float64) float64 {
	full := d.innerAmp / float64(d.run-2)
	share := func(a float64) float64 { return min(1, a/full) }
	lead := 2*share(d.firstAmp) - 1 + max(0, 2*share(d.beforeAmp)-1)
	tail := 2*share(d.lastAmp) - 1 + max(0, 2*share(afterAmp)-1)
	return float64(d.half) * (float64(d.run) - 1 + lead + tail)
}

// inTolerance reports whether both tones of the current candidate are
// within maxDeviation of their nominal frequencies. The fine estimate is
// exact to well under 1 Hz but only modulo blockHz; the coarse one picks
// the right multiple.
func (d *Detector) inTolerance() bool {
	halfHz := float64(d.rate) / float64(d.half)
	for k, f := range [2]float64{lowFreqs[d.row], highFreqs[d.col]} {
		dev := cmplx.Phase(d.coarse[k]) / (2 * math.Pi) * halfHz
		if d.fine[k] != 0 {
			fine := cmplx.Phase(d.fine[k]) / (2 * math.Pi) * d.blockHz
			dev = fine + math.Round((dev-fine)/d.blockHz)*d.blockHz
		}
		if math.Abs(dev) > maxDeviation*f {
			return false
		}
	}
	return true
}

// argmax4 returns the index of the largest of four values.
func argmax4(p []float64) int {
	best := 0
	for i := 1; i < 4; i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

// dB converts a level difference in dB to a power ratio.
func dB(x float64) float64 { return math.Pow(10, x/10) }

func sqAbs(c complex128) float64 { return real(c)*real(c) + imag(c)*imag(c) }
