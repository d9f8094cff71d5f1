package sphinx

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/media/audio"
	"github.com/hotline-ivr/hotline/media/codec"
)

// testData is Debian's pocketsphinx-testdata: recordings of real speech.
const testData = "/usr/share/pocketsphinx/test/data"

// The tests need the Debian packages; without them they fail (never
// skip), so a CI machine missing one is noticed.
func requirePackages(t testing.TB) {
	t.Helper()
	for _, need := range []struct{ path, pkg string }{
		{DefaultModelDir + "/en-us/mdef", "pocketsphinx-en-us"},
		{DefaultModelDir + "/cmudict-en-us.dict", "pocketsphinx-en-us"},
		{testData + "/cards/cards.gram", "pocketsphinx-testdata"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			t.Fatalf("%v: install the Debian package %s (make deps-test)", err, need.pkg)
		}
	}
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatalf("espeak-ng: %v: install the Debian package espeak-ng (make deps-test)", err)
	}
}

var (
	sharedOnce    sync.Once
	sharedBackend *Backend
	sharedErr     error
)

// shared returns the backend most tests use: a pool of two decoders,
// loaded once per test binary.
func shared(t testing.TB) *Backend {
	t.Helper()
	requirePackages(t)
	sharedOnce.Do(func() { sharedBackend, sharedErr = New(WithPoolSize(2)) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedBackend
}

var (
	speechMu    sync.Mutex
	speechCache = map[string][]int16{}
)

// speak synthesises text with espeak-ng (voice such as "en-us", rate in
// words per minute) and returns it at 22050 Hz.
func speak(t testing.TB, voice string, wpm int, text string) []int16 {
	t.Helper()
	key := voice + "|" + strconv.Itoa(wpm) + "|" + text
	speechMu.Lock()
	defer speechMu.Unlock()
	if pcm, ok := speechCache[key]; ok {
		return pcm
	}
	out, err := exec.Command("espeak-ng", "-v", voice, "-s", strconv.Itoa(wpm), "--stdout", text).Output()
	if err != nil {
		t.Fatalf("espeak-ng %q: %v", text, err)
	}
	pcm, rate, err := audio.ReadWAV(bytes.NewReader(out))
	if err != nil || rate != 22050 {
		t.Fatalf("espeak-ng output: %v (rate %d)", err, rate)
	}
	speechCache[key] = pcm
	return pcm
}

// telephone passes pcm (at rate) through a phone line: resampled to
// 8 kHz, G.711 μ-law encoded and decoded by media/codec.
func telephone(t testing.TB, pcm []int16, rate int) []int16 {
	t.Helper()
	nb, err := audio.Resample(pcm, rate, 8000)
	if err != nil {
		t.Fatal(err)
	}
	ulaw := make([]byte, len(nb))
	codec.EncodeMulaw(ulaw, nb)
	codec.DecodeMulaw(nb, ulaw)
	return nb
}

// padded surrounds pcm with lead of silence before and 200 ms after (the
// session adds the silence that ends the utterance).
func padded(pcm []int16, rate int, lead time.Duration) []int16 {
	out := make([]int16, int(lead.Seconds()*float64(rate)), len(pcm)+rate)
	out = append(out, pcm...)
	return append(out, make([]int16, rate/5)...)
}

// readRaw reads a headerless 16-bit little-endian file.
func readRaw(t testing.TB, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return pcm
}

func readWAV(t testing.TB, path string) ([]int16, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, rate, err := audio.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	return pcm, rate
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recognize runs one clip through a session on b.
func recognize(t testing.TB, b asr.Backend, req asr.Request, pcm []int16, rate int) asr.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := asr.NewSession(ctx, "sphinx", b, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := asr.Transcribe(ctx, s, pcm, rate)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func cards(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(testData + "/cards/*.wav")
	if err != nil || len(files) != 5 {
		t.Fatalf("cards recordings: %v %v", files, err)
	}
	return files
}

// settleGoroutines waits for the goroutine count to fall to n.
func settleGoroutines(n int) int {
	deadline := time.Now().Add(3 * time.Second)
	for {
		g := runtime.NumGoroutine()
		if g <= n || time.Now().After(deadline) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
}
