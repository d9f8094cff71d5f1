package vad

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkProcess measures one frame on speech in noise (the stream
// loops, so the detector keeps switching between speech and noise).
// cpu-ns/op is the CPU time per frame per call direction, which unlike
// ns/op does not grow when other jobs load the machine.
func BenchmarkProcess(b *testing.B) {
	for _, c := range []struct {
		rate  int
		frame time.Duration
	}{
		{8000, 20 * time.Millisecond},
		{16000, 20 * time.Millisecond},
		{48000, 20 * time.Millisecond},
		{8000, 10 * time.Millisecond},
		{8000, 30 * time.Millisecond},
	} {
		pcm := burst(c.rate, 4*time.Second, time.Second, 1500*time.Millisecond, -20, -45)
		d := mustNew(b, Config{SampleRate: c.rate, FrameDuration: c.frame})
		fl := d.FrameLen()
		b.Run(fmt.Sprintf("%dHz/%v", c.rate, c.frame), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			i := 0
			start, ok := threadCPU()
			for b.Loop() {
				if i+fl > len(pcm) {
					i = 0
				}
				d.Process(pcm[i : i+fl])
				i += fl
			}
			if end, ok2 := threadCPU(); ok && ok2 {
				b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkNew is the per-call setup cost (tables, buffers).
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Config{SampleRate: 8000}); err != nil {
			b.Fatal(err)
		}
	}
}
