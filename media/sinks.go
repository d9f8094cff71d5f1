package media

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/media/vad"
)

// Sink receives the caller's decoded audio, one frame per clock tick, as mono PCM at the
// session's SampleRate (the codec's: 8 kHz for G.711, 16 kHz for G.722, 48 kHz for
// Opus). Consumers such as a streaming recognizer register one with AddSink instead of
// reading RTP themselves, so the audio they get is the audio the jitter buffer and the
// loss concealment made of the caller's packets, the same that DTMF detection and the
// VAD hear.
//
// WriteAudio runs on the media clock goroutine, shared by many calls, while the session
// holds its send lock: it must not block, must not call the Session, must not modify
// pcm (the next sink gets the same buffer), and must copy it to keep it (the buffer is
// reused on the next tick). A frame lost on the network
// arrives concealed, and silence arrives as zeros, so the stream has no gaps.
type Sink interface {
	WriteAudio(pcm []int16)
}

// StereoSink receives both directions of the call on every tick: caller is the frame of
// the caller's audio played out on that tick, engine the frame we sent on it (zeros
// while we send nothing: hold, or RFC 4733 events replacing audio). Both have the same
// length and the session's SampleRate, and both come from the same tick, so a recorder
// that interleaves them gets the two sides aligned without timestamps of its own.
// The rules of Sink apply: no blocking, no calls into the Session, read only, copy to
// keep.
type StereoSink interface {
	WriteStereo(caller, engine []int16)
}

// AddSink registers s to receive the caller's audio from the next tick on, and returns
// a function that removes it (idempotent; after it returns, at most the tick in
// progress still calls s). The list is copied on write, so the clock never waits for a
// registration.
func (s *Session) AddSink(sk Sink) (remove func()) {
	return addCOW(&s.sinkMu, &s.sinks, sk)
}

// AddStereoSink registers a recorder-style sink for both directions (see StereoSink)
// and returns a function that removes it, like AddSink.
func (s *Session) AddStereoSink(sk StereoSink) (remove func()) {
	return addCOW(&s.sinkMu, &s.stereo, sk)
}

// entry wraps a registered sink, so removal finds it by pointer: comparing the sinks
// themselves would panic for a sink type that is not comparable.
type entry[T any] struct{ v T }

func addCOW[T any](mu *sync.Mutex, list *atomic.Pointer[[]*entry[T]], v T) func() {
	e := &entry[T]{v: v}
	mu.Lock()
	old := *list.Load()
	n := make([]*entry[T], len(old), len(old)+1)
	copy(n, old)
	n = append(n, e)
	list.Store(&n)
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			old := *list.Load()
			n := make([]*entry[T], 0, len(old))
			for _, o := range old {
				if o != e {
					n = append(n, o)
				}
			}
			list.Store(&n)
		})
	}
}

// SpeechEvent is a change in the caller's voice activity, for barge-in (stop the prompt
// at Start) and end of speech (stop listening at End).
type SpeechEvent struct {
	// Kind is vad.SpeechStart or vad.SpeechEnd.
	Kind vad.Event
	// At is the media clock time of the end of the audio in which the change was
	// decided: MinSpeech after the onset for Start, MinSilence after the last speech
	// for End, plus the jitter buffer's delay.
	At time.Time
	// OnsetOffset is how long before At the utterance began (vad.Detector.OnsetOffset):
	// for Start, the audio an ASR pre-roll should include.
	OnsetOffset time.Duration
}

// Onset is when the utterance began on the media clock.
func (e SpeechEvent) Onset() time.Time { return e.At.Add(-e.OnsetOffset) }

// speechBuffer is how many speech events wait for a flow that is not reading: a few
// utterances' worth; later ones are dropped and counted.
const speechBuffer = 16

// EnableVAD starts voice activity detection on the caller's audio with cfg (mode and
// hangovers; SampleRate and FrameDuration are set by the session: the codec's rate, and
// 10 ms pieces of each frame). Events arrive on SpeechEvents, and the jitter buffer
// uses the detector's silence to shrink a delay grown by jitter. Calling it again
// replaces the configuration (the noise model is learnt again). It can be called before
// Configure; a re-INVITE that changes the rate rebuilds the detector.
func (s *Session) EnableVAD(cfg vad.Config) error {
	rate := s.SampleRate()
	if rate == 0 {
		rate = 8000 // validate now; the detector is rebuilt at the codec's rate
	}
	d, err := newVAD(cfg, rate)
	if err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.vadCfg, s.vad, s.vadRate = &cfg, d, rate
	return nil
}

func newVAD(cfg vad.Config, rate int) (*vad.Detector, error) {
	cfg.SampleRate, cfg.FrameDuration = rate, 10*time.Millisecond
	d, err := vad.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("media: voice activity detector: %w", err)
	}
	return d, nil
}

// SpeechEvents delivers the caller's speech starts and ends once EnableVAD was called.
// It buffers 16 events; a flow that does not read loses later ones (counted in
// hotline_vad_events_dropped_total). It is never closed: select on it together with
// the call's context.
func (s *Session) SpeechEvents() <-chan SpeechEvent { return s.speech }

// speechEvent never blocks: it runs on the clock goroutine.
func (s *Session) speechEvent(e SpeechEvent) {
	select {
	case s.speech <- e:
	default:
		s.eng.metrics.vadDropped.Inc()
	}
}
