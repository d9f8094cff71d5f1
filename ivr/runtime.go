package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media"
)

// Channel is what the flow runtime needs from a call leg. The SIP layer's Call
// satisfies it; tests and the terminal simulator provide their own.
type Channel interface {
	ID() string
	Caller() string
	Called() string
	// Ring signals ringing (SIP 180) before the call is answered.
	Ring(ctx context.Context) error
	// EarlyMedia starts audio before answering (SIP 183 with SDP).
	EarlyMedia(ctx context.Context) error
	// Answer connects the call (SIP 200 OK, confirmed by ACK).
	Answer(ctx context.Context) error
	// SampleRate is the PCM rate prompts must have for this leg.
	SampleRate() int
	// Play sends audio to the caller and returns when it was sent or ctx ended.
	Play(ctx context.Context, src media.Source) error
	// Digits delivers each DTMF digit the caller pressed, once.
	Digits() <-chan byte
	// Hangup ends the call from the engine's side.
	Hangup(ctx context.Context) error
}

// Synthesizer renders prompt text as mono PCM at rate. The tts package's Cache is one;
// the returned slice may be shared and must not be modified.
type Synthesizer interface {
	Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error)
}

// Dispositions a flow run ends with, as call records and the containment figure use them.
const (
	DispositionResolved    = "resolved"
	DispositionUnresolved  = "unresolved"
	DispositionTransferred = "transferred"
	DispositionAbandoned   = "abandoned"
	DispositionError       = "error"
)

// DefaultMaxSteps bounds how many nodes one call may execute: a flow that loops without
// waiting for the caller is a bug, and the call must end instead of spinning.
const DefaultMaxSteps = 500

// Result is what happened to a call in its flow, for the call record.
type Result struct {
	Flow, Version string
	Disposition   string
	// Path lists the executed nodes in order.
	Path []string
	// Vars holds the variables the flow set (collected digits among them).
	Vars map[string]string
	// Err is the error that ended the flow abnormally, if any.
	Err error
}

// Runtime executes flows. One Runtime serves every call; each Run is one call.
type Runtime struct {
	synth    Synthesizer
	prompts  *fileCache
	log      *slog.Logger
	metrics  *Metrics
	maxSteps int
}

// Option adjusts a Runtime.
type Option func(*Runtime)

// WithLogger sets the base logger; each call's lines add call_id and flow.
func WithLogger(l *slog.Logger) Option { return func(r *Runtime) { r.log = l } }

// WithMetrics records node executions and dispositions.
func WithMetrics(m *Metrics) Option { return func(r *Runtime) { r.metrics = m } }

// WithMaxSteps overrides DefaultMaxSteps.
func WithMaxSteps(n int) Option { return func(r *Runtime) { r.maxSteps = n } }

// New returns a Runtime that speaks prompts with synth.
func New(synth Synthesizer, opts ...Option) *Runtime {
	r := &Runtime{synth: synth, prompts: newFileCache(), log: slog.Default(), maxSteps: DefaultMaxSteps}
	for _, o := range opts {
		o(r)
	}
	return r
}

// call is the state of one flow run.
type call struct {
	rt        *Runtime
	ch        Channel
	flow      *flows.Flow
	log       *slog.Logger
	typeahead []byte // digits pressed but not yet consumed by a gather
	vars      map[string]string
	path      []string
	answered  bool
	hungUp    bool
	disp      string
}

// Run walks f for the call on ch until the flow hangs up, the caller hangs up (ctx
// ends) or the step limit is hit. It always returns a Result.
func (r *Runtime) Run(ctx context.Context, ch Channel, f *flows.Flow) Result {
	c := &call{
		rt:   r,
		ch:   ch,
		flow: f,
		log:  r.log.With("call_id", ch.ID(), "flow", f.Name),
		vars: map[string]string{"caller": ch.Caller(), "called": ch.Called()},
	}
	err := c.run(ctx)
	res := Result{Flow: f.Name, Version: f.Version, Path: c.path, Vars: c.vars, Disposition: c.disp, Err: err}
	switch {
	case res.Disposition != "":
	case ctx.Err() != nil:
		res.Disposition = DispositionAbandoned
	case err != nil:
		res.Disposition = DispositionError
	default:
		res.Disposition = DispositionUnresolved
	}
	if err != nil && ctx.Err() == nil {
		c.log.Error("flow failed", "error", err, "path", strings.Join(c.path, ">"))
	}
	if !c.hungUp && ctx.Err() == nil {
		_ = ch.Hangup(context.WithoutCancel(ctx))
	}
	c.log.Info("flow finished", "disposition", res.Disposition, "path", strings.Join(c.path, ">"))
	r.metrics.finished(f.Name, res.Disposition)
	return res
}

func (c *call) run(ctx context.Context) error {
	if c.flow.EarlyMedia {
		if err := c.ch.EarlyMedia(ctx); err != nil {
			return fmt.Errorf("early media: %w", err)
		}
	} else if err := c.answer(ctx); err != nil {
		return err
	}
	name := c.flow.Start
	for step := 0; ; step++ {
		if step >= c.rt.maxSteps {
			c.disp = DispositionError
			return fmt.Errorf("step limit %d reached at node %q: the flow loops without waiting for the caller", c.rt.maxSteps, name)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n, ok := c.flow.Nodes[name]
		if !ok {
			return fmt.Errorf("route to unknown node %q", name) // the loader makes this impossible
		}
		c.path = append(c.path, n.Name)
		c.log.Info("flow node", "node", n.Name, "type", n.Type)
		c.rt.metrics.node(c.flow.Name, n.Type)
		next, err := c.exec(ctx, n)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.rt.metrics.nodeError(c.flow.Name, n.Type)
			c.log.Warn("node failed", "node", n.Name, "type", n.Type, "error", err)
			target, ok := n.Routes[flows.OutcomeError]
			if !ok {
				return fmt.Errorf("node %q: %w", n.Name, err)
			}
			next = target
		}
		if next == "" {
			return nil // a terminal node (hangup)
		}
		name = next
	}
}

func (c *call) answer(ctx context.Context) error {
	if c.answered {
		return nil
	}
	if err := c.ch.Ring(ctx); err != nil {
		return fmt.Errorf("ring: %w", err)
	}
	if err := c.ch.Answer(ctx); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	c.answered = true
	return nil
}

// exec runs one node and returns the name of the next node ("" ends the flow).
func (c *call) exec(ctx context.Context, n *flows.Node) (string, error) {
	switch a := n.Action.(type) {
	case *flows.Say:
		if err := c.say(ctx, a.Text, a.Voice, a.BargeIn); err != nil {
			return "", err
		}
		return n.Routes[flows.OutcomeOK], nil
	case *flows.Play:
		if err := c.playFile(ctx, a.File, a.BargeIn); err != nil {
			return "", err
		}
		return n.Routes[flows.OutcomeOK], nil
	case *flows.Gather:
		return c.gather(ctx, n, a)
	case *flows.Goto:
		return a.Target, nil
	case *flows.Hangup:
		c.disp = a.Disposition
		if c.disp == "" {
			c.disp = DispositionUnresolved
		}
		c.hungUp = true
		if err := c.ch.Hangup(ctx); err != nil {
			return "", fmt.Errorf("hang up: %w", err)
		}
		return "", nil
	}
	return "", fmt.Errorf("node type %q has no runtime handler", n.Type)
}

func (c *call) voice(v string) string {
	if v != "" {
		return v
	}
	return c.flow.Voice
}

// say speaks text. Prompt audio is cached, so only the first call pays for synthesis.
func (c *call) say(ctx context.Context, text, voice string, bargeIn bool) error {
	if bargeIn && len(c.typeahead) > 0 {
		return nil // the caller is already typing: do not make them listen
	}
	pcm, err := c.rt.synth.Synthesize(ctx, text, c.voice(voice), c.ch.SampleRate())
	if err != nil {
		return fmt.Errorf("synthesize prompt: %w", err)
	}
	return c.play(ctx, media.NewClip(pcm), bargeIn)
}

func (c *call) playFile(ctx context.Context, path string, bargeIn bool) error {
	if bargeIn && len(c.typeahead) > 0 {
		return nil
	}
	pcm, err := c.rt.prompts.load(c.flow, path, c.ch.SampleRate())
	if err != nil {
		return err
	}
	return c.play(ctx, media.NewClip(pcm), bargeIn)
}

// play sends src while collecting digits into the type-ahead buffer. With bargeIn a
// digit stops the prompt (within one media clock tick); the digit stays buffered for
// the next gather, so nothing the caller pressed is lost.
func (c *call) play(ctx context.Context, src media.Source, bargeIn bool) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.ch.Play(pctx, src) }()
	for {
		select {
		case err := <-done:
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("play prompt: %w", err)
			}
			return ctx.Err()
		case d := <-c.ch.Digits():
			c.typeahead = append(c.typeahead, d)
			if bargeIn {
				cancel()
				<-done
				c.log.Debug("prompt interrupted by digit", "digit", string(d))
				return ctx.Err()
			}
		case <-ctx.Done():
			cancel()
			<-done
			return ctx.Err()
		}
	}
}

// waitDigit returns the next digit, from the type-ahead buffer first, or false when
// timeout passes without one.
func (c *call) waitDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	if len(c.typeahead) > 0 {
		d := c.typeahead[0]
		c.typeahead = c.typeahead[1:]
		return d, true, nil
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d := <-c.ch.Digits():
		return d, true, nil
	case <-t.C:
		return 0, false, nil
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
}
