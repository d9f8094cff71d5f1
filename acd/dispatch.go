package acd

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// maxDispatchSleep bounds how long the dispatcher sleeps without a kick, so a
// transition another node made without notifying is still seen within it.
const maxDispatchSleep = 30 * time.Second

// run is the dispatcher, one goroutine per engine: after every kick (a call joined,
// an agent freed, an endpoint registered, any Store change) and at every time-driven
// change (ring deadline plus grace, wrap-up end, relaxation step, callback retry) it
// reconciles, plans and reserves.
func (e *Engine) run() {
	timer := time.NewTimer(maxDispatchSleep)
	defer timer.Stop()
	for {
		next := e.step()
		d := maxDispatchSleep
		if !next.IsZero() {
			d = min(d, max(time.Until(next), time.Millisecond))
		}
		timer.Reset(d)
		select {
		case <-e.ctx.Done():
			return
		case <-e.kick:
		case <-e.store.Changed():
		case <-timer.C:
		}
	}
}

// step is one dispatcher pass; it returns when to look again.
func (e *Engine) step() time.Time {
	ctx := e.ctx
	now := time.Now()
	var err error
	e.commit(func(rec recorder) {
		var r Reconciled
		if r, err = e.store.Reconcile(ctx, now, e.settings.Grace, e.policy()); err != nil {
			return
		}
		for _, x := range r.Expired {
			e.logger.Warn("acd: offer expired without an answer", "call_id", x.CallID, "agent", x.AgentID)
			rec(Event{Time: now, Type: EventRingNoAnswer, Queue: x.Queue, CallID: x.CallID, Agent: x.AgentID,
				RingMS: ms(now.Sub(x.Since)), Reason: reasonTimeout})
			e.metrics.ringNoAnswer(x.Queue)
		}
		e.changes(rec, r.Changes, now)
	})
	if err != nil {
		e.logger.Error("acd: reconcile failed", "err", err)
		return now.Add(time.Second)
	}
	snap, err := e.store.Snapshot(ctx)
	if err != nil {
		e.logger.Error("acd: snapshot failed", "err", err)
		return now.Add(time.Second)
	}
	e.last.Store(&snapshotAt{snap: snap, at: now})
	queues := e.queueMap()
	res := plan(snap, planInput{now: now, queues: queues, grace: e.settings.Grace, reachable: e.reachable, owns: e.owns})
	for _, id := range res.closed {
		if w := e.waiter(id); w != nil {
			w.close()
		}
	}
	for _, po := range res.offers {
		e.offer(po, queues[po.entry.Queue], now)
	}
	return res.next
}

// owns reports whether this node may offer the inbound call: its caller waits here.
func (e *Engine) owns(callID string) bool {
	w := e.waiter(callID)
	return w != nil && w.ctx.Err() == nil
}

func (e *Engine) waiter(callID string) *waiter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiters[callID]
}

// offerGroup is the agents one offer rings (several for ring_all).
type offerGroup struct {
	cancel context.CancelFunc // ends every ring of the group
	won    atomic.Bool        // an agent answered: the others are cancelled, not missed
	left   atomic.Int32
}

func (g *offerGroup) done() {
	if g.left.Add(-1) == 0 {
		g.cancel()
	}
}

// offer reserves po and starts ringing its agents.
func (e *Engine) offer(po planOffer, q *QueueConfig, now time.Time) {
	en := po.entry
	r := Reservation{CallID: en.CallID, OfferID: e.nextOfferID(), Queue: q.Name, Agents: po.agents,
		Deadline: now.Add(q.RingTimeout), Now: now}
	var err error
	e.commit(func(rec recorder) {
		var ch []Change
		if ch, err = e.store.Reserve(e.ctx, r); err != nil {
			return
		}
		e.changes(rec, ch, now)
		for _, agent := range r.Agents {
			rec(Event{Time: now, Type: EventRingAgent, Queue: en.Queue, CallID: en.CallID, Agent: agent,
				Callback: en.Kind == KindCallback})
		}
	})
	if err != nil {
		if !errors.Is(err, ErrConflict) {
			e.logger.Error("acd: reserve failed", "call_id", en.CallID, "err", err)
		}
		return
	}
	var (
		w    *waiter
		call Call
		src  Caller
		base = e.ctx
	)
	if en.Kind == KindInbound {
		if w = e.waiter(en.CallID); w != nil && w.queue == en.Queue {
			base, call, src = w.ctx, w.call, w.caller
		} else {
			w = nil
			gone, cancel := context.WithCancel(e.ctx)
			cancel()
			base = gone // the caller left between plan and reserve: every ring ends at once
		}
	} else if cb, ok := e.callback(en.CallID); ok {
		call = cb.Call
		call.Caller = cb.Number
	}
	ctx, cancel := context.WithDeadline(base, r.Deadline)
	stop := context.AfterFunc(e.ctx, cancel)
	g := &offerGroup{cancel: func() { stop(); cancel() }}
	g.left.Store(int32(len(r.Agents)))
	for _, agent := range r.Agents {
		pop := e.screenPop(en, call, src, agent, r.OfferID, po.req, now)
		if e.onPop != nil {
			e.onPop(pop)
		}
		o := Offer{OfferID: r.OfferID, CallID: en.CallID, Queue: en.Queue, Agent: agent,
			Callback: en.Kind == KindCallback, RingTimeout: q.RingTimeout, ScreenPop: pop}
		e.ringing(agent, +1)
		if !e.goTrack(func() { defer e.ringing(o.Agent, -1); e.ring(ctx, base, g, en, o, q, w) }) {
			e.ringing(agent, -1)
			g.done()
			e.store.Release(context.Background(), ReleaseRequest{CallID: en.CallID, OfferID: r.OfferID, AgentID: agent, Now: now})
		}
	}
}

func (e *Engine) screenPop(en Entry, call Call, src Caller, agent, offerID string, req Skills, now time.Time) ScreenPop {
	p := ScreenPop{
		Type: "offer", OfferID: offerID, Agent: agent, CallID: en.CallID, Queue: en.Queue,
		CallerNumber: call.Caller, Called: call.Called, WaitSeconds: now.Sub(en.Joined).Seconds(),
		Priority: en.Priority, Skills: req, IVRPath: call.IVRPath, Digits: call.Digits, Vars: call.Vars,
		Intent: call.Intent, Sentiment: call.Sentiment, Transcript: call.Transcript,
		Callback: en.Kind == KindCallback, OfferedAt: now,
	}
	if ts, ok := src.(TranscriptSource); ok {
		p.Transcript = ts.Transcript()
	}
	return p
}

// answered is an agent's answer handed to the waiting Enqueue.
type answered struct {
	agent string
	leg   Leg
	at    time.Time
}

// ring offers the call to one agent and acts on the result.
func (e *Engine) ring(ctx, base context.Context, g *offerGroup, en Entry, o Offer, q *QueueConfig, w *waiter) {
	defer g.done()
	bg := context.Background()
	start := time.Now()
	var (
		leg Leg
		res = OfferFailed
		err error
	)
	if ep := e.endpoint(o.Agent); ep != nil {
		leg, res, err = ep.Offer(ctx, o)
	}
	now := time.Now()
	if res == OfferAnswered && leg != nil {
		var (
			ent  Entry
			aerr error
		)
		e.commit(func(rec recorder) {
			var ch []Change
			if ent, ch, aerr = e.store.Answer(bg, en.CallID, o.OfferID, o.Agent, now); aerr != nil {
				return
			}
			if en.Kind == KindInbound {
				rec(Event{Time: now, Type: EventConnect, Queue: ent.Queue, CallID: ent.CallID, Agent: o.Agent,
					WaitMS: ms(now.Sub(ent.Joined)), RingMS: ms(now.Sub(start))})
			}
			e.changes(rec, ch, now)
		})
		if aerr != nil {
			// Too late: expired, answered by another agent, or the caller left.
			_ = leg.Hangup(bg)
			return
		}
		g.won.Store(true)
		g.cancel()
		if en.Kind == KindCallback {
			e.callbackAnswered(ent, o.Agent, leg, q, now)
			return
		}
		e.metrics.exit(ent.Queue, "answered", now.Sub(ent.Joined))
		if w == nil {
			e.finish(q, ent.CallID, o.Agent, leg, BridgeResult{End: EndCaller}, nil, now, false)
			return
		}
		w.answer <- answered{agent: o.Agent, leg: leg, at: now}
		return
	}
	if leg != nil {
		_ = leg.Hangup(bg)
	}
	result := res
	switch {
	case g.won.Load() || base.Err() != nil:
		result = OfferUnknown // cancelled: another agent answered, the caller left, shutdown
	case result != OfferRejected && result != OfferFailed && result != OfferNoAnswer:
		result = OfferFailed
		if ctx.Err() != nil {
			result = OfferNoAnswer
		}
	}
	e.commit(func(rec recorder) {
		rel, rerr := e.store.Release(bg, ReleaseRequest{CallID: en.CallID, OfferID: o.OfferID, AgentID: o.Agent,
			Result: result, Now: now, Policy: e.policy()})
		if rerr != nil {
			return // stale: the reconciler or a Leave already released it
		}
		if result != OfferUnknown {
			rec(Event{Time: now, Type: EventRingNoAnswer, Queue: en.Queue, CallID: en.CallID, Agent: o.Agent,
				RingMS: ms(now.Sub(start)), Reason: result.String(), Callback: en.Kind == KindCallback})
			e.metrics.ringNoAnswer(en.Queue)
		}
		e.changes(rec, rel.Changes, now)
	})
	if err != nil && result != OfferUnknown {
		e.logger.Info("acd: offer failed", "call_id", en.CallID, "agent", o.Agent, "result", result, "err", err)
	}
}

// finish records the end of a conversation and puts the agent in wrap-up.
func (e *Engine) finish(q *QueueConfig, callID, agent string, leg Leg, br BridgeResult, berr error, talkStart time.Time, callback bool) time.Time {
	bg := context.Background()
	now := time.Now()
	ev := Event{Time: now, Queue: q.Name, CallID: callID, Agent: agent, TalkMS: ms(now.Sub(talkStart)), Callback: callback}
	switch br.End {
	case EndTransfer:
		ev.Type, ev.To = EventTransfer, br.To
	case EndCaller:
		ev.Type = EventCompleteCaller
	default:
		ev.Type = EventCompleteAgent
		if berr != nil {
			ev.Reason = reasonBridgeFailed
			e.logger.Error("acd: bridge failed", "call_id", callID, "agent", agent, "err", berr)
		}
	}
	_ = leg.Hangup(bg)
	var err error
	e.commit(func(rec recorder) {
		rec(ev) // before the wrap-up starts: the tally pairs the talk time with it
		var ch []Change
		ch, err = e.store.Complete(bg, agent, callID, now.Add(q.WrapUp), now)
		e.changes(rec, ch, now)
	})
	if err != nil {
		e.logger.Error("acd: complete failed", "call_id", callID, "agent", agent, "err", err)
	}
	e.wake()
	return now
}

// callbackAnswered dials the customer of a callback whose offer an agent answered,
// bridges them, or schedules a retry.
func (e *Engine) callbackAnswered(en Entry, agent string, leg Leg, q *QueueConfig, answeredAt time.Time) {
	bg := context.Background()
	cb, ok := e.callback(en.CallID)
	var (
		caller Caller
		err    = ErrNoCallback
	)
	if d := e.cbDialer(); ok && d != nil {
		if q.Whisper {
			_ = leg.Whisper(e.ctx, "callback "+q.Name+" "+cb.Call.Intent)
		}
		caller, err = d.Dial(e.ctx, cb)
	}
	now := time.Now()
	if err != nil || caller == nil {
		_ = leg.Hangup(bg)
		e.commit(func(rec recorder) {
			ch, _ := e.store.Complete(bg, agent, en.CallID, now, now)
			e.changes(rec, ch, now)
		})
		cb.Attempts++
		e.logger.Info("acd: callback not reached", "callback", en.CallID, "attempt", cb.Attempts, "err", err)
		if !ok || cb.Attempts >= q.CallbackAttempts {
			e.dropCallback(cb.ID)
			e.metrics.exit(en.Queue, "callback_no_answer", -1)
			return
		}
		cb.NotBefore = now.Add(q.CallbackRetry)
		e.saveCallback(cb)
		if err := e.store.Join(bg, callbackEntry(cb, now), 0); err != nil {
			e.logger.Error("acd: requeue callback failed", "callback", cb.ID, "err", err)
		}
		return
	}
	e.record(Event{Time: now, Type: EventCallbackConnected, Queue: en.Queue, CallID: en.CallID, Agent: agent,
		WaitMS: ms(now.Sub(cb.RequestedAt)), Callback: true})
	e.dropCallback(cb.ID)
	br, berr := caller.Bridge(e.ctx, leg)
	e.finish(q, en.CallID, agent, leg, br, berr, now, true)
}

// callbackEntry is the store entry of a pending callback: it keeps the original
// arrival (the caller's place) and waits from when it was requested.
func callbackEntry(cb Callback, now time.Time) Entry {
	joined := cb.RequestedAt
	if joined.IsZero() || joined.After(now) {
		joined = now
	}
	return Entry{CallID: cb.ID, Queue: cb.Queue, Kind: KindCallback, Priority: cb.Priority, Skills: cb.Skills,
		Arrived: cb.Arrived, Joined: joined, NotBefore: cb.NotBefore, Attempts: cb.Attempts}
}

// pendingCallbacks caches callbacks this node saved, so offers do not read the
// CallbackStore; another node's callbacks are looked up there.
type pendingCallbacks struct {
	mu  sync.Mutex // leaf
	cbs map[string]Callback
}

func (e *Engine) callback(id string) (Callback, bool) {
	e.pending.mu.Lock()
	cb, ok := e.pending.cbs[id]
	e.pending.mu.Unlock()
	if ok {
		return cb, true
	}
	all, err := e.cbStore().Load(e.ctx)
	if err != nil {
		e.logger.Error("acd: load callbacks failed", "err", err)
	}
	for _, c := range all {
		if c.ID == id {
			return c, true
		}
	}
	return Callback{}, false
}

func (e *Engine) saveCallback(cb Callback) error {
	if err := e.cbStore().Save(context.Background(), cb); err != nil {
		e.logger.Error("acd: save callback failed", "callback", cb.ID, "err", err)
		return err
	}
	e.pending.mu.Lock()
	if e.pending.cbs == nil {
		e.pending.cbs = map[string]Callback{}
	}
	e.pending.cbs[cb.ID] = cb
	e.pending.mu.Unlock()
	return nil
}

func (e *Engine) dropCallback(id string) {
	if err := e.cbStore().Delete(context.Background(), id); err != nil {
		e.logger.Error("acd: delete callback failed", "callback", id, "err", err)
	}
	e.pending.mu.Lock()
	delete(e.pending.cbs, id)
	e.pending.mu.Unlock()
}
