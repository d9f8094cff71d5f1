package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/sip"
)

// referrer is a call leg that can be sent elsewhere with a SIP REFER: *sip.Call.
type referrer interface {
	Refer(ctx context.Context, target string) error
}

// bridger places the second leg of a bridged transfer and connects the two; nil
// until the engine has a media bridge wired (then bridge transfers take the node's
// error outcome, saying so).
type bridger interface {
	BridgeTransfer(ctx context.Context, ch ivr.Channel, req ivr.TransferRequest) (flows.Outcome, error)
}

// transferer carries out the flows' transfer nodes: blind transfers with REFER on
// the caller's own SIP dialog, bridge transfers through bridge.
type transferer struct {
	bridge bridger
}

var _ ivr.Transferer = (*transferer)(nil)

// Transfer sends ch to req.To.
func (t *transferer) Transfer(ctx context.Context, ch ivr.Channel, req ivr.TransferRequest) (flows.Outcome, error) {
	switch req.Mode {
	case flows.TransferBridge:
		if t.bridge == nil {
			return "", fmt.Errorf("bridge transfer to %s: %w", req.To, ivr.ErrNotConfigured)
		}
		return t.bridge.BridgeTransfer(ctx, ch, req)
	case flows.TransferBlind, "":
	default:
		return "", fmt.Errorf("transfer mode %q: unknown", req.Mode)
	}
	r, ok := ch.(referrer)
	if !ok {
		return "", fmt.Errorf("blind transfer to %s: this call's channel (%T) cannot be referred", req.To, ch)
	}
	err := r.Refer(ctx, req.To)
	switch {
	case err == nil:
		return flows.OutcomeOK, nil
	case errors.Is(err, sip.ErrBusy):
		return flows.OutcomeBusy, nil
	case errors.Is(err, sip.ErrNoAnswer):
		return flows.OutcomeNoAnswer, nil
	case errors.Is(err, sip.ErrReferRefused), errors.Is(err, sip.ErrRejected):
		return flows.OutcomeFailed, nil
	}
	return "", fmt.Errorf("blind transfer to %s: %w", req.To, err)
}
