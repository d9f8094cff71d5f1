package asr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/vad"
)

// Tuning of the session that is not worth a Request field.
const (
	// leadIn is the audio sent before the VAD's reported onset: the onset
	// can miss a weak first consonant, and recognizers expect some silence
	// before the first word.
	leadIn = 300 * time.Millisecond
	// wallGrace is added to NoInputTimeout and MaxUtterance for the
	// wall-clock backstop. The audio clock (frames written) decides
	// normally; the wall clock only ends a session whose audio stopped
	// arriving, and must not beat a media path that delivers in bursts.
	wallGrace = time.Second
	// batchFrames is the most audio handed to Stream.Write at once (200
	// ms): after a stall the recognizer catches up in few calls.
	batchFrames = 10
	// resultSlots is the capacity of the results channel. Partials use all
	// but the last slot, which is kept for the final result so the
	// recognizer never blocks on a consumer that stopped reading.
	resultSlots = 8
)

// endReason records what ended the listening; the first reason wins.
type endReason int32

const (
	endNone endReason = iota
	endSpeech
	endMaxUtterance
	endNoInput
	endCaller
)

// Session recognises one utterance. The media goroutine feeds it with
// Write (or through a Sink at another rate); results arrive on Results
// and the final one also from Wait. It owns one recognizer goroutine,
// which Close waits for.
//
// Write never blocks: each 20 ms frame goes through the VAD and into a
// bounded queue that the recognizer goroutine drains into the backend;
// when the queue is full the frame is dropped and counted
// (hotline_asr_dropped_frames_total). Before the VAD hears speech, frames
// are only kept in a short pre-roll buffer, so silence costs the backend
// nothing; at the speech onset the pre-roll is sent first.
//
// The session ends at the first of: the VAD's end of speech (MinSilence
// of silence), End, NoInputTimeout without speech, MaxUtterance after the
// onset, the context ending, or Close. The timeouts count the audio
// written (the media clock), with the wall clock as a backstop for a
// stream that stops arriving.
type Session struct {
	name     string
	backend  Backend
	req      Request
	log      *slog.Logger
	metrics  *Metrics
	dropC    prometheus.Counter
	rate     int
	frameLen int

	ctx    context.Context
	cancel context.CancelCauseFunc

	// Media side: touched only by Write (one goroutine at a time).
	acc      []int16
	accN     int
	det      *vad.Detector
	pre      [][]int16 // pre-roll ring
	preHead  int
	preN     int
	frames   int64 // frames written
	speechAt int64 // frame count at the speech onset; -1 before
	noInputF int64 // NoInputTimeout in frames
	maxUttF  int64 // MaxUtterance in frames
	leadF    int   // frames of lead-in before the onset

	q       *frameQueue
	speech  chan struct{} // closed at the speech onset
	notify  chan struct{} // wakes the recognizer goroutine
	drained chan struct{} // the recognizer finished a batch
	dropped atomic.Int64

	endMu   sync.Mutex
	ended   atomic.Bool
	started bool // speech started (under endMu)
	reason  endReason
	endTime time.Time

	resMu       sync.Mutex
	results     chan Result
	resClosed   bool
	lastPartial string

	created time.Time
	done    chan struct{}
	final   Result
}

// newSession checks req and starts the recognizer goroutine.
func newSession(ctx context.Context, name string, b Backend, req Request, log *slog.Logger, m *Metrics) (*Session, error) {
	req = req.WithDefaults()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if v, ok := b.(Validator); ok {
		if err := v.Validate(req); err != nil {
			return nil, err
		}
	}
	rate := b.SampleRate()
	det, err := vad.New(vad.Config{
		SampleRate:    rate,
		FrameDuration: FrameDuration,
		MinSilence:    req.MinSilence,
		MinSpeech:     req.MinSpeech,
		Mode:          req.VADMode,
	})
	if err != nil {
		return nil, fmt.Errorf("asr: backend %s at %d Hz: %w", name, rate, err)
	}
	if req.Logger != nil {
		log = req.Logger
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	frameLen := det.FrameLen()
	frames := func(d time.Duration) int64 { return int64((d + FrameDuration - 1) / FrameDuration) }
	s := &Session{
		name:     name,
		backend:  b,
		req:      req,
		log:      log.With("asr_backend", name),
		metrics:  m,
		dropC:    m.droppedCounter(name),
		rate:     rate,
		frameLen: frameLen,
		acc:      make([]int16, frameLen),
		det:      det,
		speechAt: -1,
		noInputF: frames(req.NoInputTimeout),
		maxUttF:  frames(req.MaxUtterance),
		leadF:    int(frames(leadIn)),
		q:        newFrameQueue(frameLen, int(frames(req.Queue))),
		speech:   make(chan struct{}),
		notify:   make(chan struct{}, 1),
		drained:  make(chan struct{}, 1),
		results:  make(chan Result, resultSlots),
		created:  time.Now(),
		done:     make(chan struct{}),
	}
	s.pre = make([][]int16, frames(DefaultPreRoll))
	for i := range s.pre {
		s.pre[i] = make([]int16, frameLen)
	}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	go s.run()
	return s, nil
}

// SampleRate is the rate Write expects: the backend's.
func (s *Session) SampleRate() int { return s.rate }

// String names the session's stage for a media chain's log line.
func (s *Session) String() string { return fmt.Sprintf("asr %s %dHz", s.name, s.rate) }

// Request returns the request in effect, defaults filled in.
func (s *Session) Request() Request { return s.req }

// Results delivers partial results (when requested) and then the final
// Result, after which it is closed. Partials are dropped rather than
// queued when the reader falls behind; the final one is never dropped.
func (s *Session) Results() <-chan Result { return s.results }

// SpeechStarted is closed when the VAD hears the caller start speaking
// (its onset, after the VAD's MinSpeech), before any result: what stops a
// prompt the caller talks over (barge-in) and cancels a no-input timer
// without waiting for a partial result. It is never closed for a session
// that heard no speech.
func (s *Session) SpeechStarted() <-chan struct{} { return s.speech }

// Done is closed when the final result is known.
func (s *Session) Done() <-chan struct{} { return s.done }

// Wait returns the final result once the session has ended, or ctx's
// error if ctx ends first. It can be used with or instead of Results.
func (s *Session) Wait(ctx context.Context) (Result, error) {
	select {
	case <-s.done:
		return s.final, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// End says the audio is over: the caller pressed a key, the recording
// ended. If speech was heard the backend finishes it as at the end of
// speech; otherwise the session ends with OutcomeNoInput.
func (s *Session) End() { s.setEnd(endCaller) }

// Close stops the session, releases the backend (decoder, connection)
// and waits for the recognizer goroutine. A session that had not finished
// ends with OutcomeCancelled. Close is idempotent and always returns nil.
func (s *Session) Close() error {
	s.cancel(ErrClosed)
	<-s.done
	return nil
}

// Write feeds audio at SampleRate, any number of samples. It never
// blocks: it runs the VAD and queues whole 20 ms frames, dropping (and
// counting) frames when the recognizer is behind. It returns ErrDone once
// the session stopped listening; the caller then stops feeding. Write
// must not be called from two goroutines at once; it does not allocate.
func (s *Session) Write(pcm []int16) error {
	if s.ended.Load() {
		return ErrDone
	}
	for len(pcm) > 0 {
		c := copy(s.acc[s.accN:], pcm)
		s.accN += c
		pcm = pcm[c:]
		if s.accN < s.frameLen {
			return nil
		}
		s.accN = 0
		if err := s.frame(s.acc); err != nil {
			return err
		}
	}
	return nil
}

// frame handles one whole frame on the media goroutine.
func (s *Session) frame(f []int16) error {
	s.frames++
	ev := s.det.Process(f)
	if s.speechAt < 0 {
		copy(s.pre[(s.preHead+s.preN)%len(s.pre)], f)
		if s.preN < len(s.pre) {
			s.preN++
		} else {
			s.preHead = (s.preHead + 1) % len(s.pre)
		}
		if ev != vad.SpeechStart {
			if s.frames >= s.noInputF {
				s.setEnd(endNoInput)
				return ErrDone
			}
			return nil
		}
		if !s.startSpeech() {
			return ErrDone
		}
		s.speechAt = s.frames
		onset := int((s.det.OnsetOffset() + FrameDuration - 1) / FrameDuration)
		k := min(s.preN, onset+s.leadF)
		for i := s.preN - k; i < s.preN; i++ {
			s.enqueue(s.pre[(s.preHead+i)%len(s.pre)])
		}
		s.wake()
		return nil
	}
	s.enqueue(f)
	s.wake()
	switch {
	case ev == vad.SpeechEnd:
		s.setEnd(endSpeech)
		return ErrDone
	case s.frames-s.speechAt >= s.maxUttF:
		s.setEnd(endMaxUtterance)
		return ErrDone
	}
	return nil
}

func (s *Session) enqueue(f []int16) {
	if s.q.push(f) {
		return
	}
	s.dropped.Add(1)
	if s.dropC != nil {
		s.dropC.Inc()
	}
}

func (s *Session) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// startSpeech records the onset unless the session already ended.
func (s *Session) startSpeech() bool {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	if s.reason != endNone {
		return false
	}
	s.started = true
	close(s.speech)
	return true
}

// setEnd records why listening stopped; the first reason wins. A
// no-input end (from the wall clock) loses to a speech onset already seen.
func (s *Session) setEnd(r endReason) {
	s.endMu.Lock()
	if s.reason == endNone && !(r == endNoInput && s.started) {
		if r == endCaller && !s.started {
			r = endNoInput
		}
		s.reason, s.endTime = r, time.Now()
		s.ended.Store(true)
	}
	s.endMu.Unlock()
	s.wake()
}

func (s *Session) endState() (endReason, time.Time) {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	return s.reason, s.endTime
}

// partial is the callback backends call with partial hypotheses.
func (s *Session) partial(r Result) {
	r.IsFinal, r.Outcome, r.Err = false, OutcomeUnknown, nil
	if r.Backend == "" {
		r.Backend = s.name
	}
	s.resMu.Lock()
	defer s.resMu.Unlock()
	if s.resClosed || r.Text == s.lastPartial || len(s.results) >= cap(s.results)-1 {
		return
	}
	s.lastPartial = r.Text
	s.results <- r
}

// run is the recognizer goroutine.
func (s *Session) run() {
	start := time.Now()
	res, askedFinal := s.recognize()
	s.ended.Store(true) // Write answers ErrDone from now on
	res.IsFinal = true
	res.Dropped = int(s.dropped.Load())
	if res.Backend == "" {
		res.Backend = s.name
	}
	res.Outcome = s.classify(&res)
	s.metrics.session(res, askedFinal)
	s.log.Debug("asr: session ended", "outcome", res.Outcome, "text", res.Text,
		"confidence", res.Confidence, "latency", res.Latency, "rtf", res.RTF(),
		"dropped", res.Dropped, "took", time.Since(start), "err", res.Err)

	s.final = res
	s.resMu.Lock()
	s.resClosed = true
	s.results <- res // the slot partials never use
	close(s.results)
	s.resMu.Unlock()
	s.cancel(ErrClosed) // release the context's resources
	close(s.done)
}

// classify turns what recognize produced into the session's Outcome.
func (s *Session) classify(r *Result) Outcome {
	switch {
	case r.Outcome == OutcomeNoInput || r.Outcome == OutcomeCancelled:
		return r.Outcome
	case r.Err != nil:
		return OutcomeError
	case strings.TrimSpace(r.Text) == "":
		return OutcomeNoMatch
	case r.Confidence < s.req.MinConfidence:
		return OutcomeNoMatch
	}
	return OutcomeFinal
}

// cancelled builds the result of a session whose context ended.
func (s *Session) cancelled(r Result) Result {
	r.Outcome, r.Err = OutcomeCancelled, context.Cause(s.ctx)
	return r
}

// recognize drives the backend: open, stream the queued audio, finish.
// askedFinal reports whether Finish was called (latency is meaningful).
func (s *Session) recognize() (res Result, askedFinal bool) {
	stream, err := s.backend.Open(s.ctx, s.req, s.partial)
	if err != nil {
		if s.ctx.Err() != nil {
			return s.cancelled(Result{}), false
		}
		return Result{Err: fmt.Errorf("asr: opening %s: %w", s.name, err)}, false
	}
	defer func() {
		if err := stream.Close(); err != nil {
			s.log.Warn("asr: closing stream", "err", err)
		}
	}()

	noInput := time.NewTimer(s.req.NoInputTimeout + wallGrace - time.Since(s.created))
	defer noInput.Stop()
	var maxUtt *time.Timer
	defer func() {
		if maxUtt != nil {
			maxUtt.Stop()
		}
	}()
	var maxC <-chan time.Time
	batch := make([]int16, batchFrames*s.frameLen)
	var samples int64
	for {
		reason, _ := s.endState()
		n := s.q.take(batch)
		if n > 0 {
			if maxUtt == nil {
				noInput.Stop()
				maxUtt = time.NewTimer(s.req.MaxUtterance + wallGrace)
				maxC = maxUtt.C
			}
			t := time.Now()
			err := stream.Write(s.ctx, batch[:n])
			res.Processing += time.Since(t)
			samples += int64(n)
			s.q.release()
			select {
			case s.drained <- struct{}{}:
			default:
			}
			if err != nil {
				res.Audio = s.duration(samples)
				if s.ctx.Err() != nil {
					return s.cancelled(res), false
				}
				res.Err = fmt.Errorf("asr: %s: %w", s.name, err)
				return res, false
			}
			continue
		}
		if reason != endNone {
			break
		}
		select {
		case <-s.ctx.Done():
			res.Audio = s.duration(samples)
			return s.cancelled(res), false
		case <-s.notify:
		case <-noInput.C:
			s.setEnd(endNoInput)
		case <-maxC:
			s.setEnd(endMaxUtterance)
		}
	}
	res.Audio = s.duration(samples)
	reason, endTime := s.endState()
	if reason == endNoInput || samples == 0 {
		res.Outcome = OutcomeNoInput
		return res, false
	}
	res.Truncated = reason == endMaxUtterance

	fctx, cancel := context.WithTimeout(s.ctx, s.req.ResultTimeout)
	defer cancel()
	t := time.Now()
	fin, err := stream.Finish(fctx)
	res.Processing += time.Since(t)
	res.Latency = time.Since(endTime)
	res.Text, res.Confidence, res.Words = strings.TrimSpace(fin.Text), fin.Confidence, fin.Words
	if fin.Backend != "" {
		res.Backend = fin.Backend
	}
	switch {
	case err == nil:
	case s.ctx.Err() != nil:
		return s.cancelled(res), true
	case fctx.Err() != nil:
		res.Err = fmt.Errorf("asr: %s: no final result within %v: %w (%w)", s.name, s.req.ResultTimeout, ErrTimeout, err)
	default:
		res.Err = fmt.Errorf("asr: %s: %w", s.name, err)
	}
	return res, true
}

func (s *Session) duration(samples int64) time.Duration {
	return time.Duration(samples * int64(time.Second) / int64(s.rate))
}

// waitDrained blocks until the recognizer has processed everything queued,
// the session ended, or ctx ended. Transcribe uses it to feed a clip as a
// real-time caller would when the backend keeps up.
func (s *Session) waitDrained(ctx context.Context) error {
	for s.q.pending() {
		select {
		case <-s.drained:
		case <-s.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// errDone reports whether err says the session stopped listening.
func errDone(err error) bool { return errors.Is(err, ErrDone) }
