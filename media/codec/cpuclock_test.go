package codec

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// reportCPU adds a "cpu-ns/op" metric to a benchmark: the CPU time its
// goroutine's thread used per iteration. On a shared machine the wall-clock
// ns/op also counts the time the benchmark waited for a CPU; this does not.
// Call it after setup and defer the function it returns:
//
//	defer reportCPU(b)()
//	for b.Loop() { ... }
func reportCPU(b *testing.B) func() {
	runtime.LockOSThread()
	start, ok := threadCPU()
	return func() {
		end, ok2 := threadCPU()
		runtime.UnlockOSThread()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// rusageThread is Linux's RUSAGE_THREAD, which package syscall does not
// name; elsewhere Getrusage fails and the metric is left out.
const rusageThread = 1

func threadCPU() (time.Duration, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
