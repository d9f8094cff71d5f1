package ivr

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestBargeInTypeAhead: a digit during the greeting stops it, and the menu that follows
// takes it without playing its prompt.
func TestBargeInTypeAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		f := sample(t)
		welcome, support := sayText(t, f, "welcome"), sayText(t, f, "support")
		at := 100 * time.Millisecond
		h.ch.press(at, "2")
		res := h.run(t.Context(), f)

		plays := h.ch.played()
		if !plays[0].interrupted || plays[0].text != welcome || plays[0].end != at {
			t.Errorf("greeting %+v: want it stopped (Play ctx cancelled) at %v", plays[0], at)
		}
		checkStrings(t, "said", h.ch.said(), []string{welcome, support, sayText(t, f, "goodbye")})
		if slices.Contains(h.synth.requested(), gatherOf(t, f, "main_menu").Prompt) {
			t.Error("the menu prompt was synthesized though the caller had already chosen")
		}
		if plays[1].start != at {
			t.Errorf("the support prompt started at %v, want %v (no wait after type-ahead)", plays[1].start, at)
		}
		if got, want := path(res), "welcome>main_menu>support>goodbye>end"; got != want {
			t.Errorf("path %s, want %s", got, want)
		}
	})
}

const menuFlow = `
name: menu
start: notice
defaults: {error: end}
nodes:
  notice: {say: {text: Listen to this important notice., barge_in: %s}, next: menu}
  menu:
    gather: {prompt: Press 1 or 2., barge_in: %s}
    branch: {"1": one, "2": two}
    on: {no_input: end, no_match: end}
  one: {say: One., next: end}
  two: {say: Two., next: end}
  end: {hangup: resolved}
`

func TestNoBargeIn(t *testing.T) {
	const notice, prompt = "Listen to this important notice.", "Press 1 or 2."
	t.Run("say plays to the end and keeps the digit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := parse(t, sprintf(menuFlow, "false", "true"))
			h.ch.press(100*time.Millisecond, "2")
			res := h.run(t.Context(), f)
			plays := h.ch.played()
			if plays[0].interrupted || plays[0].end != speech(notice) {
				t.Errorf("notice %+v: want it played in full", plays[0])
			}
			checkStrings(t, "said", h.ch.said(), []string{notice, "Two."})
			if res.Vars.String("digits") != "2" {
				t.Errorf("vars %v", res.Vars)
			}
		})
	})
	t.Run("gather prompt plays to the end, then takes the digit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := parse(t, sprintf(menuFlow, "false", "false"))
			h.ch.press(100*time.Millisecond, "1")
			h.run(t.Context(), f)
			plays := h.ch.played()
			checkStrings(t, "said", h.ch.said(), []string{notice, prompt, "One."})
			if plays[1].interrupted || plays[2].start != speech(notice)+speech(prompt) {
				t.Errorf("plays %+v: want the prompt in full and the choice right after", plays)
			}
		})
	})
}

const pinFlow = `
name: pin
start: hello
defaults: {error: end}
nodes:
  hello: {say: Welcome to the account line., next: pin}
  pin:
    gather:
      prompt: Enter your PIN.
      min_digits: %d
      max_digits: 4
      inter_digit_timeout: 1500ms
      retries: 0
      var: pin
    next: thanks
    on: {no_input: none, no_match: wrong}
  thanks: {say: Thanks., next: menu}
  menu:
    gather: {prompt: Press 1 or 2., timeout: 2s, retries: 0}
    branch: {"1": one, "2": two}
    on: {no_input: end, no_match: end}
  one: {say: One., next: end}
  two: {say: Two., next: end}
  none: {say: No PIN., next: end}
  wrong: {say: Wrong PIN., next: menu}
  end: {hangup: resolved}
`

func TestGatherInput(t *testing.T) {
	const hello, pinPrompt = "Welcome to the account line.", "Enter your PIN."
	promptEnd := speech(hello) + speech(pinPrompt)
	type press struct {
		at   time.Duration
		keys string
	}
	tests := []struct {
		name    string
		min     int
		presses []press
		pin     string // "" = unset
		path    string
		said    []string
		// thanksAt, when set, is when the node after the gather started speaking.
		thanksAt time.Duration
	}{
		{
			name:     "four digits typed ahead",
			min:      1,
			presses:  []press{{100 * time.Millisecond, "1234"}},
			pin:      "1234",
			path:     "hello>pin>thanks>menu>end",
			said:     []string{hello, "Thanks.", "Press 1 or 2."},
			thanksAt: 100 * time.Millisecond,
		},
		{
			name:     "typed ahead, then finished within the inter-digit timeout",
			min:      1,
			presses:  []press{{100 * time.Millisecond, "12"}, {100*time.Millisecond + time.Second, "34"}},
			pin:      "1234",
			path:     "hello>pin>thanks>menu>end",
			thanksAt: 100*time.Millisecond + time.Second,
		},
		{
			name:     "finish key",
			min:      1,
			presses:  []press{{promptEnd + time.Second, "12#"}},
			pin:      "12",
			path:     "hello>pin>thanks>menu>end",
			thanksAt: promptEnd + time.Second,
		},
		{
			name:     "inter-digit timeout ends input",
			min:      1,
			presses:  []press{{promptEnd + time.Second, "7"}},
			pin:      "7",
			path:     "hello>pin>thanks>menu>end",
			thanksAt: promptEnd + time.Second + 1500*time.Millisecond,
		},
		{
			name:    "min_digits not met is a no-match",
			min:     4,
			presses: []press{{promptEnd + time.Second, "12"}},
			path:    "hello>pin>wrong>menu>end",
			said:    []string{hello, pinPrompt, "Wrong PIN.", "Press 1 or 2."},
		},
		{
			name:    "a lone finish key is a no-match, not a no-input",
			min:     1,
			presses: []press{{promptEnd + time.Second, "#"}},
			path:    "hello>pin>wrong>menu>end",
		},
		{
			name:     "no key is a no-input",
			min:      1,
			path:     "hello>pin>none>end",
			said:     []string{hello, pinPrompt, "No PIN."},
			thanksAt: promptEnd + 5*time.Second,
		},
		{
			name:     "finish key typed with a full input is part of it",
			min:      4,
			presses:  []press{{promptEnd + time.Second, "1234#"}, {promptEnd + 2*time.Second, "2"}},
			pin:      "1234",
			path:     "hello>pin>thanks>menu>two>end",
			said:     []string{hello, pinPrompt, "Thanks.", "Press 1 or 2.", "Two."},
			thanksAt: promptEnd + time.Second,
		},
		{
			name: "finish key after a full input does not barge into the next prompt",
			min:  4,
			presses: []press{
				{promptEnd + time.Second, "1234"},
				{promptEnd + time.Second + 30*time.Millisecond, "#"},
				{promptEnd + 2*time.Second, "1"},
			},
			pin:  "1234",
			path: "hello>pin>thanks>menu>one>end",
			said: []string{hello, pinPrompt, "Thanks.", "Press 1 or 2.", "One."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				defer h.ch.close()
				f := parse(t, sprintf(pinFlow, tt.min))
				for _, p := range tt.presses {
					h.ch.press(p.at, p.keys)
				}
				res := h.run(t.Context(), f)
				if got := path(res); got != tt.path {
					t.Errorf("path %s, want %s", got, tt.path)
				}
				if got := res.Vars.String("pin"); got != tt.pin {
					t.Errorf("pin = %q, want %q", got, tt.pin)
				}
				if tt.said != nil {
					checkStrings(t, "said", h.ch.said(), tt.said)
				}
				plays := h.ch.played()
				for _, p := range plays {
					if p.interrupted && p.text != hello {
						t.Errorf("%q interrupted at %v", p.text, p.end)
					}
				}
				if tt.thanksAt != 0 {
					i := slices.IndexFunc(plays, func(p playRec) bool {
						return p.text == "Thanks." || p.text == "No PIN."
					})
					if i < 0 || plays[i].start != tt.thanksAt {
						t.Errorf("plays %+v: want the next node to speak at %v", plays, tt.thanksAt)
					}
				}
			})
		})
	}
}

const retryFlow = `
name: retry
start: menu
defaults: {error: end}
nodes:
  menu:
    gather:
      prompt: Press 1.
      retries: %d
      no_match_prompt: That is not a valid choice.
    branch: {"1": one}
    on: {no_input: sorry, no_match: sorry}
  one: {say: One., next: end}
  sorry: {say: Sorry. Let us try the other menu., next: other}
  other:
    gather: {prompt: Press 2., timeout: 2s, retries: 0}
    branch: {"2": two}
    on: {no_input: end, no_match: end}
  two: {say: Two., next: end}
  end: {hangup: resolved}
`

func TestGatherRetries(t *testing.T) {
	const prompt = "Press 1."
	t.Run("a correction typed ahead is the next attempt's choice", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := parse(t, sprintf(retryFlow, 1))
			h.ch.press(speech(prompt)+time.Second, "91")
			res := h.run(t.Context(), f)
			if got, want := path(res), "menu>one>end"; got != want {
				t.Errorf("path %s, want %s", got, want)
			}
			checkStrings(t, "said", h.ch.said(), []string{prompt, "One."})
		})
	})
	t.Run("digits left after the last failure are dropped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			f := parse(t, sprintf(retryFlow, 0))
			h.ch.press(speech(prompt)+time.Second, "92")
			res := h.run(t.Context(), f)
			// The 2 was typed into the menu that rejected the 9: it must neither cut the
			// apology short nor answer the next menu.
			if got, want := path(res), "menu>sorry>other>end"; got != want {
				t.Errorf("path %s, want %s", got, want)
			}
			checkStrings(t, "said", h.ch.said(), []string{prompt, "Sorry. Let us try the other menu.", "Press 2."})
			for _, p := range h.ch.played() {
				if p.interrupted {
					t.Errorf("%q interrupted", p.text)
				}
			}
		})
	})
}

// TestDigitsClosed: a channel that closes its digit channel (a call leg without DTMF)
// must not make the runtime spin on it; gathers time out as with silence.
func TestDigitsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		defer h.ch.close()
		close(h.ch.digits)
		f := sample(t)
		res := h.run(t.Context(), f)
		if got, want := path(res), "welcome>main_menu>no_input_goodbye>hangup_unresolved"; got != want {
			t.Errorf("path %s, want %s", got, want)
		}
		menu := gatherOf(t, f, "main_menu")
		checkStrings(t, "said", h.ch.said(), []string{sayText(t, f, "welcome"), menu.Prompt, menu.NoInputPrompt, menu.Prompt, sayText(t, f, "no_input_goodbye")})
		for _, p := range h.ch.played() {
			if p.interrupted {
				t.Errorf("%q interrupted: a closed channel was read as key presses", p.text)
			}
		}
		if got := res.Vars.String("digits"); got != "" {
			t.Errorf("digits = %q from a closed channel", got)
		}
	})
}
