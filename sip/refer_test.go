package sip

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// answeredCall dials the peer and plays a plain answer.
func answeredCall(t *testing.T, e *testEnv, p *peer, r DialRequest) (*Call, *callee) {
	t.Helper()
	if r.Target == "" {
		r.Target = p.uri("bob")
	}
	ch := e.dial(context.Background(), r)
	l := p.acceptInvite()
	l.answerCall(40000)
	res := result(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.c, l
}

// notify sends the transferee's NOTIFY for our REFER and checks our 200.
func (l *callee) notify(t *testing.T, id uint32, frag, state string) {
	t.Helper()
	seq := l.request("NOTIFY", "message/sipfrag;version=2.0", frag+"\r\n",
		"Event: refer;id="+strconv.Itoa(int(id)), "Subscription-State: "+state)
	if res := l.p.finalSeq(l.callID(), "NOTIFY", seq); res.StatusCode != 200 {
		t.Errorf("NOTIFY %q answered %d", frag, res.StatusCode)
	}
}

func referAsync(c *Call, target string) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- c.Refer(context.Background(), target) }()
	return ch
}

func waitErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(3 * waitTimeout):
		t.Fatal("no result")
		return nil
	}
}

// TestReferBlind: REFER with Refer-To and Referred-By (RFC 3515, RFC 3892), 202,
// NOTIFYs with sipfrag answered 200 each (§2.4.5); the final 200 means success, and
// the transferee's BYE ends our call as transferred.
func TestReferBlind(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	c, l := answeredCall(t, e, p, DialRequest{})
	done := referAsync(c, "+15550100")
	refer := p.request(l.callID(), "REFER", waitTimeout)
	if rt := refer.GetHeader("Refer-To"); rt == nil || rt.Value() != "<sip:+15550100@127.0.0.1>" {
		t.Errorf("Refer-To %v", rt)
	}
	if rb := refer.GetHeader("Referred-By"); rb == nil || !strings.Contains(rb.Value(), "sip:hotline@") {
		t.Errorf("Referred-By %v", rb)
	}
	if tagOf(refer) != l.tag || refer.Contact() == nil {
		t.Errorf("REFER To tag %q, Contact %v", tagOf(refer), refer.Contact())
	}
	l.respondTo(refer, 202, "")
	id := refer.CSeq().SeqNo
	l.notify(t, id, "SIP/2.0 100 Trying", "active;expires=60")
	l.notify(t, id, "SIP/2.0 180 Ringing", "active;expires=60")
	l.notify(t, id, "SIP/2.0 200 OK", "terminated;reason=noresource")
	l.request("BYE", "", "")
	p.expect(l.callID(), "BYE", 200)
	if err := waitErr(t, done); err != nil {
		t.Errorf("Refer: %v", err)
	}
	<-c.Done()
	if c.Cause() != causeTransferred {
		t.Errorf("cause %q, want %q", c.Cause(), causeTransferred)
	}
}

// TestReferWeEndTheCall: after the success NOTIFY a transferee that does not hang
// up gets our BYE (RFC 5589 §6.1).
func TestReferWeEndTheCall(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	c, l := answeredCall(t, e, p, DialRequest{})
	done := referAsync(c, "sip:agent2@pbx.example")
	refer := p.request(l.callID(), "REFER", waitTimeout)
	if rt := refer.GetHeader("Refer-To").Value(); rt != "<sip:agent2@pbx.example>" {
		t.Errorf("Refer-To %s", rt)
	}
	l.respondTo(refer, 202, "")
	l.notify(t, refer.CSeq().SeqNo, "SIP/2.0 200 OK", "terminated;reason=noresource")
	bye := p.request(l.callID(), "BYE", waitTimeout)
	l.respondTo(bye, 200, "")
	if err := waitErr(t, done); err != nil {
		t.Errorf("Refer: %v", err)
	}
	if c.Cause() != causeTransferred {
		t.Errorf("cause %q", c.Cause())
	}
	e.checkMetric(1, "hotline_calls_ended_total", "direction", "outbound", "cause", causeTransferred)
}

// TestReferFailed: the transferee's call to the target failed (NOTIFY with 486):
// Refer reports ErrBusy and our call stays up.
func TestReferFailed(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	c, l := answeredCall(t, e, p, DialRequest{})
	done := referAsync(c, "+15550100")
	refer := p.request(l.callID(), "REFER", waitTimeout)
	l.respondTo(refer, 202, "")
	l.notify(t, refer.CSeq().SeqNo, "SIP/2.0 486 Busy Here", "terminated;reason=noresource")
	err := waitErr(t, done)
	var ce *CallError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &ce) || ce.Status != 486 {
		t.Errorf("Refer: %v, want ErrBusy 486", err)
	}
	p.noRequest(l.callID(), "BYE", 300*time.Millisecond)
	if c.Cause() != "" {
		t.Errorf("call ended: %s", c.Cause())
	}
	// A NOTIFY for no subscription of ours gets 481 (RFC 6665 §4.1.3).
	seq := l.request("NOTIFY", "message/sipfrag", "SIP/2.0 200 OK\r\n", "Event: refer;id=1", "Subscription-State: active")
	if res := p.finalSeq(l.callID(), "NOTIFY", seq); res.StatusCode != 481 {
		t.Errorf("stray NOTIFY answered %d, want 481", res.StatusCode)
	}
	hangupAndAnswer(t, c, l)
}

// TestReferRefused: a REFER answered with an error leaves the call up.
func TestReferRefused(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	c, l := answeredCall(t, e, p, DialRequest{})
	done := referAsync(c, "+15550100")
	refer := p.request(l.callID(), "REFER", waitTimeout)
	l.respondTo(refer, 405, "")
	if err := waitErr(t, done); !errors.Is(err, ErrReferRefused) {
		t.Errorf("Refer: %v, want ErrReferRefused", err)
	}
	if err := c.Refer(context.Background(), "not a target"); !errors.Is(err, ErrInvalidDial) {
		t.Errorf("bad target: %v", err)
	}
	hangupAndAnswer(t, c, l)
	if err := c.Refer(context.Background(), "+15550100"); !errors.Is(err, ErrCallEnded) {
		t.Errorf("Refer after the end: %v", err)
	}
}

// TestReferWithoutNotify: a transferee that sends no NOTIFY: the 202 is taken as
// success after ReferNotifyTimeout.
func TestReferWithoutNotify(t *testing.T) {
	e := newEnv(t, withSIP(func(c *Config) { c.ReferNotifyTimeout = 300 * time.Millisecond }))
	p := e.newPeer("udp")
	c, l := answeredCall(t, e, p, DialRequest{})
	start := time.Now()
	done := referAsync(c, "+15550100")
	refer := p.request(l.callID(), "REFER", waitTimeout)
	l.respondTo(refer, 202, "")
	bye := p.request(l.callID(), "BYE", waitTimeout)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("BYE after %v, before the NOTIFY timeout", d)
	}
	l.respondTo(bye, 200, "")
	if err := waitErr(t, done); err != nil {
		t.Errorf("Refer: %v", err)
	}
}

// TestIncomingRefer: an agent's phone (the callee of an outbound call) asks for a
// transfer: 202, an immediate NOTIFY 100 Trying (RFC 3515 §2.4.4), the handler gets
// the parsed target, and its final Notify ends the subscription.
func TestIncomingRefer(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	transfers := make(chan *Transfer, 1)
	c, l := answeredCall(t, e, p, DialRequest{OnRefer: func(tr *Transfer) { transfers <- tr }})
	seq := l.request("REFER", "", "",
		"Refer-To: <sip:2001@pbx.example?Replaces=abc%40x%3Bto-tag%3D1%3Bfrom-tag%3D2>",
		"Referred-By: <sip:1001@pbx.example>")
	if res := p.finalSeq(l.callID(), "REFER", seq); res.StatusCode != 202 {
		t.Fatalf("REFER answered %d, want 202", res.StatusCode)
	}
	n1 := p.request(l.callID(), "NOTIFY", waitTimeout)
	checkNotify(t, n1, seq, "SIP/2.0 100 Trying", "active")
	l.respondTo(n1, 200, "")
	var tr *Transfer
	select {
	case tr = <-transfers:
	case <-time.After(waitTimeout):
		t.Fatal("handler not called")
	}
	if tr.Target != "sip:2001@pbx.example" || tr.User != "2001" || tr.Replaces != "abc@x;to-tag=1;from-tag=2" ||
		tr.ReferredBy != "<sip:1001@pbx.example>" || tr.Call != c {
		t.Errorf("transfer %+v", tr)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Notify(context.Background(), 200, "") }()
	n2 := p.request(l.callID(), "NOTIFY", waitTimeout)
	checkNotify(t, n2, seq, "SIP/2.0 200 OK", "terminated")
	l.respondTo(n2, 200, "")
	if err := waitErr(t, done); err != nil {
		t.Errorf("Notify: %v", err)
	}
	if err := tr.Notify(context.Background(), 200, ""); err == nil {
		t.Errorf("a second final Notify was sent")
	}
	l.request("BYE", "", "")
	p.expect(l.callID(), "BYE", 200)
	<-c.Done()
}

func checkNotify(t *testing.T, n *gosip.Request, id uint32, frag, state string) {
	t.Helper()
	ev := n.GetHeader("Event")
	ss := n.GetHeader("Subscription-State")
	ct := n.GetHeader("Content-Type")
	if ev == nil || ev.Value() != "refer;id="+strconv.Itoa(int(id)) || ss == nil || !strings.HasPrefix(ss.Value(), state) ||
		ct == nil || !strings.HasPrefix(ct.Value(), "message/sipfrag") || !strings.HasPrefix(string(n.Body()), frag) {
		t.Errorf("NOTIFY, want %q %s:\n%s", frag, state, n)
	}
}

// TestIncomingReferRefused: without a handler a REFER is declined (603); with two
// Refer-To it is malformed (400, RFC 3515 §2.4.1); outside a dialog it is forbidden.
func TestIncomingReferRefused(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	l.next(reqSpec{method: "REFER", headers: []string{"Refer-To: <sip:2001@pbx.example>"}})
	p.expect(l.callID, "REFER", 603)
	c := e.handler.call(t)
	c.SetReferHandler(func(*Transfer) { t.Errorf("handler called for a bad REFER") })
	l.next(reqSpec{method: "REFER", headers: []string{"Refer-To: <sip:a@x>", "Refer-To: <sip:b@x>"}})
	p.expect(l.callID, "REFER", 400)
	out := p.newLeg()
	out.next(reqSpec{method: "REFER", headers: []string{"Refer-To: <sip:2001@pbx.example>"}})
	p.expect(out.callID, "REFER", 403)
	l.hangupByCaller()
}
