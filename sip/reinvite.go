package sip

import (
	"context"
	"errors"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

// onReinvite handles an INVITE in a confirmed dialog: hold and resume (direction
// attributes), a changed remote address, a codec change, or an empty re-INVITE asking
// us to offer (RFC 3261 §14.2, RFC 3264 §8). A refused re-offer leaves the call as it
// was.
func (c *Call) onReinvite(req *gosip.Request, tx gosip.ServerTransaction) {
	seq := req.CSeq().SeqNo
	// A caller may send a re-INVITE right after the ACK of our 2xx, and the two can
	// arrive in either order: UDP reorders, and sipgo handles every request on its
	// own goroutine. Its higher CSeq shows the caller got our 2xx, so wait until that
	// ACK has been applied (at most AckTimeout, after which the call ends) rather than
	// refuse the re-INVITE with 500 as if two INVITEs overlapped (RFC 3261 §14.2).
	c.mu.Lock()
	p := c.pending
	c.mu.Unlock()
	if p != nil && seq > p.cseq {
		select {
		case <-p.done:
		case <-c.ctx.Done():
		}
	}
	c.mu.Lock()
	switch {
	case c.state == stateEnded || c.hangingUp:
		c.mu.Unlock()
		_ = c.srv.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	case seq <= c.remoteCSeq:
		c.mu.Unlock()
		// RFC 3261 §12.2.2: out-of-order in-dialog request.
		_ = c.srv.respond(tx, req, 500, "Server Internal Error", nil, gosip.NewHeader("Retry-After", "1"))
		return
	case c.state != stateConfirmed || c.reinviting:
		c.mu.Unlock()
		// RFC 3261 §14.2: an INVITE arrived before we answered the previous one (or
		// on an early dialog, where §14.1 forbids it).
		_ = c.srv.respond(tx, req, 500, "Server Internal Error", nil, gosip.NewHeader("Retry-After", "2"))
		return
	}
	c.remoteCSeq = seq
	c.reinviting = true
	c.mu.Unlock()

	if len(req.Body()) == 0 {
		c.reinviteWithoutOffer(req, tx)
		return
	}
	c.reinviteWithOffer(req, tx)
}

// refuseReinvite ends the re-INVITE's processing and then sends its error response,
// in that order: a caller may send its next re-INVITE as soon as it reads the
// response, and must find the dialog free.
func (c *Call) refuseReinvite(req *gosip.Request, tx gosip.ServerTransaction, code int, reason string, hdrs ...gosip.Header) {
	c.mu.Lock()
	c.reinviting = false
	c.mu.Unlock()
	_ = c.srv.respond(tx, req, code, reason, nil, hdrs...)
}

// reinviteWithOffer answers a re-offer (RFC 3264 §8).
func (c *Call) reinviteWithOffer(req *gosip.Request, tx gosip.ServerTransaction) {
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		c.log.Warn("re-INVITE with malformed SDP", "error", err)
		c.refuseReinvite(req, tx, 400, "Bad Request", warning(399, c.srv.cfg.Host, "Malformed SDP: "+err.Error()))
		return
	}
	c.mu.Lock()
	prev := c.neg
	c.mu.Unlock()
	neg, err := sdp.Negotiate(offer, c.sdpConfig())
	if err == nil {
		err = reanswerCrypto(&neg, prev) // SRTP: keep or redraw our key (srtp.go)
	}
	if err != nil {
		c.log.Info("re-INVITE refused: no acceptable media", "error", err)
		c.refuseReinvite(req, tx, 488, "Not Acceptable Here", c.srv.mediaWarning(err))
		return
	}
	if err := c.applyNegotiated(&neg, true); err != nil {
		c.refuseReinvite(req, tx, 488, "Not Acceptable Here", c.srv.mediaWarning(err))
		return
	}
	c.mu.Lock()
	c.offer = offer
	answer := sdp.Answer(offer, neg, c.localMediaAddr(), c.origin)
	// RFC 3264 §8: the o= version goes up by one only when the description changes.
	if c.local == nil || string(withoutOrigin(answer)) != string(withoutOrigin(c.local)) {
		answer.Origin = c.nextOrigin()
	}
	c.local = answer
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone() // target refresh, RFC 3261 §12.2.2
	}
	c.mu.Unlock()
	c.logMediaChange(prev, neg)

	res := gosip.NewResponseFromRequest(req, 200, "OK", answer.Marshal())
	c.decorate(res, 200, res.Body())
	p := c.awaitAck(req.CSeq().SeqNo)
	_, err = c.send2xx(c.ctx, tx, req, res, p, nil)
	c.ackDone(p)
	if err != nil {
		c.reinviteFailed(err)
	}
}

// reinviteWithoutOffer answers an empty re-INVITE with a fresh offer; the caller's
// answer arrives in the ACK (RFC 3261 §14.2).
func (c *Call) reinviteWithoutOffer(req *gosip.Request, tx gosip.ServerTransaction) {
	c.mu.Lock()
	offer := c.offerSDP(sdp.SendRecv)
	c.local = offer
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	}
	c.mu.Unlock()
	res := gosip.NewResponseFromRequest(req, 200, "OK", offer.Marshal())
	c.decorate(res, 200, res.Body())
	p := c.awaitAck(req.CSeq().SeqNo)
	ack, err := c.send2xx(c.ctx, tx, req, res, p, nil)
	if err == nil {
		if err := c.takeAnswer(ack); err != nil {
			c.log.Warn("re-INVITE: unusable answer in ACK; keeping the previous media", "error", err)
		}
	}
	c.ackDone(p) // only now: a re-INVITE that overtook this ACK sees its answer applied
	if err != nil {
		c.reinviteFailed(err)
	}
}

// reinviteFailed ends a call whose re-INVITE 2xx was never ACKed: RFC 3261 §13.3.1.4
// says the session SHOULD then be terminated with a BYE.
func (c *Call) reinviteFailed(err error) {
	if !errors.Is(err, errNoAck) {
		return // the call ended meanwhile, or the 2xx could not be sent
	}
	c.log.Warn("no ACK for re-INVITE 200 OK; ending call")
	_ = c.hangup(context.Background(), causeNoAck, 0)
}

func (c *Call) logMediaChange(prev, now sdp.Negotiated) {
	switch {
	case prev.Direction == sdp.SendRecv && now.Direction != sdp.SendRecv:
		c.log.Info("call put on hold by caller", "direction", now.Direction.String())
	case prev.Direction != sdp.SendRecv && now.Direction == sdp.SendRecv:
		c.log.Info("call resumed by caller")
	}
	if prev.Remote != now.Remote {
		c.log.Info("caller moved its media", "remote", now.Remote.String())
	}
	if prev.Codec.Name != now.Codec.Name {
		c.log.Info("codec changed", "codec", now.Codec.Name)
	}
}

func withoutOrigin(s *sdp.Session) []byte {
	cp := *s
	cp.Origin = sdp.Origin{}
	return cp.Marshal()
}
