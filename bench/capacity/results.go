package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/loadtest"
)

// Results is everything one benchmark run measured; it is written as Markdown for
// people and JSON for tools.
type Results struct {
	Name   string    `json:"name"`
	Date   time.Time `json:"date"`
	Commit string    `json:"commit"`
	Dirty  bool      `json:"dirty"`
	// Engine is the measured binary's path and the commit it was built from (its
	// Go build information): with HOTLINE=<binary> it is not the tree's commit.
	Engine       string         `json:"engine"`
	Machine      Machine        `json:"machine"`
	EngineCPU    int            `json:"engine_cpu"`
	GeneratorCPU int            `json:"generator_cpu"`
	Scheduling   string         `json:"scheduling"`
	LoadAtStart  float64        `json:"load_average_start"`
	LoadAtEnd    float64        `json:"load_average_end"`
	Criteria     string         `json:"criteria"`
	Regimes      []RegimeResult `json:"regimes"`
	// RatioToCeiling is regime (b)'s capacity over the raw ceiling of the same run.
	RatioToCeiling float64         `json:"ratio_b_to_ceiling"`
	Profile        *ProfileRun     `json:"profile,omitempty"`
	SIPp           *SIPpComparison `json:"sipp,omitempty"`
}

// RegimeResult is one regime's ladder and its outcome.
type RegimeResult struct {
	Key        string `json:"key"`
	Title      string `json:"title"`
	Unit       string `json:"unit"`
	Measurable bool   `json:"measurable"`
	Reason     string `json:"reason,omitempty"`
	// Capacity is the highest load at which every criterion held; FirstFailing the
	// lowest at which one did not (0 if none failed); AllPassed says the ladder
	// ended without a failure, so the capacity is a lower bound.
	Capacity     int         `json:"capacity"`
	FirstFailing int         `json:"first_failing"`
	AllPassed    bool        `json:"all_passed"`
	AtCapacity   *StepResult `json:"at_capacity,omitempty"`
	// OverBudget says the regime used its share of the run's time before its
	// ladder or bisection ended: the capacity is a lower bound.
	OverBudget bool `json:"over_budget,omitempty"`
	// CapacityReport is the HTML report of the step at capacity, beside the results.
	CapacityReport string       `json:"capacity_report,omitempty"`
	Steps          []StepResult `json:"steps"`
}

// StepResult is one step: load N, its verdict and the figures behind it.
type StepResult struct {
	N       int      `json:"n"`
	Attempt int      `json:"attempt"`
	Pass    bool     `json:"pass"`
	Valid   bool     `json:"valid"`
	Reasons []string `json:"reasons,omitempty"`
	Error   string   `json:"error,omitempty"`
	Notes   []string `json:"notes,omitempty"`

	Started      int     `json:"calls_started"`
	Completion   float64 `json:"completion"`
	PeakActive   int64   `json:"peak_active"`
	AnsweredRate float64 `json:"answered_per_second"`
	SetupP50     float64 `json:"setup_p50_ms"`
	SetupP99     float64 `json:"setup_p99_ms"`
	FirstAudio99 float64 `json:"first_audio_p99_ms"`
	Response99   float64 `json:"response_p99_ms"`
	GapP50       float64 `json:"gap_p50_ms"`
	GapP99       float64 `json:"gap_p99_ms"`
	GapMax       float64 `json:"gap_max_ms"`
	Loss         float64 `json:"loss_ratio"`
	JitterMean   float64 `json:"jitter_mean_ms"`

	EngineCPUMean   float64 `json:"engine_cpu_mean"`
	EngineCPUMax    float64 `json:"engine_cpu_max"`
	CPUPerCallMin   float64 `json:"engine_cpu_seconds_per_call_minute"`
	EngineRSSPeak   int64   `json:"engine_rss_peak_bytes"`
	MemoryPerCall   int64   `json:"engine_memory_per_call_bytes"`
	GeneratorCPUMax float64 `json:"generator_cpu_max"`
	EngineWarnings  int     `json:"engine_warnings"`
	// TickLateP99 and TickBusyP99 are the engine's own view of its media clock over
	// the step (hotline_media_tick_lateness_seconds, hotline_media_tick_seconds): how
	// late its shards woke and how long a tick took. A late wake-up delays every call
	// of the shard at once; it tells a scheduling stall from a shard with too much work.
	TickLateP99 float64 `json:"tick_lateness_p99_ms"`
	TickBusyP99 float64 `json:"tick_p99_ms"`

	// Cores are what the engine's and the generator's CPUs did over the step;
	// Foreign is the share other processes took from each (busy minus ours).
	Cores   [2]cpuShare `json:"cores"`
	Foreign [2]float64  `json:"foreign"`
	// Wait is the share of the step the engine's and the generator's threads spent
	// runnable but waiting for a CPU.
	Wait      [2]float64 `json:"run_queue_wait"`
	Disturbed bool       `json:"disturbed"`
	Load1     float64    `json:"load_average"`
	Report    string     `json:"report"`
}

// A step was disturbed when other processes used a pinned core while our threads on
// it waited for the CPU; a failed step that was is run again.
const (
	foreignShare = 0.10
	waitShare    = 0.05
)

// fill copies the report's figures into s, saves the report, and works out how much
// of the pinned cores other processes used.
func (d *driver) fill(s *StepResult, rep *loadtest.Report, before, after coreSample, tag string) {
	s.Pass, s.Valid, s.Reasons = rep.Verdict.Pass, rep.Verdict.Valid, rep.Verdict.Reasons
	s.Started, s.Completion, s.PeakActive = rep.Calls.Started, round3(rep.Calls.Completion), rep.Calls.PeakActive
	s.AnsweredRate = rep.Calls.AnsweredPerSecond
	s.SetupP50, s.SetupP99 = rep.Setup.P50, rep.Setup.P99
	s.FirstAudio99, s.Response99 = rep.FirstAudio.P99, rep.Response.P99
	s.GapP50, s.GapP99, s.GapMax = rep.RTP.GapP50Ms, rep.RTP.GapP99Ms, rep.RTP.GapMaxMs
	s.Loss, s.JitterMean = rep.RTP.LossRatio, rep.RTP.Jitter.Mean
	if e := rep.Engine; e != nil {
		s.EngineCPUMean, s.EngineCPUMax, s.CPUPerCallMin = e.CPUMean, e.CPUMax, e.CPUSecondsPerCallMinute
		s.EngineRSSPeak, s.MemoryPerCall = e.RSSPeak, e.MemoryPerCall
	}
	s.GeneratorCPUMax = rep.Generator.CPUMax
	dt := after.at.Sub(before.at).Seconds()
	s.Cores[0], s.Cores[1] = share(before.cores[0], after.cores[0]), share(before.cores[1], after.cores[1])
	if dt > 0 && before.peerOK && after.peerOK && before.selfOK && after.selfOK {
		s.Foreign[0] = round3(max(0, s.Cores[0].Busy-s.Cores[0].Softirq-(after.peer-before.peer)/dt))
		s.Foreign[1] = round3(max(0, s.Cores[1].Busy-s.Cores[1].Softirq-(after.self-before.self)/dt))
		s.Wait[0] = round3(float64(after.peerWait-before.peerWait) / float64(time.Second) / dt)
		s.Wait[1] = round3(float64(after.selfWait-before.selfWait) / float64(time.Second) / dt)
		s.Disturbed = s.Foreign[0] > foreignShare && s.Wait[0] > waitShare ||
			s.Foreign[1] > foreignShare && s.Wait[1] > waitShare
	}
	s.Report = filepath.Join(d.work, tag+".json")
	if f, err := os.Create(filepath.Join(d.work, tag+".json")); err == nil {
		_ = rep.WriteJSON(f)
		f.Close()
	}
	if f, err := os.Create(filepath.Join(d.work, tag+".html")); err == nil {
		_ = rep.WriteHTML(f)
		f.Close()
	}
}

// line is the step's one-line summary for the driver's log.
func (s *StepResult) line() string {
	if s.Error != "" {
		return "error: " + s.Error
	}
	v := "PASS"
	if !s.Pass {
		v = "FAIL"
	}
	if !s.Valid {
		v += " (generator-bound)"
	}
	out := fmt.Sprintf("%s completion %.2f%% setup p99 %.1fms gap p99 %.1fms max %.0fms loss %.3f%% engine cpu %.0f%% (max %.0f%%) gen cpu max %.0f%% foreign %.0f%%/%.0f%% wait %.1f%%/%.1f%%",
		v, 100*s.Completion, s.SetupP99, s.GapP99, s.GapMax, 100*s.Loss, 100*s.EngineCPUMean, 100*s.EngineCPUMax,
		100*s.GeneratorCPUMax, 100*s.Foreign[0], 100*s.Foreign[1], 100*s.Wait[0], 100*s.Wait[1])
	if len(s.Reasons) > 0 {
		out += " [" + strings.Join(s.Reasons, "; ") + "]"
	}
	return out
}

func (r *Results) regime(key string) *RegimeResult {
	for i := range r.Regimes {
		if r.Regimes[i].Key == key {
			return &r.Regimes[i]
		}
	}
	return nil
}

// finish computes the figures that combine regimes.
func (r *Results) finish() {
	c, b := r.regime("ceiling"), r.regime("b")
	if c != nil && b != nil && c.Capacity > 0 {
		r.RatioToCeiling = round3(float64(b.Capacity) / float64(c.Capacity))
	}
}

// write saves <name>.json and <name>.md in dir.
func (r *Results) write(dir string) error {
	r.finish()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, r.Name+".json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, r.Name+".md"), []byte(r.markdown()), 0o644)
}

func (r *Results) markdown() string {
	var b strings.Builder
	dirty := ""
	if r.Dirty {
		dirty = " with uncommitted changes"
	}
	fmt.Fprintf(&b, "# hotline capacity benchmark %s\n\n", r.Name)
	fmt.Fprintf(&b, "- date: %s; commit %s%s\n", r.Date.Format(time.RFC3339), r.Commit, dirty)
	if r.Engine != "" {
		fmt.Fprintf(&b, "- engine: %s\n", r.Engine)
	}
	fmt.Fprintf(&b, "- machine: %d × %s, kernel %s, %s RAM, %s\n", r.Machine.Nproc, r.Machine.CPUModel, r.Machine.Kernel, r.Machine.MemTotal, r.Machine.GoVersion)
	fmt.Fprintf(&b, "- engine pinned to CPU %d, generator (this driver) to CPU %d, with taskset; both scheduled %s; all traffic over loopback\n", r.EngineCPU, r.GeneratorCPU, r.Scheduling)
	fmt.Fprintf(&b, "- load average: %.2f at start, %.2f at end. Other engineers' processes share this machine: every step records the CPU they took from the pinned cores (foreign) and how long the engine's and the generator's threads waited for a CPU (run-queue wait); a failed step during which others used the engine's core while it waited was run again.\n", r.LoadAtStart, r.LoadAtEnd)
	fmt.Fprintf(&b, "- pass criteria of every step: %s\n\n", r.Criteria)

	b.WriteString("## Summary\n\n")
	b.WriteString("| regime | capacity | first failing | engine CPU at capacity | CPU-s per call-minute | memory per call | setup p99 | RTP gap p99 / max | loss |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, rr := range r.Regimes {
		if !rr.Measurable {
			fmt.Fprintf(&b, "| %s | not measurable | | | | | | | |\n", rr.Title)
			continue
		}
		capText := fmt.Sprintf("%d %s", rr.Capacity, rr.Unit)
		switch {
		case rr.AllPassed:
			capText = "≥ " + capText + " (every step passed)"
		case rr.OverBudget && rr.FirstFailing == 0:
			capText = "≥ " + capText + " (time budget used)"
		case rr.OverBudget:
			capText += " (bisection cut by the time budget)"
		}
		ff := "-"
		if rr.FirstFailing > 0 {
			ff = fmt.Sprintf("%d", rr.FirstFailing)
		}
		if s := rr.AtCapacity; s != nil {
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f%% (max %.0f%%) | %.3f | %s | %.1f ms | %.1f / %.0f ms | %.3f%% |\n",
				rr.Title, capText, ff, 100*s.EngineCPUMean, 100*s.EngineCPUMax, s.CPUPerCallMin, kib(s.MemoryPerCall),
				s.SetupP99, s.GapP99, s.GapMax, 100*s.Loss)
		} else {
			fmt.Fprintf(&b, "| %s | %s | %s | | | | | | |\n", rr.Title, capText, ff)
		}
	}
	if r.RatioToCeiling > 0 {
		fmt.Fprintf(&b, "\nRegime (b) holds **%.0f %%** of the raw UDP ceiling measured in the same run.\n", 100*r.RatioToCeiling)
	}
	for _, rr := range r.Regimes {
		if !rr.Measurable {
			fmt.Fprintf(&b, "\n**%s: not measurable.** %s\n", rr.Title, rr.Reason)
		} else if rr.Reason != "" {
			fmt.Fprintf(&b, "\n%s: %s\n", rr.Title, rr.Reason)
		}
	}
	if r.SIPp != nil {
		r.SIPp.markdown(&b)
	}
	if p := r.Profile; p != nil {
		p.markdown(&b)
	}
	b.WriteString("\n## Every step\n")
	for _, rr := range r.Regimes {
		if len(rr.Steps) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", rr.Title)
		if rr.CapacityReport != "" {
			fmt.Fprintf(&b, "Report of the step at capacity, with plots: [%s](%s). Every step's report was written to %s.\n\n", rr.CapacityReport, rr.CapacityReport, filepath.Dir(rr.Steps[0].Report))
		}
		b.WriteString("| load | try | verdict | completion | setup p50/p99 ms | first audio p99 ms | gap p50/p99/max ms | loss | jitter ms | engine CPU mean/max | tick late/length p99 ms | CPU-s/call-min | engine RSS | gen CPU max | foreign CPU 0/1 | run-queue wait 0/1 | load avg |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range rr.Steps {
			if s.Error != "" {
				fmt.Fprintf(&b, "| %d | %d | error: %s | | | | | | | | | | | | | | %.2f |\n", s.N, s.Attempt, oneLine(s.Error), s.Load1)
				continue
			}
			v := "pass"
			if !s.Pass {
				v = "**fail**: " + strings.Join(s.Reasons, "; ")
			} else if !s.Valid {
				v = "invalid: " + strings.Join(s.Reasons, "; ")
			}
			fmt.Fprintf(&b, "| %d | %d | %s | %.2f%% | %.1f / %.1f | %.0f | %.1f / %.1f / %.0f | %.3f%% | %.2f | %.0f%% / %.0f%% | %s | %.3f | %s | %.0f%% | %.0f%% / %.0f%% | %.1f%% / %.1f%% | %.2f |\n",
				s.N, s.Attempt, v, 100*s.Completion, s.SetupP50, s.SetupP99, s.FirstAudio99, s.GapP50, s.GapP99, s.GapMax,
				100*s.Loss, s.JitterMean, 100*s.EngineCPUMean, 100*s.EngineCPUMax, s.tick(), s.CPUPerCallMin, mib(s.EngineRSSPeak),
				100*s.GeneratorCPUMax, 100*s.Foreign[0], 100*s.Foreign[1], 100*s.Wait[0], 100*s.Wait[1], s.Load1)
		}
	}
	return b.String()
}

// tick is the table's media clock cell; "-" for the probe, which has no clock.
func (s *StepResult) tick() string {
	if s.TickLateP99 == 0 && s.TickBusyP99 == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f", s.TickLateP99, s.TickBusyP99)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func kib(n int64) string { return fmt.Sprintf("%.0f KiB", float64(n)/1024) }
func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
