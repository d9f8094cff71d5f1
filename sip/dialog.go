package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

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
	if c.outbound {
		c.log.Info("callee hung up")
		c.terminate(causeCalleeBye)
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

// SendInfoDigits sends digits to the peer as SIP INFO requests with an
// application/dtmf-relay body (the de facto format Cisco introduced; one INFO per
// digit, each waiting for its answer, RFC 6086 §4.2), for peers that take DTMF only in
// signalling. Digits other than 0-9, *, #, A-D are refused. It returns when every
// digit was answered with 2xx, or the first error.
func (c *Call) SendInfoDigits(ctx context.Context, digits string, duration time.Duration) error {
	for i := 0; i < len(digits); i++ {
		if !strings.ContainsRune("0123456789*#ABCDabcd", rune(digits[i])) {
			return fmt.Errorf("sip: INFO digits %q: %q is no DTMF digit", digits, digits[i])
		}
	}
	if duration <= 0 {
		duration = 160 * time.Millisecond
	}
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	switch {
	case st == stateEnded:
		return ErrCallEnded
	case st < stateAnswered:
		return ErrNotAnswered
	}
	for i := 0; i < len(digits); i++ {
		req := c.newRequest(gosip.INFO)
		req.AppendHeader(gosip.NewHeader("Content-Type", "application/dtmf-relay"))
		req.SetBody([]byte(fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", unicode.ToUpper(rune(digits[i])), duration.Milliseconds())))
		res, err := c.transact(ctx, req)
		if err != nil {
			return fmt.Errorf("INFO digit %c: %w", digits[i], err)
		}
		if !res.IsSuccess() {
			return fmt.Errorf("INFO digit %c: answered %d %s", digits[i], res.StatusCode, res.Reason)
		}
		c.srv.metrics.infoDigitsSent.Inc()
	}
	return nil
}

// sendBye sends BYE within the dialog (RFC 3261 §15.1.1) and waits for its final
// response, at most 32 s (Timer F) or until ctx ends.
func (c *Call) sendBye(ctx context.Context) error {
	res, err := c.transact(ctx, c.newRequest(gosip.BYE))
	if err != nil {
		return fmt.Errorf("BYE: %w", err)
	}
	if !res.IsSuccess() {
		c.log.Info("BYE answered with an error", "status", res.StatusCode)
	}
	return nil
}

// dialog is what a Call needs to send requests inside its dialog (RFC 3261 §12.2.1.1)
// in either role: our party with our tag (the From of our requests), the peer's with
// its tag (their To), and the route set. A UAS takes them from the INVITE (its
// Record-Route list in order, §12.1.1), a UAC from the 2xx (the reverse, §12.1.2).
type dialog struct {
	local  gosip.FromHeader
	remote gosip.ToHeader
	routes []gosip.Uri
	// nextHop is where requests go while the route set is empty, instead of the
	// remote target's host: an inbound caller's source address (its Contact is often
	// unreachable behind NAT), or an outbound call's DialRequest.NextHop.
	nextHop string
	// viaLocal sends requests from our listening UDP socket (outbound calls: the
	// callee answers the Via and knows no other address of ours).
	viaLocal bool
}

// inviteDialog is the dialog of an inbound call, from its INVITE (§12.1.1).
func inviteDialog(req *gosip.Request, localTag string) dialog {
	d := dialog{local: req.To().AsFrom(), remote: req.From().AsTo(), routes: recordRoutes(req.GetHeaders("Record-Route"), false)}
	d.local.Params = d.local.Params.Clone()
	d.local.Params.Add("tag", localTag)
	d.remote.Params = d.remote.Params.Clone()
	if len(d.routes) == 0 {
		d.nextHop = req.Source()
	}
	return d
}

// recordRoutes turns Record-Route headers into a route set, reversed for a UAC.
func recordRoutes(hdrs []gosip.Header, reverse bool) []gosip.Uri {
	var out []gosip.Uri
	for _, h := range hdrs {
		var u gosip.Uri
		if rr, ok := h.(*gosip.RecordRouteHeader); ok {
			u = *rr.Address.Clone()
		} else if _, err := gosip.ParseAddressValue(h.Value(), &u, nil); err != nil {
			continue
		}
		out = append(out, u)
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// nextCSeq takes the next local sequence number (§12.2.1.1: one higher for each
// new request in the dialog).
func (c *Call) nextCSeq() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.localCSeq++
	return c.localCSeq
}

// newRequest builds a request within the dialog (RFC 3261 §12.2.1.1): Request-URI
// and Route from the remote target and the route set (loose or strict routing), From
// and To with both tags, the Call-ID, the next CSeq.
func (c *Call) newRequest(method gosip.RequestMethod) *gosip.Request {
	c.mu.Lock()
	c.localCSeq++
	cseq := c.localCSeq
	target := *c.remoteTarget.Clone()
	d := c.dlg
	c.mu.Unlock()
	return c.requestIn(d, target, method, cseq)
}

// requestIn builds a request of dialog d toward target with CSeq number cseq.
func (c *Call) requestIn(d dialog, target gosip.Uri, method gosip.RequestMethod, cseq uint32) *gosip.Request {
	req := gosip.NewRequest(method, target)
	from, to := d.local, d.remote
	from.Address, to.Address = *from.Address.Clone(), *to.Address.Clone()
	from.Params, to.Params = from.Params.Clone(), to.Params.Clone()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(gosip.HeaderClone(c.invite.CallID()))
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(gosip.NewHeader("User-Agent", c.srv.cfg.UserAgent))
	c.route(req, d, target)
	req.SetTransport(strings.ToUpper(c.info.Transport))
	req.SetBody(nil)
	if d.viaLocal {
		c.srv.bindLocal(req)
	}
	return req
}

// route sets the Request-URI, Route headers and destination of a request in the
// dialog (RFC 3261 §12.2.1.1). With a loose first route (;lr) the Request-URI is the
// remote target and the route set goes in Route; with a strict one the first route
// becomes the Request-URI and the remote target the last Route.
func (c *Call) route(req *gosip.Request, d dialog, target gosip.Uri) {
	if len(d.routes) == 0 {
		req.Recipient = target
		if d.nextHop != "" {
			req.SetDestination(d.nextHop)
		}
		return
	}
	first := d.routes[0]
	rest := d.routes
	if first.UriParams.Has("lr") {
		req.Recipient = target
	} else {
		ruri := *first.Clone()
		ruri.UriParams = ruri.UriParams.Clone()
		ruri.UriParams.Remove("lr")
		ruri.UriParams.Remove("maddr")
		req.Recipient = ruri
		rest = append(slices.Clone(d.routes[1:]), target)
	}
	for _, u := range rest {
		req.AppendHeader(&gosip.RouteHeader{Address: *u.Clone()})
	}
	req.SetDestination(hostPort(first, c.info.Transport))
}

// hostPort is where a URI points: host and port, 5060 when the URI has none (we
// speak neither TLS nor DNS SRV, RFC 3263).
func hostPort(u gosip.Uri, transport string) string {
	port := u.Port
	if port == 0 {
		port = DefaultSIPPort
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))
}

// transact sends a request within the dialog and waits for its final response, at
// most 64*T1 (Timer F) or until ctx ends. A 401 or 407 is answered once with the
// call's credentials (outbound calls through a trunk), with a new CSeq (§22.1).
func (c *Call) transact(ctx context.Context, req *gosip.Request) (*gosip.Response, error) {
	if err := c.srv.secureHop(ctx, req, c.trunk); err != nil { // TLS trunks (trunktls.go)
		return nil, fmt.Errorf("send %s: %w", req.Method, err)
	}
	for attempt := 0; ; attempt++ {
		res, err := c.srv.transact(ctx, req)
		if err != nil {
			return nil, err
		}
		if (res.StatusCode == 401 || res.StatusCode == 407) && attempt == 0 && c.auth != nil {
			retry := req.Clone()
			if c.auth.authorize(retry, res) == nil {
				retry.RemoveHeader("Via")
				retry.CSeq().SeqNo = c.nextCSeq()
				req = retry
				continue
			}
		}
		return res, nil
	}
}
