package sip

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/sip/sdp"
)

// onAck hands the ACK to whoever waits for it (Answer or a re-INVITE). Retransmitted
// ACKs find nobody waiting and are dropped.
func (c *Call) onAck(req *gosip.Request) {
	c.mu.Lock()
	p := c.pending
	c.mu.Unlock()
	if p == nil || req.CSeq() == nil || req.CSeq().SeqNo != p.cseq {
		return
	}
	select {
	case p.ch <- req:
	default:
	}
}

// onBye ends the call at the caller's request (RFC 3261 §15.1.2). A BYE on an early
// dialog also terminates the pending INVITE with 487.
func (c *Call) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	_ = c.srv.respond(tx, req, 200, "OK", nil)
	c.mu.Lock()
	st := c.state
	if st != stateEnded {
		c.hangingUp = true
	}
	c.mu.Unlock()
	if st == stateEnded {
		return
	}
	if st < stateAnswered {
		_ = c.srv.send(c.tx, c.invite, c.inviteResponse(487, "Request Terminated", nil))
	}
	c.log.Info("caller hung up")
	c.terminate(causeCallerBye)
}

// onInfo takes DTMF sent as SIP INFO (application/dtmf-relay, application/dtmf).
func (c *Call) onInfo(req *gosip.Request, tx gosip.ServerTransaction) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	if len(req.Body()) == 0 {
		_ = c.srv.respond(tx, req, 200, "OK", nil) // an empty INFO is a keep-alive probe
		return
	}
	d, _, err := dtmf.ParseInfo(ct, req.Body())
	switch {
	case errors.Is(err, dtmf.ErrUnsupportedType):
		_ = c.srv.respond(tx, req, 415, "Unsupported Media Type", nil,
			gosip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
	case err != nil:
		c.log.Info("malformed DTMF INFO", "error", err)
		_ = c.srv.respond(tx, req, 400, "Bad Request", nil, warning(399, c.srv.cfg.Host, err.Error()))
	default:
		_ = c.srv.respond(tx, req, 200, "OK", nil)
		c.media.InjectDigit(d)
	}
}

// onReinvite handles a re-INVITE in a confirmed dialog: hold and resume (direction
// attributes), a changed remote address, a codec change, or an empty re-INVITE asking
// us to offer (RFC 3261 §14.2, RFC 3264 §8). A refused re-offer leaves the call as it
// was.
func (c *Call) onReinvite(req *gosip.Request, tx gosip.ServerTransaction) {
	c.mu.Lock()
	switch {
	case c.state == stateEnded:
		c.mu.Unlock()
		_ = c.srv.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	case req.CSeq().SeqNo <= c.remoteCSeq:
		c.mu.Unlock()
		// RFC 3261 §12.2.2: out-of-order in-dialog request.
		_ = c.srv.respond(tx, req, 500, "Server Internal Error", nil, gosip.NewHeader("Retry-After", "1"))
		return
	case c.state != stateConfirmed || c.reinviting:
		c.mu.Unlock()
		// RFC 3261 §14.2: an INVITE arrived while another is still pending.
		_ = c.srv.respond(tx, req, 500, "Server Internal Error", nil, gosip.NewHeader("Retry-After", "2"))
		return
	}
	c.remoteCSeq = req.CSeq().SeqNo
	c.reinviting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reinviting = false
		c.mu.Unlock()
	}()

	if len(req.Body()) == 0 {
		c.reinviteWithoutOffer(req, tx)
		return
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		c.log.Warn("re-INVITE with malformed SDP", "error", err)
		_ = c.srv.respond(tx, req, 400, "Bad Request", nil, warning(399, c.srv.cfg.Host, "Malformed SDP: "+err.Error()))
		return
	}
	neg, err := sdp.Negotiate(offer, c.srv.sdpConfig())
	if err != nil {
		_ = c.srv.respond(tx, req, 488, "Not Acceptable Here", nil, c.srv.mediaWarning(err))
		return
	}
	c.mu.Lock()
	prev := c.neg
	c.mu.Unlock()
	if err := c.applyNegotiated(neg); err != nil {
		_ = c.srv.respond(tx, req, 488, "Not Acceptable Here", nil, c.srv.mediaWarning(err))
		return
	}
	c.mu.Lock()
	c.offer = offer
	answer := sdp.Answer(offer, neg, c.localMediaAddr(), c.origin)
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
	if _, err := c.send2xx(c.ctx, tx, req, res, req.CSeq().SeqNo, nil); err != nil && !errors.Is(err, ErrCallEnded) {
		c.log.Warn("no ACK for re-INVITE 200 OK", "error", err)
	}
}

// reinviteWithoutOffer answers an empty re-INVITE with our current session as a fresh
// offer; the caller's answer arrives in the ACK (RFC 3261 §14.2).
func (c *Call) reinviteWithoutOffer(req *gosip.Request, tx gosip.ServerTransaction) {
	c.mu.Lock()
	offer := sdp.Offer(c.srv.sdpConfig(), c.localMediaAddr(), c.nextOrigin(), sdp.SendRecv)
	c.local = offer
	c.mu.Unlock()
	res := gosip.NewResponseFromRequest(req, 200, "OK", offer.Marshal())
	c.decorate(res, 200, res.Body())
	ack, err := c.send2xx(c.ctx, tx, req, res, req.CSeq().SeqNo, nil)
	if err != nil {
		return
	}
	if err := c.takeAnswer(ack); err != nil {
		c.log.Warn("re-INVITE: unusable answer in ACK; keeping the previous media", "error", err)
	}
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

// sendBye sends BYE within the dialog (RFC 3261 §15.1.1) and waits for its final
// response, at most 32 s (Timer F) or until ctx ends.
func (c *Call) sendBye(ctx context.Context) error {
	c.mu.Lock()
	c.localCSeq++
	cseq := c.localCSeq
	target := c.remoteTarget
	c.mu.Unlock()

	req := gosip.NewRequest(gosip.BYE, *target.Clone())
	from := c.invite.To().AsFrom()
	from.Params.Add("tag", c.key.localTag)
	to := c.invite.From().AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(gosip.HeaderClone(c.invite.CallID()))
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: cseq, MethodName: gosip.BYE})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(gosip.NewHeader("User-Agent", c.srv.cfg.UserAgent))
	// The UAS route set is the INVITE's Record-Route list in order (RFC 3261 §12.1.1).
	routes := c.invite.GetHeaders("Record-Route")
	for _, rr := range routes {
		req.AppendHeader(gosip.NewHeader("Route", rr.Value()))
	}
	req.SetTransport(c.invite.Transport())
	if len(routes) == 0 {
		// Send where the INVITE came from: the Contact of a caller behind NAT is often
		// unreachable, its signalling source address is not.
		req.SetDestination(c.invite.Source())
	} else if r := req.Route(); r != nil {
		req.SetDestination(r.Address.HostPort())
	}
	req.SetBody(nil)

	ctx, cancel := context.WithTimeout(ctx, 64*gosip.T1)
	defer cancel()
	tx, err := c.srv.client.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return fmt.Errorf("send BYE: %w", err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			if !res.IsSuccess() {
				c.log.Info("BYE answered with an error", "status", res.StatusCode)
			}
			return nil
		case <-tx.Done():
			return fmt.Errorf("BYE transaction: %w", tx.Err())
		case <-ctx.Done():
			return fmt.Errorf("BYE: no final response: %w", ctx.Err())
		}
	}
}
