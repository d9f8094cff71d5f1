package telephony

import (
	"math"
	"sync"
)

// The audio helpers of this package's tests, exported so the external tests
// (package telephony_test) use the same ones.

// Recorder keeps the audio a sink hears (tests only: it allocates).
type Recorder struct {
	mu  sync.Mutex
	pcm []int16
}

// WriteAudio implements the media sink.
func (r *Recorder) WriteAudio(pcm []int16) {
	r.mu.Lock()
	r.pcm = append(r.pcm, pcm...)
	r.mu.Unlock()
}

// Take returns what was heard since the last Take and forgets it.
func (r *Recorder) Take() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.pcm
	r.pcm = nil
	return out
}

// ToneSource is an endless sine at -10 dBFS, W radians per sample.
type ToneSource struct{ W, ph float64 }

// Read implements the player's source.
func (s *ToneSource) Read(frame []int16) (int, error) {
	for i := range frame {
		frame[i] = int16(10000 * math.Sin(s.ph))
		s.ph += s.W
	}
	s.ph = math.Mod(s.ph, 2*math.Pi)
	return len(frame), nil
}

// ToneLevel is the share of pcm's power at freq (Goertzel), 0 to 1.
func ToneLevel(pcm []int16, rate int, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s := x + coeff*s1 - s2
		s2, s1 = s1, s
		total += x * x
	}
	if total == 0 || len(pcm) == 0 {
		return 0
	}
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (total * float64(len(pcm)) / 2)
}
