package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Engine is the automatic call distributor of one node: it queues calls handed over
// by flows (Enqueue), offers them to agents through their Endpoints, bridges the
// answered ones, and records every step in the event log and the figures.
type Engine struct {
	store    Store
	log      EventLog
	logger   *slog.Logger
	node     string
	settings EngineConfig
	loc      *time.Location
	tally    *Tally
	metrics  *metrics
	onPop    func(ScreenPop)
	reg      prometheus.Registerer
	initial  *Config

	ctx    context.Context // ends at Close: stops the dispatcher, offers and callbacks
	cancel context.CancelFunc
	kick   chan struct{} // wakes the dispatcher (coalesced)
	wg     sync.WaitGroup
	seq    atomic.Uint64 // offer ids
	last   atomic.Pointer[snapshotAt]

	pending pendingCallbacks // callbacks saved by this node

	recMu sync.Mutex // serialises log.Append with tally.Add, so the log's order is the tally's

	mu        sync.Mutex // guards the fields below; never held while calling out
	closed    bool
	callbacks CallbackStore // set at start or by EnableCallbacks; read through cbStore
	dialer    Dialer        // likewise; read through cbDialer
	queues    map[string]*QueueConfig
	endpoints map[string]Endpoint
	inflight  map[string]int     // agent -> Endpoint.Offer calls not yet returned
	waiters   map[string]*waiter // inbound calls of this node, by call id
}

// Option configures an Engine.
type Option func(*Engine)

// WithConfig sets the engine settings, agents and queues (default: none, defaults).
func WithConfig(c *Config) Option { return func(e *Engine) { e.initial = c } }

// WithStore sets the state store (default a new MemStore).
func WithStore(s Store) Option { return func(e *Engine) { e.store = s } }

// WithEventLog sets the queue event log (default a MemLog).
func WithEventLog(l EventLog) Option { return func(e *Engine) { e.log = l } }

// WithCallbackStore sets where pending callbacks are kept (default MemCallbacks).
func WithCallbackStore(c CallbackStore) Option { return func(e *Engine) { e.callbacks = c } }

// WithDialer sets the callback dialer. Without one, requests for a callback are
// ignored: the caller keeps waiting.
func WithDialer(d Dialer) Option { return func(e *Engine) { e.dialer = d } }

// WithLogger sets the logger (default discards).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.logger = l } }

// WithRegistry registers the engine's Prometheus series on reg (default none).
func WithRegistry(reg prometheus.Registerer) Option { return func(e *Engine) { e.reg = reg } }

// WithNode names this engine node in entries and events (default "local"); nodes
// sharing a Store must have distinct names.
func WithNode(name string) Option { return func(e *Engine) { e.node = name } }

// WithScreenPop receives every screen-pop as its offer starts (the WebSocket layer
// forwards it to the agent's client). It must not block.
func WithScreenPop(f func(ScreenPop)) Option { return func(e *Engine) { e.onPop = f } }

// NewEngine builds and starts an engine: it validates the config, replays the event
// log into today's figures, loads agents and pending callbacks, and starts the
// dispatcher. Close stops it.
func NewEngine(opts ...Option) (*Engine, error) {
	e := &Engine{
		queues: map[string]*QueueConfig{}, endpoints: map[string]Endpoint{}, inflight: map[string]int{},
		waiters: map[string]*waiter{}, kick: make(chan struct{}, 1), node: "local",
	}
	for _, o := range opts {
		o(e)
	}
	if e.store == nil {
		e.store = NewMemStore()
	}
	if e.log == nil {
		e.log = &MemLog{}
	}
	if e.callbacks == nil {
		e.callbacks = &MemCallbacks{}
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	cfg := e.initial
	if cfg == nil {
		cfg = &Config{Engine: DefaultEngine()}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e.settings = cfg.Engine
	e.loc = time.Local
	if cfg.Engine.Timezone != "" {
		loc, err := time.LoadLocation(cfg.Engine.Timezone)
		if err != nil {
			return nil, err
		}
		e.loc = loc
	}
	for i := range cfg.Queues {
		q := cfg.Queues[i]
		e.queues[q.Name] = &q
	}
	e.tally = NewTally(TallyOptions{
		Interval: e.settings.Interval, Location: e.loc,
		ServiceLevel: func(name string) time.Duration {
			if q, ok := e.queue(name); ok {
				return q.ServiceLevel
			}
			return 0
		},
		ExpectedAHT: func(name string) time.Duration {
			if q, ok := e.queue(name); ok {
				return q.ExpectedAHT
			}
			return 0
		},
	})
	m, err := newMetrics(e.reg, e)
	if err != nil {
		return nil, err
	}
	e.metrics = m
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if err := e.start(cfg); err != nil {
		e.cancel()
		m.unregister()
		return nil, err
	}
	e.goTrack(e.run)
	return e, nil
}

// start replays the log, ends agent sessions a previous process left open, loads
// the configured agents and the pending callbacks.
func (e *Engine) start(cfg *Config) error {
	ctx := e.ctx
	now := time.Now()
	if err := e.log.Read(ctx, now.Add(-DefaultRetention), time.Time{}, func(ev Event) error {
		e.tally.Add(ev)
		return nil
	}); err != nil {
		return fmt.Errorf("acd: replay event log: %w", err)
	}
	for agent, st := range e.tally.trackedAgents() {
		e.record(Event{Time: now, Type: EventAgentState, Agent: agent, From: st, State: StateOffline, Reason: "restart"})
	}
	for _, a := range cfg.Agents {
		if err := e.store.PutAgent(ctx, a.Agent); err != nil {
			return err
		}
		if a.Presence == PresenceAvailable || a.Presence == PresenceBreak {
			var err error
			e.commit(func(rec recorder) {
				var ch []Change
				ch, err = e.store.SetPresence(ctx, a.ID, a.Presence, "", now)
				e.changes(rec, ch, now)
			})
			if err != nil {
				return err
			}
		}
	}
	return e.restoreCallbacks(ctx, e.callbacks, now)
}

// restoreCallbacks puts the pending callbacks of cs back in their queues.
func (e *Engine) restoreCallbacks(ctx context.Context, cs CallbackStore, now time.Time) error {
	cbs, err := cs.Load(ctx)
	if err != nil {
		return fmt.Errorf("acd: load callbacks: %w", err)
	}
	defer e.stale() // the shared view must show them at once (Status, the wallboard)
	for _, cb := range cbs {
		if err := e.store.Join(ctx, callbackEntry(cb, now), 0); err != nil && !errors.Is(err, ErrExists) {
			return fmt.Errorf("acd: restore callback %s: %w", cb.ID, err)
		}
	}
	return nil
}

// EnableCallbacks attaches the callback side after NewEngine, for telephony built
// after the engine (the dialer needs the SIP server, which needs the engine's
// agents): callbacks are kept in cs from now on, its pending callbacks are put
// back in their queues (a restart), and d dials them. Call it once, before calls
// are queued; callbacks requested earlier stay in the previous store. A nil cs
// keeps the current store.
func (e *Engine) EnableCallbacks(cs CallbackStore, d Dialer) error {
	if d == nil {
		return fmt.Errorf("%w: callbacks need a dialer", ErrInvalid)
	}
	if cs != nil {
		if err := e.restoreCallbacks(e.ctx, cs, time.Now()); err != nil {
			return err
		}
	}
	e.mu.Lock()
	if cs != nil {
		e.callbacks = cs
	}
	e.dialer = d
	e.mu.Unlock()
	e.wake()
	return nil
}

// cbStore returns where pending callbacks are kept.
func (e *Engine) cbStore() CallbackStore {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.callbacks
}

// cbDialer returns the callback dialer, nil when callbacks are off.
func (e *Engine) cbDialer() Dialer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dialer
}

// Close stops the dispatcher, cancels offers ringing and callbacks being dialled,
// and waits for the engine's goroutines. Waiting callers get the error outcome
// (EXITTIMEOUT, reason shutdown). It is idempotent. The Store, EventLog and
// CallbackStore are the caller's to close.
func (e *Engine) Close() error {
	e.mu.Lock()
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if already {
		return nil
	}
	e.cancel()
	e.wg.Wait()
	e.metrics.unregister()
	return nil
}

// goTrack runs f on a goroutine Close waits for; after Close it does not run f.
func (e *Engine) goTrack(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) queue(name string) (*QueueConfig, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.queues[name]
	return q, ok
}

func (e *Engine) queueMap() map[string]*QueueConfig {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[string]*QueueConfig, len(e.queues))
	for k, v := range e.queues {
		m[k] = v
	}
	return m
}

func (e *Engine) policy() MissPolicy {
	return MissPolicy{Pause: e.settings.MissedPause, BreakAfter: e.settings.AutoBreakAfter}
}

func (e *Engine) nextOfferID() string { return e.node + "-" + strconv.FormatUint(e.seq.Add(1), 10) }

// recorder records one event inside a commit.
type recorder func(Event)

// commit runs f, which makes at most one Store transition, and records the events f
// passes to rec, as one step: no other commit's events come between. The event
// log's order is then the order of the transitions (a call's RINGNOANSWER is never
// logged after the RINGAGENT of the offer that followed it), and the live tally sees
// exactly the log's order, so replaying the log gives the live figures.
//
// A log failure is logged and counted, not returned: the call goes on, and the
// metric says records are missing.
func (e *Engine) commit(f func(rec recorder)) {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	var evs []Event
	f(func(ev Event) {
		ev.Node = e.node
		evs = append(evs, ev)
	})
	if len(evs) == 0 {
		return
	}
	// One Append per transition: one write (and fsync) however many events.
	if err := e.log.Append(context.Background(), evs...); err != nil {
		e.metrics.logErrors.Add(float64(len(evs)))
		e.logger.Error("acd: event log append failed", "event", evs[0].Type, "call_id", evs[0].CallID, "err", err)
	}
	for _, ev := range evs {
		e.tally.Add(ev)
	}
}

// record records one event that goes with no Store transition.
func (e *Engine) record(ev Event) { e.commit(func(rec recorder) { rec(ev) }) }

// changes records each agent state change as an AGENTSTATE event.
func (e *Engine) changes(rec recorder, ch []Change, now time.Time) {
	for _, c := range ch {
		rec(Event{Time: now, Type: EventAgentState, Agent: c.Agent, From: c.From, State: c.To,
			Reason: c.Reason, CallID: c.CallID, Queue: c.Queue})
		if c.To == StateBreak && c.Reason == AutoBreakReason {
			e.logger.Warn("acd: agent put on break after unanswered offers", "agent", c.Agent)
		}
	}
}

// AddAgent creates or updates an agent's profile (presence and activity are kept).
func (e *Engine) AddAgent(ctx context.Context, a Agent) error {
	if a.ID == "" {
		return fmt.Errorf("%w: agent id is empty", ErrInvalid)
	}
	if err := a.Skills.Validate(); err != nil {
		return fmt.Errorf("%w: agent %q: %v", ErrInvalid, a.ID, err)
	}
	if err := e.store.PutAgent(ctx, a); err != nil {
		return err
	}
	e.stale()
	e.wake()
	return nil
}

// RemoveAgent deletes an agent who is not ringing or on a call (ErrBusy otherwise).
func (e *Engine) RemoveAgent(ctx context.Context, id string) error {
	var err error
	e.commit(func(rec recorder) {
		var ch []Change
		ch, err = e.store.RemoveAgent(ctx, id)
		e.changes(rec, ch, time.Now())
	})
	if err != nil {
		return err
	}
	e.SetEndpoint(id, nil)
	return nil
}

// SetPresence records what an agent chose: available, break (with a reason) or
// offline. It does not interrupt a call: an agent who goes on break while talking
// is on break once the call and its wrap-up end.
func (e *Engine) SetPresence(ctx context.Context, id string, p Presence, reason string) error {
	var err error
	e.commit(func(rec recorder) {
		now := time.Now()
		var ch []Change
		ch, err = e.store.SetPresence(ctx, id, p, reason, now)
		e.changes(rec, ch, now)
	})
	if err != nil {
		return err
	}
	e.stale()
	e.wake()
	return nil
}

// Ready ends an agent's wrap-up (or missed pause) early: they are ready for calls.
func (e *Engine) Ready(ctx context.Context, id string) error {
	var err error
	e.commit(func(rec recorder) {
		now := time.Now()
		var ch []Change
		ch, err = e.store.Ready(ctx, id, now)
		e.changes(rec, ch, now)
	})
	if err != nil {
		return err
	}
	e.stale()
	e.wake()
	return nil
}

// SetEndpoint tells the engine how to reach an agent from this node (their phone
// registered, their softphone connected); nil removes it (unregistered,
// disconnected): the agent is not offered calls from this node until it returns.
func (e *Engine) SetEndpoint(agentID string, ep Endpoint) {
	e.mu.Lock()
	if ep == nil {
		delete(e.endpoints, agentID)
	} else {
		e.endpoints[agentID] = ep
	}
	e.mu.Unlock()
	e.stale()
	e.wake()
}

func (e *Engine) endpoint(agentID string) Endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.endpoints[agentID]
}

// reachable reports whether the dispatcher may ring the agent from this node: they
// have an Endpoint and no Offer to it is still running. The Store frees an agent as
// soon as an offer is over for the call (the caller left, another agent won a
// ring-all, the reconciler expired it), possibly before the Endpoint has returned
// from cancelling it; waiting for that return keeps "one offer at a time" true at
// the phone too.
func (e *Engine) reachable(agentID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.endpoints[agentID] != nil && e.inflight[agentID] == 0
}

// ringing counts an Offer to agent starting (+1) or returning (-1).
func (e *Engine) ringing(agentID string, delta int) {
	e.mu.Lock()
	if e.inflight[agentID] += delta; e.inflight[agentID] <= 0 {
		delete(e.inflight, agentID)
	}
	e.mu.Unlock()
	if delta < 0 {
		e.wake()
	}
}

// Agents returns every agent's profile and state.
func (e *Engine) Agents(ctx context.Context) ([]AgentState, error) {
	snap, err := e.store.Snapshot(ctx)
	return snap.Agents, err
}

// AddQueue adds or replaces a queue. Calls already waiting keep their place and
// follow the new settings from the next dispatcher pass.
func (e *Engine) AddQueue(q QueueConfig) error {
	e.mu.Lock()
	cfg := &Config{Engine: e.settings}
	for _, o := range e.queues {
		if o.Name != q.Name {
			cfg.Queues = append(cfg.Queues, *o)
		}
	}
	e.mu.Unlock()
	cfg.Queues = append(cfg.Queues, q)
	snap, err := e.store.Snapshot(e.ctx)
	if err != nil {
		return err
	}
	for _, a := range snap.Agents {
		cfg.Agents = append(cfg.Agents, AgentConfig{Agent: a.Agent, Presence: PresenceOffline})
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	e.queues[q.Name] = &q
	e.mu.Unlock()
	e.stale()
	e.wake()
	return nil
}

// snapshotAt is a Snapshot and when it was taken.
type snapshotAt struct {
	snap Snapshot
	at   time.Time
}

// maxViewAge bounds how old the dispatcher's snapshot may be for view.
const maxViewAge = time.Second

// view returns a recent snapshot, read-only: the dispatcher's latest (it takes one
// after every change it is woken for) when younger than maxViewAge, else a fresh
// one. Joining (join_when_empty, the ENTERQUEUE position), announcements and Status
// read it, so hundreds of callers do not each read the whole Store (over the
// network, for Redis). Agent changes made through this engine drop it (stale), so
// a join right after an agent logs out sees them.
func (e *Engine) view(ctx context.Context) (Snapshot, error) {
	if l := e.last.Load(); l != nil && time.Since(l.at) < maxViewAge {
		return l.snap, nil
	}
	snap, err := e.store.Snapshot(ctx)
	if err == nil {
		e.last.Store(&snapshotAt{snap: snap, at: time.Now()})
	}
	return snap, err
}

// stale drops the shared view after an agent change.
func (e *Engine) stale() { e.last.Store(nil) }

// Status returns a queue's live state and the wait a caller joining now would be
// told (flows' queue_size, queue_wait and agents_available).
func (e *Engine) Status(ctx context.Context, queue string) (QueueStatus, error) {
	q, ok := e.queue(queue)
	if !ok {
		return QueueStatus{}, fmt.Errorf("%w %q", ErrUnknownQueue, queue)
	}
	snap, err := e.view(ctx)
	if err != nil {
		return QueueStatus{}, err
	}
	now := time.Now()
	st := QueueStatus{Queue: queue, AHT: e.tally.SmoothedAHT(queue)}
	for _, en := range snap.Entries {
		if en.Queue != queue {
			continue
		}
		st.Waiting++
		if en.Kind == KindCallback {
			st.Callbacks++
		}
		if w := now.Sub(en.Joined); w > st.LongestWait {
			st.LongestWait = w
		}
	}
	newcomer := Entry{CallID: "\x00newcomer", Queue: queue, Arrived: now, Joined: now}
	v := viewFor(snap, map[string]*QueueConfig{queue: q}, newcomer, now, e.reachable)
	st.AgentsStaffed, st.AgentsAvailable = v.staffed, v.idle
	st.EstimatedWait, st.EstimateKnown = EstimateWait(v.position, v.staffed, v.idle, st.AHT)
	if st.EstimateKnown {
		st.EstimatedWait += e.tally.SmoothedRing(queue)
	}
	return st, nil
}

// Figures returns queue's figures ("" for all queues) for the intervals starting in
// [from, to), from the live tally.
func (e *Engine) Figures(queue string, from, to time.Time) Figures {
	return e.tally.Figures(queue, from, to, time.Now())
}

// Today returns queue's figures since midnight (the engine's time zone).
func (e *Engine) Today(queue string) Figures { return e.tally.Today(queue, time.Now()) }

// Tally returns the live tally, for reports over other spans.
func (e *Engine) Tally() *Tally { return e.tally }
