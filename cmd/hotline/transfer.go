package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
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

// dialer places the second leg of a bridged transfer: *sip.Server.
type dialer interface {
	Dial(ctx context.Context, r sip.DialRequest) (*sip.Call, error)
}

// sipBridge carries out bridge transfers: it calls the target (through the node's
// trunk, or a SIP URI directly) while the caller hears ringback from the flow's side,
// then joins the two legs' audio (transcoding between their codecs) and digits until
// either hangs up.
type sipBridge struct {
	sip dialer
	log *slog.Logger
}

var _ bridger = (*sipBridge)(nil)

// callerIDPolicy maps the flow's caller-ID policy to the SIP layer's.
func callerIDPolicy(p string) sip.CallerIDPolicy {
	switch p {
	case flows.CallerIDFixed:
		return sip.CallerIDFixed
	case flows.CallerIDWithheld:
		return sip.CallerIDWithheld
	case flows.CallerIDPass:
		return sip.CallerIDPass
	}
	return sip.CallerIDUnknown
}

// BridgeTransfer dials req.To and bridges ch to it; OutcomeOK once the bridged call
// ended with the caller still on the line.
func (b *sipBridge) BridgeTransfer(ctx context.Context, ch ivr.Channel, req ivr.TransferRequest) (flows.Outcome, error) {
	ml, ok := ch.(interface{ Media() *media.Session })
	if !ok {
		return "", fmt.Errorf("bridge transfer to %s: this call's channel (%T) has no media session to bridge", req.To, ch)
	}
	// Dial rings for req.Timeout (its own CANCEL and ErrNoAnswer); ctx ends it when
	// the caller hangs up.
	callee, err := b.sip.Dial(ctx, sip.DialRequest{Target: req.To, Trunk: req.Trunk, Timeout: req.Timeout,
		CallerID: sip.CallerID{Policy: callerIDPolicy(req.CallerIDPolicy), Number: req.CallerID}, Parent: req.CallID})
	switch {
	case err == nil:
	case errors.Is(err, sip.ErrBusy):
		return flows.OutcomeBusy, nil
	case errors.Is(err, sip.ErrNoAnswer):
		return flows.OutcomeNoAnswer, nil
	case ctx.Err() != nil:
		return "", ctx.Err() // the caller hung up while the target rang
	default:
		b.log.Info("bridge transfer failed", "call_id", req.CallID, "to", req.To, "error", err)
		return flows.OutcomeFailed, nil
	}
	defer func() { _ = callee.Hangup(context.WithoutCancel(ctx)) }()
	// Each leg takes the other's keys the way its own peer negotiated: RFC 4733, SIP
	// INFO (an old carrier without telephone-event), or tones.
	log := b.log.With("call_id", req.CallID, "callee_call_id", callee.ID())
	info, _ := ch.(bridge.InfoSender) // *sip.Call; a WebRTC leg has no INFO
	caller := bridge.NewDigitLeg(ml.Media(), info, log.With("leg", "caller"))
	target := bridge.NewDigitLeg(callee.Media(), callee, log.With("leg", "target"))
	br, err := bridge.New(caller, target, bridge.WithDTMF(media.DTMFAuto), bridge.WithLogger(log))
	if err != nil {
		return "", fmt.Errorf("bridge transfer to %s: %w", req.To, err)
	}
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-callee.Done(): // the target hung up: the caller goes back to the flow
			stop()
		case <-bctx.Done():
		}
	}()
	err = br.Run(bctx)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	var closed *bridge.ClosedError
	if err != nil && !errors.As(err, &closed) {
		return "", fmt.Errorf("bridge transfer to %s: %w", req.To, err)
	}
	return flows.OutcomeOK, nil
}
