package bridge

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hotline-ivr/hotline/media/audio"
)

// TestTuneNeverSilent: the built-in hold music has sound in every 20 ms frame at
// every telephone rate, across the loop point too, and no click at the seam.
func TestTuneNeverSilent(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		pcm := Tune(rate)
		if len(pcm) != 8*rate {
			t.Fatalf("%d Hz: %d samples", rate, len(pcm))
		}
		l := NewLoop(pcm)
		frame := make([]int16, rate/50)
		for i := range 2 * 8 * 50 { // twice round the loop
			l.Read(frame)
			if db := audio.DBFS(frame); db < -40 {
				t.Fatalf("%d Hz frame %d: %.1f dBFS", rate, i, db)
			}
		}
		// The seam: the jump from the last sample to the first is no bigger than the
		// largest jump inside the music.
		var maxStep float64
		for i := 1; i < len(pcm); i++ {
			maxStep = math.Max(maxStep, math.Abs(float64(pcm[i])-float64(pcm[i-1])))
		}
		if seam := math.Abs(float64(pcm[0]) - float64(pcm[len(pcm)-1])); seam > maxStep {
			t.Errorf("%d Hz: seam step %.0f, largest step inside %.0f", rate, seam, maxStep)
		}
	}
}

// TestMusicFromWAV: a WAV file is resampled to the call's rate and loops; a silent
// or missing file is refused at once.
func TestMusicFromWAV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "moh.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAV(f, audio.Tone(440, 16000, 1e9/2, 0.3), 16000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m, err := NewMusic(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := m.Source(8000)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	var all []int16
	for range 100 { // 2 s of a 0.5 s file
		if n, err := src.Read(frame); n != 160 || err != nil {
			t.Fatalf("Read %d, %v", n, err)
		}
		all = append(all, frame...)
	}
	if f := toneFrames(all, 8000, 440); f < 0.9 {
		t.Errorf("440 Hz in %.0f%% of the frames", 100*f)
	}
	silent := filepath.Join(dir, "silent.wav")
	f, _ = os.Create(silent)
	audio.WriteWAV(f, make([]int16, 8000), 8000)
	f.Close()
	if _, err := NewMusic(silent); err == nil {
		t.Error("silent file accepted")
	}
	if _, err := NewMusic(filepath.Join(dir, "none.wav")); err == nil {
		t.Error("missing file accepted")
	}
}

// TestPlayer: pause plays silence without moving the music on; resume continues
// where it stopped; the gain scales the level.
func TestPlayer(t *testing.T) {
	pcm := make([]int16, 1000)
	for i := range pcm {
		pcm[i] = int16(i)
	}
	p := NewPlayer(NewLoop(pcm))
	frame := make([]int16, 10)
	p.Read(frame)
	p.Pause()
	p.Read(frame)
	if audio.RMS(frame) != 0 {
		t.Error("paused player not silent")
	}
	p.Resume()
	p.Read(frame)
	if frame[0] != 10 {
		t.Errorf("resumed at %d, want 10", frame[0])
	}
	p.SetGainDB(-6.0206)
	p.Read(frame)
	if frame[0] != 10 { // 20 halved
		t.Errorf("at -6 dB: %d, want 10", frame[0])
	}
	p.SetGainDB(-100)
	p.Read(frame)
	if audio.RMS(frame) != 0 {
		t.Error("muted player not silent")
	}
}
