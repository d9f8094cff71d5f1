package acd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Hand-written fakes of the telephony side. They use only timers and channels, so
// under testing/synctest they run on the bubble's virtual clock.

// watch collects violations of properties only the telephony side can see: an
// agent's phone ringing for two calls, a call ringing two phones outside ring-all,
// a caller left in silence while an agent rings.
type watch struct {
	mu         sync.Mutex
	violations []string
	ringing    map[string]int // call id -> phones ringing now
	callers    map[string]*fakeCaller
	ringAll    map[string]bool // queues whose calls may ring several phones
	offers     int
	// realTime disables the silence check, which relies on synctest: there, once
	// virtual time moved, every goroutine is blocked where it will stay.
	realTime bool
}

func newWatch() *watch {
	return &watch{ringing: map[string]int{}, callers: map[string]*fakeCaller{}, ringAll: map[string]bool{}}
}

func (w *watch) violate(format string, args ...any) {
	w.mu.Lock()
	w.violations = append(w.violations, fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func (w *watch) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, v := range w.violations {
		if i == 10 {
			t.Errorf("... %d more", len(w.violations)-10)
			break
		}
		t.Error(v)
	}
}

// agentBehaviour decides how a fake agent reacts to an offer: after delay, result.
// A delay longer than the ring timeout means no answer. stuck ignores ctx (a broken
// endpoint the reconciler must handle).
type agentBehaviour func(o Offer) (delay time.Duration, result OfferResult, stuck bool)

func answerAfter(d time.Duration) agentBehaviour {
	return func(Offer) (time.Duration, OfferResult, bool) { return d, OfferAnswered, false }
}

type fakeEndpoint struct {
	id     string
	w      *watch
	behave agentBehaviour
	mu     sync.Mutex
	busy   bool
	offers []Offer
}

func (f *fakeEndpoint) Offer(ctx context.Context, o Offer) (Leg, OfferResult, error) {
	f.mu.Lock()
	if f.busy {
		f.w.violate("agent %s offered %s while ringing for another call", f.id, o.CallID)
	}
	f.busy = true
	f.offers = append(f.offers, o)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.busy = false; f.mu.Unlock() }()
	f.w.mu.Lock()
	f.w.offers++
	f.w.ringing[o.CallID]++
	if n := f.w.ringing[o.CallID]; n > 1 && !f.w.ringAll[o.Queue] {
		f.w.violations = append(f.w.violations, fmt.Sprintf("call %s rings %d phones at once", o.CallID, n))
	}
	caller := f.w.callers[o.CallID]
	f.w.mu.Unlock()
	var stopRinging sync.Once
	stop := func() { stopRinging.Do(func() { f.w.mu.Lock(); f.w.ringing[o.CallID]--; f.w.mu.Unlock() }) }
	defer stop()
	if o.ScreenPop.CallID != o.CallID || o.ScreenPop.Agent != f.id || o.ScreenPop.Queue != o.Queue {
		f.w.violate("screen-pop %+v does not match offer %+v", o.ScreenPop, o)
	}
	delay, res, stuck := f.behave(o)
	t := time.NewTimer(delay)
	defer t.Stop()
	if stuck {
		// The phone stops ringing at the deadline but Offer does not return.
		select {
		case <-ctx.Done():
			stop()
			<-t.C
		case <-t.C:
		}
	} else {
		select {
		case <-ctx.Done():
			return nil, OfferNoAnswer, nil
		case <-t.C:
		}
	}
	// Checked after a wait: by then (virtual time moved) every goroutine of the call
	// is blocked, so the caller is in Hold or Announce unless it is in silence.
	if delay > 0 && !f.w.realTime && caller != nil && ctx.Err() == nil && !caller.listening() {
		f.w.violate("caller %s hears silence while agent %s rings", o.CallID, f.id)
	}
	if res == OfferAnswered {
		return &fakeLeg{agent: f.id}, OfferAnswered, nil
	}
	return nil, res, nil
}

type fakeLeg struct {
	agent    string
	mu       sync.Mutex
	whispers []string
	hangups  int
}

func (l *fakeLeg) Whisper(_ context.Context, text string) error {
	l.mu.Lock()
	l.whispers = append(l.whispers, text)
	l.mu.Unlock()
	return nil
}

func (l *fakeLeg) Hangup(context.Context) error {
	l.mu.Lock()
	l.hangups++
	l.mu.Unlock()
	return nil
}

// fakeCaller holds until its context ends or it presses key at keyAt into its wait,
// and talks for talk before the agent hangs up (or transfers to transferTo).
type fakeCaller struct {
	talk       time.Duration
	key        byte
	keyAt      time.Duration
	transferTo string
	mu         sync.Mutex
	holding    int
	announcing int
	anns       []Announcement
	bridged    *fakeLeg
	start      time.Time
}

func (c *fakeCaller) isBridged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bridged != nil
}

func (c *fakeCaller) listening() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holding+c.announcing > 0
}

func (c *fakeCaller) Hold(ctx context.Context) (byte, error) {
	c.mu.Lock()
	c.holding++
	if c.start.IsZero() {
		c.start = time.Now()
	}
	pressAt := c.start.Add(c.keyAt)
	key := c.key
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.holding--; c.mu.Unlock() }()
	if key == 0 {
		<-ctx.Done()
		return 0, nil
	}
	t := time.NewTimer(time.Until(pressAt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, nil
	case <-t.C:
		c.mu.Lock()
		c.key = 0 // once
		c.mu.Unlock()
		return key, nil
	}
}

func (c *fakeCaller) Announce(ctx context.Context, a Announcement) (byte, error) {
	c.mu.Lock()
	c.announcing++
	c.anns = append(c.anns, a)
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.announcing--; c.mu.Unlock() }()
	t := time.NewTimer(3 * time.Second) // the announcement's length
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return 0, nil
}

func (c *fakeCaller) Bridge(ctx context.Context, leg Leg) (BridgeResult, error) {
	c.mu.Lock()
	c.bridged, _ = leg.(*fakeLeg)
	c.mu.Unlock()
	t := time.NewTimer(c.talk)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return BridgeResult{End: EndCaller}, nil
	case <-t.C:
		if c.transferTo != "" {
			to := c.transferTo
			c.transferTo = ""
			return BridgeResult{End: EndTransfer, To: to}, nil
		}
		return BridgeResult{End: EndAgent}, nil
	}
}

func (c *fakeCaller) announcements() []Announcement {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Announcement(nil), c.anns...)
}

// fakeDialer reaches customers after ring, except numbers in unreachable (a count
// of failures left before they answer).
type fakeDialer struct {
	mu          sync.Mutex
	ring, talk  time.Duration
	unreachable map[string]int
	dialled     []string
}

var errNoAnswer = errors.New("no answer")

func (d *fakeDialer) Dial(ctx context.Context, cb Callback) (Caller, error) {
	d.mu.Lock()
	d.dialled = append(d.dialled, cb.ID)
	fail := d.unreachable[cb.Number] > 0
	if fail {
		d.unreachable[cb.Number]--
	}
	d.mu.Unlock()
	t := time.NewTimer(d.ring)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	if fail {
		return nil, errNoAnswer
	}
	return &fakeCaller{talk: d.talk}, nil
}

func (d *fakeDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialled...)
}

// harness is an engine with fakes around it.
type harness struct {
	t      *testing.T
	e      *Engine
	store  *checkedStore
	log    *MemLog
	w      *watch
	eps    map[string]*fakeEndpoint
	pops   chan ScreenPop
	reg    *prometheus.Registry
	dialer *fakeDialer
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// newHarness starts an engine on cfg (YAML). Agents listed in cfg get an endpoint
// answering after 2 s unless behaviours says otherwise.
func newHarness(t *testing.T, cfgYAML string, behaviours map[string]agentBehaviour, opts ...Option) *harness {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, log: &MemLog{}, w: newWatch(), eps: map[string]*fakeEndpoint{},
		pops: make(chan ScreenPop, 1024), reg: prometheus.NewRegistry(),
		dialer: &fakeDialer{ring: 5 * time.Second, talk: time.Minute, unreachable: map[string]int{}}}
	for _, q := range cfg.Queues {
		h.w.ringAll[q.Name] = q.Strategy == StrategyRingAll
	}
	h.store = &checkedStore{Store: NewMemStore(), ringAll: func(q string) bool { return h.w.ringAll[q] }}
	all := append([]Option{WithConfig(cfg), WithStore(h.store), WithEventLog(h.log), WithRegistry(h.reg),
		WithLogger(testLogger(t)), WithDialer(h.dialer),
		WithScreenPop(func(p ScreenPop) {
			select {
			case h.pops <- p:
			default:
			}
		})}, opts...)
	h.e, err = NewEngine(all...)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.Agents {
		b := behaviours[a.ID]
		if b == nil {
			b = answerAfter(2 * time.Second)
		}
		h.eps[a.ID] = &fakeEndpoint{id: a.ID, w: h.w, behave: b}
		h.e.SetEndpoint(a.ID, h.eps[a.ID])
	}
	return h
}

// close stops the engine and checks every invariant and violation.
func (h *harness) close() {
	h.t.Helper()
	h.e.Close()
	if err := h.store.Err(); err != nil {
		h.t.Error(err)
	}
	h.w.check(h.t)
}

type callResult struct {
	res EnqueueResult
	err error
}

// call enqueues a call on a goroutine; the result arrives on the channel. patience,
// when > 0, is when the caller hangs up if no agent is talking to them by then.
func (h *harness) call(id string, req Request, c *fakeCaller, patience time.Duration) <-chan callResult {
	out := make(chan callResult, 1)
	h.w.mu.Lock()
	h.w.callers[id] = c
	h.w.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	stop := func() bool { return false }
	if patience > 0 {
		stop = time.AfterFunc(patience, func() {
			if !c.isBridged() {
				cancel()
			}
		}).Stop
	}
	go func() {
		defer cancel()
		defer stop()
		res, err := h.e.Enqueue(ctx, Call{ID: id, Caller: "+1555" + id, Intent: "billing"}, req, c)
		out <- callResult{res, err}
	}()
	return out
}

// types returns the event types of call id, in order (AGENTSTATE left out).
func (h *harness) types(id string) []string {
	var out []string
	for _, ev := range h.log.Events() {
		if ev.CallID == id && ev.Type != EventAgentState {
			s := string(ev.Type)
			if ev.Agent != "" {
				s += ":" + ev.Agent
			}
			out = append(out, s)
		}
	}
	return out
}

func (h *harness) agent(id string) AgentState {
	h.t.Helper()
	as, err := h.e.Agents(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range as {
		if a.ID == id {
			return a
		}
	}
	h.t.Fatalf("no agent %s", id)
	return AgentState{}
}
