//go:build cgo

package codec

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hraban/opus"
)

const opusFrame20 = 960 // samples per 20 ms at 48 kHz

func newOpusPair(t testing.TB, c Codec) (*opusEncoder, *opusDecoder) {
	t.Helper()
	e, err := c.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	return e.(*opusEncoder), d.(*opusDecoder)
}

// encodeFrames encodes pcm in frames of frame samples (the last one padded
// with silence) and returns a copy of every payload.
func encodeFrames(t testing.TB, enc Encoder, pcm []int16, frame int) [][]byte {
	t.Helper()
	var pkts [][]byte
	buf := make([]byte, 1500)
	in := make([]int16, frame)
	for off := 0; off < len(pcm); off += frame {
		clear(in)
		copy(in, pcm[off:min(off+frame, len(pcm))])
		n, err := enc.Encode(buf, in)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, slices.Clone(buf[:n]))
	}
	return pkts
}

func TestOpusDescription(t *testing.T) {
	c := Opus
	if c.Name() != "opus" || c.ClockRate() != 48000 || c.SampleRate() != 48000 ||
		c.Channels() != 2 || c.StaticPayloadType() != -1 {
		t.Errorf("got name=%s clock=%d rate=%d ch=%d pt=%d",
			c.Name(), c.ClockRate(), c.SampleRate(), c.Channels(), c.StaticPayloadType())
	}
	if s := c.(interface{ String() string }).String(); s != "opus/48000/2" {
		t.Errorf("String() = %q", s)
	}
	for _, tc := range []struct {
		ptime time.Duration
		ok    bool
	}{
		{10 * time.Millisecond, true}, {20 * time.Millisecond, true}, {30 * time.Millisecond, false},
		{40 * time.Millisecond, true}, {60 * time.Millisecond, true}, {5 * time.Millisecond, false},
		{120 * time.Millisecond, false}, {0, false},
	} {
		if got := ValidPtime(c, tc.ptime); got != tc.ok {
			t.Errorf("ValidPtime(opus, %v) = %v, want %v", tc.ptime, got, tc.ok)
		}
	}
}

func TestOpusOptions(t *testing.T) {
	if NewOpus(OpusOptions{}) != Opus || NewOpus(OpusOptions{Bitrate: 24000, Complexity: 5}) != Opus {
		t.Error("options equivalent to the defaults should give a codec equal to Opus")
	}
	if NewOpus(OpusOptions{Bitrate: 32000}) == Opus {
		t.Error("a different bit rate should give a different codec")
	}
	bad := OpusOptions{Bitrate: 1000, PacketLossPercent: 101, Complexity: 11}
	err := bad.Validate()
	for _, want := range []string{"bitrate 1000", "packet loss 101", "complexity 11"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if _, err := NewOpus(bad).NewEncoder(); err == nil {
		t.Error("NewEncoder accepted invalid options")
	}
	for _, o := range []OpusOptions{
		{Bitrate: 6000, PacketLossPercent: 100, Complexity: 1, DisableFEC: true, DisableDTX: true},
		{Bitrate: 510000},
	} {
		if _, err := NewOpus(o).NewEncoder(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestOpusTone codes a 1 kHz tone in 20 ms frames. Opus is not a waveform
// coder, so the SNR against the input is modest; the tone's level and the
// absence of other components are what it must keep.
func TestOpusTone(t *testing.T) {
	in := tone(1000, opusRate, opusRate, 10000) // one second, -10 dBFS
	enc, dec := newOpusPair(t, Opus)
	pkts := encodeFrames(t, enc, in, opusFrame20)
	out := make([]int16, 0, len(in))
	buf := make([]int16, OpusMaxFrameSamples)
	bytes := 0
	for _, p := range pkts {
		n, err := dec.Decode(buf, p)
		if err != nil || n != opusFrame20 {
			t.Fatalf("Decode = %d, %v", n, err)
		}
		out = append(out, buf[:n]...)
		bytes += len(p)
	}
	// The tone repeats every 48 samples, so one period of lags finds the
	// best alignment (the true codec delay is TestOpusSpeech's).
	snr, lag := alignedSNR(in, out, 9600, len(in)-100, 100)
	ref := in[9600 : len(in)-100]
	got := out[9600+lag : len(in)-100+lag]
	gain := dB(toneAmplitude(got, 1000, opusRate) / toneAmplitude(ref, 1000, opusRate))
	// Everything in the output that is not the 1 kHz tone.
	other := dB(math.Sqrt(max(rms(got)*rms(got)-math.Pow(toneAmplitude(got, 1000, opusRate), 2)/2, 1e-9)) /
		(toneAmplitude(got, 1000, opusRate) / math.Sqrt2))
	t.Logf("1 kHz tone at %d bit/s target (%.1f kbit/s sent): SNR %.1f dB, gain %+.2f dB, non-tone power %.1f dB",
		DefaultOpusBitrate, float64(bytes*8)/1000, snr, gain, other)
	if snr < 10 {
		t.Errorf("SNR %.1f dB < 10 dB", snr)
	}
	if math.Abs(gain) > 1 {
		t.Errorf("gain %+.2f dB, want within 1 dB", gain)
	}
	if other > -20 {
		t.Errorf("non-tone power %.1f dB, want below -20 dB", other)
	}
}

func TestOpusFrameSizes(t *testing.T) {
	enc, dec := newOpusPair(t, Opus)
	buf := make([]byte, 1500)
	out := make([]int16, OpusMaxFrameSamples)
	for _, d := range Opus.(FrameSizer).FrameSizes() {
		n := int(d / (time.Second / opusRate))
		pcm := tone(440, opusRate, n, 8000)
		m, err := enc.Encode(buf, pcm)
		if err != nil {
			t.Fatalf("%v: Encode: %v", d, err)
		}
		if k, err := dec.Decode(out, buf[:m]); k != n || err != nil {
			t.Errorf("%v: Decode = %d, %v; want %d", d, k, err, n)
		}
		if n > opusFrame20 {
			if _, err := dec.Decode(out[:opusFrame20], buf[:m]); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("%v packet into a 20 ms buffer: err = %v, want ErrShortBuffer", d, err)
			}
		}
	}
	for _, n := range []int{0, 120, 240, 1440, 2400, 5760, 961} {
		if _, err := enc.Encode(buf, make([]int16, n)); !errors.Is(err, ErrFrameSize) {
			t.Errorf("Encode of %d samples: err = %v, want ErrFrameSize", n, err)
		}
	}
	if _, err := enc.Encode(buf[:0], make([]int16, opusFrame20)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("Encode into an empty buffer: err = %v", err)
	}
	for _, n := range []int{0, 100, 5880} {
		if _, err := dec.Conceal(out[:min(n, len(out))]); n <= len(out) && !errors.Is(err, ErrFrameSize) {
			t.Errorf("Conceal of %d samples: err = %v, want ErrFrameSize", n, err)
		}
	}
}

// TestOpusStereoPacket: a peer may send stereo (opus/48000/2 allows it);
// the mono decoder downmixes.
func TestOpusStereoPacket(t *testing.T) {
	senc, err := opus.NewEncoder(opusRate, 2, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	mono := tone(1000, opusRate, opusRate/2, 8000)
	_, dec := newOpusPair(t, Opus)
	stereo := make([]int16, 2*opusFrame20)
	pkt := make([]byte, 1500)
	out := make([]int16, OpusMaxFrameSamples)
	var got []int16
	for off := 0; off+opusFrame20 <= len(mono); off += opusFrame20 {
		for i, v := range mono[off : off+opusFrame20] {
			stereo[2*i], stereo[2*i+1] = v, v/2 // left full, right at half level
		}
		n, err := senc.Encode(stereo, pkt)
		if err != nil {
			t.Fatal(err)
		}
		if pkt[0]&0x04 == 0 {
			t.Fatalf("TOC %#02x: the test encoder did not produce a stereo packet", pkt[0])
		}
		m, err := dec.Decode(out, pkt[:n])
		if err != nil || m != opusFrame20 {
			t.Fatalf("Decode of a stereo packet = %d, %v", m, err)
		}
		got = append(got, out[:m]...)
	}
	level := toneAmplitude(got[len(got)/2:], 1000, opusRate)
	t.Logf("stereo (L 8000, R 4000) decoded to mono 1 kHz amplitude %.0f", level)
	if level < 4000 || level > 8500 {
		t.Errorf("downmixed amplitude %.0f, want about (8000+4000)/2", level)
	}
}

// TestOpusDTX: in silence the DTX encoder sends one- or two-byte payloads,
// which decode to a frame of near silence; an empty payload (a frame the
// sender left out) fills the last packet's duration.
func TestOpusDTX(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    OpusOptions
		wantDTX bool
	}{
		{"DTX on (default)", OpusOptions{}, true},
		{"DTX off", OpusOptions{DisableDTX: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, dec := newOpusPair(t, NewOpus(tc.opts))
			in := append(tone(500, opusRate, opusRate/2, 8000), make([]int16, 2*opusRate)...)
			pkts := encodeFrames(t, enc, in, opusFrame20)
			out := make([]int16, OpusMaxFrameSamples)
			small, peak := 0, 0.0
			for i, p := range pkts {
				n, err := dec.Decode(out, p)
				if err != nil || n != opusFrame20 {
					t.Fatalf("packet %d (%d bytes): Decode = %d, %v", i, len(p), n, err)
				}
				if len(p) <= 2 {
					small++
					peak = max(peak, rms(out[:n]))
				}
			}
			t.Logf("%d of %d packets in 2 s of silence were DTX (<= 2 bytes); their decoded RMS <= %.1f",
				small, len(pkts), peak)
			if tc.wantDTX && small < len(pkts)/2 {
				t.Errorf("only %d DTX packets", small)
			}
			if !tc.wantDTX && small > 0 {
				t.Errorf("%d DTX packets with DTX off", small)
			}
			if peak > 30 {
				t.Errorf("a DTX frame decoded to RMS %.1f, want near silence", peak)
			}
			if n, err := dec.Decode(out, nil); n != opusFrame20 || err != nil {
				t.Errorf("empty payload: Decode = %d, %v; want a 20 ms gap fill", n, err)
			}
			if _, err := dec.Decode(out[:100], nil); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("empty payload into 100 samples: err = %v", err)
			}
		})
	}
}

// opusPacketTests are framing cases from RFC 6716 section 3 with the
// duration each valid one decodes to.
var opusPacketTests = []struct {
	name    string
	pkt     []byte
	samples int // 0: invalid
}{
	{"empty (R1)", []byte{}, 0},
	{"code 0 SILK WB 20 ms", []byte{9 << 3, 1, 2, 3}, 960},
	{"code 0 TOC only (DTX)", []byte{9 << 3}, 960},
	{"code 0 CELT 2.5 ms", []byte{16 << 3, 0}, 120},
	{"code 0 hybrid FB 10 ms", []byte{14 << 3, 0}, 480},
	{"code 0 SILK 60 ms", []byte{3 << 3, 0}, 2880},
	{"code 0 1276-byte frame (R2)", append([]byte{9 << 3}, make([]byte, 1276)...), 0},
	{"code 1 two equal frames", []byte{9<<3 | 1, 1, 2, 3, 4}, 1920},
	{"code 1 odd length (R3)", []byte{9<<3 | 1, 1, 2, 3}, 0},
	{"code 2 lengths 1 and 2", []byte{9<<3 | 2, 1, 0xAA, 0xBB, 0xCC}, 1920},
	{"code 2 no length byte (R4)", []byte{9<<3 | 2}, 0},
	{"code 2 first frame too long (R4)", []byte{9<<3 | 2, 5, 1, 2}, 0},
	{"code 2 two-byte length", append([]byte{9<<3 | 2, 252, 1}, make([]byte, 256)...), 1920},
	{"code 2 two-byte length truncated (R4)", []byte{9<<3 | 2, 252}, 0},
	{"code 3 no count byte (R5)", []byte{9<<3 | 3}, 0},
	{"code 3 zero frames (R5)", []byte{9<<3 | 3, 0}, 0},
	{"code 3 CBR 3 x 20 ms", []byte{9<<3 | 3, 3, 1, 2, 3}, 2880},
	{"code 3 CBR 6 x 20 ms = 120 ms", []byte{9<<3 | 3, 6}, 5760},
	{"code 3 CBR 3 x 60 ms > 120 ms (R5)", []byte{3<<3 | 3, 3}, 0},
	{"code 3 CBR uneven (R6)", []byte{9<<3 | 3, 2, 1, 2, 3}, 0},
	{"code 3 CBR padding 2", []byte{9<<3 | 3, 0x40 | 2, 2, 1, 2, 0, 0}, 1920},
	{"code 3 padding 254+1 via 255", append([]byte{9<<3 | 3, 0x40 | 1, 255, 1}, make([]byte, 255)...), 960},
	{"code 3 padding beyond packet (R6)", []byte{9<<3 | 3, 0x40 | 1, 10, 1}, 0},
	{"code 3 padding length byte missing (R7)", []byte{9<<3 | 3, 0x40 | 1}, 0},
	{"code 3 VBR 1+2+rest", []byte{9<<3 | 3, 0x80 | 3, 1, 2, 0xA, 0xB, 0xB, 0xC}, 2880},
	{"code 3 VBR lengths exceed (R7)", []byte{9<<3 | 3, 0x80 | 3, 1, 5, 0xA}, 0},
	{"code 3 VBR length byte missing (R7)", []byte{9<<3 | 3, 0x80 | 2}, 0},
	{"code 3 VBR cumulative overrun (R7)", []byte{9<<3 | 3, 0x80 | 3, 2, 2, 0xA, 0xA, 0xB}, 0},
}

func TestOpusPacketFraming(t *testing.T) {
	_, dec := newOpusPair(t, Opus)
	out := make([]int16, OpusMaxFrameSamples)
	for _, tc := range opusPacketTests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := opusPacketSamples(tc.pkt)
			if tc.samples == 0 {
				if !errors.Is(err, ErrInvalidPayload) {
					t.Fatalf("opusPacketSamples = %d, %v; want ErrInvalidPayload", n, err)
				}
				if len(tc.pkt) > 0 { // empty means DTX to Decode
					if _, err := dec.Decode(out, tc.pkt); !errors.Is(err, ErrInvalidPayload) {
						t.Errorf("Decode: err = %v, want ErrInvalidPayload", err)
					}
					if _, err := dec.DecodeFEC(out[:960], tc.pkt); !errors.Is(err, ErrInvalidPayload) {
						t.Errorf("DecodeFEC: err = %v, want ErrInvalidPayload", err)
					}
				}
				return
			}
			if err != nil || n != tc.samples {
				t.Fatalf("opusPacketSamples = %d, %v; want %d", n, err, tc.samples)
			}
			// libopus must agree the packet is well formed.
			if got, err := dec.Decode(out, tc.pkt); err != nil || got != n {
				t.Errorf("Decode = %d, %v; want %d", got, err, n)
			}
		})
	}
	odd := []byte{9<<3 | 1, 1, 2, 3} // R3
	if a := testing.AllocsPerRun(50, func() { _, _ = dec.Decode(out, odd) }); a != 0 {
		t.Errorf("rejecting a malformed packet allocates %v times", a)
	}
}

// FuzzOpusDecode feeds arbitrary payloads to the decoder: it must never
// panic, and every packet our framing check accepts must be one libopus
// accepts too (so its error paths, which allocate, stay unreachable).
func FuzzOpusDecode(f *testing.F) {
	for _, tc := range opusPacketTests {
		f.Add(tc.pkt)
	}
	enc, err := Opus.NewEncoder()
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range encodeFrames(f, enc, tone(700, opusRate, 4*opusFrame20, 9000), opusFrame20) {
		f.Add(p)
	}
	dec, err := Opus.NewDecoder()
	if err != nil {
		f.Fatal(err)
	}
	out := make([]int16, OpusMaxFrameSamples)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		want, perr := opusPacketSamples(pkt)
		n, err := dec.Decode(out, pkt)
		switch {
		case len(pkt) == 0:
			if err != nil {
				t.Fatalf("empty payload: %v", err)
			}
		case perr != nil:
			if !errors.Is(err, ErrInvalidPayload) {
				t.Fatalf("framing error %v but Decode returned %d, %v", perr, n, err)
			}
		case err != nil || n != want:
			t.Fatalf("framing says %d samples; Decode = %d, %v", want, n, err)
		}
		if _, err := dec.(FECDecoder).DecodeFEC(out[:960], pkt); err != nil && !errors.Is(err, ErrInvalidPayload) {
			t.Fatalf("DecodeFEC: %v", err)
		}
	})
}

func TestOpusZeroAllocs(t *testing.T) {
	enc, dec := newOpusPair(t, Opus)
	pcm := tone(1000, opusRate, opusFrame20, 8000)
	pkt := make([]byte, 1500)
	out := make([]int16, OpusMaxFrameSamples)
	n, err := enc.Encode(pkt, pcm)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(){
		"Encode":    func() { _, _ = enc.Encode(pkt, pcm) },
		"Decode":    func() { _, _ = dec.Decode(out, pkt[:n]) },
		"Conceal":   func() { _, _ = dec.Conceal(out[:opusFrame20]) },
		"DecodeFEC": func() { _, _ = dec.DecodeFEC(out[:opusFrame20], pkt[:n]) },
		"DTX gap":   func() { _, _ = dec.Decode(out, nil) },
		"errors": func() {
			_, _ = enc.Encode(pkt, pcm[:100])
			_, _ = dec.Decode(out[:10], pkt[:n])
			_, _ = dec.Conceal(out[:7])
		},
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", name, a)
		}
	}
}

func benchmarkOpus(b *testing.B, op func(enc *opusEncoder, dec *opusDecoder, pkt []byte, pcm, out []int16)) {
	enc, dec := newOpusPair(b, Opus)
	pcm := tone(1000, opusRate, opusFrame20, 8000)
	pkt := make([]byte, 1500)
	out := make([]int16, OpusMaxFrameSamples)
	n, err := enc.Encode(pkt, pcm)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		op(enc, dec, pkt[:n], pcm, out)
	}
}

// BenchmarkOpusConceal times concealment frame after frame, as in a long
// loss, where libopus has faded out and does little; BenchmarkOpusSpeech
// times a single concealed frame after speech.
func BenchmarkOpusConceal(b *testing.B) {
	benchmarkOpus(b, func(_ *opusEncoder, dec *opusDecoder, pkt []byte, _, out []int16) {
		if _, err := dec.Conceal(out[:opusFrame20]); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkOpusDecodeFEC times FEC recovery from a tone packet.
func BenchmarkOpusDecodeFEC(b *testing.B) {
	benchmarkOpus(b, func(_ *opusEncoder, dec *opusDecoder, pkt []byte, _, out []int16) {
		if _, err := dec.DecodeFEC(out[:opusFrame20], pkt); err != nil {
			b.Fatal(err)
		}
	})
}
