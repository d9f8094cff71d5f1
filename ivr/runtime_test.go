package ivr

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/flows"
)

// TestSampleFlow drives the flow that ships with the engine through each of its paths.
func TestSampleFlow(t *testing.T) {
	f := sample(t)
	menu := gatherOf(t, f, "main_menu")
	welcome, goodbye, bye := sayText(t, f, "welcome"), sayText(t, f, "goodbye"), sayText(t, f, "no_input_goodbye")
	// The menu prompt ends at menuEnd; keys pressed later are answers, not barge-in.
	menuEnd := speech(welcome) + speech(menu.Prompt)
	afterMenu := menuEnd + time.Second

	tests := []struct {
		name  string
		keys  map[time.Duration]string
		said  []string
		path  string
		disp  string
		vars  string // the digits variable, "" when unset
		total time.Duration
	}{
		{
			name: "billing",
			keys: map[time.Duration]string{afterMenu: "1"},
			said: []string{welcome, menu.Prompt, sayText(t, f, "billing"), goodbye},
			path: "welcome>main_menu>billing>goodbye>end", disp: DispositionResolved, vars: "1",
			total: afterMenu + speech(sayText(t, f, "billing")) + speech(goodbye),
		},
		{
			name: "support",
			keys: map[time.Duration]string{afterMenu: "2"},
			said: []string{welcome, menu.Prompt, sayText(t, f, "support"), goodbye},
			path: "welcome>main_menu>support>goodbye>end", disp: DispositionResolved, vars: "2",
		},
		{
			// No ACD is wired here: the queue node takes its error outcome, the
			// flow's apology (the engine's e2e tests queue for real).
			name: "agent",
			keys: map[time.Duration]string{afterMenu: "0"},
			said: []string{welcome, menu.Prompt, sayText(t, f, "agent"), sayText(t, f, "apology")},
			path: "welcome>main_menu>agent>care_queue>apology>hangup_unresolved", disp: DispositionUnresolved, vars: "0",
		},
		{
			name: "no input twice",
			said: []string{welcome, menu.Prompt, menu.NoInputPrompt, menu.Prompt, bye},
			path: "welcome>main_menu>no_input_goodbye>hangup_unresolved", disp: DispositionUnresolved,
			// Each attempt waits the full 5 s timeout after its prompt.
			total: menuEnd + menu.Timeout + speech(menu.NoInputPrompt) + speech(menu.Prompt) + menu.Timeout + speech(bye),
		},
		{
			name: "invalid twice",
			keys: map[time.Duration]string{
				afterMenu: "9",
				afterMenu + speech(menu.NoMatchPrompt) + speech(menu.Prompt) + time.Second: "9",
			},
			said: []string{welcome, menu.Prompt, menu.NoMatchPrompt, menu.Prompt, bye},
			path: "welcome>main_menu>no_input_goodbye>hangup_unresolved", disp: DispositionUnresolved,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				defer h.ch.close()
				for at, k := range tt.keys {
					h.ch.press(at, k)
				}
				res := h.run(t.Context(), f)
				elapsed := time.Since(h.ch.start)

				checkStrings(t, "said", h.ch.said(), tt.said)
				checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer", "hangup"})
				if got := path(res); got != tt.path {
					t.Errorf("path %s, want %s", got, tt.path)
				}
				if res.Disposition != tt.disp || res.Err != nil {
					t.Errorf("disposition %q (err %v), want %q", res.Disposition, res.Err, tt.disp)
				}
				if res.Flow != "hotline" || res.Version != f.Version {
					t.Errorf("result names flow %q version %q", res.Flow, res.Version)
				}
				if got := res.Vars.String("digits"); got != tt.vars {
					t.Errorf("digits = %q, want %q", got, tt.vars)
				}
				if res.Vars.String("caller") != "+15551230000" || res.Vars.String("called") != "100" || res.Vars.String("call_id") != "call-1" {
					t.Errorf("vars %v lack caller and called", res.Vars)
				}
				if tt.total != 0 && elapsed != tt.total {
					t.Errorf("call took %v, want %v", elapsed, tt.total)
				}
				for _, p := range h.ch.played() {
					if p.interrupted {
						t.Errorf("prompt %q interrupted at %v", p.text, p.end)
					}
				}
			})
		})
	}
}

// TestVoiceAndRate checks that prompts are rendered in the flow's voice at the call's rate.
func TestVoiceAndRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		h.ch.rate = 16000
		f := parse(t, `
name: voices
voice: en-gb
start: a
defaults: {error: end}
nodes:
  a: {say: {text: Hello, voice: fr}, next: b}
  b: {say: World, next: end}
  end: {hangup: resolved}
`)
		h.run(t.Context(), f)
		want := []synthCall{{"Hello", "fr", 16000}, {"World", "en-gb", 16000}}
		if !slices.Equal(h.synth.asked, want) {
			t.Errorf("synthesizer asked %v, want %v", h.synth.asked, want)
		}
		for _, p := range h.ch.played() {
			if p.length != speech(p.text) {
				t.Errorf("%q played for %v, want %v (wrong rate?)", p.text, p.length, speech(p.text))
			}
		}
	})
}

func TestEarlyMedia(t *testing.T) {
	t.Run("answered at the first gather", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := parse(t, `
name: early
early_media: true
start: intro
defaults: {error: end}
nodes:
  intro: {say: Calls may be recorded., next: menu}
  menu:
    gather: {prompt: Press 1.}
    branch: {"1": thanks}
    on: {no_input: thanks, no_match: thanks}
  thanks: {say: Thank you., next: end}
  end: {hangup: resolved}
`)
			h.ch.press(5*time.Second, "1")
			res := h.run(t.Context(), f)
			checkStrings(t, "events", h.ch.allEvents(), []string{"early", "play", "answer", "play", "play", "hangup"})
			if res.Disposition != DispositionResolved {
				t.Errorf("disposition %q", res.Disposition)
			}
		})
	})
	t.Run("hangup before any gather never answers", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := parse(t, `
name: closed
early_media: true
start: closed
defaults: {error: end}
nodes:
  closed: {say: We are closed. Please call again tomorrow., next: end}
  end: {hangup: unresolved}
`)
			res := h.run(t.Context(), f)
			checkStrings(t, "events", h.ch.allEvents(), []string{"early", "play", "hangup"})
			if res.Disposition != DispositionUnresolved {
				t.Errorf("disposition %q", res.Disposition)
			}
		})
	})
}

// TestCallerHangsUp cancels the call context the way the SIP layer does on BYE: the flow
// must stop at once, record the call as abandoned, and neither hang up nor leave a
// goroutine behind (the bubble would not end).
func TestCallerHangsUp(t *testing.T) {
	f := sample(t)
	tests := []struct {
		name  string
		at    time.Duration
		delay time.Duration // synthesis time
		path  string
	}{
		{name: "mid-prompt", at: 200 * time.Millisecond, path: "welcome"},
		{name: "waiting for a digit", at: 3 * time.Second, path: "welcome>main_menu"},
		{name: "during synthesis", at: 200 * time.Millisecond, delay: time.Second, path: "welcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				defer h.ch.close()
				h.synth.delay = tt.delay
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				time.AfterFunc(tt.at, cancel)
				res := h.run(ctx, f)
				if elapsed := time.Since(h.ch.start); elapsed != tt.at {
					t.Errorf("Run returned %v after the hang-up at %v", elapsed-tt.at, tt.at)
				}
				if res.Disposition != DispositionAbandoned || !errors.Is(res.Err, context.Canceled) {
					t.Errorf("disposition %q, err %v; want abandoned, context.Canceled", res.Disposition, res.Err)
				}
				checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer"})
				if got := path(res); got != tt.path {
					t.Errorf("path %s, want %s", got, tt.path)
				}
				if tt.name == "mid-prompt" {
					if p := h.ch.played(); len(p) != 1 || !p[0].interrupted || p[0].end != tt.at {
						t.Errorf("plays %+v: want the greeting stopped at %v", p, tt.at)
					}
				}
				checkSeries(t, h.reg, `
hotline_flow_calls_total{disposition="abandoned",flow="hotline"} 1
`, "hotline_flow_calls_total")
			})
		})
	}
}

func TestNodeErrors(t *testing.T) {
	f := sample(t)
	apology := sayText(t, f, "apology")
	t.Run("synthesizer error takes the error route", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			billing := sayText(t, f, "billing")
			h.synth.fail = func(text string) error {
				if text == billing {
					return errors.New("espeak-ng crashed")
				}
				return nil
			}
			h.ch.press(5*time.Second, "1")
			res := h.run(t.Context(), f)
			if got, want := path(res), "welcome>main_menu>billing>apology>hangup_unresolved"; got != want {
				t.Errorf("path %s, want %s", got, want)
			}
			if res.Disposition != DispositionUnresolved || res.Err != nil {
				t.Errorf("disposition %q, err %v", res.Disposition, res.Err)
			}
			if said := h.ch.said(); said[len(said)-1] != apology {
				t.Errorf("last prompt %q, want the apology", said[len(said)-1])
			}
			checkSeries(t, h.reg, `
hotline_flow_node_errors_total{flow="hotline",type="say"} 1
`, "hotline_flow_node_errors_total")
		})
	})
	t.Run("synthesizer down ends the call instead of looping on the apology", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			h.synth.fail = func(string) error { return errors.New("espeak-ng not installed") }
			res := h.run(t.Context(), f)
			if got, want := path(res), "welcome>apology"; got != want {
				t.Errorf("path %s, want %s", got, want)
			}
			if res.Disposition != DispositionError || res.Err == nil {
				t.Errorf("disposition %q, err %v; want error", res.Disposition, res.Err)
			}
			checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer", "hangup"})
			if got := counterValue(t, h.reg, "hotline_flow_node_errors_total", `flow="hotline",type="say"`); got != 2 {
				t.Errorf("node errors %v, want 2", got)
			}
		})
	})
	t.Run("play error takes the error route", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			welcome := sayText(t, f, "welcome")
			h.ch.playErr = func(p playRec) error {
				if p.text == welcome {
					return errors.New("RTP socket closed")
				}
				return nil
			}
			res := h.run(t.Context(), f)
			if got, want := path(res), "welcome>apology>hangup_unresolved"; got != want {
				t.Errorf("path %s, want %s", got, want)
			}
		})
	})
	t.Run("a channel's own context.Canceled is an error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			welcome := sayText(t, f, "welcome")
			h.ch.playErr = func(p playRec) error {
				if p.text == welcome {
					return context.Canceled
				}
				return nil
			}
			res := h.run(t.Context(), f)
			if got, want := path(res), "welcome>apology>hangup_unresolved"; got != want {
				t.Errorf("path %s, want %s", got, want)
			}
		})
	})
	t.Run("answer fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			h.ch.answerErr = errors.New("no ACK")
			res := h.run(t.Context(), f)
			if res.Disposition != DispositionError || res.Err == nil || len(res.Path) != 0 {
				t.Errorf("disposition %q, err %v, path %v", res.Disposition, res.Err, res.Path)
			}
			checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer", "hangup"})
		})
	})
	t.Run("hangup fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			h.ch.hangupErr = errors.New("transport closed")
			h.ch.press(5*time.Second, "1")
			res := h.run(t.Context(), f)
			// The flow decided the disposition; the runtime does not hang up twice.
			if res.Disposition != DispositionResolved || res.Err == nil {
				t.Errorf("disposition %q, err %v", res.Disposition, res.Err)
			}
			checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer", "hangup"})
		})
	})
}

func TestStepLimit(t *testing.T) {
	t.Run("menu loop driven by digits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, WithMaxSteps(5))
			defer h.ch.close()
			f := parse(t, `
name: loop
start: menu
defaults: {error: end}
nodes:
  menu:
    gather: {prompt: Press 1 to hear this again., timeout: 2s, retries: 0}
    branch: {"1": menu}
    on: {no_input: end, no_match: end}
  end: {hangup: resolved}
`)
			for i := range 20 {
				h.ch.press(time.Duration(i+1)*time.Second, "1")
			}
			res := h.run(t.Context(), f)
			if len(res.Path) != 5 || res.Disposition != DispositionError {
				t.Errorf("path %v, disposition %q; want 5 steps and error", res.Path, res.Disposition)
			}
			if res.Err == nil || !strings.Contains(res.Err.Error(), "step limit 5") {
				t.Errorf("err %v, want the step limit", res.Err)
			}
			checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer", "hangup"})
			checkSeries(t, h.reg, `
hotline_flow_calls_total{disposition="error",flow="loop"} 1
`, "hotline_flow_calls_total")
		})
	})
	t.Run("say and goto loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := parse(t, `
name: spin
start: a
defaults: {error: end}
nodes:
  a: {say: Still here., next: b}
  b: {goto: a}
  end: {hangup: resolved}
`)
			res := h.run(t.Context(), f)
			if len(res.Path) != DefaultMaxSteps || res.Disposition != DispositionError {
				t.Errorf("%d steps, disposition %q; want %d and error", len(res.Path), res.Disposition, DefaultMaxSteps)
			}
		})
	})
	t.Run("non-positive limit keeps the default", func(t *testing.T) {
		if rt := New(newFakeSynth(), WithMaxSteps(0)); rt.maxSteps != DefaultMaxSteps {
			t.Errorf("WithMaxSteps(0) set %d", rt.maxSteps)
		}
	})
}

// TestMetrics checks the flow series after a few calls of the sample flow.
func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		f := sample(t)
		for _, keys := range []string{"1", "2", ""} {
			h.ch = newFakeChannel(h.synth)
			if keys != "" {
				h.ch.press(5*time.Second, keys)
			}
			h.run(t.Context(), f)
			h.ch.close()
		}
		checkSeries(t, h.reg, `
hotline_flow_calls_total{disposition="resolved",flow="hotline"} 2
hotline_flow_calls_total{disposition="unresolved",flow="hotline"} 1
hotline_flow_node_executions_total{flow="hotline",type="gather"} 3
hotline_flow_node_executions_total{flow="hotline",type="hangup"} 3
hotline_flow_node_executions_total{flow="hotline",type="say"} 8
`, "hotline_flow_calls_total", "hotline_flow_node_executions_total", "hotline_flow_node_errors_total")
	})
	t.Run("duplicate registration", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		if _, err := NewMetrics(reg); err != nil {
			t.Fatal(err)
		}
		if _, err := NewMetrics(reg); err == nil {
			t.Error("registering the flow metrics twice on one registry succeeded")
		}
	})
	t.Run("nil metrics and registry", func(t *testing.T) {
		m, err := NewMetrics(nil)
		if err != nil || m == nil {
			t.Fatalf("NewMetrics(nil) = %v, %v", m, err)
		}
		var none *Metrics
		none.node("f", "say") // a Runtime without WithMetrics
		none.nodeError("f", "say")
		none.finished("f", Result{Disposition: DispositionResolved, Contained: true})
		none.toHuman("f")
		none.httpRequest("f", "ok", time.Second)
	})
}

// TestEveryNodeTypeHasHandler runs a flow with one node of each type the loader knows,
// every service wired to a fake, so a type added to flows fails here until the runtime
// handles it.
func TestEveryNodeTypeHasHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newServiceHarness(t)
		defer h.ch.close()
		h.audio = speechLike
		fs := loadSet(t, map[string]string{"all.yaml": allTypesFlow, "child.yaml": childFlow}, "beep.wav")
		f := fs["all"]
		res := h.script(f,
			step{prompt: "Press 1.", delay: time.Second, keys: "1"},
			step{prompt: "Press 2.", delay: time.Second, keys: "2"},
			step{prompt: "Why are you calling?", delay: time.Second, speech: "my balance please"},
			step{prompt: "Leave a message.", delay: 3 * time.Second, keys: "#"},
			step{prompt: "Rate us.", delay: time.Second, keys: "4"},
		)
		if res.Err != nil || res.Disposition != DispositionResolved {
			t.Fatalf("disposition %q, err %v, path %s", res.Disposition, res.Err, path(res))
		}
		var ran []string
		for _, name := range res.Path {
			if n := f.Nodes[name]; n != nil {
				ran = append(ran, n.Type)
			} else if strings.HasPrefix(name, "child:") {
				ran = append(ran, fs["child"].Nodes[strings.TrimPrefix(name, "child:")].Type)
			}
		}
		for _, typ := range flows.Types() {
			if !slices.Contains(ran, typ) {
				t.Errorf("node type %s not exercised (ran %v): add it to this flow and to exec", typ, ran)
			}
		}
		want := "answer>say>play>pause>gather>menu>set>switch>http>hours>intent>queue>transfer>record>survey>ticket>sub>child:ret>goto>hangup"
		if got := path(res); got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
		if res.Vars["n"] != 1 || res.Vars.String("digits") != "2" || res.Vars["score"] != 4 || res.Vars.String("recording") != "rec-1" ||
			res.Vars.String("ticket_id") != "T-1001" || res.Vars["http_status"] != 200 || res.Vars.String("intent") != "balance" {
			t.Errorf("vars %v", res.Vars)
		}
	})
}

// allTypesFlow has a node of every type; childFlow is its subflow.
const allTypesFlow = `
name: all
start: answer
defaults: {error: hangup}
variables: {n: int, score: int}
intents:
  balance: {phrases: [my balance]}
nodes:
  answer: {answer: , next: say}
  say: {say: Hello., next: play}
  play: {play: beep.wav, next: pause}
  pause: {pause: 1s, next: gather}
  gather: {gather: {prompt: Press 1.}, next: menu, on: {no_input: menu, no_match: menu}}
  menu: {menu: {prompt: Press 2., choices: {"2": set}}, on: {no_input: set, no_match: set}}
  set: {set: {n: n + 1}, next: switch}
  switch: {switch: [{when: n > 0, next: http}, {default: http}]}
  http: {http: {endpoint: billing, path: /accounts/12345678}, next: hours, on: {timeout: hours}}
  hours: {hours: {timezone: UTC, weekly: {daily: "00:00-24:00"}}, on: {open: intent, closed: intent, holiday: intent}}
  intent: {intent: {prompt: "Why are you calling?"}, branch: {balance: queue}, on: {no_input: queue, no_match: queue}}
  queue: {queue: care, on: {completed: transfer, full: transfer, timeout: transfer, closed: transfer, callback: transfer}}
  transfer: {transfer: "sip:care@example.com", next: record, on: {busy: record, no_answer: record, failed: record}}
  record: {record: {prompt: Leave a message.}, next: survey, on: {no_input: survey}}
  survey: {survey: {questions: [{prompt: Rate us., var: score}]}, next: ticket, on: {no_input: ticket}}
  ticket: {ticket: {category: test}, next: sub}
  sub: {subflow: child, next: goto}
  goto: {goto: hangup}
  hangup: {hangup: resolved}
`

const childFlow = `
name: child
start: ret
nodes:
  ret: {return: }
`

// testEnv is the environment of the inline test flows: the billing mock, queues and
// a trunk.
const testEnv = `
http:
  billing: {url: "http://billing.test", headers: {X-Api-Key: dev-key}, timeout: 3s}
queues:
  care: {}
  complaints: {id: complaints-7}
trunks:
  carrier: {}
vars:
  limit: 3
`

// loadSet loads flows together from a temporary directory holding files, an
// env.yaml of testEnv, and WAV tones named by wavs.
func loadSet(t testing.TB, files map[string]string, wavs ...string) map[string]*flows.Flow {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "env.yaml"), []byte(testEnv), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, w := range wavs {
		writeTone(t, filepath.Join(dir, w), 8000)
	}
	list, err := flows.LoadDir(dir)
	if err != nil {
		t.Fatalf("flows do not load:\n%v", err)
	}
	out := map[string]*flows.Flow{}
	for _, f := range list {
		out[f.Name] = f
	}
	return out
}

// speechLike is caller audio the speech detector takes for speech: in every 2 s,
// 1.2 s of bursts of two tones, 70 ms on and 70 ms off, then faint noise (from which
// the detector learns the line's noise, wherever it starts listening).
func speechLike(at time.Duration) int16 {
	v := noise(at)
	if at%(2*time.Second) < 1200*time.Millisecond && (at/(70*time.Millisecond))%2 == 0 {
		s := at.Seconds()
		v += int16(3300 * (math.Sin(2*math.Pi*697*s) + math.Sin(2*math.Pi*1209*s)))
	}
	return v
}

// quiet is caller audio with nothing but faint line noise.
func quiet(at time.Duration) int16 { return noise(at) }

// noise is deterministic white noise at about -50 dBFS.
func noise(at time.Duration) int16 {
	x := uint64(at/time.Microsecond)*6364136223846793005 + 1442695040888963407
	x ^= x >> 29
	return int16(int64(x%201) - 100)
}
