package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/store"
)

// callbacksFile is where pending callbacks are kept in data_dir, so a restart
// still dials them.
const callbacksFile = "acd-callbacks.json"

// hangupTimeout bounds the BYE of a callback customer's call after the bridge.
const hangupTimeout = 5 * time.Second

// callbackDialer is the ACD's acd.Dialer: once an agent has answered a callback's
// offer, it calls the customer back through the configured trunk and hands the
// answered leg to the ACD, which bridges it to the agent.
type callbackDialer struct {
	sip     *sip.Server
	trunk   string
	log     *slog.Logger
	records *records // the customer leg's own call record, outbound
}

var _ acd.Dialer = callbackDialer{}

// Dial calls cb.Number through the trunk and returns the customer's leg once they
// answer; no answer, busy or a refused number is an error and the ACD retries
// after the queue's callback_retry, up to callback_attempts.
func (d callbackDialer) Dial(ctx context.Context, cb acd.Callback) (acd.Caller, error) {
	dr := sip.DialRequest{Target: cb.Number, Trunk: d.trunk, CallID: d.sip.NewCallID(), Parent: cb.Call.ID}
	log := d.log.With("call_id", dr.CallID, "parent_call_id", cb.Call.ID, "callback", cb.ID)
	log.Info("callback: dialling the customer", "number", cb.Number, "trunk", d.trunk, "queue", cb.Queue, "attempt", cb.Attempts+1)
	started := time.Now()
	rec := store.CallRecord{ID: dr.CallID, StartedAt: started, Direction: store.DirectionOutbound,
		Called: cb.Number, Trunk: d.trunk, Queue: cb.Queue}
	c, err := d.sip.Dial(ctx, dr)
	if err != nil {
		log.Info("callback: customer not reached", "err", err)
		cause := "failed"
		var ce *sip.CallError
		if errors.As(err, &ce) && ce.Reason != "" {
			cause = ce.Reason
		}
		rec.EndedAt, rec.Disposition, rec.HangupCause, rec.HangupSide = time.Now(), store.DispositionFailed, cause, store.HangupCallee
		d.records.submit(rec.ID, store.StartCall{Record: rec}, callbackEvent(rec.ID, started, cb), store.FinishCall{Record: rec})
		return nil, fmt.Errorf("callback %s: dial %s through trunk %s: %w", cb.ID, cb.Number, d.trunk, err)
	}
	log.Info("callback: customer answered")
	info := c.Info()
	rec.AnsweredAt, rec.Caller, rec.Transport, rec.Codec = time.Now(), info.Caller, info.Transport, c.Codec()
	d.records.submit(rec.ID, store.StartCall{Record: rec}, callbackEvent(rec.ID, started, cb))
	return &callbackCustomer{call: c, log: log, records: d.records, rec: rec}, nil
}

// callbackEvent is the timeline line that ties a callback's call to the call whose
// caller asked for it.
func callbackEvent(id string, at time.Time, cb acd.Callback) store.CallEvent {
	return store.CallEvent{CallID: id, At: at, Kind: store.KindQueue, Name: "callback",
		Detail: fmt.Sprintf("calling back the caller of %s for queue %s (queue entry %s, whose events name the agent), attempt %d",
			cb.Call.ID, cb.Queue, cb.ID, cb.Attempts+1)}
}

// callbackCustomer is the answered customer leg of a callback, as an acd.Caller.
// The ACD only bridges it: it never holds nor announces to a callback (the agent
// is already on the line when the customer is dialled).
type callbackCustomer struct {
	call    *sip.Call
	log     *slog.Logger
	records *records
	rec     store.CallRecord // started when the customer answered; finished by Bridge
}

var _ acd.Caller = (*callbackCustomer)(nil)

// Hold waits until ctx ends: a callback customer is never put on hold.
func (c *callbackCustomer) Hold(ctx context.Context) (byte, error) {
	select {
	case <-ctx.Done():
	case <-c.call.Done():
	}
	return 0, nil
}

// Announce says nothing: announcements are for callers waiting on the line.
func (c *callbackCustomer) Announce(context.Context, acd.Announcement) (byte, error) { return 0, nil }

// Bridge connects the customer with the agent until either hangs up, then hangs
// the customer's call up (the ACD hangs up the agent's). EndAgent when the agent
// ended it, EndCaller when the customer did or ctx ended.
func (c *callbackCustomer) Bridge(ctx context.Context, leg acd.Leg) (res acd.BridgeResult, err error) {
	defer func() {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hangupTimeout)
		defer cancel()
		_ = c.call.Hangup(hctx)
		rec := c.rec
		rec.EndedAt, rec.Disposition = time.Now(), store.DispositionResolved
		rec.HangupCause, rec.HangupSide = "customer_bye", store.HangupCallee
		if res.End == acd.EndAgent {
			rec.HangupCause, rec.HangupSide = "agent_hangup", store.HangupEngine
		}
		if err != nil {
			rec.Disposition, rec.HangupCause = store.DispositionError, "bridge_failed"
		}
		c.records.submit(rec.ID, store.FinishCall{Record: rec})
	}()
	al, ok := leg.(telephony.MediaLeg)
	if !ok {
		return acd.BridgeResult{}, fmt.Errorf("callback bridge: agent leg %T has no media", leg)
	}
	br, err := bridge.New(c.call.Media(), al.Media(), bridge.WithLogger(c.log))
	if err != nil {
		return acd.BridgeResult{}, fmt.Errorf("callback bridge: %w", err)
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	agentEnded := make(chan struct{})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-al.Done():
			close(agentEnded)
			cancel()
		case <-c.call.Done():
			cancel()
		case <-stop:
		}
	}()
	c.log.Info("callback: bridged", "codec_rate_customer", c.call.Media().SampleRate(), "codec_rate_agent", al.Media().SampleRate())
	err = br.Run(bctx)
	var ce *bridge.ClosedError
	switch {
	case ctx.Err() != nil:
		return acd.BridgeResult{End: acd.EndCaller}, nil
	case chanClosed(agentEnded) || (errors.As(err, &ce) && ce.Side == bridge.SideB):
		return acd.BridgeResult{End: acd.EndAgent}, nil
	case err == nil || errors.As(err, &ce) || chanClosed(c.call.Done()):
		return acd.BridgeResult{End: acd.EndCaller}, nil
	}
	return acd.BridgeResult{End: acd.EndCaller}, fmt.Errorf("callback bridge: %w", err)
}

func chanClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// enableCallbacks turns the queues' callback offers on when acd.callback_trunk
// names a trunk: pending callbacks are kept in data_dir (and those a previous run
// left are queued again), and the customers are dialled through the trunk. Without
// it no callback is offered (the ACD has no dialer), as a number cannot be called
// without a trunk.
func (e *engine) enableCallbacks() error {
	trunk := e.cfg.ACD.CallbackTrunk
	if trunk == "" {
		return nil
	}
	if _, ok := e.sip.Trunk(trunk); !ok {
		return fmt.Errorf("acd.callback_trunk: trunk %q is not in sip.trunks", trunk)
	}
	if err := os.MkdirAll(e.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("acd callbacks: %w", err)
	}
	store, err := acd.OpenFileCallbacks(filepath.Join(e.cfg.DataDir, callbacksFile))
	if err != nil {
		return fmt.Errorf("acd callbacks: %w", err)
	}
	if err := e.people.acd.EnableCallbacks(store, callbackDialer{sip: e.sip, trunk: trunk, log: e.log, records: e.records}); err != nil {
		return fmt.Errorf("acd callbacks: %w", err)
	}
	e.log.Info("acd: callbacks on", "trunk", trunk, "file", filepath.Join(e.cfg.DataDir, callbacksFile))
	return nil
}

// hasTrunk reports whether trunks configures one named name.
func hasTrunk(trunks []sip.TrunkConfig, name string) bool {
	for _, t := range trunks {
		if t.Name == name {
			return true
		}
	}
	return false
}
