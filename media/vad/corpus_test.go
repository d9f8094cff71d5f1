package vad

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
)

// The test corpus is synthesized at test time with espeak-ng, the TTS the
// project ships, so no audio is checked in and every machine tests the same
// thing. The tests fail (never skip) when espeak-ng is missing: `make test`
// installs it, and a skipped accuracy test would hide a broken setup.

// phrase is one utterance of the corpus: IVR answers in the voices the
// product speaks (American and British English, male and female variants,
// Mandarin).
type phrase struct{ voice, text string }

var phrases = []phrase{
	{"en-us", "check my balance"},
	{"en-us", "I want to speak to an agent"},
	{"en-us", "yes please"},
	{"en-us", "no"},
	{"en-us", "my account number is four five six seven"},
	{"en-us+f3", "I would like a refund"},
	{"en-us+f3", "billing"},
	{"en-us+f3", "report a lost card"},
	{"en-us+f3", "seven"},
	{"en-gb", "cancel my subscription"},
	{"en-gb", "technical support"},
	{"en-gb", "help me with my order"},
	{"en-gb+f4", "operator"},
	{"en-gb+f4", "where is my parcel"},
	{"en-us+m3", "sales"},
	{"en-us+m3", "I have a complaint about the service"},
	{"cmn", "我要查询余额"},
	{"cmn", "退款"},
	{"cmn", "投诉"},
	{"cmn", "人工服务"},
	{"cmn", "我的快递在哪里"},
	{"cmn+f3", "转人工"},
	{"cmn+f3", "信用卡挂失"},
	{"cmn+f3", "是的"},
}

// speech is a phrase synthesized and measured at one sample rate.
type speech struct {
	phrase
	rate int
	pcm  []int16
	// onset and end are the sample indices where the clean speech's
	// energy first and last comes within trueOnsetDB of its loudest 5 ms.
	onset, end int
}

func (s speech) String() string { return fmt.Sprintf("%s %q", s.voice, s.text) }

// trueOnsetDB defines the reference onset and end: 5 ms blocks more than
// this far below the loudest block of the utterance are not yet speech.
// espeak-ng starts and ends with digital silence, so the reference does not
// depend much on the value; 45 dB keeps quiet initial fricatives in.
const trueOnsetDB = 45

// needTool fails the test when name is not installed.
func needTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed (make test installs it: Debian packages espeak-ng and sox)", name)
	}
	return path
}

var corpusOnce = sync.OnceValues(func() (map[int][]speech, error) {
	out := map[int][]speech{}
	for _, p := range phrases {
		wav, err := exec.Command("espeak-ng", "-v", p.voice, "-s", "150", "--stdout", p.text).Output()
		if err != nil {
			return nil, fmt.Errorf("espeak-ng -v %s %q: %w", p.voice, p.text, err)
		}
		pcm, rate, err := audio.ReadWAV(bytes.NewReader(wav))
		if err != nil {
			return nil, fmt.Errorf("reading espeak-ng output for %q: %w", p.text, err)
		}
		for _, to := range []int{8000, 16000, 48000} {
			r, err := audio.Resample(pcm, rate, to)
			if err != nil {
				return nil, err
			}
			s := speech{phrase: p, rate: to, pcm: r}
			s.onset, s.end = activeSpan(r, to)
			if s.end <= s.onset {
				return nil, fmt.Errorf("espeak-ng produced silence for %q", p.text)
			}
			out[to] = append(out[to], s)
		}
	}
	return out, nil
})

// corpus returns the synthesized phrases at rate.
func corpus(t testing.TB, rate int) []speech {
	t.Helper()
	needTool(t, "espeak-ng")
	c, err := corpusOnce()
	if err != nil {
		t.Fatal(err)
	}
	return c[rate]
}

// activeSpan returns the first and one-past-last sample of the 5 ms blocks
// within trueOnsetDB of the loudest block.
func activeSpan(pcm []int16, rate int) (onset, end int) {
	block := rate / 200
	var peak float64
	for i := 0; i+block <= len(pcm); i += block {
		peak = max(peak, audio.RMS(pcm[i:i+block]))
	}
	thr := peak * math.Pow(10, -trueOnsetDB/20.0)
	onset, end = -1, 0
	for i := 0; i+block <= len(pcm); i += block {
		if audio.RMS(pcm[i:i+block]) >= thr {
			if onset < 0 {
				onset = i
			}
			end = i + block
		}
	}
	return max(onset, 0), end
}

// Noise generators. Each returns n samples of unit RMS (as float64, scaled
// by the caller), from a fixed seed so every run sees the same noise.

func whiteNoise(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return normalize(out)
}

// pinkNoise is white noise through Paul Kellet's "refined" 1/f filter
// (-3 dB/octave within 0.05 dB above 9.2 Hz at 44.1 kHz; at telephone rates
// the slope holds over the band that matters), the stationary stand-in for
// babble: like a crowd, it puts most of its power where voices do.
func pinkNoise(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]float64, n)
	var b0, b1, b2, b3, b4, b5, b6 float64
	for i := range out {
		w := rng.NormFloat64()
		b0 = 0.99886*b0 + w*0.0555179
		b1 = 0.99332*b1 + w*0.0750759
		b2 = 0.96900*b2 + w*0.1538520
		b3 = 0.86650*b3 + w*0.3104856
		b4 = 0.55000*b4 + w*0.5329522
		b5 = -0.7616*b5 - w*0.0168980
		out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w*0.5362
		b6 = w * 0.115926
	}
	return normalize(out)
}

// humNoise is mains hum as a badly earthed line carries it: the mains
// frequency (50 or 60 Hz) with odd harmonics up to 15 times it, falling
// 6 dB per harmonic, plus white noise 30 dB below.
func humNoise(n, rate int, mains float64, seed uint64) []float64 {
	// The hum repeats every rate/gcd(rate, mains) samples: compute one
	// period and tile it.
	g := rate
	for b := int(mains); b != 0; {
		g, b = b, g%b
	}
	period := make([]float64, rate/g)
	for i := range period {
		t := float64(i) / float64(rate)
		for h, a := 1, 1.0; h <= 15; h, a = h+2, a/2 {
			period[i] += a * math.Sin(2*math.Pi*mains*float64(h)*t+float64(h))
		}
	}
	out := whiteNoise(n, seed)
	for i := range out {
		out[i] = 0.03*out[i] + period[i%len(period)]
	}
	return normalize(out)
}

func normalize(x []float64) []float64 {
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	if sum == 0 {
		return x
	}
	g := 1 / math.Sqrt(sum/float64(len(x)))
	for i := range x {
		x[i] *= g
	}
	return x
}

// dbfsToRMS converts a level to RMS sample units.
func dbfsToRMS(db float64) float64 { return 32768 * math.Pow(10, db/20) }

// toPCM scales x by g and rounds to saturated 16-bit samples.
func toPCM(x []float64, g float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(max(min(math.Round(v*g), math.MaxInt16), math.MinInt16))
	}
	return out
}

// scene is one test signal: lead of noise, the utterance, then noise long
// enough for SpeechEnd, with the speech's active level and the SNR exact
// (both measured as RMS over the utterance's active span).
type scene struct {
	pcm        []int16
	rate       int
	onset, end time.Duration // true onset and end within pcm
}

// noiseKind names a generator for tables.
type noiseKind string

const (
	noiseWhite noiseKind = "white"
	noisePink  noiseKind = "pink"
	noiseHum50 noiseKind = "hum50"
	noiseHum60 noiseKind = "hum60"
	noiseNone  noiseKind = "none"
)

func makeNoise(kind noiseKind, n, rate int, seed uint64) []float64 {
	switch kind {
	case noiseWhite:
		return whiteNoise(n, seed)
	case noisePink:
		return pinkNoise(n, seed)
	case noiseHum50:
		return humNoise(n, rate, 50, seed)
	case noiseHum60:
		return humNoise(n, rate, 60, seed)
	}
	return make([]float64, n)
}

// makeScene places s after lead, at speech level levelDB (dBFS of the
// active span), with noise of kind at snrDB below it, and tail after it.
// With mulaw the mix goes through a G.711 μ-law encode and decode, as it
// would arrive from a PSTN carrier.
func makeScene(s speech, lead, tail time.Duration, levelDB, snrDB float64, kind noiseKind, seed uint64, mulaw bool) scene {
	leadN := int(int64(lead) * int64(s.rate) / int64(time.Second))
	tailN := int(int64(tail) * int64(s.rate) / int64(time.Second))
	n := leadN + len(s.pcm) + tailN
	active := audio.RMS(s.pcm[s.onset:s.end])
	gs := dbfsToRMS(levelDB) / active
	gn := dbfsToRMS(levelDB - snrDB)
	noise := makeNoise(kind, n, s.rate, seed)
	mix := make([]float64, n)
	for i := range mix {
		mix[i] = gn * noise[i]
	}
	for i, v := range s.pcm {
		mix[leadN+i] += gs * float64(v)
	}
	pcm := toPCM(mix, 1)
	if mulaw {
		b := make([]byte, len(pcm))
		codec.EncodeMulaw(b, pcm)
		codec.DecodeMulaw(pcm, b)
	}
	at := func(i int) time.Duration { return time.Duration(int64(i) * int64(time.Second) / int64(s.rate)) }
	return scene{pcm: pcm, rate: s.rate, onset: at(leadN + s.onset), end: at(leadN + s.end)}
}

// eventAt is an event and when it happened: at the end of the frame that
// reported it, and for SpeechStart the onset it reported.
type eventAt struct {
	ev      Event
	at      time.Duration
	onsetAt time.Duration
}

// run feeds pcm to d frame by frame and returns the events.
func run(t testing.TB, d *Detector, pcm []int16) []eventAt {
	t.Helper()
	var evs []eventAt
	fl := d.FrameLen()
	for i := 0; i+fl <= len(pcm); i += fl {
		ev := d.Process(pcm[i : i+fl])
		switch ev {
		case None:
			continue
		case Unknown:
			t.Fatalf("Process returned Unknown for a %d-sample frame", fl)
		}
		at := time.Duration(int64(i+fl) * int64(time.Second) / int64(d.cfg.SampleRate))
		e := eventAt{ev: ev, at: at}
		if ev == SpeechStart {
			e.onsetAt = at - d.OnsetOffset()
		}
		evs = append(evs, e)
	}
	return evs
}
