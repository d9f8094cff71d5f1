package flowtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
)

// The identity of a simulated call unless Config says otherwise.
const (
	DefaultCaller = "+15551230000"
	DefaultCalled = "100"
	DefaultCallID = "sim-1"
)

// Config describes a simulated call.
type Config struct {
	Caller, Called, CallID string // default DefaultCaller, DefaultCalled, DefaultCallID
	// Start is the clock at the call's start, which hours nodes and the now variable
	// read; zero: the wall clock's now. The call's clock then moves only as the
	// driver lets time pass (Call.Advance).
	Start time.Time
	// Language is the call's language at its start, one the flow declares; "" for
	// the flow's.
	Language string
	// HTTPClient makes the requests of http nodes and ticket notifications; nil: a
	// client of its own, on the network.
	HTTPClient *http.Client
	// Queues are the figures queue_size, queue_wait and agents_available report, by
	// the queue's name in the flow; a queue not listed is empty, with no wait.
	Queues map[string]ivr.QueueStatus
	// Logger receives the runtime's log; nil discards it.
	Logger *slog.Logger
}

// EventKind says why a simulated call stopped for its driver.
type EventKind int

// The event kinds; the zero value is EventUnknown, never returned.
const (
	EventUnknown  EventKind = iota
	EventPrompt             // a prompt is playing: keys pressed now barge in or are typed ahead
	EventWait               // the call waits for the caller: Press, Say, Advance or Hangup
	EventQueue              // the call is in a queue: Answer with how it leaves it
	EventTransfer           // the call is being transferred: Answer with the far end's answer
	EventEnd                // the call is over: Result
)

// Event is a moment at which a simulated call waits for its driver.
type Event struct {
	Kind     EventKind
	Node     string // the node the call is at, as ivr.Result.Path writes it
	Prompt   string // EventPrompt: the text, markup removed
	Voice    string // EventPrompt: the voice
	Wait     Wait   // EventWait
	Queue    *ivr.QueueRequest
	Transfer *ivr.TransferRequest
	Result   *ivr.Result // EventEnd
}

// Wait describes what a waiting call listens for. Keys are always taken.
type Wait struct {
	Speech    bool          // a recognizer listens: Say answers
	Recording bool          // a recording runs: Say speaks into it; its finish key or silence ends it
	Left      time.Duration // until the wait runs out (no input); Advance lets it pass
	// EndOnSilence is how much silence ends the recording.
	EndOnSilence time.Duration
}

// ErrNotListening is returned by Call.Say when nothing listens for speech: the call
// waits for keys only, or is not waiting.
var ErrNotListening = errors.New("flowtest: the call is not listening for speech")

// Call is one simulated call: package ivr's runtime walks the flow on a text call
// leg (prompts are text, keys are bytes, speech is a transcript), with a virtual
// clock and simulated services, and stops at every moment a caller could act. The
// driver (a person at the terminal, a test case) takes each Event with Next, acts
// on it (Press, Say, Advance, Hangup, Answer) and calls Next again. Only one
// goroutine may drive a Call. Close ends it.
type Call struct {
	flow   *flows.Flow
	byName map[string]*flows.Flow // the flow and every subflow it reaches
	cfg    Config
	clock  *clock
	start  time.Time
	leg    *leg
	synth  *synth
	rt     *ivr.Runtime
	ctx    context.Context
	cancel context.CancelFunc

	events chan *pause   // from the runtime's goroutines to the driver
	done   chan struct{} // closed once Run returned
	result ivr.Result    // set before done closes

	// input is held while the driver logs and delivers one input, and by idle to
	// judge whether input is pending. While a prompt plays the runtime reads keys
	// concurrently: without it, idle could see "12345678#" half delivered and take
	// the call for waiting, and the call's reaction could be logged before the keys.
	input sync.Mutex

	// The driver's side.
	cur    *pause
	wake   bool          // the driver gave the call something to react to at cur
	answer flows.Outcome // for a queue or transfer pause

	mu     sync.Mutex // guards what follows: written on the runtime's goroutines
	log    []Entry
	node   string
	vars   ivr.Vars
	starts []ivr.Vars // the variables when each frame's current node started
	stream *stream
	rec    *recording
	nTick  int
	nRec   int
}

// pause is one Event held until the driver moves on.
type pause struct {
	ev    Event
	timer *vtimer
	reply chan flows.Outcome // buffered: the runtime side may have left already
}

// Start starts a simulated call of f (and the subflows it calls). ctx bounds the
// whole call: when it ends, the caller has hung up.
func Start(ctx context.Context, f *flows.Flow, cfg Config) (*Call, error) {
	if cfg.Language != "" && cfg.Language != f.Language {
		if f.Languages[cfg.Language] == nil {
			return nil, fmt.Errorf("flowtest: flow %s does not speak %q (languages: %s)", f.Name, cfg.Language, strings.Join(sortedKeys(f.Languages), ", "))
		}
		// The runtime starts the language variable at the flow's language; a copy
		// with another one starts the call there. Prompts still fall back to the
		// language the flow was written in.
		cp := *f
		cp.Language = cfg.Language
		f = &cp
	}
	if cfg.Caller == "" {
		cfg.Caller = DefaultCaller
	}
	if cfg.Called == "" {
		cfg.Called = DefaultCalled
	}
	if cfg.CallID == "" {
		cfg.CallID = DefaultCallID
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Call{
		flow: f, byName: reachable(f), cfg: cfg, clock: newClock(cfg.Start), start: cfg.Start,
		synth: newSynth(), events: make(chan *pause), done: make(chan struct{}),
	}
	c.clock.onIdle = c.idle
	c.leg = &leg{c: c, digits: make(chan byte, maxTypeAhead)}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		client = &cp
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = logTransport{c: c, next: next}
	svc := &services{c: c, status: queueStatus(f, cfg.Queues)}
	c.rt = ivr.New(c.synth,
		ivr.WithLogger(log), ivr.WithClock(c.clock.Now), ivr.WithTimers(c.clock), ivr.WithObserver(c.observe),
		ivr.WithHTTPClient(client), ivr.WithRecognizer(recognizer{c}), ivr.WithClassifier(NLU{}),
		ivr.WithQueue(svc), ivr.WithQueueInfo(svc), ivr.WithTransferer(svc), ivr.WithRecorder(svc), ivr.WithTickets(svc))
	c.ctx, c.cancel = context.WithCancel(ctx)
	go func() {
		defer close(c.done)
		res := c.rt.Run(c.ctx, c.leg, f)
		text := res.Disposition
		if res.Reason != "" {
			text += " (" + res.Reason + ")"
		}
		if res.Err != nil && res.Disposition == ivr.DispositionError {
			text += ": " + res.Err.Error()
		}
		c.add(Entry{Kind: EntryEnd, Text: text})
		c.result = res
	}()
	return c, nil
}

// maxTypeAhead bounds the keys a driver may press before the call reads them.
const maxTypeAhead = 256

// Flow is the flow the call runs.
func (c *Call) Flow() *flows.Flow { return c.flow }

// Elapsed is the virtual time since the call started.
func (c *Call) Elapsed() time.Duration { return c.clock.Now().Sub(c.start) }

// Next lets the call go on from the current Event and returns the next one. At an
// EventWait where the driver gave the call nothing to react to (no key, no speech,
// no time up), it returns that event again, with Left updated. After EventEnd it
// keeps returning EventEnd. ctx bounds the wait, should the call not come back
// (a web request that hangs, say).
func (c *Call) Next(ctx context.Context) (Event, error) {
	if p := c.cur; p != nil {
		if p.ev.Kind == EventWait && !c.wake && c.ctx.Err() == nil {
			ev := p.ev
			ev.Wait.Left = max(0, p.timer.deadline().Sub(c.clock.Now()))
			return ev, nil
		}
		p.reply <- c.answer
		c.cur, c.wake, c.answer = nil, false, ""
	}
	select {
	case p := <-c.events:
		c.cur = p
		return p.ev, nil
	case <-c.done:
		res := c.result
		return Event{Kind: EventEnd, Node: c.Node(), Result: &res}, nil
	case <-ctx.Done():
		return Event{}, fmt.Errorf("flowtest: the call did not come back (at node %s): %w", c.Node(), ctx.Err())
	}
}

// Close hangs up, if the call is still going, and waits for its end (the on_hangup
// section included). It returns the call's Result.
func (c *Call) Close() ivr.Result {
	c.Hangup()
	c.cancel()
	if c.cur != nil {
		c.cur.reply <- ""
		c.cur = nil
	}
	<-c.done
	return c.result
}

// Press presses keys (0-9, * and #): during a prompt they barge in (or wait in the
// type-ahead buffer), while the call waits they are its input.
func (c *Call) Press(keys string) error {
	if keys == "" || strings.Trim(keys, "0123456789*#") != "" {
		return fmt.Errorf("flowtest: %q: keys are 0-9, * and #", keys)
	}
	if err := c.needPause("press keys", EventPrompt, EventWait); err != nil {
		return err
	}
	c.input.Lock()
	defer c.input.Unlock()
	if len(c.leg.digits)+len(keys) > cap(c.leg.digits) {
		return fmt.Errorf("flowtest: more than %d keys typed ahead", maxTypeAhead)
	}
	c.add(Entry{Kind: EntryPress, Text: keys})
	for i := range len(keys) {
		c.leg.digits <- keys[i] // room checked above; only the driver sends
	}
	c.wake = true
	return nil
}

// Say speaks text: the transcript of the listening recognizer (a speech gather,
// menu, intent or survey), or words recorded into a voicemail. ErrNotListening when
// neither listens.
func (c *Call) Say(text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return errors.New("flowtest: say what?")
	}
	if err := c.needPause("speak", EventPrompt, EventWait); err != nil {
		return err
	}
	c.input.Lock()
	defer c.input.Unlock()
	c.mu.Lock()
	s, rec := c.stream, c.rec
	c.mu.Unlock()
	switch {
	case s != nil && s.open():
		c.add(Entry{Kind: EntrySay, Text: text})
		s.answer(text)
		c.wake = true
	case rec != nil && c.cur.ev.Kind == EventWait:
		c.add(Entry{Kind: EntrySay, Text: text})
		c.leg.feed(speechAudio(rec.rate))
		rec.say(text)
	default:
		return fmt.Errorf("%w at node %s", ErrNotListening, c.Node())
	}
	return nil
}

// Advance lets up to d of virtual time pass at an EventWait without input: until
// the wait runs out (the node's no-input; then the call has something to react to)
// or d has passed. During a recording the time passes as silence, which ends it
// after its end_on_silence. It returns how much time passed.
func (c *Call) Advance(d time.Duration) (time.Duration, error) {
	if err := c.needPause("let time pass", EventWait); err != nil {
		return 0, err
	}
	passed, fired := c.clock.advance(d)
	if fired {
		c.wake = true
	}
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if rec != nil && rec.silence(passed, c.leg) {
		c.wake = true
	}
	if passed > 0 {
		c.add(Entry{Kind: EntryNoInput, Wait: passed})
	}
	return passed, nil
}

// Hangup hangs up as the caller: the flow stops where it is and its on_hangup
// section runs.
func (c *Call) Hangup() {
	select {
	case <-c.done:
		return // over already
	default:
	}
	if c.ctx.Err() != nil {
		return
	}
	c.add(Entry{Kind: EntryHangup})
	c.cancel()
	c.wake = true
}

// Answer says how the queue the call waits in (EventQueue: completed, timeout, full,
// closed or callback) or the transfer (EventTransfer: ok, busy, no_answer or failed)
// turns out. Without an Answer, a queue completes (an agent took the call) and a
// transfer succeeds.
func (c *Call) Answer(o flows.Outcome) error {
	if err := c.needPause("answer", EventQueue, EventTransfer); err != nil {
		return err
	}
	allowed := queueOutcomes
	if c.cur.ev.Kind == EventTransfer {
		allowed = transferOutcomes
	}
	if !slices.Contains(allowed, o) {
		return fmt.Errorf("flowtest: %q is not one of %s", o, joinOutcomes(allowed))
	}
	c.answer = o
	return nil
}

// The outcomes Answer takes, in the order the simulator offers them.
var (
	queueOutcomes    = []flows.Outcome{flows.OutcomeCompleted, flows.OutcomeTimeout, flows.OutcomeFull, flows.OutcomeClosed, flows.OutcomeCallback}
	transferOutcomes = []flows.Outcome{flows.OutcomeOK, flows.OutcomeBusy, flows.OutcomeNoAnswer, flows.OutcomeFailed}
)

func joinOutcomes(os []flows.Outcome) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}

// needPause checks that the driver holds an event of one of kinds.
func (c *Call) needPause(what string, kinds ...EventKind) error {
	switch {
	case c.ctx.Err() != nil:
		return fmt.Errorf("flowtest: cannot %s: the caller hung up", what)
	case c.cur == nil:
		return fmt.Errorf("flowtest: cannot %s: call Next first", what)
	case !slices.Contains(kinds, c.cur.ev.Kind):
		return fmt.Errorf("flowtest: cannot %s: %s", what, c.describe(c.cur.ev))
	}
	return nil
}

// describe says what the call is doing at ev, for errors and failed tests.
func (c *Call) describe(ev Event) string {
	switch ev.Kind {
	case EventPrompt:
		return "the call is saying a prompt at node " + ev.Node
	case EventWait:
		what := "keys"
		switch {
		case ev.Wait.Recording:
			what = "a voicemail (speech, the finish key or silence)"
		case ev.Wait.Speech:
			what = "keys or speech"
		}
		return "the call is waiting for " + what + " at node " + ev.Node
	case EventQueue:
		return "the call is in queue " + ev.Queue.Name + " at node " + ev.Node
	case EventTransfer:
		return "the call is being transferred to " + ev.Transfer.To + " at node " + ev.Node
	case EventEnd:
		return "the call is over (" + ev.Result.Disposition + ")"
	}
	return "the call is running"
}

// Log returns everything that happened so far, from entry i on.
func (c *Call) Log(i int) []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i >= len(c.log) {
		return nil
	}
	return slices.Clone(c.log[i:])
}

// Vars returns the variables of the flow the call is in, as the node that last
// started or finished saw them.
func (c *Call) Vars() ivr.Vars {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(ivr.Vars, len(c.vars))
	for k, v := range c.vars {
		out[k] = v
	}
	return out
}

// Node returns the node the call is at (the last one it entered).
func (c *Call) Node() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.node
}

// Path returns the nodes the call entered so far, as ivr.Result.Path writes them.
func (c *Call) Path() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.log {
		if e.Kind == EntryNode {
			out = append(out, e.Node)
		}
	}
	return out
}

// add appends an entry to the log, stamped with the node and the virtual time.
func (c *Call) add(e Entry) {
	e.At = c.Elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Node == "" {
		e.Node = c.node
	}
	c.log = append(c.log, e)
}

// observe follows the runtime node by node (ivr.WithObserver).
func (c *Call) observe(s ivr.Step) {
	name := s.Node
	if s.Depth > 0 {
		name = s.Flow + ":" + s.Node
	}
	at := c.Elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.starts) <= s.Depth {
		c.starts = append(c.starts, nil)
	}
	c.vars = s.Vars
	if !s.Done {
		c.node = name
		c.starts[s.Depth] = s.Vars
		c.log = append(c.log, Entry{Kind: EntryNode, Node: name, Type: s.Type, Section: s.Section, At: at})
		return
	}
	e := Entry{Kind: EntryDone, Node: name, Next: s.Next, Changed: changes(c.starts[s.Depth], s.Vars), At: at}
	if s.Err != nil && !(errors.Is(s.Err, context.Canceled) && c.ctx.Err() != nil) {
		e.Err = s.Err.Error() // a node the caller's hang-up stopped did not fail
	}
	if len(e.Changed) > 0 || e.Err != "" {
		c.log = append(c.log, e)
	}
}

// hold hands the driver ev and waits until it moves on; false when ctx ended first
// (a barge-in stopped the prompt, the caller hung up).
func (c *Call) hold(ctx context.Context, ev Event, t *vtimer) (flows.Outcome, bool) {
	ev.Node = c.Node()
	p := &pause{ev: ev, timer: t, reply: make(chan flows.Outcome, 1)}
	select {
	case c.events <- p:
	case <-ctx.Done():
		return "", false
	}
	select {
	case o := <-p.reply:
		return o, true
	case <-ctx.Done():
		return "", false
	}
}

// idle is called when the runtime is about to wait on timer t (see ivr.Timers): the
// call waits for its caller, unless it has something to react to already.
func (c *Call) idle(t *vtimer) {
	c.input.Lock()
	pending := t.pending() || c.ctx.Err() != nil || len(c.leg.digits) > 0
	c.mu.Lock()
	s, rec := c.stream, c.rec
	c.mu.Unlock()
	pending = pending || (s != nil && s.pending())
	c.input.Unlock()
	if pending {
		return
	}
	w := Wait{Speech: s != nil, Left: max(0, t.deadline().Sub(c.clock.Now()))}
	if rec != nil {
		w.Recording, w.EndOnSilence = true, rec.endOnSilence
	}
	c.hold(c.ctx, Event{Kind: EventWait, Wait: w}, t)
}

// reachable returns f and every flow its subflow nodes reach, by name.
func reachable(f *flows.Flow) map[string]*flows.Flow {
	out := map[string]*flows.Flow{}
	var walk func(*flows.Flow)
	walk = func(f *flows.Flow) {
		if f == nil || out[f.Name] != nil {
			return
		}
		out[f.Name] = f
		for _, n := range f.Nodes {
			if s, ok := n.Action.(*flows.Subflow); ok {
				walk(s.Target)
			}
		}
	}
	walk(f)
	return out
}

// node returns the node the path name p (as ivr.Result.Path writes it) refers to.
func (c *Call) lookupNode(p string) *flows.Node {
	f := c.flow
	if fl, node, ok := strings.Cut(p, ":"); ok {
		f, p = c.byName[fl], node
	}
	if f == nil {
		return nil
	}
	return f.Nodes[p]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
