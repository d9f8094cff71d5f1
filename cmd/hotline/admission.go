package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// Admission limits: the label values of hotline_admission_refused_total and the
// reasons a refused call's record and log give.
const (
	limitDraining = "draining" // SIGTERM received: finishing the calls in progress
	limitCalls    = "max_calls"
	limitCPS      = "max_cps"
	limitCPU      = "max_cpu"
)

// Retry-After of each refusal. max_cps computes its own: when the next call fits.
const (
	retryDraining = 5 * time.Second
	retryCalls    = 5 * time.Second
	retryCPU      = 5 * time.Second
)

// refusal is why admission refused a call, and when to try again.
type refusal struct {
	limit      string // limitDraining, limitCalls, limitCPS, limitCPU
	retryAfter time.Duration
}

func (r *refusal) Error() string {
	return fmt.Sprintf("call refused: %s (retry after %v)", r.limit, r.retryAfter)
}

// admission is the engine's one gate for new calls: limits.max_calls, limits.max_cps,
// limits.max_cpu and the drain. Calls are refused cleanly at the door rather than
// admitted into an engine that would then degrade every caller's audio.
//
// SIP INVITEs pass it in the SIP server's guard hook (AdmitCall), before the call has
// any media: 503 with Retry-After, so the carrier or the dispatcher tries another
// node. A drain is checked later, in runCall, so a call refused while draining still
// gets its record. Browser calls pass it before their flow starts (admit); the page is
// told why. Calls the engine places itself (the API's originate) are counted but never
// refused once answered (hold): the API checks Ready before dialling.
//
// Its count of admitted calls is the one max_calls judges, and /readyz says what Ready
// says: not ready while draining or over any limit.
type admission struct {
	maxCalls int
	maxCPS   float64
	burst    float64 // max_cps's bucket: max(1, max_cps) calls at once
	maxCPU   float64
	cpu      func() float64 // the CPU load, 0..1 of the usable CPUs (cpuMeter.Load)
	now      func() time.Time
	log      *slog.Logger

	draining atomic.Bool

	mu     sync.Mutex
	calls  int
	tokens float64   // max_cps's bucket, refilled lazily
	last   time.Time // when tokens was last refilled
	cpuOff bool      // the last CPU check found the load over max_cpu (logs the changes)

	refused map[string]prometheus.Counter
	meter   *cpuMeter // the process CPU meter run samples; nil with withCPULoad
}

// admissionOption adjusts an admission (tests).
type admissionOption func(*admission)

// withCPULoad replaces the process CPU meter by load (tests), and starts no sampler.
func withCPULoad(load func() float64) admissionOption {
	return func(a *admission) { a.cpu = load }
}

// withAdmissionClock sets the clock of max_cps (tests).
func withAdmissionClock(now func() time.Time) admissionOption {
	return func(a *admission) { a.now = now }
}

// newAdmission builds the gate over the limits section and registers its metrics on
// reg; run samples the process's CPU.
func newAdmission(cfg LimitsConfig, reg prometheus.Registerer, log *slog.Logger, opts ...admissionOption) (*admission, error) {
	a := &admission{maxCalls: cfg.MaxCalls, maxCPS: cfg.MaxCPS, burst: max(1, cfg.MaxCPS), maxCPU: cfg.MaxCPU,
		now: time.Now, log: log}
	a.tokens = a.burst
	for _, o := range opts {
		o(a)
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_admission_refused_total",
		Help: "New calls refused by admission control (SIP: 503 with Retry-After before any media; WebRTC: the page is told), by limit (max_calls, max_cps, max_cpu, draining).",
	}, []string{"limit"})
	a.refused = map[string]prometheus.Counter{}
	for _, l := range []string{limitCalls, limitCPS, limitCPU, limitDraining} {
		a.refused[l] = refused.WithLabelValues(l)
	}
	calls := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hotline_admission_calls",
		Help: "Calls admitted and not yet ended: what limits.max_calls is compared with (SIP from the INVITE's admission, WebRTC and originated calls while their flow runs).",
	}, func() float64 { return float64(a.count()) })
	if a.cpu == nil {
		a.meter = newCPUMeter(processCPUTime, usableCPUs())
		a.cpu = a.meter.Load
	}
	cpu := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hotline_admission_cpu_ratio",
		Help: "CPU the engine process used over the last 2 s as a fraction of the CPUs it may use (GOMAXPROCS): what limits.max_cpu is compared with.",
	}, func() float64 { return a.cpu() })
	for _, c := range []prometheus.Collector{refused, calls, cpu} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("admission: register metrics: %w", err)
		}
	}
	return a, nil
}

// run samples the process's CPU for max_cpu and the CPU gauge until ctx ends.
func (a *admission) run(ctx context.Context) {
	if a.meter != nil {
		a.meter.run(ctx)
	}
}

// drain refuses every new call from now on (SIGTERM).
func (a *admission) drain() { a.draining.Store(true) }

// isDraining reports whether drain was called.
func (a *admission) isDraining() bool { return a.draining.Load() }

// count is the number of calls admitted and not yet released.
func (a *admission) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// admit reserves room for a new call within every limit; release gives it back when
// the call ends (it is idempotent). A refusal is a *refusal, counted in
// hotline_admission_refused_total.
func (a *admission) admit() (release func(), err error) {
	if a.draining.Load() {
		return nil, a.refuse(limitDraining, retryDraining)
	}
	var cpu float64
	if a.maxCPU > 0 {
		cpu = a.cpu() // outside the lock: a meter takes its own
	}
	a.mu.Lock()
	switch {
	case a.maxCalls > 0 && a.calls >= a.maxCalls:
		a.mu.Unlock()
		return nil, a.refuse(limitCalls, retryCalls)
	case a.maxCPU > 0 && cpu > a.maxCPU:
		changed := !a.cpuOff
		a.cpuOff = true
		a.mu.Unlock()
		if changed {
			a.log.Warn("admission: refusing new calls, the engine's CPU is over limits.max_cpu",
				"cpu", math.Round(cpu*1000)/1000, "max_cpu", a.maxCPU)
		}
		return nil, a.refuse(limitCPU, retryCPU)
	}
	if a.maxCPU > 0 && a.cpuOff {
		a.cpuOff = false
		a.log.Info("admission: the engine's CPU is back under limits.max_cpu", "cpu", math.Round(cpu*1000)/1000, "max_cpu", a.maxCPU)
	}
	// max_cps last, so a call refused for another limit spends no token.
	if a.maxCPS > 0 && !a.takeToken() {
		wait := time.Duration((1 - a.tokens) / a.maxCPS * float64(time.Second))
		a.mu.Unlock()
		return nil, a.refuse(limitCPS, wait)
	}
	a.calls++
	a.mu.Unlock()
	return a.releaser(), nil
}

// hold counts a call that is not to be refused (an answered outbound call: the API
// checked Ready before dialling), so it weighs on max_calls like any other.
func (a *admission) hold() (release func()) {
	a.mu.Lock()
	a.calls++
	a.mu.Unlock()
	return a.releaser()
}

// refuseDraining counts a call that was admitted at the SIP edge but reached its flow
// after the drain began: runCall refuses it (with its record).
func (a *admission) refuseDraining() { a.refused[limitDraining].Inc() }

func (a *admission) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.calls--
			a.mu.Unlock()
		})
	}
}

func (a *admission) refuse(limit string, retry time.Duration) error {
	a.refused[limit].Inc()
	return &refusal{limit: limit, retryAfter: retry}
}

// refill tops the max_cps bucket up to now; a.mu held.
func (a *admission) refill() {
	now := a.now()
	if !a.last.IsZero() {
		a.tokens = min(a.burst, a.tokens+now.Sub(a.last).Seconds()*a.maxCPS)
	}
	a.last = now
}

// takeToken takes one call from the max_cps bucket; a.mu held.
func (a *admission) takeToken() bool {
	a.refill()
	if a.tokens < 1 {
		return false
	}
	a.tokens--
	return true
}

// AdmitCall is admit for the SIP server's guard hook (guard.Admitter): it runs before
// the INVITE gets any media, and a refusal is answered 503 with Retry-After. The drain
// is left to runCall, which records the refused call.
func (a *admission) AdmitCall() (release func(), retryAfter time.Duration, ok bool) {
	if a.draining.Load() {
		return func() {}, 0, true // runCall refuses it, with its record
	}
	release, err := a.admit()
	if err != nil {
		var r *refusal
		if errors.As(err, &r) {
			// Whole seconds (RFC 3261 §20.33), rounded up so the caller does not come back
			// before the call fits.
			return nil, max(time.Second, (r.retryAfter + time.Second - 1).Truncate(time.Second)), false
		}
		return nil, retryCalls, false
	}
	return release, 0, true
}

// AdmitBrowser is admit for the WebRTC endpoint (webrtc.WithAdmission): a browser
// call is admitted before its media session and peer connection exist, and a refused
// page is told "busy" at once. The drain is left to runCall, as for SIP.
func (a *admission) AdmitBrowser() (release func(), err error) {
	if a.draining.Load() {
		return func() {}, nil // runCall refuses it, with its record
	}
	return a.admit()
}

// errDraining is the reason /readyz gives while draining.
var errDraining = errors.New("draining: shutting down, finishing the calls in progress")

// Ready says whether this node should get new calls: not while draining, nor while a
// new call would be refused by a limit (the dispatcher in front routes elsewhere).
func (a *admission) Ready(context.Context) error {
	if a.draining.Load() {
		return errDraining
	}
	var cpu float64
	if a.maxCPU > 0 {
		cpu = a.cpu()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.maxCalls > 0 && a.calls >= a.maxCalls:
		return fmt.Errorf("at capacity: %d calls (limits.max_calls %d)", a.calls, a.maxCalls)
	case a.maxCPU > 0 && cpu > a.maxCPU:
		return fmt.Errorf("CPU at %.0f%% of the usable CPUs (limits.max_cpu %.0f%%)", cpu*100, a.maxCPU*100)
	}
	if a.maxCPS > 0 {
		if a.refill(); a.tokens < 1 {
			return fmt.Errorf("at the call rate limit (limits.max_cps %g)", a.maxCPS)
		}
	}
	return nil
}

// admitCall is runCall's admission of a call: SIP inbound calls were admitted at the
// INVITE and browser calls at the WebRTC endpoint (only a drain begun since refuses
// them), calls the engine placed are held, others are admitted here. why is the refused limit, "" when admitted.
func (e *engine) admitCall(a arrival) (release func(), why string) {
	switch {
	case a.admitted || a.outbound:
		if e.admission.isDraining() {
			e.admission.refuseDraining()
			return nil, limitDraining
		}
		if a.outbound {
			return e.admission.hold(), ""
		}
		return func() {}, ""
	}
	release, err := e.admission.admit()
	if err != nil {
		var r *refusal
		if errors.As(err, &r) {
			return nil, r.limit
		}
		return nil, limitCalls
	}
	return release, ""
}

// movedLimitKeys fails a configuration that still sets sip.guard.max_calls or
// sip.guard.max_cps: admission moved to the limits section, and silently dropping a
// limit an operator set would take it away unnoticed.
func movedLimitKeys(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil // the strict decode reports it
	}
	child := func(n *yaml.Node, key string) *yaml.Node {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	g := child(child(doc.Content[0], "sip"), "guard")
	var errs []error
	for _, k := range []string{"max_calls", "max_cps"} {
		if n := child(g, k); n != nil {
			errs = append(errs, fmt.Errorf("line %d: sip.guard.%s moved to limits.%s (one admission limit for SIP and WebRTC calls): move it there", n.Line, k, k))
		}
	}
	return errors.Join(errs...)
}
