package ivr

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

const speechGather = `
name: sg
start: ask
defaults: {error: failed}
variables: {reason: string}
nodes:
  ask:
    gather:
      prompt: Please say your reason for calling after the tone.
      input: %s
      var: reason
      retries: 0
      speech: {backend: main, fallback_backend: fallback, timeout: 3s}
    next: thanks
    on: {no_input: silent, no_match: unclear}
  thanks: {say: "You said {{ reason }}.", next: end}
  silent: {say: Nothing heard., next: end}
  unclear: {say: Not understood., next: end}
  failed: {say: Failed., next: end}
  end: {hangup: resolved}
`

func TestGatherSpeech(t *testing.T) {
	const prompt = "Please say your reason for calling after the tone."
	tests := []struct {
		name    string
		input   string
		setup   func(h *harness)
		steps   []step
		plain   bool // no recognizer
		path    string
		said    string // the last prompt
		log     string // a line the log must hold
		reason  string
		barged  bool // the prompt was stopped by speech
		streams int  // recognition streams opened
	}{
		{
			name: "answer after the prompt", input: "speech",
			steps: []step{{prompt: prompt, delay: time.Second, speech: "my router is broken"}},
			path:  "ask>thanks>end", said: "You said my router is broken.", reason: "my router is broken", streams: 1,
		},
		{
			name: "speech barges in", input: "speech",
			setup: func(h *harness) { h.svc.rec.say(utterance{text: "billing question", conf: 0.8}) },
			path:  "ask>thanks>end", said: "You said billing question.", reason: "billing question", barged: true, streams: 1,
		},
		{
			name: "silence is no input", input: "speech",
			path: "ask>silent>end", said: "Nothing heard.", streams: 1,
		},
		{
			name: "an empty transcript is no match", input: "speech",
			steps: []step{{prompt: prompt, delay: time.Second, speech: " "}},
			setup: func(h *harness) {},
			path:  "ask>unclear>end", said: "Not understood.", streams: 1,
		},
		{
			name: "a long answer is finished at speech.timeout", input: "speech",
			steps: []step{{prompt: prompt, delay: time.Second, speech: strings.Repeat("and then ", 60)}},
			path:  "ask>thanks>end", reason: strings.TrimSpace(strings.Repeat("and then ", 60)), streams: 1,
		},
		{
			name: "the fallback recognizer", input: "speech",
			setup: func(h *harness) { h.svc.rec.startErr = errors.New("main backend down") },
			steps: []step{{prompt: prompt, delay: time.Second, speech: "hello"}},
			path:  "ask>thanks>end", reason: "hello", log: "trying the fallback", streams: 2,
		},
		{
			name: "a recognizer error is the error outcome", input: "speech",
			setup: func(h *harness) { h.svc.rec.failWith = errors.New("decoder crashed") },
			steps: []step{{prompt: prompt, delay: time.Second, speech: "hello"}},
			path:  "ask>failed>end", said: "Failed.", log: "decoder crashed", streams: 1,
		},
		{
			name: "a key wins with dtmf_speech", input: "dtmf_speech",
			steps: []step{{prompt: prompt, delay: time.Second, keys: "7"}},
			path:  "ask>thanks>end", said: "You said 7.", reason: "7", streams: 1,
		},
		{
			name: "speech without a recognizer is an error", input: "speech", plain: true,
			path: "ask>failed>end", log: "gather node: no speech recognizer configured (input: speech)",
		},
		{
			name: "dtmf_speech without a recognizer takes keys", input: "dtmf_speech", plain: true,
			steps: []step{{prompt: prompt, delay: time.Second, keys: "3"}},
			path:  "ask>thanks>end", reason: "3", log: "taking keys only",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				opts := []Option{WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}
				var h *harness
				if tt.plain {
					h = newHarness(t, opts...)
					h.svc = newServices()
				} else {
					h = newServiceHarness(t, opts...)
				}
				defer h.ch.close()
				if tt.setup != nil {
					tt.setup(h)
				}
				res := h.script(loadOne(t, sprintf(speechGather, tt.input)), tt.steps...)
				if got := path(res); got != tt.path {
					t.Errorf("path %s, want %s", got, tt.path)
				}
				said := h.ch.said()
				if tt.said != "" && said[len(said)-1] != tt.said {
					t.Errorf("said %q, want %q last", said, tt.said)
				}
				if res.Vars["reason"] != tt.reason {
					t.Errorf("reason %q, want %q", res.Vars["reason"], tt.reason)
				}
				if tt.log != "" && !strings.Contains(logs.String(), tt.log) {
					t.Errorf("log lacks %q:\n%s", tt.log, logs.String())
				}
				if p := h.ch.played(); p[0].interrupted != tt.barged {
					t.Errorf("prompt interrupted %v, want %v", p[0].interrupted, tt.barged)
				}
				if !tt.plain {
					if n := len(h.svc.rec.requests()); n != tt.streams {
						t.Errorf("%d streams requested, want %d", n, tt.streams)
					}
					if tt.streams == 2 && h.svc.rec.requests()[1].Backend != "fallback" {
						t.Errorf("second request %+v, want the fallback backend", h.svc.rec.requests()[1])
					}
					if n := h.svc.rec.openStreams(); n != 0 {
						t.Errorf("%d streams left open", n)
					}
				}
				if tt.reason != "" && tt.input == "speech" && (res.Vars["transcript"] != tt.reason || !slices.Equal(res.Transcript, []string{tt.reason})) {
					t.Errorf("transcript %q / %q", res.Vars["transcript"], res.Transcript)
				}
			})
		})
	}
}

// TestSpeechTimeoutFinishes: an answer longer than speech.timeout is finished by the
// runtime speech.timeout after it started.
func TestSpeechTimeoutFinishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newServiceHarness(t)
		defer h.ch.close()
		long := strings.Repeat("and then ", 60) // 5.4 s of speech
		h.script(loadOne(t, sprintf(speechGather, "speech")),
			step{prompt: "Please say your reason", delay: time.Second, speech: long})
		plays := h.ch.played()
		promptEnd := plays[0].end
		if got := plays[1].start - promptEnd - time.Second; got != 3*time.Second {
			t.Errorf("the answer was taken %v after it started, want speech.timeout (3s)", got)
		}
	})
}

func TestGatherConfirm(t *testing.T) {
	const src = `
name: confirm
start: pin
defaults: {error: end}
variables: {pin: string}
nodes:
  pin:
    gather:
      prompt: Enter your PIN.
      min_digits: 4
      max_digits: 4
      var: pin
      retries: 1
      no_match_prompt: Let us try again.
      confirm: {prompt: "You entered {{ pin }}. Press 1 if correct, 2 to try again.", timeout: 2s}
    next: ok
    on: {no_input: none, no_match: wrong}
  ok: {say: "Thanks, {{ pin }}.", next: end}
  none: {say: None., next: end}
  wrong: {say: "Wrong, pin is now '{{ pin }}'.", next: end}
  end: {hangup: resolved}
`
	t.Run("yes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			res := h.script(loadOne(t, src),
				step{prompt: "Enter your PIN.", delay: time.Second, keys: "1234"},
				step{prompt: "You entered 1234.", delay: time.Second, keys: "1"})
			checkStrings(t, "said", h.ch.said(), []string{"Enter your PIN.", "You entered 1234. Press 1 if correct, 2 to try again.", "Thanks, 1234."})
			if res.Vars["pin"] != "1234" {
				t.Errorf("pin %v", res.Vars["pin"])
			}
		})
	})
	t.Run("typed ahead with the confirmation", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			h.script(loadOne(t, src), step{prompt: "Enter your PIN.", delay: time.Second, keys: "12341"})
			checkStrings(t, "said", h.ch.said(), []string{"Enter your PIN.", "Thanks, 1234."})
		})
	})
	t.Run("no, then silence", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			res := h.script(loadOne(t, src),
				step{prompt: "Enter your PIN.", delay: time.Second, keys: "1234"},
				step{prompt: "You entered 1234.", delay: time.Second, keys: "2"},
				step{prompt: "Enter your PIN.", delay: time.Second, keys: "5678"})
			checkStrings(t, "said", h.ch.said(), []string{
				"Enter your PIN.", "You entered 1234. Press 1 if correct, 2 to try again.",
				"Let us try again.", "Enter your PIN.", "You entered 5678. Press 1 if correct, 2 to try again.",
				"Wrong, pin is now ''.",
			})
			if got := path(res); got != "pin>wrong>end" {
				t.Errorf("path %s", got)
			}
		})
	})
}

const menuSpeech = `
name: menu
language: en
languages: {en: {}, zh: {voice: cmn}}
start: menu
defaults: {error: end}
nodes:
  menu:
    menu:
      prompt: {en: "Billing or support?", zh: 账单还是技术支持？}
      input: dtmf_speech
      choices:
        "1": {next: billing, phrases: {en: [billing, my bill], zh: [账单]}}
        "2": {next: support, phrases: {en: [support, technical support], zh: [技术支持]}}
      no_match_prompt: Sorry?
    on: {no_input: end, no_match: end}
  billing: {say: Billing., next: end}
  support: {say: Support., next: end}
  end: {hangup: resolved}
`

func TestMenuSpeech(t *testing.T) {
	for _, tt := range []struct {
		name, lang, said, path string
	}{
		{"phrase", "en", "I need technical support please", "menu>support>end"},
		{"the longest phrase wins", "en", "support for my bill", "menu>billing>end"},
		{"a key said", "en", "two", "menu>support>end"},
		{"Mandarin phrase", "zh", "我想问一下账单", "menu>billing>end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newServiceHarness(t)
				defer h.ch.close()
				f := loadOne(t, menuSpeech)
				var steps []step
				if tt.lang == "zh" {
					f = loadOne(t, strings.Replace(menuSpeech, "language: en\n", "language: zh\n", 1)+"")
				}
				steps = append(steps, step{delay: time.Second, speech: tt.said})
				res := h.script(f, steps...)
				if got := path(res); got != tt.path {
					t.Errorf("path %s, want %s", got, tt.path)
				}
			})
		})
	}
	t.Run("no phrase matches, then a key", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			res := h.script(loadOne(t, menuSpeech),
				step{prompt: "Billing or support?", delay: time.Second, speech: "the weather"},
				step{prompt: "Billing or support?", delay: time.Second, keys: "1"})
			if got := path(res); got != "menu>billing>end" || res.Vars["digits"] != "1" {
				t.Errorf("path %s, digits %v", got, res.Vars["digits"])
			}
			checkStrings(t, "said", h.ch.said(), []string{"Billing or support?", "Sorry?", "Billing or support?", "Billing."})
		})
	})
}

const intentFlow = `
name: why
start: why
defaults: {error: failed}
intents:
  refund: {phrases: [I want my money back, refund]}
  complaint: {phrases: [I want to complain]}
  other: {phrases: [something else]}
nodes:
  why:
    intent:
      prompt: Why are you calling?
      threshold: 0.7
      no_match_prompt: Sorry, say it again.
    branch: {refund: refund, complaint: complaint}
    on: {no_input: silent, no_match: unclear}
  again:
    intent: {text: transcript}
    branch: {refund: refund, complaint: complaint}
    on: {no_input: silent, no_match: unclear}
  refund: {say: Refunds., next: end}
  complaint: {say: Complaints., next: end}
  silent: {say: Silence., next: end}
  unclear: {say: Unclear., next: again}
  failed: {say: Failed., next: end}
  end: {hangup: resolved}
`

func TestIntent(t *testing.T) {
	t.Run("recognized", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			h.svc.sent["money"] = -0.5
			defer h.ch.close()
			res := h.script(loadOne(t, intentFlow), step{prompt: "Why are you calling?", delay: time.Second, speech: "I want my money back now"})
			if path(res) != "why>refund>end" || res.Intent != "refund" || res.IntentConfidence != 0.9 || res.Sentiment != -0.5 {
				t.Errorf("path %s, intent %q %v, sentiment %v", path(res), res.Intent, res.IntentConfidence, res.Sentiment)
			}
		})
	})
	t.Run("not one of the node's intents, then below threshold, then text", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			h.svc.cls.scores = map[string]float64{"I want to complain a bit": 0.6}
			defer h.ch.close()
			res := h.script(loadOne(t, intentFlow),
				step{prompt: "Why are you calling?", delay: time.Second, speech: "something else"},
				step{prompt: "Why are you calling?", delay: time.Second, speech: "I want to complain a bit"})
			// The text intent node classifies the last transcript again: still below 0.5? It
			// has the default threshold 0.5, so 0.6 passes there.
			if got := path(res); got != "why>unclear>again>complaint>end" {
				t.Errorf("path %s", got)
			}
			checkStrings(t, "said", h.ch.said(), []string{"Why are you calling?", "Sorry, say it again.", "Why are you calling?", "Unclear.", "Complaints."})
			if res.Intent != "complaint" || res.IntentConfidence != 0.6 {
				t.Errorf("intent %q %v", res.Intent, res.IntentConfidence)
			}
		})
	})
	t.Run("silence", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			res := h.script(loadOne(t, intentFlow))
			if got := path(res); got != "why>silent>end" {
				t.Errorf("path %s", got)
			}
		})
	})
	t.Run("no classifier", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs bytes.Buffer
			h := newHarness(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithRecognizer(&fakeRecognizer{}))
			defer h.ch.close()
			res := h.run(t.Context(), loadOne(t, intentFlow))
			if got := path(res); got != "why>failed>end" || !strings.Contains(logs.String(), "intent node: no intent classifier configured") {
				t.Errorf("path %s, log:\n%s", got, logs.String())
			}
			if len(h.ch.said()) != 1 {
				t.Errorf("said %q: the caller must not be asked when nothing can classify", h.ch.said())
			}
		})
	})
	t.Run("classifier error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			h.svc.cls.err = errors.New("model not loaded")
			defer h.ch.close()
			res := h.script(loadOne(t, intentFlow), step{prompt: "Why are you calling?", delay: time.Second, speech: "refund"})
			if got := path(res); got != "why>failed>end" {
				t.Errorf("path %s", got)
			}
		})
	})
}

const surveyFlow = `
name: survey
start: survey
defaults: {error: end}
variables: {q1: int, q2: int}
nodes:
  survey:
    survey:
      questions:
        - {prompt: First question., var: q1}
        - {prompt: Second question., var: q2}
      input: dtmf_speech
      retries: 1
      no_match_prompt: From 1 to 5, please.
    next: thanks
    on: {no_input: partial}
  thanks: {say: Thanks., next: end}
  partial: {say: Partial., next: end}
  end: {hangup: resolved}
`

func TestSurvey(t *testing.T) {
	t.Run("keys and speech", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			res := h.script(loadOne(t, surveyFlow),
				step{prompt: "First question.", delay: time.Second, keys: "7"},
				step{prompt: "First question.", delay: time.Second, speech: "I'd say four"},
				step{prompt: "Second question.", delay: time.Second, keys: "5"})
			if got := path(res); got != "survey>thanks>end" {
				t.Errorf("path %s", got)
			}
			want := []SurveyAnswer{{"survey", "q1", 4}, {"survey", "q2", 5}}
			if !slices.Equal(res.Survey, want) || res.Vars["q1"] != 4 || res.Vars["q2"] != 5 || res.Vars["survey_score"] != 4 {
				t.Errorf("survey %v vars %v", res.Survey, res.Vars)
			}
		})
	})
	t.Run("Mandarin score", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			res := h.script(loadOne(t, surveyFlow),
				step{prompt: "First question.", delay: time.Second, speech: "五分"},
				step{prompt: "Second question.", delay: time.Second, speech: "三"})
			if res.Vars["q1"] != 5 || res.Vars["q2"] != 3 {
				t.Errorf("vars %v", res.Vars)
			}
		})
	})
	t.Run("unanswered second question keeps the first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			res := h.script(loadOne(t, surveyFlow), step{prompt: "First question.", delay: time.Second, keys: "2"})
			if got := path(res); got != "survey>partial>end" || res.Vars["q1"] != 2 || res.Vars["q2"] != 0 || len(res.Survey) != 1 {
				t.Errorf("path %s vars %v survey %v", got, res.Vars, res.Survey)
			}
		})
	})
}

const recordFlow = `
name: vm
start: record
defaults: {error: failed}
nodes:
  record:
    record: {prompt: Leave a message., max_length: 20s, end_on_silence: 3s}
    next: saved
    on: {no_input: empty}
  saved: {say: "Saved {{ recording }}.", next: end}
  empty: {say: Nothing recorded., next: end}
  failed: {say: Failed., next: end}
  end: {hangup: resolved}
`

func TestRecord(t *testing.T) {
	// The recording starts after the 160 ms prompt and the 400 ms beep.
	const start = 560 * time.Millisecond
	tests := []struct {
		name     string
		audio    func(time.Duration) int16
		steps    []step
		path     string
		length   time.Duration // of the recording kept
		hangup   bool
		discards int
	}{
		{
			name:  "finish key",
			audio: speechLike, steps: []step{{prompt: "Leave a message.", delay: 5 * time.Second, keys: "#"}},
			path: "record>saved>end", length: 5*time.Second - 400*time.Millisecond,
		},
		{
			name: "end on silence",
			audio: func(at time.Duration) int16 {
				if at < 4*time.Second {
					return speechLike(at)
				}
				return quiet(at)
			},
			path: "record>saved>end",
		},
		{
			name:  "max length",
			audio: speechLike, // never 3 s of silence
			path:  "record>saved>end", length: 20 * time.Second,
		},
		{
			name: "nothing but silence", audio: quiet,
			path: "record>empty>end", discards: 1,
		},
		{
			name:  "the caller hangs up: the message is kept",
			audio: speechLike, steps: []step{{prompt: "Leave a message.", delay: 5 * time.Second, hangup: true}},
			path: "record", hangup: true, length: 5*time.Second - 400*time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newServiceHarness(t)
				h.audio = tt.audio
				defer h.ch.close()
				res := h.script(loadOne(t, recordFlow), tt.steps...)
				if got := path(res); got != tt.path {
					t.Errorf("path %s, want %s", got, tt.path)
				}
				kept := h.svc.recorder.kept
				if tt.discards > 0 {
					if len(kept) != 0 || h.svc.recorder.discarded != tt.discards {
						t.Errorf("kept %v, discarded %d", kept, h.svc.recorder.discarded)
					}
					return
				}
				if !slices.Equal(res.Recordings, []string{"rec-1"}) {
					t.Fatalf("recordings %v", res.Recordings)
				}
				got := time.Duration(kept["rec-1"]) * time.Second / 8000
				if tt.length != 0 && (got < tt.length-40*time.Millisecond || got > tt.length+20*time.Millisecond) {
					t.Errorf("recorded %v, want %v", got, tt.length)
				}
				if tt.name == "end on silence" {
					// Speech until 4 s (the last burst ends at 3.27 s): it ends 3 s of silence later.
					if end := start + got; end < 6100*time.Millisecond || end > 6300*time.Millisecond {
						t.Errorf("recording ended at %v, want about 3 s after the last speech (3.15 s)", end)
					}
				}
				if tt.hangup && (res.Disposition != DispositionAbandoned || res.Vars["recording"] != "rec-1") {
					t.Errorf("disposition %q recording %v", res.Disposition, res.Vars["recording"])
				}
				if r := h.svc.recorder.reqs[0]; r.SampleRate != 8000 || r.MaxLength != 20*time.Second || r.Node != "record" {
					t.Errorf("recording request %+v", r)
				}
			})
		})
	}
	t.Run("not configured", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			opts []Option
			log  string
		}{
			{"no recorder", nil, "record node: no recorder configured"},
			{"no caller audio", []Option{WithRecorder(&fakeRecorder{})}, "record node: the call leg gives no caller audio"},
		} {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				h := newHarness(t, append(tt.opts, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
				defer h.ch.close()
				res := h.run(t.Context(), loadOne(t, recordFlow))
				if got := path(res); got != "record>failed>end" || !strings.Contains(logs.String(), tt.log) {
					t.Errorf("%s: path %s, log:\n%s", tt.name, got, logs.String())
				}
			})
		}
	})
}

var _ = flows.OutcomeOK

// TestSpeechRequestTuning: a node's speech.fallback_backend, latency_budget and
// min_speech reach the recognizer in the SpeechRequest (the recognizer falls back
// during the answer and holds the barge-in onset); when the backend fails to
// start, the runtime asks the fallback itself, without a fallback of its own.
func TestSpeechRequestTuning(t *testing.T) {
	const flow = `
name: tuned
start: ask
defaults: {error: failed}
variables: {reason: string}
nodes:
  ask:
    gather:
      prompt: Say something.
      input: speech
      var: reason
      retries: 0
      speech: {backend: main, fallback_backend: fallback, latency_budget: 800ms, min_speech: 300ms}
    next: end
    on: {no_input: end, no_match: end}
  failed: {say: Failed., next: end}
  end: {hangup: resolved}
`
	for _, broken := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t)
			defer h.ch.close()
			if broken {
				h.svc.rec.startErr = errors.New("main backend down")
			}
			res := h.script(loadOne(t, flow), step{prompt: "Say something.", delay: time.Second, speech: "hello"})
			if res.Vars["reason"] != "hello" {
				t.Errorf("broken=%v: reason %q (path %s)", broken, res.Vars["reason"], path(res))
			}
			reqs := h.svc.rec.requests()
			want := []SpeechRequest{{Backend: "main", Fallback: "fallback", LatencyBudget: 800 * time.Millisecond, MinSpeech: 300 * time.Millisecond}}
			if broken {
				want = append(want, SpeechRequest{Backend: "fallback", LatencyBudget: 800 * time.Millisecond, MinSpeech: 300 * time.Millisecond})
			}
			if len(reqs) != len(want) {
				t.Fatalf("broken=%v: %d requests, want %d", broken, len(reqs), len(want))
			}
			for i, r := range reqs {
				w := want[i]
				if r.Backend != w.Backend || r.Fallback != w.Fallback || r.LatencyBudget != w.LatencyBudget || r.MinSpeech != w.MinSpeech {
					t.Errorf("broken=%v: request %d: backend %q fallback %q budget %v min speech %v, want %q %q %v %v",
						broken, i, r.Backend, r.Fallback, r.LatencyBudget, r.MinSpeech, w.Backend, w.Fallback, w.LatencyBudget, w.MinSpeech)
				}
			}
		})
	}
}
