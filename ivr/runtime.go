package ivr

import (
	"context"
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
	// The runtime calls it from a goroutine of its own while it reads Digits, and
	// waits for it to return before it goes on.
	Play(ctx context.Context, src media.Source) error
	// Digits delivers each DTMF digit the caller pressed, once. The runtime reads it
	// during prompts and gathers; a closed channel means no more digits will come.
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

// hangupTimeout bounds the engine's own hang-up when the flow ends abnormally: it runs
// detached from the call context (so a failed flow still releases the call), and must
// not hold the call's goroutine forever if the far end never answers the BYE. 32 s is
// SIP's non-INVITE transaction timeout (RFC 3261 §17.1.2.2, 64×T1).
const hangupTimeout = 32 * time.Second

// Result is what happened to a call in its flow, for the call record.
type Result struct {
	Flow, Version string
	Disposition   string
	// Path lists the executed nodes in order.
	Path []string
	// Vars holds the variables the flow set (collected digits among them).
	Vars map[string]string
	// Err is the error that ended the flow abnormally, if any: the context's error when
	// the caller hung up (disposition abandoned), else what failed (disposition error,
	// unless a hangup node had already set one).
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

// WithMaxSteps overrides DefaultMaxSteps; n <= 0 keeps the default, since a call
// without any step budget could never run a node.
func WithMaxSteps(n int) Option {
	return func(r *Runtime) {
		if n > 0 {
			r.maxSteps = n
		}
	}
}

// New returns a Runtime that speaks prompts with synth.
func New(synth Synthesizer, opts ...Option) *Runtime {
	r := &Runtime{synth: synth, prompts: newFileCache(), log: slog.Default(), maxSteps: DefaultMaxSteps}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// call is the state of one flow run. Only the Run goroutine touches it.
type call struct {
	rt     *Runtime
	ch     Channel
	flow   *flows.Flow
	log    *slog.Logger
	digits <-chan byte // ch.Digits(), nil once closed
	// typeahead holds digits pressed but not yet consumed by a gather, so a key
	// pressed during a prompt or between nodes is never lost.
	typeahead []byte
	// pendingFinish is the finish key of a gather that ended at max_digits. A caller
	// who types "1234#" into a 4-digit gather ends that input with the #: when it comes
	// next, it is dropped instead of barging into the next prompt and being taken as
	// (empty) input by the next gather. Zero when none is pending.
	pendingFinish byte
	vars          map[string]string
	path          []string
	early         bool // early media started (183): answering needs no ringing
	answered      bool
	hungUp        bool
	disp          string
}

// Run walks f for the call on ch until the flow hangs up, the caller hangs up (ctx
// ends) or the step limit is hit. It always returns a Result. When the flow ends
// without a hangup node (an error, the step limit) Run hangs up itself; when the
// caller hung up it does not, since there is no call left to end.
func (r *Runtime) Run(ctx context.Context, ch Channel, f *flows.Flow) Result {
	c := &call{
		rt:     r,
		ch:     ch,
		flow:   f,
		log:    r.log.With("call_id", ch.ID(), "flow", f.Name),
		digits: ch.Digits(),
		vars:   map[string]string{"caller": ch.Caller(), "called": ch.Called()},
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
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hangupTimeout)
		if herr := ch.Hangup(hctx); herr != nil {
			c.log.Warn("hang up after flow end failed", "error", herr)
		}
		cancel()
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
		c.early = true
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
			c.log.Warn("node failed", "node", n.Name, "type", n.Type, "pos", n.Pos.String(), "error", err)
			target, ok := n.Routes[flows.OutcomeError]
			switch {
			case !ok:
				return fmt.Errorf("node %q: %w", n.Name, err)
			case target == n.Name:
				// defaults.error usually names an apology node, which then routes its own
				// errors to itself: with the synthesizer down it would fail again at once,
				// hundreds of times, until the step limit. End the call instead.
				c.disp = DispositionError
				return fmt.Errorf("node %q failed and its error route leads back to it: %w", n.Name, err)
			}
			next = target
		}
		if next == "" {
			return nil // a terminal node (hangup)
		}
		name = next
	}
}

// answer connects the call the first time the flow needs it: before the first node,
// or with early media when the flow first needs input.
func (c *call) answer(ctx context.Context) error {
	if c.answered {
		return nil
	}
	if !c.early { // after 183 with early media the caller already hears us: no 180
		if err := c.ch.Ring(ctx); err != nil {
			return fmt.Errorf("ring: %w", err)
		}
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
