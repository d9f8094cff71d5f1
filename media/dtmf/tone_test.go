package dtmf

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// TestAppendToneRoundTrip sends every digit through the Detector at each
// supported rate.
func TestAppendToneRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		var pcm []int16
		for i := range len(keypad) {
			var err error
			if pcm, err = AppendTone(pcm, keypad[i], rate, 50*time.Millisecond, DefaultToneLevel); err != nil {
				t.Fatal(err)
			}
			pcm = append(pcm, make([]int16, rate/20)...) // 50 ms pause
		}
		if got := detect(t, pcm, rate, frame(rate)); got != keypad {
			t.Errorf("%d Hz: got %q, want %q", rate, got, keypad)
		}
	}
}

// amplitudeAt measures the amplitude of the sine at hz in pcm with one DFT
// bin over the whole signal.
func amplitudeAt(pcm []int16, hz float64, rate int) float64 {
	var x complex128
	w := 2 * math.Pi * hz / float64(rate)
	for n, v := range pcm {
		x += complex(float64(v), 0) * cmplx.Exp(complex(0, -w*float64(n)))
	}
	return 2 * cmplx.Abs(x) / float64(len(pcm))
}

// TestAppendToneLevel checks the generated levels against the G.711
// reference independently of dBm0Peak: the standard pair (-10 and -8 dBm0,
// together -5.9 dBm0) is 3.17 dB further below a full-scale sine, which
// is -3.01 dBFS.
func TestAppendToneLevel(t *testing.T) {
	pcm, err := AppendTone(nil, '5', 8000, time.Second, DefaultToneLevel)
	if err != nil {
		t.Fatal(err)
	}
	total := 10 * math.Log10(math.Pow(10, -1)+math.Pow(10, -0.8)) // dBm0
	want := total - 3.17 - 10*math.Log10(2)
	if got := audio.DBFS(pcm); math.Abs(got-want) > 0.02 {
		t.Errorf("level %.3f dBFS, want %.3f", got, want)
	}
	for _, tc := range []struct{ hz, dBm0 float64 }{{770, -10}, {1336, -8}} {
		got := 20*math.Log10(amplitudeAt(pcm, tc.hz, 8000)/math.Sqrt2/32768) + 3.17 + 10*math.Log10(2)
		if math.Abs(got-tc.dBm0) > 0.05 {
			t.Errorf("%v Hz at %.2f dBm0, want %v", tc.hz, got, tc.dBm0)
		}
	}
	loud, err := AppendTone(nil, 'D', 8000, time.Second, MaxToneLevel)
	if err != nil {
		t.Fatal(err)
	}
	if peak := max(slices.Max(loud), -slices.Min(loud)); peak >= math.MaxInt16 {
		t.Errorf("MaxToneLevel clips: peak %d", peak)
	}
}

// TestAppendToneMatchesSox compares the generator with sox's synth at the
// same frequencies and levels, sample by sample.
func TestAppendToneMatchesSox(t *testing.T) {
	s := newSox(t)
	for _, rate := range []int{8000, 16000} {
		for _, digit := range []byte("1#D") {
			p := digitPair(digit, 200*time.Millisecond)
			want, _ := s.read(s.tone(rate, p))
			got, err := AppendTone(nil, digit, rate, p.dur, p.lowDB)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d samples, sox %d", len(got), len(want))
			}
			worst := 0
			for i := range got {
				worst = max(worst, int(math.Abs(float64(got[i])-float64(want[i]))))
			}
			if worst > 3 { // sox dithers ±1 and rounds its own way
				t.Errorf("%d Hz %c: differs from sox by up to %d", rate, digit, worst)
			}
		}
	}
}

func TestAppendToneErrors(t *testing.T) {
	dst := []int16{1, 2, 3}
	cases := []struct {
		digit byte
		rate  int
		dur   time.Duration
		level float64
		want  error
	}{
		{'E', 8000, time.Second, -10, ErrUnknownEvent},
		{0, 8000, time.Second, -10, ErrUnknownEvent},
		{'5', 11025, time.Second, -10, ErrSampleRate},
		{'5', 0, time.Second, -10, ErrSampleRate},
		{'5', 8000, 0, -10, ErrBadDuration},
		{'5', 8000, -time.Second, -10, ErrBadDuration},
		{'5', 8000, time.Microsecond, -10, ErrBadDuration},
		{'5', 8000, 2 * time.Minute, -10, ErrBadDuration},
		{'5', 8000, time.Second, -3, ErrBadLevel},
		{'5', 8000, time.Second, -61, ErrBadLevel},
		{'5', 8000, time.Second, math.NaN(), ErrBadLevel},
		{'5', 8000, time.Second, math.Inf(1), ErrBadLevel},
	}
	for _, tc := range cases {
		got, err := AppendTone(dst, tc.digit, tc.rate, tc.dur, tc.level)
		if !errors.Is(err, tc.want) {
			t.Errorf("AppendTone(%q, %d, %v, %v): err %v, want %v", tc.digit, tc.rate, tc.dur, tc.level, err, tc.want)
		}
		if !slices.Equal(got, dst) {
			t.Errorf("AppendTone(%q, ...) changed dst on error", tc.digit)
		}
	}
	got, err := AppendTone(dst, 'a', 8000, time.Millisecond, MinToneLevel)
	if err != nil || len(got) != 3+8 || !slices.Equal(got[:3], dst) {
		t.Errorf("AppendTone appending 1 ms of 'a': %d samples, %v", len(got), err)
	}
}

// readAll drains a ToneSource in frames of n samples.
func readAll(t testing.TB, s *ToneSource, n int) []int16 {
	t.Helper()
	var pcm []int16
	buf := make([]int16, n)
	for i := 0; ; i++ {
		k, err := s.Read(buf)
		if err == io.EOF {
			if k != 0 {
				t.Fatalf("Read returned %d samples with io.EOF", k)
			}
			return pcm
		}
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 || i > 1<<20 {
			t.Fatal("Read made no progress")
		}
		pcm = append(pcm, buf[:k]...)
	}
}

func TestToneSource(t *testing.T) {
	const digits = "0123456789*#ABCDabcd"
	for _, rate := range []int{8000, 16000, 48000} {
		src, err := NewToneSource(digits, rate, 70*time.Millisecond, 50*time.Millisecond, DefaultToneLevel)
		if err != nil {
			t.Fatal(err)
		}
		if src.SampleRate() != rate {
			t.Errorf("SampleRate %d", src.SampleRate())
		}
		pcm := readAll(t, src, frame(rate))
		if want := len(digits) * rate * 120 / 1000; len(pcm) != want {
			t.Errorf("%d Hz: %d samples, want %d", rate, len(pcm), want)
		}
		if got := detect(t, pcm, rate, frame(rate)); got != "0123456789*#ABCDABCD" {
			t.Errorf("%d Hz: detected %q", rate, got)
		}
		// The same samples as AppendTone and silence, however read.
		var want []int16
		for i := range len(digits) {
			want, _ = AppendTone(want, digits[i], rate, 70*time.Millisecond, DefaultToneLevel)
			want = append(want, make([]int16, rate*50/1000)...)
		}
		src, _ = NewToneSource(digits, rate, 70*time.Millisecond, 50*time.Millisecond, DefaultToneLevel)
		if got := readAll(t, src, 7); !slices.Equal(got, want) {
			t.Errorf("%d Hz: 7-sample reads differ from AppendTone", rate)
		}
	}
}

func TestToneSourceEdges(t *testing.T) {
	src, err := NewToneSource("5", 8000, 0, 0, DefaultToneLevel)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := src.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
	buf := make([]int16, 1500) // defaults: 100 ms + 100 ms = 1600 samples
	if n, err := src.Read(buf); n != 1500 || err != nil {
		t.Errorf("first Read = %d, %v", n, err)
	}
	if n, err := src.Read(buf); n != 100 || err != nil {
		t.Errorf("last Read = %d, %v, want the 100 samples left", n, err)
	}
	if slices.ContainsFunc(buf[:100], func(v int16) bool { return v != 0 }) {
		t.Error("the trailing pause is not silent")
	}
	for range 2 {
		if n, err := src.Read(buf); n != 0 || err != io.EOF {
			t.Errorf("Read at the end = %d, %v", n, err)
		}
	}
	empty, err := NewToneSource("", 8000, 0, 0, DefaultToneLevel)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := empty.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("empty source: %d, %v", n, err)
	}
}

func TestNewToneSourceErrors(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		digits  string
		rate    int
		on, off time.Duration
		level   float64
		want    error
	}{
		{"12x", 8000, 0, 0, -10, ErrUnknownEvent},
		{"1", 44100, 0, 0, -10, ErrSampleRate},
		{"", 44100, 0, 0, -10, ErrSampleRate},
		{"1", 8000, 30 * ms, 0, -10, ErrBadDuration},
		{"1", 8000, 0, 39 * ms, -10, ErrBadDuration},
		{"1", 8000, -ms, 0, -10, ErrBadDuration},
		{"1", 8000, 0, 2 * time.Minute, -10, ErrBadDuration},
		{"1", 8000, 0, 0, 0, ErrBadLevel},
		{"", 8000, 0, 0, math.NaN(), ErrBadLevel},
	}
	for _, tc := range cases {
		if _, err := NewToneSource(tc.digits, tc.rate, tc.on, tc.off, tc.level); !errors.Is(err, tc.want) {
			t.Errorf("NewToneSource(%q, %d, %v, %v, %v): %v, want %v", tc.digits, tc.rate, tc.on, tc.off, tc.level, err, tc.want)
		}
	}
}

// TestToneSourceThroughULaw plays the source's output to a carrier: written
// as WAV, coded to G.711 μ-law by sox, decoded by media/audio.
func TestToneSourceThroughULaw(t *testing.T) {
	s := newSox(t)
	src, err := NewToneSource(keypad, 8000, MinToneTime, MinToneTime, DefaultToneLevel)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(s.file())
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAV(f, readAll(t, src, 160), 8000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pcm, _ := s.read(s.ulaw(f.Name()))
	if got := detect(t, pcm, 8000, 160); got != keypad {
		t.Errorf("Q.24 minimum timing through μ-law: got %q, want %q", got, keypad)
	}
}

func TestToneSourceZeroAllocs(t *testing.T) {
	src, err := NewToneSource("0123456789", 8000, 0, 0, DefaultToneLevel)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, 160)
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := src.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}

// BenchmarkToneSource measures one 20 ms frame of in-band digits.
func BenchmarkToneSource(b *testing.B) {
	for _, rate := range []int{8000, 16000} {
		b.Run(fmt.Sprintf("%dHz", rate), func(b *testing.B) {
			// 1000 minutes of tones: more than b.Loop asks for.
			src, err := NewToneSource(strings.Repeat("0123456789", 100), rate, time.Minute, MinToneTime, DefaultToneLevel)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]int16, frame(rate))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
