package codec

// ITU-T G.722 (09/2012) sub-band ADPCM: the tables and per-band state
// machine shared by the encoder and the decoder.
//
// G.722 splits 16 kHz audio into a lower and a higher sub-band, each
// sampled at 8 kHz (clause 3.1, Transmit QMF), and codes each with its own
// backward-adaptive ADPCM: the lower band with 6 bits (60 levels, clause
// 3.3), the higher band with 2 bits (4 levels). Both ends run the same
// quantizer adaptation (clause 3.5) and pole-zero predictor (clause 3.6)
// from the quantised difference signal only, so nothing but the 8-bit code
// crosses the wire. The blocks below are named as in the computational
// details of clauses 6 (lower sub-band, Blocks 1L-6L) and 7 (higher
// sub-band, Blocks 1H-6H); the arithmetic is the Recommendation's 16-bit
// fixed point, with its saturations, so that an encoder and a decoder built
// from different implementations stay in lock step. The structure follows
// the public-domain CMU/spandsp reference code, and the tests check this
// implementation bit for bit against spandsp 0.0.6.

// qmfCoeffs are the 24 QMF coefficients h0..h11 of clause 5 (the other 12
// mirror them: h(23-i) = h(i)), scaled by 2^13.
var qmfCoeffs = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}

// Lower sub-band, Block 1L QUANTL: decision levels of the 6-bit quantizer
// (in units of the scale factor / 2^12) and
// the codes chosen for an interval below (iln, negative difference) or
// above (ilp, positive difference) each level. Index 0 and 30-31 are unused
// guards.
var (
	q6 = [32]int{
		0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
	}
	iln = [32]int{
		0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0,
	}
	ilp = [32]int{
		0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0,
	}
)

// quantlIndex[t] is the QUANTL interval for a scaled magnitude threshold t,
// see quantl. Built once from q6 by init.
var quantlIndex [q6Max + 1]uint8

const q6Max = 2919 // q6[29], the highest decision level

func init() {
	i := 1
	for t := range quantlIndex {
		for i < 30 && q6[i] < t {
			i++
		}
		quantlIndex[t] = uint8(i)
	}
}

// quantl is Block 1L QUANTL: the 6-bit code for the lower-band difference
// el given the scale factor det. The Recommendation scans the decision
// levels for the first i with |el| < q6[i]*det >> 12 (with |el| taken as
// -(el+1) for negative el). For integers that is q6[i] >= t with
// t = ceil((|el|+1) << 12 / det), so one division and one table load give
// the same interval without the scan's unpredictable branches; the tests
// check the equivalence exhaustively.
func quantl(el, det int) int {
	wd := el
	if el < 0 {
		wd = -(el + 1)
	}
	t := ((wd+1)<<12 + det - 1) / det
	i := 30 // beyond the last decision level
	if t <= q6Max {
		i = int(quantlIndex[t])
	}
	if el < 0 {
		return iln[i]
	}
	return ilp[i]
}

// Lower sub-band, Block 5L INVQBL: reconstruction levels of the full 6-bit
// inverse quantizer, indexed by the 6-bit code (64 kbit/s mode 1).
var qm6 = [64]int{
	-136, -136, -136, -136, -24808, -21904, -19008, -16704,
	-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
	-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
	-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
	24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
	10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
	4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
	1688, 1360, 1040, 728, 432, 136, -432, -136,
}

// Lower sub-band, Block 2L INVQAL: the 4-bit inverse quantizer that feeds
// adaptation and prediction. Using only the top four bits of the code keeps
// encoder and decoder in step even when a network element steals the low
// one or two bits for data (the 56 and 48 kbit/s modes of clause 1.3).
var qm4 = [16]int{
	0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
	20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
}

// Lower sub-band, Block 3L LOGSCL: log scale-factor multipliers wl, indexed
// through rl42 by the 4-bit code's magnitude.
var (
	wl   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	rl42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
)

// Blocks 3L SCALEL and 3H SCALEH: the inverse log2 table mapping the
// fractional part of the log scale factor to a linear one.
var ilb = [32]int{
	2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
	2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
	2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
	3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
}

// Higher sub-band, Blocks 1H QUANTH, 2H INVQAH and 3H LOGSCH: the 2-bit
// quantizer's codes for a negative (ihn) or positive (ihp) difference, its
// reconstruction levels qm2, and the log scale-factor multipliers wh
// indexed through rh2.
var (
	ihn = [3]int{0, 1, 0}
	ihp = [3]int{0, 3, 2}
	qm2 = [4]int{-7408, -1616, 7408, 1616}
	wh  = [3]int{0, -214, 798}
	rh2 = [4]int{2, 1, 2, 1}
)

const (
	g722LowNBMax  = 18432 // Block 3L LOGSCL: upper limit of the lower-band log scale factor
	g722HighNBMax = 22528 // Block 3H LOGSCH: upper limit of the higher-band log scale factor
	g722LowShift  = 8     // Block 3L SCALEL: the lower band's scale-factor exponent offset
	g722HighShift = 10    // Block 3H SCALEH: the higher band's
	g722LowDet0   = 32    // initial lower-band scale factor (reset state, clause 6)
	g722HighDet0  = 8     // initial higher-band scale factor (reset state, clause 7)
)

// qmfLine is the 24-sample delay line of a QMF (clause 5), stored twice
// over so that the newest 24 samples are always contiguous: each push
// writes two samples in two places instead of shifting the whole line.
type qmfLine struct {
	buf [48]int
	h   int // where the next pair goes: 0, 2, ..., 22
}

// push appends samples a then b and returns the line, oldest first.
func (q *qmfLine) push(a, b int) *[24]int {
	h := q.h
	q.buf[h], q.buf[h+1], q.buf[h+24], q.buf[h+25] = a, b, a, b
	q.h = (h + 2) % 24
	return (*[24]int)(q.buf[h+2 : h+26])
}

// g722Band is the adaptive state of one sub-band, identical in the encoder
// and the decoder (Blocks 3 and 4). Values stay within 16 bits as in the
// Recommendation; int keeps the arithmetic free of conversions.
type g722Band struct {
	s  int    // predictor output: the estimate of the next sample (PREDIC)
	sz int    // zero-section output (FILTEZ)
	r  [3]int // reconstructed signal; r[1], r[2] are the two previous values
	p  [3]int // partially reconstructed signal (PARREC), same layout
	a  [3]int // second-order pole-section coefficients a1, a2 (index 0 unused)
	b  [7]int // sixth-order zero-section coefficients b1..b6 (index 0 unused)
	d  [7]int // quantised difference signal; d[1..6] are the previous six
	nb int    // log scale factor (LOGSCL / LOGSCH)
	de int    // linear scale factor "det" (SCALEL / SCALEH)
}

func (b *g722Band) reset(det int) {
	*b = g722Band{de: det}
}

// sat16 limits v to the 16-bit two's complement range, the saturation every
// block of the Recommendation applies to its results.
func sat16(v int) int {
	return min(max(v, -32768), 32767)
}

// scaleFactor implements Blocks 3L SCALEL and 3H SCALEH: det = 2^(nb/2048 +
// 2 - shift) in fixed point, looked up from the log scale factor.
func scaleFactor(nb, shift int) int {
	frac := (nb >> 6) & 31
	exp := shift - nb>>11
	var wd int
	if exp < 0 {
		wd = ilb[frac] << -exp
	} else {
		wd = ilb[frac] >> exp
	}
	return wd << 2
}

// adaptLow runs the lower band's Blocks 2L (INVQAL), 3L (LOGSCL, SCALEL) and
// 4L for the 4-bit truncated code il4, after the sample has been quantised
// or decoded with the current scale factor.
func (b *g722Band) adaptLow(il4 int) {
	d := (b.de * qm4[il4]) >> 15
	b.nb = min(max((b.nb*127)>>7+wl[rl42[il4]], 0), g722LowNBMax)
	b.de = scaleFactor(b.nb, g722LowShift)
	b.predict(d)
}

// adaptHigh runs the higher band's Blocks 2H (INVQAH), 3H (LOGSCH, SCALEH)
// and 4H for the 2-bit code ih.
func (b *g722Band) adaptHigh(ih int) {
	d := (b.de * qm2[ih]) >> 15
	b.nb = min(max((b.nb*127)>>7+wh[rh2[ih]], 0), g722HighNBMax)
	b.de = scaleFactor(b.nb, g722HighShift)
	b.predict(d)
}

// predict is Block 4 (identical for both bands): reconstruct the signal from
// the quantised difference d, update the pole and zero predictor
// coefficients by the sign-sign algorithms of clause 3.6, shift the delay
// lines and compute the next estimate s.
func (b *g722Band) predict(d int) {
	// RECONS and PARREC.
	b.r[0] = sat16(b.s + d)
	b.p[0] = sat16(b.sz + d)

	// UPPOL2: second pole coefficient (Q14), limited to |a2| <= 0.75.
	sg0, sg1, sg2 := b.p[0]>>15, b.p[1]>>15, b.p[2]>>15
	wd1 := sat16(b.a[1] << 2)
	wd2 := wd1
	if sg0 == sg1 {
		wd2 = -wd1
	}
	wd2 = min(wd2, 32767)
	wd3 := wd2 >> 7
	if sg0 == sg2 {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (b.a[2] * 32512) >> 15
	ap2 := min(max(wd3, -12288), 12288)

	// UPPOL1: first pole coefficient, limited so the pole pair stays stable
	// (|a1| <= 1 - 2^-4 - a2).
	wd1 = -192
	if sg0 == sg1 {
		wd1 = 192
	}
	ap1 := sat16(wd1 + (b.a[1]*32640)>>15)
	lim := sat16(15360 - ap2)
	ap1 = min(max(ap1, -lim), lim)

	// UPZERO: the six zero coefficients, leaking towards zero, each moved
	// by the sign agreement of d with the difference it weighs.
	step := 0
	if d != 0 {
		step = 128
	}
	sgd := d >> 15
	for i := 1; i < 7; i++ {
		w := -step
		if b.d[i]>>15 == sgd {
			w = step
		}
		b.b[i] = sat16(w + (b.b[i]*32640)>>15)
	}

	// DELAYA for the zero section, then FILTEZ: its output.
	b.d[6], b.d[5], b.d[4], b.d[3], b.d[2], b.d[1] = b.d[5], b.d[4], b.d[3], b.d[2], b.d[1], d
	sz := 0
	for i := 1; i < 7; i++ {
		sz += (b.b[i] * sat16(b.d[i]+b.d[i])) >> 15
	}
	b.sz = sat16(sz)

	// DELAYA for the pole section.
	b.r[2], b.r[1] = b.r[1], b.r[0]
	b.p[2], b.p[1] = b.p[1], b.p[0]
	b.a[1], b.a[2] = ap1, ap2

	// FILTEP: pole-section output.
	sp := sat16((b.a[1]*sat16(b.r[1]+b.r[1]))>>15 + (b.a[2]*sat16(b.r[2]+b.r[2]))>>15)

	// PREDIC.
	b.s = sat16(sp + b.sz)
}
