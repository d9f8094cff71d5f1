package ivr

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"testing/synctest"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media/audio"
)

// tone returns 100 ms of a tone at rate.
func tone(rate int, freq float64) []int16 {
	return audio.Tone(freq, rate, 100*time.Millisecond, 0.5)
}

func wavBytes(t testing.TB, pcm []int16, rate int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := audio.WriteWAV(&b, pcm, rate); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeTone writes a 100 ms 440 Hz tone at rate as a WAV file and returns its samples.
func writeTone(t testing.TB, path string, rate int) []int16 {
	t.Helper()
	pcm := tone(rate, 440)
	if err := os.WriteFile(path, wavBytes(t, pcm, rate), 0o644); err != nil {
		t.Fatal(err)
	}
	return pcm
}

// parseFile loads src as the flow file test.yaml of dir, so audio paths resolve there.
func parseFile(t testing.TB, dir, src string) *flows.Flow {
	t.Helper()
	f, err := flows.Parse(nil, filepath.Join(dir, "test.yaml"), []byte(src))
	if err != nil {
		t.Fatalf("flow does not load:\n%v", err)
	}
	return f
}

const wavFlow = `
name: wav
start: chime
defaults: {error: apology}
nodes:
  chime: {play: %s, next: menu}
  menu:
    gather: {play: %[1]s, timeout: 1s, retries: 0}
    branch: {"1": end}
    on: {no_input: end, no_match: end}
  apology: {say: Sorry., next: end}
  end: {hangup: resolved}
`

// checkResampled checks that the call heard the 16 kHz file at its own 8 kHz.
func checkResampled(t *testing.T, p playRec, src []int16) {
	t.Helper()
	want, err := audio.Resample(src, 16000, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.pcm, want) || p.length != 100*time.Millisecond {
		t.Errorf("played %d samples (%v), want the file resampled to 8 kHz: %d samples", len(p.pcm), p.length, len(want))
	}
}

func TestPlayFile(t *testing.T) {
	t.Run("from the flow's directory, resampled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			dir := t.TempDir()
			src := writeTone(t, filepath.Join(dir, "chime.wav"), 16000)
			f := parseFile(t, dir, sprintf(wavFlow, "chime.wav"))
			res := h.run(t.Context(), f)
			if got, want := path(res), "chime>menu>end"; got != want || res.Err != nil {
				t.Fatalf("path %s (err %v), want %s", got, res.Err, want)
			}
			plays := h.ch.played()
			if len(plays) != 2 {
				t.Fatalf("%d plays, want the chime and the menu's play file", len(plays))
			}
			for _, p := range plays {
				checkResampled(t, p, src)
			}
		})
	})
	t.Run("from an fs.FS, read once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			src := tone(16000, 440)
			data := []byte(sprintf(wavFlow, "sounds/chime.wav"))
			fsys := &countingFS{FS: fstest.MapFS{
				"ivr/test.yaml":        {Data: data},
				"ivr/sounds/chime.wav": {Data: wavBytes(t, src, 16000)},
			}}
			f, err := flows.Parse(fsys, "ivr/test.yaml", data)
			if err != nil {
				t.Fatal(err)
			}
			fsys.opens.Store(0) // the loader checked the file exists
			for range 3 {
				h.ch = newFakeChannel(h.synth)
				res := h.run(t.Context(), f)
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				for _, p := range h.ch.played() {
					checkResampled(t, p, src)
				}
				h.ch.close()
			}
			if n := fsys.opens.Load(); n != 1 {
				t.Errorf("the file was opened %d times for 3 calls, want once", n)
			}
		})
	})
	t.Run("a reloaded flow plays the replaced file", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			dir := t.TempDir()
			writeTone(t, filepath.Join(dir, "chime.wav"), 16000)
			h.run(t.Context(), parseFile(t, dir, sprintf(wavFlow, "chime.wav")))

			// The operator records a new chime; the flow file is unchanged, so the new
			// Flow has the same name and version.
			longer := audio.Tone(880, 8000, 300*time.Millisecond, 0.5)
			if err := os.WriteFile(filepath.Join(dir, "chime.wav"), wavBytes(t, longer, 8000), 0o644); err != nil {
				t.Fatal(err)
			}
			h.ch = newFakeChannel(h.synth)
			defer h.ch.close()
			h.run(t.Context(), parseFile(t, dir, sprintf(wavFlow, "chime.wav")))
			if p := h.ch.played(); len(p) == 0 || !slices.Equal(p[0].pcm, longer) {
				t.Error("the reloaded flow played the old recording")
			}
		})
	})
	t.Run("a file broken after loading takes the error route", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			defer h.ch.close()
			dir := t.TempDir()
			writeTone(t, filepath.Join(dir, "chime.wav"), 16000)
			f := parseFile(t, dir, sprintf(wavFlow, "chime.wav"))
			if err := os.WriteFile(filepath.Join(dir, "chime.wav"), []byte("RIFF junk"), 0o644); err != nil {
				t.Fatal(err)
			}
			res := h.run(t.Context(), f)
			if got, want := path(res), "chime>apology>end"; got != want {
				t.Errorf("path %s, want %s", got, want)
			}
		})
	})
}

// countingFS counts Open calls.
type countingFS struct {
	fs.FS
	opens atomic.Int32
}

func (c *countingFS) Open(name string) (fs.File, error) {
	c.opens.Add(1)
	return c.FS.Open(name)
}

// TestFileCacheForgetsFreedFlows: decoded files of a flow no call uses any more go with
// it, so reloading flows all day does not grow the cache.
func TestFileCacheForgetsFreedFlows(t *testing.T) {
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "chime.wav"), 8000)
	fc := newFileCache()
	for range 3 {
		f := parseFile(t, dir, sprintf(wavFlow, "chime.wav"))
		if _, err := fc.load(f, f.Nodes["chime"].Action.(*flows.Play).File, 8000); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for fc.len() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := fc.len(); n != 0 {
		t.Errorf("%d freed flows still hold cached files", n)
	}
}
