package asr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/media/audio"
)

func TestSessionFinal(t *testing.T) {
	checkGoroutines(t)
	f := &fake{text: " agent ", conf: 0.9}
	reg, preg := newRegistry(t, map[string]asr.Backend{"fake": f})
	pcm := utterance(16000, time.Second, 800*time.Millisecond)
	res := run(t, reg, asr.Request{Phrases: []string{"agent"}}, pcm, 16000)
	if res.Outcome != asr.OutcomeFinal || res.Text != "agent" || !res.IsFinal || res.Backend != "fake" {
		t.Fatalf("result %+v", res)
	}
	if res.Truncated || res.Dropped != 0 || res.Err != nil {
		t.Errorf("result %+v", res)
	}
	// The backend hears the lead-in (300 ms before the onset), the speech
	// and the 600 ms of silence that ended it, not the whole second of
	// leading silence.
	got := time.Duration(f.received()[0]) * time.Second / 16000
	if got < 1500*time.Millisecond || got > 2*time.Second {
		t.Errorf("backend received %v of audio, want about 1.7s", got)
	}
	if res.Audio != got {
		t.Errorf("Result.Audio %v, backend got %v", res.Audio, got)
	}
	if res.Latency <= 0 {
		t.Errorf("latency %v", res.Latency)
	}
	if o, c, fin := f.counts(); o != 1 || c != 1 || fin != 1 {
		t.Errorf("opened %d closed %d finished %d", o, c, fin)
	}
	if n := metric(t, preg, "hotline_asr_sessions_total", map[string]string{"backend": "fake", "result": "final"}); n != 1 {
		t.Errorf("sessions_total{final} = %v", n)
	}
	if n := metric(t, preg, "hotline_asr_latency_seconds", map[string]string{"backend": "fake"}); n != 1 {
		t.Errorf("latency observations = %v", n)
	}
}

func TestSessionOutcomes(t *testing.T) {
	speech := utterance(16000, 500*time.Millisecond, 600*time.Millisecond)
	for _, tc := range []struct {
		name string
		f    *fake
		req  asr.Request
		pcm  []int16
		want asr.Outcome
		err  error
	}{
		{"silence is no input", &fake{text: "agent"}, asr.Request{NoInputTimeout: time.Second}, silence(16000, 3*time.Second), asr.OutcomeNoInput, nil},
		{"empty text is no match", &fake{}, asr.Request{}, speech, asr.OutcomeNoMatch, nil},
		{"low confidence is no match", &fake{text: "agent", conf: 0.3}, asr.Request{MinConfidence: 0.5}, speech, asr.OutcomeNoMatch, nil},
		{"open error", &fake{openErr: errBoom}, asr.Request{}, speech, asr.OutcomeError, errBoom},
		{"write error", &fake{writeErr: errBoom, writeAfter: 1}, asr.Request{}, speech, asr.OutcomeError, errBoom},
		{"finish error", &fake{finishErr: errBoom}, asr.Request{}, speech, asr.OutcomeError, errBoom},
		{"result timeout", &fake{text: "agent", delay: time.Hour}, asr.Request{ResultTimeout: 100 * time.Millisecond}, speech, asr.OutcomeError, asr.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			reg, preg := newRegistry(t, map[string]asr.Backend{"fake": tc.f})
			res := run(t, reg, tc.req, tc.pcm, 16000)
			if res.Outcome != tc.want {
				t.Fatalf("outcome %v, want %v (%+v)", res.Outcome, tc.want, res)
			}
			if tc.err != nil && !errors.Is(res.Err, tc.err) {
				t.Errorf("err %v, want %v", res.Err, tc.err)
			}
			if n := metric(t, preg, "hotline_asr_sessions_total", map[string]string{"result": tc.want.String()}); n != 1 {
				t.Errorf("sessions_total{%v} = %v", tc.want, n)
			}
			if o, c, _ := tc.f.counts(); o != c {
				t.Errorf("opened %d streams, closed %d", o, c)
			}
		})
	}
}

// TestNoInputCountsAudio checks that the no-input timeout is measured on
// the audio written: Write reports ErrDone on exactly the frame that
// completes NoInputTimeout, however fast the audio comes.
func TestNoInputCountsAudio(t *testing.T) {
	checkGoroutines(t)
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": &fake{}})
	s, err := reg.NewSession(context.Background(), asr.Request{NoInputTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frame := make([]int16, 320)
	n := 0
	for ; n < 1000; n++ {
		if err := s.Write(frame); err != nil {
			if !errors.Is(err, asr.ErrDone) {
				t.Fatal(err)
			}
			break
		}
	}
	if n+1 != 100 {
		t.Errorf("ended after %d frames, want 100 (2 s)", n+1)
	}
	res, _ := s.Wait(context.Background())
	if res.Outcome != asr.OutcomeNoInput {
		t.Errorf("outcome %v", res.Outcome)
	}
	if err := s.Write(frame); !errors.Is(err, asr.ErrDone) {
		t.Errorf("Write after the end: %v", err)
	}
}

// TestNoInputWallClock: a stream whose audio never arrives still ends.
func TestNoInputWallClock(t *testing.T) {
	checkGoroutines(t)
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": &fake{}})
	s, err := reg.NewSession(context.Background(), asr.Request{NoInputTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := s.Wait(ctx)
	if err != nil || res.Outcome != asr.OutcomeNoInput {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestMaxUtterance(t *testing.T) {
	checkGoroutines(t)
	f := &fake{text: "blah", conf: 1}
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": f})
	pcm := utterance(16000, 500*time.Millisecond, 30*time.Second)
	res := run(t, reg, asr.Request{MaxUtterance: 2 * time.Second}, pcm, 16000)
	if !res.Truncated || res.Outcome != asr.OutcomeFinal {
		t.Fatalf("%+v", res)
	}
	if res.Audio < 2*time.Second || res.Audio > 3*time.Second {
		t.Errorf("backend heard %v, want 2 s plus lead-in", res.Audio)
	}
}

// TestWriteNeverBlocks: a backend stuck in Write makes the session drop
// frames, count them, and still end on time with an error.
func TestWriteNeverBlocks(t *testing.T) {
	checkGoroutines(t)
	f := &fake{text: "x", block: make(chan struct{})}
	reg, preg := newRegistry(t, map[string]asr.Backend{"stuck": f})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := reg.NewSession(ctx, asr.Request{Queue: 200 * time.Millisecond, ResultTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pcm := utterance(16000, 300*time.Millisecond, 3*time.Second)
	// The backend never returns from Write, so a Write that waited for
	// it would hang this loop; returning at all, with the frames counted
	// as dropped below, is the proof.
	for i := 0; i+320 <= len(pcm); i += 320 {
		if err := s.Write(pcm[i : i+320]); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	res, _ := s.Wait(context.Background())
	if res.Outcome != asr.OutcomeCancelled || !errors.Is(res.Err, context.Canceled) {
		t.Errorf("%+v", res)
	}
	if res.Dropped < 100 {
		t.Errorf("dropped %d frames, want most of 3 s", res.Dropped)
	}
	if got := metric(t, preg, "hotline_asr_dropped_frames_total", map[string]string{"backend": "stuck"}); int(got) != res.Dropped {
		t.Errorf("dropped_frames_total %v, result says %d", got, res.Dropped)
	}
}

func TestPartials(t *testing.T) {
	checkGoroutines(t)
	f := &fake{text: "check my balance", conf: 0.8, partials: []string{"check", "check", "check my", "check my balance"}}
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": f})
	s, err := reg.NewSession(context.Background(), asr.Request{Partials: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	go func() {
		_, _ = asr.Transcribe(context.Background(), s, utterance(16000, 300*time.Millisecond, time.Second), 16000)
	}()
	var texts []string
	var final asr.Result
	for r := range s.Results() {
		if r.IsFinal {
			final = r
			continue
		}
		texts = append(texts, r.Text)
	}
	if final.Text != "check my balance" {
		t.Errorf("final %+v", final)
	}
	if len(texts) != 3 || texts[0] != "check" || texts[2] != "check my balance" {
		t.Errorf("partials %q (repeats should be dropped)", texts)
	}
}

// TestUnreadResults: a consumer that never reads Results does not stop
// the session from ending.
func TestUnreadResults(t *testing.T) {
	checkGoroutines(t)
	parts := make([]string, 50)
	for i := range parts {
		parts[i] = string(rune('a' + i%26))
	}
	f := &fake{text: "x", conf: 1, partials: parts}
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": f})
	res := run(t, reg, asr.Request{Partials: true}, utterance(16000, 300*time.Millisecond, time.Second), 16000)
	if res.Outcome != asr.OutcomeFinal {
		t.Fatalf("%+v", res)
	}
}

func TestCloseCancels(t *testing.T) {
	checkGoroutines(t)
	f := &fake{text: "x", block: make(chan struct{})}
	reg, preg := newRegistry(t, map[string]asr.Backend{"fake": f})
	s, err := reg.NewSession(context.Background(), asr.Request{})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Write(utterance(16000, 300*time.Millisecond, time.Second))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	res, _ := s.Wait(context.Background())
	if res.Outcome != asr.OutcomeCancelled || !errors.Is(res.Err, asr.ErrClosed) {
		t.Errorf("%+v", res)
	}
	if o, c, _ := f.counts(); o != 1 || c != 1 {
		t.Errorf("opened %d closed %d", o, c)
	}
	if n := metric(t, preg, "hotline_asr_sessions_total", map[string]string{"result": "cancelled"}); n != 1 {
		t.Errorf("cancelled sessions %v", n)
	}
	if err := s.Write(make([]int16, 320)); !errors.Is(err, asr.ErrDone) {
		t.Errorf("Write after Close: %v", err)
	}
}

func TestEndBeforeSpeechIsNoInput(t *testing.T) {
	checkGoroutines(t)
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": &fake{text: "x"}})
	s, err := reg.NewSession(context.Background(), asr.Request{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.Write(silence(16000, 200*time.Millisecond))
	s.End()
	res, _ := s.Wait(context.Background())
	if res.Outcome != asr.OutcomeNoInput {
		t.Errorf("%+v", res)
	}
}

func TestResampling(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		f := &fake{text: "agent", conf: 1}
		reg, _ := newRegistry(t, map[string]asr.Backend{"fake": f})
		res := run(t, reg, asr.Request{}, utterance(rate, 500*time.Millisecond, 800*time.Millisecond), rate)
		if res.Outcome != asr.OutcomeFinal {
			t.Errorf("%d Hz: %+v", rate, res)
			continue
		}
		if got := time.Duration(f.received()[0]) * time.Second / 16000; got < 1500*time.Millisecond || got > 2*time.Second {
			t.Errorf("%d Hz: backend got %v of 16 kHz audio", rate, got)
		}
	}
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": &fake{}})
	s, err := reg.NewSession(context.Background(), asr.Request{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sink, err := asr.NewSink(s, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if sink.SampleRate() != 8000 || sink.String() != "resample 8000->16000 -> asr fake 16000Hz" {
		t.Errorf("sink %d %q", sink.SampleRate(), sink.String())
	}
}

func TestWriteAllocs(t *testing.T) {
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": &fake{}})
	s, err := reg.NewSession(context.Background(), asr.Request{NoInputTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sink, err := asr.NewSink(s, 8000)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	if n := testing.AllocsPerRun(200, func() { _ = sink.Write(frame) }); n != 0 {
		t.Errorf("%v allocations per 20 ms frame", n)
	}
}

func BenchmarkWrite(b *testing.B) {
	m, _ := asr.NewMetrics(prometheus.NewRegistry())
	s, err := asr.NewSession(context.Background(), "fake", &fake{}, asr.Request{NoInputTimeout: 10 * time.Minute}, m)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sink, _ := asr.NewSink(s, 8000)
	frame := utterance(8000, 0, 20*time.Millisecond)[:160]
	b.ReportAllocs()
	for b.Loop() {
		_ = sink.Write(frame)
	}
}

func TestRequestValidate(t *testing.T) {
	err := asr.Request{Mode: asr.ModeGrammar, NoInputTimeout: time.Nanosecond, MinConfidence: 2, VADMode: 7}.Validate()
	for _, want := range []string{"grammar mode without phrases", "no-input timeout", "min confidence", "vad mode"} {
		if !errContains(err, want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if !errors.Is(err, asr.ErrInvalidRequest) {
		t.Errorf("%v is not ErrInvalidRequest", err)
	}
	if err := (asr.Request{}).Validate(); err != nil {
		t.Errorf("zero request: %v", err)
	}
	if m := (asr.Request{Phrases: []string{"x"}}).WithDefaults().Mode; m != asr.ModeGrammar {
		t.Errorf("auto mode with phrases = %v", m)
	}
	for _, s := range []string{"", "auto", "grammar", "open"} {
		m, err := asr.ParseMode(s)
		if err != nil || (s != "" && m.String() != s) {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := asr.NewRegistry()
	if err := r.Register("Bad Name", &fake{}); err == nil {
		t.Error("accepted a bad name")
	}
	if err := r.Register("odd", &fake{rate: 11025}); err == nil {
		t.Error("accepted an 11025 Hz backend")
	}
	if err := r.Register("a", &fake{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("a", &fake{}); err == nil {
		t.Error("accepted a duplicate")
	}
	if err := r.Register("b", &fake{}); err != nil {
		t.Fatal(err)
	}
	if r.Default() != "a" {
		t.Errorf("default %q", r.Default())
	}
	if err := r.SetDefault("b"); err != nil || r.Default() != "b" {
		t.Errorf("SetDefault: %v, %q", err, r.Default())
	}
	if _, err := r.NewSession(context.Background(), asr.Request{Backend: "nope"}); !errors.Is(err, asr.ErrUnknownBackend) {
		t.Errorf("unknown backend: %v", err)
	}
	if err := r.Validate(asr.Request{Fallback: "nope"}); !errors.Is(err, asr.ErrUnknownBackend) {
		t.Errorf("unknown fallback: %v", err)
	}
	if got := r.Names(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("names %v", got)
	}
}

// TestSpeechStarted: SpeechStarted closes at the VAD's onset, before the
// final result, and stays open for a session that heard only silence.
func TestSpeechStarted(t *testing.T) {
	checkGoroutines(t)
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": &fake{text: "agent", conf: 1}})
	for _, tc := range []struct {
		name   string
		pcm    []int16
		speech bool
	}{
		{"speech", append(utterance(16000, 500*time.Millisecond, 800*time.Millisecond), silence(16000, time.Second)...), true},
		{"silence", silence(16000, 3*time.Second), false},
	} {
		s, err := reg.NewSession(context.Background(), asr.Request{NoInputTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		heard := false
		for i := 0; i+320 <= len(tc.pcm); i += 320 {
			select {
			case <-s.SpeechStarted():
				heard = true
			default:
			}
			if s.Write(tc.pcm[i:i+320]) != nil {
				break
			}
		}
		res, _ := s.Wait(context.Background())
		select {
		case <-s.SpeechStarted():
			heard = true
		default:
		}
		s.Close()
		if heard != tc.speech {
			t.Errorf("%s: SpeechStarted closed %v, want %v (%v)", tc.name, heard, tc.speech, res.Outcome)
		}
	}
}

// TestMinSpeech: a short noise on the line (a 160 ms burst, a cough or a
// click) starts speech with the VAD's default onset but not with a
// Request.MinSpeech longer than it, so a node on a noisy line keeps its
// prompt playing; real speech still starts the session.
func TestMinSpeech(t *testing.T) {
	checkGoroutines(t)
	reg, _ := newRegistry(t, map[string]asr.Backend{"fake": &fake{text: "agent", conf: 1}})
	burst := append(silence(16000, 500*time.Millisecond), audio.Tone(440, 16000, 160*time.Millisecond, 0.3)...)
	burst = append(burst, silence(16000, 2*time.Second)...)
	speech := append(silence(16000, 500*time.Millisecond), audio.Tone(440, 16000, time.Second, 0.3)...) // a held vowel
	speech = append(speech, silence(16000, time.Second)...)
	for _, tc := range []struct {
		name      string
		pcm       []int16
		minSpeech time.Duration
		want      bool
	}{
		{"burst, default onset", burst, 0, true},
		{"burst, 400ms onset", burst, 400 * time.Millisecond, false},
		{"speech, 400ms onset", speech, 400 * time.Millisecond, true},
	} {
		s, err := reg.NewSession(context.Background(), asr.Request{NoInputTimeout: 2 * time.Second, MinSpeech: tc.minSpeech})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+320 <= len(tc.pcm); i += 320 {
			if s.Write(tc.pcm[i:i+320]) != nil {
				break
			}
		}
		s.End()
		res, _ := s.Wait(context.Background())
		heard := false
		select {
		case <-s.SpeechStarted():
			heard = true
		default:
		}
		s.Close()
		if heard != tc.want {
			t.Errorf("%s: SpeechStarted %v, want %v (%v)", tc.name, heard, tc.want, res.Outcome)
		}
	}
	if err := (asr.Request{MinSpeech: 3 * time.Second}).Validate(); !errors.Is(err, asr.ErrInvalidRequest) {
		t.Errorf("min speech 3s: %v", err)
	}
}
