package acd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// answerHandoff bounds how long a caller leaving the queue waits for the answer of
// an agent who took the call at the same moment (Leave found the entry gone). The
// answering goroutine hands it over right after Answer, so this is a safety net.
const answerHandoff = 10 * time.Second

// waiter is one stay of an inbound call in one queue, registered while it lasts so
// the dispatcher can offer the call (owns) and hand over the answer.
type waiter struct {
	ctx    context.Context // the caller's: ends when they hang up
	call   Call
	caller Caller
	queue  string
	joined time.Time
	answer chan answered // capacity 1: the one successful Answer of this stay
	closed chan struct{} // closed when the queue is empty (leave_when_empty)
	once   sync.Once
	cbReq  chan struct{} // RequestCallback, shared by the call's stays
}

func (w *waiter) close() { w.once.Do(func() { close(w.closed) }) }

// Enqueue queues a call and blocks until it leaves the queue, driving caller: hold
// music, announcements, and the bridge with the agent who answers. It returns:
//
//   - completed: an agent answered and the conversation ended (the agent hung up,
//     or transferred outside this engine's queues); the caller is back in the flow.
//   - full: the queue held max_size calls. closed: no agent could serve it
//     (join_when_empty false, or leave_when_empty while waiting).
//   - timeout: the flow's Timeout or the queue's max_wait passed without overflow.
//   - callback: the caller took a callback (pressed the key, or max_wait with
//     callback_on_timeout); they keep their place and are dialled back.
//   - error: the request was invalid (ErrInvalid, ErrUnknownQueue), a component
//     failed, or the engine closed (ErrClosed).
//   - abandoned, with ctx's error: the caller hung up before an agent answered;
//     ABANDON or SHORTABANDON is recorded and the agents ringing are freed. A caller
//     who hangs up after an agent answered gets completed with ctx's error.
//
// Overflow and transfers to another queue happen inside Enqueue: the caller keeps
// listening to hold music and keeps their original arrival time for ordering. A
// transfer to another agent or a number is connected by a Caller that implements
// TransferCaller (the talk with the target is not an ACD conversation); if the
// target does not answer the caller is queued again where they were.
func (e *Engine) Enqueue(ctx context.Context, call Call, req Request, caller Caller) (EnqueueResult, error) {
	res := EnqueueResult{Queue: req.Queue}
	if err := validateRequest(call, req, caller); err != nil {
		res.Outcome = OutcomeError
		return res, err
	}
	if req.CallbackKey == 0 {
		req.CallbackKey = DefaultCallbackKey
	}
	e.mu.Lock()
	closed, dup := e.closed, e.waiters[call.ID] != nil
	e.mu.Unlock()
	switch {
	case closed:
		res.Outcome = OutcomeError
		return res, ErrClosed
	case dup:
		res.Outcome = OutcomeError
		return res, fmt.Errorf("%w: call %q is already queued", ErrInvalid, call.ID)
	}
	c := &queuedCall{e: e, ctx: ctx, call: call, req: req, caller: caller, arrived: time.Now(), cbReq: make(chan struct{}, 1)}
	defer c.done()
	queue := req.Queue
	for hops := 0; ; hops++ {
		q, ok := e.queue(queue)
		if !ok {
			res.Outcome = OutcomeError
			return res, fmt.Errorf("%w %q", ErrUnknownQueue, queue)
		}
		next, out, err := c.stay(q, hops, &res)
		if next == "" {
			res.Outcome = out
			res.Wait = c.waited
			return res, err
		}
		queue = next
	}
}

func validateRequest(call Call, req Request, caller Caller) error {
	var problems []string
	if call.ID == "" {
		problems = append(problems, "call id is empty")
	}
	if caller == nil {
		problems = append(problems, "no Caller")
	}
	if req.Queue == "" {
		problems = append(problems, "no queue")
	}
	if req.Priority < 0 || req.Priority > MaxPriority {
		problems = append(problems, fmt.Sprintf("priority %d is outside 0 to %d", req.Priority, MaxPriority))
	}
	if err := req.Skills.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if req.Timeout < 0 || req.CallbackAfter < 0 {
		problems = append(problems, "negative timeout")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// queuedCall is one Enqueue call's state across its stays.
type queuedCall struct {
	e       *Engine
	ctx     context.Context
	call    Call
	req     Request
	caller  Caller
	arrived time.Time
	waited  time.Duration // over every stay, until answered or gone
	cbReq   chan struct{}
	media   *media
}

// done stops the call's hold music.
func (c *queuedCall) done() { c.stopMedia() }

func (c *queuedCall) stopMedia() {
	if c.media != nil {
		c.media.stop()
		c.media = nil
	}
}

// callbackOffered reports whether the request allows a callback at all.
func (c *queuedCall) callbackOffered() bool { return c.req.Callback && c.e.cbDialer() != nil }

// callbackAllowed reports whether the caller may take a callback now.
func (c *queuedCall) callbackAllowed(now time.Time) bool {
	return c.callbackOffered() && now.Sub(c.arrived) >= c.req.CallbackAfter
}

// stay waits in queue q. It returns the next queue (overflow, transfer) or "" and
// the outcome.
func (c *queuedCall) stay(q *QueueConfig, hops int, res *EnqueueResult) (string, Outcome, error) {
	e, ctx := c.e, c.ctx
	res.Queue = q.Name
	snap, err := e.view(ctx)
	if err != nil {
		return "", OutcomeError, err
	}
	if !q.JoinWhenEmpty && queueEmpty(q, c.req.Skills, snap.Agents) {
		e.metrics.exit(q.Name, "closed", -1)
		return "", OutcomeClosed, nil
	}
	now := time.Now()
	en := Entry{CallID: c.call.ID, Queue: q.Name, Kind: KindInbound, Priority: c.req.Priority,
		Skills: c.req.Skills, Arrived: c.arrived, Joined: now, Node: e.node}
	e.commit(func(rec recorder) {
		if err = e.store.Join(ctx, en, q.MaxSize); err != nil {
			return
		}
		view := viewFor(snap, map[string]*QueueConfig{q.Name: q}, en, now, e.reachable)
		rec(Event{Time: now, Type: EventEnterQueue, Queue: q.Name, CallID: en.CallID,
			Position: view.position, Priority: en.Priority})
	})
	switch {
	case errors.Is(err, ErrFull):
		e.metrics.exit(q.Name, "full", -1)
		return "", OutcomeFull, nil
	case err != nil:
		return "", OutcomeError, err
	}
	// Registered only now: the dispatcher does not offer a call it does not own, so
	// no RINGAGENT can precede the ENTERQUEUE.
	w := &waiter{ctx: ctx, call: c.call, caller: c.caller, queue: q.Name, joined: now,
		answer: make(chan answered, 1), closed: make(chan struct{}), cbReq: c.cbReq}
	e.mu.Lock()
	e.waiters[c.call.ID] = w
	e.mu.Unlock()
	defer func() { // the next stay (overflow, transfer) registers a waiter of its own
		e.mu.Lock()
		if e.waiters[c.call.ID] == w {
			delete(e.waiters, c.call.ID)
		}
		e.mu.Unlock()
	}()
	e.wake()
	if c.media == nil {
		c.media = startMedia(ctx, c.caller, e.logger)
	}

	var maxWait, flowTimeout, announce <-chan time.Time
	if q.MaxWait > 0 {
		t := time.NewTimer(q.MaxWait)
		defer t.Stop()
		maxWait = t.C
	}
	if c.req.Timeout > 0 {
		t := time.NewTimer(time.Until(c.arrived.Add(c.req.Timeout)))
		defer t.Stop()
		flowTimeout = t.C
	}
	var annTimer *time.Timer
	if c.req.AnnouncePosition || c.req.AnnounceWait || c.callbackOffered() {
		annTimer = time.NewTimer(q.AnnounceFirst)
		defer annTimer.Stop()
		announce = annTimer.C
	}
	for {
		select {
		case <-ctx.Done():
			return c.abandon(w, q, res)
		case a := <-w.answer:
			return c.connect(w, q, a, res)
		case <-w.closed:
			return c.exit(w, q, res, func(en Entry, now time.Time, rec recorder) (string, Outcome, error) {
				rec(Event{Time: now, Type: EventOverflow, Queue: q.Name, CallID: en.CallID,
					WaitMS: ms(now.Sub(en.Joined)), Reason: reasonClosed})
				e.metrics.exit(q.Name, "closed", now.Sub(en.Joined))
				return "", OutcomeClosed, nil
			})
		case <-maxWait:
			return c.exit(w, q, res, func(en Entry, now time.Time, rec recorder) (string, Outcome, error) {
				return c.maxWait(q, en, now, hops, rec, res)
			})
		case <-flowTimeout:
			return c.exit(w, q, res, func(en Entry, now time.Time, rec recorder) (string, Outcome, error) {
				rec(Event{Time: now, Type: EventExitTimeout, Queue: q.Name, CallID: en.CallID, WaitMS: ms(now.Sub(en.Joined))})
				e.metrics.exit(q.Name, "timed_out", now.Sub(en.Joined))
				return "", OutcomeTimeout, nil
			})
		case <-announce:
			c.announce(q, en)
			annTimer.Reset(q.AnnounceEvery)
		case key := <-c.media.keys:
			if key != c.req.CallbackKey || !c.callbackAllowed(time.Now()) {
				continue
			}
			if next, out, ok, err := c.takeCallback(w, q, res); ok {
				return next, out, err
			}
		case <-c.cbReq:
			if !c.callbackAllowed(time.Now()) {
				continue
			}
			if next, out, ok, err := c.takeCallback(w, q, res); ok {
				return next, out, err
			}
		case <-e.ctx.Done():
			return c.exit(w, q, res, func(en Entry, now time.Time, rec recorder) (string, Outcome, error) {
				rec(Event{Time: now, Type: EventExitTimeout, Queue: q.Name, CallID: en.CallID,
					WaitMS: ms(now.Sub(en.Joined)), Reason: reasonShutdown})
				e.metrics.exit(q.Name, "error", now.Sub(en.Joined))
				return "", OutcomeError, ErrClosed
			})
		}
	}
}

// leave takes the call out of the store and, in the same commit, lets then record
// how it left. When an agent answered at the same moment (the entry is gone) it
// returns that answer instead.
func (c *queuedCall) leave(w *waiter, then func(en Entry, now time.Time, rec recorder)) (Entry, *answered, error) {
	var (
		en  Entry
		err error
	)
	c.e.commit(func(rec recorder) {
		now := time.Now()
		var ch []Change
		if en, ch, err = c.e.store.Leave(context.Background(), c.call.ID, now); err != nil {
			return
		}
		c.e.changes(rec, ch, now)
		c.waited += now.Sub(en.Joined)
		then(en, now, rec)
	})
	if err == nil {
		return en, nil, nil
	}
	if errors.Is(err, ErrNotFound) {
		t := time.NewTimer(answerHandoff)
		defer t.Stop()
		select {
		case a := <-w.answer:
			return Entry{}, &a, nil
		case <-t.C:
		}
	}
	return Entry{}, nil, fmt.Errorf("acd: leave queue: %w", err)
}

// exit leaves the queue the way then records, unless an agent answered first: then
// the call is connected (better than timing out on an agent who picked up).
func (c *queuedCall) exit(w *waiter, q *QueueConfig, res *EnqueueResult, then func(Entry, time.Time, recorder) (string, Outcome, error)) (string, Outcome, error) {
	var (
		next string
		out  Outcome
		terr error
	)
	_, a, err := c.leave(w, func(en Entry, now time.Time, rec recorder) { next, out, terr = then(en, now, rec) })
	switch {
	case a != nil:
		return c.connect(w, q, *a, res)
	case err != nil:
		return "", OutcomeError, err
	}
	return next, out, terr
}

// abandon records a caller who hung up while waiting (or ringing an agent).
func (c *queuedCall) abandon(w *waiter, q *QueueConfig, res *EnqueueResult) (string, Outcome, error) {
	e := c.e
	var (
		label string
		wait  time.Duration
	)
	_, a, err := c.leave(w, func(en Entry, now time.Time, rec recorder) {
		wait = now.Sub(en.Joined)
		ev := Event{Time: now, Type: EventAbandon, Queue: q.Name, CallID: en.CallID, WaitMS: ms(wait)}
		label = "abandoned"
		if wait <= q.ShortAbandon { // "within T_short": the bound included
			ev.Type, label = EventShortAbandon, "short_abandoned"
		}
		rec(ev)
	})
	if a != nil {
		// The agent answered as the caller hung up: the conversation is empty.
		c.stopMedia()
		end := e.finish(q, c.call.ID, a.agent, a.leg, BridgeResult{End: EndCaller}, nil, a.at, false)
		res.Agent, res.End, res.Talk = a.agent, EndCaller, end.Sub(a.at)
		return "", OutcomeCompleted, c.ctx.Err()
	}
	if err != nil {
		return "", OutcomeAbandoned, errors.Join(c.ctx.Err(), err)
	}
	e.metrics.exit(q.Name, label, wait)
	return "", OutcomeAbandoned, c.ctx.Err()
}

// connect whispers to the agent, bridges, and records the conversation's end.
func (c *queuedCall) connect(w *waiter, q *QueueConfig, a answered, res *EnqueueResult) (string, Outcome, error) {
	e, ctx := c.e, c.ctx
	c.waited += a.at.Sub(w.joined)
	if q.Whisper && ctx.Err() == nil {
		text := q.Name
		if c.call.Intent != "" {
			text += ", " + c.call.Intent
		}
		if err := a.leg.Whisper(ctx, text); err != nil {
			e.logger.Info("acd: whisper failed", "call_id", c.call.ID, "agent", a.agent, "err", err)
		}
	}
	c.stopMedia() // hold plays until the bridge: the caller never hears silence
	br, berr := c.caller.Bridge(ctx, a.leg)
	if br.End == EndUnknown && ctx.Err() != nil {
		br.End = EndCaller
	}
	end := e.finish(q, c.call.ID, a.agent, a.leg, br, berr, a.at, false)
	res.Agent, res.End, res.Talk = a.agent, br.End, end.Sub(a.at)
	if br.End == EndTransfer && ctx.Err() == nil {
		if _, ok := e.queue(br.To); ok {
			return br.To, OutcomeUnknown, nil
		}
		res.TransferTo = br.To
		if tc, ok := c.caller.(TransferCaller); ok {
			_, terr := tc.ConnectTransfer(ctx, br.To)
			switch {
			case ctx.Err() != nil:
				return "", OutcomeCompleted, ctx.Err()
			case errors.Is(terr, ErrTransferFailed):
				// Nobody took the caller: back to the queue they came from.
				e.logger.Info("acd: transfer target not reached; queued again", "call_id", c.call.ID,
					"to", br.To, "queue", q.Name, "err", terr)
				res.TransferTo, res.Agent, res.End, res.Talk = "", "", EndUnknown, 0
				return q.Name, OutcomeUnknown, nil
			case terr != nil:
				return "", OutcomeError, fmt.Errorf("acd: transfer to %s: %w", br.To, terr)
			}
			return "", OutcomeCompleted, nil // res.End stays EndTransfer: how the agent left
		}
	}
	switch {
	case ctx.Err() != nil:
		return "", OutcomeCompleted, ctx.Err()
	case berr != nil && br.End != EndAgent && br.End != EndTransfer:
		return "", OutcomeError, fmt.Errorf("acd: bridge: %w", berr)
	}
	return "", OutcomeCompleted, nil
}

// maxWait applies the queue's max_wait: overflow, callback, or timeout. It runs in
// the commit that took the call out of the queue.
func (c *queuedCall) maxWait(q *QueueConfig, en Entry, now time.Time, hops int, rec recorder, res *EnqueueResult) (string, Outcome, error) {
	e := c.e
	wait := now.Sub(en.Joined)
	if _, ok := e.queue(q.Overflow); ok && hops < maxOverflowHops {
		rec(Event{Time: now, Type: EventOverflow, Queue: q.Name, CallID: en.CallID, WaitMS: ms(wait),
			To: q.Overflow, Reason: reasonTimeout})
		e.metrics.exit(q.Name, "overflowed", wait)
		return q.Overflow, OutcomeUnknown, nil
	}
	if q.CallbackOnTimeout && c.callbackOffered() {
		if cb := c.newCallback(q, now); e.saveCallback(cb) == nil {
			return "", c.joinCallback(q, en, cb, reasonTimeout, now, rec, res), nil
		}
	}
	rec(Event{Time: now, Type: EventExitTimeout, Queue: q.Name, CallID: en.CallID, WaitMS: ms(wait)})
	e.metrics.exit(q.Name, "timed_out", wait)
	return "", OutcomeTimeout, nil
}

// takeCallback turns the waiting call into a callback that keeps its place. ok is
// false when the callback could not be saved: the caller keeps waiting.
func (c *queuedCall) takeCallback(w *waiter, q *QueueConfig, res *EnqueueResult) (string, Outcome, bool, error) {
	cb := c.newCallback(q, time.Now())
	if c.e.saveCallback(cb) != nil {
		return "", OutcomeUnknown, false, nil
	}
	next, out, err := c.exit(w, q, res, func(en Entry, now time.Time, rec recorder) (string, Outcome, error) {
		return "", c.joinCallback(q, en, cb, "", now, rec, res), nil
	})
	if out != OutcomeCallback {
		c.e.dropCallback(cb.ID) // an agent answered first, or leaving failed
	}
	return next, out, true, err
}

func (c *queuedCall) newCallback(q *QueueConfig, now time.Time) Callback {
	number := c.req.CallbackNumber
	if number == "" {
		number = c.call.Caller
	}
	return Callback{ID: "cb-" + c.call.ID, Queue: q.Name, Number: number, Priority: c.req.Priority,
		Skills: c.req.Skills.Clone(), Arrived: c.arrived, RequestedAt: now, Call: c.call}
}

// joinCallback queues a saved callback in the caller's place and records
// CALLBACKREQUESTED, inside the commit that took the call out of the queue.
func (c *queuedCall) joinCallback(q *QueueConfig, en Entry, cb Callback, reason string, now time.Time, rec recorder, res *EnqueueResult) Outcome {
	e := c.e
	if err := e.store.Join(context.Background(), callbackEntry(cb, now), 0); err != nil {
		e.logger.Error("acd: queue callback failed", "callback", cb.ID, "err", err)
	}
	wait := now.Sub(en.Joined)
	rec(Event{Time: now, Type: EventCallbackRequested, Queue: q.Name, CallID: en.CallID, WaitMS: ms(wait),
		To: cb.ID, Reason: reason})
	e.metrics.exit(q.Name, "callback", wait)
	e.wake()
	res.CallbackID = cb.ID
	return OutcomeCallback
}

// announce plays the caller's position and estimated wait, and the callback offer.
func (c *queuedCall) announce(q *QueueConfig, en Entry) {
	e := c.e
	snap, err := e.view(c.ctx)
	if err != nil {
		return
	}
	now := time.Now()
	for _, o := range snap.Entries {
		if o.CallID == en.CallID && o.State == EntryOffered {
			return // an agent is ringing: about to connect
		}
	}
	v := viewFor(snap, map[string]*QueueConfig{q.Name: q}, en, now, e.reachable)
	a := Announcement{Queue: q.Name, OfferCallback: c.callbackAllowed(now), CallbackKey: c.req.CallbackKey}
	if c.req.AnnouncePosition {
		a.Position = v.position
	}
	if c.req.AnnounceWait {
		a.Wait, a.WaitKnown = EstimateWait(v.position, v.staffed, v.idle, e.tally.SmoothedAHT(q.Name))
		if a.WaitKnown {
			a.Wait += e.tally.SmoothedRing(q.Name)
		}
	}
	if a.Position > 0 || a.WaitKnown || a.OfferCallback {
		c.media.announce(a)
	}
}

// RequestCallback asks for a callback for a waiting call, as its callback key would
// (from the API, or a web page the caller uses). The request must allow callbacks.
func (e *Engine) RequestCallback(callID string) error {
	w := e.waiter(callID)
	if w == nil {
		return fmt.Errorf("call %q: %w", callID, ErrNotFound)
	}
	select {
	case w.cbReq <- struct{}{}:
	default:
	}
	return nil
}
