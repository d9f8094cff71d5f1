package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is what a run measured, from the callers' side, with the engine's and the
// generator's cost. It marshals to the JSON the benchmark scripts read.
type Report struct {
	Tool     string    `json:"tool"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// LaunchSeconds is how long calls were being started; Seconds the whole run
	// including the calls that were still finishing.
	LaunchSeconds float64   `json:"launch_seconds"`
	Seconds       float64   `json:"seconds"`
	Config        RunConfig `json:"config"`

	Calls      CallsSummary  `json:"calls"`
	Setup      Dist          `json:"setup"`
	FirstAudio Dist          `json:"first_audio"`
	Response   Dist          `json:"response"`
	Prompts    PromptSummary `json:"prompts"`
	RTP        RTPSummary    `json:"rtp"`

	Engine    *ProcessSummary `json:"engine,omitempty"`
	Generator ProcessSummary  `json:"generator"`

	Criteria Criteria `json:"criteria"`
	Verdict  Verdict  `json:"verdict"`

	Series         []Sample      `json:"series"`
	Jitter         []JitterPoint `json:"jitter_series"`
	SetupHistogram []Bin         `json:"setup_histogram"`
	// Failed holds the first failed calls (at most 50), for diagnosis.
	Failed []Call `json:"failed_calls,omitempty"`
	// AllCalls holds every call when Config.KeepCalls is set.
	AllCalls []Call `json:"calls_detail,omitempty"`
}

// RunConfig is the part of the configuration a reader of the report needs.
type RunConfig struct {
	Target      string  `json:"target"`
	Transport   string  `json:"transport"`
	Mode        Mode    `json:"script"`
	Hangup      Hangup  `json:"hangup"`
	Codec       string  `json:"codec"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	Duration    float64 `json:"duration_seconds"`
	Calls       int     `json:"calls"`
	Digits      string  `json:"digits"`
	Phrase      string  `json:"phrase,omitempty"`
	Talk        bool    `json:"talk"`
	Hold        float64 `json:"hold_seconds"`
	Sockets     int     `json:"rtp_sockets"`
}

// CallsSummary counts the calls.
type CallsSummary struct {
	Started    int            `json:"started"`
	Answered   int            `json:"answered"`
	Completed  int            `json:"completed"`
	Failed     int            `json:"failed"`
	Completion float64        `json:"completion"`
	Failures   map[string]int `json:"failures,omitempty"`
	PeakActive int64          `json:"peak_active"`
	// AnsweredPerSecond is answered calls over the launch window: the call rate the
	// engine sustained.
	AnsweredPerSecond float64 `json:"answered_per_second"`
}

// PromptSummary says how many prompts began within their windows.
type PromptSummary struct {
	GreetingExpected int `json:"greeting_expected"`
	GreetingOnTime   int `json:"greeting_on_time"`
	ResponseExpected int `json:"response_expected"`
	ResponseOnTime   int `json:"response_on_time"`
}

// RTPSummary totals the engine's RTP as every caller received it.
type RTPSummary struct {
	Sent      uint64  `json:"sent"`
	Received  uint64  `json:"received"`
	Expected  uint64  `json:"expected"`
	Lost      uint64  `json:"lost"`
	LossRatio float64 `json:"loss_ratio"`
	LateOrDup uint64  `json:"late_or_duplicate"`
	// Stray counts packets for no live call (before registration or after hang-up),
	// RTCP the engine's reports, Malformed what did not parse.
	Stray      uint64 `json:"stray"`
	RTCP       uint64 `json:"rtcp"`
	Malformed  uint64 `json:"malformed"`
	SendErrors uint64 `json:"send_errors"`
	// Skipped counts frames the generator itself was too late to send.
	Skipped uint64 `json:"generator_skipped_frames"`
	// Jitter is the distribution over calls of each call's final RFC 3550 jitter;
	// MaxJitterMs the highest estimate any call reached.
	Jitter      Dist    `json:"jitter"`
	MaxJitterMs float64 `json:"max_jitter_ms"`
	// Gap* describe the interval between consecutive packets of a call, over all
	// packets of all calls: 20 ms when the engine paces perfectly.
	GapMeanMs float64 `json:"gap_mean_ms"`
	GapP50Ms  float64 `json:"gap_p50_ms"`
	GapP99Ms  float64 `json:"gap_p99_ms"`
	GapP999Ms float64 `json:"gap_p999_ms"`
	GapMaxMs  float64 `json:"gap_max_ms"`
}

// ProcessSummary is a process's cost over the run.
type ProcessSummary struct {
	Source string `json:"source"`
	// CPUMean and CPUMax are cores busy (1 = one core) over the samples taken while
	// calls were up.
	CPUMean float64 `json:"cpu_mean"`
	CPUMax  float64 `json:"cpu_max"`
	// CPUSeconds is the CPU time used while calls were up; CallMinutes the calls'
	// time up in that window; their ratio the cost of one minute of one call.
	CPUSeconds              float64 `json:"cpu_seconds"`
	CallMinutes             float64 `json:"call_minutes"`
	CPUSecondsPerCallMinute float64 `json:"cpu_seconds_per_call_minute"`
	RSSStart                int64   `json:"rss_start_bytes"`
	RSSPeak                 int64   `json:"rss_peak_bytes"`
	// MemoryPerCall is (RSSPeak-RSSStart)/PeakActive.
	MemoryPerCall int64 `json:"memory_per_call_bytes"`
}

// JitterPoint is one second of the jitter time series.
type JitterPoint struct {
	T           float64 `json:"t"`
	MeanMs      float64 `json:"mean_ms"`
	MaxMs       float64 `json:"max_ms"`
	MaxGapMs    float64 `json:"max_gap_ms"`
	Packets     uint64  `json:"packets"`
	ActiveCalls int64   `json:"active_calls"`
}

// Bin is one bar of a histogram.
type Bin struct {
	LoMs  float64 `json:"lo_ms"`
	HiMs  float64 `json:"hi_ms"`
	Count int     `json:"count"`
}

// Verdict applies the criteria. Valid is false when the generator itself was the
// bottleneck (busier than Criteria.MaxGeneratorCPU or skipping frames): the figure
// then says nothing about the engine.
type Verdict struct {
	Pass    bool     `json:"pass"`
	Valid   bool     `json:"valid"`
	Reasons []string `json:"reasons,omitempty"`
}

// maxFailedKept bounds the failed calls a report lists.
const maxFailedKept = 50

// report builds the Report once the calls and the receive goroutines are done.
func (g *generator) report(mon *monitor, launchEnd, end time.Time) *Report {
	cfg := &g.cfg
	g.mu.Lock()
	calls := slices.Clone(g.calls)
	g.mu.Unlock()
	slices.SortFunc(calls, func(a, b Call) int { return a.ID - b.ID })

	r := &Report{
		Tool: "hotline loadtest", Started: g.start, Finished: end,
		LaunchSeconds: round3(launchEnd.Sub(g.start).Seconds()), Seconds: round3(end.Sub(g.start).Seconds()),
		Config: RunConfig{
			Target: cfg.Target, Transport: cfg.Transport, Mode: cfg.Mode, Hangup: cfg.Hangup,
			Codec: g.audio.codec.Name(), Concurrency: cfg.Concurrency, Rate: cfg.Rate,
			Duration: cfg.Duration.Seconds(), Calls: cfg.Calls, Digits: cfg.Digits, Phrase: cfg.Phrase,
			Talk: cfg.Talk, Hold: cfg.Hold.Seconds(), Sockets: cfg.Sockets,
		},
		Criteria: cfg.Criteria,
		Series:   mon.series(),
	}
	var setup, first, resp, jit []float64
	failures := map[string]int{}
	for i := range calls {
		c := &calls[i]
		r.Calls.Started++
		if c.Setup > 0 {
			r.Calls.Answered++
			setup = append(setup, ms(c.Setup))
		}
		if c.Completed {
			r.Calls.Completed++
		} else {
			r.Calls.Failed++
			failures[c.Failure]++
			if len(r.Failed) < maxFailedKept {
				r.Failed = append(r.Failed, *c)
			}
		}
		if c.GreetingOnTime {
			first = append(first, ms(c.FirstAudio))
		}
		if c.ResponseOnTime {
			resp = append(resp, ms(c.Response))
		}
		if c.Setup > 0 && cfg.Mode != ModeSignalling {
			r.Prompts.GreetingExpected++
			if c.GreetingOnTime {
				r.Prompts.GreetingOnTime++
			}
		}
		if c.Setup > 0 && cfg.Mode == ModeIVR {
			r.Prompts.ResponseExpected++
			if c.ResponseOnTime {
				r.Prompts.ResponseOnTime++
			}
		}
		m := &c.Media
		r.RTP.Sent += m.Sent
		r.RTP.Received += m.Received
		r.RTP.Expected += m.Expected
		r.RTP.Lost += m.Lost
		r.RTP.LateOrDup += m.LateOrDup
		r.RTP.Skipped += m.Skipped
		r.RTP.MaxJitterMs = max(r.RTP.MaxJitterMs, m.MaxJitterMs)
		if m.Received > 1 {
			jit = append(jit, m.JitterMs)
		}
	}
	if len(failures) > 0 {
		r.Calls.Failures = failures
	}
	if r.Calls.Started > 0 {
		r.Calls.Completion = float64(r.Calls.Completed) / float64(r.Calls.Started)
	}
	r.Calls.PeakActive = g.peak.Load()
	if r.LaunchSeconds > 0 {
		r.Calls.AnsweredPerSecond = round3(float64(r.Calls.Answered) / r.LaunchSeconds)
	}
	r.SetupHistogram = histogramBins(setup, 40)
	r.Setup, r.FirstAudio, r.Response = distOf(setup), distOf(first), distOf(resp)
	r.RTP.Jitter = distOf(jit)
	if r.RTP.Expected > 0 {
		r.RTP.LossRatio = float64(r.RTP.Lost) / float64(r.RTP.Expected)
	}

	agg := g.media.aggregate()
	r.RTP.Stray, r.RTP.RTCP, r.RTP.Malformed, r.RTP.SendErrors = agg.stray, agg.rtcp, agg.malformed, agg.sendErrors
	r.RTP.GapMeanMs = round3(ms(agg.gaps.mean()))
	r.RTP.GapP50Ms = round3(ms(agg.gaps.quantile(0.50)))
	r.RTP.GapP99Ms = round3(ms(agg.gaps.quantile(0.99)))
	r.RTP.GapP999Ms = round3(ms(agg.gaps.quantile(0.999)))
	r.RTP.GapMaxMs = round3(float64(agg.gaps.max) / 1e6)
	r.Jitter = jitterSeries(agg.series, r.Series)

	r.Generator = summarizeProcess(r.Series, "generator (this process)", func(s Sample) (float64, int64) { return s.GeneratorCPU, -1 }, r.Calls.PeakActive)
	if mon.engine != nil {
		src := fmt.Sprintf("/proc/%d", cfg.EnginePID)
		if cfg.EnginePID == 0 {
			src = cfg.EngineMetrics
		}
		e := summarizeProcess(r.Series, src, func(s Sample) (float64, int64) { return s.EngineCPU, s.EngineRSS }, r.Calls.PeakActive)
		r.Engine = &e
	}
	r.Verdict = judge(r, cfg.Criteria)
	if cfg.KeepCalls {
		r.AllCalls = calls
	}
	return r
}

// summarizeProcess integrates a process's CPU over the samples taken while calls
// were up, against the call-minutes of the same samples.
func summarizeProcess(series []Sample, source string, get func(Sample) (float64, int64), peak int64) ProcessSummary {
	p := ProcessSummary{Source: source}
	var n int
	for i := 1; i < len(series); i++ {
		s := series[i]
		cpu, rss := get(s)
		if rss > 0 {
			if p.RSSStart == 0 {
				p.RSSStart = rss
			}
			p.RSSPeak = max(p.RSSPeak, rss)
		}
		if s.Active == 0 && series[i-1].Active == 0 || cpu < 0 {
			continue
		}
		dt := s.T - series[i-1].T
		p.CPUSeconds += cpu * dt
		p.CallMinutes += float64(s.Active+series[i-1].Active) / 2 * dt / 60
		p.CPUMean += cpu
		p.CPUMax = max(p.CPUMax, cpu)
		n++
	}
	if n > 0 {
		p.CPUMean = round3(p.CPUMean / float64(n))
	}
	if p.CallMinutes > 0 {
		p.CPUSecondsPerCallMinute = round3(p.CPUSeconds / p.CallMinutes)
	}
	p.CPUSeconds, p.CallMinutes = round3(p.CPUSeconds), round3(p.CallMinutes)
	if peak > 0 && p.RSSPeak > p.RSSStart {
		p.MemoryPerCall = (p.RSSPeak - p.RSSStart) / peak
	}
	return p
}

// judge applies the criteria to the report.
func judge(r *Report, k Criteria) Verdict {
	v := Verdict{Pass: true, Valid: true}
	fail := func(format string, args ...any) {
		v.Pass = false
		v.Reasons = append(v.Reasons, fmt.Sprintf(format, args...))
	}
	if r.Calls.Started == 0 {
		fail("no call was started")
	}
	if r.Calls.Completion < k.MinCompletion {
		fail("completion %.2f%% < %.2f%%", 100*r.Calls.Completion, 100*k.MinCompletion)
	}
	if gap := time.Duration(r.RTP.GapP99Ms * float64(time.Millisecond)); gap > k.MaxGapP99 {
		fail("RTP inter-arrival p99 %.1fms > %v", r.RTP.GapP99Ms, k.MaxGapP99)
	}
	if r.RTP.LossRatio > k.MaxLoss {
		fail("RTP loss %.3f%% > %.3f%%", 100*r.RTP.LossRatio, 100*k.MaxLoss)
	}
	if setup := time.Duration(r.Setup.P99 * float64(time.Millisecond)); setup > k.MaxSetupP99 {
		fail("setup p99 %.1fms > %v", r.Setup.P99, k.MaxSetupP99)
	}
	if r.Generator.CPUMax > k.MaxGeneratorCPU {
		v.Valid = false
		v.Reasons = append(v.Reasons, fmt.Sprintf("generator busy %.0f%% of a core (> %.0f%%): it may be the bottleneck", 100*r.Generator.CPUMax, 100*k.MaxGeneratorCPU))
	}
	if r.RTP.Skipped > 0 {
		v.Valid = false
		v.Reasons = append(v.Reasons, fmt.Sprintf("generator skipped %d frames: it fell behind its own clock", r.RTP.Skipped))
	}
	return v
}

// jitterSeries turns the receive goroutines' per-second buckets into points, with
// the active calls of the nearest sample.
func jitterSeries(buckets []seriesBucket, samples []Sample) []JitterPoint {
	out := make([]JitterPoint, 0, len(buckets))
	j := 0
	for i, b := range buckets {
		if b.n == 0 {
			continue
		}
		t := float64(i) + 0.5
		for j+1 < len(samples) && samples[j+1].T <= t {
			j++
		}
		var active int64
		if len(samples) > 0 {
			active = samples[j].Active
		}
		out = append(out, JitterPoint{
			T: t, MeanMs: round3(b.jitterSum / float64(b.n) / 1e6), MaxMs: round3(b.maxJitter / 1e6),
			MaxGapMs: round3(float64(b.maxGap) / 1e6), Packets: b.n, ActiveCalls: active,
		})
	}
	return out
}

// histogramBins spreads xs (ms) over about n bins of a round width.
func histogramBins(xs []float64, n int) []Bin {
	if len(xs) == 0 {
		return nil
	}
	hi := slices.Max(xs)
	width := niceWidth(hi / float64(n))
	bins := make([]Bin, int(hi/width)+1)
	for i := range bins {
		bins[i] = Bin{LoMs: round3(float64(i) * width), HiMs: round3(float64(i+1) * width)}
	}
	for _, x := range xs {
		bins[min(len(bins)-1, int(x/width))].Count++
	}
	return bins
}

// niceWidth rounds w up to 1, 2 or 5 times a power of ten.
func niceWidth(w float64) float64 {
	if w <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(w)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= w {
			return m * p
		}
	}
	return 10 * p
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a person reading a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "hotline loadtest: %s over %s to %s, script %s, %s, %d calls at once, %.0f calls/s\n",
		c.Codec, c.Transport, c.Target, c.Mode, hangupText(c), c.Concurrency, c.Rate)
	fmt.Fprintf(&b, "  run          %.1fs (calls started for %.1fs), peak %d calls up\n", r.Seconds, r.LaunchSeconds, r.Calls.PeakActive)
	fmt.Fprintf(&b, "  calls        %d started, %d answered, %d completed, %d failed: completion %.2f%%, %.1f answered/s\n",
		r.Calls.Started, r.Calls.Answered, r.Calls.Completed, r.Calls.Failed, 100*r.Calls.Completion, r.Calls.AnsweredPerSecond)
	for _, k := range slices.Sorted(maps.Keys(r.Calls.Failures)) {
		fmt.Fprintf(&b, "    %6d  %s\n", r.Calls.Failures[k], k)
	}
	writeDist(&b, "setup", r.Setup)
	writeDist(&b, "first audio", r.FirstAudio)
	writeDist(&b, "response", r.Response)
	if r.Prompts.GreetingExpected > 0 {
		fmt.Fprintf(&b, "  prompts      greeting on time %d/%d", r.Prompts.GreetingOnTime, r.Prompts.GreetingExpected)
		if r.Prompts.ResponseExpected > 0 {
			fmt.Fprintf(&b, ", answer on time %d/%d", r.Prompts.ResponseOnTime, r.Prompts.ResponseExpected)
		}
		b.WriteString("\n")
	}
	p := r.RTP
	fmt.Fprintf(&b, "  rtp          received %d of %d expected, lost %d (%.3f%%), late/dup %d, sent %d\n",
		p.Received, p.Expected, p.Lost, 100*p.LossRatio, p.LateOrDup, p.Sent)
	fmt.Fprintf(&b, "  gaps         mean %.2fms  p50 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms\n",
		p.GapMeanMs, p.GapP50Ms, p.GapP99Ms, p.GapP999Ms, p.GapMaxMs)
	fmt.Fprintf(&b, "  jitter       per call mean %.2fms  p99 %.2fms  max %.2fms (RFC 3550)\n", p.Jitter.Mean, p.Jitter.P99, p.MaxJitterMs)
	if p.Stray+p.Malformed+p.SendErrors+p.Skipped > 0 {
		fmt.Fprintf(&b, "  rtp other    stray %d, malformed %d, send errors %d, generator skipped %d\n", p.Stray, p.Malformed, p.SendErrors, p.Skipped)
	}
	if e := r.Engine; e != nil {
		fmt.Fprintf(&b, "  engine       cpu mean %.0f%% max %.0f%% of a core, %.3f cpu-s per call-minute, rss %s -> %s (%s per call) [%s]\n",
			100*e.CPUMean, 100*e.CPUMax, e.CPUSecondsPerCallMinute, bytesIEC(e.RSSStart), bytesIEC(e.RSSPeak), bytesIEC(e.MemoryPerCall), e.Source)
	}
	fmt.Fprintf(&b, "  generator    cpu mean %.0f%% max %.0f%% of a core\n", 100*r.Generator.CPUMean, 100*r.Generator.CPUMax)
	verdict := "PASS"
	if !r.Verdict.Pass {
		verdict = "FAIL"
	}
	if !r.Verdict.Valid {
		verdict += " (invalid: generator-bound)"
	}
	fmt.Fprintf(&b, "  verdict      %s", verdict)
	if len(r.Verdict.Reasons) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(r.Verdict.Reasons, "; "))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func hangupText(c RunConfig) string {
	if c.Mode == ModeIVR {
		return "hang-up by " + c.Hangup.String()
	}
	return fmt.Sprintf("hold %gs", c.Hold)
}

func writeDist(b *strings.Builder, name string, d Dist) {
	if d.N == 0 {
		return
	}
	fmt.Fprintf(b, "  %-12s n %d  mean %.1fms  p50 %.1fms  p90 %.1fms  p99 %.1fms  max %.1fms\n",
		name, d.N, d.Mean, d.P50, d.P90, d.P99, d.Max)
}
