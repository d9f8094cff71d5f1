package ivr

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media"
)

// fastChannel plays everything instantly: the benchmarks measure the runtime alone.
type fastChannel struct{ digits chan byte }

func (fastChannel) ID() string                               { return "bench" }
func (fastChannel) Caller() string                           { return "1" }
func (fastChannel) Called() string                           { return "2" }
func (fastChannel) Ring(context.Context) error               { return nil }
func (fastChannel) EarlyMedia(context.Context) error         { return nil }
func (fastChannel) Answer(context.Context) error             { return nil }
func (fastChannel) SampleRate() int                          { return 8000 }
func (fastChannel) Play(context.Context, media.Source) error { return nil }
func (c fastChannel) Digits() <-chan byte                    { return c.digits }
func (fastChannel) Hangup(context.Context) error             { return nil }

const benchFlow = `
name: bench
start: a
defaults: {error: end}
nodes:
  a: {say: Thank you for calling Example Telecom., next: b}
  b: {goto: a}
  end: {hangup: resolved}
`

// BenchmarkSayStep is one say node with its prompt already cached: synthesizer lookup,
// a Clip, the Play goroutine and the digit watch.
func BenchmarkSayStep(b *testing.B) {
	synth := newFakeSynth()
	f := parse(b, benchFlow)
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	rt := New(synth, WithLogger(slog.New(slog.DiscardHandler)), WithMetrics(m))
	ch := fastChannel{digits: make(chan byte, 64)}
	ctx := context.Background()
	c := &call{rt: rt, ch: ch, log: rt.log, digits: ch.digits, maxSteps: DefaultMaxSteps}
	c.top = c.newFrame(ctx, f, 0)
	n := f.Nodes["a"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.exec(ctx, c.top, n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlowStep runs a say/goto loop until the step limit: the per-node cost of the
// run loop (path, log line, metrics) on top of the nodes themselves.
func BenchmarkFlowStep(b *testing.B) {
	synth := newFakeSynth()
	f := parse(b, benchFlow)
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	const steps = 1000
	rt := New(synth, WithLogger(slog.New(slog.DiscardHandler)), WithMetrics(m), WithMaxSteps(steps))
	ch := fastChannel{digits: make(chan byte, 64)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := rt.Run(ctx, ch, f); len(res.Path) != steps {
			b.Fatalf("%d steps", len(res.Path))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*steps), "ns/step")
}
