package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/loadtest"
)

// ProfileRun is a CPU profile of the engine at a regime's capacity, taken with perf
// (kernel and Go frames alike: the question is whether system calls, the clock
// loop or the garbage collector bound the figure).
type ProfileRun struct {
	Regime  string   `json:"regime"`
	N       int      `json:"n"`
	Seconds int      `json:"seconds"`
	Command string   `json:"command"`
	Files   []string `json:"files"`
	// Self is the top of `perf report --no-children --sort sym` (time in the
	// function itself); Children of `--children` (time under it); DSO the split
	// between the kernel, the engine and libraries.
	Self     []string    `json:"self"`
	Children []string    `json:"children"`
	DSO      []string    `json:"dso"`
	Step     *StepResult `json:"step,omitempty"`
	Error    string      `json:"error,omitempty"`
}

const profileSeconds = 20

// profile runs regime spec at load n again and records the engine with perf during
// the hold.
func (d *driver) profile(ctx context.Context, spec *regime, n int) *ProfileRun {
	p := &ProfileRun{Regime: spec.key, N: n, Seconds: profileSeconds}
	if _, err := exec.LookPath("perf"); err != nil {
		p.Error = "perf not found (apt-get install linux-perf)"
		return p
	}
	d.logf("profiling the engine with perf at regime %s, %d %s", spec.key, n, spec.unit)
	tag := fmt.Sprintf("profile-%s-%d", spec.key, n)
	e, err := d.startEngine(ctx, spec.engine, tag)
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
	select {
	case <-time.After(rampUp + 10*time.Second):
	case <-ctx.Done():
	}
	data := filepath.Join(d.work, tag+".perf.data")
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(e.pid()), "-o", data,
		"--", "sleep", strconv.Itoa(profileSeconds))
	p.Command = strings.Join(rec.Args, " ")
	out, recErr := rec.CombinedOutput()
	r := <-done
	after := d.sampleCores(e.pid())
	if recErr != nil {
		p.Error = fmt.Sprintf("perf record: %v: %s", recErr, strings.TrimSpace(string(out)))
		return p
	}
	if r.err == nil {
		s := StepResult{N: n, Attempt: 1, Load1: loadAvg()}
		d.fill(&s, r.rep, before, after, tag)
		p.Step = &s
	}
	p.Files = append(p.Files, filepath.Base(data))
	report := func(name string, args ...string) []string {
		full := append([]string{"report", "-i", data, "--stdio"}, args...)
		out, err := exec.Command("perf", full...).Output()
		if err != nil {
			return []string{"perf " + strings.Join(full, " ") + ": " + err.Error()}
		}
		path := filepath.Join(d.work, tag+"-"+name+".txt")
		_ = os.WriteFile(path, out, 0o644)
		p.Files = append(p.Files, filepath.Base(path))
		return topLines(string(out), 30)
	}
	p.Self = report("self", "--no-children", "--sort", "sym", "-g", "none", "--percent-limit", "0.5")
	p.Children = report("children", "--children", "--sort", "sym", "-g", "none", "--percent-limit", "3")
	p.DSO = report("dso", "--no-children", "--sort", "dso", "-g", "none")
	return p
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
	fmt.Fprintf(b, "\n## Profile of the engine at regime (%s) capacity, %d calls\n\n", p.Regime, p.N)
	if p.Error != "" {
		fmt.Fprintf(b, "Not taken: %s\n", p.Error)
		return
	}
	fmt.Fprintf(b, "`%s` during the hold (%d s); files in the steps directory: %s. bench/README.md reads it.\n\n", p.Command, p.Seconds, strings.Join(p.Files, ", "))
	if p.Step != nil {
		fmt.Fprintf(b, "While profiled: %s\n\n", p.Step.line())
	}
	for _, sec := range []struct {
		name  string
		lines []string
	}{{"Where the time goes (kernel, engine, libraries)", p.DSO}, {"Top functions, self time", p.Self}, {"Top functions, time including callees", p.Children}} {
		fmt.Fprintf(b, "%s:\n\n```\n%s\n```\n\n", sec.name, strings.Join(sec.lines, "\n"))
	}
}
