package webrtc

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/hotline-ivr/hotline/media"
)

// serveSignalling runs one page's WebSocket: hello, then one call (offer, answer,
// candidates both ways, hangup). The socket and the call end together.
// accept checks the Origin, counts the connection's goroutine in the endpoint (so
// Close waits for it) and upgrades to a WebSocket. done must be called when the
// connection's loop returns.
func (e *Endpoint) accept(w http.ResponseWriter, r *http.Request) (sig *signaller, done func(), ok bool) {
	if !originAllowed(r, e.cfg.AllowedOrigins) {
		e.m.sigError(errOrigin)
		e.log.Warn("signalling refused: origin not allowed", "origin", r.Header.Get("Origin"), "host", r.Host)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return nil, nil, false
	}
	// Every Add to the WaitGroup happens before Close's Wait (closed is checked
	// under mu) or from a goroutine it counts.
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	e.wg.Add(1)
	e.mu.Unlock()
	// The origin was checked above, by the rules of Config.AllowedOrigins.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		e.m.sigError(errBadMessage)
		e.wg.Done()
		return nil, nil, false // Accept answered the request
	}
	conn.SetReadLimit(DefaultMaxMessage)
	return &signaller{conn: conn, m: e.m, wg: &e.wg}, e.wg.Done, true
}

// read returns the next message; ok is false once the socket is gone. Reads end
// with the endpoint (Close), not with the request (the connection was hijacked);
// idle bounds the wait when not zero. Cancelling a read closes the socket.
func (e *Endpoint) read(sig *signaller, idle time.Duration) (m message, valid, ok bool) {
	ctx, cancel := e.ctx, context.CancelFunc(func() {})
	if idle > 0 {
		ctx, cancel = context.WithTimeout(ctx, idle)
	}
	typ, data, err := sig.conn.Read(ctx)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			e.m.sigError(errBadMessage)
		}
		return m, false, false
	}
	if typ != websocket.MessageText || json.Unmarshal(data, &m) != nil {
		return m, false, true
	}
	return m, true, true
}

func (e *Endpoint) serveSignalling(w http.ResponseWriter, r *http.Request) {
	sig, done, ok := e.accept(w, r)
	if !ok {
		return
	}
	defer done()
	sig.send(message{Type: msgHello, ICEServers: e.iceServersFor(DefaultCaller, time.Now())})

	var call *Call
	defer func() {
		if call != nil {
			call.end("caller", "", "") // the page went away: tab closed, network lost
		}
		sig.close("")
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
				e.badMessage(sig, call, "one call per connection: open a new WebSocket")
				continue
			}
			m.source = r.RemoteAddr
			c, code, err := e.startCall(sig, m, e.handler)
			if err != nil {
				e.log.Warn("browser call refused", "error", err)
				if code != "" { // else the call's end told the page
					e.m.sigError(code)
					sig.send(message{Type: msgError, Code: code, Message: err.Error()})
				}
				return
			}
			call = c
		case msgCandidate:
			e.addCandidate(sig, call, m)
		case msgDTMF:
			if call == nil {
				e.badMessage(sig, call, "dtmf before offer")
				continue
			}
			for i := 0; i < len(m.Digits) && i < 32; i++ {
				if d := m.Digits[i]; isDTMF(d) {
					call.sess.InjectDigit(d)
				}
			}
		case msgHangup:
			if call != nil {
				call.end("caller", "", "")
			}
			return
		default:
			e.badMessage(sig, call, fmt.Sprintf("unknown message type %q", m.Type))
		}
	}
}

// addCandidate applies one of the page's trickled candidates (RFC 8838).
func (e *Endpoint) addCandidate(sig *signaller, call *Call, m message) {
	if call == nil {
		e.badMessage(sig, call, "candidate before offer")
		return
	}
	if len(m.Candidate) == 0 || bytes.Equal(m.Candidate, []byte("null")) {
		return // end of candidates
	}
	var ci webrtc.ICECandidateInit
	if err := json.Unmarshal(m.Candidate, &ci); err != nil {
		e.badMessage(sig, call, "candidate is not an RTCIceCandidateInit")
		return
	}
	if ci.Candidate == "" {
		return
	}
	if err := call.pc.AddICECandidate(ci); err != nil {
		e.m.sigError(errBadSDP)
		call.log.Info("page sent a bad candidate", "error", err)
		sig.send(message{Type: msgError, Code: errBadSDP, Message: "candidate refused: " + err.Error()})
	}
}

func (e *Endpoint) badMessage(sig *signaller, call *Call, detail string) {
	e.m.sigError(errBadMessage)
	log := e.log
	if call != nil {
		log = call.log
	}
	log.Info("bad signalling message", "error", detail)
	sig.send(message{Type: msgError, Code: errBadMessage, Message: detail})
}

func isDTMF(d byte) bool {
	return d >= '0' && d <= '9' || d == '*' || d == '#' || d >= 'A' && d <= 'D'
}

// startCall answers the page's offer and starts the handler. On error the call (if
// it got that far) is released and the page told; a non-empty code means the page
// still needs an error message with that code.
func (e *Endpoint) startCall(sig *signaller, m message, handler Handler) (*Call, string, error) {
	if m.SDP == "" {
		return nil, errBadMessage, errors.New("offer without sdp")
	}
	c := &Call{
		id:        newCallID(),
		caller:    cmp.Or(m.From, DefaultCaller),
		called:    cmp.Or(m.To, e.cfg.DefaultCalled),
		ep:        e,
		sig:       sig,
		started:   time.Now(),
		source:    m.source,
		connected: make(chan struct{}),
		failed:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	c.log = e.log.With("call_id", c.id)
	c.ctx, c.cancel = context.WithCancelCause(e.ctx)
	// Admission first, before the call is registered (from then on Close may end it
	// and call release).
	if e.admit != nil {
		release, err := e.admit()
		if err != nil {
			c.cancel(err)
			if e.onRefused != nil {
				e.onRefused(Refusal{CallID: c.id, Caller: c.caller, Called: c.called, Source: c.source, Err: err})
			}
			return nil, errBusy, fmt.Errorf("webrtc: the engine cannot take the call now: %w", err)
		}
		c.release = release
	}
	if code, err := e.register(c); err != nil {
		c.cancel(err)
		if c.release != nil {
			c.release()
		}
		return nil, code, err
	}
	if code, err := c.negotiate(m.SDP); err != nil {
		c.end("failed", code, err.Error()) // the page gets the error, then state ended
		return nil, "", err
	}
	if !c.setUp(func() { c.counted = true }) {
		return nil, "", ErrCallEnded // Close ended it meanwhile and told the page
	}
	e.m.calls.Inc()
	e.m.active.Inc()
	sig.sendAnswer(message{Type: msgAnswer, SDP: c.pc.LocalDescription().SDP, CallID: c.id})
	c.log.Info("browser call", "caller", c.caller, "called", c.called, "codec", c.neg.rtpName, "dtmf_pt", c.neg.dtmfPT)
	e.wg.Go(c.watch)
	e.wg.Go(func() {
		handler(c.ctx, c)
		c.end("hangup", "", "")
	})
	return c, "", nil
}

// negotiate answers the offer (RFC 8829 JSEP: the page offers, we answer) and
// configures the media session from the result.
func (c *Call) negotiate(offer string) (string, error) {
	e := c.ep
	// The session exists before pion's callbacks are set, which read it.
	c.track = newRTPTrack(c.id)
	sess, err := e.eng.NewTransportSession(c.track, c.log)
	if err != nil {
		return errInternal, fmt.Errorf("webrtc: media session: %w", err)
	}
	if !c.setUp(func() { c.sess = sess }) {
		sess.Close()
		return errInternal, ErrCallEnded
	}
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{ICEServers: e.iceServers(time.Now())})
	if err != nil {
		return errInternal, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	if !c.setUp(func() { c.pc = pc }) {
		_ = pc.Close()
		return errInternal, ErrCallEnded
	}
	pc.OnICECandidate(c.sig.sendCandidate)
	pc.OnConnectionStateChange(c.onConnectionState)
	pc.OnTrack(c.onTrack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return errBadSDP, fmt.Errorf("webrtc: applying the offer: %w", err)
	}
	var audio *webrtc.RTPTransceiver
	for _, t := range pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeAudio && t.Mid() != "" {
			audio = t
			break
		}
	}
	if audio == nil {
		return errBadSDP, errors.New("webrtc: the offer has no audio")
	}
	// Answer with one codec and the telephone-event of its clock rate only: Chrome
	// otherwise sends its digits as telephone-event/8000 beside Opus/48000, which
	// RFC 4733 §2.1 forbids and the media session does not take.
	if _, p, err := chooseCodec(audio.Receiver().GetParameters().Codecs); err != nil {
		return errBadSDP, err
	} else if err := audio.SetCodecPreferences(withDTMF(p, audio.Receiver().GetParameters().Codecs)); err != nil {
		return errInternal, fmt.Errorf("webrtc: codec preferences: %w", err)
	}
	sender, err := pc.AddTrack(c.track)
	if err != nil {
		return errInternal, fmt.Errorf("webrtc: adding our audio track: %w", err)
	}
	c.goRun(func() { drainRTCP(sender.Read) })
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return errBadSDP, fmt.Errorf("webrtc: answering the offer: %w", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return errInternal, fmt.Errorf("webrtc: applying our answer: %w", err)
	}
	neg, _, err := chooseCodec(sender.GetParameters().Codecs)
	if err != nil {
		return errBadSDP, err
	}
	c.neg = neg
	if err := c.sess.Configure(media.Params{
		Codec:           neg.codec,
		PayloadType:     neg.pt,
		DTMFPayloadType: neg.dtmfPT,
		Ptime:           media.DefaultPtime,
		Send:            true,
		Recv:            true,
	}); err != nil {
		return errInternal, fmt.Errorf("webrtc: configuring media: %w", err)
	}
	return "", nil
}
