package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/loadtest"
)

// sippConfig is the load both tools place in the comparison.
type sippConfig struct {
	n     int
	rate  float64
	calls int
	pause time.Duration
}

// SIPpRun compares SIPp (an independent second load source) with the generator at
// the same load on the same engine setup: both should see the same engine.
type SIPpRun struct {
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	Calls       int     `json:"calls"`
	Scenario    string  `json:"scenario"`
	SIPp        Side    `json:"sipp"`
	Generator   Side    `json:"generator"`
	Error       string  `json:"error,omitempty"`
}

// Side is what one tool's run showed. Setup latency comes from the tool itself;
// the engine figures from the same sampling of the engine for both (its /proc
// entry, and hotline_calls_active from its /metrics for the call-minutes).
type Side struct {
	Tool            string  `json:"tool"`
	Completed       int     `json:"completed"`
	Failed          int     `json:"failed"`
	SetupP50        float64 `json:"setup_p50_ms"`
	SetupP99        float64 `json:"setup_p99_ms"`
	EngineCPUMean   float64 `json:"engine_cpu_mean"`
	CPUPerCallMin   float64 `json:"engine_cpu_seconds_per_call_minute"`
	EngineRSSPeak   int64   `json:"engine_rss_peak_bytes"`
	PeakActiveCalls float64 `json:"engine_peak_active_calls"`
	ToolCPUMean     float64 `json:"tool_cpu_mean"`
	Seconds         float64 `json:"seconds"`
	Notes           string  `json:"notes,omitempty"`
}

const sippScenario = "testdata/sipp/uac_loadtest.xml"

// sippCompare runs SIPp and then the generator against fresh engines with the
// sample flow, each pinned as in the capacity benchmark.
func (d *driver) sippCompare(ctx context.Context, sc sippConfig) error {
	run := &SIPpRun{Concurrency: sc.n, Rate: sc.rate, Calls: sc.calls, Scenario: sippScenario}
	d.results.SIPp = run
	if _, err := exec.LookPath("sipp"); err != nil {
		run.Error = "sipp not found (apt-get install sip-tester)"
		return d.results.write(d.out)
	}
	if err := d.renderPrompts(ctx, engineOptions{}, "sipp"); err != nil {
		return err
	}
	var err error
	if run.SIPp, err = d.sippSide(ctx, sc); err != nil {
		run.Error = err.Error()
	}
	d.logf("SIPp: %+v", run.SIPp)
	if run.Generator, err = d.generatorSide(ctx, sc); err != nil {
		run.Error = strings.TrimSpace(run.Error + "; " + err.Error())
	}
	d.logf("generator: %+v", run.Generator)
	d.results.LoadAtEnd = loadAvg()
	return d.results.write(d.out)
}

// engineWatch samples the engine every second: CPU and memory from /proc, calls up
// from its metrics.
type engineWatch struct {
	mu        sync.Mutex
	cpu       float64 // CPU seconds while calls were up
	callMin   float64
	cpuSum    float64
	n         int
	rssPeak   int64
	peakCalls float64
	toolCPU   float64
	toolN     int
	stop      chan struct{}
	done      chan struct{}
}

func watchEngine(e *engine, toolPID func() int) *engineWatch {
	w := &engineWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		prevCPU, _, _ := loadtest.ReadProcess(e.pid())
		prevTool, prevCalls := -1.0, 0.0
		prevAt := time.Now()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			now := time.Now()
			dt := now.Sub(prevAt).Seconds()
			cpu, rss, err := loadtest.ReadProcess(e.pid())
			if err != nil {
				return
			}
			calls := activeCalls(e.httpURL)
			w.mu.Lock()
			w.rssPeak = max(w.rssPeak, rss)
			w.peakCalls = max(w.peakCalls, calls)
			if calls > 0 || prevCalls > 0 {
				w.cpu += cpu - prevCPU
				w.callMin += (calls + prevCalls) / 2 * dt / 60
				w.cpuSum += (cpu - prevCPU) / dt
				w.n++
			}
			if pid := toolPID(); pid > 0 {
				if tc, _, err := loadtest.ReadProcess(pid); err == nil {
					if prevTool >= 0 && (calls > 0 || prevCalls > 0) {
						w.toolCPU += (tc - prevTool) / dt
						w.toolN++
					}
					prevTool = tc
				}
			}
			w.mu.Unlock()
			prevCPU, prevCalls, prevAt = cpu, calls, now
		}
	}()
	return w
}

func (w *engineWatch) finish(s *Side) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n > 0 {
		s.EngineCPUMean = round3(w.cpuSum / float64(w.n))
	}
	if w.callMin > 0 {
		s.CPUPerCallMin = round3(w.cpu / w.callMin)
	}
	if w.toolN > 0 {
		s.ToolCPUMean = round3(w.toolCPU / float64(w.toolN))
	}
	s.EngineRSSPeak, s.PeakActiveCalls = w.rssPeak, w.peakCalls
}

// activeCalls reads hotline_calls_active from the engine's metrics (0 if absent).
func activeCalls(base string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "hotline_calls_active "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

func (d *driver) sippSide(ctx context.Context, sc sippConfig) (Side, error) {
	side := Side{Tool: "SIPp"}
	e, err := d.startEngine(ctx, engineOptions{}, "sipp-engine")
	if err != nil {
		return side, err
	}
	defer e.stop(20 * time.Second)
	dir, err := filepath.Abs(filepath.Join(d.work, "sipp"))
	if err != nil {
		return side, err
	}
	_ = os.MkdirAll(dir, 0o755)
	scen, err := filepath.Abs(sippScenario)
	if err != nil {
		return side, err
	}
	sipPort, _ := freePort()
	mediaPort, _ := freePort()
	args := append([]string{"-c", strconv.Itoa(d.genCPU)}, d.sched.wrap("sipp", e.sipAddr,
		"-sf", scen, "-s", "hotline", "-i", "127.0.0.1", "-p", strconv.Itoa(sipPort), "-mp", strconv.Itoa(mediaPort),
		"-r", strconv.FormatFloat(sc.rate, 'f', -1, 64), "-l", strconv.Itoa(sc.n), "-m", strconv.Itoa(sc.calls),
		"-d", strconv.Itoa(int(sc.pause/time.Millisecond)), "-trace_rtt", "-rtt_freq", "1",
		"-trace_stat", "-fd", "1", "-trace_err", "-nostdin", "-timeout", "600", "-timeout_error")...)
	cmd := exec.CommandContext(ctx, "taskset", args...)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "sipp.out"))
	if err != nil {
		return side, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	var pidMu sync.Mutex
	pid := 0
	w := watchEngine(e, func() int { pidMu.Lock(); defer pidMu.Unlock(); return pid })
	start := time.Now()
	if err := cmd.Start(); err != nil {
		w.finish(&side)
		return side, err
	}
	pidMu.Lock()
	pid = cmd.Process.Pid
	pidMu.Unlock()
	runErr := cmd.Wait()
	side.Seconds = round3(time.Since(start).Seconds())
	w.finish(&side)
	if runErr != nil {
		side.Notes = "sipp exit: " + runErr.Error() // 1 when some calls failed
	}
	rtts, err := readRTT(dir)
	if err != nil {
		return side, fmt.Errorf("sipp rtt trace: %w", err)
	}
	side.SetupP50, side.SetupP99 = pct(rtts, 0.5), pct(rtts, 0.99)
	side.Completed, side.Failed = readStat(dir)
	return side, nil
}

func (d *driver) generatorSide(ctx context.Context, sc sippConfig) (Side, error) {
	side := Side{Tool: "hotline loadtest"}
	e, err := d.startEngine(ctx, engineOptions{}, "sipp-generator-engine")
	if err != nil {
		return side, err
	}
	defer e.stop(20 * time.Second)
	w := watchEngine(e, func() int { return os.Getpid() })
	start := time.Now()
	rep, err := loadtest.Run(ctx, loadtest.Config{
		Target: e.sipAddr, Concurrency: sc.n, Rate: sc.rate, Calls: sc.calls, Codec: "PCMA",
		Mode: loadtest.ModeIVR, Digits: "2", Phrase: "check my balance", EnginePID: e.pid(),
		Progress: os.Stderr, ProgressInterval: 5 * time.Second,
	})
	side.Seconds = round3(time.Since(start).Seconds())
	w.finish(&side)
	if err != nil {
		return side, err
	}
	side.Completed, side.Failed = rep.Calls.Completed, rep.Calls.Failed
	side.SetupP50, side.SetupP99 = rep.Setup.P50, rep.Setup.P99
	side.Notes = fmt.Sprintf("RTP gap p99 %.1f ms, loss %.3f%%, first audio p99 %.0f ms", rep.RTP.GapP99Ms, 100*rep.RTP.LossRatio, rep.FirstAudio.P99)
	if f, err := os.Create(filepath.Join(d.work, "sipp-generator.json")); err == nil {
		_ = rep.WriteJSON(f)
		f.Close()
	}
	return side, nil
}

// readRTT reads sipp's -trace_rtt file: "date_ms;response_time_ms;rtd_no;" lines.
func readRTT(dir string) ([]float64, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	if len(files) == 0 {
		return nil, fmt.Errorf("no *_rtt.csv in %s", dir)
	}
	var out []float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for line := range strings.Lines(string(b)) {
			fields := strings.Split(strings.TrimSpace(line), ";")
			if len(fields) < 2 {
				continue
			}
			if v, err := strconv.ParseFloat(fields[1], 64); err == nil {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// readStat reads the last line of sipp's -trace_stat file for the call counters.
func readStat(dir string) (completed, failed int) {
	files, _ := filepath.Glob(filepath.Join(dir, "*_.csv"))
	if len(files) == 0 {
		return -1, -1
	}
	f, err := os.Open(files[0])
	if err != nil {
		return -1, -1
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return -1, -1
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	get := func(name string) int {
		i := slices.Index(head, name)
		if i < 0 || i >= len(last) {
			return -1
		}
		v, _ := strconv.Atoi(strings.TrimSpace(last[i]))
		return v
	}
	return get("SuccessfulCall(C)"), get("FailedCall(C)")
}

// pct is the nearest-rank percentile of xs.
func pct(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return round3(s[max(0, min(i, len(s)-1))])
}

func (r *SIPpRun) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "## SIPp and hotline loadtest on the same load\n\n")
	fmt.Fprintf(b, "%d concurrent calls at most, %.0f calls/s, %d calls, the sample flow; SIPp scenario %s (A-law speech pcap, RFC 4733 key 2 pcap, waits for the engine's BYE); the generator with the same codec and script (key 2, a spoken phrase). Each against a fresh engine pinned to CPU 0; the tool pinned to CPU 1.\n\n",
		r.Concurrency, r.Rate, r.Calls, r.Scenario)
	if r.Error != "" {
		fmt.Fprintf(b, "Error: %s\n\n", r.Error)
	}
	b.WriteString("| figure | SIPp | hotline loadtest |\n|---|---|---|\n")
	row := func(name, format string, a, g any) {
		fmt.Fprintf(b, "| %s | "+format+" | "+format+" |\n", name, a, g)
	}
	s, g := r.SIPp, r.Generator
	row("calls completed", "%d", s.Completed, g.Completed)
	row("calls failed", "%d", s.Failed, g.Failed)
	row("setup p50 (ms, the tool's own timing)", "%.1f", s.SetupP50, g.SetupP50)
	row("setup p99 (ms)", "%.1f", s.SetupP99, g.SetupP99)
	row("engine CPU mean while calls were up (share of a core)", "%.3f", s.EngineCPUMean, g.EngineCPUMean)
	row("engine CPU-s per call-minute", "%.3f", s.CPUPerCallMin, g.CPUPerCallMin)
	row("engine peak calls up (its metrics)", "%.0f", s.PeakActiveCalls, g.PeakActiveCalls)
	row("engine RSS peak", "%s", mib(s.EngineRSSPeak), mib(g.EngineRSSPeak))
	row("tool CPU mean (share of a core)", "%.3f", s.ToolCPUMean, g.ToolCPUMean)
	row("run time (s)", "%.0f", s.Seconds, g.Seconds)
	row("notes", "%s", s.Notes, g.Notes)
}
