package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const (
	g722Frame20ms = 320 // samples per 20 ms at 16 kHz
	g722MaxDelay  = 64  // generous bound for the QMF pair's delay, in samples
)

func newG722(t testing.TB) (*g722Encoder, *g722Decoder) {
	t.Helper()
	e, err := G722.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	d, err := G722.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	return e.(*g722Encoder), d.(*g722Decoder)
}

// g722RoundTrip encodes pcm in one call and decodes the result.
func g722RoundTrip(t testing.TB, pcm []int16) ([]byte, []int16) {
	t.Helper()
	enc, dec := newG722(t)
	codes := make([]byte, len(pcm)/2)
	if _, err := enc.Encode(codes, pcm); err != nil {
		t.Fatal(err)
	}
	out := make([]int16, len(pcm))
	if _, err := dec.Decode(out, codes); err != nil {
		t.Fatal(err)
	}
	return codes, out
}

func TestG722Description(t *testing.T) {
	c := G722
	if c.Name() != "G722" || c.ClockRate() != 8000 || c.SampleRate() != 16000 ||
		c.Channels() != 1 || c.StaticPayloadType() != 9 {
		t.Errorf("got name=%s clock=%d rate=%d ch=%d pt=%d",
			c.Name(), c.ClockRate(), c.SampleRate(), c.Channels(), c.StaticPayloadType())
	}
	if s := c.(interface{ String() string }).String(); s != "G722/8000" {
		t.Errorf("String() = %q", s)
	}
	if !ValidPtime(c, 20*time.Millisecond) || !ValidPtime(c, 30*time.Millisecond) || ValidPtime(c, 0) {
		t.Error("ValidPtime: G.722 takes any whole number of sample pairs")
	}
}

// readS16 reads a raw little-endian 16-bit file from testdata/g722.
func readS16(t *testing.T, name string) []int16 {
	t.Helper()
	raw := readG722File(t, name)
	out := make([]int16, len(raw)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return out
}

func readG722File(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "g722", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestG722MatchesSpandsp compares with spandsp 0.0.6 (Debian libspandsp2),
// an independent implementation checked against the ITU-T test sequences,
// on two seconds of sweeps, tones, noise, overload and silence
// (testdata/g722/spandsp_ref.c). The ITU-T G.722 test sequences themselves
// are not on this machine. The encoder must match bit for bit. The decoder
// must match before its final 16-bit conversion: spandsp truncates the
// receive QMF's output to 16 bits, wrapping overshoots near full scale
// around to the opposite sign, where we saturate.
func TestG722MatchesSpandsp(t *testing.T) {
	in := readS16(t, "input.s16")
	want := readG722File(t, "input.g722")
	enc, _ := newG722(t)
	got := make([]byte, len(in)/2)
	if _, err := enc.Encode(got, in); err != nil {
		t.Fatal(err)
	}
	if i := mismatch(got, want); i >= 0 {
		t.Fatalf("encoder differs from spandsp first at octet %d (%.4f s): got %#02x, want %#02x",
			i, float64(2*i)/16000, got[i], want[i])
	}

	for _, tc := range []struct{ codes, decoded string }{
		{"input.g722", "input.dec.s16"},
		{"random.g722", "random.dec.s16"}, // codes an encoder rarely emits
	} {
		t.Run(tc.codes, func(t *testing.T) {
			codes, ref := readG722File(t, tc.codes), readS16(t, tc.decoded)
			_, dec := newG722(t)
			clipped := 0
			for i, code := range codes {
				x0, x1 := dec.decodeOctet(int(code))
				for k, x := range [2]int{x0, x1} {
					j := 2*i + k
					if int16(x) != ref[j] {
						t.Fatalf("sample %d: %d (wraps to %d), spandsp %d", j, x, int16(x), ref[j])
					}
					if sat16(x) != x {
						clipped++
					}
				}
			}
			t.Logf("%d samples identical; %d of them overshoot 16 bits (saturated by Decode, wrapped by spandsp)",
				len(ref), clipped)
		})
	}
}

func mismatch(a, b []byte) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// g722Delay is the codec delay of the transmit and receive QMF pair: two
// 24-tap linear-phase filters, 11.5 samples each at 16 kHz, less the half
// sample the 8 kHz sub-band sampling shifts (1.375 ms). TestG722Delay
// measures it.
const g722Delay = 22

// TestG722Delay finds the codec delay on white noise, where (unlike a
// tone) only the true lag lines input and output up.
func TestG722Delay(t *testing.T) {
	in := noise(16000, 8000, 5)
	_, out := g722RoundTrip(t, in)
	snr, lag := alignedSNR(in, out, 1600, len(in)-g722MaxDelay, g722MaxDelay)
	t.Logf("white noise: SNR %.1f dB at delay %d samples", snr, lag)
	if lag != g722Delay {
		t.Errorf("delay %d samples, want %d", lag, g722Delay)
	}
	// Half of white noise's power lies in the 2-bit higher sub-band.
	if snr < 10 {
		t.Errorf("white noise SNR %.1f dB < 10 dB", snr)
	}
}

// TestG722Tones measures tones through encoder and decoder, compared with
// the input delayed by g722Delay after 100 ms of adaptation. G.722 covers
// 0-8 kHz: the QMF splits it at 4 kHz, the higher sub-band gets 2 bits per
// sample (hence the lower SNR above 4 kHz), and the receive QMF cancels the
// aliasing between the halves, so tones anywhere in the band come back at
// their level, 7.8 kHz included. Band-limiting to 7 kHz is the job of the
// "audio parts" before the encoder (G.722 clause 1.2), which in hotline is
// the resampler feeding the codec (passband 6.8 kHz, stopband 8 kHz).
func TestG722Tones(t *testing.T) {
	const n, skip = 16000, 1600
	tests := []struct {
		freq   float64
		amp    float64
		minSNR float64
	}{
		{1000, 10000, 40},
		{5000, 10000, 20}, // higher sub-band
		{7000, 10000, 20}, // top of the nominal 50-7000 Hz band
		{7800, 10000, 20}, // above it: see the comment on the test
		{1000, 30000, 40}, // -0.8 dBFS
		{1000, 300, 30},   // -41 dBFS
		{300, 10000, 40},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%.0fHz_%.0f", tc.freq, tc.amp), func(t *testing.T) {
			in := tone(tc.freq, g722SampleRate, n, tc.amp)
			_, out := g722RoundTrip(t, in)
			ref, got := in[skip:n-g722Delay], out[skip+g722Delay:]
			snr := segmentSNR(ref, got)
			gain := dB(toneAmplitude(got, tc.freq, g722SampleRate) / toneAmplitude(ref, tc.freq, g722SampleRate))
			// The alias a QMF without cancellation would leave in the other
			// sub-band, at 8000 Hz - f, relative to the tone.
			alias := dB(toneAmplitude(got, 8000-tc.freq, g722SampleRate) / tc.amp)
			t.Logf("%4.0f Hz peak %5.0f: SNR %.1f dB, gain %+.2f dB, alias at %.0f Hz %.0f dB",
				tc.freq, tc.amp, snr, gain, 8000-tc.freq, alias)
			if snr < tc.minSNR {
				t.Errorf("SNR %.1f dB < %.0f dB", snr, tc.minSNR)
			}
			if gain < -0.5 || gain > 0.5 {
				t.Errorf("gain %+.2f dB, want within 0.5 dB", gain)
			}
			if alias > -40 {
				t.Errorf("alias at %.0f Hz is %.0f dB, want below -40 dB", 8000-tc.freq, alias)
			}
		})
	}
}

// TestG722SilenceStaysSilent: G.722's lower-band quantizer has no zero
// level (its smallest outputs are +-136/32768 of the scale factor, Block
// 5L), so silence decodes to a few LSB of idle noise, never more.
func TestG722SilenceStaysSilent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []int16
		maxDBFS float64 // RMS of the last 250 ms
	}{
		{"digital silence", make([]int16, 16000), -75},
		{"-80 dBFS noise", noise(16000, 6, 7), -72},
		{"silence after a loud tone", append(tone(1000, 16000, 8000, 30000), make([]int16, 8000)...), -75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out := g722RoundTrip(t, tc.in)
			tail := out[len(out)-4000:]
			var peak int16
			for _, v := range tail {
				peak = max(peak, v, -v)
			}
			level := dB(max(rms(tail), 1e-3) / 32768)
			t.Logf("last 250 ms: RMS %.1f dBFS, peak %d", level, peak)
			if level > tc.maxDBFS {
				t.Errorf("RMS %.1f dBFS, want <= %.0f dBFS", level, tc.maxDBFS)
			}
		})
	}
}

// TestG722FrameContinuity checks that state carries over between calls:
// coding frame by frame, in any split into sample pairs, gives the same
// octets and samples as coding the whole signal at once.
func TestG722FrameContinuity(t *testing.T) {
	in := append(tone(440, 16000, 8000, 12000), noise(8000, 9000, 3)...)
	wantCodes, wantPCM := g722RoundTrip(t, in)
	for _, frame := range []int{2, 160, g722Frame20ms, 640, 998} {
		enc, dec := newG722(t)
		codes := make([]byte, 0, len(in)/2)
		pcm := make([]int16, 0, len(in))
		buf := make([]byte, frame/2)
		out := make([]int16, frame)
		for off := 0; off < len(in); off += frame {
			chunk := in[off:min(off+frame, len(in))]
			n, err := enc.Encode(buf, chunk)
			if err != nil {
				t.Fatal(err)
			}
			codes = append(codes, buf[:n]...)
			m, err := dec.Decode(out, buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			pcm = append(pcm, out[:m]...)
		}
		if !bytes.Equal(codes, wantCodes) {
			t.Errorf("frames of %d: octets differ from one-shot encoding at %d", frame, mismatch(codes, wantCodes))
		}
		if !slices.Equal(pcm, wantPCM) {
			t.Errorf("frames of %d: samples differ from one-shot decoding", frame)
		}
	}
}

// TestG722Deterministic: two fresh codecs give identical bits, and decoding
// is a pure function of the octets received.
func TestG722Deterministic(t *testing.T) {
	in := noise(16000, 20000, 11)
	c1, p1 := g722RoundTrip(t, in)
	c2, p2 := g722RoundTrip(t, in)
	if !bytes.Equal(c1, c2) || !slices.Equal(p1, p2) {
		t.Error("two runs over the same input differ")
	}
}

func TestG722Errors(t *testing.T) {
	enc, dec := newG722(t)
	pcm := tone(1000, 16000, g722Frame20ms, 8000)
	payload := make([]byte, 160)
	if _, err := enc.Encode(payload, pcm[:319]); !errors.Is(err, ErrFrameSize) {
		t.Errorf("odd sample count: err = %v, want ErrFrameSize", err)
	}
	if _, err := enc.Encode(payload[:159], pcm); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short encode buffer: err = %v", err)
	}
	if n, err := enc.Encode(payload, pcm); n != 160 || err != nil {
		t.Fatalf("Encode = %d, %v", n, err)
	}
	out := make([]int16, g722Frame20ms)
	if _, err := dec.Decode(out[:319], payload); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short decode buffer: err = %v", err)
	}
	if n, err := dec.Decode(out, nil); n != 0 || err != nil {
		t.Errorf("empty payload: %d, %v", n, err)
	}
	if n, err := dec.Decode(out, payload); n != g722Frame20ms || err != nil {
		t.Errorf("Decode = %d, %v", n, err)
	}
}

func TestG722ZeroAllocs(t *testing.T) {
	enc, dec := newG722(t)
	pcm := tone(1000, 16000, g722Frame20ms, 8000)
	payload := make([]byte, 160)
	out := make([]int16, g722Frame20ms)
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = enc.Encode(payload, pcm)
		_, _ = dec.Decode(out, payload)
		_, _ = enc.Encode(payload, pcm[:1]) // the error path too
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 20 ms frame, want 0", allocs)
	}
}

// quantlScan is Block 1L QUANTL as the Recommendation writes it: a linear
// scan of the decision levels.
func quantlScan(el, det int) int {
	wd := el
	if el < 0 {
		wd = -(el + 1)
	}
	i := 1
	for ; i < 30; i++ {
		if wd < (q6[i]*det)>>12 {
			break
		}
	}
	if el < 0 {
		return iln[i]
	}
	return ilp[i]
}

// TestQuantlMatchesScan checks the division-and-table quantizer against the
// scan for every scale factor the lower band can reach, at every decision
// threshold (where an off-by-one would show) and at the extremes.
func TestQuantlMatchesScan(t *testing.T) {
	dets := map[int]bool{}
	for nb := 0; nb <= g722LowNBMax; nb++ {
		dets[scaleFactor(nb, g722LowShift)] = true
	}
	for nb := 0; nb <= g722HighNBMax; nb++ {
		if det := scaleFactor(nb, g722HighShift); det <= 0 {
			t.Fatalf("higher-band scale factor %d for nb %d", det, nb)
		}
	}
	checked := 0
	for det := range dets {
		if det <= 0 {
			t.Fatalf("lower-band scale factor %d: quantl divides by it", det)
		}
		wds := []int{0, 1, 32766, 32767}
		for i := 1; i < 30; i++ {
			thr := (q6[i] * det) >> 12
			wds = append(wds, thr-2, thr-1, thr, thr+1)
		}
		for _, wd := range wds {
			if wd < 0 || wd > 32767 {
				continue
			}
			for _, el := range []int{wd, -(wd + 1)} {
				if got, want := quantl(el, det), quantlScan(el, det); got != want {
					t.Fatalf("quantl(%d, det %d) = %d, scan gives %d", el, det, got, want)
				}
				checked++
			}
		}
	}
	t.Logf("%d scale factors, %d cases", len(dets), checked)
}
