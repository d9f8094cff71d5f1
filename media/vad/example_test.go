package vad_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/hotline-ivr/hotline/media/vad"
)

// A call leg at 8 kHz: the detector sees 20 ms frames of line noise, then
// a vowel-like sound from 1.5 s to 2.3 s. SpeechStart arrives MinSpeech
// after the onset, and OnsetOffset dates the onset itself, which is where
// barge-in and the ASR pre-roll should start; SpeechEnd comes MinSilence
// after the sound stops.
func Example() {
	d, err := vad.New(vad.Config{SampleRate: 8000})
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(1, 1))
	frame := make([]int16, d.FrameLen())
	for n := 0; n < 200; n++ { // 4 s
		for i := range frame {
			t := float64(n*len(frame)+i) / 8000
			v := 30 * rng.NormFloat64() // about -60 dBFS of hiss
			if t >= 1.5 && t < 2.3 {
				for h := 1; h <= 20; h++ { // 150 Hz voice with harmonics
					v += 2000 / float64(h) * math.Sin(2*math.Pi*150*float64(h)*t)
				}
			}
			frame[i] = int16(v)
		}
		now := time.Duration(n+1) * 20 * time.Millisecond
		switch ev := d.Process(frame); ev {
		case vad.SpeechStart:
			fmt.Printf("%v at %v: speech began at %v\n", ev, now, (now - d.OnsetOffset()).Round(10*time.Millisecond))
		case vad.SpeechEnd:
			fmt.Printf("%v at %v\n", ev, now)
		}
	}
	// Output:
	// speech-start at 1.56s: speech began at 1.49s
	// speech-end at 2.92s
}
