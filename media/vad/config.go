package vad

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for the zero fields of Config.
const (
	// DefaultFrameDuration is the RTP packet time almost every carrier and
	// phone uses.
	DefaultFrameDuration = 20 * time.Millisecond
	// DefaultMinSpeech is how long speech must last before SpeechStart:
	// long enough that a click, a cough's first burst or a line transient
	// (all shorter than 50 ms) does not barge in on a prompt, short enough
	// that a caller's "no" is still caught early.
	DefaultMinSpeech = 60 * time.Millisecond
	// DefaultMinSilence is how long speech must be absent before
	// SpeechEnd. The pauses inside a fluent sentence rarely exceed
	// 300-500 ms, while callers answering a menu expect a reply within a
	// second of finishing, so 600 ms ends an answer promptly without
	// cutting a phrase in two. Open questions ("tell me why you are
	// calling") are better served by 800-1000 ms.
	DefaultMinSilence = 600 * time.Millisecond
	// DefaultMode is ModeQuality (the zero value).
	DefaultMode = ModeQuality
)

// Modes, from most to least willing to call a frame speech. The mode only
// moves the decision thresholds; the noise model and timing are the same.
// Higher modes miss more quiet or very noisy speech but are harder to
// trigger with non-speech sound (the same trade-off as the WebRTC VAD's
// modes).
const (
	ModeQuality        = 0 // catch soft speech; the default
	ModeLowBitrate     = 1 // slightly stricter
	ModeAggressive     = 2 // for lines with bursty background noise
	ModeVeryAggressive = 3 // barge-in over noisy lines where false stops hurt most
)

// Bounds on Config durations: anything longer than maxHangover is a
// mistake (a 10 s hangover would never report the end of an answer) and
// would only grow the counters.
const maxHangover = 10 * time.Second

// ErrInvalidConfig is wrapped by every error New returns, so callers can
// tell a configuration problem from anything else with errors.Is.
var ErrInvalidConfig = errors.New("vad: invalid config")

// Config sets up a Detector. Zero durations and a zero Mode select the
// defaults above; SampleRate is required.
type Config struct {
	// SampleRate of the frames passed to Process, in Hz: 8000, 16000 or
	// 48000. 48 kHz audio is decimated to 16 kHz inside the detector.
	SampleRate int
	// FrameDuration of each frame passed to Process: 10, 20 or 30 ms.
	// Default 20 ms.
	FrameDuration time.Duration
	// MinSpeech is how long speech must persist before SpeechStart is
	// reported (the onset reported is still the first speech frame; see
	// OnsetOffset). It counts 10 ms analysis hops judged speech, rounded
	// up; since each hop looks at 32 ms of audio, a loud sound is seen for
	// up to about 25 ms longer than it lasts, so the shortest sound that
	// starts speech is about MinSpeech - 25 ms (35 ms at the default,
	// longer than clicks and line transients). Default 60 ms.
	MinSpeech time.Duration
	// MinSilence is how long speech must be absent before SpeechEnd is
	// reported. Rounded up to whole 10 ms hops. Default 600 ms.
	MinSilence time.Duration
	// Mode is the aggressiveness, ModeQuality (0) to ModeVeryAggressive
	// (3). Default 0.
	Mode int
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.FrameDuration == 0 {
		c.FrameDuration = DefaultFrameDuration
	}
	if c.MinSpeech == 0 {
		c.MinSpeech = DefaultMinSpeech
	}
	if c.MinSilence == 0 {
		c.MinSilence = DefaultMinSilence
	}
	return c
}

// Validate reports every problem with c (after defaults are applied), not
// just the first, each wrapped in ErrInvalidConfig; nil means New accepts c.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	switch c.SampleRate {
	case 8000, 16000, 48000:
	default:
		bad("sample rate %d Hz (want 8000, 16000 or 48000)", c.SampleRate)
	}
	switch c.FrameDuration {
	case 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond:
	default:
		bad("frame duration %v (want 10ms, 20ms or 30ms)", c.FrameDuration)
	}
	if c.MinSpeech < 0 || c.MinSpeech > maxHangover {
		bad("min speech %v (want 0 to %v)", c.MinSpeech, maxHangover)
	}
	if c.MinSilence < 0 || c.MinSilence > maxHangover {
		bad("min silence %v (want 0 to %v)", c.MinSilence, maxHangover)
	}
	if c.Mode < ModeQuality || c.Mode > ModeVeryAggressive {
		bad("mode %d (want %d to %d)", c.Mode, ModeQuality, ModeVeryAggressive)
	}
	return errors.Join(errs...)
}

// hops converts a duration to whole analysis hops, rounding up, at least 1.
func hops(d time.Duration) int {
	return max(1, int((d+hopDuration-1)/hopDuration))
}
