// Command capacity is the capacity benchmark behind `make bench-capacity`: it finds
// the most concurrent calls one engine core holds while every caller still hears
// what it should (issue 10), measured the way users would measure it (DESIGN.md
// principle 6): the engine binary started as `hotline serve` and pinned to one CPU,
// the load generator (package loadtest, the code behind `hotline loadtest`) in this
// process pinned to the other.
//
// For each regime it raises the load step by step, restarting the engine for every
// step so that memory and CPU figures belong to that step alone, and bisects between
// the last passing and the first failing step. A step passes when at least 99.9 % of
// calls complete their script, the callers' RTP inter-arrival p99 is at most 30 ms,
// loss at most 0.1 % and setup p99 at most 200 ms. A step that fails while other
// processes took CPU from the pinned cores is run again.
//
// Regimes: the raw UDP ceiling (bench/udpprobe: 172-octet packets every 20 ms per
// call, plain Go sockets, nothing else); (a) signalling only (bench/flows/
// signalling.yaml answers and waits, callers send no media); (b) the sample flow's
// IVR: prompts, RFC 4733 digit, a spoken phrase, the engine hangs up; (c) the same
// with speech recognition on every call (bench/flows/speech.yaml); and the peak
// call rates of (a) and of (b)'s full IVR setup; and "sipp": SIPp
// (testdata/sipp/load_caller.xml) and the generator placing the same IVR calls at one
// or two loads, to show that an independent load source sees the same engine.
// Results go to bench/results/<date>-<commit>.md and .json; with -profile the engine
// is profiled at regime (b)'s capacity (Go's pprof over its HTTP listener, and perf
// when installed; bench/PROFILE.md reads such a profile).
//
// Every regime has a share of the run's time budget (-budget, 15 minutes by
// default): once a regime has used its share it starts no further step and reports
// the capacity found so far as a lower bound. -quick is a smoke run of a few
// minutes that proves the whole chain works.
//
// The driver is meant to be started by bench/capacity.sh, which pins it with taskset.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// driver holds the run's settings and state.
type driver struct {
	hotline, udpprobe string
	out, work, ttsDir string
	engineCPU, genCPU int
	sched             sched
	hold, holdA       time.Duration
	probeHold         time.Duration
	maxRetries        int
	maxBisect         int
	budget            time.Duration
	quick             bool
	profileTool       string
	profileRamp       bool
	logf              func(format string, args ...any)
	results           *Results
}

func main() {
	var (
		d                      driver
		regimes, steps, stepsC string
		cpsA, cpsB, probeSteps string
		sippSteps              string
		profile, sippMode      bool
		profileN               int
		sc                     sippConfig
		resultsName            string
	)
	flag.StringVar(&d.hotline, "hotline", "bin/hotline", "engine binary")
	flag.StringVar(&d.udpprobe, "udpprobe", "bin/udpprobe", "probe binary (bench/udpprobe)")
	flag.StringVar(&d.out, "out", "bench/results", "results directory")
	flag.IntVar(&d.engineCPU, "engine-cpu", 0, "CPU the engine (and the probe's echo side) is pinned to")
	flag.IntVar(&d.genCPU, "gen-cpu", 1, "CPU this driver runs on (bench/capacity.sh pins it); recorded in the results")
	flag.IntVar(&d.sched.nice, "nice", -10, "niceness of the engine when not real-time (the driver's own is set by the script)")
	flag.IntVar(&d.sched.rt, "rt", 0, "run the engine (and SIPp, the probe) SCHED_FIFO at this priority, 0 for none (the script sets it for the driver)")
	flag.StringVar(&regimes, "regimes", "ceiling,b,a,c,a-cps,b-cps,sipp", "regimes to measure, in order")
	flag.StringVar(&steps, "steps", "400,800,1200,1600,2000,2500,3000", "concurrency ladder of regimes a and b")
	flag.StringVar(&stepsC, "steps-c", "25,50,100,200,400,800", "concurrency ladder of regime c (a PocketSphinx decode per call)")
	flag.StringVar(&probeSteps, "probe-steps", "1000,1500,2000,2500,3000,4000", "concurrency ladder of the raw ceiling")
	flag.StringVar(&cpsA, "cps-a", "200,400,700,1000,1400,2000", "call-rate ladder of regime a")
	flag.StringVar(&cpsB, "cps-b", "50,100,200,300,400,600", "call-rate ladder of regime b (full IVR setup)")
	flag.StringVar(&sippSteps, "sipp-steps", "50,200", "concurrency of the SIPp comparison's steps")
	flag.IntVar(&sc.callsPer, "sipp-calls-per", 2, "SIPp comparison: calls placed per concurrent call of the step")
	flag.DurationVar(&sc.pause, "sipp-pause", 10*time.Second, "SIPp comparison: how long the SIPp caller listens before pressing 2 (at most 10s, the length of load_listen_pcma.pcap)")
	flag.DurationVar(&d.hold, "hold", 20*time.Second, "how long each concurrency step holds its load once ramped up")
	flag.DurationVar(&d.holdA, "call-hold-a", 15*time.Second, "how long each call of regime a stays up (under the engine's 30 s RTP timeout)")
	flag.DurationVar(&d.probeHold, "probe-hold", 10*time.Second, "how long each step of the raw ceiling runs")
	flag.IntVar(&d.maxRetries, "retries", 1, "reruns of a failed step that other processes disturbed")
	flag.IntVar(&d.maxBisect, "bisect", 2, "at most this many steps between the last passing and the first failing load")
	flag.DurationVar(&d.budget, "budget", 15*time.Minute, "time for the whole run, shared among the regimes")
	flag.BoolVar(&profile, "profile", true, "profile the engine at regime b's capacity (or at -profile-n)")
	flag.IntVar(&profileN, "profile-n", 0, "profile regime b at this many calls (default: its measured capacity)")
	flag.BoolVar(&d.profileRamp, "profile-ramp", false, "profile the ramp-up (call setups arriving on top of the media) instead of the hold")
	flag.StringVar(&d.profileTool, "profile-tool", "pprof", "pprof (Go's profiler over the engine's HTTP listener), perf, or both")
	flag.BoolVar(&d.quick, "quick", false, "a smoke run of a few minutes: tiny ladders and holds")
	flag.StringVar(&resultsName, "name", "", "results file name without extension (default <date>-<commit>)")
	flag.BoolVar(&sippMode, "sipp", false, "only the SIPp comparison (-regimes sipp)")
	flag.Parse()
	if sippMode {
		regimes = "sipp"
	}

	d.logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s capacity: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	if err := d.run(regimes, steps, stepsC, probeSteps, cpsA, cpsB, sippSteps, profile, profileN, resultsName, sc); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(1)
	}
}

func (d *driver) run(regimes, steps, stepsC, probeSteps, cpsA, cpsB, sippSteps string, profile bool, profileN int, name string, sc sippConfig) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, bin := range []string{d.hotline, d.udpprobe} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%s: %w (bench/capacity.sh builds it)", bin, err)
		}
	}
	if err := os.MkdirAll(d.out, 0o755); err != nil {
		return err
	}
	sha, dirty := commit()
	if name == "" {
		name = time.Now().Format("2006-01-02") + "-" + sha
		if regimes == "sipp" {
			name += "-sipp"
		}
	}
	// Logs, engine configurations, every step's report and perf data go to a work
	// directory outside the tree; the results keep the summary and, per regime, the
	// HTML report of the step at capacity.
	d.work = filepath.Join(os.TempDir(), "hotline-bench", name)
	if err := os.MkdirAll(d.work, 0o755); err != nil {
		return err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	d.ttsDir = filepath.Join(cache, "hotline-bench", "tts")
	if err := os.MkdirAll(d.ttsDir, 0o755); err != nil {
		return err
	}
	d.results = &Results{
		Name: name, Date: time.Now().UTC(), Commit: sha, Dirty: dirty, Engine: engineBuild(d.hotline), Machine: describeMachine(),
		EngineCPU: d.engineCPU, GeneratorCPU: d.genCPU, Scheduling: d.sched.String(), LoadAtStart: loadAvg(),
		Criteria: "completion >= 99.9%, RTP inter-arrival p99 <= 30 ms, loss <= 0.1%, setup p99 <= 200 ms",
	}
	d.logf("results %s; machine %+v; load average %.2f", filepath.Join(d.out, name), d.results.Machine, d.results.LoadAtStart)
	if d.quick {
		steps, stepsC, probeSteps, cpsA, cpsB, sippSteps = "20,40", "10,20", "50,100", "20,40", "10,20", "10"
		d.hold, d.holdA, d.probeHold = 5*time.Second, 5*time.Second, 5*time.Second
		sc.callsPer, d.maxBisect, d.maxRetries = 1, 0, 0
	}
	ladder, err := ints(steps)
	if err != nil {
		return err
	}
	sc.steps = mustInts(sippSteps)
	specs := map[string]*regime{}
	for _, s := range d.regimes(ladder, mustInts(stepsC), mustInts(probeSteps), mustInts(cpsA), mustInts(cpsB)) {
		specs[s.key] = s
	}
	var keys []string // none: only the profile at -profile-n
	for key := range strings.SplitSeq(regimes, ",") {
		key = strings.TrimSpace(key)
		if key == "" {
			continue
		}
		if _, ok := specs[key]; !ok && key != "sipp" {
			return fmt.Errorf("unknown regime %q (want ceiling, a, b, c, a-cps, b-cps, sipp)", key)
		}
		keys = append(keys, key)
	}
	budgets := shareBudget(d.budget, keys, profile)
	for _, key := range keys {
		if ctx.Err() != nil {
			break
		}
		if key == "sipp" {
			d.results.SIPp = d.sippCompare(ctx, sc, time.Now().Add(budgets[key]))
			if err := d.results.write(d.out); err != nil {
				return err
			}
			continue
		}
		spec := specs[key]
		spec.budget = budgets[key]
		rr := d.measure(ctx, spec)
		d.results.Regimes = append(d.results.Regimes, rr)
		if err := d.results.write(d.out); err != nil { // after every regime: a crash keeps what was measured
			return err
		}
	}
	if profile && ctx.Err() == nil {
		n := profileN
		if b := d.results.regime("b"); n == 0 && b != nil {
			n = b.Capacity
		}
		if n > 0 {
			d.results.Profile = d.profile(ctx, specs["b"], n)
		}
	}
	d.results.LoadAtEnd = loadAvg()
	d.results.finish()
	d.keepCapacityReports()
	if err := d.results.write(d.out); err != nil {
		return err
	}
	d.logf("wrote %s.md and .json", filepath.Join(d.out, name))
	return ctx.Err()
}

// keepCapacityReports copies the HTML report of each regime's step at capacity next
// to the results, where it outlives the work directory.
func (d *driver) keepCapacityReports() {
	for i := range d.results.Regimes {
		rr := &d.results.Regimes[i]
		if rr.AtCapacity == nil || rr.AtCapacity.Report == "" {
			continue
		}
		src := strings.TrimSuffix(rr.AtCapacity.Report, ".json") + ".html"
		b, err := os.ReadFile(src)
		if err != nil {
			continue
		}
		dst := fmt.Sprintf("%s-%s.html", d.results.Name, rr.Key)
		if os.WriteFile(filepath.Join(d.out, dst), b, 0o644) == nil {
			rr.CapacityReport = dst
		}
	}
}

// Shares of the time budget, in parts of the whole: the regimes whose steps last
// longest (the IVR calls of b, c and the SIPp comparison) get the most.
var budgetWeights = map[string]float64{
	"ceiling": 1.25, "b": 3.25, "a": 2, "c": 2, "a-cps": 1, "b-cps": 1, "sipp": 3.5, "profile": 1,
}

// shareBudget splits total among the regimes to run (and the profile).
func shareBudget(total time.Duration, keys []string, profile bool) map[string]time.Duration {
	sum := 0.0
	for _, k := range keys {
		sum += budgetWeights[k]
	}
	if profile {
		sum += budgetWeights["profile"]
	}
	out := map[string]time.Duration{}
	for _, k := range keys {
		out[k] = time.Duration(float64(total) * budgetWeights[k] / sum)
	}
	return out
}

// ints parses a comma-separated list of positive integers.
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad step %q in %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func mustInts(s string) []int {
	v, err := ints(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(2)
	}
	return v
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
