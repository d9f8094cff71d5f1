package sip

import (
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// MessageTrace is one SIP message of a call in brief: what `hotline calls show`
// prints in a call's timeline ("← INVITE sip:100@host", "→ 200 OK (INVITE)"). It
// carries no headers or bodies beyond the essentials, so it costs little to keep.
type MessageTrace struct {
	CallID string
	At     time.Time // when it was received, or handed to the transport
	// Sent is true for a message the engine sent, false for one it received.
	Sent bool
	// Method is the method of a request; "" for a response.
	Method string
	// RequestURI is a request's Request-URI; "" for a response.
	RequestURI string
	// Status and Reason are a response's status code and reason phrase; 0 and ""
	// for a request.
	Status int
	Reason string
	// CSeqMethod is the method of the CSeq header: the request a response answers.
	CSeqMethod string
	// Remote is the peer's address (host:port), where the message came from or went.
	Remote    string
	Transport string // "udp", "tcp" or "tls"
}

// Arrow is "→" for a message the engine sent and "←" for one it received.
func (m MessageTrace) Arrow() string {
	if m.Sent {
		return "→"
	}
	return "←"
}

// Brief names the message without its Request-URI: "INVITE", "200 OK (INVITE)".
func (m MessageTrace) Brief() string {
	if m.Status == 0 {
		return m.Method
	}
	s := strconv.Itoa(m.Status)
	if m.Reason != "" {
		s += " " + m.Reason
	}
	if m.CSeqMethod != "" {
		s += " (" + m.CSeqMethod + ")"
	}
	return s
}

// String is the message in brief with its direction: "→ INVITE sip:100@host",
// "← 200 OK (INVITE)".
func (m MessageTrace) String() string {
	s := m.Arrow() + " " + m.Brief()
	if m.RequestURI != "" {
		s += " " + m.RequestURI
	}
	return s
}

// WithMessageTrace makes the server report every SIP message of its calls to fn:
// the requests and responses of INVITE dialogs (INVITE, ACK, BYE, CANCEL, INFO,
// REFER, NOTIFY, PRACK, UPDATE), in and out, inbound calls once they are in the
// dialog table (their INVITE and 100 Trying are reported then) and outbound calls
// from their INVITE. Nothing else is reported: OPTIONS, REGISTER and requests that
// match no call never reach fn, so a flood costs nothing here. fn runs on the SIP
// path, on whatever goroutine sent or received the message: it must return at once
// (queue the trace, never wait) and must not call back into the server.
// Retransmissions of a 2xx by the transaction layer are not reported.
func WithMessageTrace(fn func(MessageTrace)) Option {
	return func(s *Server) { s.trace = fn }
}

// traceMethods are the methods of INVITE dialogs: the ones a call's timeline shows.
var traceMethods = map[gosip.RequestMethod]bool{
	gosip.INVITE: true, gosip.ACK: true, gosip.BYE: true, gosip.CANCEL: true, gosip.INFO: true,
	gosip.REFER: true, gosip.NOTIFY: true, gosip.PRACK: true, gosip.UPDATE: true,
}

// traceRequest reports a request of a call: sent by us, or received in a dialog
// we know (lookup found its call).
func (s *Server) traceRequest(req *gosip.Request, sent bool, at time.Time) {
	if s.trace == nil || req == nil || !traceMethods[req.Method] {
		return
	}
	m := MessageTrace{CallID: callID(req), At: at, Sent: sent, Method: string(req.Method),
		RequestURI: req.Recipient.String(), CSeqMethod: cseqMethod(req.CSeq()),
		Transport: strings.ToLower(req.Transport())}
	if sent {
		m.Remote = req.Destination()
	} else {
		m.Remote = req.Source()
	}
	s.trace(m)
}

// traceResponse reports a response to a request of a call: one we received (to a
// request we sent) or one we sent (to req, which came from the peer).
func (s *Server) traceResponse(res *gosip.Response, req *gosip.Request, sent bool, at time.Time) {
	if s.trace == nil || res == nil {
		return
	}
	cs := cseqMethod(res.CSeq())
	if !traceMethods[gosip.RequestMethod(cs)] {
		return
	}
	m := MessageTrace{At: at, Sent: sent, Status: res.StatusCode, Reason: res.Reason,
		CSeqMethod: cs, Transport: strings.ToLower(res.Transport())}
	if h := res.CallID(); h != nil {
		m.CallID = h.Value()
	}
	switch {
	case !sent:
		m.Remote = res.Source()
	case req != nil:
		m.Remote = req.Source()
	default:
		m.Remote = res.Destination()
	}
	s.trace(m)
}

// tracing says whether a response the server is about to send to req is to be
// reported: req belongs to a call in the dialog table. Responses to strangers
// (rejected INVITEs, 481s, OPTIONS) are not reported.
func (s *Server) tracing(req *gosip.Request) bool {
	if s.trace == nil || !traceMethods[req.Method] {
		return false
	}
	k, ok := requestDialogKey(req)
	if !ok {
		return false
	}
	s.mu.Lock()
	c := s.calls[k]
	s.mu.Unlock()
	return c != nil
}

// traceInvite reports an inbound call's INVITE and its 100 Trying once the call is
// in the dialog table: before that the INVITE might have been a stranger's.
func (s *Server) traceInvite(req *gosip.Request, received, tried time.Time) {
	if s.trace == nil {
		return
	}
	s.traceRequest(req, false, received)
	s.trace(MessageTrace{CallID: callID(req), At: tried, Sent: true, Status: 100, Reason: "Trying",
		CSeqMethod: string(gosip.INVITE), Remote: req.Source(), Transport: strings.ToLower(req.Transport())})
}

// traceCanceled reports a caller's CANCEL and the transaction layer's answers to
// it (200 to the CANCEL, 487 to the INVITE), which never pass through send.
func (s *Server) traceCanceled(c *Call, cancel *gosip.Request) {
	if s.trace == nil {
		return
	}
	now := time.Now()
	remote, transport := c.invite.Source(), strings.ToLower(c.invite.Transport())
	if cancel != nil {
		s.traceRequest(cancel, false, now)
	}
	for _, r := range []struct {
		code   int
		reason string
		method gosip.RequestMethod
	}{{200, "OK", gosip.CANCEL}, {487, "Request Terminated", gosip.INVITE}} {
		s.trace(MessageTrace{CallID: c.info.CallID, At: now, Sent: true, Status: r.code, Reason: r.reason,
			CSeqMethod: string(r.method), Remote: remote, Transport: transport})
	}
}

func cseqMethod(h *gosip.CSeqHeader) string {
	if h == nil {
		return ""
	}
	return string(h.MethodName)
}
