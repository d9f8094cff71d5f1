//go:build linux

package main

import (
	"fmt"
	"sync"
	"syscall"
	"time"
)

// The RTP pacing the tests measure is the engine's only while the engine's process
// gets the CPU. On a shared machine a busy neighbour can keep the whole test process
// off the CPU for hundreds of milliseconds; the media clock then falls behind and
// catches up, and that is the host's doing, not the engine's. The scheduling monitor
// tells the two apart: a goroutine that should wake every 5 ms notes each time it
// woke much later, with the CPU time the process used meanwhile. A late wake-up while
// the process used less than one core means it was starved (excusable); one while it
// used both cores means the process itself was busy, and the engine gets no excuse.

const (
	monitorEvery   = 5 * time.Millisecond
	stallThreshold = 60 * time.Millisecond // later than this is a stall; shorter ones are the engine's to absorb
	starvedBelow   = 1.0                   // cores used during a stall, below which the host is to blame
)

// stall is one late wake-up of the monitor.
type stall struct {
	from, to time.Time
	cores    float64 // CPU time the process used during it, in cores
}

func (s stall) starved() bool { return s.cores < starvedBelow }

var schedMonitor struct {
	mu     sync.Mutex
	stalls []stall
	stop   chan struct{}
	done   chan struct{}
}

// startSchedMonitor starts the monitor; stopSchedMonitor ends it (TestMain).
func startSchedMonitor() {
	schedMonitor.stop = make(chan struct{})
	schedMonitor.done = make(chan struct{})
	go func() {
		defer close(schedMonitor.done)
		tick := time.NewTicker(monitorEvery)
		defer tick.Stop()
		last, lastCPU := time.Now(), processCPU()
		for {
			select {
			case <-schedMonitor.stop:
				return
			case <-tick.C:
			}
			now, cpu := time.Now(), processCPU()
			if gap := now.Sub(last); gap > stallThreshold {
				schedMonitor.mu.Lock()
				schedMonitor.stalls = append(schedMonitor.stalls, stall{from: last, to: now, cores: float64(cpu-lastCPU) / float64(gap)})
				schedMonitor.mu.Unlock()
			}
			last, lastCPU = now, cpu
		}
	}()
}

func stopSchedMonitor() {
	close(schedMonitor.stop)
	<-schedMonitor.done
}

// processCPU is the user and system CPU time of the whole process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stallsBetween returns the monitor's stalls that overlap [from, to].
func stallsBetween(from, to time.Time) []stall {
	schedMonitor.mu.Lock()
	defer schedMonitor.mu.Unlock()
	var out []stall
	for _, s := range schedMonitor.stalls {
		if s.to.After(from) && s.from.Before(to) {
			out = append(out, s)
		}
	}
	return out
}

// excusedWindows are the stretches of [from, to] in which pacing is not the engine's
// to answer for: each starvation stall and the catch-up after it (the media clock
// sends at most five frames a tick, so a lag of L takes about L/4 to work off).
func excusedWindows(from, to time.Time) (windows [][2]time.Time, summary string) {
	var starved, busy int
	var longest time.Duration
	for _, s := range stallsBetween(from, to) {
		if !s.starved() {
			busy++
			continue
		}
		starved++
		longest = max(longest, s.to.Sub(s.from))
		d := s.to.Sub(s.from)
		windows = append(windows, [2]time.Time{s.from.Add(-20 * time.Millisecond), s.to.Add(d/2 + 60*time.Millisecond)})
	}
	summary = fmt.Sprintf("%d starvation stalls of the test process (longest %v), %d stalls while it was busy itself",
		starved, longest.Round(time.Millisecond), busy)
	return windows, summary
}

func inWindows(at time.Time, windows [][2]time.Time) bool {
	for _, w := range windows {
		if !at.Before(w[0]) && !at.After(w[1]) {
			return true
		}
	}
	return false
}
