package vad

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func mustNew(t testing.TB, cfg Config) *Detector {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConfigDefaults(t *testing.T) {
	d := mustNew(t, Config{SampleRate: 8000})
	want := Config{SampleRate: 8000, FrameDuration: 20 * time.Millisecond,
		MinSpeech: 60 * time.Millisecond, MinSilence: 600 * time.Millisecond, Mode: ModeQuality}
	if got := d.Config(); got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
	if d.FrameLen() != 160 {
		t.Errorf("FrameLen() = %d, want 160", d.FrameLen())
	}
	if s := d.String(); s != "vad 8000Hz/20ms mode 0" {
		t.Errorf("String() = %q", s)
	}
	for _, c := range []struct {
		rate  int
		frame time.Duration
		want  int
	}{{8000, 10 * time.Millisecond, 80}, {16000, 30 * time.Millisecond, 480}, {48000, 20 * time.Millisecond, 960}} {
		if n := mustNew(t, Config{SampleRate: c.rate, FrameDuration: c.frame}).FrameLen(); n != c.want {
			t.Errorf("%d Hz %v: FrameLen %d, want %d", c.rate, c.frame, n, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error, one per problem
	}{
		{"missing rate", Config{}, []string{"sample rate 0"}},
		{"odd rate", Config{SampleRate: 44100}, []string{"sample rate 44100"}},
		{"frame", Config{SampleRate: 8000, FrameDuration: 25 * time.Millisecond}, []string{"frame duration 25ms"}},
		{"negative", Config{SampleRate: 8000, MinSpeech: -time.Millisecond, MinSilence: -time.Second},
			[]string{"min speech -1ms", "min silence -1s"}},
		{"too long", Config{SampleRate: 8000, MinSilence: time.Minute}, []string{"min silence 1m0s"}},
		{"mode", Config{SampleRate: 8000, Mode: 4}, []string{"mode 4"}},
		{"everything", Config{SampleRate: 1, FrameDuration: time.Second, MinSpeech: -1, MinSilence: -1, Mode: -1},
			[]string{"sample rate 1", "frame duration 1s", "min speech", "min silence", "mode -1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := New(c.cfg)
			if err == nil || d != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", c.cfg, d, err)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "vad: invalid config"); n != len(c.want) {
				t.Errorf("error %q reports %d problems, want %d", err, n, len(c.want))
			}
		})
	}
	for _, rate := range []int{8000, 16000, 48000} {
		for _, fd := range []time.Duration{10, 20, 30} {
			for mode := range 4 {
				cfg := Config{SampleRate: rate, FrameDuration: fd * time.Millisecond, Mode: mode,
					MinSpeech: 10 * time.Millisecond, MinSilence: 10 * time.Second}
				if err := cfg.Validate(); err != nil {
					t.Errorf("%+v: %v", cfg, err)
				}
			}
		}
	}
}

func TestEventString(t *testing.T) {
	for ev, want := range map[Event]string{Unknown: "unknown", None: "none",
		SpeechStart: "speech-start", SpeechEnd: "speech-end", Event(9): "Event(9)"} {
		if got := ev.String(); got != want {
			t.Errorf("Event(%d).String() = %q, want %q", int(ev), got, want)
		}
	}
}

// TestWrongFrameLength: a frame of the wrong size is refused with Unknown
// and changes nothing, so the stream's timing stays right.
func TestWrongFrameLength(t *testing.T) {
	d := mustNew(t, Config{SampleRate: 8000})
	for _, n := range []int{0, 1, 159, 161, 320} {
		if ev := d.Process(make([]int16, n)); ev != Unknown {
			t.Errorf("%d samples: got %v, want unknown", n, ev)
		}
	}
	if d.in != 0 || d.analysed != 0 {
		t.Errorf("rejected frames moved the stream to %d samples", d.in)
	}
	if ev := d.Process(make([]int16, 160)); ev != None {
		t.Errorf("a good frame after bad ones: %v", ev)
	}
	var nilD *Detector
	var zero Detector
	for _, bad := range []*Detector{nilD, &zero} {
		for _, n := range []int{0, 160} {
			if ev := bad.Process(make([]int16, n)); ev != Unknown {
				t.Errorf("%v, %d samples: %v", bad, n, ev)
			}
		}
		bad.Reset()
		if bad.Speaking() || bad.OnsetOffset() != 0 || bad.FrameLen() != 0 || bad.String() == "" || bad.Config() != (Config{}) {
			t.Errorf("%v: accessors misbehave", bad)
		}
	}
}

// burst returns noise at noiseDB with a broadband burst (speech-like: a
// 150 Hz harmonic series) from at for dur, at levelDB.
func burst(rate int, total, at, dur time.Duration, levelDB, noiseDB float64) []int16 {
	n := int(int64(total) * int64(rate) / int64(time.Second))
	x := whiteNoise(n, 5)
	for i := range x {
		x[i] *= dbfsToRMS(noiseDB)
	}
	start := int(int64(at) * int64(rate) / int64(time.Second))
	end := min(n, start+int(int64(dur)*int64(rate)/int64(time.Second)))
	var h []float64
	for f := 150.0; f < 3800 && f < float64(rate)/2; f += 150 {
		h = append(h, f)
	}
	amp := dbfsToRMS(levelDB) * 1.4142 / math.Sqrt(float64(len(h)))
	for i := start; i < end; i++ {
		for j, f := range h {
			x[i] += amp * math.Sin(2*math.Pi*f*float64(i-start)/float64(rate)+float64(j))
		}
	}
	return toPCM(x, 1)
}

// TestHangovers checks the timing contract on a synthetic voiced burst:
// SpeechStart MinSpeech after the onset, the onset dated to the burst's
// start, SpeechEnd MinSilence after its end, for every rate and frame
// duration and a few hangover settings.
func TestHangovers(t *testing.T) {
	const at, dur = 1200 * time.Millisecond, 700 * time.Millisecond
	for _, rate := range []int{8000, 16000, 48000} {
		pcm := burst(rate, 4*time.Second, at, dur, -25, -55)
		for _, fd := range []time.Duration{10, 20, 30} {
			for _, h := range [][2]time.Duration{{60, 600}, {20, 300}, {200, 1500}, {10, 10}} {
				cfg := Config{SampleRate: rate, FrameDuration: fd * time.Millisecond,
					MinSpeech: h[0] * time.Millisecond, MinSilence: h[1] * time.Millisecond}
				d := mustNew(t, cfg)
				evs := run(t, d, pcm)
				if len(evs) != 2 || evs[0].ev != SpeechStart || evs[1].ev != SpeechEnd {
					t.Errorf("%+v: events %v, want start and end", cfg, evs)
					continue
				}
				frame := cfg.FrameDuration
				if e := evs[0].onsetAt - at; e < -15*time.Millisecond || e > 15*time.Millisecond {
					t.Errorf("%+v: onset %v, want %v ± 15ms", cfg, evs[0].onsetAt, at)
				}
				if lat := evs[0].at - evs[0].onsetAt; lat < cfg.MinSpeech-5*time.Millisecond || lat > cfg.MinSpeech+frame+25*time.Millisecond {
					t.Errorf("%+v: SpeechStart %v after the onset, want MinSpeech %v (+ one frame)", cfg, lat, cfg.MinSpeech)
				}
				if e := evs[1].at - (at + dur + cfg.MinSilence); e < -10*time.Millisecond || e > frame+30*time.Millisecond {
					t.Errorf("%+v: SpeechEnd at %v, want %v after the burst's end", cfg, evs[1].at, cfg.MinSilence)
				}
			}
		}
	}
}

// TestShortBurstIgnored: a sound much shorter than MinSpeech (a click, a
// line transient) never starts speech; one longer than it does. Each 10 ms
// hop looks at 32 ms of audio, so a loud sound is seen for up to about
// 25 ms longer than it lasts (see Config.MinSpeech).
func TestShortBurstIgnored(t *testing.T) {
	for _, c := range []struct {
		minSpeech, burst time.Duration
		want             int
	}{
		{0, 20 * time.Millisecond, 0},
		{0, 100 * time.Millisecond, 2},
		{200 * time.Millisecond, 150 * time.Millisecond, 0},
		{200 * time.Millisecond, 250 * time.Millisecond, 2},
		{20 * time.Millisecond, 20 * time.Millisecond, 2},
	} {
		for _, rate := range []int{8000, 16000} {
			pcm := burst(rate, 3*time.Second, 1500*time.Millisecond, c.burst, -15, -50)
			d := mustNew(t, Config{SampleRate: rate, MinSpeech: c.minSpeech})
			if evs := run(t, d, pcm); len(evs) != c.want {
				t.Errorf("%d Hz: a %v burst with MinSpeech %v gave %v, want %d events",
					rate, c.burst, d.Config().MinSpeech, evs, c.want)
			}
		}
	}
}

// TestEventsAlternate runs speech with the shortest hangovers and 30 ms
// frames (three hops per frame, so several transitions could fall in one
// frame): events must alternate and Speaking must follow them.
func TestEventsAlternate(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		var pcm []int16
		for i, s := range corpus(t, rate)[:8] {
			sc := makeScene(s, 300*time.Millisecond, 100*time.Millisecond, -26, 10, noisePink, uint64(i), false)
			pcm = append(pcm, sc.pcm...)
		}
		d := mustNew(t, Config{SampleRate: rate, FrameDuration: 30 * time.Millisecond,
			MinSpeech: 10 * time.Millisecond, MinSilence: 10 * time.Millisecond})
		want, starts := SpeechStart, 0
		fl := d.FrameLen()
		for i := 0; i+fl <= len(pcm); i += fl {
			ev := d.Process(pcm[i : i+fl])
			switch ev {
			case None:
			case want:
				if ev == SpeechStart {
					starts++
					want = SpeechEnd
				} else {
					want = SpeechStart
				}
			default:
				t.Fatalf("%d Hz: got %v at sample %d, want %v next", rate, ev, i, want)
			}
			if d.Speaking() != (want == SpeechEnd) {
				t.Fatalf("%d Hz: Speaking() = %v after %v", rate, d.Speaking(), ev)
			}
		}
		if starts < 8 {
			t.Errorf("%d Hz: %d utterances found in 8", rate, starts)
		}
	}
}

// TestReset: after Reset the detector behaves exactly as a new one.
func TestReset(t *testing.T) {
	for _, rate := range []int{8000, 48000} {
		sc := makeScene(corpus(t, rate)[0], time.Second, time.Second, -26, 10, noiseWhite, 1, false)
		d := mustNew(t, Config{SampleRate: rate})
		first := run(t, d, sc.pcm)
		if d.OnsetOffset() == 0 {
			t.Errorf("%d Hz: OnsetOffset is 0 after an utterance", rate)
		}
		d.Reset()
		if d.Speaking() || d.OnsetOffset() != 0 {
			t.Errorf("%d Hz: after Reset Speaking=%v OnsetOffset=%v", rate, d.Speaking(), d.OnsetOffset())
		}
		second := run(t, d, sc.pcm)
		if len(first) == 0 || len(first) != len(second) {
			t.Fatalf("%d Hz: %v then %v", rate, first, second)
		}
		for i := range first {
			if first[i] != second[i] {
				t.Errorf("%d Hz: event %d: %v then %v", rate, i, first[i], second[i])
			}
		}
	}
}

// TestSilence: digital silence and the idle codes of G.711 lines never
// start speech, and a quiet voice after silence is still heard.
func TestSilence(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		for name, v := range map[string]int16{"zero": 0, "alaw idle": 8, "dc": -200} {
			pcm := make([]int16, 30*rate)
			for i := range pcm {
				pcm[i] = v
				if name == "alaw idle" && i%2 == 1 {
					pcm[i] = -v
				}
			}
			d := mustNew(t, Config{SampleRate: rate})
			if evs := run(t, d, pcm); len(evs) != 0 {
				t.Errorf("%d Hz %s: %v", rate, name, evs)
			}
		}
		sc := makeScene(corpus(t, rate)[1], time.Second, time.Second, -45, 60, noiseNone, 0, false)
		d := mustNew(t, Config{SampleRate: rate})
		if evs := run(t, d, sc.pcm); len(evs) != 2 || abs(evs[0].onsetAt-sc.onset) > 30*time.Millisecond {
			t.Errorf("%d Hz: -45 dBFS speech after silence (onset %v): %v", rate, sc.onset, evs)
		}
	}
}

// TestNoiseLevelStep documents what a sudden rise in background noise does
// (speech until the noise model has learnt it, then SpeechEnd) and checks
// that learning takes about a second; a fall is learnt at once.
func TestNoiseLevelStep(t *testing.T) {
	const rate = 8000
	for _, kind := range []noiseKind{noiseWhite, noisePink} {
		x := makeNoise(kind, 20*rate, rate, 11)
		for i := range x {
			g := dbfsToRMS(-55)
			if i >= 5*rate && i < 15*rate {
				g = dbfsToRMS(-25)
			}
			x[i] *= g
		}
		d := mustNew(t, Config{SampleRate: rate})
		evs := run(t, d, toPCM(x, 1))
		step := 5 * time.Second
		if len(evs) != 2 || evs[1].ev != SpeechEnd {
			t.Fatalf("%s: events %v, want one start and end after the rise", kind, evs)
		}
		learnt := evs[1].at - DefaultMinSilence - step
		t.Logf("%s noise rising 30 dB: SpeechStart at +%v, SpeechEnd at +%v: learnt in %v",
			kind, evs[0].at-step, evs[1].at-step, learnt)
		if learnt > 1150*time.Millisecond {
			t.Errorf("%s: noise took %v to learn, want about 1 s", kind, learnt)
		}
	}
}

// TestOnsetOffsetBeforeSpeech: zero until the first SpeechStart.
func TestOnsetOffsetBeforeSpeech(t *testing.T) {
	d := mustNew(t, Config{SampleRate: 16000})
	pcm := toPCM(whiteNoise(16000, 1), dbfsToRMS(-40))
	run(t, d, pcm)
	if d.OnsetOffset() != 0 || d.Speaking() {
		t.Errorf("OnsetOffset %v, Speaking %v before any speech", d.OnsetOffset(), d.Speaking())
	}
}

// TestProcessDoesNotAllocate covers every rate and frame duration on
// speech in noise, so every branch of the hot path runs.
func TestProcessDoesNotAllocate(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		pcm := burst(rate, 3*time.Second, time.Second, time.Second, -20, -50)
		for _, fd := range []time.Duration{10, 20, 30} {
			d := mustNew(t, Config{SampleRate: rate, FrameDuration: fd * time.Millisecond})
			fl := d.FrameLen()
			i := 0
			allocs := testing.AllocsPerRun(len(pcm)/fl-1, func() {
				d.Process(pcm[i : i+fl])
				i += fl
			})
			if allocs != 0 {
				t.Errorf("%d Hz %dms: %v allocations per frame", rate, fd, allocs)
			}
		}
	}
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// FuzzProcess feeds arbitrary audio (including full-scale square waves,
// DC and alternating extremes) and checks that the detector neither
// panics nor lets a NaN or infinity into its state.
func FuzzProcess(f *testing.F) {
	f.Add([]byte{0x00, 0x80, 0xff, 0x7f}, uint8(0))
	f.Add([]byte{0xff, 0x7f}, uint8(1))
	f.Add([]byte{}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		rate := []int{8000, 16000, 48000}[int(sel)%3]
		d := mustNew(t, Config{SampleRate: rate, FrameDuration: 10 * time.Millisecond,
			MinSpeech: 10 * time.Millisecond, MinSilence: 10 * time.Millisecond})
		frame := make([]int16, d.FrameLen())
		if len(data) < 2 {
			data = []byte{0, 0}
		}
		for n := range 40 { // 400 ms: past the noise model's start-up
			for i := range frame {
				j := (n*len(frame) + i) * 2 % (len(data) &^ 1)
				frame[i] = int16(uint16(data[j]) | uint16(data[j+1])<<8)
			}
			if ev := d.Process(frame); ev < None || ev > SpeechEnd {
				t.Fatalf("frame %d: event %v", n, ev)
			}
			if math.IsNaN(d.score) || math.IsInf(d.score, 0) || math.IsNaN(d.cusum) || math.IsInf(d.cusum, 0) {
				t.Fatalf("frame %d: score %v, cusum %v", n, d.score, d.cusum)
			}
			if off := d.OnsetOffset(); off < 0 {
				t.Fatalf("frame %d: OnsetOffset %v", n, off)
			}
		}
	})
}
