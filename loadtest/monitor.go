package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// Sample is one point of the run's time series.
type Sample struct {
	// T is seconds since the run started.
	T         float64 `json:"t"`
	Active    int64   `json:"active"`
	Started   int64   `json:"started"`
	Answered  int64   `json:"answered"`
	Completed int64   `json:"completed"`
	Failed    int64   `json:"failed"`
	// CPS is calls started per second over the last interval.
	CPS float64 `json:"cps"`
	// EngineCPU and GeneratorCPU are cores busy over the last interval (1 = one
	// core); EngineRSS is the engine's resident memory. Negative when unknown.
	EngineCPU    float64 `json:"engine_cpu"`
	EngineRSS    int64   `json:"engine_rss_bytes"`
	GeneratorCPU float64 `json:"generator_cpu"`
	// PacketsIn and PacketsOut are RTP packets per second received and sent.
	PacketsIn  float64 `json:"rtp_in_pps"`
	PacketsOut float64 `json:"rtp_out_pps"`
}

// processSampler reads a process's cumulative CPU time and resident memory.
type processSampler interface {
	sample() (cpuSeconds float64, rss int64, err error)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// procSampler reads /proc/<pid>/stat and /proc/<pid>/status.
type procSampler struct{ dir string }

func newProcSampler(pid int) procSampler {
	if pid == 0 {
		return procSampler{dir: "/proc/self"}
	}
	return procSampler{dir: "/proc/" + strconv.Itoa(pid)}
}

func (p procSampler) sample() (float64, int64, error) {
	stat, err := os.ReadFile(p.dir + "/stat")
	if err != nil {
		return 0, 0, err
	}
	cpu, err := parseProcStat(string(stat))
	if err != nil {
		return 0, 0, err
	}
	status, err := os.ReadFile(p.dir + "/status")
	if err != nil {
		return 0, 0, err
	}
	return cpu, parseVmRSS(string(status)), nil
}

// ReadProcess returns a process's CPU time so far (user and system, seconds) and
// its resident memory (bytes) from /proc; pid 0 means this process. The benchmark
// scripts sample the engine and other tools with it the way a run does.
func ReadProcess(pid int) (cpuSeconds float64, rss int64, err error) {
	return newProcSampler(pid).sample()
}

// parseProcStat returns utime+stime in seconds from a /proc/<pid>/stat line. The
// command name (field 2) may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseProcStat(s string) (float64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("loadtest: malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("loadtest: short /proc stat")
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("loadtest: malformed /proc stat times")
	}
	return float64(ut+st) / clockTicks, nil
}

// parseVmRSS returns the VmRSS line of /proc/<pid>/status in bytes (0 if absent).
func parseVmRSS(s string) int64 {
	for line := range strings.Lines(s) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// metricsSampler reads process_cpu_seconds_total and process_resident_memory_bytes
// from a Prometheus text endpoint, for an engine on another host or in a container.
type metricsSampler struct {
	url    string
	client *http.Client
}

func (m metricsSampler) sample() (float64, int64, error) {
	resp, err := m.client.Get(m.url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("loadtest: %s: %s", m.url, resp.Status)
	}
	return parseProcessMetrics(resp.Body)
}

// parseProcessMetrics finds the two process collector series in Prometheus text.
func parseProcessMetrics(r io.Reader) (float64, int64, error) {
	var cpu float64
	var rss int64
	found := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			cpu, _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
			found++
		case "process_resident_memory_bytes":
			v, _ := strconv.ParseFloat(strings.TrimSpace(val), 64)
			rss = int64(v)
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found < 2 {
		return 0, 0, errors.New("loadtest: the metrics have no process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return cpu, rss, nil
}

// monitor samples the engine and the generator and prints the progress line.
type monitor struct {
	g      *generator
	engine processSampler // nil when neither a pid nor a metrics URL was given
	self   processSampler

	mu      sync.Mutex
	samples []Sample
	errs    int

	prevT                    time.Time
	prevEngine, prevSelf     float64
	prevStarted              int64
	prevIn, prevOut          uint64
	haveEngine, haveSelf     bool
	tty                      bool
	lastProgress             time.Time
	engineRSS0, engineRSSMax int64
}

func newMonitor(g *generator) *monitor {
	m := &monitor{g: g, self: newProcSampler(0)}
	switch {
	case g.cfg.EnginePID > 0:
		m.engine = newProcSampler(g.cfg.EnginePID)
	case g.cfg.EngineMetrics != "":
		m.engine = metricsSampler{url: g.cfg.EngineMetrics, client: &http.Client{Timeout: g.cfg.SampleInterval}}
	}
	if f, ok := g.cfg.Progress.(*os.File); ok {
		m.tty = isatty.IsTerminal(f.Fd())
	}
	return m
}

// run samples every SampleInterval until ctx ends, then takes a last sample.
func (m *monitor) run(ctx context.Context) {
	m.sample(time.Now())
	t := time.NewTicker(m.g.cfg.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.sample(time.Now())
			m.progress(true)
			return
		case now := <-t.C:
			m.sample(now)
			if now.Sub(m.lastProgress) >= m.g.cfg.ProgressInterval {
				m.progress(false)
				m.lastProgress = now
			}
		}
	}
}

// sample appends one point to the series.
func (m *monitor) sample(now time.Time) {
	g := m.g
	s := Sample{
		T:         round3(now.Sub(g.start).Seconds()),
		Active:    g.active.Load(),
		Started:   g.started.Load(),
		Answered:  g.answered.Load(),
		Completed: g.completed.Load(),
		Failed:    g.failed.Load(),
		EngineCPU: -1, EngineRSS: -1, GeneratorCPU: -1,
	}
	out, in := g.media.counters()
	dt := now.Sub(m.prevT).Seconds()
	first := m.prevT.IsZero()
	if m.engine != nil {
		if cpu, rss, err := m.engine.sample(); err == nil {
			if m.haveEngine && !first && dt > 0 {
				s.EngineCPU = round3((cpu - m.prevEngine) / dt)
			}
			s.EngineRSS = rss
			m.prevEngine, m.haveEngine = cpu, true
			if m.engineRSS0 == 0 {
				m.engineRSS0 = rss
			}
			m.engineRSSMax = max(m.engineRSSMax, rss)
		} else {
			m.errs++
		}
	}
	if cpu, _, err := m.self.sample(); err == nil {
		if m.haveSelf && !first && dt > 0 {
			s.GeneratorCPU = round3((cpu - m.prevSelf) / dt)
		}
		m.prevSelf, m.haveSelf = cpu, true
	}
	if !first && dt > 0 {
		s.CPS = round3(float64(s.Started-m.prevStarted) / dt)
		s.PacketsIn = round3(float64(in-m.prevIn) / dt)
		s.PacketsOut = round3(float64(out-m.prevOut) / dt)
	}
	m.prevT, m.prevStarted, m.prevIn, m.prevOut = now, s.Started, in, out
	m.mu.Lock()
	m.samples = append(m.samples, s)
	m.mu.Unlock()
}

// progress prints the live line: active calls, call rate, failures, the engine's
// and the generator's load. On a terminal it rewrites one line; elsewhere (a log
// file, the benchmark's output) it prints one line per interval.
func (m *monitor) progress(final bool) {
	w := m.g.cfg.Progress
	if w == nil {
		return
	}
	m.mu.Lock()
	s := m.samples[len(m.samples)-1]
	m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%5.0fs  active %d/%d  started %d (%.0f/s)  ok %d  failed %d  rtp in %s/s out %s/s",
		s.T, s.Active, m.g.cfg.Concurrency, s.Started, s.CPS, s.Completed, s.Failed, si(s.PacketsIn), si(s.PacketsOut))
	if s.EngineCPU >= 0 {
		fmt.Fprintf(&b, "  engine cpu %.0f%% rss %s", 100*s.EngineCPU, bytesIEC(s.EngineRSS))
	}
	if s.GeneratorCPU >= 0 {
		fmt.Fprintf(&b, "  generator cpu %.0f%%", 100*s.GeneratorCPU)
	}
	switch {
	case m.tty && final:
		fmt.Fprintf(w, "\r\033[K%s\n", b.String())
	case m.tty:
		fmt.Fprintf(w, "\r\033[K%s", b.String())
	default:
		fmt.Fprintln(w, b.String())
	}
}

// series returns a copy of the samples.
func (m *monitor) series() []Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Sample(nil), m.samples...)
}

// si prints a rate with a k or M suffix.
func si(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.1fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// bytesIEC prints a size in MiB or KiB.
func bytesIEC(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
