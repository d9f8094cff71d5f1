package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// ErrTransferBusy: Call.Refer while another of our REFERs on the call is pending.
var ErrTransferBusy = errors.New("sip: a transfer is already in progress on this call")

// referSub is the implicit subscription our REFER created (RFC 3515 §2.4.4): the
// transferee reports its call to the target in NOTIFYs carrying message/sipfrag.
type referSub struct {
	id    uint32       // the REFER's CSeq number: the id of the Event header (§2.4.6)
	frags chan sipfrag // buffered; onNotify never blocks
}

// sipfrag is one NOTIFY's report: the status line of the transferee's call
// (RFC 3420), and whether the subscription ended with it.
type sipfrag struct {
	status     int
	reason     string
	terminated bool
}

// Refer asks the peer to call target and leave us (a blind transfer, RFC 3515): REFER
// in the dialog with Refer-To and Referred-By (RFC 3892). target is a SIP or tel URI,
// or a number, sent as sip:number@ the peer's host (its network routes it).
//
// Refer returns nil once the transfer succeeded: a NOTIFY reported the target's
// 2xx (RFC 3515 §2.4.5); or, if the transferee stops reporting, ReferNotifyTimeout
// after its last NOTIFY (or after the 202 when it sends none, or answered with
// Refer-Sub: false, RFC 4488), or ReferTimeout after the 202; or the transferee hung
// up after the 202. After success our side of the call ends: the transferee usually
// sends BYE; if it has not within 4*T1, we do (RFC 5589 §6.1). The cause is
// "transferred".
//
// It returns a *CallError wrapping ErrReferRefused when the peer refused the REFER,
// or the failure the transferee reported (ErrBusy, ErrNoAnswer...); the call then
// stays up with us. ctx bounds the waits; the call stays as it is when ctx ends.
func (c *Call) Refer(ctx context.Context, target string) error {
	c.mu.Lock()
	st, pending := c.state, c.outRefer
	remoteHost := c.dlg.remote.Address.Host
	local := c.dlg.local.Address
	c.mu.Unlock()
	switch {
	case st == stateEnded:
		return ErrCallEnded
	case st != stateConfirmed:
		return ErrNotAnswered
	case pending != nil:
		return ErrTransferBusy
	}
	uri, err := referTarget(target, remoteHost)
	if err != nil {
		return err
	}
	req := c.newRequest(gosip.REFER)
	req.AppendHeader(gosip.NewHeader("Refer-To", "<"+uri+">"))
	req.AppendHeader(gosip.NewHeader("Referred-By", "<"+local.String()+">"))
	req.AppendHeader(c.srv.contactHeader(c.info.Transport))
	sub := &referSub{id: req.CSeq().SeqNo, frags: make(chan sipfrag, 16)}
	c.setReferSub(nil, sub)
	defer c.setReferSub(sub, nil)

	c.log.Info("transferring", "target", uri)
	res, err := c.transact(ctx, req)
	if err != nil {
		return fmt.Errorf("sip: REFER: %w", err)
	}
	if !res.IsSuccess() {
		c.log.Info("transfer refused", "status", res.StatusCode)
		return &CallError{Status: res.StatusCode, Reason: res.Reason, Err: ErrReferRefused}
	}
	c.setTransferred(true) // from now on the transferee leaving us means it went
	if h := res.GetHeader("Refer-Sub"); h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "false") {
		return c.transferDone("accepted without subscription (Refer-Sub: false)")
	}
	cfg := c.srv.cfg
	quiet := time.NewTimer(cfg.ReferNotifyTimeout)
	defer quiet.Stop()
	overall := time.NewTimer(cfg.ReferTimeout)
	defer overall.Stop()
	for {
		select {
		case f := <-sub.frags:
			switch {
			case f.status >= 200 && f.status < 300:
				return c.transferDone(statusText(f.status, f.reason))
			case f.status >= 300:
				c.setTransferred(false)
				c.log.Info("transfer failed", "status", f.status)
				e := statusError(f.status, f.reason)
				return e
			case f.terminated:
				return c.transferDone("subscription ended without a final status")
			}
			quiet.Reset(cfg.ReferNotifyTimeout)
		case <-quiet.C:
			return c.transferDone("no further NOTIFY; taking the 202 as success")
		case <-overall.C:
			return c.transferDone("no final NOTIFY within the refer timeout")
		case <-c.ctx.Done():
			c.log.Info("transferee left the call: transferred")
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Call) setReferSub(old, sub *referSub) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outRefer == old {
		c.outRefer = sub
	}
}

func (c *Call) setTransferred(v bool) {
	c.mu.Lock()
	c.transferred = v
	c.mu.Unlock()
}

// transferDone ends our side after a successful transfer: the transferee's BYE if
// it comes within 4*T1, else ours.
func (c *Call) transferDone(how string) error {
	c.log.Info("transfer succeeded", "how", how)
	t := time.NewTimer(4 * c.srv.cfg.T1)
	defer t.Stop()
	select {
	case <-c.ended:
	case <-t.C:
		_ = c.hangup(context.Background(), causeTransferred, 0)
	}
	return nil
}

// referTarget makes the Refer-To URI of target.
func referTarget(target, remoteHost string) (string, error) {
	t := strings.TrimSpace(target)
	t = strings.TrimSuffix(strings.TrimPrefix(t, "<"), ">")
	if t == "" || strings.ContainsAny(t, "<>\"\r\n\x00 ") {
		return "", fmt.Errorf("%w: transfer target %q", ErrInvalidDial, target)
	}
	lower := strings.ToLower(t)
	switch {
	case strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:"):
		var u gosip.Uri
		if err := gosip.ParseUri(t, &u); err != nil || u.Host == "" {
			return "", fmt.Errorf("%w: transfer target %q is not a SIP URI", ErrInvalidDial, target)
		}
		return t, nil
	case strings.HasPrefix(lower, "tel:"):
		return t, nil
	}
	for i := 0; i < len(t); i++ {
		if !(t[i] >= '0' && t[i] <= '9' || i == 0 && t[i] == '+' || t[i] == '*' || t[i] == '#') {
			return "", fmt.Errorf("%w: transfer target %q is neither a URI nor a number", ErrInvalidDial, target)
		}
	}
	if remoteHost == "" {
		return "", fmt.Errorf("%w: no host to send number %q to", ErrInvalidDial, target)
	}
	return "sip:" + t + "@" + remoteHost, nil
}

// onNotify takes a NOTIFY in a dialog: the progress of our REFER (RFC 3515 §2.4.5).
func (s *Server) onNotify(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	c := s.lookup(req)
	if c == nil {
		_ = s.respond(tx, req, 481, "Subscription Does Not Exist", nil)
		return
	}
	c.onNotify(req, tx)
}

func (c *Call) onNotify(req *gosip.Request, tx gosip.ServerTransaction) {
	if !c.inOrder(req, tx) {
		return
	}
	event, id := parseEvent(req.GetHeader("Event"))
	c.mu.Lock()
	sub := c.outRefer
	c.mu.Unlock()
	// RFC 6665 §4.1.3: a NOTIFY for no subscription we hold gets 481.
	if event != "refer" || sub == nil || (id != "" && id != strconv.FormatUint(uint64(sub.id), 10)) {
		_ = c.srv.respond(tx, req, 481, "Subscription Does Not Exist", nil)
		return
	}
	f := parseSipfrag(req.Body())
	if h := req.GetHeader("Subscription-State"); h != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Value())), "terminated") {
		f.terminated = true
	}
	if f.status >= 200 && f.status < 300 {
		// Marked here, before our 200 lets the transferee send its BYE: the
		// goroutine in Refer may not yet have seen the 202 when the BYE arrives.
		c.setTransferred(true)
	}
	_ = c.srv.respond(tx, req, 200, "OK", nil)
	c.log.Info("transfer progress", "status", f.status, "terminated", f.terminated)
	select {
	case sub.frags <- f:
	default:
	}
}

// parseEvent splits an Event header ("refer;id=93809824") into type and id.
func parseEvent(h gosip.Header) (event, id string) {
	if h == nil {
		return "", ""
	}
	parts := strings.Split(h.Value(), ";")
	event = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "id") {
			id = strings.TrimSpace(v)
		}
	}
	return event, id
}

// parseSipfrag reads the status line of a message/sipfrag body (RFC 3420):
// "SIP/2.0 200 OK". A body without one reports status 0.
func parseSipfrag(body []byte) sipfrag {
	line, _, _ := bytes.Cut(body, []byte("\n"))
	fields := strings.SplitN(strings.TrimSpace(string(line)), " ", 3)
	if len(fields) < 2 || !strings.HasPrefix(strings.ToUpper(fields[0]), "SIP/") {
		return sipfrag{}
	}
	code, err := strconv.Atoi(fields[1])
	if err != nil || code < 100 || code > 699 {
		return sipfrag{}
	}
	f := sipfrag{status: code}
	if len(fields) == 3 {
		f.reason = fields[2]
	}
	return f
}

// ReferHandler takes a REFER the peer sent in a call's dialog: the transfer an
// agent's phone asks for (RFC 3515). By the time it runs the REFER got 202 Accepted
// and the first NOTIFY (100 Trying) went out (§2.4.4). It runs on the goroutine that
// received the REFER and must return promptly: hand the Transfer to your own
// goroutine (the ACD ends the bridge with EndTransfer and places the new call), and
// report how the transfer went with Transfer.Notify. The transferee usually hangs
// up once it has the 202 or the final NOTIFY.
type ReferHandler func(t *Transfer)

// Transfer is a REFER received in a call.
type Transfer struct {
	// Target is the Refer-To URI without its embedded headers.
	Target string
	// User is the Refer-To URI's user part: the number or extension to call.
	User string
	// Replaces is the Replaces value embedded in Refer-To (RFC 3891): the peer
	// asks for an attended transfer, replacing that dialog. "" for a blind one.
	Replaces string
	// ReferredBy is the Referred-By header value (RFC 3892), if any.
	ReferredBy string
	// Call is the call the REFER came in.
	Call *Call

	id    uint32
	mu    sync.Mutex
	final bool
}

// SetReferHandler installs the handler of REFERs received in the call (nil refuses
// them with 603 Decline). For outbound calls DialRequest.OnRefer sets it before the
// dialog exists, so no REFER can come first.
func (c *Call) SetReferHandler(h ReferHandler) {
	c.mu.Lock()
	c.referHandler = h
	c.mu.Unlock()
}

// onRefer takes a REFER: in a dialog it goes to the call, outside one it is refused
// (hotline accepts transfers only from a party it is in a call with).
func (s *Server) onRefer(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request(string(req.Method))
	if to := req.To(); to == nil || !to.Params.Has("tag") {
		_ = s.respond(tx, req, 403, "Forbidden", nil, warning(399, s.cfg.Host, "REFER outside a dialog is not accepted"))
		return
	}
	c := s.lookup(req)
	if c == nil {
		_ = s.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	c.onReferRequest(req, tx)
}

func (c *Call) onReferRequest(req *gosip.Request, tx gosip.ServerTransaction) {
	if !c.inOrder(req, tx) {
		return
	}
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	if st == stateAnswered {
		// The caller may send REFER right behind the ACK of our 2xx, and the two are
		// handled concurrently: wait for the ACK, as onReinvite does.
		t := time.NewTimer(c.srv.cfg.AckTimeout)
		select {
		case <-c.confirmed:
		case <-c.ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	st, h := c.state, c.referHandler
	c.mu.Unlock()
	if st != stateConfirmed {
		_ = c.srv.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	// RFC 3515 §2.4.1: exactly one Refer-To.
	refs := req.GetHeaders("Refer-To")
	if len(refs) != 1 {
		_ = c.srv.respond(tx, req, 400, "Bad Request", nil, warning(399, c.srv.cfg.Host, "exactly one Refer-To is required"))
		return
	}
	t, err := parseReferTo(refs[0])
	if err != nil {
		_ = c.srv.respond(tx, req, 400, "Bad Request", nil, warning(399, c.srv.cfg.Host, err.Error()))
		return
	}
	if h == nil {
		c.log.Info("transfer request declined: no handler", "target", t.Target)
		_ = c.srv.respond(tx, req, 603, "Decline", nil)
		return
	}
	if rb := req.GetHeader("Referred-By"); rb != nil {
		t.ReferredBy = rb.Value()
	}
	t.Call, t.id = c, req.CSeq().SeqNo
	_ = c.srv.respond(tx, req, 202, "Accepted", nil, c.srv.contactHeader(c.info.Transport))
	c.log.Info("transfer requested by the peer", "target", t.Target, "attended", t.Replaces != "")
	if err := t.Notify(context.Background(), 100, "Trying"); err != nil {
		c.log.Info("transfer: first NOTIFY failed", "error", err)
	}
	h(t)
}

// parseReferTo reads a Refer-To value: name-addr or addr-spec, with embedded headers
// such as ?Replaces=... (RFC 3515 §2.1, RFC 3891 §3).
func parseReferTo(h gosip.Header) (*Transfer, error) {
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.LastIndexByte(v, '>')
		if j < i {
			return nil, errors.New("malformed Refer-To")
		}
		v = v[i+1 : j]
	}
	uri, hdrs, _ := strings.Cut(v, "?")
	var u gosip.Uri
	if err := gosip.ParseUri(uri, &u); err != nil {
		return nil, fmt.Errorf("Refer-To %q: %v", uri, err)
	}
	t := &Transfer{Target: uri, User: u.User}
	if hdrs != "" {
		q, err := url.ParseQuery(hdrs)
		if err == nil {
			for k, vs := range q {
				if strings.EqualFold(k, "Replaces") && len(vs) > 0 {
					t.Replaces = vs[0]
				}
			}
		}
	}
	return t, nil
}

// Notify reports the transfer's progress to the transferee: a NOTIFY in the call's
// dialog with message/sipfrag "SIP/2.0 <status> <reason>" (RFC 3515 §2.4.5). A
// final status (200 and up) ends the subscription (Subscription-State: terminated);
// after it Notify refuses further reports. It waits for the NOTIFY's answer.
func (t *Transfer) Notify(ctx context.Context, status int, reason string) error {
	if status < 100 || status > 699 {
		return fmt.Errorf("sip: transfer status %d out of range", status)
	}
	t.mu.Lock()
	if t.final {
		t.mu.Unlock()
		return errors.New("sip: transfer already reported its final status")
	}
	final := status >= 200
	t.final = final
	t.mu.Unlock()
	c := t.Call
	c.mu.Lock()
	ended := c.state == stateEnded
	c.mu.Unlock()
	if ended {
		return ErrCallEnded
	}
	if reason == "" {
		reason = reasonPhrase(status)
	}
	req := c.newRequest(gosip.NOTIFY)
	req.AppendHeader(gosip.NewHeader("Event", "refer;id="+strconv.FormatUint(uint64(t.id), 10)))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(gosip.NewHeader("Subscription-State", state))
	req.AppendHeader(c.srv.contactHeader(c.info.Transport))
	req.AppendHeader(gosip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte("SIP/2.0 " + strconv.Itoa(status) + " " + reason + "\r\n"))
	res, err := c.transact(ctx, req)
	if err != nil {
		return fmt.Errorf("sip: NOTIFY: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("sip: NOTIFY answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}
