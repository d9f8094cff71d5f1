package dtmf

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// The in-band tests listen to real signals made by the tools a carrier's
// audio passes through in spirit: sox for the tones, G.711 μ-law and white
// noise, espeak-ng for speech. They fail, never skip, when a tool is
// missing: `make test` installs both (Debian packages sox and espeak-ng),
// and a skipped test would hide a broken setup.

// needTool returns the path of an executable or fails the test.
func needTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed (make test installs it: Debian packages sox and espeak-ng)", name)
	}
	return path
}

// soxFiles numbers the files a test writes, so parallel subtests sharing a
// directory never collide.
var soxFiles atomic.Int64

// soxBench is a scratch directory and the sox binary for one test.
type soxBench struct {
	t   testing.TB
	sox string
	dir string
}

func newSox(t testing.TB) *soxBench {
	t.Helper()
	return &soxBench{t: t, sox: needTool(t, "sox"), dir: t.TempDir()}
}

// file returns a fresh path in the scratch directory.
func (s *soxBench) file() string {
	return filepath.Join(s.dir, fmt.Sprintf("f%d.wav", soxFiles.Add(1)))
}

// run runs sox in repeatable mode (-R: the same dither and noise on every
// run) with args.
func (s *soxBench) run(args ...string) {
	s.t.Helper()
	cmd := exec.Command(s.sox, append([]string{"-R"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("sox %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// amp returns the sox vol factor (peak amplitude relative to full scale) of
// a sine at level dBm0: 0 dBm0 is 3.17 dB below a full-scale sine (G.711).
func amp(level float64) string {
	return strconv.FormatFloat(math.Pow(10, (level-3.17)/20), 'f', 6, 64)
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// pair describes one dual tone: frequencies in Hz and levels in dBm0.
type pair struct {
	lowHz, highHz float64
	lowDB, highDB float64
	dur           time.Duration
	silenceAfter  time.Duration
}

// digitPair returns the nominal pair of a digit at the standard levels
// (low -10 dBm0, high 2 dB louder) lasting dur.
func digitPair(digit byte, dur time.Duration) pair {
	i := strings.IndexByte(keypad, digit)
	return pair{lowHz: lowFreqs[i/4], highHz: highFreqs[i%4], lowDB: -10, highDB: -8, dur: dur}
}

// tone writes one pair at rate with sox and returns the file. The two sines
// are synthesised as two channels and mixed with per-channel gains, which
// gives the same samples as two files mixed with `sox -m -v 1 a -v 1 b`.
func (s *soxBench) tone(rate int, p pair) string {
	s.t.Helper()
	out := s.file()
	args := []string{"-r", strconv.Itoa(rate), "-c", "2", "-n", "-c", "1", "-b", "16", out,
		"synth", secs(p.dur), "sine", fmt.Sprint(p.lowHz), "sine", fmt.Sprint(p.highHz),
		"remix", "1v" + amp(p.lowDB) + ",2v" + amp(p.highDB)}
	if p.silenceAfter > 0 {
		args = append(args, "pad", "0", secs(p.silenceAfter))
	}
	s.run(args...)
	return out
}

// silence writes dur of digital silence.
func (s *soxBench) silence(rate int, dur time.Duration) string {
	out := s.file()
	s.run("-r", strconv.Itoa(rate), "-n", "-c", "1", "-b", "16", out, "trim", "0", secs(dur))
	return out
}

// concat joins files end to end.
func (s *soxBench) concat(files ...string) string {
	out := s.file()
	s.run(append(files, out)...)
	return out
}

// sequence writes the pairs one after another, each followed by its
// silenceAfter.
func (s *soxBench) sequence(rate int, pairs ...pair) string {
	s.t.Helper()
	files := make([]string, len(pairs))
	for i, p := range pairs {
		files[i] = s.tone(rate, p)
	}
	if len(files) == 1 {
		return files[0]
	}
	return s.concat(files...)
}

// ulaw passes a file through G.711 μ-law at 8000 Hz, as a carrier's PSTN
// leg does.
func (s *soxBench) ulaw(in string) string {
	out := s.file()
	s.run(in, "-e", "u-law", "-r", "8000", out)
	return out
}

// addNoise mixes white noise into in so that the signal-to-noise ratio is
// snr dB, where the signal power is that of the pair p while it sounds. It
// measures the noise it made and returns the true SNR with the file.
func (s *soxBench) addNoise(in string, p pair, snr float64) (string, float64) {
	s.t.Helper()
	pcm, rate := s.read(in)
	dur := time.Duration(len(pcm)) * time.Second / time.Duration(rate)
	sig := math.Pow(10, (p.lowDB-3.17)/10)/2 + math.Pow(10, (p.highDB-3.17)/10)/2 // power, full scale = 1
	// sox's white noise is uniform over ±vol: RMS vol/√3.
	vol := math.Sqrt(sig/math.Pow(10, snr/10)) * math.Sqrt(3)
	noise := s.file()
	s.run("-r", strconv.Itoa(rate), "-n", "-c", "1", "-b", "16", noise,
		"synth", secs(dur), "whitenoise", "vol", strconv.FormatFloat(vol, 'f', 6, 64))
	npcm, _ := s.read(noise)
	got := 10 * math.Log10(sig/math.Pow(audio.RMS(npcm)/32768, 2))
	out := s.file()
	s.run("-m", "-v", "1", in, "-v", "1", noise, out)
	return out, got
}

// read decodes a WAV file (μ-law included) with media/audio.
func (s *soxBench) read(path string) ([]int16, int) {
	s.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	pcm, rate, err := audio.ReadWAV(bytes.NewReader(b))
	if err != nil {
		s.t.Fatalf("%s: %v", path, err)
	}
	return pcm, rate
}

// detect runs pcm through a new Detector at rate in frames of frame samples
// and returns every digit reported.
func detect(t testing.TB, pcm []int16, rate, frame int) string {
	t.Helper()
	d, err := NewDetector(rate)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		got = append(got, d.Process(pcm[:n])...)
		pcm = pcm[n:]
	}
	return string(got)
}

// mix adds two files sample by sample (-v 1 each: no automatic halving).
func (s *soxBench) mix(a, b string) string {
	out := s.file()
	s.run("-m", "-v", "1", a, "-v", "1", b, out)
	return out
}
