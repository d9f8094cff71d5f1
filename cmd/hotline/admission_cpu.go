package main

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// How the CPU limit samples: every cpuSampleEvery, averaged over cpuWindow. A window
// of a couple of seconds rides out one busy moment (a burst of prompt synthesis, a
// garbage collection) yet turns within the time a caller waits for an answer.
const (
	cpuSampleEvery = 250 * time.Millisecond
	cpuWindow      = 2 * time.Second
	cpuSamples     = int(cpuWindow/cpuSampleEvery) + 1
)

// cpuSample is the process's CPU time at one moment.
type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

// cpuMeter tracks the CPU the engine process uses, as a fraction of the CPUs it may
// use, over a sliding window. The engine's own share is what matters: its media clock
// and RTP sockets miss their 20 ms deadlines once its threads want more CPU than the
// scheduler gives them, whatever else runs on the host.
type cpuMeter struct {
	read func() (time.Duration, bool) // the process's user+system CPU time so far
	cpus float64                      // CPUs the process may use

	mu   sync.Mutex
	ring [cpuSamples]cpuSample // the last samples, ring[next] the oldest once full
	next int
	n    int
	load float64 // over the samples in ring; 0 before two samples
}

// newCPUMeter measures read's CPU time against cpus CPUs.
func newCPUMeter(read func() (time.Duration, bool), cpus int) *cpuMeter {
	return &cpuMeter{read: read, cpus: float64(max(1, cpus))}
}

// sample reads the CPU time at now and updates the load over the window.
func (m *cpuMeter) sample(now time.Time) {
	cpu, ok := m.read()
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ring[m.next] = cpuSample{at: now, cpu: cpu}
	m.next = (m.next + 1) % cpuSamples
	m.n = min(m.n+1, cpuSamples)
	if m.n < 2 {
		return
	}
	oldest := m.ring[(m.next+cpuSamples-m.n)%cpuSamples]
	newest := m.ring[(m.next+cpuSamples-1)%cpuSamples]
	if wall := newest.at.Sub(oldest.at); wall > 0 {
		m.load = max(0, (newest.cpu-oldest.cpu).Seconds()/wall.Seconds()/m.cpus)
	}
}

// Load is the CPU used over the window as a fraction of the usable CPUs: 1 means
// every one of them busy all the time.
func (m *cpuMeter) Load() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load
}

// run samples every cpuSampleEvery until ctx ends.
func (m *cpuMeter) run(ctx context.Context) {
	tick := time.NewTicker(cpuSampleEvery)
	defer tick.Stop()
	m.sample(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			m.sample(now)
		}
	}
}

// processCPUTime is the user and system CPU time of this process, every thread
// included (cgo speech decoders too): one getrusage call, microsecond resolution.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// usableCPUs is how many CPUs the process may run on at once: GOMAXPROCS, which
// follows the scheduler affinity and a cgroup CPU quota, capped by the CPUs of the
// affinity mask.
func usableCPUs() int {
	return max(1, min(runtime.GOMAXPROCS(0), runtime.NumCPU()))
}
