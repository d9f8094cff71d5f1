package sip

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media/dtmf"
)

// onAck hands the ACK to whoever waits for it (Answer or a re-INVITE). Retransmitted
// ACKs find nobody waiting and are dropped.
func (c *Call) onAck(req *gosip.Request) {
	if req.CSeq() == nil {
		return
	}
	c.mu.Lock()
	p := c.pending
	answered := c.state == stateAnswered
	c.mu.Unlock()
	if answered && req.CSeq().SeqNo == c.invite.CSeq().SeqNo {
		// The ACK of our first 2xx confirms the dialog (RFC 3261 §13.3.1.4) even if
		// Answer stopped waiting for it (its ctx ended): a hang-up then need not wait
		// AckTimeout before its BYE.
		c.markConfirmed()
	}
	if p == nil || req.CSeq().SeqNo != p.cseq {
		return
	}
	select {
	case p.ch <- req:
	default:
	}
}

// inOrder applies RFC 3261 §12.2.2 to a new in-dialog request other than INVITE: a
// CSeq lower than the last one seen is out of order and gets 500; a higher one
// becomes the remote sequence number.
func (c *Call) inOrder(req *gosip.Request, tx gosip.ServerTransaction) bool {
	seq := req.CSeq().SeqNo
	c.mu.Lock()
	ok := seq >= c.remoteCSeq
	if ok {
		c.remoteCSeq = seq
	}
	c.mu.Unlock()
	if !ok {
		_ = c.srv.respond(tx, req, 500, "Server Internal Error", nil, gosip.NewHeader("Retry-After", "1"))
	}
	return ok
}

// onBye ends the call at the caller's request (RFC 3261 §15.1.2). A BYE on an early
// dialog also terminates the pending INVITE with 487.
func (c *Call) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	if !c.inOrder(req, tx) {
		return
	}
	_ = c.srv.respond(tx, req, 200, "OK", nil)
	c.mu.Lock()
	st, already := c.state, c.hangingUp
	if st != stateEnded {
		c.hangingUp = true
	}
	c.mu.Unlock()
	if st == stateEnded {
		return
	}
	// Unless our own hang-up already sent a final response to the INVITE.
	if st < stateAnswered && !already {
		_ = c.srv.send(c.tx, c.invite, c.inviteResponse(487, "Request Terminated", nil))
	}
	c.log.Info("caller hung up")
	c.terminate(causeCallerBye)
}

// onInfo takes DTMF sent as SIP INFO (application/dtmf-relay, application/dtmf).
func (c *Call) onInfo(req *gosip.Request, tx gosip.ServerTransaction) {
	if !c.inOrder(req, tx) {
		return
	}
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

	ctx, cancel := context.WithTimeout(ctx, 64*c.srv.cfg.T1) // Timer F
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
