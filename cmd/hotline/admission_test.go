package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testAdmission is an admission over its own registry, with a clock and a CPU load the
// test sets.
type testAdmission struct {
	*admission
	reg   *prometheus.Registry
	clock time.Time
	load  atomic.Uint64 // CPU load in thousandths
}

func newTestAdmission(t *testing.T, cfg LimitsConfig) *testAdmission {
	t.Helper()
	ta := &testAdmission{reg: prometheus.NewRegistry(), clock: time.Unix(1_700_000_000, 0)}
	a, err := newAdmission(cfg, ta.reg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		withAdmissionClock(func() time.Time { return ta.clock }),
		withCPULoad(func() float64 { return float64(ta.load.Load()) / 1000 }))
	if err != nil {
		t.Fatal(err)
	}
	ta.admission = a
	return ta
}

// refused reads hotline_admission_refused_total{limit}.
func (ta *testAdmission) refused(t *testing.T, limit string) float64 {
	t.Helper()
	families, err := ta.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "hotline_admission_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "limit" && l.GetValue() == limit {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no hotline_admission_refused_total{limit=%q}", limit)
	return 0
}

// requireRefused asserts that err is admission's refusal for limit.
func requireRefused(t *testing.T, err error, limit string) *refusal {
	t.Helper()
	var r *refusal
	if !errors.As(err, &r) || r.limit != limit {
		t.Fatalf("admit = %v, want a refusal for %s", err, limit)
	}
	return r
}

func TestAdmissionMaxCalls(t *testing.T) {
	a := newTestAdmission(t, LimitsConfig{MaxCalls: 2})
	r1, err1 := a.admit()
	_, err2 := a.admit()
	if err1 != nil || err2 != nil {
		t.Fatalf("calls within max_calls refused: %v, %v", err1, err2)
	}
	if err := a.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "max_calls") {
		t.Errorf("Ready at max_calls = %v, want an error naming max_calls", err)
	}
	_, err := a.admit()
	if r := requireRefused(t, err, limitCalls); r.retryAfter != retryCalls {
		t.Errorf("Retry-After %v, want %v", r.retryAfter, retryCalls)
	}
	if _, retry, ok := a.AdmitCall(); ok || retry != retryCalls {
		t.Errorf("SIP AdmitCall at max_calls: ok %v, Retry-After %v; want refused, %v", ok, retry, retryCalls)
	}
	if n := a.refused(t, limitCalls); n != 2 {
		t.Errorf("refused{max_calls} = %v, want 2", n)
	}
	r1()
	r1() // idempotent
	if n := a.count(); n != 1 {
		t.Errorf("count after one release (twice) = %d, want 1", n)
	}
	if err := a.Ready(context.Background()); err != nil {
		t.Errorf("Ready with room = %v", err)
	}
	if _, err := a.admit(); err != nil {
		t.Errorf("the released room was not reusable: %v", err)
	}
	// A call the engine placed is held beyond the limit, and counted.
	release := a.hold()
	if n := a.count(); n != 3 {
		t.Errorf("count with a held outbound call = %d, want 3", n)
	}
	release()
}

func TestAdmissionMaxCPS(t *testing.T) {
	a := newTestAdmission(t, LimitsConfig{MaxCPS: 2})
	for i := range 2 {
		if _, err := a.admit(); err != nil {
			t.Fatalf("call %d within the burst of max_cps 2 refused: %v", i, err)
		}
	}
	_, err := a.admit()
	if r := requireRefused(t, err, limitCPS); r.retryAfter != 500*time.Millisecond {
		t.Errorf("max_cps Retry-After %v, want 500ms (the next token)", r.retryAfter)
	}
	if _, retry, ok := a.AdmitCall(); ok || retry != time.Second {
		t.Errorf("SIP AdmitCall over max_cps: ok %v, Retry-After %v; want refused, 1s (whole seconds, at least 1)", ok, retry)
	}
	if err := a.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "max_cps") {
		t.Errorf("Ready with an empty max_cps bucket = %v", err)
	}
	a.clock = a.clock.Add(500 * time.Millisecond)
	if err := a.Ready(context.Background()); err != nil {
		t.Errorf("Ready once a token is back = %v (Ready must not spend it)", err)
	}
	if _, err := a.admit(); err != nil {
		t.Errorf("no call admitted half a second later: %v", err)
	}
	if n := a.refused(t, limitCPS); n != 2 {
		t.Errorf("refused{max_cps} = %v, want 2", n)
	}

	// A fraction: one call every 5 s, and Retry-After says when.
	slow := newTestAdmission(t, LimitsConfig{MaxCPS: 0.2})
	if _, err := slow.admit(); err != nil {
		t.Fatalf("first call at max_cps 0.2 refused: %v", err)
	}
	slow.clock = slow.clock.Add(1500 * time.Millisecond)
	if _, retry, ok := slow.AdmitCall(); ok || retry != 4*time.Second {
		t.Errorf("max_cps 0.2, 1.5 s after a call: ok %v, Retry-After %v; want refused, 4s (3.5 s rounded up)", ok, retry)
	}
}

func TestAdmissionMaxCPU(t *testing.T) {
	a := newTestAdmission(t, LimitsConfig{MaxCPU: 0.9})
	a.load.Store(500)
	if _, err := a.admit(); err != nil {
		t.Fatalf("call refused at 50%% CPU: %v", err)
	}
	a.load.Store(950)
	_, err := a.admit()
	requireRefused(t, err, limitCPU)
	if _, retry, ok := a.AdmitCall(); ok || retry != retryCPU {
		t.Errorf("SIP AdmitCall over max_cpu: ok %v, Retry-After %v", ok, retry)
	}
	if err := a.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "max_cpu") {
		t.Errorf("Ready at 95%% CPU = %v, want an error naming max_cpu", err)
	}
	if n := a.refused(t, limitCPU); n != 2 {
		t.Errorf("refused{max_cpu} = %v, want 2", n)
	}
	a.load.Store(899)
	if _, err := a.admit(); err != nil {
		t.Errorf("call refused once the CPU is back under max_cpu: %v", err)
	}
	if err := a.Ready(context.Background()); err != nil {
		t.Errorf("Ready under max_cpu = %v", err)
	}

	// Without max_cpu a busy CPU refuses nothing.
	off := newTestAdmission(t, LimitsConfig{})
	off.load.Store(1000)
	if _, err := off.admit(); err != nil || off.Ready(context.Background()) != nil {
		t.Errorf("max_cpu 0 refused a call at 100%% CPU: %v", err)
	}
}

// TestAdmissionOrder: a call refused for max_calls or max_cpu spends no max_cps token.
func TestAdmissionOrder(t *testing.T) {
	a := newTestAdmission(t, LimitsConfig{MaxCalls: 1, MaxCPS: 2, MaxCPU: 0.9})
	release, err := a.admit()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_, err := a.admit()
		requireRefused(t, err, limitCalls)
	}
	release()
	a.load.Store(990)
	for range 5 {
		_, err := a.admit()
		requireRefused(t, err, limitCPU)
	}
	a.load.Store(0)
	if _, err := a.admit(); err != nil {
		t.Errorf("the second token of max_cps 2 was spent by refused calls: %v", err)
	}
	if n := a.refused(t, limitCPS); n != 0 {
		t.Errorf("refused{max_cps} = %v, want 0", n)
	}
}

// TestAdmissionDrain: draining refuses every new call; the SIP edge leaves that to
// runCall (which records the refused call) and only the one refusal is counted.
func TestAdmissionDrain(t *testing.T) {
	a := newTestAdmission(t, LimitsConfig{})
	a.drain()
	_, err := a.admit()
	if r := requireRefused(t, err, limitDraining); r.retryAfter != retryDraining {
		t.Errorf("draining Retry-After %v", r.retryAfter)
	}
	if !errors.Is(a.Ready(context.Background()), errDraining) {
		t.Errorf("Ready while draining = %v", a.Ready(context.Background()))
	}
	release, _, ok := a.AdmitCall()
	if !ok || release == nil {
		t.Error("the SIP edge refused a call while draining: runCall must, so the call gets its record")
	}
	e := &engine{admission: a.admission}
	if _, why := e.admitCall(arrival{admitted: true}); why != limitDraining {
		t.Errorf("runCall's admission of a SIP call while draining: %q, want draining", why)
	}
	if _, why := e.admitCall(arrival{outbound: true}); why != limitDraining {
		t.Errorf("runCall's admission of an outbound call while draining: %q, want draining", why)
	}
	if n := a.refused(t, limitDraining); n != 3 {
		t.Errorf("refused{draining} = %v, want 3 (admit, and runCall twice)", n)
	}
}

// TestAdmissionBrowserCall: the WebRTC endpoint admits a browser call before its
// media (AdmitBrowser), against the same count as the SIP calls admitted at the
// INVITE; while draining it lets the call through for runCall to refuse with its
// record.
func TestAdmissionBrowserCall(t *testing.T) {
	a := newTestAdmission(t, LimitsConfig{MaxCalls: 1})
	sipRelease, _, ok := a.AdmitCall() // a SIP call in progress
	if !ok {
		t.Fatal("SIP call refused with room")
	}
	var r *refusal
	if _, err := a.AdmitBrowser(); !errors.As(err, &r) || r.limit != limitCalls {
		t.Fatalf("browser call with a SIP call at max_calls 1: %v, want a max_calls refusal", err)
	}
	sipRelease()
	release, err := a.AdmitBrowser()
	if err != nil {
		t.Fatalf("browser call refused with room: %v", err)
	}
	if _, _, ok := a.AdmitCall(); ok {
		t.Error("SIP call admitted while a browser call holds max_calls 1")
	}
	release()
	if n := a.count(); n != 0 {
		t.Errorf("count = %d after both calls, want 0", n)
	}
	a.drain()
	if release, err := a.AdmitBrowser(); err != nil || release == nil {
		t.Errorf("the endpoint refused a browser call while draining (%v): runCall must, so the call gets its record", err)
	}
	e := &engine{admission: a.admission}
	if _, why := e.admitCall(arrival{transport: "webrtc", admitted: true}); why != limitDraining {
		t.Errorf("runCall's admission of a browser call while draining: %q, want draining", why)
	}
}

// TestAdmissionConcurrent: admissions from many goroutines never exceed max_calls.
func TestAdmissionConcurrent(t *testing.T) {
	a := newTestAdmission(t, LimitsConfig{MaxCalls: 5})
	var peak atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 200 {
				release, err := a.admit()
				if err != nil {
					continue
				}
				if n := int64(a.count()); n > peak.Load() {
					peak.Store(n)
				}
				release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 5 {
		t.Errorf("%d calls admitted at once with max_calls 5", p)
	}
	if n := a.count(); n != 0 {
		t.Errorf("%d calls left after every release", n)
	}
}

// TestCPUMeter: the meter's load is the process CPU over the sliding window divided by
// the usable CPUs; an old spike leaves the window.
func TestCPUMeter(t *testing.T) {
	var cpu time.Duration
	m := newCPUMeter(func() (time.Duration, bool) { return cpu, true }, 2)
	at := time.Unix(1_700_000_000, 0)
	step := func(used time.Duration) {
		cpu += used
		at = at.Add(cpuSampleEvery)
		m.sample(at)
	}
	m.sample(at)
	if l := m.Load(); l != 0 {
		t.Errorf("load after one sample = %v, want 0", l)
	}
	step(400 * time.Millisecond) // 400 ms of CPU in 250 ms on 2 CPUs: 80 %
	if l := m.Load(); l < 0.799 || l > 0.801 {
		t.Errorf("load = %.3f, want 0.8", l)
	}
	for range cpuSamples - 1 { // a full window of both CPUs busy
		step(500 * time.Millisecond)
	}
	if l := m.Load(); l < 0.999 || l > 1.001 {
		t.Errorf("load over a busy window = %.3f, want 1", l)
	}
	for range cpuSamples - 2 { // the busy samples leave the window but one
		step(0)
	}
	if l := m.Load(); l < 0.124 || l > 0.126 {
		t.Errorf("load = %.4f, want 0.125 (one busy step of eight)", l)
	}
	step(0)
	if l := m.Load(); l != 0 {
		t.Errorf("load after an idle window = %v, want 0", l)
	}
	// An unreadable clock leaves the load as it was.
	bad := newCPUMeter(func() (time.Duration, bool) { return 0, false }, 1)
	bad.sample(at)
	bad.sample(at.Add(time.Second))
	if l := bad.Load(); l != 0 {
		t.Errorf("load without readings = %v", l)
	}
}

// TestAdmissionProcessCPU: the real meter sees this process burn CPU.
func TestAdmissionProcessCPU(t *testing.T) {
	before, ok := processCPUTime()
	if !ok {
		t.Fatal("getrusage failed: the CPU limit cannot work on this system")
	}
	m := newCPUMeter(processCPUTime, 1)
	start := time.Now()
	m.sample(start)
	x := 0
	for time.Since(start) < 100*time.Millisecond { // bounded: ends after 100 ms of wall time
		x++
	}
	m.sample(time.Now())
	after, _ := processCPUTime()
	if after <= before || m.Load() <= 0 {
		t.Errorf("a busy loop (%d rounds) used %v of CPU, load %.2f: the meter saw nothing", x, after-before, m.Load())
	}
	if n := usableCPUs(); n < 1 {
		t.Errorf("usableCPUs = %d", n)
	}
}

// TestConfigMovedGuardLimits: the old sip.guard.max_calls and max_cps fail loading
// with the line and the new key; limits.max_cpu must be a fraction.
func TestConfigMovedGuardLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotline.yaml")
	write := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sip:\n  guard:\n    ban_time: 5m\n    max_calls: 100\n    max_cps: 20\n")
	_, err := LoadConfig(path)
	if err == nil {
		t.Fatal("a configuration with sip.guard.max_calls loaded")
	}
	for _, want := range []string{"line 4: sip.guard.max_calls moved to limits.max_calls", "line 5: sip.guard.max_cps moved to limits.max_cps"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	write("limits:\n  max_calls: 100\n  max_cps: 20.5\n  max_cpu: 0.9\nsip:\n  guard:\n    ban_time: 5m\n")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Limits; l.MaxCalls != 100 || l.MaxCPS != 20.5 || l.MaxCPU != 0.9 {
		t.Errorf("limits = %+v", l)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	cfg.Limits.MaxCPU, cfg.Limits.MaxCPS = 90, -1
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "limits.max_cpu") || !strings.Contains(err.Error(), "limits.max_cps") {
		t.Errorf("Validate with max_cpu 90 and max_cps -1 = %v", err)
	}
}

// BenchmarkAdmission is the admission of one call with every limit set, and its
// release: the cost each INVITE pays before it gets media.
func BenchmarkAdmission(b *testing.B) {
	a, err := newAdmission(LimitsConfig{MaxCalls: 1 << 30, MaxCPS: 1e12, MaxCPU: 0.99}, prometheus.NewRegistry(),
		slog.New(slog.NewTextHandler(io.Discard, nil)), withCPULoad(func() float64 { return 0.5 }))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		release, _, ok := a.AdmitCall()
		if !ok {
			b.Fatal("refused")
		}
		release()
	}
}
