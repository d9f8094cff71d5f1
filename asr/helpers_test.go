package asr_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/asr"
	"github.com/hotline-ivr/hotline/media/audio"
)

// fake is a scripted backend: it collects the audio it is given and
// answers Finish with Text, after Delay, or with an error.
type fake struct {
	rate       int
	text       string
	conf       float64
	openErr    error
	writeErr   error         // returned by Write once writeAfter samples arrived
	writeAfter int           // samples
	finishErr  error         // returned by Finish
	delay      time.Duration // before Finish answers (ctx still wins)
	block      chan struct{} // Write waits for it to close (or ctx)
	partials   []string      // sent one per Write call

	mu       sync.Mutex
	opened   int
	closed   int
	finished int
	samples  []int
}

func (f *fake) SampleRate() int {
	if f.rate == 0 {
		return 16000
	}
	return f.rate
}

func (f *fake) Open(ctx context.Context, req asr.Request, partial func(asr.Result)) (asr.Stream, error) {
	if f.openErr != nil {
		return nil, f.openErr
	}
	f.mu.Lock()
	f.opened++
	f.samples = append(f.samples, 0)
	id := len(f.samples) - 1
	f.mu.Unlock()
	return &fakeStream{f: f, id: id, partial: partial}, nil
}

// received returns the samples each stream was given.
func (f *fake) received() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.samples...)
}

func (f *fake) counts() (opened, closed, finished int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened, f.closed, f.finished
}

type fakeStream struct {
	f       *fake
	id      int
	partial func(asr.Result)
	writes  int
	n       int
}

func (s *fakeStream) Write(ctx context.Context, pcm []int16) error {
	if s.f.block != nil {
		select {
		case <-s.f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.n += len(pcm)
	s.f.mu.Lock()
	s.f.samples[s.id] = s.n
	s.f.mu.Unlock()
	if s.writes < len(s.f.partials) {
		s.partial(asr.Result{Text: s.f.partials[s.writes]})
	}
	s.writes++
	if s.f.writeErr != nil && s.n >= s.f.writeAfter {
		return s.f.writeErr
	}
	return nil
}

func (s *fakeStream) Finish(ctx context.Context) (asr.Result, error) {
	s.f.mu.Lock()
	s.f.finished++
	s.f.mu.Unlock()
	if s.f.delay > 0 {
		t := time.NewTimer(s.f.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return asr.Result{}, ctx.Err()
		}
	}
	if s.f.finishErr != nil {
		return asr.Result{}, s.f.finishErr
	}
	return asr.Result{Text: s.f.text, Confidence: s.f.conf}, nil
}

func (s *fakeStream) Close() error {
	s.f.mu.Lock()
	s.f.closed++
	s.f.mu.Unlock()
	return nil
}

// utterance returns lead of silence, then a speech-like signal of dur
// (a 440 Hz tone switched on and off every 100 ms, too short a gap for
// the VAD to end the utterance and too irregular to be learnt as noise),
// at rate Hz, with no trailing silence.
func utterance(rate int, lead, dur time.Duration) []int16 {
	pcm := make([]int16, int(lead.Seconds()*float64(rate)))
	on := audio.Tone(440, rate, 100*time.Millisecond, 0.3)
	off := make([]int16, len(on))
	for i := 0; time.Duration(i)*100*time.Millisecond < dur; i++ {
		if i%3 == 2 {
			pcm = append(pcm, off...)
		} else {
			pcm = append(pcm, on...)
		}
	}
	return pcm
}

func silence(rate int, d time.Duration) []int16 {
	return make([]int16, int(d.Seconds()*float64(rate)))
}

// checkGoroutines fails the test if goroutines started during it are
// still running shortly after it ends.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d before, %d after:\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// metric returns the value of a counter or gauge (or a histogram's sample
// count) with the given labels from reg.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func newRegistry(t *testing.T, backends map[string]asr.Backend) (*asr.Registry, *prometheus.Registry) {
	t.Helper()
	preg := prometheus.NewRegistry()
	m, err := asr.NewMetrics(preg)
	if err != nil {
		t.Fatal(err)
	}
	r := asr.NewRegistry(asr.WithMetrics(m))
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	for _, n := range names {
		if err := r.Register(n, backends[n]); err != nil {
			t.Fatal(err)
		}
	}
	return r, preg
}

// run starts a session on reg, transcribes pcm and returns the result.
func run(t *testing.T, reg *asr.Registry, req asr.Request, pcm []int16, rate int) asr.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := reg.NewSession(ctx, req)
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

func errContains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

var errBoom = errors.New("boom")
