package audio

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestRMSAndDBFS(t *testing.T) {
	square := make([]int16, 100)
	for i := range square {
		square[i] = math.MinInt16
		if i%2 == 0 {
			square[i] = math.MaxInt16
		}
	}
	tests := []struct {
		name   string
		pcm    []int16
		rms    float64
		dbfs   float64
		within float64
	}{
		{"empty", nil, 0, SilenceDBFS, 0},
		{"digital silence", make([]int16, 160), 0, SilenceDBFS, 0},
		{"two samples", []int16{3, -4}, math.Sqrt(12.5), 20 * math.Log10(math.Sqrt(12.5)/32768), 1e-9},
		{"constant 1000", []int16{1000, 1000, 1000}, 1000, -30.31, 0.01},
		{"full-scale square", square, 32767.5, 0, 0.001},
		{"half-scale sine", Tone(1000, 8000, time.Second, 0.5), 16384 / math.Sqrt2, -9.03, 0.01},
		{"one LSB", []int16{1}, 1, -90.31, 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RMS(tc.pcm); math.Abs(got-tc.rms) > 0.5 {
				t.Errorf("RMS = %v, want %v", got, tc.rms)
			}
			if got := DBFS(tc.pcm); math.Abs(got-tc.dbfs) > tc.within {
				t.Errorf("DBFS = %v, want %v", got, tc.dbfs)
			}
		})
	}
}

func TestTone(t *testing.T) {
	tests := []struct {
		name     string
		freq     float64
		rate     int
		dur      time.Duration
		amp      float64
		wantLen  int
		wantPeak int16
	}{
		{"20 ms at 8 kHz", 1000, 8000, 20 * time.Millisecond, 0.5, 160, 16384},
		{"rounds down to whole samples", 440, 22050, 10 * time.Millisecond, 1, 220, 32767},
		{"amplitude clamped high", 1000, 8000, time.Second, 7, 8000, 32767},
		{"amplitude clamped low", 1000, 8000, time.Second, -1, 8000, 0},
		{"zero rate", 1000, 0, time.Second, 1, 0, 0},
		{"negative duration", 1000, 8000, -time.Second, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Tone(tc.freq, tc.rate, tc.dur, tc.amp)
			if len(got) != tc.wantLen {
				t.Fatalf("len = %d, want %d", len(got), tc.wantLen)
			}
			if tc.wantLen == 0 {
				return
			}
			if peak := slices.Max(got); peak != tc.wantPeak {
				t.Errorf("peak = %d, want %d", peak, tc.wantPeak)
			}
		})
	}
	// The frequency is right: the DFT bin at 700 Hz holds the energy.
	pcm := Tone(700, 16000, time.Second, 0.5)
	if on, off := goertzelPower(pcm, 700, 16000), goertzelPower(pcm, 800, 16000); db(on/off) < 60 {
		t.Errorf("700 Hz tone: only %.1f dB above 800 Hz", db(on/off))
	}
}

func TestMix(t *testing.T) {
	tests := []struct {
		name     string
		dst, src []int16
		want     []int16
	}{
		{"adds", []int16{1, 2, 3}, []int16{10, 20, 30}, []int16{11, 22, 33}},
		{"saturates up", []int16{30000, 32767}, []int16{5000, 1}, []int16{32767, 32767}},
		{"saturates down", []int16{-30000, -32768}, []int16{-5000, -1}, []int16{-32768, -32768}},
		{"opposite signs cancel", []int16{32767, -32768}, []int16{-32767, 32767}, []int16{0, -1}},
		{"shorter src leaves the rest", []int16{1, 2, 3}, []int16{1}, []int16{2, 2, 3}},
		{"shorter dst ignores the rest", []int16{1}, []int16{1, 2, 3}, []int16{2}},
		{"empty", nil, []int16{1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			Mix(tc.dst, tc.src)
			if !slices.Equal(tc.dst, tc.want) {
				t.Errorf("got %v, want %v", tc.dst, tc.want)
			}
		})
	}
}

func BenchmarkMix(b *testing.B) {
	dst := make([]int16, 160)
	src := Tone(1000, 8000, 20*time.Millisecond, 0.5)
	b.ReportAllocs()
	for b.Loop() {
		Mix(dst, src)
	}
}

func BenchmarkDBFS(b *testing.B) {
	src := Tone(1000, 8000, 20*time.Millisecond, 0.5)
	b.ReportAllocs()
	for b.Loop() {
		DBFS(src)
	}
}
