package vad

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The acceptance test of issue 3 item 5: speech onset found within 100 ms
// at 10 dB SNR, and SpeechEnd within MinSilence + 100 ms of the end of
// speech. Run with -v for the table.

const (
	onsetTolerance = 100 * time.Millisecond
	endTolerance   = 100 * time.Millisecond
)

// condition is one row of the accuracy table.
type condition struct {
	rate  int
	mulaw bool
	kind  noiseKind
	snr   float64
	mode  int
	frame time.Duration
}

func (c condition) String() string {
	s := fmt.Sprintf("%2dk", c.rate/1000)
	if c.mulaw {
		s += " μ-law"
	}
	if c.kind == noiseNone {
		s += " clean"
	} else {
		s += fmt.Sprintf(" %s %.0fdB", c.kind, c.snr)
	}
	if c.mode != 0 {
		s += fmt.Sprintf(" mode%d", c.mode)
	}
	if c.frame != DefaultFrameDuration {
		s += fmt.Sprintf(" %v", c.frame)
	}
	return s
}

// outcome collects one condition's measurements.
type outcome struct {
	onset   []time.Duration // detected - true onset
	latency []time.Duration // SpeechStart time - true onset
	end     []time.Duration // SpeechEnd time - MinSilence - true end
	failed  []string        // utterances not found as exactly one start and end
}

// levels cycles the speech's active level over a loud, a typical and a
// quiet caller.
var levels = []float64{-18, -26, -34}

// measure runs every utterance of the corpus under c.
func measure(t *testing.T, c condition) outcome {
	var o outcome
	for i, s := range corpus(t, c.rate) {
		lead := time.Second + time.Duration(i%5)*250*time.Millisecond // 1 to 2 s
		seed := uint64(i)*1000 + uint64(c.snr) + uint64(len(c.kind))*7
		snr := c.snr
		if c.kind == noiseNone {
			snr = 0 // no noise to scale
		}
		sc := makeScene(s, lead, DefaultMinSilence+time.Second, levels[i%3], snr, c.kind, seed, c.mulaw)
		d := mustNew(t, Config{SampleRate: c.rate, Mode: c.mode, FrameDuration: c.frame})
		evs := run(t, d, sc.pcm)
		if len(evs) != 2 || evs[0].ev != SpeechStart || evs[1].ev != SpeechEnd {
			o.failed = append(o.failed, fmt.Sprintf("%v at %.0f dBFS: %v", s, levels[i%3], evs))
			continue
		}
		o.onset = append(o.onset, evs[0].onsetAt-sc.onset)
		o.latency = append(o.latency, evs[0].at-sc.onset)
		o.end = append(o.end, evs[1].at-DefaultMinSilence-sc.end)
		if e := evs[0].onsetAt - sc.onset; abs(e) > onsetTolerance {
			t.Errorf("%v: %v at %.0f dBFS: onset %v off (true %v, detected %v)",
				c, s, levels[i%3], e, sc.onset, evs[0].onsetAt)
		}
		if e := evs[1].at - sc.end; e > DefaultMinSilence+endTolerance || e < 0 {
			t.Errorf("%v: %v: SpeechEnd %v after the true end, want 0 to %v",
				c, s, e, DefaultMinSilence+endTolerance)
		}
	}
	for _, f := range o.failed {
		t.Errorf("%v: %s", c, f)
	}
	return o
}

type stats struct{ meanAbs, mean, min, max float64 } // milliseconds

func summarize(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := stats{min: math.Inf(1), max: math.Inf(-1)}
	for _, d := range ds {
		ms := float64(d) / float64(time.Millisecond)
		s.mean += ms
		s.meanAbs += math.Abs(ms)
		s.min, s.max = min(s.min, ms), max(s.max, ms)
	}
	s.mean /= float64(len(ds))
	s.meanAbs /= float64(len(ds))
	return s
}

// table renders the outcomes as the Markdown table the README quotes.
func table(rows []condition, out map[condition]outcome) string {
	var b strings.Builder
	b.WriteString("\n| condition | found | onset error mean (mean abs) | onset error min..max | SpeechStart after true onset (mean, max) | end error mean | end error min..max |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, c := range rows {
		o := out[c]
		on, lat, end := summarize(o.onset), summarize(o.latency), summarize(o.end)
		fmt.Fprintf(&b, "| %v | %d/%d | %+.0f ms (%.0f) | %+.0f..%+.0f ms | %.0f, %.0f ms | %+.0f ms | %+.0f..%+.0f ms |\n",
			c, len(o.onset), len(o.onset)+len(o.failed), on.mean, on.meanAbs, on.min, on.max,
			lat.mean, lat.max, end.mean, end.min, end.max)
	}
	return b.String()
}

// runTable measures the rows in parallel and logs the table.
func runTable(t *testing.T, rows []condition) map[condition]outcome {
	out := map[condition]outcome{}
	var mu sync.Mutex
	t.Run("rows", func(t *testing.T) {
		for _, c := range rows {
			t.Run(strings.ReplaceAll(c.String(), " ", "_"), func(t *testing.T) {
				t.Parallel()
				o := measure(t, c)
				mu.Lock()
				out[c] = o
				mu.Unlock()
			})
		}
	})
	t.Log(table(rows, out))
	return out
}

// TestOnsetAccuracy is the acceptance criterion: 24 utterances (English
// and Mandarin, 7 voices, three speech levels, 1-2 s of noise before) per
// row, at 8, 16 and 48 kHz and through G.711 μ-law, in white and pink noise
// at 20 and 10 dB SNR, with the default configuration; clean speech after
// digital silence is the baseline.
func TestOnsetAccuracy(t *testing.T) {
	rows := []condition{
		{rate: 8000, kind: noiseNone, frame: DefaultFrameDuration},
		{rate: 8000, mulaw: true, kind: noiseNone, frame: DefaultFrameDuration},
	}
	for _, snr := range []float64{20, 10} {
		for _, kind := range []noiseKind{noiseWhite, noisePink} {
			for _, r := range []struct {
				rate  int
				mulaw bool
			}{{8000, false}, {8000, true}, {16000, false}, {48000, false}} {
				rows = append(rows, condition{rate: r.rate, mulaw: r.mulaw, kind: kind, snr: snr, frame: DefaultFrameDuration})
			}
		}
	}
	out := runTable(t, rows)
	// The summary: all 10 dB rows together.
	var all []time.Duration
	for _, c := range rows {
		if c.snr == 10 {
			all = append(all, out[c].onset...)
		}
	}
	s := summarize(all)
	worst := slices.MaxFunc(all, func(a, b time.Duration) int { return int(abs(a) - abs(b)) })
	t.Logf("10 dB SNR, %d utterances: onset error mean %+.1f ms, mean |error| %.1f ms, max |error| %v",
		len(all), s.mean, s.meanAbs, abs(worst).Round(time.Millisecond))
}

// TestOnsetAccuracyModesAndFrames checks the other modes and frame
// durations at 10 dB, 8 kHz: the same tolerance holds.
func TestOnsetAccuracyModesAndFrames(t *testing.T) {
	var rows []condition
	for _, kind := range []noiseKind{noiseWhite, noisePink} {
		for mode := ModeLowBitrate; mode <= ModeVeryAggressive; mode++ {
			rows = append(rows, condition{rate: 8000, kind: kind, snr: 10, mode: mode, frame: DefaultFrameDuration})
		}
		for _, f := range []time.Duration{10 * time.Millisecond, 30 * time.Millisecond} {
			rows = append(rows, condition{rate: 8000, kind: kind, snr: 10, frame: f})
		}
	}
	runTable(t, rows)
}
