package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Engine RTP ports for the benchmark: 10,000 calls' worth, inside the kernel's
// ephemeral range but away from the ports other test suites use (10000-20000,
// 24000-32700); the engine skips a port another program holds.
const (
	benchRTPMin = 40000
	benchRTPMax = 59998
)

// proc is a process the driver started (the engine or the probe's echo side), pinned
// to a CPU with taskset and reniced with nice, both of which exec the program, so
// the pid is the program's own.
type proc struct {
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan error
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// sched is how the driver's children are scheduled: SCHED_FIFO at rt (chrt) when
// rt > 0, else CFS at nice.
type sched struct{ rt, nice int }

// wrap returns the command line that runs name under s.
func (s sched) wrap(name string, args ...string) []string {
	if s.rt > 0 {
		return append([]string{"chrt", "-f", strconv.Itoa(s.rt), name}, args...)
	}
	return append([]string{"nice", "-n", strconv.Itoa(s.nice), name}, args...)
}

func (s sched) String() string {
	if s.rt > 0 {
		return fmt.Sprintf("SCHED_FIFO priority %d (chrt)", s.rt)
	}
	return fmt.Sprintf("CFS at nice %d", s.nice)
}

// startPinned runs name args on cpu under s, output to logPath.
func startPinned(cpu int, s sched, logPath, name string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	full := append([]string{"-c", strconv.Itoa(cpu)}, s.wrap(name, args...)...)
	cmd := exec.Command("taskset", full...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, logPath: logPath, logFile: f, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// stop sends SIGTERM and waits, killing the process after grace. It is idempotent.
func (p *proc) stop(grace time.Duration) error {
	if p == nil || p.cmd.Process == nil {
		return nil
	}
	select {
	case err := <-p.done:
		p.done <- err
		p.logFile.Close()
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		err = <-p.done
		err = fmt.Errorf("did not stop within %v of SIGTERM (killed): %v", grace, err)
	}
	p.done <- err
	p.logFile.Close()
	return err
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// engine is a running hotline serve.
type engine struct {
	*proc
	sipAddr string
	httpURL string
}

// engineOptions say how to start the engine for a regime.
type engineOptions struct {
	flowDir, flow string // "" for the sample flow built into the binary
	logLevel      string
	pprof         bool // serve /debug/pprof (http.pprof) for the profile
}

// startEngine writes a configuration suited to load (log level warn, a wide RTP
// port range, a persistent prompt cache, a fresh data directory: call records of
// earlier steps and runs would otherwise pile up in one database, ./data by default,
// and its growing indexes would be measured as the engine's cost) and starts the engine pinned to the
// engine's CPU, then waits until it answers /healthz.
func (d *driver) startEngine(ctx context.Context, o engineOptions, tag string) (*engine, error) {
	sipPort, err := freePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if o.logLevel == "" {
		o.logLevel = "warn"
	}
	dataDir := filepath.Join(d.work, tag+"-data")
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`# written by bench/capacity for one benchmark step
data_dir: %q
sip:
  listen: ["udp:127.0.0.1:%d"]
http:
  listen: "127.0.0.1:%d"
  pprof: %t
rtp:
  port_min: %d
  port_max: %d
tts:
  cache_dir: %q
log:
  level: %s
`, dataDir, sipPort, httpPort, o.pprof, benchRTPMin, benchRTPMax, d.ttsDir, o.logLevel)
	confPath := filepath.Join(d.work, tag+"-engine.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{"serve", "--config", confPath}
	if o.flowDir != "" {
		args = append(args, "--flows", o.flowDir, "--flow", o.flow)
	}
	p, err := startPinned(d.engineCPU, d.sched, filepath.Join(d.work, tag+"-engine.log"), d.hotline, args...)
	if err != nil {
		return nil, err
	}
	e := &engine{proc: p, sipAddr: fmt.Sprintf("127.0.0.1:%d", sipPort), httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if e.exited() {
			return nil, fmt.Errorf("engine exited at start; log %s:\n%s", p.logPath, tail(p.logPath, 20))
		}
		resp, err := http.Get(e.httpURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = e.stop(5 * time.Second)
			return nil, fmt.Errorf("engine not healthy within 60s; log %s", p.logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// renderPrompts starts the engine once at log level info and waits for its "prompts
// pre-rendered" line, so every later start finds the flow's prompts in the cache
// and the steps measure calls, not espeak-ng.
func (d *driver) renderPrompts(ctx context.Context, o engineOptions, tag string) error {
	o.logLevel = "info"
	e, err := d.startEngine(ctx, o, tag+"-render")
	if err != nil {
		return err
	}
	defer e.stop(15 * time.Second)
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if b, _ := os.ReadFile(e.logPath); bytes.Contains(b, []byte("prompts pre-rendered")) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("prompts not rendered within 3 minutes; log %s", e.logPath)
}

// freePort returns a port free for UDP and TCP on 127.0.0.1.
func freePort() (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			pc.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cpuTimes is one line of /proc/stat for one CPU, in USER_HZ ticks.
type cpuTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal uint64
}

func (c cpuTimes) total() uint64 {
	return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal
}

// readCPU returns the times of one CPU from /proc/stat.
func readCPU(cpu int) (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	prefix := "cpu" + strconv.Itoa(cpu) + " "
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)[1:]
		v := make([]uint64, 8)
		for i := range min(8, len(f)) {
			v[i], _ = strconv.ParseUint(f[i], 10, 64)
		}
		return cpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	return cpuTimes{}, fmt.Errorf("/proc/stat has no cpu%d", cpu)
}

// cpuShare is what one CPU did between two readings, as fractions of the interval.
type cpuShare struct {
	Busy    float64 `json:"busy"`    // user + nice + system + irq + softirq
	Softirq float64 `json:"softirq"` // network receive work outside any process's time
	Steal   float64 `json:"steal"`   // time the hypervisor gave another guest
}

func share(a, b cpuTimes) cpuShare {
	dt := float64(b.total() - a.total())
	if dt <= 0 {
		return cpuShare{}
	}
	busy := float64((b.user + b.nice + b.system + b.irq + b.softirq) - (a.user + a.nice + a.system + a.irq + a.softirq))
	return cpuShare{Busy: round3(busy / dt), Softirq: round3(float64(b.softirq-a.softirq) / dt), Steal: round3(float64(b.steal-a.steal) / dt)}
}

// runQueueWait is the time the process's threads spent runnable but waiting for a
// CPU (the second field of /proc/<pid>/task/*/schedstat): the measure of whether
// anything kept the engine or the generator from running when it had work.
func runQueueWait(pid int) (time.Duration, error) {
	dir := "/proc/self/task"
	if pid > 0 {
		dir = fmt.Sprintf("/proc/%d/task", pid)
	}
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread just ended
		}
		f := strings.Fields(string(b))
		if len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			sum += time.Duration(v)
		}
	}
	return sum, nil
}

// loadAvg returns the 1-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// Machine describes where the figures were measured.
type Machine struct {
	Nproc     int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
	MemTotal  string `json:"mem_total"`
}

func describeMachine() Machine {
	// runtime.NumCPU counts the CPUs this process may use, which taskset narrowed
	// to one; /proc/cpuinfo lists the machine's.
	m := Machine{Nproc: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n := 0
		for line := range strings.Lines(string(b)) {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "processor":
				n++
			case "model name":
				if m.CPUModel == "" {
					m.CPUModel = strings.TrimSpace(v)
				}
			}
		}
		m.Nproc = max(n, 1)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(rest)
			}
		}
	}
	return m
}

// commit returns the short commit of the tree and whether it has uncommitted changes.
func commit() (string, bool) {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown", false
	}
	dirty := false
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		dirty = true
	}
	return strings.TrimSpace(string(out)), dirty
}

// engineBuild names the engine binary and the commit its build information
// records ("bin/hotline, built from 1214091"; "with uncommitted changes" when the
// tree was modified), so results of an A/B run say which engine each one measured.
func engineBuild(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return path + " (no build information: " + err.Error() + ")"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return path + " (built without version control information; sha256 " + fileDigest(path) + ")"
	}
	if len(rev) > 7 {
		rev = rev[:7]
	}
	out := path + ", built from " + rev
	if modified == "true" {
		out += " with uncommitted changes"
	}
	return out
}

// fileDigest is the first 12 hex digits of path's SHA-256, which tells builds
// apart when they carry no commit.
func fileDigest(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unknown"
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
