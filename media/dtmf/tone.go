package dtmf

import (
	"errors"
	"io"
	"math"
	"math/cmplx"
	"time"
)

// Levels of generated DTMF, in dBm0 (see fullScaleDBm0 for the 16-bit PCM
// reference).
const (
	// DefaultToneLevel is the level of the low-group tone; the high-group
	// tone is sent HighGroupBoost louder, so the pair totals -5.9 dBm0.
	// It matches DefaultVolume, the level the Sender announces for RFC
	// 4733 events, so a digit sounds the same whichever way it is sent.
	// Telephones typically send 3 to 4 dB more (about -6 dBm0 low, -4
	// high); both are well inside the -25 to 0 dBm0 a Q.24 receiver
	// accepts, and -10 leaves headroom for a peer that adds gain.
	DefaultToneLevel = -10.0
	// HighGroupBoost is how much louder, in dB, the high-group tone is
	// sent than the low-group one. ITU-T Q.23 leaves levels to national
	// specifications, which have telephones send the high tone about 2 dB
	// louder: lines lose more at high frequencies, so the pair reaches
	// the receiver with little twist.
	HighGroupBoost = 2.0
	// MaxToneLevel is the loudest low-group level accepted: above it the
	// two tones' peaks would add up beyond 16-bit full scale and clip.
	MaxToneLevel = -4.0
	// MinToneLevel is the quietest level accepted; anything below is
	// far under what a receiver recognises (-25 dBm0) and surely a
	// mistake.
	MinToneLevel = -60.0
)

// Default timing of a ToneSource, comfortably above the 40 ms minimum tone
// and pause of ITU-T Q.24, as most telephones and gateways send.
const (
	DefaultToneOn  = 100 * time.Millisecond
	DefaultToneOff = 100 * time.Millisecond
	// MinToneTime is the shortest tone or pause a ToneSource sends: the
	// 40 ms Q.24 requires receivers to recognise.
	MinToneTime = 40 * time.Millisecond
)

// maxTone bounds one tone, so a bad argument cannot ask for gigabytes.
const maxTone = time.Minute

// ErrBadLevel means a tone level outside MinToneLevel..MaxToneLevel, or
// not a number.
var ErrBadLevel = errors.New("dtmf: tone level out of range")

// AppendTone appends to dst the DTMF tone of digit ('0'-'9', '*', '#',
// 'A'-'D', 'a'-'d'): the two Q.23 frequencies at sampleRate (8000, 16000
// or 48000 Hz) for dur, rounded down to whole samples, with the low tone at
// levelDBm0 and the high tone HighGroupBoost louder. Use DefaultToneLevel
// unless the far end needs otherwise. Both sines start at phase zero, so
// the tone rises from silence without a step.
//
// It returns dst unchanged with ErrUnknownEvent for any other digit,
// ErrSampleRate, ErrBadDuration when dur is not positive, shorter than a
// sample or longer than a minute, and ErrBadLevel.
func AppendTone(dst []int16, digit byte, sampleRate int, dur time.Duration, levelDBm0 float64) ([]int16, error) {
	var o oscillator
	if err := o.init(digit, sampleRate, levelDBm0); err != nil {
		return dst, err
	}
	if dur <= 0 || dur > maxTone {
		return dst, ErrBadDuration
	}
	n := int(int64(dur) * int64(sampleRate) / int64(time.Second))
	if n < 1 {
		return dst, ErrBadDuration
	}
	dst = append(dst, make([]int16, n)...)
	o.fill(dst[len(dst)-n:])
	return dst, nil
}

// ToneSource streams the DTMF tones of a digit string as PCM, so the media
// player can send digits in-band to a peer that takes neither RFC 4733 nor
// SIP INFO. Each digit is a tone of the on time followed by silence of the
// off time, the last one included, so the far end's receiver has released
// the digit before whatever audio follows.
//
// A ToneSource is not safe for concurrent use. Read never allocates.
type ToneSource struct {
	digits  string
	rate    int
	level   float64
	on, off int // samples
	idx     int // digit being sent
	pos     int // samples of it sent, tone then pause
	osc     oscillator
}

// NewToneSource returns a source of the tones for digits at sampleRate
// (8000, 16000 or 48000 Hz), each lasting on and followed by off of
// silence, the low tone at levelDBm0 and the high tone HighGroupBoost
// louder. An on or off of zero selects DefaultToneOn or DefaultToneOff;
// otherwise both must lie between MinToneTime and a minute (ErrBadDuration),
// since shorter tones or pauses are not recognised by a Q.24 receiver. Any
// digit AppendTone refuses is refused here with ErrUnknownEvent. An empty
// string gives a source that is at its end.
func NewToneSource(digits string, sampleRate int, on, off time.Duration, levelDBm0 float64) (*ToneSource, error) {
	if on == 0 {
		on = DefaultToneOn
	}
	if off == 0 {
		off = DefaultToneOff
	}
	if on < MinToneTime || on > maxTone || off < MinToneTime || off > maxTone {
		return nil, ErrBadDuration
	}
	if err := checkTone(sampleRate, levelDBm0); err != nil {
		return nil, err
	}
	for i := range len(digits) {
		if _, ok := CodeFromDigit(digits[i]); !ok {
			return nil, ErrUnknownEvent
		}
	}
	s := &ToneSource{
		digits: digits,
		rate:   sampleRate,
		level:  levelDBm0,
		on:     int(int64(on) * int64(sampleRate) / int64(time.Second)),
		off:    int(int64(off) * int64(sampleRate) / int64(time.Second)),
	}
	s.start()
	return s, nil
}

// SampleRate returns the rate the source produces, in Hz.
func (s *ToneSource) SampleRate() int { return s.rate }

// Read writes the next samples into frame and returns how many, which is
// len(frame) except at the end of the last pause. Once every digit has been
// sent it returns 0 and io.EOF.
func (s *ToneSource) Read(frame []int16) (int, error) {
	if s.idx >= len(s.digits) {
		return 0, io.EOF
	}
	n := 0
	for n < len(frame) && s.idx < len(s.digits) {
		var k int
		if s.pos < s.on {
			k = min(len(frame)-n, s.on-s.pos)
			s.osc.fill(frame[n : n+k])
		} else {
			k = min(len(frame)-n, s.on+s.off-s.pos)
			clear(frame[n : n+k])
		}
		n += k
		if s.pos += k; s.pos == s.on+s.off {
			s.idx++
			s.start()
		}
	}
	return n, nil
}

// start sets the oscillator up for digit s.idx.
func (s *ToneSource) start() {
	s.pos = 0
	if s.idx < len(s.digits) {
		_ = s.osc.init(s.digits[s.idx], s.rate, s.level) // validated by NewToneSource
	}
}

// oscillator generates one DTMF tone pair by rotating two phasors, one
// complex multiplication per tone per sample instead of two math.Sin calls.
type oscillator struct {
	lo, hi       complex128 // current phasors, amplitude in sample units
	stepLo       complex128 // e^{jω} of each tone
	stepHi       complex128
	sinceRenorm  int
	ampLo, ampHi float64
}

// renormEvery is how many samples may pass before the phasors are pulled
// back to their amplitudes, so rounding error cannot build up over a long
// tone.
const renormEvery = 1024

// init validates the arguments and sets o to the start of digit's tone.
func (o *oscillator) init(digit byte, rate int, level float64) error {
	code, ok := CodeFromDigit(digit)
	if !ok {
		return ErrUnknownEvent
	}
	if err := checkTone(rate, level); err != nil {
		return err
	}
	d, _ := DigitFromCode(code)
	pos := 0
	for i := range len(keypad) {
		if keypad[i] == d {
			pos = i
		}
	}
	wl := 2 * math.Pi * lowFreqs[pos/4] / float64(rate)
	wh := 2 * math.Pi * highFreqs[pos%4] / float64(rate)
	*o = oscillator{
		ampLo:  dBm0Peak(level),
		ampHi:  dBm0Peak(level + HighGroupBoost),
		stepLo: cmplx.Exp(complex(0, wl)),
		stepHi: cmplx.Exp(complex(0, wh)),
	}
	o.lo, o.hi = complex(o.ampLo, 0), complex(o.ampHi, 0)
	return nil
}

// checkTone validates a generator's sample rate and level.
func checkTone(rate int, level float64) error {
	if !toneRate(rate) {
		return ErrSampleRate
	}
	if math.IsNaN(level) || level < MinToneLevel || level > MaxToneLevel {
		return ErrBadLevel
	}
	return nil
}

// fill writes the next len(pcm) samples of the tone: the sum of the two
// sines (the phasors' imaginary parts), rounded.
func (o *oscillator) fill(pcm []int16) {
	for i := range pcm {
		v := math.Round(imag(o.lo) + imag(o.hi))
		pcm[i] = int16(min(max(v, math.MinInt16), math.MaxInt16))
		o.lo *= o.stepLo
		o.hi *= o.stepHi
		if o.sinceRenorm++; o.sinceRenorm == renormEvery {
			o.sinceRenorm = 0
			o.lo *= complex(o.ampLo/cmplx.Abs(o.lo), 0)
			o.hi *= complex(o.ampHi/cmplx.Abs(o.hi), 0)
		}
	}
}
