package ivr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// How calls end: the on_hangup section after every kind of end, and a caller hanging
// up at any point of a flow with every node type, leaving nothing running.

const onHangupFlow = `
name: oh
start: hello
on_hangup: report
defaults: {error: apology}
max_steps: 20
nodes:
  hello: {say: Hello and welcome to the line., next: menu}
  menu:
    gather: {prompt: Press 1 to finish or 2 to loop., timeout: 2s, retries: 0}
    branch: {"1": bye, "2": loop}
    on: {no_input: bye, no_match: bye}
  loop:
    switch:
      - when: digits == "x"
        next: bye
      - default: loop2
  loop2: {goto: loop}
  apology: {say: Sorry., next: fail}
  fail: {hangup: error}
  bye: {hangup: {disposition: resolved, reason: done}}
  report:
    http: {endpoint: billing, path: /events/call-ended, json: {disposition: disposition, caller: caller}}
    next: check
    on: {error: done, timeout: done}
  check:
    switch:
      - when: http_status == 204
        next: done
      - default: done
    on: {error: done}
  done: {hangup: transferred}
`

func TestOnHangup(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(h *harness, cancel context.CancelFunc)
		disp   string
		path   string
		hangup bool // the runtime hung up the channel
	}{
		{
			name:  "after a hangup node",
			setup: func(h *harness, _ context.CancelFunc) { h.ch.press(time.Second, "1") },
			disp:  DispositionResolved, path: "hello>menu>bye>report>check>done", hangup: true,
		},
		{
			name:  "after the caller hung up",
			setup: func(_ *harness, cancel context.CancelFunc) { time.AfterFunc(100*time.Millisecond, cancel) },
			disp:  DispositionAbandoned, path: "hello>report>check>done",
		},
		{
			name: "after the flow failed",
			setup: func(h *harness, _ context.CancelFunc) {
				h.synth.fail = func(string) error { return errors.New("espeak-ng missing") }
			},
			disp: DispositionError, path: "hello>apology>report>check>done", hangup: true,
		},
		{
			name:  "after the step limit",
			setup: func(h *harness, _ context.CancelFunc) { h.ch.press(time.Second, "2") },
			disp:  DispositionError, hangup: true,
			path: "hello>menu>loop>loop2>loop>loop2>loop>loop2>loop>loop2>loop>loop2>loop>loop2>loop>loop2>loop>loop2>loop>loop2>report>check>done",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newServiceHarness(t)
				defer h.ch.close()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				tt.setup(h, cancel)
				res := h.run(ctx, loadOne(t, onHangupFlow))
				if got := path(res); got != tt.path {
					t.Errorf("path %s\nwant %s", got, tt.path)
				}
				if res.Disposition != tt.disp || res.Vars["disposition"] != tt.disp || res.Vars["http_status"] != 204 {
					t.Errorf("disposition %q, vars %v", res.Disposition, res.Vars)
				}
				_, events := h.svc.billing.calls()
				if len(events) != 1 || events[0]["disposition"] != tt.disp {
					t.Errorf("webhook events %v", events)
				}
				hangups := strings.Count(strings.Join(h.ch.signals(), " "), "hangup")
				if hangups != map[bool]int{true: 1, false: 0}[tt.hangup] {
					t.Errorf("call control %v", h.ch.signals())
				}
			})
		})
	}
	t.Run("bounded when the webhook hangs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newServiceHarness(t, WithOnHangupTimeout(2*time.Second))
			defer h.ch.close()
			h.svc.billing.fail = func(int) int { return 0 }
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			time.AfterFunc(time.Second, cancel)
			res := h.run(ctx, loadOne(t, strings.Replace(onHangupFlow, "path: /events/call-ended,", "path: /events/call-ended, timeout: 1m,", 1)))
			if d := time.Since(h.ch.start); d != 3*time.Second {
				t.Errorf("Run returned %v after the start, want 1 s of call and the 2 s bound", d)
			}
			if res.Disposition != DispositionAbandoned || path(res) != "hello>menu>report" {
				t.Errorf("disposition %q path %s", res.Disposition, path(res))
			}
		})
	})
}

// hangupFlow is the flow of every node type, with an on_hangup webhook.
var hangupFlow = strings.Replace(allTypesFlow, "start: answer\n", "start: answer\non_hangup: ended\n", 1) + `
  ended:
    http: {endpoint: billing, path: /events/call-ended, json: {disposition: disposition}}
    next: fin
    on: {error: fin, timeout: fin}
  fin: {hangup: }
`

// TestHangupAnywhere hangs up at moments inside every node of a flow of every type:
// Run returns at that moment (the webhook is instant here), records the call as
// abandoned, runs on_hangup, and leaves no Play, stream or goroutine behind (the
// bubble would not end).
func TestHangupAnywhere(t *testing.T) {
	script := []step{
		{prompt: "Press 1.", delay: time.Second, keys: "1"},
		{prompt: "Press 2.", delay: time.Second, keys: "2"},
		{prompt: "Why are you calling?", delay: time.Second, speech: "my balance please"},
		{prompt: "Leave a message.", delay: 3 * time.Second, keys: "#"},
		{prompt: "Rate us.", delay: time.Second, keys: "4"},
	}
	// The full call (TestEveryNodeTypeHasHandler) takes 38.93 s: say 0-0.06, play to
	// 0.16, pause to 1.16, gather to 2.24, menu to 3.32, intent to 4.69, queue to
	// 34.69, record to 37.85, survey to 38.93.
	for _, at := range []time.Duration{
		30 * time.Millisecond, 100 * time.Millisecond, 700 * time.Millisecond, 1200 * time.Millisecond,
		2 * time.Second, 2500 * time.Millisecond, 3300 * time.Millisecond, 3500 * time.Millisecond, 4200 * time.Millisecond,
		10 * time.Second, 34750 * time.Millisecond, 35100 * time.Millisecond, 36 * time.Second, 38 * time.Second, 38900 * time.Millisecond,
	} {
		t.Run(at.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newServiceHarness(t)
				defer h.ch.close()
				h.audio = speechLike
				fs := loadSet(t, map[string]string{"all.yaml": hangupFlow, "child.yaml": childFlow}, "beep.wav")
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				c := &caller{steps: script, ch: h.ch, rec: h.svc.rec, cancel: cancel}
				h.ch.onPlayEnd = c.played
				time.AfterFunc(at, cancel)
				res := h.rt.Run(ctx, h.channel(), fs["all"])
				if d := time.Since(h.ch.start); d != at {
					t.Errorf("Run returned at %v, want the hang-up's %v", d, at)
				}
				if res.Disposition != DispositionAbandoned || !errors.Is(res.Err, context.Canceled) {
					t.Errorf("disposition %q err %v (path %s)", res.Disposition, res.Err, path(res))
				}
				if !strings.HasSuffix(path(res), ">ended>fin") {
					t.Errorf("path %s: on_hangup did not run", path(res))
				}
				if _, ev := h.svc.billing.calls(); len(ev) != 1 || ev[0]["disposition"] != "abandoned" {
					t.Errorf("webhook events %v", ev)
				}
				if n := h.ch.playing(); n != 0 {
					t.Errorf("%d plays still running", n)
				}
				if n := h.svc.rec.openStreams(); n != 0 {
					t.Errorf("%d recognition streams left open", n)
				}
				for _, s := range h.ch.signals() {
					if s == "hangup" {
						t.Error("the runtime hung up a call the caller had ended")
					}
				}
			})
		})
	}
}
