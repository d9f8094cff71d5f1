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
// call rates of (a) and of (b)'s full IVR setup. Results go to
// bench/results/<date>-<commit>.md and .json; with -profile the engine is profiled
// with perf at regime (b)'s capacity.
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
	quick             bool
	logf              func(format string, args ...any)
	results           *Results
}

func main() {
	var (
		d                      driver
		regimes, steps         string
		cpsA, cpsB, probeSteps string
		profile, sippMode      bool
		sippN, sippCalls       int
		sippRate               float64
		sippPause              time.Duration
		resultsName            string
	)
	flag.StringVar(&d.hotline, "hotline", "bin/hotline", "engine binary")
	flag.StringVar(&d.udpprobe, "udpprobe", "bin/udpprobe", "probe binary (bench/udpprobe)")
	flag.StringVar(&d.out, "out", "bench/results", "results directory")
	flag.IntVar(&d.engineCPU, "engine-cpu", 0, "CPU the engine (and the probe's echo side) is pinned to")
	flag.IntVar(&d.genCPU, "gen-cpu", 1, "CPU this driver runs on (bench/capacity.sh pins it); recorded in the results")
	flag.IntVar(&d.sched.nice, "nice", -10, "niceness of the engine when not real-time (the driver's own is set by the script)")
	flag.IntVar(&d.sched.rt, "rt", 0, "run the engine (and SIPp, the probe) SCHED_FIFO at this priority, 0 for none (the script sets it for the driver)")
	flag.StringVar(&regimes, "regimes", "ceiling,b,a,a-cps,b-cps,c", "regimes to measure, in order")
	flag.StringVar(&steps, "steps", "100,200,400,800,1200,1600,2000,2500,3000,4000", "concurrency ladder of regimes a, b and c")
	flag.StringVar(&probeSteps, "probe-steps", "200,400,800,1200,1600,2000,2500,3000,4000,5000", "concurrency ladder of the raw ceiling")
	flag.StringVar(&cpsA, "cps-a", "100,200,400,700,1000,1400,2000,2800", "call-rate ladder of regime a")
	flag.StringVar(&cpsB, "cps-b", "50,100,200,300,400,600,800,1000", "call-rate ladder of regime b (full IVR setup)")
	flag.DurationVar(&d.hold, "hold", 40*time.Second, "how long each concurrency step holds its load once ramped up")
	flag.DurationVar(&d.holdA, "call-hold-a", 20*time.Second, "how long each call of regime a stays up (under the engine's 30 s RTP timeout)")
	flag.DurationVar(&d.probeHold, "probe-hold", 20*time.Second, "how long each step of the raw ceiling runs")
	flag.IntVar(&d.maxRetries, "retries", 2, "reruns of a failed step that other processes disturbed")
	flag.BoolVar(&profile, "profile", true, "profile the engine with perf at regime b's capacity")
	flag.BoolVar(&d.quick, "quick", false, "a short smoke run: tiny ladders and holds")
	flag.StringVar(&resultsName, "name", "", "results file name without extension (default <date>-<commit>)")
	flag.BoolVar(&sippMode, "sipp", false, "compare SIPp with the load generator instead (make bench-sipp)")
	flag.IntVar(&sippN, "sipp-n", 200, "SIPp comparison: concurrent calls")
	flag.Float64Var(&sippRate, "sipp-rate", 20, "SIPp comparison: calls per second")
	flag.IntVar(&sippCalls, "sipp-calls", 600, "SIPp comparison: calls in all")
	flag.DurationVar(&sippPause, "sipp-pause", 11*time.Second, "SIPp comparison: how long the SIPp caller listens before pressing 2")
	flag.Parse()

	d.logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s capacity: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	if err := d.run(regimes, steps, probeSteps, cpsA, cpsB, profile, resultsName,
		sippMode, sippConfig{n: sippN, rate: sippRate, calls: sippCalls, pause: sippPause}); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(1)
	}
}

func (d *driver) run(regimes, steps, probeSteps, cpsA, cpsB string, profile bool, name string, sippMode bool, sc sippConfig) error {
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
		if sippMode {
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
		Name: name, Date: time.Now().UTC(), Commit: sha, Dirty: dirty, Machine: describeMachine(),
		EngineCPU: d.engineCPU, GeneratorCPU: d.genCPU, Scheduling: d.sched.String(), LoadAtStart: loadAvg(),
		Criteria: "completion >= 99.9%, RTP inter-arrival p99 <= 30 ms, loss <= 0.1%, setup p99 <= 200 ms",
	}
	d.logf("results %s; machine %+v; load average %.2f", filepath.Join(d.out, name), d.results.Machine, d.results.LoadAtStart)
	if sippMode {
		return d.sippCompare(ctx, sc)
	}
	if d.quick {
		steps, probeSteps, cpsA, cpsB = "20,40", "50,100", "20,40", "10,20"
		d.hold, d.holdA, d.probeHold = 10*time.Second, 5*time.Second, 5*time.Second
	}
	ladder, err := ints(steps)
	if err != nil {
		return err
	}
	specs := map[string]*regime{}
	for _, s := range d.regimes(ladder, mustInts(probeSteps), mustInts(cpsA), mustInts(cpsB)) {
		specs[s.key] = s
	}
	for _, key := range strings.Split(regimes, ",") {
		spec, ok := specs[strings.TrimSpace(key)]
		if !ok {
			return fmt.Errorf("unknown regime %q (want ceiling, a, b, c, a-cps, b-cps)", key)
		}
		if ctx.Err() != nil {
			break
		}
		rr := d.measure(ctx, spec)
		d.results.Regimes = append(d.results.Regimes, rr)
		if err := d.results.write(d.out); err != nil { // after every regime: a crash keeps what was measured
			return err
		}
	}
	if profile && ctx.Err() == nil {
		if b := d.results.regime("b"); b != nil && b.Capacity > 0 {
			d.results.Profile = d.profile(ctx, specs["b"], b.Capacity)
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
