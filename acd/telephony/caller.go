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
	leg    ivr.QueueLeg
	ch     ivr.Channel
	log    *slog.Logger
	prompt bool      // the node may have a hold prompt (until it says it has none)
	last   time.Time // when the hold prompt last played
	music  *bridge.Player
	rate   int
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
	if rate := c.ch.SampleRate(); c.music == nil || rate != c.rate {
		loop, err := c.q.music.Source(rate)
		if err != nil {
			return 0, fmt.Errorf("telephony: music on hold: %w", err)
		}
		c.music, c.rate = bridge.NewPlayer(loop), rate
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
	br, err := bridge.New(mc.Media(), al.Media(), opts...)
	if err != nil {
		return acd.BridgeResult{}, fmt.Errorf("telephony: bridge: %w", err)
	}
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
	err = br.Run(bctx)
	var ce *bridge.ClosedError
	switch {
	case ctx.Err() != nil:
		return acd.BridgeResult{End: acd.EndCaller}, nil
	case isClosed(agentEnded) || (errors.As(err, &ce) && ce.Side == bridge.SideB):
		return acd.BridgeResult{End: acd.EndAgent}, nil
	case errors.As(err, &ce) && ce.Side == bridge.SideA, err == nil:
		return acd.BridgeResult{End: acd.EndCaller}, nil
	}
	return acd.BridgeResult{End: acd.EndCaller}, fmt.Errorf("telephony: bridge: %w", err)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
