package vad

import (
	"math"
	"testing"
	"time"
)

// Tones are not speech, but a detector of this kind cannot tell a steady
// two-frequency tone from a sung vowel within MinSpeech, and the IVR does
// not need it to: in-band DTMF is detected (and barge-in by digit decided)
// by media/dtmf's Goertzel detector, and a prompt stopped by a digit would
// stop anyway. These tests pin down and document what happens.

// dtmfFreqs returns the ITU-T Q.23 row and column frequencies of key.
func dtmfFreqs(key byte) (row, col float64) {
	const keypad = "123A456B789C*0#D"
	i := 0
	for i < len(keypad) && keypad[i] != key {
		i++
	}
	return [4]float64{697, 770, 852, 941}[i/4%4], [4]float64{1209, 1336, 1477, 1633}[i%4]
}

// addTones mixes two sines at levelDB dBFS each into pcm from at for dur.
func addTones(x []float64, rate int, f1, f2 float64, at, dur time.Duration, levelDB float64) {
	start := int(int64(at) * int64(rate) / int64(time.Second))
	end := min(len(x), start+int(int64(dur)*int64(rate)/int64(time.Second)))
	a := dbfsToRMS(levelDB) * math.Sqrt2
	for i := start; i < end; i++ {
		t := float64(i-start) / float64(rate)
		x[i] += a * (math.Sin(2*math.Pi*f1*t) + math.Sin(2*math.Pi*f2*t))
	}
}

// TestDTMFIsSpeech: a string of DTMF digits (70 ms tone, 70 ms gap, -10
// dBFS per tone, over line noise) is reported as one utterance starting at
// the first tone and ending MinSilence after the last, like speech.
// Digits of Q.24's 40 ms minimum are caught too.
func TestDTMFIsSpeech(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for _, tone := range []time.Duration{70 * time.Millisecond, 40 * time.Millisecond} {
			const start = 1500 * time.Millisecond
			x := whiteNoise(5*rate, 3)
			for i := range x {
				x[i] *= dbfsToRMS(-50)
			}
			at := start
			for _, key := range []byte("4519#0") {
				row, col := dtmfFreqs(key)
				addTones(x, rate, row, col, at, tone, -10)
				at += tone + 70*time.Millisecond
			}
			last := at - 70*time.Millisecond
			d := mustNew(t, Config{SampleRate: rate})
			evs := run(t, d, toPCM(x, 1))
			if len(evs) != 2 || evs[0].ev != SpeechStart || evs[1].ev != SpeechEnd {
				t.Errorf("%d Hz %v digits: events %v, want one start and end", rate, tone, evs)
				continue
			}
			t.Logf("%d Hz, %v digits: SpeechStart %v after the first tone (onset %+v), SpeechEnd %v after the last",
				rate, tone, evs[0].at-start, evs[0].onsetAt-start, evs[1].at-last)
			if e := evs[0].onsetAt - start; abs(e) > 20*time.Millisecond {
				t.Errorf("%d Hz %v digits: onset %+v from the first tone", rate, tone, e)
			}
			if e := evs[1].at - last - DefaultMinSilence; e < -10*time.Millisecond || e > 50*time.Millisecond {
				t.Errorf("%d Hz %v digits: SpeechEnd %v after the last tone", rate, tone, evs[1].at-last)
			}
		}
	}
}

// TestSteadyToneIsLearnt: a continuous tone (a dial tone, 350 + 440 Hz)
// starts "speech", but the noise model learns it within about a second, so
// SpeechEnd follows and nothing more is reported while it lasts; when it
// stops, the floor falls back at once.
func TestSteadyToneIsLearnt(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		const start, dur = 2 * time.Second, 10 * time.Second
		x := whiteNoise(15*rate, 4)
		for i := range x {
			x[i] *= dbfsToRMS(-55)
		}
		addTones(x, rate, 350, 440, start, dur, -13)
		d := mustNew(t, Config{SampleRate: rate})
		evs := run(t, d, toPCM(x, 1))
		if len(evs) != 2 || evs[1].ev != SpeechEnd {
			t.Errorf("%d Hz: events %v, want one start and one end", rate, evs)
			continue
		}
		t.Logf("%d Hz dial tone: SpeechStart at +%v, SpeechEnd at +%v", rate, evs[0].at-start, evs[1].at-start)
		if end := evs[1].at - start; end > 1150*time.Millisecond+DefaultMinSilence {
			t.Errorf("%d Hz: the tone took until +%v to be learnt", rate, end)
		}
	}
}
