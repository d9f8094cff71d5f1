package codec

import "fmt"

// G722 carried in RTP as RFC 3551 section 4.5.2 specifies: 16 kHz audio
// coded at 64 kbit/s (ITU-T G.722 mode 1), one octet per pair of samples,
// static payload type 9. Because of an error in RFC 1890 that later
// standards kept for compatibility, the RTP clock rate (and the rtpmap
// line) says 8000 although the audio is sampled at 16000 Hz: the timestamp
// advances by 160 per 20 ms packet of 320 samples.

const (
	g722ClockRate   = 8000  // RFC 3551 section 4.5.2: rtpmap and timestamps
	g722SampleRate  = 16000 // what the codec actually samples
	g722PayloadType = 9     // RFC 3551 table 4
)

// G722 is ITU-T G.722 sub-band ADPCM at 64 kbit/s (RFC 3551 section 4.5.2,
// static payload type 9): wideband 50-7000 Hz speech at the bit rate of
// G.711, at the cost of a little CPU. Its Encoder consumes 16 kHz PCM in
// pairs and writes one octet per pair (160 octets per 20 ms); ClockRate is
// 8000 and SampleRate 16000, so RTP timestamp arithmetic must use the
// former. Lookup and All never depend on this variable.
var G722 Codec = g722{}

// Compile-time checks.
var (
	_ Codec   = g722{}
	_ Encoder = (*g722Encoder)(nil)
	_ Decoder = (*g722Decoder)(nil)
)

// errG722OddFrame is prebuilt so that returning it allocates nothing.
var errG722OddFrame = fmt.Errorf("codec: G722 encode: odd number of samples (G.722 codes pairs): %w", ErrFrameSize)

type g722 struct{}

func (g722) Name() string           { return "G722" }
func (g722) ClockRate() int         { return g722ClockRate }
func (g722) SampleRate() int        { return g722SampleRate }
func (g722) Channels() int          { return 1 }
func (g722) StaticPayloadType() int { return g722PayloadType }
func (g722) String() string         { return "G722/8000" }

func (g722) NewEncoder() (Encoder, error) {
	e := &g722Encoder{}
	e.low.reset(g722LowDet0)
	e.high.reset(g722HighDet0)
	return e, nil
}

func (g722) NewDecoder() (Decoder, error) {
	d := &g722Decoder{}
	d.low.reset(g722LowDet0)
	d.high.reset(g722HighDet0)
	return d, nil
}

// g722Encoder holds the transmit QMF history and the two sub-band ADPCM
// states of one call leg; the state runs on across frames, so splitting a
// signal into packets does not change the bits.
type g722Encoder struct {
	qmf  qmfLine // transmit QMF delay line
	low  g722Band
	high g722Band
}

// Encode codes len(pcm)/2 octets from pcm, which must hold an even number
// of 16 kHz samples. It returns ErrShortBuffer if dst is shorter than that
// and an error wrapping ErrFrameSize for an odd sample count.
func (e *g722Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(pcm)%2 != 0 {
		return 0, errG722OddFrame
	}
	n := len(pcm) / 2
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = e.encodePair(int(pcm[2*i]), int(pcm[2*i+1]))
	}
	return n, nil
}

// encodePair splits two input samples into one lower and one higher
// sub-band sample and codes both into one octet: higher-band code in the
// two most significant bits, lower-band code in the other six (clause 1.4).
func (e *g722Encoder) encodePair(s0, s1 int) byte {
	// Transmit QMF (clauses 3.1 and 5): a 24-tap filter pair evaluated at
	// 8 kHz on the even- and odd-indexed inputs.
	x := e.qmf.push(s0, s1)
	var sumOdd, sumEven int
	for i, h := range qmfCoeffs {
		sumOdd += x[2*i] * h
		sumEven += x[2*i+1] * qmfCoeffs[11-i]
	}
	xlow := (sumEven + sumOdd) >> 14
	xhigh := (sumEven - sumOdd) >> 14

	// Lower band, Block 1L: SUBTRA and QUANTL.
	ilow := quantl(sat16(xlow-e.low.s), e.low.de)
	e.low.adaptLow(ilow >> 2)

	// Higher band, Block 1H: SUBTRA and QUANTH (one decision level).
	eh := sat16(xhigh - e.high.s)
	wd := eh
	if eh < 0 {
		wd = -(eh + 1)
	}
	mih := 1
	if wd >= (564*e.high.de)>>12 {
		mih = 2
	}
	ihigh := ihp[mih]
	if eh < 0 {
		ihigh = ihn[mih]
	}
	e.high.adaptHigh(ihigh)

	return byte(ihigh<<6 | ilow)
}

// g722Decoder holds the two sub-band ADPCM states and the receive QMF
// history of one call leg.
type g722Decoder struct {
	qmf  qmfLine // receive QMF delay line
	low  g722Band
	high g722Band
}

// Decode writes two 16 kHz samples per payload octet into dst. It returns
// ErrShortBuffer if dst holds fewer than 2*len(payload) samples. Every
// octet is a valid code, so Decode never fails otherwise; an empty payload
// decodes to nothing.
func (d *g722Decoder) Decode(dst []int16, payload []byte) (int, error) {
	n := 2 * len(payload)
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	dst = dst[:n]
	for i, code := range payload {
		x0, x1 := d.decodeOctet(int(code))
		dst[2*i], dst[2*i+1] = int16(sat16(x0)), int16(sat16(x1))
	}
	return n, nil
}

// decodeOctet is the 64 kbit/s (mode 1) SB-ADPCM decoder of clause 4 for one
// octet, followed by the receive QMF. It returns the two output samples
// before saturation: near full scale the QMF can overshoot 16 bits, and
// Decode clips where some implementations (spandsp among them) wrap around
// with a loud click.
func (d *g722Decoder) decodeOctet(code int) (x0, x1 int) {
	ilow, ihigh := code&0x3F, code>>6&0x03

	// Lower band: Block 5L INVQBL and RECONS with the full 6-bit code,
	// Block 6L LIMIT; then adaptation from the 4-bit code, as the encoder.
	rlow := min(max(d.low.s+(d.low.de*qm6[ilow])>>15, -16384), 16383)
	d.low.adaptLow(ilow >> 2)

	// Higher band: Block 2H INVQAH, 5H RECONS, 6H LIMIT, then adaptation.
	rhigh := min(max(d.high.s+(d.high.de*qm2[ihigh])>>15, -16384), 16383)
	d.high.adaptHigh(ihigh)

	// Receive QMF (clauses 4.4 and 5): interpolate both bands to 16 kHz
	// and recombine them.
	x := d.qmf.push(rlow+rhigh, rlow-rhigh)
	var xout1, xout2 int
	for i, h := range qmfCoeffs {
		xout2 += x[2*i] * h
		xout1 += x[2*i+1] * qmfCoeffs[11-i]
	}
	return xout1 >> 11, xout2 >> 11
}
