//go:build !linux

package vad

import "time"

// threadCPU is only available on Linux; elsewhere the benchmarks report
// wall-clock time alone.
func threadCPU() (time.Duration, bool) { return 0, false }
