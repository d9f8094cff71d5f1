package asr

import (
	"context"
	"fmt"

	"github.com/hotline-ivr/hotline/media/audio"
)

// Sink is what the media path writes a caller's audio to: a Session at
// the backend's rate, or a Resampling in front of one. It is the same
// small contract as the other stages of a media chain (rate, write,
// a name for the chain's log line).
type Sink interface {
	// SampleRate is the rate Write expects, in Hz.
	SampleRate() int
	// Write takes any number of samples without blocking; ErrDone means
	// stop feeding.
	Write(pcm []int16) error
	String() string
}

var (
	_ Sink = (*Session)(nil)
	_ Sink = (*Resampling)(nil)
)

// NewSink returns a Sink taking audio at rate Hz for s: s itself when the
// rates match, else a Resampling. A leg decoding G.711 (8 kHz) or Opus
// (48 kHz) writes to it whatever the backend's rate.
func NewSink(s *Session, rate int) (Sink, error) {
	if rate == s.SampleRate() {
		return s, nil
	}
	return NewResampling(s, rate)
}

// resampleChunk is the most input samples converted per Process call; it
// fixes the output buffer's size so Write never allocates.
const resampleChunk = 960 // 20 ms at 48 kHz

// Resampling converts audio from the caller's rate to the session's with
// media/audio's polyphase Resampler, keeping the filter state across
// writes so frame boundaries are seamless.
type Resampling struct {
	s   *Session
	r   *audio.Resampler
	buf []int16
}

// NewResampling wraps s for audio at inRate Hz (8000, 16000, 48000 or
// any rate media/audio supports).
func NewResampling(s *Session, inRate int) (*Resampling, error) {
	r, err := audio.NewResampler(inRate, s.SampleRate())
	if err != nil {
		return nil, fmt.Errorf("asr: %w", err)
	}
	return &Resampling{s: s, r: r, buf: make([]int16, r.OutLen(resampleChunk))}, nil
}

// SampleRate is the input rate.
func (w *Resampling) SampleRate() int { return w.r.InRate() }

// Session returns the wrapped session.
func (w *Resampling) Session() *Session { return w.s }

// String describes the chain, e.g. "resample 8000->16000 -> asr sphinx 16000Hz".
func (w *Resampling) String() string { return w.r.String() + " -> " + w.s.String() }

// Write resamples pcm and writes it to the session; like Session.Write it
// never blocks and does not allocate. Not safe for concurrent use.
func (w *Resampling) Write(pcm []int16) error {
	for len(pcm) > 0 {
		n := min(len(pcm), resampleChunk)
		out := w.r.Process(w.buf, pcm[:n])
		pcm = pcm[n:]
		if err := w.s.Write(w.buf[:out]); err != nil {
			return err
		}
	}
	return nil
}

// Transcribe recognises a recorded clip (pcm at rate Hz) with s, for
// files, tests and benchmarks rather than live calls. It writes the clip
// in 20 ms frames and, after each, waits until the recognizer has
// consumed it: the state a live call is in when the backend keeps up
// with real time, reached without waiting out real time, so Result.Latency
// and the real-time factor mean what they mean on a call and no frame is
// dropped. After the clip it adds silence until the VAD ends the
// utterance (or calls End), then returns the final result. It does not
// close s.
func Transcribe(ctx context.Context, s *Session, pcm []int16, rate int) (Result, error) {
	sink, err := NewSink(s, rate)
	if err != nil {
		return Result{}, err
	}
	frame := rate * int(FrameDuration/1e6) / 1000
	write := func(f []int16) (bool, error) {
		if err := sink.Write(f); err != nil {
			if errDone(err) {
				return true, nil
			}
			return true, err
		}
		return false, s.waitDrained(ctx)
	}
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		stop, err := write(pcm[:n])
		if err != nil {
			return Result{}, err
		}
		if stop {
			return s.Wait(ctx)
		}
		pcm = pcm[n:]
	}
	silence := make([]int16, frame)
	tail := int((s.req.MinSilence + leadIn) / FrameDuration)
	for range tail {
		stop, err := write(silence)
		if err != nil {
			return Result{}, err
		}
		if stop {
			return s.Wait(ctx)
		}
	}
	s.End()
	return s.Wait(ctx)
}
