package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// Dispositions a flow run ends with, as call records and the containment figure use them.
const (
	DispositionResolved    = flows.DispositionResolved
	DispositionUnresolved  = flows.DispositionUnresolved
	DispositionTransferred = flows.DispositionTransferred
	DispositionAbandoned   = flows.DispositionAbandoned
	DispositionError       = flows.DispositionError
)

// DefaultMaxSteps bounds how many nodes one call may execute when its flow sets no
// max_steps: a flow that loops without waiting for the caller is a bug, and the call
// must end instead of spinning.
const DefaultMaxSteps = 500

// DefaultOnHangupTimeout bounds the on_hangup section: it runs after the call ended,
// detached from its context, and must not keep the call's goroutine (and its record)
// waiting on a webhook that never answers.
const DefaultOnHangupTimeout = 30 * time.Second

// hangupTimeout bounds the engine's own hang-up when the flow ends abnormally: it runs
// detached from the call context (so a failed flow still releases the call), and must
// not hold the call's goroutine forever if the far end never answers the BYE. 32 s is
// SIP's non-INVITE transaction timeout (RFC 3261 §17.1.2.2, 64×T1).
const hangupTimeout = 32 * time.Second

// Runtime executes flows. One Runtime serves every call; each Run is one call.
type Runtime struct {
	synth      Synthesizer
	ssml       bool // synth takes SSML documents
	prompts    *fileCache
	log        *slog.Logger
	metrics    *Metrics
	maxSteps   int
	clock      func() time.Time
	timers     Timers
	observer   func(Step)
	httpClient *http.Client
	onHangupTO time.Duration

	recognizer  Recognizer
	classifier  Classifier
	classifiers *flowCache[Classifier]
	sentiment   SentimentAnalyzer
	queue       Queue
	queueInfo   QueueInfo
	transferer  Transferer
	recorder    Recorder
	tickets     TicketStore
}

// Option adjusts a Runtime.
type Option func(*Runtime)

// WithLogger sets the base logger; each call's lines add call_id and flow.
func WithLogger(l *slog.Logger) Option { return func(r *Runtime) { r.log = l } }

// WithMetrics records node executions, dispositions, http requests, containment and
// transfers to humans.
func WithMetrics(m *Metrics) Option { return func(r *Runtime) { r.metrics = m } }

// WithMaxSteps overrides DefaultMaxSteps for flows that set no max_steps; n <= 0 keeps
// the default, since a call without any step budget could never run a node.
func WithMaxSteps(n int) Option {
	return func(r *Runtime) {
		if n > 0 {
			r.maxSteps = n
		}
	}
}

// WithClock sets the clock hours nodes judge and the now variable holds (default
// time.Now), so tests and simulations can run a call on any day.
func WithClock(now func() time.Time) Option { return func(r *Runtime) { r.clock = now } }

// WithHTTPClient sets the client of http nodes and ticket notifications (default: a
// client of its own without an overall timeout; each attempt is bounded by the
// node's timeout).
func WithHTTPClient(c *http.Client) Option { return func(r *Runtime) { r.httpClient = c } }

// WithOnHangupTimeout bounds the on_hangup section (default DefaultOnHangupTimeout).
func WithOnHangupTimeout(d time.Duration) Option {
	return func(r *Runtime) {
		if d > 0 {
			r.onHangupTO = d
		}
	}
}

// WithRecognizer sets the speech recognizer of speech input.
func WithRecognizer(rec Recognizer) Option { return func(r *Runtime) { r.recognizer = rec } }

// WithClassifier sets the intent classifier of intent nodes (see FlowClassifier).
func WithClassifier(c Classifier) Option { return func(r *Runtime) { r.classifier = c } }

// WithSentiment sets what scores the sentiment of the caller's speech.
func WithSentiment(s SentimentAnalyzer) Option { return func(r *Runtime) { r.sentiment = s } }

// WithQueue sets the ACD of queue nodes.
func WithQueue(q Queue) Option { return func(r *Runtime) { r.queue = q } }

// WithQueueInfo sets what answers queue_size, queue_wait and agents_available.
func WithQueueInfo(q QueueInfo) Option { return func(r *Runtime) { r.queueInfo = q } }

// WithTransferer sets what carries out transfer nodes.
func WithTransferer(t Transferer) Option { return func(r *Runtime) { r.transferer = t } }

// WithRecorder sets where record nodes store recordings.
func WithRecorder(rec Recorder) Option { return func(r *Runtime) { r.recorder = rec } }

// WithTickets sets where ticket nodes create tickets.
func WithTickets(t TicketStore) Option { return func(r *Runtime) { r.tickets = t } }

// New returns a Runtime that speaks prompts with synth.
func New(synth Synthesizer, opts ...Option) *Runtime {
	r := &Runtime{
		synth: synth, prompts: newFileCache(), log: slog.Default(), maxSteps: DefaultMaxSteps,
		clock: time.Now, onHangupTO: DefaultOnHangupTimeout, classifiers: newFlowCache[Classifier](),
	}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	if r.timers == nil {
		r.timers = wallTimers{}
	}
	if r.httpClient == nil {
		r.httpClient = &http.Client{}
	}
	if s, ok := synth.(SSMLSynthesizer); ok {
		r.ssml = s.SSML()
	}
	if r.sentiment == nil {
		r.sentiment, _ = r.classifier.(SentimentAnalyzer)
	}
	if r.queueInfo == nil {
		r.queueInfo, _ = r.queue.(QueueInfo)
	}
	return r
}

// errStepLimit ends the call wherever it happens, in a subflow too.
var errStepLimit = errors.New("step limit reached")

// call is the state of one flow run. Only the Run goroutine touches it (and, while a
// queue node's Enqueue runs, the ACD through the QueueLeg, one call at a time).
type call struct {
	rt      *Runtime
	ch      Channel
	started time.Time // when the call reached its flow (the runtime's clock)
	// prompted is set once the first prompt started playing.
	prompted bool
	top      *frame
	log      *slog.Logger
	digits   <-chan byte // ch.Digits(), nil once closed
	// typeahead holds digits pressed but not yet consumed by a gather, so a key
	// pressed during a prompt or between nodes is never lost.
	typeahead []byte
	// pendingFinish is the finish key of a gather that ended at max_digits. A caller
	// who types "1234#" into a 4-digit gather ends that input with the #: when it comes
	// next, it is dropped instead of barging into the next prompt and being taken as
	// (empty) input by the next gather. Zero when none is pending.
	pendingFinish byte

	path     []string
	steps    int
	maxSteps int
	early    bool // early media started (183): answering needs no ringing
	answered bool
	hungUp   bool // the engine hung up the channel
	ended    bool // a hangup node (or a return in the top flow) ended the call
	section  bool // running the on_hangup section: the caller is gone
	disp     string
	reason   string
	noAudio  bool // warned that the channel gives no caller audio

	rec record // what goes into the Result besides vars
}

// frame is one flow running on the call: the top flow, or a subflow.
type frame struct {
	flow     *flows.Flow
	vars     map[string]any
	depth    int            // 0 for the top flow
	returned map[string]any // the values of the return node that ended it
	done     bool           // a return node ran
}

// Run walks f for the call on ch until the flow hangs up, the caller hangs up (ctx
// ends) or the step limit is hit, then runs the flow's on_hangup section. It always
// returns a Result. When the flow ends without a hangup node (an error, the step
// limit) Run hangs up itself; when the caller hung up it does not, since there is no
// call left to end.
func (r *Runtime) Run(ctx context.Context, ch Channel, f *flows.Flow) Result {
	c := &call{
		rt:       r,
		ch:       ch,
		log:      r.log.With("call_id", ch.ID(), "flow", f.Name),
		digits:   ch.Digits(),
		maxSteps: r.maxSteps,
		started:  r.clock(),
	}
	if f.MaxSteps > 0 {
		c.maxSteps = f.MaxSteps
	}
	c.top = c.newFrame(ctx, f, 0)
	err := c.main(ctx)
	disp := c.disp
	switch {
	case disp != "":
	case ctx.Err() != nil:
		disp = DispositionAbandoned
	case err != nil:
		disp = DispositionError
	default:
		disp = DispositionUnresolved
	}
	c.disp = disp
	if err != nil && ctx.Err() == nil {
		c.log.Error("flow failed", "error", err, "path", strings.Join(c.path, ">"))
	}
	if !c.hungUp && ctx.Err() == nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hangupTimeout)
		if herr := ch.Hangup(hctx); herr != nil {
			c.log.Warn("hang up after flow end failed", "error", herr)
		}
		cancel()
		c.hungUp = true
	}
	c.onHangup(ctx)
	res := c.result(err)
	c.log.Info("flow finished", "disposition", res.Disposition, "path", strings.Join(c.path, ">"),
		"contained", res.Contained, "queued", res.QueueEntered)
	r.metrics.finished(f.Name, res)
	return res
}

func (c *call) main(ctx context.Context) error {
	f := c.top.flow
	if f.EarlyMedia {
		if err := c.ch.EarlyMedia(ctx); err != nil {
			return fmt.Errorf("early media: %w", err)
		}
		c.early = true
	} else if err := c.answer(ctx); err != nil {
		return err
	}
	err := c.walk(ctx, c.top, f.Start)
	if c.top.done && !c.ended { // return in a flow not called as a subflow
		c.log.Info("return outside a subflow ends the call", "disposition", DispositionUnresolved)
		c.disp = DispositionUnresolved
		c.ended = true
		if herr := c.hangup(ctx); herr != nil && err == nil {
			err = herr
		}
	}
	return err
}

// onHangup runs the flow's on_hangup section once the call is over, with the
// disposition known, under a context that survives the caller's hang-up but is
// bounded, so a webhook that never answers cannot hold the call's record.
func (c *call) onHangup(ctx context.Context) {
	f := c.top.flow
	if f.OnHangup == "" {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.rt.onHangupTO)
	defer cancel()
	c.section, c.ended = true, false
	c.steps = 0 // the section has a budget of its own: the call may have spent its own
	c.top.vars["disposition"] = c.disp
	c.top.done = false
	c.log.Info("on_hangup section", "node", f.OnHangup, "disposition", c.disp)
	if err := c.walk(sctx, c.top, f.OnHangup); err != nil {
		c.log.Warn("on_hangup section failed", "error", err)
	}
}

// walk runs the nodes of fr's flow from start until a terminal node, a return or a
// failure. It returns nil when the flow ended normally (c.ended or fr.done).
func (c *call) walk(ctx context.Context, fr *frame, start string) error {
	name := start
	for {
		if c.steps >= c.maxSteps {
			if c.section { // the call's disposition is settled
				return fmt.Errorf("%w (%d) in the on_hangup section at node %q", errStepLimit, c.maxSteps, name)
			}
			c.disp = DispositionError
			return fmt.Errorf("%w: step limit %d reached at node %q: the flow loops without waiting for the caller", errStepLimit, c.maxSteps, name)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n, ok := fr.flow.Nodes[name]
		if !ok {
			return fmt.Errorf("route to unknown node %q", name) // the loader makes this impossible
		}
		c.steps++
		c.path = append(c.path, fr.pathName(n.Name))
		c.log.Info("flow node", "node", n.Name, "type", n.Type)
		c.rt.metrics.node(fr.flow.Name, n.Type)
		c.observe(fr, n, false, "", nil)
		next, err := c.exec(ctx, fr, n)
		if err != nil {
			var fatal error
			next, fatal = c.failed(ctx, fr, n, err)
			c.observe(fr, n, true, next, err)
			if fatal != nil {
				return fatal
			}
		} else {
			c.observe(fr, n, true, next, nil)
		}
		if c.ended || fr.done || next == "" {
			return nil
		}
		name = next
	}
}

// failed handles the error of node n: it returns the node's error route, or the
// error that ends the walk (the caller hung up, the step limit, the call ended, no
// error route, or an error route back to the node itself).
func (c *call) failed(ctx context.Context, fr *frame, n *flows.Node, err error) (string, error) {
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if errors.Is(err, errStepLimit) || c.ended {
		return "", err
	}
	c.rt.metrics.nodeError(fr.flow.Name, n.Type)
	c.log.Warn("node failed", "node", n.Name, "type", n.Type, "pos", n.Pos.String(), "error", err)
	target, ok := n.Routes[flows.OutcomeError]
	switch {
	case !ok:
		return "", fmt.Errorf("node %q: %w", n.Name, err)
	case target == n.Name:
		// defaults.error usually names an apology node, which then routes its own
		// errors to itself: with the synthesizer down it would fail again at once,
		// hundreds of times, until the step limit. End the call instead.
		if fr.depth == 0 && !c.section {
			c.disp = DispositionError
		}
		return "", fmt.Errorf("node %q failed and its error route leads back to it: %w", n.Name, err)
	}
	return target, nil
}

// pathName is how a node appears in Result.Path: its name, prefixed with its flow's
// name and a colon inside a subflow.
func (fr *frame) pathName(node string) string {
	if fr.depth == 0 {
		return node
	}
	return fr.flow.Name + ":" + node
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

// hangup ends the call from the engine's side, once.
func (c *call) hangup(ctx context.Context) error {
	if c.hungUp {
		return nil
	}
	c.hungUp = true
	if err := c.ch.Hangup(ctx); err != nil {
		return fmt.Errorf("hang up: %w", err)
	}
	return nil
}

// route returns the node outcome o of n leads to. Every outcome a node can produce is
// routed once the flow loaded; a hand-built flow that lacks one fails the call.
func route(n *flows.Node, o flows.Outcome) (string, error) {
	next, ok := n.Routes[o]
	if !ok {
		return "", fmt.Errorf("outcome %s of node %q has no route", o, n.Name)
	}
	return next, nil
}

// ErrNotConfigured is wrapped by the error of a node whose service (ACD, recognizer,
// classifier, transferer, recorder, ticket store) is not wired, or whose call leg
// lacks what it needs: the node took its error outcome for a deployment problem, not
// a caller's.
var ErrNotConfigured = errors.New("ivr: service not configured")

// exec runs one node and returns the name of the next node ("" when the call or the
// subflow ended). An error takes the node's error route, if it has one.
func (c *call) exec(ctx context.Context, fr *frame, n *flows.Node) (string, error) {
	c.refreshNow(fr)
	switch a := n.Action.(type) {
	case *flows.Say:
		return c.sayNode(ctx, fr, n, a)
	case *flows.Play:
		return c.playNode(ctx, fr, n, a)
	case *flows.Gather:
		return c.gatherNode(ctx, fr, n, a)
	case *flows.Menu:
		return c.menuNode(ctx, fr, n, a)
	case *flows.Intent:
		return c.intentNode(ctx, fr, n, a)
	case *flows.Set:
		return c.setNode(fr, n, a)
	case *flows.Switch:
		return c.switchNode(fr, a)
	case *flows.HTTP:
		return c.httpNode(ctx, fr, n, a)
	case *flows.Hours:
		return c.hoursNode(n, a)
	case *flows.Queue:
		return c.queueNode(ctx, fr, n, a)
	case *flows.Transfer:
		return c.transferNode(ctx, fr, n, a)
	case *flows.Record:
		return c.recordNode(ctx, fr, n, a)
	case *flows.Survey:
		return c.surveyNode(ctx, fr, n, a)
	case *flows.Ticket:
		return c.ticketNode(ctx, fr, n, a)
	case *flows.Subflow:
		return c.subflowNode(ctx, fr, n, a)
	case *flows.Return:
		return c.returnNode(fr, a)
	case *flows.Answer:
		if err := c.answer(ctx); err != nil {
			return "", err
		}
		return route(n, flows.OutcomeOK)
	case *flows.Pause:
		return c.pauseNode(ctx, n, a)
	case *flows.Goto:
		return a.Target, nil
	case *flows.Hangup:
		return c.hangupNode(ctx, fr, a)
	}
	return "", fmt.Errorf("node type %q has no runtime handler", n.Type)
}
