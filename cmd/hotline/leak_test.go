//go:build linux

package main

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// TestCallsInARowAndAtOnceLeaveNothingBehind: ten sample-flow calls one after the
// other, then five at the same time, all succeed; afterwards the engine holds no call,
// no RTP port and no goroutine more than before, and /metrics agrees.
//
// It is deliberately not parallel: Go runs the sequential tests (and the parts of the
// others before t.Parallel) one at a time before any parallel part, so nothing else
// makes calls while runtime.NumGoroutine is counted. The engines other tests started
// before turning parallel sit idle and keep their goroutine count constant.
func TestCallsInARowAndAtOnceLeaveNothingBehind(t *testing.T) {
	te := startEngine(t, engineOptions{})
	ports := freeSippPorts(t)
	baseline := settledGoroutines(0)
	t.Logf("goroutines before the calls: %d", baseline)

	// One after the other: each caller presses 1 during the greeting and # during the
	// billing sentence (barge-in), so each call lasts a couple of seconds.
	runSipp(t, te, ports, sippCall{
		scenario: "uac_dtmf_skip.xml",
		pause:    300 * time.Millisecond,
		calls:    10, limit: 1,
		timeout: 90 * time.Second,
	})
	te.waitLogs(t, 5*time.Second, 10, "flow finished", "disposition", "resolved", "path", "welcome>main_menu>billing>goodbye>end")

	// At once: five callers press 2 and listen to the support sentence to the end.
	runSipp(t, te, ports, sippCall{
		scenario: "uac_dtmf.xml",
		replace:  pressDigit("2"),
		pause:    500 * time.Millisecond,
		calls:    5, limit: 5, rate: 5,
		timeout: 60 * time.Second,
	})
	te.waitLogs(t, 5*time.Second, 5, "flow finished", "disposition", "resolved", "path", "welcome>main_menu>support>goodbye>end")
	if n := len(te.logs.find("call ended", "cause", "engine_bye")); n != 15 {
		t.Errorf("%d calls ended with the engine's BYE, want 15", n)
	}

	te.waitIdle(t)
	m := te.metrics(t)
	requireMetric(t, m, "hotline_calls_active", 0)
	requireMetric(t, m, "hotline_calls_started_total", 15)
	requireMetric(t, m, "hotline_calls_ended_total", 15)

	if n := settledGoroutines(baseline); n > baseline {
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Errorf("%d goroutines 10 s after the last call, %d before the calls: leaked\n%s", n, baseline, buf.String())
	}
}

// settledGoroutines waits (at most 10 s) until the goroutine count is at most target,
// or, with target 0, stops changing; it returns the last count.
func settledGoroutines(target int) int {
	deadline := time.Now().Add(10 * time.Second)
	last, stable := runtime.NumGoroutine(), 0
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		n := runtime.NumGoroutine()
		if target > 0 && n <= target {
			return n
		}
		if n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
		if target == 0 && stable >= 5 {
			return n
		}
	}
	return last
}
