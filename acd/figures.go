package acd

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// Counts are a queue's event counts and time sums over some span. Every field is a
// sum, so spans add up: today is the sum of its intervals.
type Counts struct {
	Offered            int `json:"offered"`             // ENTERQUEUE
	Answered           int `json:"answered"`            // CONNECT
	AnsweredInSL       int `json:"answered_in_sl"`      // CONNECT with wait <= T_sl
	Abandoned          int `json:"abandoned"`           // ABANDON (short abandons excluded)
	ShortAbandoned     int `json:"short_abandoned"`     // SHORTABANDON
	Overflowed         int `json:"overflowed"`          // OVERFLOW to another queue
	Closed             int `json:"closed"`              // OVERFLOW reason closed (leave_when_empty)
	TimedOut           int `json:"timed_out"`           // EXITTIMEOUT
	CallbacksRequested int `json:"callbacks_requested"` // CALLBACKREQUESTED
	CallbacksConnected int `json:"callbacks_connected"` // CALLBACKCONNECTED
	Transfers          int `json:"transfers"`           // TRANSFER
	RingNoAnswer       int `json:"ring_no_answer"`      // RINGNOANSWER
	// Handled counts conversations whose wrap-up ended (inbound and callbacks); the
	// times are their sums.
	Handled      int           `json:"handled"`
	WaitAnswered time.Duration `json:"wait_answered_ns"` // sum of CONNECT waits (ASA's numerator)
	TalkTime     time.Duration `json:"talk_ns"`
	WrapTime     time.Duration `json:"wrap_ns"`
}

func (c *Counts) add(o *Counts) {
	c.Offered += o.Offered
	c.Answered += o.Answered
	c.AnsweredInSL += o.AnsweredInSL
	c.Abandoned += o.Abandoned
	c.ShortAbandoned += o.ShortAbandoned
	c.Overflowed += o.Overflowed
	c.Closed += o.Closed
	c.TimedOut += o.TimedOut
	c.CallbacksRequested += o.CallbacksRequested
	c.CallbacksConnected += o.CallbacksConnected
	c.Transfers += o.Transfers
	c.RingNoAnswer += o.RingNoAnswer
	c.Handled += o.Handled
	c.WaitAnswered += o.WaitAnswered
	c.TalkTime += o.TalkTime
	c.WrapTime += o.WrapTime
}

// Figures are the METRICS.md figures of one queue (or all, Queue "") over [From, To).
// Ratios are methods returning ok=false when their denominator is zero, because
// "no calls" is not "0 %" nor "100 %".
type Figures struct {
	Queue string    `json:"queue"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Counts
	// StaffedTime and BusyTime are every agent's logged-in time excluding breaks and
	// time on calls or wrap-up: occupancy's terms. Agents serve several queues, so
	// these are engine-wide whatever Queue is.
	StaffedTime time.Duration `json:"staffed_ns"`
	BusyTime    time.Duration `json:"busy_ns"`
}

// FlowedOut counts calls that left by overflow, callback, max wait or closing.
func (f Figures) FlowedOut() int { return f.Overflowed + f.Closed + f.TimedOut + f.CallbacksRequested }

func ratio(n, d int) (float64, bool) {
	if d <= 0 {
		return 0, false
	}
	return float64(n) / float64(d), true
}

// ServiceLevel is answered within T_sl ÷ (answered + abandoned).
func (f Figures) ServiceLevel() (float64, bool) {
	return ratio(f.AnsweredInSL, f.Answered+f.Abandoned)
}

// AnswerRate is answered ÷ (offered − short abandons).
func (f Figures) AnswerRate() (float64, bool) { return ratio(f.Answered, f.Offered-f.ShortAbandoned) }

// AbandonRate is abandoned ÷ (offered − short abandons).
func (f Figures) AbandonRate() (float64, bool) {
	return ratio(f.Abandoned, f.Offered-f.ShortAbandoned)
}

// ASA is the mean time from queue entry to agent answer, answered calls only.
func (f Figures) ASA() (time.Duration, bool) {
	if f.Answered == 0 {
		return 0, false
	}
	return f.WaitAnswered / time.Duration(f.Answered), true
}

// AHT is talk (hold included: the engine does not tell hold from talk) plus
// after-call work, per handled call.
func (f Figures) AHT() (time.Duration, bool) {
	if f.Handled == 0 {
		return 0, false
	}
	return (f.TalkTime + f.WrapTime) / time.Duration(f.Handled), true
}

// Occupancy is time on calls or wrap-up ÷ logged-in time excluding breaks.
func (f Figures) Occupancy() (float64, bool) {
	if f.StaffedTime <= 0 {
		return 0, false
	}
	return float64(f.BusyTime) / float64(f.StaffedTime), true
}

// TallyOptions configure a Tally.
type TallyOptions struct {
	Interval time.Duration  // the reporting interval (DefaultInterval)
	Location *time.Location // where days start (time.Local)
	// ServiceLevel returns a queue's T_sl (DefaultServiceLevel when nil or 0).
	ServiceLevel func(queue string) time.Duration
	// ExpectedAHT seeds a queue's smoothed AHT (DefaultExpectedAHT when nil or 0).
	ExpectedAHT func(queue string) time.Duration
	// Retention drops buckets older than this behind the newest event (DefaultRetention).
	Retention time.Duration
}

// DefaultRetention is how long a Tally keeps interval buckets: a week and a day.
const DefaultRetention = 8 * 24 * time.Hour

// ahtAlpha is the weight of the newest handled call in the smoothed AHT the wait
// estimator uses: about the last 20 calls matter.
const ahtAlpha = 0.1

type bucketKey struct {
	queue string
	start int64 // unix ns of the interval start
}

type agentTrack struct {
	state State
	since time.Time
}

type handling struct {
	callID, queue string
	talk          time.Duration
	wrapFrom      time.Time
}

type staffTime struct{ staffed, busy time.Duration }

// Tally turns events into Figures, bucketed by interval. The engine feeds it every
// event it appends to the EventLog (live figures); Replay feeds it the log read back,
// so both give the same numbers. Events count in the interval they happened in:
// answered in the CONNECT's, abandoned in the ABANDON's, a handled call in the
// interval its wrap-up ended.
type Tally struct {
	mu       sync.Mutex // leaf
	opt      TallyOptions
	counts   map[bucketKey]*Counts
	staff    map[int64]*staffTime
	agents   map[string]agentTrack
	handling map[string]handling // agent -> the call they are on or wrapping up
	aht      map[string]float64  // queue -> smoothed AHT, seconds
	ring     map[string]float64  // queue -> smoothed time agents take to answer, seconds
	latest   time.Time
	pruned   int64
}

// NewTally returns an empty Tally.
func NewTally(opt TallyOptions) *Tally {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Retention <= 0 {
		opt.Retention = DefaultRetention
	}
	return &Tally{opt: opt, counts: map[bucketKey]*Counts{}, staff: map[int64]*staffTime{},
		agents: map[string]agentTrack{}, handling: map[string]handling{}, aht: map[string]float64{},
		ring: map[string]float64{}}
}

// Replay builds a Tally from the events of log in [from, to).
func Replay(ctx context.Context, log EventLog, from, to time.Time, opt TallyOptions) (*Tally, error) {
	t := NewTally(opt)
	err := log.Read(ctx, from, to, func(ev Event) error { t.Add(ev); return nil })
	return t, err
}

// Start returns the start of the interval holding ts.
func (t *Tally) Start(ts time.Time) time.Time {
	ts = ts.In(t.opt.Location)
	y, m, d := ts.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, t.opt.Location)
	return day.Add(ts.Sub(day) / t.opt.Interval * t.opt.Interval)
}

// Day returns the start of the day holding ts, in the tally's location.
func (t *Tally) Day(ts time.Time) time.Time {
	ts = ts.In(t.opt.Location)
	y, m, d := ts.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.opt.Location)
}

func (t *Tally) sl(q string) time.Duration {
	if t.opt.ServiceLevel != nil {
		if d := t.opt.ServiceLevel(q); d > 0 {
			return d
		}
	}
	return DefaultServiceLevel
}

func (t *Tally) bucket(q string, ts time.Time) *Counts {
	k := bucketKey{q, t.Start(ts).UnixNano()}
	c := t.counts[k]
	if c == nil {
		c = &Counts{}
		t.counts[k] = c
	}
	return c
}

// Add counts one event.
func (t *Tally) Add(ev Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ev.Time.After(t.latest) {
		t.latest = ev.Time
	}
	wait := time.Duration(ev.WaitMS) * time.Millisecond
	switch ev.Type {
	case EventEnterQueue:
		t.bucket(ev.Queue, ev.Time).Offered++
	case EventConnect:
		c := t.bucket(ev.Queue, ev.Time)
		c.Answered++
		c.WaitAnswered += wait
		if wait <= t.sl(ev.Queue) {
			c.AnsweredInSL++
		}
		smooth(t.ring, ev.Queue, float64(ev.RingMS)/1000)
	case EventAbandon:
		t.bucket(ev.Queue, ev.Time).Abandoned++
	case EventShortAbandon:
		t.bucket(ev.Queue, ev.Time).ShortAbandoned++
	case EventOverflow:
		if ev.Reason == reasonClosed {
			t.bucket(ev.Queue, ev.Time).Closed++
		} else {
			t.bucket(ev.Queue, ev.Time).Overflowed++
		}
	case EventExitTimeout:
		t.bucket(ev.Queue, ev.Time).TimedOut++
	case EventCallbackRequested:
		t.bucket(ev.Queue, ev.Time).CallbacksRequested++
	case EventCallbackConnected:
		t.bucket(ev.Queue, ev.Time).CallbacksConnected++
	case EventRingNoAnswer:
		t.bucket(ev.Queue, ev.Time).RingNoAnswer++
	case EventCompleteCaller, EventCompleteAgent, EventTransfer:
		if ev.Type == EventTransfer {
			t.bucket(ev.Queue, ev.Time).Transfers++
		}
		if ev.Agent != "" {
			t.handling[ev.Agent] = handling{callID: ev.CallID, queue: ev.Queue, talk: time.Duration(ev.TalkMS) * time.Millisecond}
		}
	case EventAgentState:
		t.agentState(ev)
	}
	t.prune()
}

// agentState closes the agent's previous state into the staff buckets and finishes
// a handled call when its wrap-up (or the call itself, without wrap-up) ends.
func (t *Tally) agentState(ev Event) {
	prev, known := t.agents[ev.Agent]
	if known {
		t.spread(prev.state, prev.since, ev.Time)
	}
	t.agents[ev.Agent] = agentTrack{state: ev.State, since: ev.Time}
	if ev.State == StateOffline || ev.State == StateUnknown {
		delete(t.agents, ev.Agent)
	}
	h, ok := t.handling[ev.Agent]
	if !ok || h.callID != ev.CallID {
		return
	}
	switch {
	case ev.State == StateWrapUp:
		h.wrapFrom = ev.Time
		t.handling[ev.Agent] = h
	case ev.From == StateWrapUp || ev.From == StateOnCall:
		var wrap time.Duration
		if ev.From == StateWrapUp && !h.wrapFrom.IsZero() {
			wrap = ev.Time.Sub(h.wrapFrom)
		}
		c := t.bucket(h.queue, ev.Time)
		c.Handled++
		c.TalkTime += h.talk
		c.WrapTime += wrap
		smooth(t.aht, h.queue, (h.talk + wrap).Seconds())
		delete(t.handling, ev.Agent)
	}
}

// spread adds [from, to) spent in s to the staff buckets it covers.
func (t *Tally) spread(s State, from, to time.Time) {
	if !s.Staffed() || !to.After(from) {
		return
	}
	for cur := from; cur.Before(to); {
		start := t.Start(cur)
		end := start.Add(t.opt.Interval)
		if end.After(to) {
			end = to
		}
		st := t.staff[start.UnixNano()]
		if st == nil {
			st = &staffTime{}
			t.staff[start.UnixNano()] = st
		}
		st.staffed += end.Sub(cur)
		if s.Busy() {
			st.busy += end.Sub(cur)
		}
		cur = end
	}
}

// prune drops buckets older than the retention, at most once per interval.
func (t *Tally) prune() {
	cut := t.Start(t.latest.Add(-t.opt.Retention)).UnixNano()
	if cut <= t.pruned {
		return
	}
	t.pruned = cut
	for k := range t.counts {
		if k.start < cut {
			delete(t.counts, k)
		}
	}
	for k := range t.staff {
		if k < cut {
			delete(t.staff, k)
		}
	}
}

// Figures sums the intervals starting in [from, to) for queue ("" for every queue).
// Agent states still open are counted up to now (capped at to). Use Start and Day
// to align from and to.
func (t *Tally) Figures(queue string, from, to, now time.Time) Figures {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := Figures{Queue: queue, From: from, To: to}
	lo, hi := from.UnixNano(), to.UnixNano()
	for k, c := range t.counts {
		if k.start >= lo && k.start < hi && (queue == "" || k.queue == queue) {
			f.Counts.add(c)
		}
	}
	for k, st := range t.staff {
		if k >= lo && k < hi {
			f.StaffedTime += st.staffed
			f.BusyTime += st.busy
		}
	}
	end := now
	if end.After(to) {
		end = to
	}
	for _, a := range t.agents {
		if !a.state.Staffed() {
			continue
		}
		begin := a.since
		if begin.Before(from) {
			begin = from
		}
		if d := end.Sub(begin); d > 0 {
			f.StaffedTime += d
			if a.state.Busy() {
				f.BusyTime += d
			}
		}
	}
	return f
}

// Today returns queue's figures from the start of now's day to now.
func (t *Tally) Today(queue string, now time.Time) Figures {
	return t.Figures(queue, t.Day(now), now.Add(time.Nanosecond), now)
}

// SmoothedAHT returns the queue's exponentially smoothed AHT (the newest handled
// call weighs ahtAlpha), or the expected AHT before any call is handled.
func (t *Tally) SmoothedAHT(queue string) time.Duration {
	t.mu.Lock()
	v, ok := t.aht[queue]
	t.mu.Unlock()
	if ok {
		return time.Duration(v * float64(time.Second))
	}
	if t.opt.ExpectedAHT != nil {
		if d := t.opt.ExpectedAHT(queue); d > 0 {
			return d
		}
	}
	return DefaultExpectedAHT
}

// smooth folds sample into m[key], an exponentially weighted mean (weight ahtAlpha).
func smooth(m map[string]float64, key string, sample float64) {
	if old, ok := m[key]; ok {
		m[key] = old + ahtAlpha*(sample-old)
	} else {
		m[key] = sample
	}
}

// SmoothedRing returns how long agents of the queue take to answer an offer,
// smoothed like SmoothedAHT (0 before any answer): the wait of a caller who finds an
// agent idle.
func (t *Tally) SmoothedRing(queue string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Duration(t.ring[queue] * float64(time.Second))
}

// Queues returns the queues with counts, sorted.
func (t *Tally) Queues() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	set := map[string]bool{}
	for k := range t.counts {
		set[k.queue] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// trackedAgents returns the agents the tally believes logged in, with their state:
// at start, the engine closes these sessions (the previous process is gone).
func (t *Tally) trackedAgents() map[string]State {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]State, len(t.agents))
	for id, a := range t.agents {
		out[id] = a.state
	}
	return out
}
