package codec

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuiltinDescriptions(t *testing.T) {
	tests := []struct {
		codec      Codec
		name       string
		pt         int
		silence    byte
		sampleByte func(int16) byte
	}{
		{PCMU, "PCMU", 0, MulawSilence, MulawEncode},
		{PCMA, "PCMA", 8, AlawSilence, AlawEncode},
	}
	got := Builtin()
	if len(got) != len(tests) {
		t.Fatalf("Builtin() has %d codecs, want %d", len(got), len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := got[i]
			if c != tc.codec {
				t.Fatalf("Builtin()[%d] = %v, want %v (offer order)", i, c, tc.codec)
			}
			if c.Name() != tc.name || c.ClockRate() != 8000 || c.SampleRate() != 8000 ||
				c.Channels() != 1 || c.StaticPayloadType() != tc.pt {
				t.Errorf("%s: got name=%s clock=%d rate=%d ch=%d pt=%d", tc.name,
					c.Name(), c.ClockRate(), c.SampleRate(), c.Channels(), c.StaticPayloadType())
			}
			if s := fmt.Sprint(c); s != tc.name+"/8000" {
				t.Errorf("String() = %q", s)
			}
		})
	}
	got[0] = nil
	if Builtin()[0] == nil {
		t.Error("Builtin returned a shared slice; callers could corrupt it")
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name      string
		clockRate int
		channels  int
		want      Codec
	}{
		{"PCMU", 8000, 1, PCMU},
		{"pcmu", 8000, 0, PCMU},
		{"PcMa", 8000, 1, PCMA},
		{"PCMA", 8000, 0, PCMA},
		{"PCMU", 16000, 1, nil},
		{"PCMU", 8000, 2, nil},
		{"PCMU", 0, 1, nil},
		{"G722", 8000, 1, G722},
		{"g722", 8000, 0, G722},
		{"G722", 16000, 1, nil}, // the sample rate is not the RTP clock rate
		{"opus", 48000, 2, Opus},
		{"OPUS", 48000, 2, Opus},
		{"opus", 48000, 1, nil}, // RFC 7587 section 7: always /2
		{"opus", 48000, 0, nil},
		{"opus", 16000, 2, nil},
		{"", 8000, 1, nil},
		{"telephone-event", 8000, 1, nil},
	}
	for _, tc := range tests {
		if tc.want == Opus && !opusAvailable {
			tc.want = nil
		}
		t.Run(fmt.Sprintf("%s/%d/%d", tc.name, tc.clockRate, tc.channels), func(t *testing.T) {
			c, ok := Lookup(tc.name, tc.clockRate, tc.channels)
			if ok != (tc.want != nil) || c != tc.want {
				t.Errorf("Lookup = %v, %v; want %v", c, ok, tc.want)
			}
		})
	}
}

// sine returns one 20 ms frame of a 1 kHz tone at 8 kHz.
func sine(n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	return out
}

func TestEncoderDecoderInterfaces(t *testing.T) {
	for _, c := range Builtin() {
		t.Run(c.Name(), func(t *testing.T) {
			enc, err := c.NewEncoder()
			if err != nil {
				t.Fatal(err)
			}
			dec, err := c.NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			pcm := sine(160, 16000)
			payload := make([]byte, 160)
			n, err := enc.Encode(payload, pcm)
			if err != nil || n != 160 {
				t.Fatalf("Encode = %d, %v", n, err)
			}
			out := make([]int16, 160)
			n, err = dec.Decode(out, payload)
			if err != nil || n != 160 {
				t.Fatalf("Decode = %d, %v", n, err)
			}
			// G.711 keeps a loud tone some 35-40 dB above its quantisation noise.
			var sig, noise float64
			for i := range pcm {
				d := float64(out[i]) - float64(pcm[i])
				sig += float64(pcm[i]) * float64(pcm[i])
				noise += d * d
			}
			snr := 10 * math.Log10(sig/noise)
			t.Logf("%s SNR of a -6 dBFS 1 kHz tone: %.1f dB", c.Name(), snr)
			if snr < 35 {
				t.Errorf("SNR %.1f dB < 35 dB", snr)
			}

			if _, err := enc.Encode(payload[:159], pcm); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("short encode buffer: err = %v", err)
			}
			if _, err := dec.Decode(out[:159], payload); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("short decode buffer: err = %v", err)
			}
			if n, err := dec.Decode(out, nil); n != 0 || err != nil {
				t.Errorf("empty payload: %d, %v", n, err)
			}

			allocs := testing.AllocsPerRun(100, func() {
				_, _ = enc.Encode(payload, pcm)
				_, _ = dec.Decode(out, payload)
				_, _ = c.NewEncoder()
			})
			if allocs != 0 {
				t.Errorf("%v allocations per frame, want 0", allocs)
			}
		})
	}
}

func TestAll(t *testing.T) {
	want := []Codec{Opus, G722, PCMU, PCMA}
	if !opusAvailable {
		want = want[1:]
	}
	got := All()
	if !slices.Equal(got, want) {
		t.Fatalf("All() = %v, want %v (offer preference)", got, want)
	}
	for _, c := range got {
		if l, ok := Lookup(c.Name(), c.ClockRate(), c.Channels()); !ok || l != c {
			t.Errorf("Lookup(%s/%d/%d) = %v, %v", c.Name(), c.ClockRate(), c.Channels(), l, ok)
		}
		if !ValidPtime(c, 20*time.Millisecond) {
			t.Errorf("%v: ValidPtime(20ms) = false", c)
		}
		wantString := fmt.Sprintf("%s/%d", c.Name(), c.ClockRate())
		if c.Channels() != 1 {
			wantString += fmt.Sprintf("/%d", c.Channels())
		}
		if s := fmt.Sprint(c); s != wantString {
			t.Errorf("String() = %q, want %q", s, wantString)
		}
	}
	got[0] = nil
	if All()[0] == nil {
		t.Error("All returned a shared slice")
	}
	if !slices.Equal(Builtin(), []Codec{PCMU, PCMA}) {
		t.Error("Builtin changed")
	}
}

func TestByNames(t *testing.T) {
	tests := []struct {
		names   []string
		want    []Codec
		wantErr []string // substrings of the error
	}{
		{[]string{"opus", "G722", "PCMU", "PCMA"}, []Codec{Opus, G722, PCMU, PCMA}, nil},
		{[]string{"pcma", " g722 ", "Opus"}, []Codec{PCMA, G722, Opus}, nil},
		{[]string{"PCMU"}, []Codec{PCMU}, nil},
		{[]string{"PCMU", "G729"}, nil, []string{`unknown codec "G729" at position 2`, "known: " + knownNames()}},
		{[]string{"GSM", "pcmu", "PCMU", "iLBC"}, nil, []string{`"GSM" at position 1`, `"PCMU" listed twice (position 3)`, `"iLBC" at position 4`}},
		{[]string{}, nil, []string{"empty codec list"}},
		{nil, nil, []string{"empty codec list"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.names, ","), func(t *testing.T) {
			if !opusAvailable && slices.Contains(tc.want, Opus) {
				t.Skip("built without cgo: no Opus")
			}
			got, err := ByNames(tc.names)
			if tc.wantErr == nil {
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("ByNames = %v, %v; want %v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ByNames = %v, want an error", got)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(tc.wantErr[0], "unknown") && !errors.Is(err, ErrUnknownCodec) {
				t.Errorf("error %v does not wrap ErrUnknownCodec", err)
			}
		})
	}
}

func TestValidPtime(t *testing.T) {
	for _, tc := range []struct {
		c     Codec
		ptime time.Duration
		want  bool
	}{
		{PCMU, 20 * time.Millisecond, true},
		{PCMU, 30 * time.Millisecond, true},
		{PCMU, 125 * time.Microsecond, true}, // one sample
		{PCMU, 100 * time.Microsecond, false},
		{G722, 30 * time.Millisecond, true},
		{G722, 62500 * time.Nanosecond, false}, // one 16 kHz sample: half an octet
		{PCMA, -time.Millisecond, false},
	} {
		if got := ValidPtime(tc.c, tc.ptime); got != tc.want {
			t.Errorf("ValidPtime(%v, %v) = %v, want %v", tc.c, tc.ptime, got, tc.want)
		}
	}
}

// TestAllCodecsFrames runs 20 ms frames of a tone through every codec of
// All, as the media engine does: sizes come from the codec's rates, and
// nothing allocates per frame.
func TestAllCodecsFrames(t *testing.T) {
	for _, c := range All() {
		t.Run(c.Name(), func(t *testing.T) {
			enc, err := c.NewEncoder()
			if err != nil {
				t.Fatal(err)
			}
			dec, err := c.NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			spf := c.SampleRate() / 50
			pcm := tone(440, c.SampleRate(), spf, 8000)
			payload := make([]byte, 1500)
			out := make([]int16, maxDecodeSamples(c))
			for range 10 {
				n, err := enc.Encode(payload, pcm)
				if err != nil || n == 0 {
					t.Fatalf("Encode = %d, %v", n, err)
				}
				if m, err := dec.Decode(out, payload[:n]); m != spf || err != nil {
					t.Fatalf("Decode = %d, %v; want %d samples", m, err, spf)
				}
			}
			allocs := testing.AllocsPerRun(50, func() {
				n, _ := enc.Encode(payload, pcm)
				_, _ = dec.Decode(out, payload[:n])
			})
			if allocs != 0 {
				t.Errorf("%v allocations per frame, want 0", allocs)
			}
		})
	}
}

// maxDecodeSamples is how large a decode buffer the media engine needs for
// c: the largest packet of 1500 bytes for the sample codecs, 120 ms for
// Opus (STYLE.md habit 3).
func maxDecodeSamples(c Codec) int {
	if c.Name() == "opus" {
		return OpusMaxFrameSamples
	}
	return 1500 * c.SampleRate() / c.ClockRate()
}

// BenchmarkEncode and BenchmarkDecode time one 20 ms frame of every codec.
func BenchmarkEncode(b *testing.B) {
	for _, c := range All() {
		b.Run(c.Name(), func(b *testing.B) {
			enc, err := c.NewEncoder()
			if err != nil {
				b.Fatal(err)
			}
			pcm := tone(1000, c.SampleRate(), c.SampleRate()/50, 16000)
			payload := make([]byte, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(pcm) * 2))
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := enc.Encode(payload, pcm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range All() {
		b.Run(c.Name(), func(b *testing.B) {
			enc, err := c.NewEncoder()
			if err != nil {
				b.Fatal(err)
			}
			dec, err := c.NewDecoder()
			if err != nil {
				b.Fatal(err)
			}
			pcm := tone(1000, c.SampleRate(), c.SampleRate()/50, 16000)
			payload := make([]byte, 1500)
			n, err := enc.Encode(payload, pcm)
			if err != nil {
				b.Fatal(err)
			}
			payload = payload[:n]
			out := make([]int16, maxDecodeSamples(c))
			b.ReportAllocs()
			b.SetBytes(int64(len(pcm) * 2))
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := dec.Decode(out, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
