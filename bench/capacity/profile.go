package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/loadtest"
)

// ProfileRun is a CPU profile of the engine at a regime's load: Go's pprof over the
// engine's HTTP listener (http.pprof), and perf when asked (kernel frames too). The
// question it answers is what bounds the figure: system calls, the Go scheduler and
// netpoller, timers, the garbage collector or the codecs (bench/PROFILE.md).
type ProfileRun struct {
	Regime  string   `json:"regime"`
	N       int      `json:"n"`
	Seconds int      `json:"seconds"`
	Tool    string   `json:"tool"`
	Files   []string `json:"files"`
	// Buckets is the engine's sampled CPU time by kind (share of the samples,
	// attributed by each sample's leaf function), from pprof.
	Buckets []Bucket `json:"buckets,omitempty"`
	// Cum is the top of `go tool pprof -top -cum`, Flat of `-top` (self time).
	Cum  []string `json:"cum,omitempty"`
	Flat []string `json:"flat,omitempty"`
	// PerfSelf, PerfChildren and PerfDSO are the tops of perf report (-profile-tool
	// perf or both).
	PerfCommand  string      `json:"perf_command,omitempty"`
	PerfSelf     []string    `json:"perf_self,omitempty"`
	PerfChildren []string    `json:"perf_children,omitempty"`
	PerfDSO      []string    `json:"perf_dso,omitempty"`
	Ramp         bool        `json:"ramp,omitempty"` // profiled during the ramp-up, not the hold
	Step         *StepResult `json:"step,omitempty"`
	Error        string      `json:"error,omitempty"`
}

// Bucket is one kind of work and its share of the engine's CPU samples.
type Bucket struct {
	Kind  string  `json:"kind"`
	Share float64 `json:"share"`
}

const profileSeconds = 20

// profile runs regime spec at load n again and profiles the engine during the hold
// (or, with -profile-ramp, from the first call to the end of the ramp-up).
func (d *driver) profile(ctx context.Context, spec *regime, n int) *ProfileRun {
	p := &ProfileRun{Regime: spec.key, N: n, Seconds: profileSeconds, Tool: d.profileTool, Ramp: d.profileRamp}
	usePprof := d.profileTool == "pprof" || d.profileTool == "both"
	usePerf := d.profileTool == "perf" || d.profileTool == "both"
	if usePerf {
		if _, err := exec.LookPath("perf"); err != nil {
			p.Error = "perf not found (apt-get install linux-perf); use -profile-tool pprof"
			return p
		}
	}
	d.logf("profiling the engine (%s) at regime %s, %d %s", d.profileTool, spec.key, n, spec.unit)
	tag := fmt.Sprintf("profile-%s-%d", spec.key, n)
	opts := spec.engine
	opts.pprof = usePprof
	e, err := d.startEngine(ctx, opts, tag)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	defer e.stop(20 * time.Second)
	if _, err := loadtest.Run(ctx, spec.warm(e)); err != nil {
		p.Error = "warm-up: " + err.Error()
		return p
	}
	cfg := spec.config(n, e)
	type result struct {
		rep *loadtest.Report
		err error
	}
	done := make(chan result, 1)
	before := d.sampleCores(e.pid())
	go func() {
		rep, err := loadtest.Run(ctx, cfg)
		done <- result{rep, err}
	}()
	rampUp := time.Duration(float64(cfg.Concurrency) / cfg.Rate * float64(time.Second))
	wait := rampUp + 3*time.Second
	if d.profileRamp {
		wait, p.Seconds = 0, max(int(rampUp/time.Second), 1)
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	var wg sync.WaitGroup
	var pprofErr, perfErr error
	pprofPath := filepath.Join(d.work, tag+".pprof.pb.gz")
	perfPath := filepath.Join(d.work, tag+".perf.data")
	if usePprof {
		wg.Go(func() { pprofErr = fetchProfile(ctx, e.httpURL, p.Seconds, pprofPath) })
	}
	if usePerf {
		rec := exec.CommandContext(ctx, "perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(e.pid()), "-o", perfPath,
			"--", "sleep", strconv.Itoa(p.Seconds))
		p.PerfCommand = strings.Join(rec.Args, " ")
		wg.Go(func() {
			if out, err := rec.CombinedOutput(); err != nil {
				perfErr = fmt.Errorf("perf record: %v: %s", err, strings.TrimSpace(string(out)))
			}
		})
	}
	wg.Wait()
	r := <-done
	after := d.sampleCores(e.pid())
	if r.err == nil {
		s := StepResult{N: n, Attempt: 1, Load1: loadAvg()}
		d.fill(&s, r.rep, before, after, tag)
		p.Step = &s
	}
	var errs []string
	if usePprof {
		if pprofErr != nil {
			errs = append(errs, pprofErr.Error())
		} else {
			d.readPprof(p, pprofPath, tag)
		}
	}
	if usePerf {
		if perfErr != nil {
			errs = append(errs, perfErr.Error())
		} else {
			d.readPerf(p, perfPath, tag)
		}
	}
	p.Error = strings.Join(errs, "; ")
	return p
}

// fetchProfile saves the engine's CPU profile over seconds.
func fetchProfile(ctx context.Context, base string, seconds int, path string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+30)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch pprof profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch pprof profile: %s (is http.pprof on?)", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("fetch pprof profile: %w", err)
	}
	return os.WriteFile(path, b, 0o644)
}

// goTool runs `go tool pprof args` (GO names the go command, as for the script).
func goTool(args ...string) (string, error) {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	out, err := exec.Command(goCmd, append([]string{"tool", "pprof"}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

func (d *driver) readPprof(p *ProfileRun, path, tag string) {
	p.Files = append(p.Files, filepath.Base(path))
	report := func(name string, args ...string) []string {
		out, err := goTool(append(args, path)...)
		if err != nil {
			return []string{err.Error()}
		}
		txt := filepath.Join(d.work, tag+"-pprof-"+name+".txt")
		_ = os.WriteFile(txt, []byte(out), 0o644)
		p.Files = append(p.Files, filepath.Base(txt))
		return pprofRows(out, 30)
	}
	p.Cum = report("cum", "-top", "-cum", "-nodecount=30")
	p.Flat = report("flat", "-top", "-nodecount=30")
	if out, err := goTool("-top", "-nodecount=100000", path); err == nil {
		p.Buckets = bucketize(out)
	}
}

// pprofRows returns the first n rows of a `go tool pprof -top` table, with its
// header line.
func pprofRows(s string, n int) []string {
	var out []string
	in := false
	for line := range strings.Lines(s) {
		t := strings.TrimRight(line, "\n")
		if strings.Contains(t, "flat%") {
			in = true
		}
		if in && t != "" {
			out = append(out, t)
			if len(out) > n {
				break
			}
		}
	}
	return out
}

// Kinds of work, matched on the leaf function of each sample (the first that
// matches wins).
var kinds = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"system calls (socket reads and writes, futex, epoll)", regexp.MustCompile(`^(syscall\.|internal/runtime/syscall|runtime/internal/syscall|runtime\.(futex|epollwait|usleep|nanotime1?|walltime|write1|read|madvise|osyield|tgkill)$)`)},
	{"Go scheduler and netpoller (park, wake, find work)", regexp.MustCompile(`^runtime\.(schedule|findRunnable|stealWork|runqgrab|netpoll|park_m|gopark|goready|ready|mcall|execute|casgstatus|wakep|startm|stopm|notesleep|notewakeup|mPark|runqput|runqget|checkTimers|resetspinning|goexit|gosched|lock2|unlock2|lock|unlock|procyield|netpollblock|netpollunblock|netpollready|selectgo|chansend|chanrecv|send|recv).*`)},
	{"timers (the media clock, read deadlines, time.Now)", regexp.MustCompile(`^(runtime\.\(\*timer|runtime\.\(\*timers|runtime\.runtimer|runtime\.siftdown|runtime\.siftup|time\.|runtime\.time_now|internal/poll\.\(\*FD\)\.SetReadDeadline|internal/poll\.setDeadlineImpl|runtime\.poll_runtime_pollSetDeadline)`)},
	{"garbage collector and allocation", regexp.MustCompile(`^(runtime\.(gc|scanobject|greyobject|markBits|mallocgc|heapBits|findObject|sweep|bgsweep|bgscavenge|memclrNoHeapPointers|wbBuf|spanOf|nextFreeFast|mspan|\(\*mspan\)|\(\*mheap\)|\(\*mcache\)|\(\*gcWork\)|\(\*gcControllerState\)|typePointers)|runtime\.\(\*mspan|runtime\.\(\*mheap)`)},
	{"codecs and signal processing (media/codec, vad, dtmf, plc, audio)", regexp.MustCompile(`hotline/media/(codec|vad|dtmf|plc|audio)\.`)},
	{"media path (RTP, jitter buffer, sessions)", regexp.MustCompile(`hotline/media`)},
	{"network stack in Go (net, internal/poll)", regexp.MustCompile(`^(net\.|internal/poll\.|net/netip\.)`)},
	{"SIP", regexp.MustCompile(`(hotline/sip|emiago/sipgo)`)},
	{"flows, speech, other hotline code", regexp.MustCompile(`hotline/`)},
}

// bucketize sums the flat time of a full `go tool pprof -top` table by kind.
func bucketize(top string) []Bucket {
	sums := map[string]float64{}
	total := 0.0
	for line := range strings.Lines(top) {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") || strings.Contains(line, "flat%") {
			continue
		}
		flat, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		if err != nil {
			continue
		}
		name := strings.Join(f[5:], " ")
		kind := "other runtime and libraries"
		for _, k := range kinds {
			if k.re.MatchString(name) {
				kind = k.kind
				break
			}
		}
		sums[kind] += flat
		total += flat
	}
	var out []Bucket
	for k, v := range sums {
		out = append(out, Bucket{Kind: k, Share: round3(v / 100)})
	}
	slices.SortFunc(out, func(a, b Bucket) int {
		switch {
		case a.Share > b.Share:
			return -1
		case a.Share < b.Share:
			return 1
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
}

func (d *driver) readPerf(p *ProfileRun, data, tag string) {
	p.Files = append(p.Files, filepath.Base(data))
	report := func(name string, args ...string) []string {
		full := append([]string{"report", "-i", data, "--stdio"}, args...)
		out, err := exec.Command("perf", full...).Output()
		if err != nil {
			return []string{"perf " + strings.Join(full, " ") + ": " + err.Error()}
		}
		path := filepath.Join(d.work, tag+"-perf-"+name+".txt")
		_ = os.WriteFile(path, out, 0o644)
		p.Files = append(p.Files, filepath.Base(path))
		return topLines(string(out), 30)
	}
	p.PerfSelf = report("self", "--no-children", "--sort", "sym", "-g", "none", "--percent-limit", "0.5")
	p.PerfChildren = report("children", "--children", "--sort", "sym", "-g", "none", "--percent-limit", "3")
	p.PerfDSO = report("dso", "--no-children", "--sort", "dso", "-g", "none")
}

// topLines returns the first n data lines of a perf report (no comments or blanks).
func topLines(s string, n int) []string {
	var out []string
	for line := range strings.Lines(s) {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, t)
		if len(out) == n {
			break
		}
	}
	return out
}

func (p *ProfileRun) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Profile of the engine at regime (%s), %d calls\n\n", p.Regime, p.N)
	if p.Error != "" {
		fmt.Fprintf(b, "Error: %s\n\n", p.Error)
	}
	phase := "the hold"
	if p.Ramp {
		phase = "the ramp-up"
	}
	fmt.Fprintf(b, "%s over %d s of %s; files in the steps directory: %s. bench/PROFILE.md explains how to read it.\n\n", p.Tool, p.Seconds, phase, strings.Join(p.Files, ", "))
	if p.Step != nil {
		fmt.Fprintf(b, "While profiled: %s\n\n", p.Step.line())
	}
	if len(p.Buckets) > 0 {
		b.WriteString("Engine CPU by kind of work (pprof samples by leaf function):\n\n| kind | share |\n|---|---|\n")
		for _, k := range p.Buckets {
			fmt.Fprintf(b, "| %s | %.1f %% |\n", k.Kind, 100*k.Share)
		}
		b.WriteString("\n")
	}
	for _, sec := range []struct {
		name  string
		lines []string
	}{
		{"Top cumulative costs (go tool pprof -top -cum)", p.Cum},
		{"Top self costs (go tool pprof -top)", p.Flat},
		{"perf: where the time goes (kernel, engine, libraries)", p.PerfDSO},
		{"perf: top functions, self time", p.PerfSelf},
		{"perf: top functions, time including callees", p.PerfChildren},
	} {
		if len(sec.lines) > 0 {
			fmt.Fprintf(b, "%s:\n\n```\n%s\n```\n\n", sec.name, strings.Join(sec.lines, "\n"))
		}
	}
}
