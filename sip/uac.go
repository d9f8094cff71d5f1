package sip

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

// maxAuthAttempts bounds how often one INVITE is resent with credentials: once for
// the challenge, once more for a nonce that went stale meanwhile (RFC 7616 §3.3).
const maxAuthAttempts = 2

// dialer runs one outbound INVITE transaction to its end (RFC 3261 §13.2.2 and
// §17.1.1): provisional responses, the answer, failures, our CANCEL and the answer
// that crosses it. It lives on Dial's goroutine.
type dialer struct {
	c      *Call
	p      *dialPlan
	invite *gosip.Request // the INVITE in flight (resent with credentials after 401/407)
	tx     gosip.ClientTransaction

	provisional bool       // a provisional response arrived: CANCEL is allowed (§9.1)
	authTries   int        // INVITEs resent with credentials
	cancel      *CallError // why we gave up, once we did
	cancelTx    gosip.ClientTransaction
	giveUp      *time.Timer // 64*T1 after deciding to cancel, the wait for a final response ends
	early       earlyMedia
}

// earlyMedia is the early session last applied from a 183 (RFC 3960 §3).
type earlyMedia struct {
	tag    string
	origin sdp.Origin
	answer *sdp.Session
}

// dial sends the INVITE and waits for the attempt's outcome. On success the call
// is confirmed and in the dialog table; on failure it is terminated.
func (c *Call) dial(ctx context.Context, p *dialPlan) error {
	d := &dialer{c: c, p: p, invite: c.invite}
	c.log.Info("dialling", "to", c.info.To, "from", c.info.From, "trunk", p.trunkName,
		"transport", p.transport, "next_hop", p.dest, "ring_timeout", p.timeout)
	err := d.run(ctx)
	if d.cancelTx != nil {
		d.cancelTx.Terminate()
	}
	if d.giveUp != nil {
		d.giveUp.Stop()
	}
	if err == nil {
		return nil
	}
	cause := resultOf(err)
	c.mu.Lock()
	if c.wantCause == causeShutdown {
		cause = causeShutdown
	}
	established := c.state >= stateAnswered
	c.mu.Unlock()
	if !established {
		c.log.Info("outbound call failed", "result", cause, "error", err)
	}
	c.terminate(cause)
	return err
}

func (d *dialer) run(ctx context.Context) error {
	c, s := d.c, d.c.srv
	if err := d.send(d.invite); err != nil {
		return &CallError{Err: ErrUnavailable, Reason: "INVITE not sent", Cause: err}
	}
	ring := time.NewTimer(d.p.timeout)
	defer ring.Stop()
	ctxDone, hungUp := ctx.Done(), c.ctx.Done()
	for {
		var giveUp <-chan time.Time
		if d.giveUp != nil {
			giveUp = d.giveUp.C
		}
		var cancelRes <-chan *gosip.Response
		if d.cancelTx != nil {
			cancelRes = d.cancelTx.Responses()
		}
		select {
		case res := <-d.tx.Responses():
			if done, err := d.onResponse(res); done {
				return err
			}
		case <-d.tx.Done():
			if d.cancel != nil {
				return d.cancel
			}
			return &CallError{Err: ErrUnavailable, Reason: "no response to INVITE", Cause: d.tx.Err()}
		case <-ctxDone:
			ctxDone = nil
			d.startCancel(&CallError{Err: ErrCanceled, Reason: "canceled before answer", Cause: ctx.Err()})
		case <-ring.C:
			d.startCancel(&CallError{Err: ErrNoAnswer, Reason: fmt.Sprintf("no answer within %v", d.p.timeout)})
		case <-hungUp:
			hungUp = nil
			d.startCancel(&CallError{Err: ErrCanceled, Reason: "hung up before answer", Cause: ErrCallEnded})
		case <-giveUp:
			// RFC 3261 §9.1: a UAC that sent CANCEL cannot count on a 487 (an RFC 2543
			// UAS sends none); after 64*T1 it gives up on the INVITE.
			d.tx.Terminate()
			return d.cancel
		case <-s.halt.Done():
			d.tx.Terminate()
			if d.cancel != nil {
				return d.cancel
			}
			return &CallError{Err: ErrCanceled, Reason: "server shut down"}
		case res := <-cancelRes:
			s.traceResponse(res, nil, false, time.Now())
			if res.StatusCode >= 300 {
				// 481: the INVITE completed meanwhile; its final response is on its way.
				c.log.Debug("CANCEL answered", "status", res.StatusCode)
			}
		}
	}
}

// send starts a client transaction for an INVITE (the first, or one resent with
// credentials). A 2xx retransmitted after the first goes to the hook (RFC 6026 §7.2:
// the transaction stays Accepted for 64*T1 and passes them up).
func (d *dialer) send(inv *gosip.Request) error {
	if err := d.c.srv.secureHop(d.c.ctx, inv, d.c.trunk); err != nil { // TLS trunks (trunktls.go)
		return err
	}
	tx, err := d.c.srv.client.TransactionRequest(context.Background(), inv, sipgo.ClientRequestAddVia)
	if err != nil {
		return err
	}
	d.c.srv.traceRequest(inv, true, time.Now())
	c := d.c
	tx.OnRetransmission(func(res *gosip.Response) { c.on2xxAgain(res) })
	d.invite, d.tx = inv, tx
	c.mu.Lock()
	c.invite = inv
	c.mu.Unlock()
	return nil
}

func (d *dialer) onResponse(res *gosip.Response) (done bool, err error) {
	c := d.c
	c.srv.traceResponse(res, nil, false, time.Now())
	if ap, err := netip.ParseAddrPort(res.Source()); err == nil {
		c.mu.Lock()
		c.sigSource = ap.Addr()
		c.mu.Unlock()
	}
	switch {
	case res.IsProvisional():
		d.onProvisional(res)
		return false, nil
	case res.IsSuccess():
		if d.cancel != nil {
			// The 2xx crossed our CANCEL (§9.1): the callee's side is up. Confirm the
			// dialog and end it at once (§15).
			c.log.Info("answered after we canceled: ACK and BYE", "status", res.StatusCode)
			d.ackAndBye(res)
			return true, d.cancel
		}
		c.notePeerAllow(res)
		return true, d.establish(res)
	}
	return d.onFailure(res)
}

// onProvisional handles 1xx (§13.2.2.1): CANCEL becomes possible, 18x report progress,
// a 183 with SDP starts early media.
func (d *dialer) onProvisional(res *gosip.Response) {
	c := d.c
	d.provisional = true
	if d.cancel != nil {
		if d.cancelTx == nil {
			d.sendCancel()
		}
		return
	}
	if res.StatusCode == 100 {
		return
	}
	early := false
	if len(res.Body()) > 0 && d.p.early == EarlyMediaAccept && isSDP(res) {
		early = d.startEarly(res)
	}
	c.mu.Lock()
	if c.state < stateRinging {
		c.state = stateRinging
	}
	if early {
		c.state = stateEarly
	}
	c.mu.Unlock()
	c.log.Info("callee progress", "status", res.StatusCode, "early_media", early)
	if f := d.p.req.OnProgress; f != nil {
		f(Progress{Status: res.StatusCode, Reason: res.Reason, EarlyMedia: early, Call: c})
	}
}

func isSDP(m *gosip.Response) bool {
	h := m.ContentType()
	if h == nil {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Value())
	return err == nil && mt == "application/sdp"
}

// startEarly applies the SDP of a 183 as early media: we listen (send nothing) and
// keep the RTP timeout off until the answer. A later early SDP from another fork, or
// a new version from the same one, replaces it (RFC 3960 §3).
func (d *dialer) startEarly(res *gosip.Response) bool {
	c := d.c
	ans, err := sdp.Parse(res.Body())
	if err != nil {
		c.log.Info("early media: malformed SDP ignored", "error", err)
		return false
	}
	tag := tagOfTo(res.To())
	if d.early.answer != nil && d.early.tag == tag && d.early.origin == ans.Origin {
		return false // a repeated 183
	}
	neg, err := sdp.NegotiateAnswer(c.local, ans, c.sdpConfig())
	if err != nil {
		c.log.Info("early media: unusable SDP ignored", "error", err)
		return false
	}
	if err := c.configure(&neg, false, false); err != nil {
		c.log.Warn("early media: media setup failed", "error", err)
		return false
	}
	c.media.Start()
	d.early = earlyMedia{tag: tag, origin: ans.Origin, answer: ans}
	return true
}

func tagOfTo(to *gosip.ToHeader) string {
	if to == nil {
		return ""
	}
	tag, _ := to.Params.Get("tag")
	return tag
}

// onFailure handles a final response of 300 or more: a challenge is answered with
// the trunk's credentials (RFC 3261 §22.2, a new INVITE with a higher CSeq, §22.1);
// anything else ends the attempt. sipgo's transaction has ACKed it (§17.1.1.3).
func (d *dialer) onFailure(res *gosip.Response) (bool, error) {
	c := d.c
	if (res.StatusCode == 401 || res.StatusCode == 407) && d.cancel == nil && d.authTries < maxAuthAttempts {
		next := d.invite.Clone()
		next.RemoveHeader("Via")
		if err := c.auth.authorize(next, res); err != nil {
			c.log.Warn("cannot answer the challenge", "status", res.StatusCode, "error", err)
			return true, &CallError{Status: res.StatusCode, Reason: res.Reason, Err: ErrAuthFailed, Cause: err}
		}
		next.CSeq().SeqNo = c.nextCSeq()
		d.authTries++
		d.provisional = false
		d.early = earlyMedia{}
		if err := d.send(next); err != nil {
			return true, &CallError{Err: ErrUnavailable, Reason: "INVITE not sent", Cause: err}
		}
		c.log.Debug("INVITE resent with credentials", "challenge", res.StatusCode)
		return false, nil
	}
	if d.cancel != nil {
		return true, d.cancel
	}
	return true, statusError(res.StatusCode, res.Reason)
}

// startCancel gives up on the INVITE: CANCEL now if a provisional response arrived,
// else as soon as one does (§9.1: not before). The attempt ends with the final
// response, or 64*T1 later.
func (d *dialer) startCancel(why *CallError) {
	if d.cancel != nil {
		return
	}
	d.cancel = why
	d.giveUp = time.NewTimer(64 * d.c.srv.cfg.T1)
	if d.provisional {
		d.sendCancel()
	}
}

// sendCancel sends CANCEL for the INVITE in flight (RFC 3261 §9.1): the same
// Request-URI, Call-ID, From, To, CSeq number and top Via (branch), and its Route.
// A CANCEL cannot be resubmitted, so it carries no new credentials (§22.1).
func (d *dialer) sendCancel() {
	inv := d.invite
	req := gosip.NewRequest(gosip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(gosip.HeaderClone(inv.Via()))
	req.AppendHeader(gosip.HeaderClone(inv.From()))
	req.AppendHeader(gosip.HeaderClone(inv.To()))
	req.AppendHeader(gosip.HeaderClone(inv.CallID()))
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: gosip.CANCEL})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	gosip.CopyHeaders("Route", inv, req)
	req.AppendHeader(gosip.NewHeader("User-Agent", d.c.srv.cfg.UserAgent))
	req.SetBody(nil)
	req.SetTransport(inv.Transport())
	req.SetDestination(inv.Destination())
	req.Laddr = inv.Laddr
	tx, err := d.c.srv.client.TransactionRequest(context.Background(), req, keepVia)
	if err != nil {
		d.c.log.Warn("CANCEL not sent", "error", err)
		return
	}
	d.cancelTx = tx
	d.c.srv.traceRequest(req, true, time.Now())
	d.c.log.Info("CANCEL sent", "reason", d.cancel.Reason)
}

// keepVia sends a request as built: its Via is already the right one.
func keepVia(*sipgo.Client, *gosip.Request) error { return nil }

// establish turns a 2xx into the confirmed dialog (RFC 3261 §12.1.2, §13.2.2.4): the
// route set, the remote target, the answer (RFC 3264 §5: our offer was in the
// INVITE), the ACK. A usable answer starts the media; an unusable one is ACKed and
// the call ended with BYE, as is a call hung up while it rang.
func (d *dialer) establish(res *gosip.Response) error {
	c, s := d.c, d.c.srv
	tag := tagOfTo(res.To())
	dlg, target := d.c.uacDialog(res, d.invite)
	ack := c.newAck(res, d.invite, dlg, target)
	c.mu.Lock()
	c.key = dialogKey{callID: c.info.CallID, localTag: tagOfFrom(d.invite.From()), remoteTag: tag}
	c.dlg, c.remoteTarget, c.ack = dlg, target, ack
	c.answeredAt = time.Now()
	c.state = stateAnswered
	hungUp := c.hangingUp
	c.mu.Unlock()

	neg, negErr := d.answer(res)
	if tag == "" {
		negErr = errors.New("2xx without a To tag")
	}
	// In the dialog table before the ACK leaves: the callee may send a re-INVITE
	// or BYE as soon as it has the ACK.
	registered := s.registerOutbound(c)
	s.writeAck(ack)
	switch {
	case !registered:
		c.markConfirmed()
		_ = c.sendBye(s.halt)
		c.wantShutdown()
		return &CallError{Status: res.StatusCode, Err: ErrCanceled, Reason: "server shut down"}
	case hungUp:
		c.markConfirmed()
		_ = c.sendBye(context.WithoutCancel(s.halt))
		return &CallError{Status: res.StatusCode, Err: ErrCanceled, Reason: "hung up before answer", Cause: ErrCallEnded}
	case negErr != nil:
		c.markConfirmed()
		c.log.Warn("answer unusable: ending the call", "error", negErr)
		_ = c.sendBye(context.WithoutCancel(s.halt))
		return &CallError{Status: res.StatusCode, Reason: res.Reason, Err: ErrMedia, Cause: negErr}
	}
	if err := c.configure(&neg, true, true); err != nil {
		c.markConfirmed()
		_ = c.sendBye(context.WithoutCancel(s.halt))
		return &CallError{Status: res.StatusCode, Reason: res.Reason, Err: ErrMedia, Cause: err}
	}
	c.media.Start()
	c.markConfirmed()
	s.metrics.outboundSetup(d.p.trunkName, time.Since(c.received))
	c.log.Info("call answered", "codec", c.Codec(), "status", res.StatusCode)
	return nil
}

// wantShutdown makes the closing server's shutdown the cause of a call it refused.
func (c *Call) wantShutdown() {
	c.mu.Lock()
	c.wantCause = causeShutdown
	c.mu.Unlock()
}

func tagOfFrom(from *gosip.FromHeader) string {
	if from == nil {
		return ""
	}
	tag, _ := from.Params.Get("tag")
	return tag
}

// answer negotiates the 2xx's SDP against our offer. A 2xx without SDP is wrong
// (the answer must be in it, RFC 3261 §13.2.1, as 183s are unreliable without RFC
// 3262), but a UA that put it in its 183 and did not repeat it is common enough:
// that early answer from the same callee is taken.
func (d *dialer) answer(res *gosip.Response) (sdp.Negotiated, error) {
	c := d.c
	var ans *sdp.Session
	switch {
	case len(res.Body()) > 0:
		if !isSDP(res) {
			return sdp.Negotiated{}, errors.New("2xx body is not SDP")
		}
		var err error
		if ans, err = sdp.Parse(res.Body()); err != nil {
			return sdp.Negotiated{}, fmt.Errorf("malformed SDP answer: %w", err)
		}
	case d.early.answer != nil && d.early.tag == tagOfTo(res.To()):
		ans = d.early.answer
	default:
		return sdp.Negotiated{}, errors.New("2xx carries no SDP answer")
	}
	neg, err := sdp.NegotiateAnswer(c.local, ans, c.sdpConfig())
	if err == nil {
		err = c.checkSRTPAnswer(&neg)
	}
	return neg, err
}

// uacDialog is the dialog a 2xx (or a forked one) establishes for us (§12.1.2): the
// route set is its Record-Route list reversed, the remote target its Contact.
func (c *Call) uacDialog(res *gosip.Response, inv *gosip.Request) (dialog, gosip.Uri) {
	d := dialog{
		local:    *inv.From(),
		remote:   *res.To(),
		routes:   recordRoutes(res.GetHeaders("Record-Route"), true),
		viaLocal: true,
	}
	d.local.Address, d.remote.Address = *d.local.Address.Clone(), *d.remote.Address.Clone()
	d.local.Params, d.remote.Params = d.local.Params.Clone(), d.remote.Params.Clone()
	if len(d.routes) == 0 {
		d.nextHop = c.nextHop // DialRequest.NextHop, if any
	}
	target := *res.To().Address.Clone()
	if ct := res.Contact(); ct != nil {
		target = *ct.Address.Clone()
	}
	return d, target
}

// newAck builds the ACK of a 2xx (RFC 3261 §13.2.2.4): a request of the dialog with
// the INVITE's CSeq number, its credentials, and no body (the offer was in the
// INVITE). Its Via is fixed here so every retransmission is the same message.
func (c *Call) newAck(res *gosip.Response, inv *gosip.Request, d dialog, target gosip.Uri) *gosip.Request {
	ack := c.requestIn(d, target, gosip.ACK, inv.CSeq().SeqNo)
	for _, name := range []string{"Authorization", "Proxy-Authorization"} {
		for _, h := range inv.GetHeaders(name) {
			ack.AppendHeader(gosip.NewHeader(name, h.Value()))
		}
	}
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: ack.Transport(), Host: c.srv.cfg.Host,
		Params: gosip.NewParams()}
	via.Params.Add("branch", gosip.GenerateBranchN(16))
	ack.PrependHeader(via)
	if err := c.srv.secureHop(context.WithoutCancel(c.ctx), ack, c.trunk); err != nil {
		c.log.Warn("no TLS connection for the ACK", "error", err)
	}
	return ack
}

// writeAck sends (a copy of) an ACK straight to the transport: ACKs for 2xx are not
// transactions; the UAC core retransmits them, once per 2xx received (§13.2.2.4).
func (s *Server) writeAck(ack *gosip.Request) {
	if err := s.client.WriteRequest(ack.Clone(), keepVia); err != nil {
		s.log.Warn("ACK not sent", "call_id", callID(ack), "error", err)
		return
	}
	s.traceRequest(ack, true, time.Now())
}

// on2xxAgain handles a 2xx to our INVITE after the first: a retransmission (the
// callee did not get our ACK) is ACKed again; a 2xx from another fork of the INVITE
// (another To tag) is a second dialog we do not want: ACK it and BYE it (§13.2.2.4).
func (c *Call) on2xxAgain(res *gosip.Response) {
	c.mu.Lock()
	ack, remote := c.ack, c.key.remoteTag
	inv := c.invite
	c.mu.Unlock()
	if ack == nil {
		return // the first 2xx is still being handled; the callee will retransmit
	}
	if tagOfTo(res.To()) == remote {
		c.srv.writeAck(ack)
		return
	}
	c.log.Info("2xx from another fork: ACK and BYE it", "status", res.StatusCode)
	c.srv.goTracked(func() { c.ackAndByeFork(res, inv) })
}

// ackAndBye confirms and ends the dialog of res: a 2xx that crossed our CANCEL.
func (d *dialer) ackAndBye(res *gosip.Response) {
	d.c.ackAndByeFork(res, d.invite)
}

// ackAndByeFork ACKs a 2xx we do not want and ends its dialog with BYE (§15).
func (c *Call) ackAndByeFork(res *gosip.Response, inv *gosip.Request) {
	dlg, target := c.uacDialog(res, inv)
	c.srv.writeAck(c.newAck(res, inv, dlg, target))
	bye := c.requestIn(dlg, target, gosip.BYE, c.nextCSeq())
	ctx := context.WithoutCancel(c.srv.halt)
	if err := c.srv.secureHop(ctx, bye, c.trunk); err != nil {
		c.log.Info("BYE of an unwanted dialog failed", "error", err)
		return
	}
	if _, err := c.srv.transact(ctx, bye); err != nil {
		c.log.Info("BYE of an unwanted dialog failed", "error", err)
	}
}

// onStrayResponse gets the responses that match no client transaction (RFC 3261
// §17.1.1.2 passes them to the core): a 2xx retransmitted after our INVITE
// transaction ended is ACKed again.
func (s *Server) onStrayResponse(res *gosip.Response) {
	if !res.IsSuccess() || res.CSeq() == nil || res.CSeq().MethodName != gosip.INVITE || res.CallID() == nil {
		return
	}
	k := dialogKey{callID: res.CallID().Value(), localTag: tagOfFrom(res.From()), remoteTag: tagOfTo(res.To())}
	s.mu.Lock()
	c := s.calls[k]
	s.mu.Unlock()
	if c != nil && c.outbound {
		c.on2xxAgain(res)
	}
}

// transact sends a request in its own client transaction and waits for the final
// response, at most 64*T1 (Timer F, RFC 3261 §17.1.2.2) or until ctx ends.
func (s *Server) transact(ctx context.Context, req *gosip.Request) (*gosip.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 64*s.cfg.T1)
	defer cancel()
	if err := s.secureHop(ctx, req, nil); err != nil {
		return nil, fmt.Errorf("send %s: %w", req.Method, err)
	}
	tx, err := s.client.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, fmt.Errorf("send %s: %w", req.Method, err)
	}
	s.traceRequest(req, true, time.Now())
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			s.traceResponse(res, req, false, time.Now())
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, fmt.Errorf("%s transaction: %w", req.Method, tx.Err())
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no final response: %w", req.Method, ctx.Err())
		}
	}
}

// bindLocal sends a UDP request from our listening socket, so the peer's responses
// and requests come back to the address in our Via and Contact (sipgo would
// otherwise open an ephemeral socket toward an address it has not heard from).
func (s *Server) bindLocal(req *gosip.Request) {
	if !strings.EqualFold(req.Transport(), "UDP") || s.udpLocal.IP == nil {
		return
	}
	req.Laddr = gosip.Addr{IP: s.udpLocal.IP, Port: s.udpLocal.Port}
}

// startDial admits an outbound call: not while closing or before Listen. The Dial
// goroutine is counted in s.wg so Close waits for it (after canceling it).
func (s *Server) startDial(c *Call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining || !s.accepting {
		return false
	}
	s.dialing[c] = struct{}{}
	s.wg.Add(1)
	s.metrics.callsStarted.WithLabelValues("outbound", c.info.Transport).Inc()
	s.metrics.callsActive.Inc()
	return true
}

func (s *Server) endDial(c *Call) {
	s.mu.Lock()
	delete(s.dialing, c)
	s.mu.Unlock()
	s.wg.Done()
}

// registerOutbound adds an answered outbound call to the dialog table and starts its
// RTP watch; false while the server closes.
func (s *Server) registerOutbound(c *Call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.calls[c.key] = c
	s.wg.Add(1)
	go c.watchMedia()
	return true
}

// goTracked runs fn on a goroutine Close waits for; false (fn not run) once the
// server is closing.
func (s *Server) goTracked(fn func()) bool {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		return false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}
