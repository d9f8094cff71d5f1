package dtmf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// channel is a path a tone takes from the far end's keypad to the Detector.
type channel struct {
	name string
	rate int
	ulaw bool    // through G.711 μ-law
	snr  float64 // white noise at this SNR in dB; 0 for none
}

var (
	clean8k  = channel{"8k", 8000, false, 0}
	ulaw8k   = channel{"8k-ulaw", 8000, true, 0}
	ulaw15dB = channel{"8k-ulaw-snr15", 8000, true, 15}
	ulaw10dB = channel{"8k-ulaw-snr10", 8000, true, 10}
	clean16k = channel{"16k", 16000, false, 0}
	snr15_16 = channel{"16k-snr15", 16000, false, 15}
	snr10_16 = channel{"16k-snr10", 16000, false, 10}

	allChannels = []channel{clean8k, ulaw8k, ulaw15dB, ulaw10dB, clean16k, snr15_16, snr10_16}
)

// through sends the file in, made of tones at the levels of p, down channel
// c (noise first, then the codec, as on a real line) and returns the PCM.
func (s *soxBench) through(c channel, in string, p pair) []int16 {
	s.t.Helper()
	if c.snr != 0 {
		var got float64
		in, got = s.addNoise(in, p, c.snr)
		if got < c.snr-0.5 || got > c.snr+0.5 {
			s.t.Fatalf("noise at %.2f dB SNR, want %.0f", got, c.snr)
		}
	}
	if c.ulaw {
		in = s.ulaw(in)
	}
	pcm, rate := s.read(in)
	if rate != c.rate {
		s.t.Fatalf("%s: read %d Hz", c.name, rate)
	}
	return pcm
}

// frame returns the samples in 20 ms at rate, the usual packet time.
func frame(rate int) int { return rate / 50 }

func TestDetectorAllDigits(t *testing.T) {
	for _, c := range allChannels {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newSox(t)
			var pairs []pair
			for i := range len(keypad) {
				p := digitPair(keypad[i], 100*time.Millisecond)
				p.silenceAfter = 100 * time.Millisecond
				pairs = append(pairs, p)
			}
			pcm := s.through(c, s.sequence(c.rate, pairs...), pairs[0])
			if got := detect(t, pcm, c.rate, frame(c.rate)); got != keypad {
				t.Errorf("got %q, want %q", got, keypad)
			}
		})
	}
}

// TestDetectorFrameSizes checks that how the caller slices the audio does
// not matter.
func TestDetectorFrameSizes(t *testing.T) {
	s := newSox(t)
	var pairs []pair
	for _, c := range []byte("0#5D") {
		p := digitPair(c, 60*time.Millisecond)
		p.silenceAfter = 60 * time.Millisecond
		pairs = append(pairs, p)
	}
	pcm := s.through(ulaw8k, s.sequence(8000, pairs...), pairs[0])
	for _, n := range []int{1, 7, 51, 102, 160, 333, len(pcm)} {
		if got := detect(t, pcm, 8000, n); got != "0#5D" {
			t.Errorf("frames of %d samples: got %q", n, got)
		}
	}
}

// TestDetectorSequence dials with the shortest pauses in common use: 50 ms,
// above Q.24's 40 ms minimum, including the same key four times.
func TestDetectorSequence(t *testing.T) {
	for _, c := range []channel{ulaw8k, ulaw15dB, clean16k, snr15_16} {
		for _, digits := range []string{"123#", "5555", "1A1A"} {
			t.Run(c.name+"/"+digits, func(t *testing.T) {
				t.Parallel()
				s := newSox(t)
				var pairs []pair
				for i := range len(digits) {
					p := digitPair(digits[i], 60*time.Millisecond)
					p.silenceAfter = 50 * time.Millisecond
					pairs = append(pairs, p)
				}
				pcm := s.through(c, s.sequence(c.rate, pairs...), pairs[0])
				if got := detect(t, pcm, c.rate, frame(c.rate)); got != digits {
					t.Errorf("got %q, want %q", got, digits)
				}
			})
		}
	}
}

// TestDetectorToneDuration applies Q.24's timing at every alignment of the
// tone to the analysis blocks: 40 ms tones are digits, 30 and 20 ms tones
// are not.
func TestDetectorToneDuration(t *testing.T) {
	cases := []struct {
		ms   int
		want bool
	}{{40, true}, {30, false}, {20, false}}
	for _, c := range []channel{clean8k, ulaw8k, clean16k} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/%dms", c.name, tc.ms), func(t *testing.T) {
				t.Parallel()
				s := newSox(t)
				d, err := NewDetector(c.rate)
				if err != nil {
					t.Fatal(err)
				}
				for i := range len(keypad) {
					p := digitPair(keypad[i], time.Duration(tc.ms)*time.Millisecond)
					tone := s.through(c, s.tone(c.rate, p), p)
					for off := 0; off < d.half; off += 3 {
						d.Reset()
						pcm := append(make([]int16, off), tone...)
						pcm = append(pcm, make([]int16, c.rate/10)...)
						got := string(d.Process(pcm))
						if tc.want && got != keypad[i:i+1] || !tc.want && got != "" {
							t.Errorf("%c at offset %d: got %q", keypad[i], off, got)
						}
					}
				}
			})
		}
	}
}

// TestDetectorFrequencyTolerance moves each of the 8 frequencies in turn
// (Q.24: operate within 1.5 %, do not operate beyond 3.5 %).
func TestDetectorFrequencyTolerance(t *testing.T) {
	devs := []struct {
		pct  float64
		want bool
	}{{-4, false}, {-3.5, false}, {-1.5, true}, {1.5, true}, {3.5, false}, {4, false}}
	for _, c := range []channel{ulaw8k, clean16k} {
		for f := range 8 {
			t.Run(fmt.Sprintf("%s/%v", c.name, filterFreq(f)), func(t *testing.T) {
				t.Parallel()
				s := newSox(t)
				digit := keypad[f%4*4+f%4] // 1, 5, 9, D: the moved tone and its diagonal partner
				for _, dv := range devs {
					p := digitPair(digit, 100*time.Millisecond)
					if f < 4 {
						p.lowHz *= 1 + dv.pct/100
					} else {
						p.highHz *= 1 + dv.pct/100
					}
					want := ""
					if dv.want {
						want = string(digit)
					}
					pcm := s.through(c, s.tone(c.rate, p), p)
					if got := detect(t, pcm, c.rate, frame(c.rate)); got != want {
						t.Errorf("%+.1f %%: got %q, want %q", dv.pct, got, want)
					}
				}
			})
		}
	}
}

// TestDetectorTwist varies the level difference of the two tones for every
// digit (Q.24: normal twist up to 8 dB, reverse up to 4 dB).
func TestDetectorTwist(t *testing.T) {
	cases := []struct {
		name          string
		lowDB, highDB float64
		accept        bool
	}{
		{"normal 6 dB", -10, -16, true},
		{"normal 10 dB", -10, -20, false},
		{"reverse 3 dB", -10, -7, true},
		{"reverse 6 dB", -10, -4, false},
	}
	for _, c := range []channel{ulaw8k, clean16k} {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSox(t)
				var pairs []pair
				for i := range len(keypad) {
					p := digitPair(keypad[i], 100*time.Millisecond)
					p.lowDB, p.highDB, p.silenceAfter = tc.lowDB, tc.highDB, 100*time.Millisecond
					pairs = append(pairs, p)
				}
				want := ""
				if tc.accept {
					want = keypad
				}
				pcm := s.through(c, s.sequence(c.rate, pairs...), pairs[0])
				if got := detect(t, pcm, c.rate, frame(c.rate)); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			})
		}
	}
}

// TestDetectorLevels covers the operate range, -25 to about -3 dBm0 per
// tone (the loudest that fits 16-bit PCM unclipped), and a tone too quiet.
func TestDetectorLevels(t *testing.T) {
	cases := []struct {
		level  float64
		accept bool
	}{{-3, true}, {-25, true}, {-35, false}}
	for _, c := range []channel{ulaw8k, clean16k} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/%v", c.name, tc.level), func(t *testing.T) {
				t.Parallel()
				s := newSox(t)
				var pairs []pair
				for i := range len(keypad) {
					p := digitPair(keypad[i], 100*time.Millisecond)
					p.lowDB, p.highDB, p.silenceAfter = tc.level, tc.level, 100*time.Millisecond
					pairs = append(pairs, p)
				}
				want := ""
				if tc.accept {
					want = keypad
				}
				pcm := s.through(c, s.sequence(c.rate, pairs...), pairs[0])
				if got := detect(t, pcm, c.rate, frame(c.rate)); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			})
		}
	}
}

// TestDetectorNotDTMF feeds tones that are not digits: single
// frequencies, two tones of one group, call-progress tones, and digits
// with a second harmonic as voices and instruments have.
func TestDetectorNotDTMF(t *testing.T) {
	cases := []struct {
		name  string
		tones []component
	}{
		{"single 697 Hz", []component{{697, -10}}},
		{"single 1336 Hz", []component{{1336, -8}}},
		{"fax CNG 1100 Hz", []component{{1100, -10}}},
		{"two low tones", []component{{697, -10}, {852, -10}}},
		{"two high tones", []component{{1209, -8}, {1477, -8}}},
		{"dial tone 350+440", []component{{350, -13}, {440, -13}}},
		{"ringback 440+480", []component{{440, -19}, {480, -19}}},
		{"5 with high harmonic", []component{{770, -10}, {1336, -8}, {2672, -14}}},
		{"9 with low harmonic", []component{{852, -10}, {1477, -8}, {1704, -16}}},
		{"# with both harmonics", []component{{941, -10}, {1477, -8}, {1882, -20}, {2954, -18}}},
	}
	s := newSox(t)
	for _, tc := range cases {
		in := s.tones(8000, 200*time.Millisecond, tc.tones...)
		pcm := s.through(ulaw8k, in, pair{})
		if got := detect(t, pcm, 8000, 160); got != "" {
			t.Errorf("%s: got %q, want nothing", tc.name, got)
		}
	}
}

// component is one sine of a test signal.
type component struct {
	hz, dBm0 float64
}

// tones writes the sum of the sines for dur.
func (s *soxBench) tones(rate int, dur time.Duration, cs ...component) string {
	s.t.Helper()
	out := s.file()
	args := []string{"-r", strconv.Itoa(rate), "-c", strconv.Itoa(len(cs)), "-n", "-c", "1", "-b", "16", out,
		"synth", secs(dur)}
	var remix []string
	for i, c := range cs {
		args = append(args, "sine", fmt.Sprint(c.hz))
		remix = append(remix, fmt.Sprintf("%dv%s", i+1, amp(c.dBm0)))
	}
	s.run(append(args, "remix", strings.Join(remix, ","))...)
	return out
}

// TestDetectorHeldKey holds a key for two seconds: one digit.
func TestDetectorHeldKey(t *testing.T) {
	for _, c := range allChannels {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newSox(t)
			p := digitPair('8', 2*time.Second)
			p.silenceAfter = 100 * time.Millisecond
			pcm := s.through(c, s.tone(c.rate, p), p)
			if got := detect(t, pcm, c.rate, frame(c.rate)); got != "8" {
				t.Errorf("got %q, want one 8", got)
			}
		})
	}
}

// TestDetectorInterruption cuts a held tone: a 20 ms dropout (a lost
// packet, a bad contact) is bridged into one digit, a 50 ms pause makes two.
func TestDetectorInterruption(t *testing.T) {
	cases := []struct {
		gap  time.Duration
		want string
	}{{10 * time.Millisecond, "7"}, {20 * time.Millisecond, "7"}, {50 * time.Millisecond, "77"}}
	for _, c := range []channel{ulaw8k, ulaw15dB, clean16k, snr15_16} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/%v", c.name, tc.gap), func(t *testing.T) {
				t.Parallel()
				s := newSox(t)
				p := digitPair('7', 300*time.Millisecond)
				p.silenceAfter = tc.gap
				q := p
				q.silenceAfter = 100 * time.Millisecond
				pcm := s.through(c, s.sequence(c.rate, p, q), p)
				d, _ := NewDetector(c.rate)
				for off := 0; off < d.half; off += 5 {
					in := append(make([]int16, off), pcm...)
					if got := detect(t, in, c.rate, frame(c.rate)); got != tc.want {
						t.Errorf("offset %d: got %q, want %q", off, got, tc.want)
					}
				}
			})
		}
	}
}

func TestNewDetectorRates(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		if _, err := NewDetector(rate); err != nil {
			t.Errorf("%d Hz: %v", rate, err)
		}
	}
	for _, rate := range []int{0, -8000, 11025, 22050, 44100, 96000} {
		if _, err := NewDetector(rate); !errors.Is(err, ErrSampleRate) {
			t.Errorf("%d Hz: err %v, want ErrSampleRate", rate, err)
		}
	}
}

// TestDetectorReset checks that Reset drops a tone in progress and a held
// digit.
func TestDetectorReset(t *testing.T) {
	d, err := NewDetector(8000)
	if err != nil {
		t.Fatal(err)
	}
	tone, err := AppendTone(nil, '9', 8000, 60*time.Millisecond, DefaultToneLevel)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Process(tone[:len(tone)/2]); len(got) != 0 {
		t.Fatalf("half a tone gave %q", got)
	}
	d.Reset()
	if got := d.Process(tone[len(tone)/2:]); len(got) != 0 {
		t.Errorf("the other half after Reset gave %q", got)
	}
	long, _ := AppendTone(nil, '9', 8000, 200*time.Millisecond, DefaultToneLevel)
	if got := string(d.Process(long[:800])); got != "9" {
		t.Fatalf("got %q", got)
	}
	d.Reset()
	// Without Reset the rest of the held key would be bridged.
	if got := string(d.Process(long[800:])); got != "9" {
		t.Errorf("held key after Reset: got %q, want a new 9", got)
	}
}

// TestDetectorZeroAllocs keeps the promise of habit 3 in the ordinary run:
// 20 ms frames, digits included, allocate nothing.
func TestDetectorZeroAllocs(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		src, err := NewToneSource(keypad, rate, 60*time.Millisecond, 60*time.Millisecond, DefaultToneLevel)
		if err != nil {
			t.Fatal(err)
		}
		var pcm []int16
		buf := make([]int16, frame(rate))
		for {
			n, err := src.Read(buf)
			if err != nil {
				break
			}
			pcm = append(pcm, buf[:n]...)
		}
		d, _ := NewDetector(rate)
		var digits strings.Builder
		digits.Grow(64)
		pos := 0
		allocs := testing.AllocsPerRun(len(pcm)/frame(rate)-1, func() {
			digits.Write(d.Process(pcm[pos : pos+frame(rate)]))
			pos += frame(rate)
		})
		if allocs != 0 {
			t.Errorf("%d Hz: %v allocations per frame", rate, allocs)
		}
		if !strings.HasPrefix(keypad, digits.String()) || digits.Len() < 8 {
			t.Errorf("%d Hz: detected %q", rate, digits.String())
		}
	}
}

// BenchmarkDetector measures one 20 ms frame, the per-packet cost of
// in-band detection on a call.
func BenchmarkDetector(b *testing.B) {
	for _, rate := range []int{8000, 16000} {
		b.Run(fmt.Sprintf("%dHz", rate), func(b *testing.B) {
			src, err := NewToneSource("0123456789", rate, 0, 0, DefaultToneLevel)
			if err != nil {
				b.Fatal(err)
			}
			var pcm []int16
			buf := make([]int16, frame(rate))
			for n, err := src.Read(buf); err == nil; n, err = src.Read(buf) {
				pcm = append(pcm, buf[:n]...)
			}
			d, _ := NewDetector(rate)
			f := frame(rate)
			pos := 0
			b.ReportAllocs()
			for b.Loop() {
				if pos+f > len(pcm) {
					pos = 0
				}
				d.Process(pcm[pos : pos+f])
				pos += f
			}
		})
	}
}

// FuzzDetector feeds arbitrary audio: no panic, only keypad digits, and
// the same digits however the audio is cut into frames.
func FuzzDetector(f *testing.F) {
	tone, _ := AppendTone(nil, '#', 8000, 80*time.Millisecond, DefaultToneLevel)
	seed := make([]byte, 0, 2*len(tone))
	for _, v := range tone {
		seed = append(seed, byte(v), byte(v>>8))
	}
	f.Add(seed, uint16(37))
	f.Add([]byte{0x00, 0x80, 0xff, 0x7f}, uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		pcm := make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		whole := detect(t, pcm, 8000, len(pcm)+1)
		n := int(cut)%160 + 1
		if got := detect(t, pcm, 8000, n); got != whole {
			t.Fatalf("frames of %d: %q, whole: %q", n, got, whole)
		}
		for i := range len(whole) {
			if !strings.ContainsRune(keypad, rune(whole[i])) {
				t.Fatalf("digit %q", whole[i])
			}
		}
	})
}
