package flowtest

// The simulated call leg: a Channel whose prompts are text, a Synthesizer that
// renders text as a token the Channel reads back, and a Recognizer whose answers
// are what the driver types.

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
)

// sampleRate is the simulated leg's audio rate: narrowband telephony, the rate the
// speech detector of a recording expects most.
const sampleRate = 8000

var (
	_ ivr.Channel      = (*leg)(nil)
	_ ivr.CallerAudio  = (*leg)(nil)
	_ ivr.Synthesizer  = (*synth)(nil)
	_ ivr.Recognizer   = recognizer{}
	_ ivr.SpeechStream = (*stream)(nil)
)

// leg is the simulated call leg.
type leg struct {
	c      *Call
	digits chan byte

	mu    sync.Mutex
	sinks map[int]ivr.AudioSink
	nSink int
}

func (l *leg) ID() string          { return l.c.cfg.CallID }
func (l *leg) Caller() string      { return l.c.cfg.Caller }
func (l *leg) Called() string      { return l.c.cfg.Called }
func (l *leg) SampleRate() int     { return sampleRate }
func (l *leg) Digits() <-chan byte { return l.digits }

func (l *leg) Ring(context.Context) error { return nil }
func (l *leg) EarlyMedia(context.Context) error {
	l.c.add(Entry{Kind: EntryNote, Text: "early media (183): prompts play before the call is answered"})
	return nil
}
func (l *leg) Answer(context.Context) error {
	l.c.add(Entry{Kind: EntryNote, Text: "call answered"})
	return nil
}
func (l *leg) Hangup(context.Context) error {
	l.c.add(Entry{Kind: EntryNote, Text: "the engine hangs up"})
	return nil
}

// Play "plays" a prompt: a synthesized one is logged and handed to the driver as an
// EventPrompt (it lasts until the driver moves on, or a barge-in stops it); other
// audio (a file, a beep, a pause's silence) is logged and takes no time.
func (l *leg) Play(ctx context.Context, src media.Source) error {
	text, voice, ok := l.c.synth.decode(src)
	if !ok {
		l.c.add(Entry{Kind: EntryAudio, Text: l.describeAudio(text)})
		return nil
	}
	l.c.add(Entry{Kind: EntryPrompt, Text: text, Voice: voice})
	l.c.hold(ctx, Event{Kind: EventPrompt, Prompt: text, Voice: voice}, nil)
	return ctx.Err()
}

// describeAudio names audio that is not a synthesized prompt, from what the node
// playing it is. length is the audio's length as decode measured it.
func (l *leg) describeAudio(length string) string {
	n := l.c.lookupNode(l.c.Node())
	if n == nil {
		return "audio (" + length + ")"
	}
	switch a := n.Action.(type) {
	case *flows.Play:
		return a.File
	case *flows.Pause:
		return "silence (" + length + ")"
	case *flows.Record:
		return "beep"
	}
	return "audio (" + length + ")"
}

// ListenAudio hands sink the caller's audio: the driver's speech and silence
// during a recording.
func (l *leg) ListenAudio(sink ivr.AudioSink) (stop func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sinks == nil {
		l.sinks = map[int]ivr.AudioSink{}
	}
	l.nSink++
	id := l.nSink
	l.sinks[id] = sink
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.sinks, id)
	}
}

// feed writes pcm to every listening sink, in 20 ms frames as the media engine
// would.
func (l *leg) feed(pcm []int16) {
	l.mu.Lock()
	sinks := make([]ivr.AudioSink, 0, len(l.sinks))
	for _, s := range l.sinks {
		sinks = append(sinks, s)
	}
	l.mu.Unlock()
	const frame = sampleRate / 50
	for off := 0; off < len(pcm); off += frame {
		end := min(off+frame, len(pcm))
		for _, s := range sinks {
			_ = s.WriteSample(pcm[off:end])
		}
	}
}

// speechAudio is audio the speech detector of a recording takes for speech: 1.2 s
// of bursts of two tones, 70 ms on and 70 ms off, after 300 ms of faint noise to
// learn the line's noise from, as a caller's words do.
func speechAudio(rate int) []int16 {
	lead, talk := rate*3/10, rate*12/10
	pcm := make([]int16, lead+talk)
	for i := range pcm {
		at := time.Duration(i) * time.Second / time.Duration(rate)
		v := noise(i)
		if i >= lead && ((at-300*time.Millisecond)/(70*time.Millisecond))%2 == 0 {
			s := at.Seconds()
			v += int16(3300 * (math.Sin(2*math.Pi*697*s) + math.Sin(2*math.Pi*1209*s)))
		}
		pcm[i] = v
	}
	return pcm
}

// quietAudio is d of faint line noise: a caller saying nothing.
func quietAudio(rate int, d time.Duration) []int16 {
	pcm := make([]int16, int(int64(rate)*int64(d)/int64(time.Second)))
	for i := range pcm {
		pcm[i] = noise(i)
	}
	return pcm
}

// noise is deterministic white noise at about -50 dBFS.
func noise(i int) int16 {
	x := uint64(i)*6364136223846793005 + 1442695040888963407
	x ^= x >> 29
	return int16(int64(x%201) - 100)
}

// synth renders each prompt as a short token that leg.Play reads back: the text
// itself never becomes audio.
type synth struct {
	mu    sync.Mutex
	ids   map[[2]string]int
	texts [][2]string // text and voice, by id-1
}

// synthMark starts every token; no real audio starts with two full-scale negative
// samples.
const synthMark = math.MinInt16

func newSynth() *synth { return &synth{ids: map[[2]string]int{}} }

func (s *synth) Synthesize(_ context.Context, text, voice string, _ int) ([]int16, error) {
	k := [2]string{speechText(text), voice}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[k]
	if !ok {
		s.texts = append(s.texts, k)
		id = len(s.texts)
		s.ids[k] = id
	}
	return []int16{synthMark, synthMark, int16(uint16(id >> 16)), int16(uint16(id))}, nil
}

// decode reads src whole: the text and voice of a token, or ok false and the length
// of other audio.
func (s *synth) decode(src media.Source) (text, voice string, ok bool) {
	var head []int16
	n := 0
	frame := make([]int16, 160)
	for {
		k, err := src.Read(frame)
		if len(head) < 4 {
			head = append(head, frame[:min(k, 4-len(head))]...)
		}
		n += k
		if err == io.EOF || err != nil || k == 0 {
			break
		}
	}
	if n == 4 && head[0] == synthMark && head[1] == synthMark {
		id := int(uint16(head[2]))<<16 | int(uint16(head[3]))
		s.mu.Lock()
		defer s.mu.Unlock()
		if id >= 1 && id <= len(s.texts) {
			return s.texts[id-1][0], s.texts[id-1][1], true
		}
	}
	return formatDuration(time.Duration(n) * time.Second / sampleRate), "", false
}

// recognizer opens a stream per answer the runtime waits for; the driver's Say is
// its transcript.
type recognizer struct{ c *Call }

func (r recognizer) Recognize(_ context.Context, req ivr.SpeechRequest) (ivr.SpeechStream, error) {
	s := &stream{c: r.c, req: req, events: make(chan ivr.SpeechEvent, 2)}
	r.c.mu.Lock()
	r.c.stream = s
	r.c.mu.Unlock()
	return s, nil
}

// stream is one answer being listened for.
type stream struct {
	c      *Call
	req    ivr.SpeechRequest
	mu     sync.Mutex
	events chan ivr.SpeechEvent
	ended  bool // the final result was sent and events closed
}

// WriteSample takes the caller's audio, which carries nothing: the simulated
// caller's words come as text.
func (s *stream) WriteSample([]int16) error      { return nil }
func (s *stream) Events() <-chan ivr.SpeechEvent { return s.events }

// open reports whether the stream still waits for its answer.
func (s *stream) open() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

// answer delivers text as the final result, unless the stream has one already.
func (s *stream) answer(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.ended = true
	s.events <- ivr.SpeechEvent{Type: ivr.SpeechFinal, Text: text, Confidence: 1}
	close(s.events)
}

// pending reports whether a result waits to be received.
func (s *stream) pending() bool { return len(s.events) > 0 }

// Finish ends the answer with what was heard: nothing, or the answer already sent.
func (s *stream) Finish() { s.answer("") }

func (s *stream) Close() error {
	s.c.mu.Lock()
	if s.c.stream == s {
		s.c.stream = nil
	}
	s.c.mu.Unlock()
	return nil
}

// recording is a voicemail being recorded.
type recording struct {
	c            *Call
	id           string
	rate         int
	endOnSilence time.Duration

	mu      sync.Mutex
	samples int
	words   []string
	quiet   time.Duration // silence fed since the last words
}

// silenceMargin is how much longer than end_on_silence the simulator feeds silence
// before it knows the recording has ended: the speech detector reports the end of
// speech after its own hangover (300 ms).
const silenceMargin = time.Second

func (r *recording) WriteSample(pcm []int16) error {
	r.mu.Lock()
	r.samples += len(pcm)
	r.mu.Unlock()
	return nil
}

// say records words: their audio is fed by the caller of say.
func (r *recording) say(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.words = append(r.words, text)
	r.quiet = 0
}

// silence feeds d of silence (no more than it takes to end the recording) and
// reports whether the recording has ended on silence by now.
func (r *recording) silence(d time.Duration, l *leg) bool {
	r.mu.Lock()
	need := r.endOnSilence + silenceMargin - r.quiet
	r.mu.Unlock()
	if need > 0 {
		l.feed(quietAudio(r.rate, min(d, need)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.quiet += d
	return r.quiet >= r.endOnSilence+silenceMargin
}

func (r *recording) Finish(context.Context) (string, error) {
	r.end()
	r.mu.Lock()
	text := fmt.Sprintf("%s kept (%s)", r.id, formatDuration(time.Duration(r.samples)*time.Second/time.Duration(r.rate)))
	if len(r.words) > 0 {
		text += ": " + fmt.Sprintf("%q", r.words)
	}
	r.mu.Unlock()
	r.c.add(Entry{Kind: EntryRecording, Text: text})
	return r.id, nil
}

func (r *recording) Discard(context.Context) error {
	r.end()
	r.c.add(Entry{Kind: EntryRecording, Text: r.id + " discarded: nothing but silence"})
	return nil
}

func (r *recording) end() {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	if r.c.rec == r {
		r.c.rec = nil
	}
}
