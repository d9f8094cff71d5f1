package telephony

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
	"github.com/hotline-ivr/hotline/sip"
	"github.com/hotline-ivr/hotline/sip/registrar"
)

// Dialer places the calls to agents' phones; *sip.Server is one.
type Dialer interface {
	Dial(ctx context.Context, r sip.DialRequest) (*sip.Call, error)
}

// Bindings finds an agent's registered phones; registrar.Registrar (and
// *registrar.Memory) is one.
type Bindings interface {
	Lookup(aor string) []registrar.Binding
}

// Synthesizer renders the whisper text as mono PCM at rate; tts.Cache (the flow
// runtime's ivr.Synthesizer) is one.
type Synthesizer interface {
	Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error)
}

// Headers of the INVITE to an agent's phone, so a phone or a CTI client can match
// the ringing call with its screen-pop (the WebSocket offer event carries the same
// ids).
const (
	HeaderCallID  = "X-Hotline-Call-ID"  // the caller's call id (acd.Offer.CallID)
	HeaderOfferID = "X-Hotline-Offer-ID" // the offer's id (acd.Offer.OfferID)
	HeaderQueue   = "X-Hotline-Queue"    // the queue the call waited in
)

// ErrNotRegistered is returned by Offer when the agent has no registered phone.
var ErrNotRegistered = errors.New("telephony: agent has no registered phone")

// SIPConfig configures SIPAgents.
type SIPConfig struct {
	// Dialer places the calls (*sip.Server). Required.
	Dialer Dialer
	// Bindings looks phones up (the registrar the sip.Server uses). Required.
	Bindings Bindings
	// AOR maps an agent's extension to the address-of-record their phones register
	// under ((*sip.Server).AOR). Required.
	AOR func(user string) string
	// Synthesizer speaks whispers to agents; nil skips whispers.
	Synthesizer Synthesizer
	// Voice is the whisper's voice ("" for the synthesizer's default).
	Voice string
	// RingTimeout bounds a ring when the offer's context has no deadline and the
	// offer no ring timeout (default 20 s).
	RingTimeout time.Duration
	// Logger receives one line per offer and fork (with call_id); default discard.
	Logger *slog.Logger
}

// DefaultRingTimeout is SIPConfig.RingTimeout's default.
const DefaultRingTimeout = 20 * time.Second

// SIPAgents rings agents on their registered SIP phones: it makes each agent's
// acd.Endpoint and follows the registrar (Watch). Close waits for the goroutines
// that hang up late answers of losing forks.
type SIPAgents struct {
	cfg SIPConfig
	log *slog.Logger
	wg  sync.WaitGroup

	referMu sync.Mutex
	onRefer func(callID string, t *sip.Transfer)
}

// SetReferHandler makes the agents' phones able to transfer by REFER: h gets each
// REFER an agent's phone sends in a call offered from now on, with the caller's
// call id (Queue.Refer). Without one REFERs are refused (603).
func (s *SIPAgents) SetReferHandler(h func(callID string, t *sip.Transfer)) {
	s.referMu.Lock()
	s.onRefer = h
	s.referMu.Unlock()
}

// NewSIPAgents checks cfg and returns the agents' SIP side.
func NewSIPAgents(cfg SIPConfig) (*SIPAgents, error) {
	var errs []error
	if cfg.Dialer == nil {
		errs = append(errs, errors.New("telephony: SIPConfig.Dialer is required"))
	}
	if cfg.Bindings == nil {
		errs = append(errs, errors.New("telephony: SIPConfig.Bindings is required"))
	}
	if cfg.AOR == nil {
		errs = append(errs, errors.New("telephony: SIPConfig.AOR is required"))
	}
	if cfg.RingTimeout < 0 {
		errs = append(errs, fmt.Errorf("telephony: SIPConfig.RingTimeout %v is negative", cfg.RingTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SIPAgents{cfg: cfg, log: log}, nil
}

// Close waits for the hang-ups of late fork answers still running. The endpoints
// must not be offered calls afterwards.
func (s *SIPAgents) Close() { s.wg.Wait() }

// Endpoint returns the acd.Endpoint that rings the phones registered for extension
// (the agent's id when extension is ""). The phones are looked up at each offer,
// so one Endpoint serves however many phones the agent registers meanwhile.
func (s *SIPAgents) Endpoint(agentID, extension string) acd.Endpoint {
	if extension == "" {
		extension = agentID
	}
	return &sipEndpoint{s: s, agent: agentID, aor: s.cfg.AOR(extension)}
}

// sipEndpoint is one agent's Endpoint.
type sipEndpoint struct {
	s     *SIPAgents
	agent string
	aor   string
}

var _ acd.Endpoint = (*sipEndpoint)(nil)

// forkResult is one contact's answer to an offer.
type forkResult struct {
	call    *sip.Call
	err     error
	contact string
}

// Offer rings every registered contact of the agent at once (RFC 3261 §16.7 forking
// done by the UAC: the first 2xx wins, the other forks are cancelled, a 2xx that
// crosses the CANCEL is hung up) and returns the answered leg.
func (e *sipEndpoint) Offer(ctx context.Context, o acd.Offer) (acd.Leg, acd.OfferResult, error) {
	log := e.s.log.With("call_id", o.CallID, "agent", e.agent, "offer_id", o.OfferID)
	bs := e.s.cfg.Bindings.Lookup(e.aor)
	if len(bs) == 0 {
		log.Info("telephony: offer: agent not registered", "aor", e.aor)
		return nil, acd.OfferFailed, fmt.Errorf("%w: %s", ErrNotRegistered, e.aor)
	}
	ring := o.RingTimeout
	if dl, ok := ctx.Deadline(); ok && (ring <= 0 || time.Until(dl) < ring) {
		ring = time.Until(dl)
	}
	if ring <= 0 {
		ring = e.s.cfg.RingTimeout
	}
	fctx, cancel := context.WithCancel(ctx)
	results := make(chan forkResult, len(bs))
	e.s.referMu.Lock()
	onRefer := e.s.onRefer
	e.s.referMu.Unlock()
	for _, b := range bs {
		req := sip.DialRequest{
			Target:   b.URI,
			CallerID: sip.CallerID{Policy: sip.CallerIDPass, Number: o.ScreenPop.CallerNumber, Name: o.Queue},
			Headers: []sip.Header{
				{Name: HeaderCallID, Value: o.CallID},
				{Name: HeaderOfferID, Value: o.OfferID},
				{Name: HeaderQueue, Value: o.Queue},
			},
			Timeout: ring,
			Parent:  o.CallID,
		}
		if onRefer != nil {
			callID := o.CallID
			req.OnRefer = func(t *sip.Transfer) { onRefer(callID, t) }
		}
		if b.Source.IsValid() {
			req.NextHop = b.Source.String()
		}
		if len(b.Path) > 0 {
			req.NextHop = "" // a proxy's Path: the phone is reached through it, by its URI
		}
		e.s.wg.Add(1)
		go func() {
			defer e.s.wg.Done()
			c, err := e.s.cfg.Dialer.Dial(fctx, req)
			results <- forkResult{call: c, err: err, contact: b.URI}
		}()
	}
	var errs []error
	for left := len(bs); left > 0; left-- {
		r := <-results
		if r.err != nil {
			log.Info("telephony: offer: fork ended", "contact", r.contact, "err", r.err)
			errs = append(errs, r.err)
			continue
		}
		// The winner. Cancel the other forks and let a goroutine collect them (a
		// late 2xx is hung up), so the caller is bridged without waiting for them.
		cancel()
		if left > 1 {
			e.s.wg.Add(1)
			go func(n int) {
				defer e.s.wg.Done()
				for range n {
					if late := <-results; late.err == nil {
						_ = late.call.Hangup(context.Background())
					}
				}
			}(left - 1)
		}
		log.Info("telephony: offer answered", "contact", r.contact, "sip_call_id", r.call.ID(), "codec", r.call.Codec())
		return &AgentLeg{call: r.call, synth: e.s.cfg.Synthesizer, voice: e.s.cfg.Voice, log: log}, acd.OfferAnswered, nil
	}
	cancel()
	err := errors.Join(errs...)
	res := acd.OfferFailed
	switch {
	case ctx.Err() != nil || errors.Is(err, sip.ErrNoAnswer):
		res = acd.OfferNoAnswer
	case errors.Is(err, sip.ErrBusy) || errors.Is(err, sip.ErrRejected):
		res = acd.OfferRejected
	}
	log.Info("telephony: offer not answered", "result", res.String())
	return nil, res, fmt.Errorf("telephony: ring %s: %w", e.aor, err)
}

// AgentLeg is an agent's answered SIP call: the acd.Leg the ACD bridges to the
// caller (it implements MediaLeg).
type AgentLeg struct {
	call  *sip.Call
	synth Synthesizer
	voice string
	log   *slog.Logger
	once  sync.Once
	err   error
}

var _ MediaLeg = (*AgentLeg)(nil)

// Call is the agent's SIP call.
func (l *AgentLeg) Call() *sip.Call { return l.call }

// Media is the agent's RTP session.
func (l *AgentLeg) Media() bridge.Session { return l.call.Media() }

// Done is closed when the agent's call has ended.
func (l *AgentLeg) Done() <-chan struct{} { return l.call.Done() }

// Whisper speaks text to the agent only, before the bridge (the queue's name, the
// caller's intent). Without a Synthesizer it does nothing.
func (l *AgentLeg) Whisper(ctx context.Context, text string) error {
	if l.synth == nil || strings.TrimSpace(text) == "" {
		return nil
	}
	pcm, err := l.synth.Synthesize(ctx, text, l.voice, l.call.SampleRate())
	if err != nil {
		return fmt.Errorf("telephony: whisper: %w", err)
	}
	if err := l.call.Play(ctx, media.NewClip(pcm)); err != nil {
		return fmt.Errorf("telephony: whisper: %w", err)
	}
	return nil
}

// Hangup ends the agent's call (BYE); it is idempotent.
func (l *AgentLeg) Hangup(ctx context.Context) error {
	l.once.Do(func() {
		l.err = l.call.Hangup(ctx)
		l.log.Info("telephony: agent leg hung up", "cause", l.call.Cause())
	})
	return l.err
}
