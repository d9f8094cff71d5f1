package tts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/audio"
)

// fakeBackend renders each text as a tone, 10 ms per byte, at its rate.
type fakeBackend struct {
	rate     int
	settings string

	mu      sync.Mutex
	calls   []string
	err     error
	gate    chan struct{} // when set, renderings wait for it to close (or for ctx)
	ctxErrs []error       // what ctx said when a gated rendering ended
}

func newFakeBackend(rate int) *fakeBackend { return &fakeBackend{rate: rate} }

func (b *fakeBackend) Name() string { return "fake" }

func (b *fakeBackend) Synthesize(ctx context.Context, text, voice string) ([]int16, int, error) {
	b.mu.Lock()
	b.calls = append(b.calls, voice+"/"+text)
	gate, err := b.gate, b.err
	b.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
		b.mu.Lock()
		b.ctxErrs = append(b.ctxErrs, ctx.Err())
		b.mu.Unlock()
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
	}
	if err != nil {
		return nil, 0, err
	}
	return audio.Tone(440, b.rate, time.Duration(len(text))*10*time.Millisecond, 0.5), b.rate, nil
}

func (b *fakeBackend) called() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

// settingsBackend is a fakeBackend with settings that change its audio.
type settingsBackend struct{ *fakeBackend }

func (b settingsBackend) Settings() string { return b.settings }

func newCache(t testing.TB, b Backend, opts ...CacheOption) (*Cache, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := NewCache(b, append([]CacheOption{WithRegistry(reg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

func synth(t testing.TB, c *Cache, text string, rate int) []int16 {
	t.Helper()
	pcm, err := c.Synthesize(context.Background(), text, "en-us", rate)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

func same(a, b []int16) bool { return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0] }

func TestCacheMemory(t *testing.T) {
	b := newFakeBackend(8000)
	c, reg := newCache(t, b)
	first := synth(t, c, "Hello.", 8000)
	second := synth(t, c, "Hello.", 8000)
	if b.called() != 1 || !same(first, second) {
		t.Errorf("backend called %d times; same audio %v", b.called(), same(first, second))
	}
	// A flow without a voice gets the default one, and shares its renderings.
	if pcm, err := c.Synthesize(t.Context(), "Hello.", "", 8000); err != nil || !same(pcm, first) || b.called() != 1 {
		t.Errorf("default voice: err %v, backend called %d times", err, b.called())
	}
	checkSeries(t, reg, `
hotline_tts_requests_total{result="canceled"} 0
hotline_tts_requests_total{result="disk"} 0
hotline_tts_requests_total{result="error"} 0
hotline_tts_requests_total{result="memory"} 2
hotline_tts_requests_total{result="synthesized"} 1
hotline_tts_synthesis_seconds{backend="fake"} 1
`, "hotline_tts_requests_total", "hotline_tts_synthesis_seconds")
}

func TestCacheRates(t *testing.T) {
	b := newFakeBackend(16000)
	c, _ := newCache(t, b)
	native := synth(t, c, "Hello.", 16000)
	narrow := synth(t, c, "Hello.", 8000)
	want, err := audio.Resample(native, 16000, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(narrow, want) {
		t.Errorf("8 kHz prompt: %d samples, want the 16 kHz rendering resampled (%d)", len(narrow), len(want))
	}
	if c.Len() != 2 {
		t.Errorf("%d prompts cached, want one per rate", c.Len())
	}
	calls := b.called()
	if !same(synth(t, c, "Hello.", 8000), narrow) || !same(synth(t, c, "Hello.", 16000), native) || b.called() != calls {
		t.Error("a cached rate was rendered again")
	}
	if _, err := c.Synthesize(t.Context(), "Hello.", "en-us", 0); err == nil {
		t.Error("rate 0 accepted")
	}
}

// TestCacheSingleFlight: requests for a prompt being rendered wait for that rendering.
func TestCacheSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFakeBackend(8000)
		b.gate = make(chan struct{})
		c, reg := newCache(t, b)
		const n = 10
		results := make([][]int16, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i] = synth(t, c, "Hello.", 8000) })
		}
		synctest.Wait() // every request is waiting, one of them on the backend
		close(b.gate)
		wg.Wait()
		if b.called() != 1 {
			t.Errorf("backend called %d times for %d concurrent requests", b.called(), n)
		}
		for _, r := range results[1:] {
			if !same(r, results[0]) {
				t.Fatal("requests got different audio")
			}
		}
		if v := counterValue(t, reg, "hotline_tts_requests_total", `result="synthesized"`); v != n {
			t.Errorf("%v requests counted as synthesized, want %d", v, n)
		}
	})
}

// TestCacheCallerLeaves: the request that started a rendering hangs up; the others
// still get the prompt. When every request has gone, the rendering is cancelled.
func TestCacheCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFakeBackend(8000)
		b.gate = make(chan struct{})
		c, reg := newCache(t, b)

		ctxA, cancelA := context.WithCancel(t.Context())
		errA := make(chan error, 1)
		go func() {
			_, err := c.Synthesize(ctxA, "Hello.", "en-us", 8000)
			errA <- err
		}()
		synctest.Wait() // A started the rendering
		var pcmB []int16
		var errB error
		done := make(chan struct{})
		go func() {
			pcmB, errB = c.Synthesize(t.Context(), "Hello.", "en-us", 8000)
			close(done)
		}()
		synctest.Wait()
		cancelA()
		if err := <-errA; !errors.Is(err, context.Canceled) {
			t.Errorf("A got %v, want context.Canceled", err)
		}
		close(b.gate)
		<-done
		if errB != nil || len(pcmB) == 0 {
			t.Errorf("B got %d samples, %v: the first caller's hang-up failed the prompt for everyone", len(pcmB), errB)
		}
		b.mu.Lock()
		if len(b.calls) != 1 || b.ctxErrs[0] != nil {
			t.Errorf("backend called %d times, ctx %v", len(b.calls), b.ctxErrs)
		}
		b.mu.Unlock()

		// Now a rendering nobody waits for any more.
		gate := make(chan struct{})
		b.mu.Lock()
		b.gate = gate
		b.mu.Unlock()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			synctest.Wait()
			cancel()
		}()
		if _, err := c.Synthesize(ctx, "Goodbye.", "en-us", 8000); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		synctest.Wait()
		b.mu.Lock()
		if last := b.ctxErrs[len(b.ctxErrs)-1]; !errors.Is(last, context.Canceled) {
			t.Errorf("the abandoned rendering's context: %v, want cancelled", last)
		}
		b.mu.Unlock()
		// The next request renders afresh instead of joining the cancelled rendering.
		close(gate)
		if _, err := c.Synthesize(t.Context(), "Goodbye.", "en-us", 8000); err != nil {
			t.Errorf("request after an abandoned rendering: %v", err)
		}
		if v := counterValue(t, reg, "hotline_tts_requests_total", `result="canceled"`); v != 2 {
			t.Errorf("%v requests counted as canceled, want 2", v)
		}
	})
}

func wavFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".wav") {
			t.Errorf("stray file %s in the cache directory", e.Name())
			continue
		}
		names = append(names, filepath.Join(dir, e.Name()))
	}
	return names
}

func TestCacheDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "prompts") // created by NewCache
	b := newFakeBackend(22050)
	c, _ := newCache(t, b, WithDir(dir))
	first := synth(t, c, "Hello.", 8000)
	if files := wavFiles(t, dir); len(files) != 1 {
		t.Fatalf("%d files in the cache directory, want 1", len(files))
	}

	t.Run("survives a restart", func(t *testing.T) {
		b2 := newFakeBackend(22050)
		c2, reg := newCache(t, b2, WithDir(dir))
		again := synth(t, c2, "Hello.", 8000)
		if b2.called() != 0 || !slices.Equal(again, first) {
			t.Errorf("backend called %d times; same audio %v", b2.called(), slices.Equal(again, first))
		}
		// Another rate comes from the same file.
		synth(t, c2, "Hello.", 16000)
		if b2.called() != 0 {
			t.Error("a second rate was rendered again instead of read from disk")
		}
		if v := counterValue(t, reg, "hotline_tts_requests_total", `result="disk"`); v != 2 {
			t.Errorf("%v disk hits, want 2", v)
		}
	})
	t.Run("a corrupt file is rendered again", func(t *testing.T) {
		files := wavFiles(t, dir)
		if err := os.WriteFile(files[0], []byte("RIFF\x00\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
		b3 := newFakeBackend(22050)
		c3, _ := newCache(t, b3, WithDir(dir))
		if again := synth(t, c3, "Hello.", 8000); b3.called() != 1 || !slices.Equal(again, first) {
			t.Errorf("backend called %d times; same audio %v", b3.called(), slices.Equal(again, first))
		}
		f, err := os.Open(files[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, _, err := audio.ReadWAV(f); err != nil {
			t.Errorf("the corrupt file was not replaced: %v", err)
		}
	})
	t.Run("settings that change the audio change the file", func(t *testing.T) {
		dir := t.TempDir()
		slow := settingsBackend{newFakeBackend(22050)}
		slow.settings = "speed=120"
		c1, _ := newCache(t, slow, WithDir(dir))
		synth(t, c1, "Hello.", 8000)
		fast := settingsBackend{newFakeBackend(22050)}
		fast.settings = "speed=200"
		c2, _ := newCache(t, fast, WithDir(dir))
		synth(t, c2, "Hello.", 8000)
		if fast.called() != 1 || len(wavFiles(t, dir)) != 2 {
			t.Errorf("a prompt rendered at another speed was served from disk")
		}
	})
	t.Run("an unwritable directory still speaks", func(t *testing.T) {
		dir := t.TempDir()
		c, _ := newCache(t, newFakeBackend(8000), WithDir(dir))
		// Pull the directory away (a full or unmounted disk has the same effect; a
		// permission change would not stop root, who runs the CI).
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if pcm, err := c.Synthesize(t.Context(), "Hello.", "en-us", 8000); err != nil || len(pcm) == 0 {
			t.Errorf("got %d samples, %v", len(pcm), err)
		}
	})
}

func TestCacheEviction(t *testing.T) {
	b := newFakeBackend(8000)
	// Each text is 6 bytes: 60 ms, 480 samples, 960 bytes at 8 kHz. Room for three.
	const entry = 960
	c, _ := newCache(t, b, WithMaxBytes(3*entry))
	for _, text := range []string{"AAAAAA", "BBBBBB", "CCCCCC"} {
		synth(t, c, text, 8000)
	}
	if c.Len() != 3 || c.Bytes() != 3*entry {
		t.Fatalf("%d prompts, %d bytes cached", c.Len(), c.Bytes())
	}
	synth(t, c, "AAAAAA", 8000) // A is now the most recently used: B the least
	synth(t, c, "DDDDDD", 8000)
	if c.Len() != 3 || c.Bytes() != 3*entry {
		t.Errorf("%d prompts, %d bytes cached, want 3 and %d", c.Len(), c.Bytes(), 3*entry)
	}
	calls := b.called()
	synth(t, c, "AAAAAA", 8000)
	synth(t, c, "CCCCCC", 8000)
	synth(t, c, "DDDDDD", 8000)
	if b.called() != calls {
		t.Error("a recently used prompt was evicted")
	}
	synth(t, c, "BBBBBB", 8000)
	if b.called() != calls+1 {
		t.Error("the least recently used prompt was not the one evicted")
	}

	// A prompt larger than the whole cache still plays, alone in it.
	synth(t, c, strings.Repeat("E", 100), 8000)
	if c.Len() != 1 {
		t.Errorf("%d prompts cached after one larger than the cache", c.Len())
	}
}

func TestCacheErrors(t *testing.T) {
	b := newFakeBackend(8000)
	b.err = errors.New("espeak-ng crashed")
	c, reg := newCache(t, b)
	for range 2 {
		if _, err := c.Synthesize(t.Context(), "Hello.", "en-us", 8000); !errors.Is(err, b.err) {
			t.Errorf("err %v, want the backend's", err)
		}
	}
	if b.called() != 2 || c.Len() != 0 {
		t.Errorf("backend called %d times, %d cached: a failure must not be cached", b.called(), c.Len())
	}
	if v := counterValue(t, reg, "hotline_tts_requests_total", `result="error"`); v != 2 {
		t.Errorf("%v errors counted, want 2", v)
	}
	if _, err := NewCache(b, WithRegistry(reg)); err == nil {
		t.Error("registering the metrics twice on one registry succeeded")
	}
}

func TestCacheClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFakeBackend(8000)
		b.gate = make(chan struct{})
		c, _ := newCache(t, b)
		errc := make(chan error, 1)
		go func() {
			_, err := c.Synthesize(t.Context(), "Hello.", "en-us", 8000)
			errc <- err
		}()
		synctest.Wait()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("a request in progress at Close got %v", err)
		}
		if _, err := c.Synthesize(t.Context(), "Hello.", "en-us", 8000); !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: %v, want ErrClosed", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// series renders the named metric families of g as sorted "name{labels} value" lines
// (a histogram's value is its count). prometheus/testutil would do, but it needs a
// module this repository's go.sum does not list.
func series(t testing.TB, g prometheus.Gatherer, names ...string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				v = float64(m.GetHistogram().GetSampleCount())
			}
			lines = append(lines, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func checkSeries(t testing.TB, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	if got := series(t, g, names...); got != strings.Join(lines, "\n") {
		t.Errorf("metrics:\n%s\nwant:\n%s", got, strings.Join(lines, "\n"))
	}
}

// counterValue returns one series' value, or -1 when it does not exist.
func counterValue(t testing.TB, g prometheus.Gatherer, name, labels string) float64 {
	t.Helper()
	prefix := name + "{" + labels + "} "
	for _, l := range strings.Split(series(t, g, name), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}
