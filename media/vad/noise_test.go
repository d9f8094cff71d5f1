package vad

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/codec"
)

// TestNoFalseOnsetOnNoise: 30 s of stationary noise, from barely audible
// to loud (-20 dBFS is louder than most callers' speech), never starts
// speech. Mode 0 is the most sensitive: the thresholds of higher modes are
// higher (TestModesNest), so a hop that is not speech in mode 0 is not
// speech in any mode, and it suffices to test mode 0.
func TestNoFalseOnsetOnNoise(t *testing.T) {
	type row struct {
		kind  noiseKind
		level float64
		rate  int
		mulaw bool
	}
	var rows []row
	for _, kind := range []noiseKind{noiseWhite, noisePink, noiseHum50, noiseHum60} {
		for _, level := range []float64{-60, -45, -30, -20} {
			rows = append(rows, row{kind, level, 8000, false}, row{kind, level, 16000, false})
			// G.711 and 48 kHz at a quiet and the loudest level keep the
			// race-detector run of this test under a minute.
			if level == -45 || level == -20 {
				rows = append(rows, row{kind, level, 8000, true}, row{kind, level, 48000, false})
			}
		}
	}
	type result struct {
		starts, speechHops int
		maxScore           float64
	}
	results := make([]result, len(rows))
	var mu sync.Mutex
	t.Run("rows", func(t *testing.T) {
		for i, r := range rows {
			name := fmt.Sprintf("%s_%.0fdBFS_%d", r.kind, r.level, r.rate)
			if r.mulaw {
				name += "_mulaw"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				pcm := toPCM(makeNoise(r.kind, 30*r.rate, r.rate, uint64(i)+100), dbfsToRMS(r.level))
				if r.mulaw {
					b := make([]byte, len(pcm))
					codec.EncodeMulaw(b, pcm)
					codec.DecodeMulaw(pcm, b)
				}
				d := mustNew(t, Config{SampleRate: r.rate})
				var res result
				fl := d.FrameLen()
				for j := 0; j+fl <= len(pcm); j += fl {
					ev := d.Process(pcm[j : j+fl])
					if ev == SpeechStart {
						res.starts++
						t.Errorf("SpeechStart at %v", time.Duration(j+fl)*time.Second/time.Duration(r.rate))
					}
					if d.hopSpeech {
						res.speechHops++
					}
					if d.noise.ready() {
						res.maxScore = max(res.maxScore, d.score)
					}
				}
				mu.Lock()
				results[i] = res
				mu.Unlock()
			})
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "\n| noise | level | rate | SpeechStart | speech hops | max score (mode 0 on threshold %.2f) |\n|---|---|---|---|---|---|\n",
		modeThresholds[0].on)
	for i, r := range rows {
		rate := fmt.Sprintf("%dk", r.rate/1000)
		if r.mulaw {
			rate += " μ-law"
		}
		fmt.Fprintf(&b, "| %s | %.0f dBFS | %s | %d | %d | %.3f |\n", r.kind, r.level, rate,
			results[i].starts, results[i].speechHops, results[i].maxScore)
	}
	var peak float64
	var starts int
	for _, r := range results {
		peak = max(peak, r.maxScore)
		starts += r.starts
	}
	fmt.Fprintf(&b, "\n%d runs of 30 s (%d min of noise): %d SpeechStart, highest hop score %.3f\n",
		len(rows), len(rows)/2, starts, peak)
	t.Log(b.String())
}

// TestModesNest: every mode's thresholds are at least those of the modes
// below it, which TestNoFalseOnsetOnNoise relies on.
func TestModesNest(t *testing.T) {
	for m := 1; m < len(modeThresholds); m++ {
		lo, hi := modeThresholds[m-1], modeThresholds[m]
		if hi.on < lo.on || hi.off < lo.off || hi.off > hi.on {
			t.Errorf("mode %d thresholds %+v do not nest over mode %d's %+v", m, hi, m-1, lo)
		}
	}
}

// TestNoiseBias checks noiseBias: on stationary noise the tracked noise
// power must match the true mean power of each bin to within 10 %,
// otherwise the likelihood ratio of pure noise drifts.
func TestNoiseBias(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for _, kind := range []noiseKind{noiseWhite, noisePink} {
			pcm := toPCM(makeNoise(kind, 20*rate, rate, 9), dbfsToRMS(-30))
			d := mustNew(t, Config{SampleRate: rate, FrameDuration: 10 * time.Millisecond})
			var ratio float64
			var hops int
			fl := d.FrameLen()
			for j := 0; j+fl <= len(pcm); j += fl {
				d.Process(pcm[j : j+fl])
				if j < 2*rate {
					continue // let the minimum window fill
				}
				var p, l float64
				for k := range d.power {
					p += d.power[k]
					l += d.noise.noise[k]
				}
				ratio += p / l
				hops++
			}
			ratio /= float64(hops)
			t.Logf("%d Hz %s: mean power / noise estimate = %.3f", rate, kind, ratio)
			if ratio < 0.9 || ratio > 1.1 {
				t.Errorf("%d Hz %s: mean power / noise estimate = %.3f, want 1 ± 0.1", rate, kind, ratio)
			}
		}
	}
}
