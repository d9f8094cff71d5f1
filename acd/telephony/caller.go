package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/sip"
)

// MediaLeg is an answered leg the caller can be bridged to: AgentLeg, and whatever a
// WebRTC softphone returns. The ACD hands it to Caller.Bridge as an acd.Leg.
type MediaLeg interface {
	acd.Leg
	// Media is the leg's RTP session.
	Media() bridge.Session
	// Done is closed when the leg's call has ended.
	Done() <-chan struct{}
}

// mediaChannel is a channel with an RTP session (*sip.Call).
type mediaChannel interface {
	Media() *media.Session
}

// doneChannel is a channel that says when its call ended (*sip.Call).
type doneChannel interface {
	Done() <-chan struct{}
}

// caller is the acd.Caller of one queued call: the flow's QueueLeg and its channel.
// The ACD calls it from one goroutine at a time.
type caller struct {
	q      *Queue
	id     string // the call id
	leg    ivr.QueueLeg
	ch     ivr.Channel
	log    *slog.Logger
	prompt bool      // the node may have a hold prompt (until it says it has none)
	last   time.Time // when the hold prompt last played
	music  *bridge.Player
	rate   int
	// pending is the target an attended transfer put on the line, connected by
	// ConnectTransfer once the ACD released the agent.
	pending MediaLeg
}

// Hold plays the node's hold prompt (every promptEvery) and music on hold in
// between, until ctx ends (0, nil) or the caller presses a key (the key). While the
// flow's prompt plays the flow reads the keys (its type-ahead); during the music
// they are read here, for the callback key.
func (c *caller) Hold(ctx context.Context) (byte, error) {
	for ctx.Err() == nil {
		if c.prompt && (c.last.IsZero() || time.Since(c.last) >= c.q.promptEvery) {
			c.last = time.Now()
			err := c.leg.Hold(ctx)
			switch {
			case errors.Is(err, ivr.ErrNoHoldPrompt):
				c.prompt = false
			case ctx.Err() != nil:
				return 0, nil
			case err != nil:
				c.log.Info("telephony: hold prompt failed; music instead", "err", err)
				c.prompt = false
			}
		}
		wait := time.Duration(0)
		if c.prompt {
			wait = c.q.promptEvery - time.Since(c.last)
		}
		k, err := c.playMusic(ctx, wait)
		if k != 0 || err != nil {
			return k, err
		}
	}
	return 0, nil
}

// playMusic plays music on hold until ctx ends, d passes (d > 0) or a key.
func (c *caller) playMusic(ctx context.Context, d time.Duration) (byte, error) {
	if err := c.ensureMusic(); err != nil {
		return 0, err
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.ch.Play(pctx, c.music) }()
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case err := <-done:
		if ctx.Err() != nil {
			return 0, nil
		}
		if err == nil {
			err = errors.New("music ended")
		}
		return 0, fmt.Errorf("telephony: music on hold: %w", err)
	case k := <-c.ch.Digits():
		cancel()
		<-done
		return k, nil
	case <-timeout:
	case <-ctx.Done():
	}
	cancel()
	<-done
	return 0, nil
}

// ensureMusic makes the music on hold player for the channel's rate.
func (c *caller) ensureMusic() error {
	if rate := c.ch.SampleRate(); c.music == nil || rate != c.rate {
		loop, err := c.q.music.Source(rate)
		if err != nil {
			return fmt.Errorf("telephony: music on hold: %w", err)
		}
		c.music, c.rate = bridge.NewPlayer(loop), rate
	}
	return nil
}

// Announce speaks the position and wait through the flow's announcement, then the
// callback offer; taking the offer returns the callback key.
func (c *caller) Announce(ctx context.Context, a acd.Announcement) (byte, error) {
	wait := time.Duration(0)
	if a.WaitKnown {
		wait = a.Wait
	}
	if a.Position > 0 || wait > 0 {
		if err := c.leg.Announce(ctx, a.Position, wait); err != nil {
			return 0, fmt.Errorf("telephony: announce: %w", err)
		}
	}
	if !a.OfferCallback {
		return 0, nil
	}
	ok, err := c.leg.OfferCallback(ctx)
	if err != nil {
		return 0, fmt.Errorf("telephony: callback offer: %w", err)
	}
	if ok {
		return a.CallbackKey, nil
	}
	return 0, nil
}

// Bridge connects the caller's RTP session with the agent's and returns when
// either hangs up: EndAgent when the agent's call ended (the caller goes back to the
// flow), EndCaller when ctx ended or the caller's call did.
func (c *caller) Bridge(ctx context.Context, leg acd.Leg) (acd.BridgeResult, error) {
	al, ok := leg.(MediaLeg)
	if !ok {
		return acd.BridgeResult{}, fmt.Errorf("telephony: bridge: agent leg %T has no media", leg)
	}
	mc, ok := c.ch.(mediaChannel)
	if !ok {
		return acd.BridgeResult{}, fmt.Errorf("telephony: bridge: caller channel %T has no media session", c.ch)
	}
	opts := []bridge.Option{bridge.WithLogger(c.log)}
	if c.q.dtmf {
		opts = append(opts, bridge.WithDTMF(c.q.dtmfMode))
	}
	callerLeg, agentLeg := c.digitLeg(mc.Media(), c.ch, "caller"), c.digitLeg(al.Media(), leg, "agent")
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var callerDone <-chan struct{}
	if dc, ok := c.ch.(doneChannel); ok {
		callerDone = dc.Done()
	}
	stop := make(chan struct{})
	defer close(stop)
	agentEnded := make(chan struct{})
	go func() {
		select {
		case <-al.Done():
			close(agentEnded)
			cancel()
		case <-callerDone:
			cancel()
		case <-stop:
		}
	}()
	c.log.Info("telephony: bridged", "codec_rate_caller", mc.Media().SampleRate(), "codec_rate_agent", al.Media().SampleRate())
	err := c.converse(bctx, callerLeg, agentLeg, al.Done(), opts)
	var ce *bridge.ClosedError
	var tr *transferred
	switch {
	case errors.As(err, &tr) && ctx.Err() == nil:
		c.pending = tr.leg
		return acd.BridgeResult{End: acd.EndTransfer, To: tr.to}, nil
	case errors.As(err, &tr):
		if tr.leg != nil {
			_ = tr.leg.Hangup(context.WithoutCancel(ctx))
		}
		return acd.BridgeResult{End: acd.EndCaller}, nil
	case ctx.Err() != nil:
		return acd.BridgeResult{End: acd.EndCaller}, nil
	case isClosed(agentEnded) || (errors.As(err, &ce) && ce.Side == bridge.SideB):
		if el, ok := leg.(endedLeg); ok { // the softphone's transfer button
			if end, to := el.End(); end == acd.EndTransfer && to != "" {
				return acd.BridgeResult{End: acd.EndTransfer, To: to}, nil
			}
		}
		return acd.BridgeResult{End: acd.EndAgent}, nil
	case errors.As(err, &ce) && ce.Side == bridge.SideA, err == nil:
		return acd.BridgeResult{End: acd.EndCaller}, nil
	}
	return acd.BridgeResult{End: acd.EndCaller}, fmt.Errorf("telephony: bridge: %w", err)
}

// endedLeg is an agent leg that says how the agent ended it (the WebRTC
// softphone's AgentLeg: hang up or transfer, with the target).
type endedLeg interface {
	End() (acd.BridgeEnd, string)
}

// converse bridges the caller and agent until ctx ends (nil) or a side's session
// closes (a *bridge.ClosedError). While a supervisor is in (Queue.Monitor) the two
// talk through a mixer instead, and are bridged again when the supervisor leaves.
// A transfer (Queue.Transfer) ends it with a *transferred; an attended one first
// holds the caller and bridges the agent to the target (consult), and bridges
// caller and agent again when cancelled.
func (c *caller) converse(ctx context.Context, callerLeg, agentLeg bridge.Session, agentDone <-chan struct{}, opts []bridge.Option) error {
	conv, unregister := c.q.register(c.id)
	defer unregister()
	for {
		br, err := bridge.New(callerLeg, agentLeg, opts...)
		if err != nil {
			return err
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- br.Run(rctx) }()
		var (
			j *monitorJoin
			t *transferReq
		)
		select {
		case err := <-done:
			stop()
			return err
		case j = <-conv.join:
		case t = <-conv.xfer:
		}
		stop()
		if err := <-done; err != nil {
			if t != nil {
				t.accepted <- err
				return err
			}
			j.joined <- err
			close(j.left)
			return err
		}
		if t != nil {
			if t.mode == TransferBlind {
				c.log.Info("telephony: blind transfer", "transfer_to", t.to)
				if t.onAccept != nil {
					t.onAccept()
				}
				t.accepted <- nil
				return &transferred{to: t.to}
			}
			if leg := c.consult(ctx, conv, agentLeg, agentDone, t, opts); leg != nil {
				return &transferred{to: t.to, leg: leg}
			}
			if ctx.Err() != nil {
				return nil
			}
			c.log.Info("telephony: caller and agent bridged again after the consultation")
			continue
		}
		mix(ctx, c.log.With("mode", j.mode.String()), callerLeg, agentLeg, j)
		if ctx.Err() != nil {
			c.log.Info("telephony: supervisor left with the call")
			return nil
		}
		c.log.Info("telephony: supervisor left; caller and agent bridged again")
	}
}

// sipLeg is an agent leg placed over SIP (*AgentLeg): its INFO route for keys.
type sipLeg interface {
	Call() *sip.Call
}

// digitLeg wraps a leg's session so the keys forwarded to it take the route its
// peer negotiated (bridge.DigitLeg): RFC 4733, SIP INFO when the leg has SIP
// signalling (owner is a *sip.Call, or an AgentLeg), else tones.
func (c *caller) digitLeg(s bridge.Session, owner any, name string) *bridge.DigitLeg {
	var info bridge.InfoSender
	switch o := owner.(type) {
	case sipLeg:
		if call := o.Call(); call != nil {
			info = call
		}
	case bridge.InfoSender:
		info = o
	}
	return bridge.NewDigitLeg(s, info, c.log.With("leg", name))
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
