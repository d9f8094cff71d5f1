package main

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/loadtest"
)

// regime is one thing the benchmark measures: how to start the engine, what the
// callers do at load n, and the ladder of n to climb.
type regime struct {
	key, title string
	// unit is "calls" (concurrent calls) or "calls/s" (call rate).
	unit       string
	engine     engineOptions
	ladder     []int
	resolution int
	// config is the generator's configuration at load n against engine e.
	config func(n int, e *engine) loadtest.Config
	// warm is a few calls that make sure the engine answers before a step.
	warm func(e *engine) loadtest.Config
	// probe is the raw ceiling, which runs udpprobe instead of the engine.
	probe bool
	// precheck, when set, runs before the ladder and says why the regime cannot be
	// measured yet ("" when it can).
	precheck func(ctx context.Context) string
	// budget is the regime's share of the run's time: no step starts after it.
	budget time.Duration
}

const flowsDir = "bench/flows"

// regimes builds the benchmark's regimes.
func (d *driver) regimes(ladder, ladderC, probeLadder, cpsA, cpsB []int) []*regime {
	// The IVR caller of regime b: the sample flow's greeting and menu, key 2, "check
	// my balance", the support sentence and goodbye, then the engine's BYE.
	ivr := func(e *engine, n int, rate float64, dur time.Duration) loadtest.Config {
		return loadtest.Config{
			Target: e.sipAddr, Concurrency: n, Rate: rate, Duration: dur,
			Mode: loadtest.ModeIVR, Digits: "2", Phrase: "check my balance",
			Hangup: loadtest.HangupEngine, EnginePID: e.pid(),
			Progress: os.Stderr, ProgressInterval: 5 * time.Second,
		}
	}
	warmGreeting := func(e *engine) loadtest.Config {
		return loadtest.Config{Target: e.sipAddr, Concurrency: 3, Rate: 3, Calls: 3, Mode: loadtest.ModeGreeting,
			FirstAudioTimeout: 30 * time.Second, Criteria: lenient()}
	}
	// Calls ramp up at about a twelfth of the target per second (within 10-200/s) and
	// are replaced as they end, so the engine also sees the call churn a real
	// population of that size brings.
	ramp := func(n int, lo, hi float64) (float64, time.Duration) {
		rate := min(max(float64(n)/12, lo), hi)
		return rate, time.Duration(float64(n) / rate * float64(time.Second))
	}
	noGap := func() loadtest.Criteria { return loadtest.Criteria{MaxGapP99: time.Hour} }

	return []*regime{
		{
			key: "ceiling", title: "raw UDP ceiling (udpprobe: 172-octet packets every 20 ms each way, plain Go sockets, one reading goroutine per socket)",
			unit: "calls", probe: true, ladder: probeLadder, resolution: 50,
		},
		{
			key: "a", title: "(a) signalling only (answer and wait; the caller sends no media, the engine still sends its silence)",
			unit: "calls", engine: engineOptions{flowDir: flowsDir, flow: "signalling"}, ladder: ladder, resolution: 50,
			config: func(n int, e *engine) loadtest.Config {
				rate, r := ramp(n, 20, 400)
				return loadtest.Config{
					Target: e.sipAddr, Concurrency: n, Rate: rate, Duration: r + d.hold,
					Mode: loadtest.ModeSignalling, Hold: d.holdA, EnginePID: e.pid(),
					Progress: os.Stderr, ProgressInterval: 5 * time.Second,
				}
			},
			warm: func(e *engine) loadtest.Config {
				return loadtest.Config{Target: e.sipAddr, Concurrency: 3, Rate: 3, Calls: 3, Mode: loadtest.ModeSignalling, Criteria: lenient()}
			},
		},
		{
			key: "b", title: "(b) IVR with prompts and DTMF (the sample flow: greeting, menu, key 2 as RFC 4733, a spoken phrase, department sentence, goodbye, engine BYE)",
			unit: "calls", ladder: ladder, resolution: 50,
			config: func(n int, e *engine) loadtest.Config {
				rate, r := ramp(n, 10, 200)
				return ivr(e, n, rate, r+d.hold)
			},
			warm: warmGreeting,
		},
		{
			key: "c", title: "(c) IVR with speech recognition on every call (bench/flows/speech.yaml: the caller says \"support\")",
			unit: "calls", engine: engineOptions{flowDir: flowsDir, flow: "speech"}, ladder: ladderC, resolution: 25,
			config: func(n int, e *engine) loadtest.Config {
				rate, r := ramp(n, 10, 200)
				c := ivr(e, n, rate, r+d.hold)
				c.Digits, c.Phrase = "-", "support"
				return c
			},
			warm:     warmGreeting,
			precheck: d.speechPrecheck,
		},
		{
			key: "a-cps", title: "peak call rate, signalling only (INVITE, 200, ACK, BYE at once; 10 s per step)",
			unit: "calls/s", engine: engineOptions{flowDir: flowsDir, flow: "signalling"}, ladder: cpsA, resolution: 50,
			config: func(n int, e *engine) loadtest.Config {
				return loadtest.Config{
					Target: e.sipAddr, Concurrency: max(2*n, 100), Rate: float64(n), Calls: 10 * n,
					Mode: loadtest.ModeSignalling, EnginePID: e.pid(), Criteria: noGap(),
					Progress: os.Stderr, ProgressInterval: 5 * time.Second,
				}
			},
			warm: func(e *engine) loadtest.Config {
				return loadtest.Config{Target: e.sipAddr, Concurrency: 3, Rate: 3, Calls: 3, Mode: loadtest.ModeSignalling, Criteria: lenient()}
			},
		},
		{
			key: "b-cps", title: "peak call rate of full IVR setup (the sample flow: INVITE to the greeting heard, then BYE; 10 s per step)",
			unit: "calls/s", ladder: cpsB, resolution: 25,
			config: func(n int, e *engine) loadtest.Config {
				return loadtest.Config{
					Target: e.sipAddr, Concurrency: max(3*n, 100), Rate: float64(n), Calls: 10 * n,
					Mode: loadtest.ModeGreeting, EnginePID: e.pid(), Criteria: noGap(),
					Progress: os.Stderr, ProgressInterval: 5 * time.Second,
				}
			},
			warm: warmGreeting,
		},
	}
}

// lenient criteria for warm-up calls, whose figures are thrown away.
func lenient() loadtest.Criteria {
	return loadtest.Criteria{MinCompletion: 0.01, MaxGapP99: time.Hour, MaxLoss: 0.99, MaxSetupP99: time.Hour, MaxGeneratorCPU: 100}
}

// measure climbs a regime's ladder and bisects between the last passing and the
// first failing step.
func (d *driver) measure(ctx context.Context, spec *regime) RegimeResult {
	rr := RegimeResult{Key: spec.key, Title: spec.title, Unit: spec.unit, Measurable: true}
	d.logf("regime %s: %s (time budget %v)", spec.key, spec.title, spec.budget.Round(time.Second))
	// A step starts only if one as long as the last still fits in the regime's share.
	deadline := time.Now().Add(spec.budget)
	var lastStep time.Duration
	overBudget := func() bool {
		if spec.budget <= 0 || time.Now().Add(lastStep).Before(deadline) {
			return false
		}
		rr.OverBudget = true
		return true
	}
	if spec.precheck != nil {
		if why := spec.precheck(ctx); why != "" {
			rr.Measurable, rr.Reason = false, why
			d.logf("regime %s not measurable: %s", spec.key, why)
			return rr
		}
	}
	if !spec.probe {
		if err := d.renderPrompts(ctx, spec.engine, spec.key); err != nil {
			rr.Measurable, rr.Reason = false, "the engine did not start: "+err.Error()
			return rr
		}
	}
	var pass, fail *StepResult
	try := func(n int) *StepResult {
		start := time.Now()
		s := d.step(ctx, spec, n)
		lastStep = time.Since(start)
		rr.Steps = append(rr.Steps, s)
		return &rr.Steps[len(rr.Steps)-1]
	}
	for i, n := range spec.ladder {
		if ctx.Err() != nil {
			return rr
		}
		if i > 0 && overBudget() {
			break
		}
		s := try(n)
		switch {
		case s.Error != "":
			rr.Reason = s.Error
			fail = s
		case !s.Valid:
			rr.Reason = fmt.Sprintf("the generator was the bottleneck at %d %s: %s", n, spec.unit, strings.Join(s.Reasons, "; "))
			fail = s
		case s.Pass:
			pass = s
			continue
		default:
			fail = s
		}
		break
	}
	lo, hi := 0, 0
	if pass != nil {
		lo = pass.N
	}
	if fail != nil && fail.Valid && fail.Error == "" {
		hi = fail.N
		for tries := 0; tries < d.maxBisect && hi-lo > max(spec.resolution, lo/20) && ctx.Err() == nil && !overBudget(); tries++ {
			mid := (lo + hi) / 2 / spec.resolution * spec.resolution
			if mid <= lo || mid >= hi {
				break
			}
			s := try(mid)
			if s.Error != "" || !s.Valid {
				break
			}
			if s.Pass {
				lo, pass = mid, s
			} else {
				hi = mid
			}
		}
	}
	if pass != nil {
		rr.Capacity = pass.N
		rr.AtCapacity = pass
	}
	rr.FirstFailing = hi
	rr.AllPassed = fail == nil && !rr.OverBudget
	d.logf("regime %s: capacity %d %s (first failing %d)", spec.key, rr.Capacity, spec.unit, hi)
	return rr
}

// step runs load n, again when it failed while other processes took the pinned
// cores (at most d.maxRetries times).
func (d *driver) step(ctx context.Context, spec *regime, n int) StepResult {
	var s StepResult
	for attempt := 1; attempt <= 1+d.maxRetries; attempt++ {
		if spec.probe {
			s = d.probeStep(ctx, spec, n, attempt)
		} else {
			s = d.engineStep(ctx, spec, n, attempt)
		}
		d.logf("  %s %d %s: %s", spec.key, n, spec.unit, s.line())
		if s.Pass || !s.Disturbed || s.Error != "" || ctx.Err() != nil || attempt > d.maxRetries {
			return s
		}
		d.logf("  disturbed by other processes (core %d: %.0f%% foreign, %.1f%% waited; core %d: %.0f%% foreign, %.1f%% waited): running it again",
			d.engineCPU, 100*s.Foreign[0], 100*s.Wait[0], d.genCPU, 100*s.Foreign[1], 100*s.Wait[1])
		time.Sleep(10 * time.Second)
	}
	return s
}

// engineStep starts a fresh engine, warms it up and runs the generator at n.
func (d *driver) engineStep(ctx context.Context, spec *regime, n, attempt int) StepResult {
	s := StepResult{N: n, Attempt: attempt, Load1: loadAvg()}
	tag := fmt.Sprintf("%s-%d-%d", spec.key, n, attempt)
	e, err := d.startEngine(ctx, spec.engine, tag)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer e.stop(20 * time.Second)
	if _, err := loadtest.Run(ctx, spec.warm(e)); err != nil {
		s.Error = "warm-up: " + err.Error()
		return s
	}
	time.Sleep(2 * time.Second)
	before, mBefore := d.sampleCores(e.pid()), scrape(e.httpURL)
	rep, err := loadtest.Run(ctx, spec.config(n, e))
	after, mAfter := d.sampleCores(e.pid()), scrape(e.httpURL)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.TickLateP99 = round3(1000 * quantileDelta(mBefore, mAfter, "hotline_media_tick_lateness_seconds", 0.99))
	s.TickBusyP99 = round3(1000 * quantileDelta(mBefore, mAfter, "hotline_media_tick_seconds", 0.99))
	if err := e.stop(20 * time.Second); err != nil {
		s.Notes = append(s.Notes, "engine stop: "+err.Error())
	}
	s.EngineWarnings = countWarnings(e.logPath)
	d.fill(&s, rep, before, after, tag)
	return s
}

// probeStep runs the raw ceiling at n sockets.
func (d *driver) probeStep(ctx context.Context, spec *regime, n, attempt int) StepResult {
	s := StepResult{N: n, Attempt: attempt, Load1: loadAvg()}
	tag := fmt.Sprintf("%s-%d-%d", spec.key, n, attempt)
	ports := filepath.Join(d.work, tag+".ports")
	os.Remove(ports)
	p, err := startPinned(d.engineCPU, d.sched, filepath.Join(d.work, tag+"-echo.log"), d.udpprobe,
		"echo", "-n", strconv.Itoa(n), "-ports-file", ports)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer p.stop(10 * time.Second)
	var targets []netip.AddrPort
	deadline := time.Now().Add(30 * time.Second)
	for targets == nil {
		if t, err := readPorts(ports); err == nil {
			targets = t
		} else if time.Now().After(deadline) || p.exited() {
			s.Error = fmt.Sprintf("udpprobe echo not ready: %s", tail(p.logPath, 5))
			return s
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	before := d.sampleCores(p.pid())
	rep, err := loadtest.RunMedia(ctx, loadtest.MediaConfig{Targets: targets, Hold: d.probeHold, PeerPID: p.pid(),
		Progress: os.Stderr})
	after := d.sampleCores(p.pid())
	if err != nil {
		s.Error = err.Error()
		return s
	}
	d.fill(&s, rep, before, after, tag)
	return s
}

// readPorts reads the ports file udpprobe echo writes once all its sockets are bound.
func readPorts(path string) ([]netip.AddrPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.AddrPort
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil {
			return nil, err
		}
		out = append(out, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p)))
	}
	return out, sc.Err()
}

// coreSample is what the two pinned cores and our processes had done at one moment.
type coreSample struct {
	at                 time.Time
	cores              [2]cpuTimes
	peer, self         float64 // CPU seconds of the engine (or echo) and of this process
	peerWait, selfWait time.Duration
	peerOK, selfOK     bool
}

func (d *driver) sampleCores(pid int) coreSample {
	s := coreSample{at: time.Now()}
	s.cores[0], _ = readCPU(d.engineCPU)
	s.cores[1], _ = readCPU(d.genCPU)
	var err error
	s.peer, _, err = loadtest.ReadProcess(pid)
	s.peerOK = err == nil
	s.self, _, err = loadtest.ReadProcess(0)
	s.selfOK = err == nil
	s.peerWait, _ = runQueueWait(pid)
	s.selfWait, _ = runQueueWait(0)
	return s
}

// countWarnings counts the engine's log lines at warn level or above.
func countWarnings(path string) int {
	b, _ := os.ReadFile(path)
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			n++
		}
	}
	return n
}

// speechPrecheck places three calls through the speech flow: when the engine cannot
// recognize speech yet (no recognizer wired into `hotline serve`), every call takes
// the flow's error route, and the regime is reported as not measurable with the
// engine's own words for why.
func (d *driver) speechPrecheck(ctx context.Context) string {
	o := engineOptions{flowDir: flowsDir, flow: "speech", logLevel: "info"}
	if err := d.renderPrompts(ctx, o, "c-precheck"); err != nil {
		return "the engine did not start with bench/flows/speech.yaml: " + err.Error()
	}
	e, err := d.startEngine(ctx, o, "c-precheck")
	if err != nil {
		return "the engine did not start with bench/flows/speech.yaml: " + err.Error()
	}
	defer e.stop(15 * time.Second)
	time.Sleep(time.Second)
	rep, err := loadtest.Run(ctx, loadtest.Config{Target: e.sipAddr, Concurrency: 3, Rate: 1, Calls: 3,
		Mode: loadtest.ModeIVR, Digits: "-", Phrase: "support", FirstAudioTimeout: 30 * time.Second, Criteria: lenient()})
	if err != nil {
		return "the generator could not run: " + err.Error()
	}
	if rep.Calls.Completed == rep.Calls.Started && rep.Calls.Started > 0 {
		return ""
	}
	_ = e.stop(15 * time.Second)
	var evidence []string
	b, _ := os.ReadFile(e.logPath)
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "recognizer") || strings.Contains(line, "speech") && strings.Contains(line, "level=WARN") {
			evidence = append(evidence, strings.TrimSpace(line))
			if len(evidence) == 2 {
				break
			}
		}
	}
	why := fmt.Sprintf("%d of %d calls through the speech menu completed (failures: %v)", rep.Calls.Completed, rep.Calls.Started, rep.Calls.Failures)
	if len(evidence) > 0 {
		why += "; the engine logged: " + strings.Join(evidence, " | ")
	}
	return why
}
