package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/store"
)

// originator places the API's outbound calls (reminders, care calls): it dials the
// number through a trunk or a SIP URI and, once answered, runs the named flow with
// the request's variables preset.
type originator struct{ e *engine }

var _ api.Originator = originator{}

// originatedCall is an answered outbound call whose flow starts with variables set
// (ivr.Presetter); every other method is the SIP call's.
type originatedCall struct {
	*sip.Call
	presets map[string]string
}

// Presets are the request's variables.
func (c originatedCall) Presets() map[string]string { return c.presets }

// Originate checks the request and starts dialling; the call's record tells how it
// went.
func (o originator) Originate(_ context.Context, req api.OriginateRequest) (string, error) {
	e := o.e
	switch {
	case req.To == "":
		return "", fmt.Errorf("%w: to is required", api.ErrInvalid)
	case req.Flow == "" || e.flows.get(req.Flow) == nil:
		return "", fmt.Errorf("%w: flow %q is not loaded", api.ErrInvalid, req.Flow)
	case req.Trunk != "":
		if _, ok := e.sip.Trunk(req.Trunk); !ok {
			return "", fmt.Errorf("%w: trunk %q is not configured", api.ErrInvalid, req.Trunk)
		}
	}
	if err := e.board.Ready(context.Background()); err != nil {
		return "", fmt.Errorf("%w: %w", api.ErrUnavailable, err)
	}
	dr := sip.DialRequest{Target: req.To, Trunk: req.Trunk, Timeout: time.Duration(req.RingTimeout), CallID: e.sip.NewCallID()}
	if req.From != "" {
		dr.CallerID = sip.CallerID{Policy: sip.CallerIDFixed, Number: req.From}
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.originate(dr, req)
	}()
	return dr.CallID, nil
}

// originate dials and runs the flow; a call that is never answered still gets its
// record, with the reason.
func (e *engine) originate(dr sip.DialRequest, req api.OriginateRequest) {
	started := time.Now()
	log := e.log.With("call_id", dr.CallID)
	log.Info("originating", "to", req.To, "trunk", req.Trunk, "flow", req.Flow)
	c, err := e.sip.Dial(context.Background(), dr)
	if err != nil {
		cause := "failed"
		var ce *sip.CallError
		if errors.As(err, &ce) && ce.Reason != "" {
			cause = ce.Reason
		}
		log.Info("originated call not answered", "error", err)
		rec := store.CallRecord{ID: dr.CallID, StartedAt: started, EndedAt: time.Now(), Direction: store.DirectionOutbound,
			Caller: req.From, Called: req.To, Trunk: req.Trunk, Flow: req.Flow, Disposition: store.DispositionFailed,
			HangupCause: cause, HangupSide: store.HangupCallee}
		e.records.submit(rec.ID, store.StartCall{Record: rec}, store.FinishCall{Record: rec})
		return
	}
	info := c.Info()
	e.runCall(c.Context(), originatedCall{Call: c, presets: req.Vars}, arrival{id: info.CallID, caller: info.Caller,
		called: info.Called, trunk: info.Trunk, transport: info.Transport, source: info.Source.String(),
		flow: req.Flow, outbound: true, started: started,
		reject: func(ctx context.Context, _ string) error { return c.Hangup(ctx) }})
}
