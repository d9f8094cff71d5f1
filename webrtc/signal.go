package webrtc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
)

// Message types of the signalling protocol (see the package documentation).
const (
	msgHello     = "hello"     // engine → page: ICE servers; the first message
	msgOffer     = "offer"     // page → engine: starts the call with an SDP offer
	msgAnswer    = "answer"    // engine → page: the SDP answer and the call id
	msgCandidate = "candidate" // both ways: one trickled ICE candidate (null: end of candidates)
	msgDTMF      = "dtmf"      // page → engine: digits typed, for a page without RTCDTMFSender
	msgHangup    = "hangup"    // page → engine: the caller hangs up
	msgState     = "state"     // engine → page: ringing, early, answered, ended
	msgError     = "error"     // engine → page: code and message; ended calls then get state ended
)

// Call states reported to the page in state messages.
const (
	stateRinging  = "ringing"
	stateEarly    = "early"
	stateAnswered = "answered"
	stateEnded    = "ended"
)

// message is every signalling message: Type says which fields are set.
type message struct {
	Type string `json:"type"`
	// offer and answer
	SDP string `json:"sdp,omitempty"`
	// offer: the number to call (Config.DefaultCalled when empty) and the caller's
	// name or number (DefaultCaller when empty)
	To   string `json:"to,omitempty"`
	From string `json:"from,omitempty"`
	// candidate: an RTCIceCandidateInit, or null for the end of candidates
	Candidate json.RawMessage `json:"candidate,omitempty"`
	// answer, state
	CallID string `json:"callId,omitempty"`
	// state
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// dtmf
	Digits string `json:"digits,omitempty"`
	// hello, welcome
	ICEServers []ICEServer `json:"iceServers,omitempty"`

	// The agent softphone's fields (agent.go).
	Token     string          `json:"token,omitempty"`     // login
	Agent     string          `json:"agent,omitempty"`     // welcome
	Presence  string          `json:"presence,omitempty"`  // presence: available or break
	OfferID   string          `json:"offerId,omitempty"`   // ring, accept, reject, cancel, talking, call_ended
	ScreenPop json.RawMessage `json:"screenPop,omitempty"` // ring: acd.ScreenPop
	On        *bool           `json:"on,omitempty"`        // mute, hold
	Seconds   float64         `json:"seconds,omitempty"`   // ring (ring timeout), wrapup, welcome (wrap-up)
	Text      string          `json:"text,omitempty"`      // whisper

	source string // not sent: the page's address, for the call
}

// signaller is one page's WebSocket. Writes come from several goroutines (the read
// loop, pion's candidate callback, the flow's Ring and Answer, the call's end), so
// they are serialised here, each bounded by DefaultWriteTimeout. Candidates gathered
// before the answer went out are held back: the page cannot add a candidate before it
// has our description.
type signaller struct {
	conn *websocket.Conn
	m    *metrics
	wg   *sync.WaitGroup // the endpoint's: owns the closing handshake's goroutine

	mu       sync.Mutex
	answered bool
	pending  []message
	closed   bool
}

func (s *signaller) send(m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeLocked(m)
}

func (s *signaller) writeLocked(m message) {
	if s.closed {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		return // every field is a plain string or raw JSON we produced
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWriteTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, b); err != nil {
		s.m.sigError(errWrite)
		s.closed = true // a page that stopped reading gets nothing more
		s.conn.CloseNow()
	}
}

// sendAnswer sends the answer, then the candidates that waited for it.
func (s *signaller) sendAnswer(m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeLocked(m)
	s.answered = true
	for _, c := range s.pending {
		s.writeLocked(c)
	}
	s.pending = nil
}

// sendCandidate trickles one of our candidates (nil: gathering is complete).
func (s *signaller) sendCandidate(c *webrtc.ICECandidate) {
	raw := json.RawMessage("null")
	if c != nil {
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		raw = b
	}
	m := message{Type: msgCandidate, Candidate: raw}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.answered {
		s.pending = append(s.pending, m)
		return
	}
	s.writeLocked(m)
}

// close ends the WebSocket after what was sent: a normal closure with reason.
func (s *signaller) close(reason string) {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return
	}
	if len(reason) > 120 { // a close frame's reason is at most 123 bytes
		reason = reason[:120]
	}
	// Close waits for the page's close frame (bounded by coder/websocket at 5 s);
	// run it so the call's teardown never waits on a page.
	s.wg.Go(func() { _ = s.conn.Close(websocket.StatusNormalClosure, reason) })
}

// originAllowed applies Config.AllowedOrigins (see there) to a WebSocket request.
func originAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser: Origin protects browsers' users only
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if len(allowed) == 0 {
		return strings.EqualFold(u.Host, r.Host)
	}
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return false
}

// offerTimeout bounds how long a page may stay connected without sending an offer:
// an idle socket holds a goroutine and a file descriptor.
const offerTimeout = 30 * time.Second
