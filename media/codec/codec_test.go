package codec

import (
	"errors"
	"fmt"
	"math"
	"testing"
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
		{"G722", 8000, 1, nil},
		{"", 8000, 1, nil},
		{"telephone-event", 8000, 1, nil},
	}
	for _, tc := range tests {
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

func BenchmarkEncode(b *testing.B) {
	pcm := sine(160, 16000)
	payload := make([]byte, 160)
	for _, c := range Builtin() {
		b.Run(c.Name(), func(b *testing.B) {
			enc, err := c.NewEncoder()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(pcm) * 2))
			for b.Loop() {
				if _, err := enc.Encode(payload, pcm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	payload := make([]byte, 160)
	EncodeMulaw(payload, sine(160, 16000))
	out := make([]int16, 160)
	for _, c := range Builtin() {
		b.Run(c.Name(), func(b *testing.B) {
			dec, err := c.NewDecoder()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := dec.Decode(out, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
