package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/api"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/sip"
)

// transferRingTimeout bounds the ring of an agent transfer's target.
const transferRingTimeout = 30 * time.Second

// transferQueue names the transfers in the target agent's screen-pop and on their
// phone's display (X-Hotline-Queue).
const transferQueue = "transfer"

// enableAgentTransfers lets agents transfer their callers (Queue.Transfer, the
// API, a REFER from their phone, the softphone's transfer button) to other agents
// and numbers, once the SIP server exists. Queues need nothing: the ACD queues the
// caller there.
func (e *engine) enableAgentTransfers() {
	p := e.people
	p.queue.SetTransferDialer(&agentTransferDialer{e: e})
	if p.agents != nil {
		p.agents.SetReferHandler(p.queue.Refer)
	}
}

// agentTransferDialer rings a transfer target: an agent (by id or extension) on
// every way they are reachable, as an offer would; anything else is a number,
// dialled through acd.callback_trunk (its allow list applies).
type agentTransferDialer struct {
	e *engine
	n atomic.Uint64
}

var _ telephony.TransferDialer = (*agentTransferDialer)(nil)

// DialTransfer implements telephony.TransferDialer.
func (d *agentTransferDialer) DialTransfer(ctx context.Context, callID, to string) (telephony.MediaLeg, error) {
	e := d.e
	p := e.people
	log := e.log.With("call_id", callID, "transfer_to", to)
	var callerNumber string
	if c, err := e.board.ActiveCall(ctx, callID); err == nil {
		callerNumber = c.Caller
	}
	agents, err := p.acd.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("transfer to %s: agents: %w", to, err)
	}
	for _, a := range agents {
		if a.ID != to && (a.Extension == "" || a.Extension != to) {
			continue
		}
		if a.Activity == acd.ActivityOnCall || a.Activity == acd.ActivityRinging {
			return nil, fmt.Errorf("transfer to agent %s: they are %s", a.ID, a.Activity)
		}
		ep := p.endpoints.Endpoint(a.ID)
		if ep == nil {
			return nil, fmt.Errorf("transfer to agent %s: no registered phone or softphone", a.ID)
		}
		now := time.Now()
		offerID := fmt.Sprintf("xfer-%s-%d", callID, d.n.Add(1))
		o := acd.Offer{OfferID: offerID, CallID: callID, Queue: transferQueue, Agent: a.ID, RingTimeout: transferRingTimeout,
			ScreenPop: acd.ScreenPop{Type: "offer", OfferID: offerID, Agent: a.ID, CallID: callID, Queue: transferQueue,
				CallerNumber: callerNumber, OfferedAt: now}}
		rctx, cancel := context.WithTimeout(ctx, transferRingTimeout)
		defer cancel()
		// The ACD offers them no queue call while this one rings and lasts.
		release := p.acd.Engage(a.ID)
		log.Info("agent transfer: ringing the agent", "agent", a.ID)
		leg, res, err := ep.Offer(rctx, o)
		if err != nil || res != acd.OfferAnswered {
			if leg != nil {
				_ = leg.Hangup(context.WithoutCancel(ctx))
			}
			release()
			return nil, fmt.Errorf("transfer to agent %s: %s: %w", a.ID, res, errors.Join(err, errors.New("not answered")))
		}
		ml, ok := leg.(telephony.MediaLeg)
		if !ok {
			_ = leg.Hangup(context.WithoutCancel(ctx))
			release()
			return nil, fmt.Errorf("transfer to agent %s: their leg %T has no media", a.ID, leg)
		}
		go func() {
			<-ml.Done()
			release()
		}()
		log.Info("agent transfer: the agent answered", "agent", a.ID)
		return ml, nil
	}
	trunk := e.cfg.ACD.CallbackTrunk
	if trunk == "" {
		return nil, fmt.Errorf("transfer to %s: no agent has that id or extension, and no trunk dials numbers (acd.callback_trunk)", to)
	}
	log.Info("agent transfer: dialling the number", "trunk", trunk)
	call, err := e.sip.Dial(ctx, sip.DialRequest{Target: to, Trunk: trunk, Timeout: transferRingTimeout,
		CallerID: sip.CallerID{Policy: sip.CallerIDPass, Number: callerNumber}, Parent: callID})
	if err != nil {
		return nil, fmt.Errorf("transfer to %s via %s: %w", to, trunk, err)
	}
	log.Info("agent transfer: the number answered", "target_call_id", call.ID())
	return &numberLeg{call: call}, nil
}

// numberLeg is a transfer target reached through a trunk.
type numberLeg struct {
	call *sip.Call
	once sync.Once
	err  error
}

func (l *numberLeg) Whisper(context.Context, string) error { return nil }
func (l *numberLeg) Media() bridge.Session                 { return l.call.Media() }
func (l *numberLeg) Done() <-chan struct{}                 { return l.call.Done() }

// Call is the SIP call, so keys forwarded to it can take SIP INFO.
func (l *numberLeg) Call() *sip.Call { return l.call }

// Hangup ends the call once.
func (l *numberLeg) Hangup(ctx context.Context) error {
	l.once.Do(func() {
		if err := l.call.Hangup(ctx); err != nil && !errors.Is(err, sip.ErrCallEnded) {
			l.err = err
		}
	})
	return l.err
}

// Transfer implements api.CallTransferer.
func (m monitorCalls) Transfer(ctx context.Context, id string, req api.TransferRequest) (api.TransferStarted, error) {
	if _, err := m.ActiveCall(ctx, id); err != nil {
		return api.TransferStarted{}, err
	}
	mode, err := telephony.ParseTransferMode(req.Mode)
	if err != nil {
		return api.TransferStarted{}, fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	to := strings.TrimSpace(req.To)
	q := m.e.people.queue
	if _, err := m.e.people.acd.Status(ctx, to); err == nil && mode == telephony.TransferAttended {
		return api.TransferStarted{}, fmt.Errorf("%w: an attended transfer needs a person (an agent or a number), not queue %s", api.ErrInvalid, to)
	}
	if err := q.Transfer(ctx, id, to, mode); err != nil {
		return api.TransferStarted{}, transferError(err)
	}
	m.e.log.Info("agent transfer requested", "call_id", id, "transfer_to", to, "mode", mode.String())
	return api.TransferStarted{CallID: id, To: to, Mode: mode.String()}, nil
}

// CompleteTransfer implements api.CallTransferer.
func (m monitorCalls) CompleteTransfer(ctx context.Context, id string) error {
	if _, err := m.ActiveCall(ctx, id); err != nil {
		return err
	}
	return transferError(m.e.people.queue.CompleteTransfer(id))
}

// CancelTransfer implements api.CallTransferer.
func (m monitorCalls) CancelTransfer(ctx context.Context, id string) error {
	if _, err := m.ActiveCall(ctx, id); err != nil {
		return err
	}
	return transferError(m.e.people.queue.CancelTransfer(id))
}

// transferError maps the telephony side's refusals to the API's statuses.
func transferError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, telephony.ErrNotTalking), errors.Is(err, telephony.ErrMonitored),
		errors.Is(err, telephony.ErrTransferring), errors.Is(err, telephony.ErrNoConsultation),
		errors.Is(err, telephony.ErrTargetRinging), errors.Is(err, telephony.ErrNoTransferDialer):
		return fmt.Errorf("%w: %w", api.ErrConflict, err)
	}
	return err
}
