package asr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-ivr/hotline/media/vad"
)

// Defaults for the zero fields of Request. Each is a named constant so a
// flow file, the CLI and the docs quote the same number.
const (
	// DefaultNoInputTimeout is how long a session waits for the caller to
	// start speaking: the usual IVR figure (Twilio's Gather timeout is 5 s).
	DefaultNoInputTimeout = 5 * time.Second
	// DefaultMaxUtterance bounds one answer from its first syllable: a menu
	// answer lasts 1-3 s and a "tell us why you are calling" answer rarely
	// more than 10 s; a caller who talks on is cut here rather than holding
	// the node (and a decoder) for minutes.
	DefaultMaxUtterance = 15 * time.Second
	// DefaultMinSilence is the pause that ends an utterance, the VAD's own
	// default (see media/vad): longer than the pauses inside a phrase,
	// short enough for a menu answer to feel prompt.
	DefaultMinSilence = vad.DefaultMinSilence
	// DefaultResultTimeout bounds the wait for the final result after the
	// end of speech. Callers complain of 3-5 s waits; past this the backend
	// is treated as failed (and a Fallback, if any, takes over earlier, at
	// its latency budget).
	DefaultResultTimeout = 3 * time.Second
	// DefaultLatencyBudget is how long a Fallback lets its primary backend
	// take, from the end of speech, before it asks the secondary too.
	DefaultLatencyBudget = time.Second
	// DefaultQueue is how much audio the queue between the media goroutine
	// and the recognizer holds before frames are dropped: enough to ride
	// out a decoder wait or a network hiccup, small enough that a stalled
	// backend costs bounded memory (100 frames of 20 ms).
	DefaultQueue = 2 * time.Second
	// DefaultPreRoll is how much audio before the VAD's speech onset is
	// kept and sent with the utterance: the VAD's onset may be late by up
	// to its lookback (200 ms) plus MinSpeech, and recognizers want some
	// leading silence.
	DefaultPreRoll = 500 * time.Millisecond
	// FrameDuration is the frame the session hands the VAD and the queue:
	// the RTP packet time almost every carrier uses.
	FrameDuration = 20 * time.Millisecond
)

// Mode selects how a backend decodes: against a grammar built from the
// request's phrases, or open vocabulary. Its zero value lets the request
// decide, so a node that lists phrases gets a grammar without saying so.
type Mode int

const (
	// ModeAuto is grammar mode when the request has Phrases or a Grammar,
	// open mode otherwise.
	ModeAuto Mode = iota
	// ModeGrammar accepts only the request's phrases (or Grammar). It is
	// the IVR default because it is far more robust on telephone audio:
	// see the asr/sphinx package for the figures.
	ModeGrammar
	// ModeOpen is open-vocabulary recognition with the backend's language
	// model; Hints may bias it where the backend supports that.
	ModeOpen
)

// String returns the mode's name as flows and logs spell it.
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeGrammar:
		return "grammar"
	case ModeOpen:
		return "open"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads a mode name ("", "auto", "grammar", "open"), so flow
// files and configuration spell modes the way String prints them.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "auto":
		return ModeAuto, nil
	case "grammar":
		return ModeGrammar, nil
	case "open":
		return ModeOpen, nil
	}
	return ModeAuto, fmt.Errorf("asr: unknown mode %q (want auto, grammar or open)", s)
}

// Outcome is how a session ended. The values map one to one onto the
// typed outcomes of gather and intent nodes (ok, no_input, no_match,
// error) and onto the result label of hotline_asr_sessions_total.
type Outcome int

const (
	// OutcomeUnknown is the zero value; a partial Result carries it.
	OutcomeUnknown Outcome = iota
	// OutcomeFinal: something was recognised with at least
	// Request.MinConfidence (label "final").
	OutcomeFinal
	// OutcomeNoInput: the caller did not start speaking within
	// NoInputTimeout (label "no_input").
	OutcomeNoInput
	// OutcomeNoMatch: the caller spoke but nothing in the grammar (or
	// nothing at all) was recognised with enough confidence
	// (label "no_match"). Text may hold the rejected hypothesis.
	OutcomeNoMatch
	// OutcomeError: the backend failed or exceeded ResultTimeout (label
	// "error"); Result.Err says why.
	OutcomeError
	// OutcomeCancelled: the session's context ended (the caller hung up,
	// a DTMF key ended the node) or Close was called first (label
	// "cancelled").
	OutcomeCancelled
)

// String returns the metric label and log name of the outcome.
func (o Outcome) String() string {
	switch o {
	case OutcomeUnknown:
		return "unknown"
	case OutcomeFinal:
		return "final"
	case OutcomeNoInput:
		return "no_input"
	case OutcomeNoMatch:
		return "no_match"
	case OutcomeError:
		return "error"
	case OutcomeCancelled:
		return "cancelled"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Errors for branching with errors.Is.
var (
	// ErrDone is returned by Session.Write once the session stopped
	// listening (end of speech, a timeout, cancellation): the media path
	// stops feeding it.
	ErrDone = errors.New("asr: session is no longer listening")
	// ErrUnknownBackend means a request named a backend the Registry does
	// not have.
	ErrUnknownBackend = errors.New("asr: unknown backend")
	// ErrUnsupported means the backend cannot serve the request as asked
	// (a raw grammar on a backend without one, a language it has no
	// model for).
	ErrUnsupported = errors.New("asr: unsupported request")
	// ErrInvalidRequest is wrapped by every request validation error.
	ErrInvalidRequest = errors.New("asr: invalid request")
	// ErrTimeout means the backend did not produce its final result within
	// Request.ResultTimeout (or a remote backend's read timeout).
	ErrTimeout = errors.New("asr: timed out")
	// ErrClosed is the cancellation cause of a session ended by Close.
	ErrClosed = errors.New("asr: session closed")
)

// Request describes one utterance to recognise: what a gather, menu or
// intent node asks for. The zero value is valid: open mode with the
// registry's default backend and every default timeout.
type Request struct {
	// Backend names the registered backend; "" means the registry's
	// default. Backends themselves ignore this field.
	Backend string
	// Fallback names a second registered backend used when Backend fails
	// or takes longer than LatencyBudget from the end of speech; "" for
	// none. Backends themselves ignore this field.
	Fallback string
	// LatencyBudget is the time from end of speech the primary backend may
	// take before the fallback is asked too. Default DefaultLatencyBudget
	// (1 s). Only used with Fallback.
	LatencyBudget time.Duration

	// Language is a BCP 47 tag such as "en-US"; "" means the backend's
	// default. A backend without a model for it fails with ErrUnsupported.
	Language string
	// Mode: ModeAuto (default), ModeGrammar or ModeOpen.
	Mode Mode
	// Phrases are the answers a grammar accepts, as the node lists them
	// ("check my balance", "agent"). Backends normalise them (case,
	// punctuation, digits spelled as words).
	Phrases []string
	// Grammar is a raw grammar in the backend's own format (JSGF for
	// PocketSphinx), for what a phrase list cannot say (card names, digit
	// strings). It takes precedence over Phrases; backends without
	// grammars fail with ErrUnsupported.
	Grammar string
	// Hints are words or phrases to favour in open mode (names, product
	// terms), for backends that support biasing; others ignore them.
	Hints []string
	// MinConfidence (0..1) is the lowest confidence reported as
	// OutcomeFinal; below it the result is OutcomeNoMatch with the text
	// kept. Default 0: every non-empty hypothesis counts. The scale is the
	// backend's; see each backend's documentation.
	MinConfidence float64
	// Partials asks for partial results while the caller speaks (for
	// barge-in on the first word, or live captions). Backends that cannot
	// produce them send none.
	Partials bool

	// NoInputTimeout is how long to wait for speech to start. Default
	// DefaultNoInputTimeout (5 s).
	NoInputTimeout time.Duration
	// MaxUtterance bounds the utterance from its speech onset; when it
	// passes the session ends as if the caller had stopped, with
	// Result.Truncated set. Default DefaultMaxUtterance (15 s).
	MaxUtterance time.Duration
	// MinSilence is the pause that ends the utterance (the VAD's
	// MinSilence). Default DefaultMinSilence (600 ms); 800-1000 ms suits
	// open questions.
	MinSilence time.Duration
	// MinSpeech is how long the caller must speak before the VAD reports
	// the onset (SpeechStarted, which stops a barge-in prompt and the
	// no-input timer): the VAD's MinSpeech. Default 0, the VAD's own
	// (vad.DefaultMinSpeech, 60 ms); 200-400 ms keeps a noisy line, a
	// cough or a click from cutting a prompt.
	MinSpeech time.Duration
	// VADMode is the VAD's aggressiveness, vad.ModeQuality (0, default)
	// to vad.ModeVeryAggressive (3).
	VADMode int
	// ResultTimeout bounds the wait for the final result after the end of
	// speech. Default DefaultResultTimeout (3 s).
	ResultTimeout time.Duration
	// Queue is how much audio the media-to-recognizer queue holds before
	// frames are dropped. Default DefaultQueue (2 s).
	Queue time.Duration

	// Logger is scoped to the call (call_id); nil uses the registry's.
	Logger *slog.Logger
}

// maxTimeout bounds every duration in a Request: a larger value is a
// unit mistake (a bare number read as nanoseconds would be caught by the
// lower bound instead).
const maxTimeout = 10 * time.Minute

// maxMinSpeech bounds Request.MinSpeech: an onset later than this would
// let most menu answers ("agent", "billing") end before they count.
const maxMinSpeech = 2 * time.Second

// WithDefaults returns r with every zero field set to its default and
// ModeAuto resolved, which is what backends receive.
func (r Request) WithDefaults() Request {
	if r.LatencyBudget == 0 {
		r.LatencyBudget = DefaultLatencyBudget
	}
	if r.NoInputTimeout == 0 {
		r.NoInputTimeout = DefaultNoInputTimeout
	}
	if r.MaxUtterance == 0 {
		r.MaxUtterance = DefaultMaxUtterance
	}
	if r.MinSilence == 0 {
		r.MinSilence = DefaultMinSilence
	}
	if r.ResultTimeout == 0 {
		r.ResultTimeout = DefaultResultTimeout
	}
	if r.Queue == 0 {
		r.Queue = DefaultQueue
	}
	if r.Mode == ModeAuto {
		r.Mode = ModeOpen
		if len(r.Phrases) > 0 || r.Grammar != "" {
			r.Mode = ModeGrammar
		}
	}
	return r
}

// Validate reports every problem with r (after defaults), each wrapped in
// ErrInvalidRequest, so a flow loader can list them all at once.
func (r Request) Validate() error {
	r = r.WithDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"latency budget", r.LatencyBudget, time.Millisecond},
		{"no-input timeout", r.NoInputTimeout, 100 * time.Millisecond},
		{"max utterance", r.MaxUtterance, 100 * time.Millisecond},
		{"min silence", r.MinSilence, 10 * time.Millisecond},
		{"result timeout", r.ResultTimeout, time.Millisecond},
		{"queue", r.Queue, FrameDuration},
	} {
		if d.v < d.min || d.v > maxTimeout {
			bad("%s %v (want %v to %v)", d.name, d.v, d.min, maxTimeout)
		}
	}
	if r.MinSilence > 10*time.Second {
		bad("min silence %v (want at most 10s)", r.MinSilence)
	}
	if r.MinSpeech < 0 || r.MinSpeech > maxMinSpeech {
		bad("min speech %v (want 0 to %v)", r.MinSpeech, maxMinSpeech)
	}
	if r.VADMode < vad.ModeQuality || r.VADMode > vad.ModeVeryAggressive {
		bad("vad mode %d (want %d to %d)", r.VADMode, vad.ModeQuality, vad.ModeVeryAggressive)
	}
	if r.MinConfidence < 0 || r.MinConfidence > 1 {
		bad("min confidence %v (want 0 to 1)", r.MinConfidence)
	}
	switch r.Mode {
	case ModeGrammar:
		if len(r.Phrases) == 0 && r.Grammar == "" {
			bad("grammar mode without phrases or a grammar")
		}
	case ModeOpen:
	default:
		bad("mode %v", r.Mode)
	}
	return errors.Join(errs...)
}

// Word is one recognised word with its timing, where the backend gives it.
type Word struct {
	// Text is the word as the backend spells it (lower case for the
	// built-in backends).
	Text string
	// Start and End are offsets from the start of the audio the backend
	// received (which begins up to DefaultPreRoll before the speech onset).
	Start, End time.Duration
	// Confidence is the word's own confidence (0..1) if the backend gives
	// one, else the utterance's.
	Confidence float64
}

// Result is a partial or final recognition result. A session sends any
// number of partials (IsFinal false) and then exactly one final Result.
type Result struct {
	// Text is the hypothesis, words separated by single spaces; "" when
	// nothing was recognised.
	Text string
	// Confidence in 0..1; how each backend computes it is documented with
	// the backend. Partials may carry 0.
	Confidence float64
	// Words with timings, when the backend gives them.
	Words []Word
	// IsFinal marks the last Result of a session.
	IsFinal bool
	// Outcome is set on the final Result.
	Outcome Outcome
	// Err says why, with OutcomeError or OutcomeCancelled.
	Err error
	// Backend names the backend that produced the result (with a
	// Fallback, the one whose answer was used).
	Backend string
	// Truncated reports that MaxUtterance ended the utterance, not the
	// caller's silence.
	Truncated bool
	// Audio is how much audio the backend received.
	Audio time.Duration
	// Processing is the time the backend spent on it (the recognizer
	// goroutine's time in Write and Finish); Processing/Audio is the
	// real-time factor.
	Processing time.Duration
	// Latency is the time from the end of speech (the VAD's decision, End,
	// or MaxUtterance) to the final result.
	Latency time.Duration
	// Dropped counts the frames lost to a full queue.
	Dropped int
}

// RTF returns the real-time factor: processing time over audio duration,
// 0 when no audio was processed. Below 1 the backend keeps up with speech.
func (r Result) RTF() float64 {
	if r.Audio <= 0 {
		return 0
	}
	return r.Processing.Seconds() / r.Audio.Seconds()
}

// Backend is a speech recognizer the registry can start sessions on. The
// Session does the common work (VAD, timeouts, the queue, metrics); a
// backend only turns one utterance's audio into text.
//
// To add a vendor (Google, Azure, Deepgram...), implement Backend and
// Stream over the vendor's streaming API and register it by name; see the
// package documentation.
type Backend interface {
	// SampleRate is the rate in Hz of the PCM the backend wants: 8000,
	// 16000 or 48000 (the rates the VAD analyses). Callers at another
	// rate wrap the session with NewSink.
	SampleRate() int
	// Open starts recognising one utterance. It runs on the session's
	// recognizer goroutine, never the media goroutine, so it may block
	// (waiting for a decoder, connecting) until ctx ends. req has its
	// defaults applied. partial may be called from any goroutine, any
	// number of times, before Finish returns; it never blocks.
	Open(ctx context.Context, req Request, partial func(Result)) (Stream, error)
}

// Stream is one utterance on a backend. The session calls Write for each
// batch of audio, then Finish once, then Close, all from one goroutine; it
// calls Close alone when the session ends early.
type Stream interface {
	// Write hands over the next audio at the backend's SampleRate,
	// starting up to DefaultPreRoll before the speech onset. pcm is only
	// valid during the call. It may block (CPU, network) but returns when
	// ctx ends.
	Write(ctx context.Context, pcm []int16) error
	// Finish says the audio is over and returns the final hypothesis
	// (Text, Confidence, Words; the session fills the rest). An empty
	// Text means nothing was recognised. It returns when ctx ends.
	Finish(ctx context.Context) (Result, error)
	// Close releases everything the stream holds (decoder, socket,
	// goroutines) before it returns. It is called exactly once.
	Close() error
}

// Validator is implemented by backends that can check a request without
// starting a session, such as PocketSphinx checking phrases against its
// dictionary. A flow loader calls it so a bad phrase is reported when the
// flow is loaded, not when a caller reaches the node; NewSession calls it
// too, so the error comes back at once instead of as an OutcomeError.
type Validator interface {
	Validate(req Request) error
}
