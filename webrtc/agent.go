package webrtc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/bridge"
)

// The agent softphone: an agent's browser tab logs in with a token, keeps one
// PeerConnection open for the whole shift (so answering an offer is instant: no
// negotiation while the caller waits), and is registered with the ACD as the
// agent's acd.Endpoint while that connection is up.

// Agent message types (see the package documentation).
const (
	msgLogin     = "login"      // page → engine: token; the first message
	msgWelcome   = "welcome"    // engine → page: agent id, ICE servers, wrap-up seconds
	msgPresence  = "presence"   // page → engine: available, or break with a reason
	msgRing      = "ring"       // engine → page: an offer: offerId, screenPop, seconds to answer
	msgAccept    = "accept"     // page → engine: answer the offer
	msgReject    = "reject"     // page → engine: decline the offer
	msgCancel    = "cancel"     // engine → page: the offer is over (timeout, caller gone, another agent)
	msgTalking   = "talking"    // engine → page: the conversation started
	msgWhisper   = "whisper"    // engine → page: text for the agent only before the bridge
	msgMute      = "mute"       // page → engine: on: the agent's microphone is off
	msgHold      = "hold"       // page → engine: on: the caller is on hold
	msgTransfer  = "transfer"   // page → engine: to: a queue or number to transfer the caller to
	msgCallEnded = "call_ended" // engine → page: the conversation ended (reason)
	msgWrapUp    = "wrapup"     // engine → page: after-call work: seconds to count down
	msgReady     = "ready"      // page → engine: the agent is ready before the wrap-up ends
)

// errUnauthorized is the error code for a bad or missing login token.
const errUnauthorized = "unauthorized"

// AgentDesk is what the softphone needs of the ACD; *acd.Engine satisfies it.
type AgentDesk interface {
	SetEndpoint(agentID string, ep acd.Endpoint)
	SetPresence(ctx context.Context, id string, p acd.Presence, reason string) error
	Ready(ctx context.Context, id string) error
}

// AgentAuth checks an agent's login token and returns the agent id it belongs to;
// an error refuses the login (the page is told "unauthorized").
type AgentAuth func(ctx context.Context, token string) (agentID string, err error)

// WithAgents enables the agent softphone (/agent and BasePath+"/agent/ws"): logins
// are checked by auth (nil: Config.AgentTokens) and agents registered with desk.
func WithAgents(desk AgentDesk, auth AgentAuth) Option {
	return func(e *Endpoint) { e.desk, e.auth = desk, auth }
}

// tokenAuth checks a token against Config.AgentTokens in constant time per entry.
func tokenAuth(tokens []AgentToken) AgentAuth {
	return func(_ context.Context, token string) (string, error) {
		agent := ""
		for _, t := range tokens {
			if subtle.ConstantTimeCompare([]byte(t.Token), []byte(token)) == 1 {
				agent = t.Agent
			}
		}
		if agent == "" {
			return "", errors.New("webrtc: unknown agent token")
		}
		return agent, nil
	}
}

// ErrAgentBusy is returned by Offer when the agent's softphone is already ringing or
// talking: the ACD offers one call at a time, so this means a stale state.
var ErrAgentBusy = errors.New("webrtc: softphone busy")

// ErrAgentGone is returned by Offer when the softphone disconnected.
var ErrAgentGone = errors.New("webrtc: softphone disconnected")

// softphone is one logged-in agent's tab: their signalling socket and media call.
// It is the agent's acd.Endpoint while its media is connected.
type softphone struct {
	ep    *Endpoint
	agent string
	sig   *signaller
	call  *Call // set by run before the softphone is registered

	mu      sync.Mutex
	ringing *ringingOffer
	leg     *AgentLeg
}

type ringingOffer struct {
	id    string
	reply chan bool // buffered: true accept, false reject
}

var _ acd.Endpoint = (*softphone)(nil)

// Offer rings the softphone: the page shows the screen-pop and the agent answers or
// declines. See acd.Endpoint.
func (s *softphone) Offer(ctx context.Context, o acd.Offer) (acd.Leg, acd.OfferResult, error) {
	ro := &ringingOffer{id: o.OfferID, reply: make(chan bool, 1)}
	s.mu.Lock()
	if s.ringing != nil || s.leg != nil {
		s.mu.Unlock()
		return nil, acd.OfferFailed, ErrAgentBusy
	}
	s.ringing = ro
	s.mu.Unlock()
	clear := func() {
		s.mu.Lock()
		if s.ringing == ro {
			s.ringing = nil
		}
		s.mu.Unlock()
	}
	pop, _ := json.Marshal(o.ScreenPop) // plain data: cannot fail
	s.sig.send(message{Type: msgRing, OfferID: o.OfferID, ScreenPop: pop, Seconds: o.RingTimeout.Seconds()})
	log := s.call.log.With("offer_id", o.OfferID, "offer_call_id", o.CallID)
	log.Info("offering call to agent", "queue", o.Queue)
	select {
	case ok := <-ro.reply:
		clear()
		if !ok {
			return nil, acd.OfferRejected, nil
		}
		leg := &AgentLeg{phone: s, offer: o, ended: make(chan struct{})}
		s.mu.Lock()
		s.leg = leg
		s.mu.Unlock()
		s.sig.send(message{Type: msgTalking, OfferID: o.OfferID, CallID: o.CallID})
		log.Info("agent answered")
		return leg, acd.OfferAnswered, nil
	case <-ctx.Done():
		clear()
		s.sig.send(message{Type: msgCancel, OfferID: o.OfferID})
		return nil, acd.OfferNoAnswer, nil
	case <-s.call.ctx.Done():
		clear()
		return nil, acd.OfferFailed, ErrAgentGone
	}
}

// reply hands the page's accept or reject to the ringing Offer, if it is that offer.
func (s *softphone) reply(offerID string, accept bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ringing == nil || s.ringing.id != offerID {
		return false
	}
	select {
	case s.ringing.reply <- accept:
	default:
	}
	return true
}

func (s *softphone) current() *AgentLeg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leg
}

// AgentLeg is an agent's answered softphone leg, the acd.Leg the caller's Bridge
// receives: bridge the caller's audio with Media, and watch Done for the agent
// hanging up (End says how: agent or transfer, with TransferTo).
type AgentLeg struct {
	phone *softphone
	offer acd.Offer

	// held and muted are read by the media clock (holdSink, holdSource) on every
	// frame: atomics, no lock.
	held, muted atomic.Bool

	mu                sync.Mutex
	end               acd.BridgeEnd
	transferTo        string
	ended             chan struct{}
	endOnce, hangOnce sync.Once
}

var _ acd.Leg = (*AgentLeg)(nil)

// Agent is the agent's id.
func (l *AgentLeg) Agent() string { return l.phone.agent }

// Media is the agent's media session (48 kHz with Opus) as media/bridge sees it:
// the bridge plays the caller's audio into it and listens to it. While the agent
// holds (the page's Hold), the caller hears music on hold (WithHoldMusic) instead
// of the agent, and the agent hears nothing of the caller; unhold resumes the
// conversation. The session outlives the leg (it is the softphone's). With Done it
// makes AgentLeg an acd/telephony MediaLeg.
func (l *AgentLeg) Media() bridge.Session { return &holdMedia{sess: l.phone.call.sess, leg: l} }

// Session is the agent's *media.Session itself (recorders: AddStereoSink). The
// softphone owns it: never Close or Configure it.
func (l *AgentLeg) Session() *media.Session { return l.phone.call.sess }

// Done is closed when the agent ended the conversation (hang up, transfer) or their
// softphone went away.
func (l *AgentLeg) Done() <-chan struct{} { return l.ended }

// End says how the agent ended the conversation (EndAgent or EndTransfer), once
// Done is closed; EndUnknown before.
func (l *AgentLeg) End() (acd.BridgeEnd, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.end, l.transferTo
}

// Held reports whether the agent put the caller on hold (the bridge plays music on
// hold to the caller and stops passing audio both ways); Muted whether the agent's
// microphone is off (the page stops sending it).
func (l *AgentLeg) Held() bool { return l.held.Load() }

// Muted: see Held.
func (l *AgentLeg) Muted() bool { return l.muted.Load() }

// Whisper shows text to the agent only, before the bridge (queue, intent), and
// speaks it to them through the Synthesizer of WithWhisper, when there is one; it
// returns when it has been played (or ctx ended).
func (l *AgentLeg) Whisper(ctx context.Context, text string) error {
	l.phone.sig.send(message{Type: msgWhisper, OfferID: l.offer.OfferID, Text: text})
	e := l.phone.ep
	if e.synth == nil || strings.TrimSpace(text) == "" {
		return nil
	}
	sess := l.phone.call.sess
	pcm, err := e.synth.Synthesize(ctx, text, e.voice, sess.SampleRate())
	if err != nil {
		return fmt.Errorf("webrtc: whisper to %s: %w", l.phone.agent, err)
	}
	if err := sess.Play(ctx, media.NewClip(pcm)); err != nil && ctx.Err() == nil {
		return fmt.Errorf("webrtc: whisper to %s: %w", l.phone.agent, err)
	}
	l.phone.call.log.Info("whisper spoken to agent", "offer_id", l.offer.OfferID, "offer_call_id", l.offer.CallID,
		"samples", len(pcm))
	return nil
}

// Hangup ends the conversation from the engine's side (the caller hung up, or the
// bridge is over): the page shows the call ended and counts down the wrap-up.
// Idempotent; the softphone stays logged in.
func (l *AgentLeg) Hangup(ctx context.Context) error {
	l.finish(acd.EndCaller, "", "hangup")
	return nil
}

// finish ends the conversation once: by the agent (EndAgent, EndTransfer) or the
// engine (EndCaller).
func (l *AgentLeg) finish(end acd.BridgeEnd, to, reason string) {
	l.hangOnce.Do(func() {
		l.mu.Lock()
		l.end, l.transferTo = end, to
		l.mu.Unlock()
		l.endOnce.Do(func() { close(l.ended) })
		p := l.phone
		p.mu.Lock()
		if p.leg == l {
			p.leg = nil
		}
		p.mu.Unlock()
		p.sig.send(message{Type: msgCallEnded, OfferID: l.offer.OfferID, Reason: reason})
		p.sig.send(message{Type: msgWrapUp, Seconds: p.ep.cfg.WrapUp.Seconds()})
		p.call.log.Info("agent conversation ended", "offer_id", l.offer.OfferID, "end", end.String(), "transfer_to", to)
	})
}

// serveAgent runs one softphone's WebSocket: login, the media call, then presence,
// offers and conversations until the tab closes.
func (e *Endpoint) serveAgent(w http.ResponseWriter, r *http.Request) {
	sig, done, ok := e.accept(w, r)
	if !ok {
		return
	}
	defer done()
	defer sig.close("")

	m, valid, ok := e.read(sig, offerTimeout)
	if !ok {
		return
	}
	if !valid || m.Type != msgLogin {
		e.badMessage(sig, nil, "the first message must be login")
		return
	}
	agent, err := e.auth(e.ctx, m.Token)
	if err != nil || agent == "" {
		e.m.sigError(errUnauthorized)
		e.log.Warn("softphone login refused", "error", err)
		sig.send(message{Type: msgError, Code: errUnauthorized, Message: "unknown or expired token"})
		return
	}
	log := e.log.With("agent", agent)
	log.Info("softphone logged in")
	sig.send(message{Type: msgWelcome, Agent: agent, ICEServers: e.iceServersFor(agent, time.Now()), Seconds: e.cfg.WrapUp.Seconds()})

	phone := &softphone{ep: e, agent: agent, sig: sig}
	var call *Call // this goroutine's; phone.call is set by run, for Offer
	defer func() {
		if call != nil {
			call.end("caller", "", "")
		}
		if l := phone.current(); l != nil {
			l.finish(acd.EndAgent, "", "disconnected")
		}
	}()
	for {
		idle := time.Duration(0)
		if call == nil {
			idle = offerTimeout
		}
		m, valid, ok := e.read(sig, idle)
		if !ok {
			return
		}
		if !valid {
			e.badMessage(sig, call, "not a JSON text message")
			continue
		}
		switch m.Type {
		case msgOffer:
			if call != nil {
				e.badMessage(sig, call, "the softphone's media is already connected")
				continue
			}
			m.From, m.To, m.source = agent, "agent", r.RemoteAddr
			c, code, err := e.startCall(sig, m, phone.run)
			if err != nil {
				log.Warn("softphone media refused", "error", err)
				if code != "" {
					e.m.sigError(code)
					sig.send(message{Type: msgError, Code: code, Message: err.Error()})
				}
				return
			}
			call = c
		case msgCandidate:
			e.addCandidate(sig, call, m)
		case msgPresence:
			p, reason := acd.PresenceAvailable, ""
			if m.Presence == "break" {
				p, reason = acd.PresenceBreak, m.Reason
			} else if m.Presence != "available" {
				e.badMessage(sig, call, "presence must be available or break")
				continue
			}
			if err := e.desk.SetPresence(e.ctx, agent, p, reason); err != nil {
				log.Warn("setting presence", "error", err)
				sig.send(message{Type: msgError, Code: errInternal, Message: "presence not changed: " + err.Error()})
				continue
			}
			sig.send(message{Type: msgPresence, Presence: m.Presence, Reason: reason})
		case msgAccept, msgReject:
			if !phone.reply(m.OfferID, m.Type == msgAccept) {
				sig.send(message{Type: msgCancel, OfferID: m.OfferID}) // too late
			}
		case msgMute, msgHold:
			if l := phone.current(); l != nil && m.On != nil {
				if m.Type == msgMute {
					l.muted.Store(*m.On)
				} else {
					l.held.Store(*m.On)
				}
				log.Info("agent "+m.Type, "on", *m.On, "offer_id", l.offer.OfferID, "call_id", l.offer.CallID)
			}
		case msgTransfer:
			if l := phone.current(); l != nil && m.To != "" {
				l.finish(acd.EndTransfer, m.To, "transferred")
			}
		case msgHangup:
			if l := phone.current(); l != nil {
				l.finish(acd.EndAgent, "", "agent")
			}
		case msgReady:
			if err := e.desk.Ready(e.ctx, agent); err != nil {
				log.Warn("ending wrap-up", "error", err)
			}
		default:
			e.badMessage(sig, call, "unknown message type "+m.Type)
		}
	}
}

// run is the softphone's media call handler: once its media is up the agent is
// reachable from this node; when it ends they are not.
func (s *softphone) run(ctx context.Context, c *Call) {
	// Offer and AgentLeg read call only after SetEndpoint published s to the ACD.
	s.call = c
	if err := c.Answer(ctx); err != nil {
		return
	}
	s.ep.desk.SetEndpoint(s.agent, s)
	c.log.Info("softphone reachable", "agent", s.agent)
	<-ctx.Done()
	s.ep.desk.SetEndpoint(s.agent, nil)
	if l := s.current(); l != nil {
		l.finish(acd.EndAgent, "", "disconnected")
	}
}

// Synthesizer renders whisper text as mono PCM at rate; the engine's TTS cache (the
// flow runtime's ivr.Synthesizer) is one.
type Synthesizer interface {
	Synthesize(ctx context.Context, text, voice string, rate int) ([]int16, error)
}

// WithWhisper speaks AgentLeg.Whisper's text to the agent with synth in voice ("":
// the synthesizer's default), as a SIP agent's phone hears it, besides showing it
// on the page.
func WithWhisper(synth Synthesizer, voice string) Option {
	return func(e *Endpoint) { e.synth, e.voice = synth, voice }
}

// WithHoldMusic is what a caller hears while an agent holds them from the page
// (default: bridge's built-in tune): the ACD's music on hold, so holding sounds
// the same as waiting in the queue.
func WithHoldMusic(m *bridge.Music) Option { return func(e *Endpoint) { e.music = m } }

// holdMedia is the agent's session as the bridge sees it (AgentLeg.Media): what it
// hears from the agent passes through a holdSink, what it plays to the agent
// through a holdSource, so holding needs nothing from the bridge.
type holdMedia struct {
	sess *media.Session
	leg  *AgentLeg
}

var _ bridge.Session = (*holdMedia)(nil)

// SampleRate is the agent's session's.
func (h *holdMedia) SampleRate() int { return h.sess.SampleRate() }

// Play plays src to the agent, silenced while the agent holds.
func (h *holdMedia) Play(ctx context.Context, src media.Source) error {
	return h.sess.Play(ctx, &holdSource{src: src, held: &h.leg.held})
}

// AddSink delivers the agent's audio to s, replaced by music on hold while the
// agent holds.
func (h *holdMedia) AddSink(s media.Sink) (remove func()) {
	hs := &holdSink{next: s, held: &h.leg.held}
	if loop, err := h.leg.phone.ep.music.Source(h.sess.SampleRate()); err == nil {
		hs.music = loop
	} else {
		h.leg.phone.call.log.Warn("no music on hold for the agent's hold: the caller hears silence", "error", err)
	}
	return h.sess.AddSink(hs)
}

// Digits are the keys the agent pressed.
func (h *holdMedia) Digits() <-chan byte { return h.sess.Digits() }

// SendDigits sends keys to the agent.
func (h *holdMedia) SendDigits(ctx context.Context, digits string, mode media.DTMFMode) error {
	return h.sess.SendDigits(ctx, digits, mode)
}

// holdSink passes the agent's audio on, or a frame of music while held. It runs on
// the media clock: no allocation once its buffer has the frame's size.
type holdSink struct {
	next  media.Sink
	held  *atomic.Bool
	music *bridge.Loop // nil: silence on hold
	buf   []int16
}

func (s *holdSink) WriteAudio(pcm []int16) {
	if !s.held.Load() {
		s.next.WriteAudio(pcm)
		return
	}
	if cap(s.buf) < len(pcm) {
		s.buf = make([]int16, len(pcm))
	}
	frame := s.buf[:len(pcm)]
	if s.music != nil {
		_, _ = s.music.Read(frame) // a Loop fills the frame and never fails
	} else {
		clear(frame)
	}
	s.next.WriteAudio(frame)
}

// holdSource reads src and, while held, plays silence instead of what it read:
// src (the bridge's pipe from the caller) keeps being drained on the agent's clock,
// so nothing piles up or overflows during the hold and the conversation resumes
// with the caller's current audio.
type holdSource struct {
	src  media.Source
	held *atomic.Bool
}

func (s *holdSource) Read(frame []int16) (int, error) {
	n, err := s.src.Read(frame)
	if s.held.Load() {
		clear(frame)
	}
	return n, err
}
