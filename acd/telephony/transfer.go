package telephony

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/sip"
)

// TransferMode is how an agent hands their caller on.
type TransferMode uint8

// Modes. The zero value is TransferUnknown, refused by Transfer.
const (
	TransferUnknown TransferMode = iota
	// TransferBlind: the agent leaves at once (their talk time ends, wrap-up
	// starts); the caller hears music on hold while the target rings.
	TransferBlind
	// TransferAttended: the caller hears music on hold while the agent consults the
	// target; CompleteTransfer hands the caller over, CancelTransfer takes them back.
	TransferAttended
)

func (m TransferMode) String() string {
	switch m {
	case TransferBlind:
		return "blind"
	case TransferAttended:
		return "attended"
	}
	return "unknown"
}

// ParseTransferMode reads blind or attended.
func ParseTransferMode(s string) (TransferMode, error) {
	for _, m := range []TransferMode{TransferBlind, TransferAttended} {
		if s == m.String() {
			return m, nil
		}
	}
	return TransferUnknown, fmt.Errorf("transfer mode %q: want blind or attended", s)
}

// TransferDialer rings a transfer target that is not one of the ACD's queues
// (another agent by id or extension, a number through a trunk) for callID and
// returns the answered leg. It returns when the target answered, failed or ctx
// ended (the caller hung up, the agent cancelled). cmd/hotline implements it over
// the agents' endpoints and the SIP trunks.
type TransferDialer interface {
	DialTransfer(ctx context.Context, callID, to string) (MediaLeg, error)
}

// WithTransferDialer lets agents transfer callers to other agents and numbers
// (queues need no dialer: the ACD queues the caller there). Without one, such
// transfers are refused and attended transfers are unavailable.
func WithTransferDialer(d TransferDialer) QueueOption { return func(q *Queue) { q.transfers = d } }

// SetTransferDialer sets the TransferDialer after the Queue was made (the SIP
// server that places the calls exists only later at start-up). Calls already
// talking see it from their next transfer.
func (q *Queue) SetTransferDialer(d TransferDialer) {
	q.convMu.Lock()
	q.transfers = d
	q.convMu.Unlock()
}

func (q *Queue) transferDialer() TransferDialer {
	q.convMu.Lock()
	defer q.convMu.Unlock()
	return q.transfers
}

// Errors of the transfer calls.
var (
	// ErrTransferring: a transfer of the call is already under way.
	ErrTransferring = errors.New("telephony: a transfer of the call is already under way")
	// ErrNoConsultation: CompleteTransfer or CancelTransfer without an attended
	// transfer under way.
	ErrNoConsultation = errors.New("telephony: no attended transfer under way")
	// ErrTargetRinging: CompleteTransfer while the target has not answered yet.
	ErrTargetRinging = errors.New("telephony: the transfer target has not answered yet")
	// ErrNoTransferDialer: the queue was built without WithTransferDialer.
	ErrNoTransferDialer = errors.New("telephony: transfers to agents and numbers are not configured")
)

// maxTransferHops bounds how often a transferred caller is transferred on by the
// targets who took them.
const maxTransferHops = 4

// referNotifyTimeout bounds the NOTIFY that reports a REFER's outcome to the
// agent's phone, sent while the caller waits for the transfer.
const referNotifyTimeout = 2 * time.Second

// transferReq is a transfer request handed to the bridge loop.
type transferReq struct {
	to       string
	mode     TransferMode
	accepted chan error // the loop's answer (capacity 1)
	onAccept func()     // run by the loop before the agent is released (REFER's NOTIFY)
}

// consultation is an attended transfer under way in a conversation.
type consultation struct {
	to  string
	ctl chan bool // true: complete; false: cancel (capacity 1)

	answered bool // under conversation.mu
}

// transferred ends the bridge loop: the caller goes to to (with leg, the target
// an attended transfer already has on the line).
type transferred struct {
	to  string
	leg MediaLeg
}

func (t *transferred) Error() string { return "transferred to " + t.to }

// Transfer hands callID's caller on from the agent they talk to: to is a queue
// name (the ACD queues them there), or an agent id or extension or a number (the
// TransferDialer rings it). Blind: the agent's call ends now (TRANSFER in the
// event log, wrap-up), the caller hears music on hold while the target rings, and
// goes back to the queue they came from if nobody answers. Attended: the caller
// hears music on hold while the target rings; when they answer, agent and target
// talk; CompleteTransfer or the agent hanging up hands the caller over,
// CancelTransfer or the target hanging up (or not answering) brings the agent back.
// It returns once the conversation took the request: ErrNotTalking, ErrMonitored,
// ErrTransferring or ErrNoTransferDialer (attended) otherwise.
func (q *Queue) Transfer(ctx context.Context, callID, to string, mode TransferMode) error {
	return q.transfer(ctx, callID, &transferReq{to: strings.TrimSpace(to), mode: mode, accepted: make(chan error, 1)})
}

func (q *Queue) transfer(ctx context.Context, callID string, r *transferReq) error {
	switch {
	case r.mode != TransferBlind && r.mode != TransferAttended:
		return fmt.Errorf("telephony: transfer %s: unknown mode", callID)
	case r.to == "":
		return fmt.Errorf("telephony: transfer %s: no target", callID)
	case r.mode == TransferAttended && q.transferDialer() == nil:
		return fmt.Errorf("telephony: transfer %s: %w", callID, ErrNoTransferDialer)
	}
	c := q.conversation(callID)
	if c == nil {
		return fmt.Errorf("telephony: transfer %s: %w", callID, ErrNotTalking)
	}
	c.mu.Lock()
	busy, consulting := c.busy, c.consult != nil
	c.mu.Unlock()
	switch {
	case busy:
		return fmt.Errorf("telephony: transfer %s: %w", callID, ErrMonitored)
	case consulting:
		return fmt.Errorf("telephony: transfer %s: %w", callID, ErrTransferring)
	}
	select {
	case c.xfer <- r:
	case <-c.ended:
		return fmt.Errorf("telephony: transfer %s: %w", callID, ErrNotTalking)
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := <-r.accepted; err != nil {
		return fmt.Errorf("telephony: transfer %s: %w", callID, err)
	}
	return nil
}

// Consulting reports whether callID has an attended transfer under way, and
// whether its target answered.
func (q *Queue) Consulting(callID string) (consulting, answered bool) {
	c := q.conversation(callID)
	if c == nil {
		return false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.consult == nil {
		return false, false
	}
	return true, c.consult.answered
}

// CompleteTransfer hands callID's caller to the target of its attended transfer
// (they must have answered): the agent's call ends, their wrap-up starts.
func (q *Queue) CompleteTransfer(callID string) error { return q.endConsult(callID, true) }

// CancelTransfer ends callID's attended transfer: the target is hung up (or stops
// ringing) and the agent talks to the caller again.
func (q *Queue) CancelTransfer(callID string) error { return q.endConsult(callID, false) }

func (q *Queue) endConsult(callID string, complete bool) error {
	verb := "cancel"
	if complete {
		verb = "complete"
	}
	c := q.conversation(callID)
	if c == nil {
		return fmt.Errorf("telephony: %s transfer %s: %w", verb, callID, ErrNotTalking)
	}
	c.mu.Lock()
	cs := c.consult
	answered := cs != nil && cs.answered
	c.mu.Unlock()
	switch {
	case cs == nil:
		return fmt.Errorf("telephony: %s transfer %s: %w", verb, callID, ErrNoConsultation)
	case complete && !answered:
		return fmt.Errorf("telephony: %s transfer %s: %w", verb, callID, ErrTargetRinging)
	}
	select {
	case cs.ctl <- complete:
		return nil
	default:
		return fmt.Errorf("telephony: %s transfer %s: %w", verb, callID, ErrTransferring)
	}
}

// Refer takes a REFER from the phone of the agent talking to callID (wire it with
// SIPAgents.SetReferHandler): a blind transfer to the Refer-To user, or, with
// Replaces while an attended transfer is under way, its completion. The phone is
// told the outcome by NOTIFY (200, or 603 when the transfer was refused). It
// returns at once.
func (q *Queue) Refer(callID string, t *sip.Transfer) {
	log := q.log.With("call_id", callID, "refer_to", t.Target, "replaces", t.Replaces != "")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		notify := func(status int, reason string) {
			nctx, ncancel := context.WithTimeout(context.Background(), referNotifyTimeout)
			defer ncancel()
			if err := t.Notify(nctx, status, reason); err != nil {
				log.Info("telephony: REFER notify failed", "err", err)
			}
		}
		var err error
		if consulting, _ := q.Consulting(callID); consulting && t.Replaces != "" {
			err = q.CompleteTransfer(callID)
			if err == nil {
				notify(200, "OK")
			}
		} else {
			to := t.User
			if to == "" {
				to = t.Target
			}
			err = q.transfer(ctx, callID, &transferReq{to: to, mode: TransferBlind, accepted: make(chan error, 1),
				onAccept: func() { notify(200, "OK") }})
		}
		if err != nil {
			log.Info("telephony: REFER refused", "err", err)
			notify(603, "Declined")
			return
		}
		log.Info("telephony: REFER taken")
	}()
}

// startMusic plays music on hold to the caller until ctx ends; the returned
// channel is closed when it stopped. The caller never hears silence while a
// transfer target rings or the agent consults.
func (c *caller) startMusic(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if err := c.ensureMusic(); err != nil {
		c.log.Info("telephony: no music on hold for the transfer", "err", err)
		close(done)
		return done
	}
	go func() {
		defer close(done)
		if err := c.ch.Play(ctx, c.music); err != nil && ctx.Err() == nil {
			c.log.Info("telephony: music on hold ended", "err", err)
		}
	}()
	return done
}

// callerGone reports whether the caller's call has ended.
func (c *caller) callerGone() bool {
	if dc, ok := c.ch.(doneChannel); ok {
		return isClosed(dc.Done())
	}
	return false
}

// consult runs an attended transfer: the caller on hold, the target rung and, once
// they answer, bridged to the agent. It returns the target's leg when the caller is
// to be handed over (completed, or the agent hung up with the target on the line),
// nil when the agent takes the caller back (cancelled, not answered, the target
// hung up) or ctx ended.
func (c *caller) consult(ctx context.Context, conv *conversation, agentLeg bridge.Session, agentDone <-chan struct{}, t *transferReq, opts []bridge.Option) MediaLeg {
	log := c.log.With("transfer_to", t.to, "mode", t.mode.String())
	cs := &consultation{to: t.to, ctl: make(chan bool, 1)}
	conv.mu.Lock()
	conv.consult = cs
	conv.mu.Unlock()
	defer func() {
		conv.mu.Lock()
		conv.consult = nil
		conv.mu.Unlock()
	}()
	mctx, stopMusic := context.WithCancel(ctx)
	music := c.startMusic(mctx)
	defer func() { stopMusic(); <-music }()
	t.accepted <- nil
	log.Info("telephony: attended transfer: caller on hold, ringing the target")

	type dialed struct {
		leg MediaLeg
		err error
	}
	dctx, cancelDial := context.WithCancel(ctx)
	defer cancelDial()
	res := make(chan dialed, 1)
	go func() {
		l, err := c.q.transferDialer().DialTransfer(dctx, c.id, t.to)
		res <- dialed{l, err}
	}()
	hangup := func(l MediaLeg, why string) {
		if l != nil {
			_ = l.Hangup(context.WithoutCancel(ctx))
			log.Info("telephony: attended transfer: target hung up", "why", why)
		}
	}
	var target MediaLeg
	select {
	case r := <-res:
		if r.err != nil {
			log.Info("telephony: attended transfer: target not reached; agent back with the caller", "err", r.err)
			return nil
		}
		target = r.leg
	case <-cs.ctl: // only a cancel: complete needs an answer
		cancelDial()
		r := <-res
		hangup(r.leg, "cancelled while ringing")
		log.Info("telephony: attended transfer cancelled while ringing")
		return nil
	case <-ctx.Done():
		cancelDial()
		r := <-res
		hangup(r.leg, "the call ended while ringing")
		return nil
	}
	conv.mu.Lock()
	cs.answered = true
	conv.mu.Unlock()
	log.Info("telephony: attended transfer: target answered; agent consulting")
	br, err := bridge.New(agentLeg, c.digitLeg(target.Media(), target, "target"), opts...)
	if err != nil {
		log.Info("telephony: attended transfer: consultation bridge failed", "err", err)
		hangup(target, "bridge failed")
		return nil
	}
	bctx, stopBridge := context.WithCancel(ctx)
	defer stopBridge()
	done := make(chan error, 1)
	go func() { done <- br.Run(bctx) }()
	select {
	case complete := <-cs.ctl:
		stopBridge()
		<-done
		if complete {
			log.Info("telephony: attended transfer completed")
			return target
		}
		hangup(target, "cancelled")
		return nil
	case <-target.Done():
		stopBridge()
		<-done
		log.Info("telephony: attended transfer: the target hung up; agent back with the caller")
		return nil
	case <-done:
	case <-ctx.Done():
		<-done
	}
	// The bridge or the call ended: the agent hanging up with the target on the
	// line hands the caller over (as a phone's attended transfer does).
	if isClosed(agentDone) && !c.callerGone() && !isClosed(target.Done()) {
		log.Info("telephony: attended transfer: the agent hung up; caller handed to the target")
		return target
	}
	hangup(target, "the call ended")
	return nil
}

// ConnectTransfer implements acd.TransferCaller: after the ACD released the agent,
// it bridges the caller to the target an attended transfer already has on the
// line, or rings the target (music on hold meanwhile) and bridges them. The target
// may transfer the caller on in turn (to agents and numbers).
func (c *caller) ConnectTransfer(ctx context.Context, to string) (acd.BridgeResult, error) {
	leg := c.pending
	c.pending = nil
	for hops := 0; ; hops++ {
		if leg == nil {
			var err error
			if leg, err = c.dialTarget(ctx, to); err != nil {
				if ctx.Err() != nil {
					return acd.BridgeResult{End: acd.EndCaller}, nil
				}
				return acd.BridgeResult{}, fmt.Errorf("telephony: transfer to %s: %w: %w", to, acd.ErrTransferFailed, err)
			}
		}
		c.log.Info("telephony: transfer: caller bridged to the target", "transfer_to", to)
		res, err := c.Bridge(ctx, leg)
		_ = leg.Hangup(context.WithoutCancel(ctx))
		leg, c.pending = c.pending, nil
		if res.End != acd.EndTransfer || hops >= maxTransferHops || ctx.Err() != nil {
			if res.End == acd.EndTransfer {
				res.End = acd.EndAgent
			}
			return res, err
		}
		to = res.To
		c.log.Info("telephony: transfer: transferred on", "transfer_to", to)
	}
}

// dialTarget rings to with the caller on hold.
func (c *caller) dialTarget(ctx context.Context, to string) (MediaLeg, error) {
	d := c.q.transferDialer()
	if d == nil {
		return nil, ErrNoTransferDialer
	}
	mctx, stop := context.WithCancel(ctx)
	music := c.startMusic(mctx)
	leg, err := d.DialTransfer(ctx, c.id, to)
	stop()
	<-music
	return leg, err
}
