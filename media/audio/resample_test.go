package audio

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const toneAmp = 0.5 // test tones peak at half scale (-9 dBFS RMS)

// toneSNR compares got[from:to] with an ideal sine of the given frequency
// and amplitude delayed by delay samples, and returns the ratio of signal
// power to error power in dB.
func toneSNR(got []int16, freq float64, rate int, delay float64, from, to int) float64 {
	amp := toneAmp * math.MaxInt16
	w := 2 * math.Pi * freq / float64(rate)
	var sig, noise float64
	for i := from; i < to; i++ {
		want := amp * math.Sin(w*(float64(i)-delay))
		d := float64(got[i]) - want
		sig += want * want
		noise += d * d
	}
	return 10 * math.Log10(sig/noise)
}

// goertzelPower returns the power of pcm at freq (Goertzel's algorithm, a
// single-bin DFT). A Hann window keeps a strong tone elsewhere from leaking
// into the bin, so stopband measurements see the filter, not the DFT.
func goertzelPower(pcm []int16, freq float64, rate int) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2, wsum float64
	for i, x := range pcm {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(len(pcm)-1))
		wsum += w
		s0 := w*float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return p / (wsum * wsum)
}

func db(x float64) float64 { return 10 * math.Log10(x) }

// streamFrames pushes pcm through r in 20 ms frames, as a call leg does.
func streamFrames(t testing.TB, r *Resampler, pcm []int16) []int16 {
	t.Helper()
	frame := r.InRate() / 50
	var out []int16
	buf := make([]int16, r.OutLen(frame))
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		m := r.Process(buf, pcm[:n])
		out = append(out, buf[:m]...)
		pcm = pcm[n:]
	}
	return out
}

func mustResampler(t testing.TB, in, out int) *Resampler {
	t.Helper()
	r, err := NewResampler(in, out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRoundTrip8k48k8k streams a 1 kHz tone up to 48 kHz and back in 20 ms
// frames and requires 40 dB SNR after aligning for the two group delays.
func TestRoundTrip8k48k8k(t *testing.T) {
	src := Tone(1000, 8000, time.Second, toneAmp)
	up, down := mustResampler(t, 8000, 48000), mustResampler(t, 48000, 8000)
	mid := streamFrames(t, up, src)
	got := streamFrames(t, down, mid)
	if len(got) != len(src) {
		t.Fatalf("round trip produced %d samples from %d", len(got), len(src))
	}
	delay := up.Delay()/6 + down.Delay()
	edge := up.taps + down.taps/6 // one filter length of 8 kHz samples
	snr := toneSNR(got, 1000, 8000, delay, int(delay)+edge, len(got)-edge)
	t.Logf("streamed 8k->48k->8k: delay %.2f samples, SNR %.1f dB", delay, snr)
	if snr < 40 {
		t.Errorf("SNR %.1f dB < 40 dB", snr)
	}

	// The whole-clip helper removes the delay itself: no alignment needed.
	mid, err := Resample(src, 8000, 48000)
	if err != nil {
		t.Fatal(err)
	}
	got, err = Resample(mid, 48000, 8000)
	if err != nil {
		t.Fatal(err)
	}
	snr = toneSNR(got, 1000, 8000, 0, edge, len(got)-edge)
	t.Logf("Resample 8k->48k->8k: SNR %.1f dB", snr)
	if len(got) != len(src) || snr < 40 {
		t.Errorf("Resample round trip: %d samples (want %d), SNR %.1f dB (want >= 40)", len(got), len(src), snr)
	}
}

// TestToneGain checks the frequency response: passband tones keep their
// level, tones above the output Nyquist (which would alias) are removed,
// and images created by upsampling are removed.
func TestToneGain(t *testing.T) {
	inf := math.Inf(-1)
	tests := []struct {
		in, out     int
		freq        float64 // tone at the input
		measure     float64 // frequency measured at the output
		minDB       float64
		maxDB       float64
		requirement string
	}{
		{16000, 8000, 3000, 3000, -1, 1, "3 kHz passes 16k->8k within 1 dB"},
		{16000, 8000, 5000, 3000, inf, -40, "5 kHz (aliasing to 3 kHz) attenuated >= 40 dB"},
		{16000, 8000, 300, 300, -1, 1, "300 Hz passes"},
		{8000, 48000, 1000, 1000, -1, 1, "1 kHz passes 8k->48k"},
		{8000, 48000, 1000, 7000, inf, -40, "7 kHz image of 1 kHz removed"},
		{8000, 16000, 3400, 4600, inf, -40, "4.6 kHz image of 3.4 kHz removed"},
		{48000, 8000, 3400, 3400, -1, 1, "3.4 kHz passes 48k->8k"},
		{48000, 8000, 10000, 2000, inf, -40, "10 kHz (aliasing to 2 kHz) removed"},
		{22050, 8000, 5000, 3000, inf, -40, "5 kHz removed 22050->8k"},
		{22050, 16000, 6800, 6800, -0.1, 0.1, "6.8 kHz passband edge is flat 22050->16k"},
		{48000, 16000, 8500, 7500, inf, -40, "8.5 kHz (aliasing to 7.5 kHz) removed 48k->16k"},
		{44100, 48000, 15000, 15000, -1, 1, "15 kHz passes 44.1k->48k"},
	}
	// A tone removed completely measures -Inf dB, which passes.
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d-%d/%gHz", tc.in, tc.out, tc.freq), func(t *testing.T) {
			src := Tone(tc.freq, tc.in, 500*time.Millisecond, toneAmp)
			got, err := Resample(src, tc.in, tc.out)
			if err != nil {
				t.Fatal(err)
			}
			r := mustResampler(t, tc.in, tc.out)
			edge := r.taps * max(1, tc.out/tc.in)
			ref := goertzelPower(src, tc.freq, tc.in)
			p := goertzelPower(got[edge:len(got)-edge], tc.measure, tc.out)
			gain := db(p / ref)
			t.Logf("%s: %.2f dB", tc.requirement, gain)
			if gain < tc.minDB || gain > tc.maxDB {
				t.Errorf("%s: gain %.2f dB outside [%g, %g]", tc.requirement, gain, tc.minDB, tc.maxDB)
			}
		})
	}
}

// TestEspeakRate22050To8000 covers the prompt path: espeak-ng synthesizes at
// 22050 Hz and calls run at 8 kHz (ratio 160/441).
func TestEspeakRate22050To8000(t *testing.T) {
	src := Tone(1000, 22050, time.Second, toneAmp)
	got, err := Resample(src, 22050, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8000 {
		t.Fatalf("got %d samples, want 8000", len(got))
	}
	edge := 64
	// The strongest DFT bin between 100 Hz and 3900 Hz must be 1 kHz.
	body := got[edge : len(got)-edge]
	peak, peakF := 0.0, 0.0
	for f := 100.0; f < 4000; f += 25 {
		if p := goertzelPower(body, f, 8000); p > peak {
			peak, peakF = p, f
		}
	}
	if peakF != 1000 {
		t.Errorf("strongest frequency %g Hz, want 1000", peakF)
	}
	snr := toneSNR(got, 1000, 8000, 0, edge, len(got)-edge)
	t.Logf("22050->8000: peak at %g Hz, SNR %.1f dB", peakF, snr)
	if snr < 40 {
		t.Errorf("SNR %.1f dB < 40 dB", snr)
	}

	// Streaming in 20 ms frames gives the same signal once delayed.
	r := mustResampler(t, 22050, 8000)
	streamed := streamFrames(t, r, src)
	d := r.Delay()
	snr = toneSNR(streamed, 1000, 8000, d, int(d)+edge, len(streamed)-edge)
	t.Logf("22050->8000 streamed: delay %.2f samples, SNR %.1f dB", d, snr)
	if snr < 40 {
		t.Errorf("streamed SNR %.1f dB < 40 dB", snr)
	}
}

var ratios = [][2]int{
	{8000, 16000}, {16000, 8000}, {8000, 48000}, {48000, 8000}, {16000, 48000},
	{48000, 16000}, {22050, 8000}, {22050, 16000}, {22050, 48000}, {44100, 48000},
	{48000, 44100}, {8000, 8000}, {11025, 8000},
}

// TestChunkingDoesNotMatter feeds random chunk sizes and checks the output
// is identical to one big call and never exceeds OutLen.
func TestChunkingDoesNotMatter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rt := range ratios {
		t.Run(fmt.Sprintf("%d-%d", rt[0], rt[1]), func(t *testing.T) {
			src := make([]int16, rt[0]/5)
			for i := range src {
				src[i] = int16(rng.IntN(20000) - 10000)
			}
			whole := mustResampler(t, rt[0], rt[1])
			want := make([]int16, whole.OutLen(len(src)))
			want = want[:whole.Process(want, src)]

			r := mustResampler(t, rt[0], rt[1])
			var got []int16
			for rest := src; len(rest) > 0; {
				n := min(len(rest), rng.IntN(3000))
				buf := make([]int16, r.OutLen(n))
				m := r.Process(buf, rest[:n])
				if m > r.OutLen(n) {
					t.Fatalf("Process wrote %d > OutLen(%d) = %d", m, n, r.OutLen(n))
				}
				got = append(got, buf[:m]...)
				rest = rest[n:]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("chunked output differs from one-shot output (%d vs %d samples)", len(got), len(want))
			}
			ideal := float64(len(src)) * float64(rt[1]) / float64(rt[0])
			if math.Abs(float64(len(got))-ideal) > 1 {
				t.Errorf("%d samples out, want about %.1f", len(got), ideal)
			}

			r.Reset()
			again := make([]int16, r.OutLen(len(src)))
			again = again[:r.Process(again, src)]
			if !slices.Equal(again, want) {
				t.Error("output after Reset differs from a fresh Resampler")
			}
		})
	}
}

func TestDCGainAndSaturation(t *testing.T) {
	for _, rt := range ratios {
		t.Run(fmt.Sprintf("%d-%d", rt[0], rt[1]), func(t *testing.T) {
			for _, level := range []int16{10000, -10000, math.MaxInt16, math.MinInt16} {
				src := make([]int16, rt[0]/10)
				for i := range src {
					src[i] = level
				}
				got, err := Resample(src, rt[0], rt[1])
				if err != nil {
					t.Fatal(err)
				}
				// Away from the clip edges the output must hold the level;
				// a full-scale step rings over the limit, which must clip
				// rather than wrap.
				mid := got[len(got)/2]
				if d := int(mid) - int(level); d < -1 || d > 1 {
					t.Errorf("level %d comes out as %d", level, mid)
				}
				for i, s := range got {
					if level > 0 && s < 0 || level < 0 && s > 0 {
						t.Fatalf("sample %d = %d has the wrong sign (wrapped?)", i, s)
					}
				}
			}
		})
	}
}

func TestShortDestinationDoesNotPanic(t *testing.T) {
	r := mustResampler(t, 8000, 48000)
	src := Tone(1000, 8000, 20*time.Millisecond, toneAmp)
	dst := make([]int16, 100)
	if n := r.Process(dst, src); n != 100 {
		t.Errorf("wrote %d, want 100 (the room available)", n)
	}
	if n := r.Process(nil, src); n != 0 {
		t.Errorf("wrote %d into nil", n)
	}
	if n := r.Process(make([]int16, r.OutLen(0)), nil); n != 0 {
		t.Errorf("wrote %d for no input", n)
	}
}

func TestNewResamplerRejects(t *testing.T) {
	tests := []struct{ in, out int }{
		{0, 8000}, {8000, 0}, {-8000, 8000}, {8000, 1 << 30},
		{8000, 8191}, // 8191 phases: ratio too awkward
		{1, 768000},  // filter far too long
		{768000, 10}, // filter far too long
	}
	for _, tc := range tests {
		if _, err := NewResampler(tc.in, tc.out); err == nil {
			t.Errorf("NewResampler(%d, %d) succeeded", tc.in, tc.out)
		} else {
			t.Logf("NewResampler(%d, %d): %v", tc.in, tc.out, err)
		}
	}
	if _, err := Resample([]int16{1}, 0, 8000); err == nil {
		t.Error("Resample with rate 0 succeeded")
	}
}

func TestResampleLengthAndCopy(t *testing.T) {
	for _, n := range []int{0, 1, 2, 159, 160, 441, 1000} {
		for _, rt := range ratios {
			src := make([]int16, n)
			got, err := Resample(src, rt[0], rt[1])
			if err != nil {
				t.Fatal(err)
			}
			want := (n*rt[1] + rt[0] - 1) / rt[0]
			if len(got) != want {
				t.Errorf("Resample(%d samples, %d->%d) = %d samples, want %d", n, rt[0], rt[1], len(got), want)
			}
		}
	}
	src := []int16{1, 2, 3}
	got, _ := Resample(src, 8000, 8000)
	got[0] = 9
	if src[0] != 1 {
		t.Error("Resample at equal rates aliases its input")
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	for _, rt := range ratios {
		r := mustResampler(t, rt[0], rt[1])
		src := Tone(1000, rt[0], 20*time.Millisecond, toneAmp)
		dst := make([]int16, r.OutLen(len(src)))
		if a := testing.AllocsPerRun(50, func() { r.Process(dst, src) }); a != 0 {
			t.Errorf("%v: %v allocations per frame", r, a)
		}
	}
}

func BenchmarkProcess(b *testing.B) {
	for _, rt := range [][2]int{{8000, 48000}, {48000, 8000}, {16000, 8000}, {8000, 16000}, {22050, 8000}} {
		r := mustResampler(b, rt[0], rt[1])
		src := Tone(1000, rt[0], 20*time.Millisecond, toneAmp)
		dst := make([]int16, r.OutLen(len(src)))
		b.Run(fmt.Sprintf("%d-%d/20ms", rt[0], rt[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Process(dst, src)
			}
		})
	}
}

func BenchmarkNewResampler(b *testing.B) {
	for _, rt := range [][2]int{{8000, 48000}, {22050, 8000}} {
		b.Run(fmt.Sprintf("%d-%d", rt[0], rt[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewResampler(rt[0], rt[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
