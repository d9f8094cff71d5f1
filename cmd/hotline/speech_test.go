package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/asr/sphinx"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
)

// speechMenu is a speech menu's phrases, as a menu node hands them to the
// recognizer.
var speechMenu = []string{"check my balance", "billing", "technical support", "agent", "pay my bill"}

// speechRequire fails (never skips) without the Debian packages the speech tests
// use.
func speechRequire(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatalf("espeak-ng: %v: install the Debian package espeak-ng", err)
	}
	cfg := defaultASRConfig()
	for _, f := range []string{cfg.Sphinx.AcousticModel + "/mdef", cfg.Sphinx.Dictionary, cfg.Sphinx.LanguageModel} {
		if !fileExists(f) {
			t.Fatalf("%s is missing: install the Debian packages libpocketsphinx3 and pocketsphinx-en-us", f)
		}
	}
}

// speechPhone synthesises text with espeak-ng and passes it through a phone line:
// 8 kHz, G.711 μ-law encoded and decoded by media/codec, with 400 ms of silence
// before it.
func speechPhone(t *testing.T, text string) []int16 {
	t.Helper()
	out, err := exec.Command("espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text).Output()
	if err != nil {
		t.Fatalf("espeak-ng %q: %v", text, err)
	}
	pcm, rate, err := audio.ReadWAV(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("espeak-ng output: %v", err)
	}
	nb, err := audio.Resample(pcm, rate, 8000)
	if err != nil {
		t.Fatal(err)
	}
	ulaw := make([]byte, len(nb))
	codec.EncodeMulaw(ulaw, nb)
	codec.DecodeMulaw(nb, ulaw)
	return append(make([]int16, 3200), nb...)
}

// speechLazy is the default configuration without preloaded decoders, for tests
// that decode little or nothing (loading a decoder takes a second under -race).
func speechLazy() ASRConfig {
	cfg := defaultASRConfig()
	cfg.Sphinx.Preload = 0
	return cfg
}

// speechNew builds a recognizer from cfg with its own metrics registry and
// closes it when the test ends.
func speechNew(t *testing.T, cfg ASRConfig) (ivr.Recognizer, *prometheus.Registry) {
	t.Helper()
	preg := prometheus.NewRegistry()
	rec, closer, err := newRecognizer(cfg, preg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	return rec, preg
}

// speechAnswer is what a stream delivered.
type speechAnswer struct {
	events []ivr.SpeechEvent
	final  *ivr.SpeechEvent
}

func (a speechAnswer) String() string {
	var b strings.Builder
	for _, ev := range a.events {
		switch ev.Type {
		case ivr.SpeechStarted:
			b.WriteString("started ")
		case ivr.SpeechPartial:
			b.WriteString("partial(" + ev.Text + ") ")
		case ivr.SpeechFinal:
			b.WriteString("final(" + ev.Text + ") ")
		case ivr.SpeechError:
			b.WriteString("error(" + ev.Err.Error() + ") ")
		}
	}
	return strings.TrimSpace(b.String())
}

// speechFeed plays pcm (8 kHz) into a stream at the pace of a call, 20 ms frames,
// then silence until the events end (bounded), and returns the events.
func speechFeed(t *testing.T, s ivr.SpeechStream, pcm []int16, finish bool) speechAnswer {
	t.Helper()
	var a speechAnswer
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	silence := make([]int16, 160)
	events := s.Events()
	for i := 0; i < 500; i++ { // 10 s of audio at most
		frame := silence
		if off := i * 160; off < len(pcm) {
			frame = pcm[off:min(off+160, len(pcm))]
		} else if finish {
			s.Finish()
			finish = false
		}
		if err := s.WriteSample(frame); err != nil {
			t.Fatalf("WriteSample: %v", err)
		}
		for drained := false; !drained; {
			select {
			case ev, ok := <-events:
				if !ok {
					return a
				}
				a.events = append(a.events, ev)
				if ev.Type == ivr.SpeechFinal || ev.Type == ivr.SpeechError {
					a.final = &a.events[len(a.events)-1]
				}
			default:
				drained = true
			}
		}
		<-tick.C
	}
	t.Fatalf("no end of the events after 10 s of audio: %v", a)
	return a
}

// speechMetric sums the counter (or histogram count) name over the series whose
// label key has value (key "" for all).
func speechMetric(t *testing.T, reg *prometheus.Registry, name, key, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := key == ""
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() == key && l.GetValue() == value)
			}
			if match {
				sum += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// speechGoroutines waits for the goroutine count to settle at or under n.
func speechGoroutines(n int) int {
	for range 150 {
		if g := runtime.NumGoroutine(); g <= n {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}

// TestSpeechGrammarMenuThroughMulaw: espeak-ng speech through G.711 μ-law at
// 8 kHz, fed at call pace through the adapter by five callers at once, is
// recognised in grammar mode (the node's phrases) as the phrase said, with
// SpeechStarted first; nothing is left running after the streams close.
func TestSpeechGrammarMenuThroughMulaw(t *testing.T) {
	speechRequire(t)
	rec, preg := speechNew(t, defaultASRConfig())
	before := runtime.NumGoroutine()
	answers := make([]speechAnswer, len(speechMenu))
	var wg sync.WaitGroup
	for i, phrase := range speechMenu {
		pcm := speechPhone(t, phrase)
		s, err := rec.Recognize(t.Context(), ivr.SpeechRequest{
			CallID: "speech-" + phrase, Flow: "test", Node: "menu", Language: "en",
			SampleRate: 8000, Phrases: speechMenu, MaxDuration: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer s.Close()
			answers[i] = speechFeed(t, s, pcm, false)
		})
	}
	wg.Wait()
	for i, a := range answers {
		t.Logf("%q: %v", speechMenu[i], a)
		if a.final == nil || a.final.Type != ivr.SpeechFinal || a.final.Text != speechMenu[i] {
			t.Errorf("%q heard as %v", speechMenu[i], a)
			continue
		}
		if a.events[0].Type != ivr.SpeechStarted {
			t.Errorf("%q: first event %v, want SpeechStarted", speechMenu[i], a)
		}
		if a.final.Confidence <= 0 || a.final.Confidence > 1 {
			t.Errorf("%q: confidence %v", speechMenu[i], a.final.Confidence)
		}
	}
	if n := speechMetric(t, preg, "hotline_asr_sessions_total", "result", "final"); n != float64(len(speechMenu)) {
		t.Errorf("hotline_asr_sessions_total{result=final} = %v, want %d", n, len(speechMenu))
	}
	if n := speechMetric(t, preg, "hotline_asr_dropped_frames_total", "", ""); n != 0 {
		t.Errorf("%v frames dropped", n)
	}
	if g := speechGoroutines(before); g > before {
		t.Errorf("goroutines %d -> %d after the streams closed", before, g)
	}
}

// TestSpeechOpenAndUnknownWords: without phrases the answer is decoded in open
// mode (a final result, whatever the language model makes of espeak-ng), and a
// phrase with a word the dictionary lacks is left out of the grammar instead of
// failing the node.
func TestSpeechOpenAndUnknownWords(t *testing.T) {
	speechRequire(t)
	rec, _ := speechNew(t, speechLazy())
	pcm := speechPhone(t, "billing")
	for _, tc := range []struct {
		name    string
		phrases []string
		want    string // "" for any text
	}{
		{"open vocabulary", nil, ""},
		{"unknown word dropped", []string{"billing", "flurbix account", "agent"}, "billing"},
	} {
		s, err := rec.Recognize(t.Context(), ivr.SpeechRequest{CallID: "speech-open", SampleRate: 8000, Phrases: tc.phrases})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		a := speechFeed(t, s, pcm, false)
		s.Close()
		t.Logf("%s: %v", tc.name, a)
		if a.final == nil || a.final.Type != ivr.SpeechFinal || (tc.want != "" && a.final.Text != tc.want) {
			t.Errorf("%s: %v, want final %q", tc.name, a, tc.want)
		}
	}
}

// TestSpeechFallbackByName: a node naming a remote backend that is down gets its
// answer from the configured fallback (sphinx), chosen by name.
func TestSpeechFallbackByName(t *testing.T) {
	speechRequire(t)
	cfg := defaultASRConfig()
	cfg.Vosk = []VoskConfig{{Name: "remote", URL: "ws://127.0.0.1:1/", ConnectTimeout: Duration{300 * time.Millisecond}}}
	cfg.Fallback = "sphinx"
	rec, preg := speechNew(t, cfg)
	s, err := rec.Recognize(t.Context(), ivr.SpeechRequest{CallID: "speech-fallback", SampleRate: 8000, Phrases: speechMenu, Backend: "remote"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := speechFeed(t, s, speechPhone(t, "technical support"), false)
	if a.final == nil || a.final.Type != ivr.SpeechFinal || a.final.Text != "technical support" {
		t.Fatalf("%v", a)
	}
	if n := speechMetric(t, preg, "hotline_asr_fallbacks_total", "reason", "error"); n != 1 {
		t.Errorf("hotline_asr_fallbacks_total{reason=error} = %v", n)
	}
}

// TestSpeechNoInputAndFinish: silence with Finish gives an empty final answer (the
// SpeechStream contract); silence closed by the runtime gives no event at all; a
// stream closed while it listens releases everything.
func TestSpeechNoInputAndFinish(t *testing.T) {
	speechRequire(t)
	rec, _ := speechNew(t, speechLazy())
	before := runtime.NumGoroutine()
	req := ivr.SpeechRequest{CallID: "speech-silence", SampleRate: 16000, Phrases: speechMenu}

	s, err := rec.Recognize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// 16 kHz input, fed in 8 kHz-sized frames: 1 s of silence at half speed.
	a := speechFeed(t, s, make([]int16, 8000), true)
	s.Close()
	if len(a.events) != 1 || a.final == nil || a.final.Type != ivr.SpeechFinal || a.final.Text != "" {
		t.Errorf("silence then Finish: %v, want one empty final", a)
	}

	s, err = rec.Recognize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if err := s.WriteSample(make([]int16, 320)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s.Close()
	if g := speechGoroutines(before); g > before {
		t.Errorf("goroutines %d -> %d after Close", before, g)
	}
	if err := s.WriteSample(make([]int16, 320)); err != nil {
		t.Errorf("WriteSample after Close: %v", err)
	}
}

// TestSpeechRequestErrors: what cannot be served fails Recognize at once, so the
// runtime can try the node's fallback_backend.
func TestSpeechRequestErrors(t *testing.T) {
	speechRequire(t)
	rec, _ := speechNew(t, speechLazy())
	for _, tc := range []struct {
		name string
		req  ivr.SpeechRequest
		want error
	}{
		{"unknown backend", ivr.SpeechRequest{SampleRate: 8000, Backend: "nope"}, asr.ErrUnknownBackend},
		{"language without a model", ivr.SpeechRequest{SampleRate: 8000, Language: "zh", Phrases: []string{"退款"}}, asr.ErrUnsupported},
		{"no sample rate", ivr.SpeechRequest{}, nil},
	} {
		s, err := rec.Recognize(t.Context(), tc.req)
		if err == nil {
			s.Close()
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestSpeechConfig: the documented YAML reads over the defaults with every key
// known, and bad sections are refused with the key named.
func TestSpeechConfig(t *testing.T) {
	text := `
default: sphinx
languages: {zh: vosk-zh}
fallback: ""
latency_budget: 800ms
queue: 2s
min_silence: 700ms
result_timeout: 3s
min_confidence: 0.2
partials: false
sphinx:
  enabled: true
  acoustic_model: /usr/share/pocketsphinx/model/en-us/en-us
  dictionary: /usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict
  language_model: /usr/share/pocketsphinx/model/en-us/en-us.lm.bin
  language: en-US
  pool_size: 3
  preload: 1
vosk:
  - name: vosk-zh
    url: ws://127.0.0.1:2700
    languages: {zh: "ws://127.0.0.1:2700"}
    sample_rate: 16000
    connect_timeout: 2s
    read_timeout: 2s
    grammar_field: phrase_list
`
	cfg := defaultASRConfig()
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.LatencyBudget.Duration != 800*time.Millisecond || cfg.Sphinx.PoolSize != 3 || cfg.Vosk[0].Languages["zh"] == "" {
		t.Errorf("%+v", cfg)
	}
	def := defaultASRConfig()
	if err := def.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if def.Default != "sphinx" || !def.Sphinx.Enabled || def.Sphinx.Dictionary != sphinx.DefaultModelDir+"/cmudict-en-us.dict" ||
		def.Queue.Duration != asr.DefaultQueue || def.Sphinx.PoolSize != sphinx.DefaultPoolSize {
		t.Errorf("defaults %+v", def)
	}
	for _, tc := range []struct {
		edit func(*ASRConfig)
		key  string
	}{
		{func(c *ASRConfig) { c.Default = "nope" }, "asr.default"},
		{func(c *ASRConfig) { c.Fallback = "nope" }, "asr.fallback"},
		{func(c *ASRConfig) { c.Languages = map[string]string{"zh": "nope"} }, "asr.languages.zh"},
		{func(c *ASRConfig) { c.Sphinx.PoolSize = 0 }, "asr.sphinx.pool_size"},
		{func(c *ASRConfig) { c.Vosk = []VoskConfig{{Name: "sphinx", URL: "ws://x/"}} }, "asr.vosk[0].name"},
		{func(c *ASRConfig) { c.Vosk = []VoskConfig{{Name: "v"}} }, "asr.vosk[0].url"},
		{func(c *ASRConfig) { c.Queue = Duration{time.Millisecond} }, "queue"},
		{func(c *ASRConfig) { c.Sphinx.Enabled = false }, "asr.default"},
	} {
		c := defaultASRConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
	// No backend at all: no recognizer, which the runtime takes as speech input
	// being unavailable.
	if rec, closer, err := newRecognizer(ASRConfig{}, prometheus.NewRegistry(), nil); rec != nil || closer == nil || err != nil {
		t.Errorf("no backends: %v %v %v", rec, closer, err)
	} else {
		closer.Close()
	}
	if _, _, err := newRecognizer(ASRConfig{Default: "sphinx"}, prometheus.NewRegistry(), nil); err == nil {
		t.Error("a default backend that is not configured was accepted")
	}
}

// TestSpeechWriteSampleAllocs: feeding the caller's audio (resampled from 8 kHz)
// allocates nothing per frame on the media path.
//
// AllocsPerRun counts every goroutine's allocations, and the session's own
// goroutine (taking a decoder, loading the grammar) or one a finished test left
// behind may allocate while it measures; what WriteSample allocates it allocates
// on every frame. So the decoders are preloaded and the best of a few short
// measurements is taken, all well inside the 5 s no-input timeout (a session
// that had ended would ignore the audio and prove nothing).
func TestSpeechWriteSampleAllocs(t *testing.T) {
	speechRequire(t)
	rec, _ := speechNew(t, defaultASRConfig())
	s, err := rec.Recognize(t.Context(), ivr.SpeechRequest{CallID: "speech-allocs", SampleRate: 8000, Phrases: speechMenu})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frame := make([]int16, 160)
	// AllocsPerRun counts every allocation of the process, and goroutines that
	// earlier tests of the package left winding down (engines closing, WebRTC
	// peers) allocate too: the best of several rounds is WriteSample's own count.
	best := math.Inf(1)
	for round := 0; round < 12 && best != 0; round++ { // at most 12 × 51 frames of 20 ms: 12.2 s of audio
		runtime.GC()
		best = min(best, testing.AllocsPerRun(50, func() {
			if err := s.WriteSample(frame); err != nil {
				t.Fatal(err)
			}
		}))
	}
	if best != 0 {
		t.Errorf("WriteSample allocates %v times per frame", best)
	}
}

// speechVoskServer is a server of the Vosk WebSocket protocol on loopback: it
// reads the JSON configuration, answers each binary chunk of audio with an empty
// partial result and the {"eof" : 1} message with the final result text (path
// /answer), or answers nothing at all until the client goes away (path /hang). It counts the connections it served.
func speechVoskServer(t *testing.T, text string) (url string, conns *atomic.Int32) {
	t.Helper()
	conns = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		conns.Add(1)
		for range 100000 { // bounded: 2000 s of 20 ms frames
			typ, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if r.URL.Path == "/hang" {
				continue
			}
			if typ == websocket.MessageBinary { // every chunk of audio is answered
				if c.Write(r.Context(), websocket.MessageText, []byte(`{"partial" : ""}`)) != nil {
					return
				}
				continue
			}
			if !strings.Contains(string(data), `"eof"`) {
				continue // the configuration
			}
			b, _ := json.Marshal(map[string]any{"text": text})
			if c.Write(r.Context(), websocket.MessageText, b) == nil {
				c.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), conns
}

// TestSpeechNodeFallback: a node's own fallback (SpeechRequest.Fallback, from
// speech.fallback_backend) is used, with no asr.fallback configured: a Vosk-protocol
// server that never answers is overtaken by PocketSphinx at the node's latency
// budget, and a backend that cannot be reached hands the answer to a Vosk-protocol
// server that answers. The node's min_speech reaches the session.
func TestSpeechNodeFallback(t *testing.T) {
	speechRequire(t)
	base, conns := speechVoskServer(t, "billing")
	cfg := defaultASRConfig()
	cfg.Sphinx.Preload = 1
	cfg.Vosk = []VoskConfig{
		{Name: "hangs", URL: base + "/hang", ReadTimeout: Duration{10 * time.Second}},
		{Name: "answers", URL: base + "/answer"},
		{Name: "down", URL: "ws://127.0.0.1:1/", ConnectTimeout: Duration{300 * time.Millisecond}},
	}
	rec, preg := speechNew(t, cfg)

	s, err := rec.Recognize(t.Context(), ivr.SpeechRequest{CallID: "speech-node-latency", SampleRate: 8000, Phrases: speechMenu,
		Backend: "hangs", Fallback: "sphinx", LatencyBudget: 300 * time.Millisecond, MinSpeech: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := speechFeed(t, s, speechPhone(t, "technical support"), false)
	s.Close()
	if a.final == nil || a.final.Type != ivr.SpeechFinal || a.final.Text != "technical support" {
		t.Errorf("hanging backend, fallback sphinx: %v", a)
	}
	if n := speechMetric(t, preg, "hotline_asr_fallbacks_total", "reason", "latency"); n != 1 {
		t.Errorf("hotline_asr_fallbacks_total{reason=latency} = %v, want 1", n)
	}

	s, err = rec.Recognize(t.Context(), ivr.SpeechRequest{CallID: "speech-node-error", SampleRate: 8000, Phrases: speechMenu,
		Backend: "down", Fallback: "answers"})
	if err != nil {
		t.Fatal(err)
	}
	a = speechFeed(t, s, speechPhone(t, "billing"), false)
	s.Close()
	if a.final == nil || a.final.Type != ivr.SpeechFinal || a.final.Text != "billing" {
		t.Errorf("unreachable backend, fallback answers: %v", a)
	}
	if n := speechMetric(t, preg, "hotline_asr_fallbacks_total", "reason", "error"); n != 1 {
		t.Errorf("hotline_asr_fallbacks_total{reason=error} = %v, want 1", n)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the Vosk-protocol server served %d connections, want 2 (hangs, answers)", n)
	}
}
