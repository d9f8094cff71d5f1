package loadtest

import (
	"math"

	"github.com/hotline-ivr/hotline/media/codec"
)

// The caller judges prompts from what it receives, as a person on the phone would:
// a frame is speech when its level is above a threshold, and a prompt is a run of
// speech frames that ends after a stretch of silence. The engine sends digital
// silence between prompts (μ-law 0xFF, A-law 0xD5: zero samples), so any threshold
// well above -120 dBFS and well below speech separates them; -45 dBFS sits under the
// quietest syllables espeak-ng renders and far above codec noise.

// DefaultSpeechDBFS is the level above which a received frame counts as speech.
const DefaultSpeechDBFS = -45.0

// squares maps a G.711 octet to the square of the sample it decodes to, so the
// energy of a 160-octet frame is 160 table lookups and additions: no decoding
// buffer, no floating point, no allocation on the receive path.
var (
	mulawSquares [256]uint32
	alawSquares  [256]uint32
)

func init() {
	for i := range 256 {
		m := int64(codec.MulawDecode(byte(i)))
		a := int64(codec.AlawDecode(byte(i)))
		mulawSquares[i] = uint32(m * m)
		alawSquares[i] = uint32(a * a)
	}
}

// meanSquareThreshold converts a level in dBFS to the mean squared sample value a
// frame must reach, with full scale at 32768 as media/audio.DBFS defines it.
func meanSquareThreshold(dbfs float64) float64 {
	return 32768 * 32768 * math.Pow(10, dbfs/10)
}

// energyFn returns the sum of squared samples of a payload and the number of
// samples it holds.
type energyFn func(payload []byte) (sum uint64, samples int)

func mulawEnergy(p []byte) (uint64, int) {
	var sum uint64
	for _, b := range p {
		sum += uint64(mulawSquares[b])
	}
	return sum, len(p)
}

func alawEnergy(p []byte) (uint64, int) {
	var sum uint64
	for _, b := range p {
		sum += uint64(alawSquares[b])
	}
	return sum, len(p)
}

// pcmEnergy sums the squares of decoded samples (Opus).
func pcmEnergy(pcm []int16) (uint64, int) {
	var sum uint64
	for _, s := range pcm {
		v := int64(s)
		sum += uint64(v * v)
	}
	return sum, len(pcm)
}

// Speech detector events.
type eventKind uint8

const (
	evUnknown    eventKind = iota
	evOnset                // speech started (first loud frame after silence)
	evOffset               // speech ended: silence has lasted the detector's gap
	evDigitSent            // the last packet of the requested key presses left
	evPhraseSent           // the last frame of the requested phrase left
	evInputStart           // the first packet of a command (key press or phrase) left
)

func (k eventKind) String() string {
	switch k {
	case evOnset:
		return "onset"
	case evOffset:
		return "offset"
	case evDigitSent:
		return "digit sent"
	case evPhraseSent:
		return "phrase sent"
	case evInputStart:
		return "input start"
	}
	return "unknown"
}

// event is what the media path tells a call's script, with the time it happened (ns
// since the Unix epoch: the kernel's receive timestamp for audio).
type event struct {
	kind eventKind
	at   int64
}

// speechDetector segments received audio into prompts. It is owned by the socket's
// receive goroutine and never allocates.
type speechDetector struct {
	threshold float64 // mean square a frame must reach to be speech
	gap       int64   // silence (ns) that ends a prompt
	inSpeech  bool
	lastLoud  int64 // arrival of the last loud frame
	frameDur  int64 // duration of one frame, to date the end of speech
	loud      uint64
	frames    uint64
}

// frame feeds one frame's energy; it returns evOnset or evOffset when the frame
// starts or ends a prompt (evOffset is dated at the end of the last loud frame), else
// evUnknown.
func (d *speechDetector) frame(sum uint64, samples int, at int64) (eventKind, int64) {
	if samples == 0 {
		return evUnknown, 0
	}
	d.frames++
	loud := float64(sum) >= d.threshold*float64(samples)
	switch {
	case loud:
		d.loud++
		d.lastLoud = at
		if !d.inSpeech {
			d.inSpeech = true
			return evOnset, at
		}
	case d.inSpeech && at-d.lastLoud >= d.gap:
		d.inSpeech = false
		return evOffset, d.lastLoud + d.frameDur
	}
	return evUnknown, 0
}
