package ivr

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// loadOne loads one inline flow against testEnv.
func loadOne(t testing.TB, src string, wavs ...string) *flows.Flow {
	t.Helper()
	fs := loadSet(t, map[string]string{"f.yaml": src}, wavs...)
	for _, f := range fs {
		return f
	}
	t.Fatal("no flow")
	return nil
}

func TestSetAndSwitch(t *testing.T) {
	const src = `
name: vars
start: set
defaults: {error: failed}
variables: {n: int, price: number, name: string, vip: bool, items: list, info: map, any: any}
nodes:
  set:
    set: {n: "limit + 2", price: n * 1.5, name: '"Ann"', vip: price > 5, items: "[1, 2]", info: '{"count": "many"}'}
    next: route
  route:
    switch:
      - when: vip && name == "Ann"
        next: bad_index
      - default: wrong
  bad_index:
    switch:
      - when: items[5] == 1
        next: wrong
      - default: wrong
  failed: {set: {any: http_status}, next: convert}
  convert: {set: {n: info.count}, next: wrong, on: {error: end}}
  wrong: {hangup: error}
  end: {hangup: resolved}
`
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		res := h.run(t.Context(), loadOne(t, src))
		if got, want := path(res), "set>route>bad_index>failed>convert>end"; got != want {
			t.Errorf("path %s, want %s", got, want)
		}
		// limit is the environment's constant 3; each value has its declared type.
		if res.Vars["n"] != 5 || res.Vars["price"] != 7.5 || res.Vars["name"] != "Ann" || res.Vars["vip"] != true ||
			!slices.Equal(res.Vars["items"].([]any), []any{1, 2}) {
			t.Errorf("vars %v", res.Vars)
		}
		checkSeries(t, h.reg, `
hotline_flow_node_errors_total{flow="vars",type="switch"} 1
hotline_flow_node_errors_total{flow="vars",type="set"} 1
`, "hotline_flow_node_errors_total")
	})
}

// TestLanguages: a menu choice switches the call to Mandarin; every later prompt,
// named, inline, a file per language, and the reprompts, is in Mandarin with the zh
// voice; text for a language the prompt lacks falls back to the flow's.
func TestLanguages(t *testing.T) {
	const src = `
name: langs
language: en
languages: {en: {voice: en-us}, zh: {voice: cmn}}
start: pick
defaults: {error: end}
variables: {amount: number}
prompts:
  hello: {en: Hello., zh: 你好。}
  chime: {en: {file: en.wav}, zh: {file: zh.wav}}
nodes:
  pick:
    menu: {prompt: {en: Press 1 for English. Press 2 for Chinese., zh: 按2。}, choices: {"1": hello, "2": chinese}}
    on: {no_input: hello, no_match: hello}
  chinese: {set: {language: '"zh"', amount: "12.5"}, next: hello}
  hello: {say: {prompt: hello}, next: chime}
  chime: {say: {prompt: chime}, next: amount}
  amount: {say: {en: "You owe {{ amount }}.", zh: "您欠{{ amount }}元。"}, next: only_en}
  only_en: {say: Only English., next: ask}
  ask:
    gather: {prompt: {en: Press 5., zh: 请按5。}, no_match_prompt: {en: Wrong., zh: 错了。}}
    branch: {"5": end}
    on: {no_input: end, no_match: end}
  end: {hangup: resolved}
`
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		f := loadOne(t, src, "en.wav", "zh.wav")
		h.ch.press(4*time.Second, "2")
		h.ch.press(8*time.Second, "9")
		h.ch.press(12*time.Second, "5")
		res := h.run(t.Context(), f)
		checkStrings(t, "said", h.ch.said(), []string{"Press 1 for English. Press 2 for Chinese.", "你好。", "您欠12.5元。", "Only English.", "请按5。", "错了。", "请按5。"})
		var voices []string
		for _, a := range h.synth.asked {
			voices = append(voices, a.voice)
		}
		// "Only English." has no Mandarin text: it is spoken in English, with the English voice.
		checkStrings(t, "voices", voices, []string{"en-us", "cmn", "cmn", "en-us", "cmn", "cmn", "cmn"})
		plays := h.ch.played()
		if i := slices.IndexFunc(plays, func(p playRec) bool { return p.text == "" }); i < 0 || !slices.Equal(plays[i].pcm, tone(8000, 440)) {
			t.Error("the zh file of the named prompt was not played")
		}
		if res.Language != "zh" || res.Vars.String("digits") != "5" {
			t.Errorf("language %q digits %q", res.Language, res.Vars.String("digits"))
		}
	})
}

func TestHours(t *testing.T) {
	const src = `
name: hours
start: hours
nodes:
  hours: {hours: main, on: {open: open, closed: closed, holiday: holiday}}
  open: {hangup: resolved}
  closed: {hangup: unresolved}
  holiday: {hangup: abandoned}
`
	env := testEnv + `
calendars:
  main: {timezone: Asia/Shanghai, weekly: {mon-fri: "09:00-18:00"}, holidays: ["10-01"]}
`
	for _, tt := range []struct{ at, want string }{
		{"2026-03-11T01:30:00Z", DispositionResolved},   // Wednesday 09:30 in Shanghai
		{"2026-03-11T10:30:00Z", DispositionUnresolved}, // 18:30
		{"2026-03-14T03:00:00Z", DispositionUnresolved}, // Saturday
		{"2026-10-01T03:00:00Z", DispositionAbandoned},  // National Day
	} {
		synctest.Test(t, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tt.at)
			h := newHarness(t, WithClock(func() time.Time { return at }))
			defer h.ch.close()
			f := loadWithEnv(t, env, map[string]string{"f.yaml": src})["hours"]
			if res := h.run(t.Context(), f); res.Disposition != tt.want {
				t.Errorf("%s: disposition %q, want %q", tt.at, res.Disposition, tt.want)
			}
		})
	}
}

// loadWithEnv is loadSet with another environment.
func loadWithEnv(t testing.TB, env string, files map[string]string) map[string]*flows.Flow {
	t.Helper()
	dir := t.TempDir()
	files["env.yaml"] = env
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
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

// TestTypeAhead: keys typed at the first prompt pass through a barge-in say (cut),
// a play (skipped), a pause (played in full, keys kept), and answer a gather and a
// menu, in order.
func TestTypeAhead(t *testing.T) {
	const src = `
name: ahead
start: intro
defaults: {error: end}
variables: {code: string}
nodes:
  intro: {say: Welcome to the service line of Example Telecom., next: chime}
  chime: {play: chime.wav, next: wait}
  wait: {pause: 2s, next: code}
  code: {gather: {prompt: Enter your two digit code., max_digits: 2, var: code}, next: menu, on: {no_input: end, no_match: end}}
  menu: {menu: {prompt: Press 3 to continue., choices: {"3": done}}, on: {no_input: end, no_match: end}}
  done: {say: Done., next: end}
  end: {hangup: resolved}
`
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		h.ch.press(100*time.Millisecond, "12")
		h.ch.press(1500*time.Millisecond, "3") // during the pause
		res := h.run(t.Context(), loadOne(t, src, "chime.wav"))
		if got, want := path(res), "intro>chime>wait>code>menu>done>end"; got != want {
			t.Errorf("path %s, want %s", got, want)
		}
		if res.Vars["code"] != "12" || res.Vars["digits"] != "3" {
			t.Errorf("vars %v", res.Vars)
		}
		plays := h.ch.played()
		checkStrings(t, "said", h.ch.said(), []string{"Welcome to the service line of Example Telecom.", "Done."})
		if len(plays) != 3 || !plays[0].interrupted || plays[0].end != 100*time.Millisecond ||
			plays[1].interrupted || plays[1].end-plays[1].start != 2*time.Second || plays[2].start != plays[1].end {
			t.Errorf("plays %+v: want the intro cut at 100ms, the chime skipped, the 2 s pause whole, then Done.", plays)
		}
	})
}

func TestAnswerNode(t *testing.T) {
	const src = `
name: early
early_media: true
start: notice
defaults: {error: end}
nodes:
  notice: {say: Calls may be recorded., next: answer}
  answer: {answer: , next: hello}
  hello: {say: Hello., next: end}
  end: {hangup: resolved}
`
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		h.run(t.Context(), loadOne(t, src))
		checkStrings(t, "events", h.ch.allEvents(), []string{"early", "play", "answer", "play", "hangup"})
	})
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		h.ch.answerErr = errAnswer
		res := h.run(t.Context(), loadOne(t, src))
		if got := path(res); got != "notice>answer>end" {
			t.Errorf("answer failure: path %s", got)
		}
	})
}

var errAnswer = errorString("no ACK")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestHangupDispositions(t *testing.T) {
	for _, d := range []string{DispositionResolved, DispositionUnresolved, DispositionTransferred, DispositionAbandoned, DispositionError} {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := loadOne(t, sprintf("name: d\nstart: bye\nnodes:\n  bye: {hangup: {disposition: %s, reason: because}}\n", d))
			res := h.run(t.Context(), f)
			if res.Disposition != d || res.Reason != "because" || res.Contained != (d == DispositionResolved) {
				t.Errorf("%s: result %+v", d, res)
			}
			checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer", "hangup"})
			want := 0.0
			if d == DispositionResolved {
				want = 1
			}
			if got := counterValue(t, h.reg, "hotline_ivr_contained_total", `flow="d"`); got != want && !(want == 0 && got == -1) {
				t.Errorf("%s: contained %v", d, got)
			}
		})
	}
}

// TestSubflows: arguments converted to the child's types, returned values, built-ins
// shared both ways, a child's failure as the error outcome, the depth limit, and a
// hangup in the child ending the call.
func TestSubflows(t *testing.T) {
	files := map[string]string{
		"top.yaml": `
name: top
start: greet
defaults: {error: failed}
variables: {account: string, tries: int, depth: int}
nodes:
  greet: {subflow: {flow: identify, args: {tries: "2", prefix: '"AC-"'}, returns: {account: account_id, tries: tries}}, next: deep}
  deep: {subflow: {flow: deep, returns: {depth: depth}}, next: broken}
  broken: {subflow: broken, next: end}
  failed: {say: The subflow failed., next: quit}
  quit: {subflow: quitter, next: end}
  end: {hangup: resolved}
`,
		"identify.yaml": `
name: identify
start: lang
defaults: {error: done}
variables: {tries: int, prefix: string}
nodes:
  lang: {set: {language: '"en"', digits: '"42"', tries: tries + 1}, next: done}
  done: {return: {values: {account_id: prefix + digits}}}
`,
		"deep.yaml": `
name: deep
start: check
defaults: {error: limit}
variables: {n: int, depth: int}
nodes:
  check:
    switch:
      - when: n >= 20
        next: done
      - default: again
  again: {subflow: {flow: deep, args: {n: n + 1}, returns: {depth: depth}}, next: done, on: {error: limit}}
  limit: {return: {values: {depth: n}}}
  done: {return: {values: {depth: depth}}}
`,
		"broken.yaml": `
name: broken
start: oops
variables: {items: list}
nodes:
  oops:
    switch:
      - when: items[3] == 1
        next: done
      - default: done
    on: {error: oops}
  done: {return: }
`,
		"quitter.yaml": `
name: quitter
start: bye
nodes:
  bye: {hangup: {disposition: transferred, reason: child}}
`,
	}
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		fs := loadSet(t, files)
		res := h.run(t.Context(), fs["top"])
		p := path(res)
		if !strings.HasPrefix(p, "greet>identify:lang>identify:done>deep>deep:check>deep:again>deep:check>") ||
			!strings.HasSuffix(p, ">broken>broken:oops>failed>quit>quitter:bye") {
			t.Errorf("path %s", p)
		}
		if got := strings.Count(p, "deep:again"); got != flows.DefaultMaxSubflowDepth {
			t.Errorf("deep recursion ran %d levels, want %d", got, flows.DefaultMaxSubflowDepth)
		}
		if res.Vars["account"] != "AC-42" || res.Vars["tries"] != 3 || res.Vars["digits"] != "42" || res.Vars["depth"] != flows.DefaultMaxSubflowDepth-1 {
			t.Errorf("vars %v", res.Vars)
		}
		if res.Disposition != DispositionTransferred || res.Reason != "child" {
			t.Errorf("disposition %q reason %q", res.Disposition, res.Reason)
		}
		checkStrings(t, "said", h.ch.said(), []string{"The subflow failed."})
	})
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		res := h.run(t.Context(), loadOne(t, "name: r\nstart: back\nnodes:\n  back: {return: }\n"))
		if res.Disposition != DispositionUnresolved || res.Err != nil {
			t.Errorf("return in the top flow: disposition %q err %v", res.Disposition, res.Err)
		}
		checkStrings(t, "call control", h.ch.signals(), []string{"ring", "answer", "hangup"})
	})
}

// TestFlowMaxSteps: the flow's max_steps overrides the engine's limit.
func TestFlowMaxSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, WithMaxSteps(1000))
		defer h.ch.close()
		f := loadOne(t, `
name: spin
max_steps: 7
start: a
defaults: {error: end}
nodes:
  a: {set: {digits: '"1"'}, next: b}
  b: {goto: a}
  end: {hangup: resolved}
`)
		res := h.run(t.Context(), f)
		if len(res.Path) != 7 || res.Disposition != DispositionError || res.Err == nil || !strings.Contains(res.Err.Error(), "step limit 7") {
			t.Errorf("%d steps, disposition %q, err %v", len(res.Path), res.Disposition, res.Err)
		}
	})
}

// presetChannel is a call that starts with variables set, as an originated call does.
type presetChannel struct {
	*fakeChannel
	presets map[string]string
}

func (p presetChannel) Presets() map[string]string { return p.presets }

// TestPresets: an originated call's variables reach the flow converted to their
// declared types; undeclared, built-in and unconvertible ones are ignored.
func TestPresets(t *testing.T) {
	const src = `
name: remind
start: end
variables: {appointment: int, who: string, vip: bool}
nodes:
  end: {hangup: resolved}
`
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		ch := presetChannel{h.ch, map[string]string{"appointment": "42", "who": "Ann", "vip": "maybe",
			"caller": "+1555", "nope": "x"}}
		res := h.rt.Run(t.Context(), ch, loadOne(t, src))
		if res.Vars["appointment"] != 42 || res.Vars["who"] != "Ann" || res.Vars["vip"] != false {
			t.Errorf("vars %v: want appointment 42, who Ann, vip unchanged false", res.Vars)
		}
		if res.Vars["caller"] == "+1555" {
			t.Errorf("a preset overwrote the built-in caller")
		}
		if _, ok := res.Vars["nope"]; ok {
			t.Errorf("an undeclared preset became a variable")
		}
	})
}
