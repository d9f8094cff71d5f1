package plc

import (
	"fmt"
	"slices"
	"testing"
)

var benchRates = []int{8000, 16000, 48000}

// voicedFrames returns a concealer fed with half a second of the harmonic
// tone and a 20 ms frame of it to keep feeding.
func voicedFrames(tb testing.TB, rate int) (*Concealer, []int16) {
	tb.Helper()
	c, err := New(rate)
	if err != nil {
		tb.Fatal(err)
	}
	x := harmonic(rate, 0.5)
	c.Good(slices.Clone(x))
	return c, slices.Clone(x[:rate/50])
}

// TestZeroAllocs keeps the per-frame promise in the ordinary test run:
// neither recording a frame, nor starting, continuing and ending an
// erasure allocates.
func TestZeroAllocs(t *testing.T) {
	for _, rate := range benchRates {
		c, frame := voicedFrames(t, rate)
		lost := make([]int16, len(frame))
		i := 0
		a := testing.AllocsPerRun(200, func() {
			i++
			if i%4 == 0 {
				c.Conceal(lost)
			} else {
				c.Good(frame)
			}
		})
		if a != 0 {
			t.Errorf("%d Hz: %v allocations per frame", rate, a)
		}
	}
}

// BenchmarkGood is the cost of recording one played 20 ms frame: paid on
// every frame of every call using G.711 or G.722.
func BenchmarkGood(b *testing.B) {
	for _, rate := range benchRates {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			c, frame := voicedFrames(b, rate)
			b.ReportAllocs()
			for b.Loop() {
				c.Good(frame)
			}
		})
	}
}

// BenchmarkConceal is the cost of the first concealed 20 ms frame of an
// erasure (pitch search and synthesis) plus the good frame before it; later
// frames of the same erasure cost only the synthesis.
func BenchmarkConceal(b *testing.B) {
	for _, rate := range benchRates {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			c, frame := voicedFrames(b, rate)
			lost := make([]int16, len(frame))
			b.ReportAllocs()
			for b.Loop() {
				c.Good(frame)
				c.Conceal(lost)
			}
		})
	}
}
