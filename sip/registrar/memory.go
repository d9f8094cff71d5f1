package registrar

import (
	"cmp"
	"container/heap"
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Memory is the in-memory Registrar. Its bindings live as long as the process. It
// runs two goroutines, both ended by Close: the sweeper, asleep until the earliest
// expiry, and the notifier, which delivers events to watchers in order.
type Memory struct {
	policy Policy
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	aors     map[string][]*slot
	expiry   expiryHeap
	watchers map[uint64]*watcher
	nextID   uint64
	queue    []Event
	closed   bool

	wake      chan struct{} // the earliest expiry changed
	notify    chan struct{} // events were queued
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type watcher struct {
	id      uint64
	fn      func(Event)
	stopped atomic.Bool
}

var _ Registrar = (*Memory)(nil)

// Option configures a Memory.
type Option func(*Memory)

// WithPolicy sets the registration policy (default: Policy's defaults).
func WithPolicy(p Policy) Option { return func(m *Memory) { m.policy = p } }

// WithClock sets the clock (default time.Now). The sweeper's timers run on real
// time; with a fake clock, call Sweep.
func WithClock(now func() time.Time) Option { return func(m *Memory) { m.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(m *Memory) { m.log = l } }

// NewMemory returns an empty in-memory registrar and starts its goroutines.
func NewMemory(opts ...Option) (*Memory, error) {
	m := &Memory{
		now: time.Now, log: slog.Default(),
		aors: make(map[string][]*slot), watchers: make(map[uint64]*watcher),
		wake: make(chan struct{}, 1), notify: make(chan struct{}, 1), done: make(chan struct{}),
	}
	for _, o := range opts {
		o(m)
	}
	if err := m.policy.Validate(); err != nil {
		return nil, err
	}
	m.policy = m.policy.withDefaults()
	m.wg.Add(2)
	go m.sweepLoop()
	go m.notifyLoop()
	return m, nil
}

// Policy is the policy in force (defaults filled in).
func (m *Memory) Policy() Policy { return m.policy }

// Register implements Registrar.
func (m *Memory) Register(ctx context.Context, r Request) ([]Binding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	// Bindings that expired but were not swept yet go first, with their own event,
	// so watchers see offline before a new online.
	m.expireLocked(r.AOR, now)
	before := m.bindingsLocked(r.AOR)
	next, err := m.policy.Merge(before, r, now)
	if err != nil {
		return nil, err
	}
	m.replaceLocked(r.AOR, next)
	cause := CauseRegistered
	if len(next) < len(before) && !addsAny(before, next) {
		cause = CauseUnregistered
	}
	m.eventLocked(r.AOR, before, next, cause, now)
	return cloneAll(next), nil
}

// Lookup implements Registrar.
func (m *Memory) Lookup(aor string) []Binding {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Binding
	for _, s := range m.aors[aor] {
		if s.b.Expires.After(now) {
			out = append(out, s.b.clone())
		}
	}
	sortBindings(out)
	return out
}

// ContactCount implements Registrar. A binding past its expiry counts until the
// sweeper (a moment later) removes it.
func (m *Memory) ContactCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.expiry.Len()
}

// AORs lists the address-of-records with bindings, sorted.
func (m *Memory) AORs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.aors))
}

// Watch implements Registrar.
func (m *Memory) Watch(fn func(Event)) (stop func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	w := &watcher{id: m.nextID, fn: fn}
	m.watchers[w.id] = w
	return func() {
		w.stopped.Store(true)
		m.mu.Lock()
		delete(m.watchers, w.id)
		m.mu.Unlock()
	}
}

// Sweep removes every binding expired by now and reports the changes. The sweeper
// calls it on time; tests with a fake clock call it themselves.
func (m *Memory) Sweep() {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
}

// Close stops the goroutines after delivering the events already queued. Register
// fails afterwards; Lookup still answers. Close is idempotent.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		close(m.done)
		m.wg.Wait()
	})
	return nil
}

func (m *Memory) bindingsLocked(aor string) []Binding {
	slots := m.aors[aor]
	out := make([]Binding, len(slots))
	for i, s := range slots {
		out[i] = s.b
	}
	return out
}

// replaceLocked makes next the bindings of aor, keeping the heap exact.
func (m *Memory) replaceLocked(aor string, next []Binding) {
	top := m.expiry.peek()
	for _, s := range m.aors[aor] {
		if s.index >= 0 {
			heap.Remove(&m.expiry, s.index)
		}
	}
	if len(next) == 0 {
		delete(m.aors, aor)
	} else {
		slots := make([]*slot, len(next))
		for i, b := range next {
			slots[i] = &slot{b: b.clone()}
			heap.Push(&m.expiry, slots[i])
		}
		m.aors[aor] = slots
	}
	if m.expiry.peek() != top {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// expireLocked removes aor's expired bindings (Register's early sweep of one AOR).
func (m *Memory) expireLocked(aor string, now time.Time) {
	slots := m.aors[aor]
	if len(slots) == 0 {
		return
	}
	before := m.bindingsLocked(aor)
	var keep []Binding
	for _, b := range before {
		if b.Expires.After(now) {
			keep = append(keep, b)
		}
	}
	if len(keep) == len(before) {
		return
	}
	m.replaceLocked(aor, keep)
	m.eventLocked(aor, before, keep, CauseExpired, now)
}

// sweepLocked pops every expired slot off the heap and reports each AOR once.
func (m *Memory) sweepLocked(now time.Time) {
	var hit []string
	for s := m.expiry.peek(); s != nil && !s.b.Expires.After(now); s = m.expiry.peek() {
		heap.Pop(&m.expiry)
		if !slices.Contains(hit, s.b.AOR) {
			hit = append(hit, s.b.AOR)
		}
	}
	for _, aor := range hit {
		before := m.bindingsLocked(aor)
		var keep []*slot
		for _, s := range m.aors[aor] {
			if s.index >= 0 {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			delete(m.aors, aor)
		} else {
			m.aors[aor] = keep
		}
		m.eventLocked(aor, before, m.bindingsLocked(aor), CauseExpired, now)
	}
}

// eventLocked queues the event that takes aor from before to after, if any.
func (m *Memory) eventLocked(aor string, before, after []Binding, cause Cause, now time.Time) {
	if len(m.watchers) == 0 {
		return
	}
	var kind EventKind
	switch {
	case len(before) == 0 && len(after) > 0:
		kind = EventOnline
	case len(before) > 0 && len(after) == 0:
		kind = EventOffline
	case !sameContacts(before, after):
		kind = EventChanged
	default:
		return // a refresh
	}
	bs := cloneAll(after)
	sortBindings(bs)
	m.queue = append(m.queue, Event{Kind: kind, Cause: cause, AOR: aor, Bindings: bs, At: now})
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// sweepLoop sleeps until the earliest expiry (or until it changes) and sweeps.
func (m *Memory) sweepLoop() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		m.mu.Lock()
		var wait time.Duration
		armed := false
		if s := m.expiry.peek(); s != nil {
			wait, armed = s.b.Expires.Sub(m.now()), true
		}
		m.mu.Unlock()
		if armed && wait <= 0 {
			m.Sweep()
			continue
		}
		var fire <-chan time.Time
		if armed {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-fire:
			m.Sweep()
		case <-m.wake:
			timer.Stop()
		case <-m.done:
			return
		}
	}
}

// notifyLoop delivers queued events to the watchers, one batch at a time, in order.
func (m *Memory) notifyLoop() {
	defer m.wg.Done()
	for {
		select {
		case <-m.notify:
			m.deliver()
		case <-m.done:
			m.deliver()
			return
		}
	}
}

func (m *Memory) deliver() {
	for {
		m.mu.Lock()
		evs := m.queue
		m.queue = nil
		ws := make([]*watcher, 0, len(m.watchers))
		for _, w := range m.watchers {
			ws = append(ws, w)
		}
		m.mu.Unlock()
		if len(evs) == 0 {
			return
		}
		slices.SortFunc(ws, func(a, b *watcher) int { return cmp.Compare(a.id, b.id) })
		for _, ev := range evs {
			for _, w := range ws {
				if !w.stopped.Load() {
					w.fn(ev)
				}
			}
		}
	}
}

// sameContacts reports whether two binding sets hold the same contacts.
func sameContacts(a, b []Binding) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make(map[string]bool, len(a))
	for _, x := range a {
		keys[contactKey(x.URI)] = true
	}
	for _, x := range b {
		if !keys[contactKey(x.URI)] {
			return false
		}
	}
	return true
}

// addsAny reports whether after holds a contact before did not.
func addsAny(before, after []Binding) bool {
	keys := make(map[string]bool, len(before))
	for _, x := range before {
		keys[contactKey(x.URI)] = true
	}
	for _, x := range after {
		if !keys[contactKey(x.URI)] {
			return true
		}
	}
	return false
}

func cloneAll(bs []Binding) []Binding {
	out := make([]Binding, len(bs))
	for i, b := range bs {
		out[i] = b.clone()
	}
	return out
}
