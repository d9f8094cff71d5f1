package plc

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os/exec"
	"sync"
	"testing"

	"github.com/hotline-ivr/hotline/media/audio"
)

// harmonic is a voiced test signal: a band-limited pulse train at 200 Hz
// whose harmonics fall by 6 dB per octave up to 3.6 kHz (the spectrum of
// voiced speech: a glottal source falling 12 dB per octave, lip radiation
// adding 6), with a 2 % vibrato at 4 Hz, peaking near -6 dBFS. A strictly
// periodic 200 Hz tone would repeat exactly every 20 ms frame and flatter
// frame repetition; real voices drift in pitch, and so does this.
func harmonic(rate int, seconds float64) []int16 {
	n := int(seconds * float64(rate))
	x := make([]float64, n)
	var phase, peak float64
	for i := range x {
		t := float64(i) / float64(rate)
		f0 := 200 * (1 + 0.02*math.Sin(2*math.Pi*4*t))
		phase += 2 * math.Pi * f0 / float64(rate)
		var v float64
		for k := 1; float64(k)*f0 < 3600; k++ {
			v += math.Cos(float64(k)*phase) / float64(k)
		}
		x[i] = v
		peak = max(peak, math.Abs(v))
	}
	out := make([]int16, n)
	for i, v := range x {
		out[i] = int16(math.Round(v / peak * 16384))
	}
	return out
}

var (
	speechOnce sync.Once
	speech22k  []int16
	speechRate int
	speechErr  error
)

// speech synthesises "check my balance" with espeak-ng, the project's
// prompt voice, at rate. A missing espeak-ng fails the test: `make test`
// installs it, and a skip would hide a broken setup.
func speech(t *testing.T, rate int) []int16 {
	t.Helper()
	path, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatalf("espeak-ng not installed (make test installs it: Debian package espeak-ng)")
	}
	speechOnce.Do(func() {
		out, err := exec.Command(path, "-v", "en-us", "--stdout", "check my balance").Output()
		if err != nil {
			speechErr = err
			return
		}
		speech22k, speechRate, speechErr = audio.ReadWAV(bytes.NewReader(out))
	})
	if speechErr != nil {
		t.Fatalf("espeak-ng: %v", speechErr)
	}
	pcm, err := audio.Resample(speech22k, speechRate, rate)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// A loss pattern marks which 20 ms frames are lost in realization r of a
// loss process. A short utterance holds only a few losses, so quality is
// measured over many realizations: the expected SNR, not one draw's luck.
type pattern struct {
	name string
	lost func(frames, r int) []bool
}

const realizations = 25

var patterns = []pattern{
	{"5% random", func(n, r int) []bool {
		rng := rand.New(rand.NewPCG(42, uint64(r)))
		l := make([]bool, n)
		for i := 3; i < n; i++ {
			l[i] = rng.Float64() < 0.05
		}
		return l
	}},
	{"bursts of 3", func(n, r int) []bool {
		l := make([]bool, n)
		for i := 3; i < n; i++ {
			l[i] = (i+r)%25 < 3
		}
		return l
	}},
}

// A method turns the original and a loss pattern into what the listener
// hears.
type method struct {
	name string
	run  func(t testing.TB, x []int16, rate int, lost []bool) []int16
}

var methods = []method{
	{"plc", func(t testing.TB, x []int16, rate int, lost []bool) []int16 {
		c, err := New(rate)
		if err != nil {
			t.Fatal(err)
		}
		return frames(x, rate, lost, func(out, _ []int16, lost bool) {
			if lost {
				c.Conceal(out)
			} else {
				c.Good(out)
			}
		})
	}},
	{"zero fill", func(_ testing.TB, x []int16, rate int, lost []bool) []int16 {
		return frames(x, rate, lost, func(out, _ []int16, lost bool) {
			if lost {
				clear(out)
			}
		})
	}},
	{"repeat last frame", func(_ testing.TB, x []int16, rate int, lost []bool) []int16 {
		return frames(x, rate, lost, func(out, prev []int16, lost bool) {
			if lost && prev != nil {
				copy(out, prev)
			}
		})
	}},
}

// frames splits x into 20 ms frames and lets fn produce each output frame
// in place: out holds the original (meaningless when lost), prev the
// previous output frame.
func frames(x []int16, rate int, lost []bool, fn func(out, prev []int16, lost bool)) []int16 {
	n := rate / 50
	y := make([]int16, len(x)/n*n)
	copy(y, x)
	var prev []int16
	for f := 0; (f+1)*n <= len(y); f++ {
		out := y[f*n : (f+1)*n]
		fn(out, prev, lost[f])
		prev = out
	}
	return y
}

// energies adds the signal energy of x and the error energy of y against
// x over the frames selected by sel (all frames when sel is nil).
func energies(x, y []int16, rate int, sel []bool) (sig, noise float64) {
	n := rate / 50
	for f := 0; (f+1)*n <= len(y); f++ {
		if sel != nil && !sel[f] {
			continue
		}
		for i := f * n; i < (f+1)*n; i++ {
			s, e := float64(x[i]), float64(x[i])-float64(y[i])
			sig += s * s
			noise += e * e
		}
	}
	return sig, noise
}

func db(sig, noise float64) float64 {
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

// affected marks the lost frames and the good frame after each run, which
// the merge modifies.
func affected(lost []bool) []bool {
	a := make([]bool, len(lost))
	for i, l := range lost {
		a[i] = l || (i > 0 && lost[i-1])
	}
	return a
}
