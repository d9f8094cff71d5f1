package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// hub samples the Wallboard once per interval, whatever the number of viewers,
// and fans the encoded update out to every event stream. A slow viewer never
// holds up the others: each stream has a one-update mailbox and keeps only the
// latest update, which is all a wallboard needs.
type hub struct {
	src      Wallboard
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	ctx    context.Context // cancelled by stop: ends the sampler and every stream
	cancel context.CancelFunc
	wg     sync.WaitGroup

	first     chan struct{} // closed once the first update is published
	firstOnce sync.Once

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	last    []byte        // the latest update, encoded
	good    WallboardData // the last sample that succeeded
	hist    history
	errLast time.Time // when a sampling error was last logged
}

// subscriber is one event stream's mailbox.
type subscriber struct {
	ch chan []byte
}

// errLogEvery rate-limits the log line of a failing sample (one a second would
// flood the log during a store outage).
const errLogEvery = 30 * time.Second

func newHub(src Wallboard, interval time.Duration, now func() time.Time, log *slog.Logger) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{src: src, interval: interval, now: now, log: log, ctx: ctx, cancel: cancel,
		first: make(chan struct{}), subs: map[*subscriber]struct{}{}}
}

// start runs the sampler; stop ends it and waits.
func (h *hub) start() {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.run()
	}()
}

func (h *hub) stop() {
	h.cancel()
	h.wg.Wait()
}

// run samples at once (so the first viewer needs not wait) and then every
// interval, until stopped. History is kept whether or not anyone watches, so the
// chart is full when a viewer arrives.
func (h *hub) run() {
	h.tick()
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
			h.tick()
		}
	}
}

// tick takes one sample and publishes it.
func (h *hub) tick() {
	ctx, cancel := context.WithTimeout(h.ctx, h.interval)
	data, err := h.src.Wallboard(ctx)
	cancel()
	if h.ctx.Err() != nil {
		return
	}
	b := h.update(h.now(), data, err)
	h.mu.Lock()
	h.last = b
	for s := range h.subs {
		offer(s.ch, b)
	}
	h.mu.Unlock()
	h.firstOnce.Do(func() { close(h.first) })
}

// offer puts b in a one-slot mailbox, replacing an update not yet taken. Only
// the hub sends, under its lock, so after draining the send cannot block.
func offer(ch chan []byte, b []byte) {
	select {
	case ch <- b:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- b:
	default:
	}
}

// update records a sample in the history and encodes the update viewers get. A
// failed sample repeats the last good figures with an error, so the page says it
// is stale instead of showing zeros.
func (h *hub) update(now time.Time, data WallboardData, err error) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	upd := WallboardUpdate{At: now.UTC(), Interval: Duration(h.interval)}
	if err != nil {
		if now.Sub(h.errLast) >= errLogEvery {
			h.errLast = now
			h.log.Warn("api: wallboard sample failed", "err", err)
		}
		upd.WallboardData = normalizeWallboard(h.good)
		upd.Error = "the engine did not answer; these figures are the last known"
	} else {
		data = normalizeWallboard(data)
		h.good = data
		h.hist.add(now, data.Calls)
		upd.WallboardData = data
	}
	upd.History = h.hist.points(now)
	b, merr := json.Marshal(upd)
	if merr != nil {
		b, _ = json.Marshal(WallboardUpdate{At: now.UTC(), Interval: Duration(h.interval), Error: "wallboard data not encodable",
			WallboardData: normalizeWallboard(WallboardData{}), History: []HistoryPoint{}})
	}
	return b
}

// normalizeWallboard gives empty lists and maps instead of null, and fills
// default targets, so the page never checks for missing parts.
func normalizeWallboard(d WallboardData) WallboardData {
	if d.Queues == nil {
		d.Queues = []QueueOverview{}
	}
	qs := make([]QueueOverview, len(d.Queues))
	for i, q := range d.Queues {
		q.Today.Targets = q.Today.Targets.withDefaults()
		qs[i] = q
	}
	d.Queues = qs
	if d.Agents == nil {
		d.Agents = map[string]int{}
	}
	return d
}

// subscribe adds an event stream and returns the latest update to send first.
func (h *hub) subscribe() (*subscriber, []byte) {
	s := &subscriber{ch: make(chan []byte, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = struct{}{}
	return s, h.last
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// latest returns the latest update, waiting for the first sample (at most
// wait, or until ctx ends): nil when there is none yet.
func (h *hub) latest(ctx context.Context, wait time.Duration) []byte {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-h.first:
	case <-ctx.Done():
	case <-h.ctx.Done():
	case <-t.C:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// historyMinutes is the chart's span.
const historyMinutes = 60

// history keeps, for each of the last historyMinutes minutes, the most calls seen
// at once by stage. Peaks, not averages: a burst that filled the queue for twenty
// seconds is what a supervisor wants to see. It lives in memory, per node: after
// a restart the chart fills again.
type history struct {
	buckets [historyMinutes]HistoryPoint // indexed by minute of the hour
}

func (h *history) add(now time.Time, c CallCounts) {
	m := now.UTC().Truncate(time.Minute)
	b := &h.buckets[(m.Unix()/60)%historyMinutes]
	if !b.T.Equal(m) {
		*b = HistoryPoint{T: m}
	}
	// The minute keeps its busiest sample whole (the latest of equally busy ones):
	// per-stage maxima would count a call that moved from the IVR to the queue
	// within the minute twice.
	if c.InIVR+c.Waiting+c.WithAgents >= b.InIVR+b.Waiting+b.WithAgents {
		b.InIVR, b.Waiting, b.WithAgents = c.InIVR, c.Waiting, c.WithAgents
	}
}

// points returns the minutes of the last hour that have samples, oldest first.
func (h *history) points(now time.Time) []HistoryPoint {
	cur := now.UTC().Truncate(time.Minute)
	from := cur.Add(-(historyMinutes - 1) * time.Minute)
	out := make([]HistoryPoint, 0, historyMinutes)
	for _, b := range h.buckets {
		if !b.T.IsZero() && !b.T.Before(from) && !b.T.After(cur) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b HistoryPoint) int { return a.T.Compare(b.T) })
	return out
}
