package ivr

// Time the runtime waits on, and what it tells an observer: the two hooks through
// which tools (the flow simulator and test runner, package ivr/flowtest) run a call
// in virtual time and follow it node by node.

import (
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// Timers makes the timers of the runtime's waits on the caller: the first key and
// each next one, a spoken answer, a recording's length. The default is the wall
// clock. The flow test runner passes a virtual clock, so that a conversation with
// 5 s timeouts runs in microseconds, and the simulator learns from it when the call
// is waiting for its caller. Waits on the network (an http retry's backoff, request
// timeouts) stay on the wall clock: the other end is real, and would not wait for a
// virtual one.
//
// The runtime reads Timer.C each time it starts waiting on a timer (every pass of
// its wait loop), on the call's goroutine, just before it blocks until the timer
// fires, the caller presses a key or speaks, or the call ends. An implementation
// may therefore take a call to C as "the call is idle now".
type Timers interface {
	NewTimer(d time.Duration) Timer
}

// Timer is one timer of Timers, with the methods of *time.Timer the runtime uses.
// Stop and Reset must discard a value that fired but was not received, as
// *time.Timer does since Go 1.23, so a stale expiry never ends the next wait.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// WithTimers sets where waits on the caller get their timers (see Timers); nil
// keeps the wall clock.
func WithTimers(t Timers) Option { return func(r *Runtime) { r.timers = t } }

// wallTimers is the default Timers: time.NewTimer. A wallTimer is one pointer, which
// an interface holds without allocating, so the default costs nothing beyond the
// timer itself.
type wallTimers struct{}

func (wallTimers) NewTimer(d time.Duration) Timer { return wallTimer{time.NewTimer(d)} }

type wallTimer struct{ t *time.Timer }

func (w wallTimer) C() <-chan time.Time        { return w.t.C }
func (w wallTimer) Stop() bool                 { return w.t.Stop() }
func (w wallTimer) Reset(d time.Duration) bool { return w.t.Reset(d) }

// Step is a node of a call as an observer (WithObserver) sees it: once when it
// starts, once when it finished.
type Step struct {
	CallID string
	Flow   string // the node's flow: the top flow, or the subflow it belongs to
	Node   string
	Type   string // the node's action: say, gather, http…
	Depth  int    // 0 in the top flow, 1 in a subflow it calls…
	// Section is set in the on_hangup section, which runs after the call ended.
	Section bool
	// Done is false when the node starts and true when it finished. Then Next is
	// the node the call goes to ("" when the call or the subflow ended) and Err,
	// when set, why the node failed (Next is its error route, when it has one).
	Done bool
	Next string
	Err  error
	// Vars is a copy of the flow's variables at that moment, typed as in Result.Vars.
	Vars Vars
}

// WithObserver calls fn when each node of a call starts and when it finishes, on
// the call's goroutine, so fn must return quickly and must not call the Runtime.
// It exists for tools: the simulator prints the path and the variables that
// changed, the flow test runner checks expectations against them. A deployment
// wires none: every call copies the variables twice per node for it.
func WithObserver(fn func(Step)) Option { return func(r *Runtime) { r.observer = fn } }

// observe reports node n of fr to the observer, if one is wired.
func (c *call) observe(fr *frame, n *flows.Node, done bool, next string, err error) {
	if c.rt.observer == nil {
		return
	}
	c.rt.observer(Step{
		CallID: c.ch.ID(), Flow: fr.flow.Name, Node: n.Name, Type: n.Type, Depth: fr.depth,
		Section: c.section, Done: done, Next: next, Err: err, Vars: dataVars(fr.vars),
	})
}
