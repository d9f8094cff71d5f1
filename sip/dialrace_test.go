package sip

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media"
)

// TestDialContextCancel: ctx ending while the callee rings sends CANCEL; Dial returns
// ErrCanceled wrapping the context's error.
func TestDialContextCancel(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ctx, cancel := context.WithCancel(context.Background())
	ch := e.dial(ctx, DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	l.respond(180, "")
	time.Sleep(50 * time.Millisecond)
	cancel()
	c := p.request(l.callID(), "CANCEL", waitTimeout)
	checkCancel(t, c, l)
	l.respondTo(c, 200, "")
	l.respond(487, "")
	r := result(t, ch)
	if !errors.Is(r.err, ErrCanceled) || !errors.Is(r.err, context.Canceled) {
		t.Errorf("Dial error %v, want ErrCanceled and context.Canceled", r.err)
	}
	e.checkMetric(1, "hotline_calls_ended_total", "direction", "outbound", "cause", "canceled")
}

// TestDialCancelWaitsForProvisional: RFC 3261 §9.1 forbids CANCEL before a
// provisional response: it goes out when the first one arrives.
func TestDialCancelWaitsForProvisional(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ctx, cancel := context.WithCancel(context.Background())
	ch := e.dial(ctx, DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	cancel()
	p.noRequest(l.callID(), "CANCEL", 300*time.Millisecond)
	l.respond(100, "")
	c := p.request(l.callID(), "CANCEL", waitTimeout)
	l.respondTo(c, 200, "")
	l.respond(487, "")
	if r := result(t, ch); !errors.Is(r.err, ErrCanceled) {
		t.Errorf("Dial error %v", r.err)
	}
}

// TestDial200AfterCancel: the callee answers while our CANCEL is on its way (its 200
// crosses it): we ACK the 2xx and end the dialog with BYE; Dial still reports the
// cancellation.
func TestDial200AfterCancel(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob"), Timeout: 200 * time.Millisecond})
	l := p.acceptInvite()
	l.respond(180, "")
	c := p.request(l.callID(), "CANCEL", waitTimeout)
	l.respond(200, g711Answer(40000, 1)) // the answer crosses the CANCEL
	l.respondTo(c, 200, "")
	l.expectAck()
	bye := p.request(l.callID(), "BYE", waitTimeout)
	if tagOf(bye) != l.tag || bye.Recipient.User != "bob" {
		t.Errorf("BYE of the crossed answer: To tag %q, Request-URI %s", tagOf(bye), bye.Recipient.String())
	}
	l.respondTo(bye, 200, "")
	if r := result(t, ch); !errors.Is(r.err, ErrNoAnswer) || r.c != nil {
		t.Errorf("Dial: %v, %v; want ErrNoAnswer and no call", r.c, r.err)
	}
}

// TestDial2xxRetransmission: every retransmission of the 2xx (the callee did not get
// our ACK) gets the ACK again (RFC 3261 §13.2.2.4), the same ACK each time.
func TestDial2xxRetransmission(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	l.respond(180, "")
	ok := l.respond(200, g711Answer(40000, 1))
	first := l.expectAck()
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	for i := range 3 {
		p.send(ok)
		again := l.expectAck()
		b1, _ := first.Via().Params.Get("branch")
		b2, _ := again.Via().Params.Get("branch")
		if b1 != b2 {
			t.Errorf("retransmission %d: ACK branch %s, want the first ACK's %s", i, b2, b1)
		}
	}
	if r.c.Cause() != "" {
		t.Errorf("call ended: %s", r.c.Cause())
	}
	hangupAndAnswer(t, r.c, l)
}

// hangupAndAnswer hangs an answered outbound call up and plays the callee's 200.
func hangupAndAnswer(t *testing.T, c *Call, l *callee) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		_ = c.Hangup(context.Background())
		close(done)
	}()
	bye := l.p.request(l.callID(), "BYE", waitTimeout)
	l.respondTo(bye, 200, "")
	<-done
}

// TestDialEarlyMediaThen200: a 183 with SDP starts early media (the callee's RTP
// reaches the call before the answer, nothing is sent to it); the 200 with another
// SDP moves the media to its address.
func TestDialEarlyMediaThen200(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	early, final := e.newRTPPeer(), e.newRTPPeer()
	progress := make(chan Progress, 4)
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob"), OnProgress: func(pr Progress) { progress <- pr }})
	l := p.acceptInvite()
	ourRTP := mediaAddr(t, parseSDP(t, l.invite))
	l.respond(183, g711Answer(early.port, 1))
	pr := waitProgress(t, progress)
	if pr.Status != 183 || !pr.EarlyMedia || pr.Call == nil {
		t.Fatalf("progress %+v, want 183 with early media", pr)
	}
	if err := pr.Call.Play(context.Background(), media.Silence(20*time.Millisecond, 8000)); !errors.Is(err, ErrNotAnswered) {
		t.Errorf("Play into early media: %v, want ErrNotAnswered", err)
	}
	early.send(t, ourRTP, 0, 10) // the callee's ringback
	waitUntil(t, 2*time.Second, "early media received", func() bool { return pr.Call.MediaStats().PacketsReceived >= 5 })
	if n := early.count(); n != 0 {
		t.Errorf("we sent %d RTP packets into the callee's early media", n)
	}
	l.respond(200, g711Answer(final.port, 2))
	l.expectAck()
	r := result(t, ch)
	if r.err != nil || r.c != pr.Call {
		t.Fatalf("Dial: %v (same call as the progress one: %v)", r.err, r.c == pr.Call)
	}
	if err := r.c.Play(context.Background(), media.Silence(200*time.Millisecond, r.c.SampleRate())); err != nil {
		t.Fatal(err)
	}
	final.waitPackets(t, 5, 2*time.Second)
	if n := early.count(); n != 0 {
		t.Errorf("%d packets went to the early media address after the answer", n)
	}
	hangupAndAnswer(t, r.c, l)
}

// TestDialAnswerWithoutSDP: a 200 without SDP after a 183 with SDP takes the early
// answer; a 200 without any SDP is ACKed and ended with BYE (ErrMedia).
func TestDialAnswerWithoutSDP(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	l.respond(183, g711Answer(40000, 1))
	time.Sleep(50 * time.Millisecond)
	l.respond(200, "")
	l.expectAck()
	r := result(t, ch)
	if r.err != nil {
		t.Fatalf("Dial: %v", r.err)
	}
	hangupAndAnswer(t, r.c, l)

	ch = e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l = p.acceptInvite()
	l.respond(200, "")
	l.expectAck()
	bye := p.request(l.callID(), "BYE", waitTimeout)
	l.respondTo(bye, 200, "")
	if r := result(t, ch); !errors.Is(r.err, ErrMedia) {
		t.Errorf("Dial: %v, want ErrMedia", r.err)
	}
	e.checkMetric(1, "hotline_calls_ended_total", "direction", "outbound", "cause", "media_failed")
}

// TestDialForked2xx: a second 2xx with another To tag (a forking proxy reached two
// phones) is ACKed and its dialog ended with BYE; the first stays up.
func TestDialForked2xx(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	l.respond(200, g711Answer(40000, 1))
	l.expectAck()
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	other := *l
	other.tag = randHex(4)
	other.respond(200, g711Answer(40002, 1))
	ack := p.request(l.callID(), "ACK", waitTimeout)
	bye := p.request(l.callID(), "BYE", waitTimeout)
	if tagOf(ack) != other.tag || tagOf(bye) != other.tag {
		t.Errorf("fork: ACK to %q, BYE to %q, want %q", tagOf(ack), tagOf(bye), other.tag)
	}
	other.respondTo(bye, 200, "")
	time.Sleep(100 * time.Millisecond)
	if r.c.Cause() != "" {
		t.Errorf("the first dialog ended: %s", r.c.Cause())
	}
	hangupAndAnswer(t, r.c, l)
}

// TestDialHangupWhileRinging: hanging up the Call OnProgress handed over cancels the
// attempt.
func TestDialHangupWhileRinging(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	progress := make(chan Progress, 4)
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob"), OnProgress: func(pr Progress) { progress <- pr }})
	l := p.acceptInvite()
	l.respond(180, "")
	pr := waitProgress(t, progress)
	done := make(chan struct{})
	go func() {
		_ = pr.Call.Hangup(context.Background())
		close(done)
	}()
	c := p.request(l.callID(), "CANCEL", waitTimeout)
	l.respondTo(c, 200, "")
	l.respond(487, "")
	<-done
	if r := result(t, ch); !errors.Is(r.err, ErrCanceled) {
		t.Errorf("Dial: %v", r.err)
	}
	if pr.Call.Cause() != "canceled" {
		t.Errorf("cause %q", pr.Call.Cause())
	}
}

// TestDialServerClose: Close cancels a ringing outbound call and hangs up an
// answered one; both record cause shutdown.
func TestDialServerClose(t *testing.T) {
	e := newEnv(t)
	p, q := e.newPeer("udp"), e.newPeer("udp")
	ch1 := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	up := p.acceptInvite()
	up.answerCall(40000)
	answered := result(t, ch1).c
	ch2 := e.dial(context.Background(), DialRequest{Target: q.uri("carol")})
	ringing := q.acceptInvite()
	ringing.respond(180, "")
	time.Sleep(50 * time.Millisecond)

	closed := make(chan struct{})
	go func() {
		e.srv.Close()
		close(closed)
	}()
	bye := p.request(up.callID(), "BYE", waitTimeout)
	up.respondTo(bye, 200, "")
	c := q.request(ringing.callID(), "CANCEL", waitTimeout)
	ringing.respondTo(c, 200, "")
	ringing.respond(487, "")
	<-closed
	if r := result(t, ch2); !errors.Is(r.err, ErrCanceled) {
		t.Errorf("ringing call: %v", r.err)
	}
	if answered.Cause() != causeShutdown {
		t.Errorf("answered call cause %q", answered.Cause())
	}
	if _, err := e.srv.Dial(context.Background(), DialRequest{Target: p.uri("bob")}); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Dial after Close: %v", err)
	}
	e.checkMetric(2, "hotline_calls_ended_total", "direction", "outbound", "cause", causeShutdown)
}

// TestInboundAndOutboundCalls: one server holds an inbound and an outbound call at
// once (the two legs a bridge joins) and each hangs up on its own.
func TestInboundAndOutboundCalls(t *testing.T) {
	e := newEnv(t)
	caller, calleePeer := e.newPeer("udp"), e.newPeer("udp")
	in := caller.newLeg()
	in.establish(g711Offer(40000))
	inbound := e.handler.call(t)

	ch := e.dial(context.Background(), DialRequest{Target: calleePeer.uri("bob"), Parent: inbound.ID()})
	l := calleePeer.acceptInvite()
	l.answerCall(40002)
	outbound := result(t, ch).c
	if outbound == nil || e.srv.ActiveCalls() != 2 {
		t.Fatalf("want two calls, have %d", e.srv.ActiveCalls())
	}
	if outbound.Media().LocalAddr() == inbound.Media().LocalAddr() {
		t.Errorf("both legs share an RTP port")
	}
	hangupAndAnswer(t, outbound, l)
	if inbound.Cause() != "" {
		t.Errorf("inbound call ended with the outbound one: %s", inbound.Cause())
	}
	in.hangupByCaller()
	<-inbound.Done()
	if got := inbound.Cause(); got != causeCallerBye {
		t.Errorf("inbound cause %q", got)
	}
}

// TestDialReinviteHold: the callee holds the call with a re-INVITE (sendonly): the
// in-dialog code answers recvonly with our tag in To, and resumes on sendrecv.
func TestDialReinviteHold(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	l.answerCall(40000)
	c := result(t, ch).c
	hold := sdpOffer{port: 40000, formats: []string{fmtPCMU, fmtTE}, dir: "sendonly", version: 2}.String()
	seq := l.request("INVITE", "application/sdp", hold)
	res := p.finalSeq(l.callID(), "INVITE", seq)
	if res.StatusCode != 200 || tagOf(res) != tagOfFrom(l.invite.From()) {
		t.Fatalf("re-INVITE answered %d, To tag %q (want ours %q)", res.StatusCode, tagOf(res), tagOfFrom(l.invite.From()))
	}
	if dir := parseSDP(t, res).Media[0].Direction().String(); dir != "recvonly" {
		t.Errorf("hold answered %s, want recvonly", dir)
	}
	l.ack(seq)
	seq = l.request("INVITE", "application/sdp", g711Answer(40000, 3))
	res = p.finalSeq(l.callID(), "INVITE", seq)
	if dir := parseSDP(t, res).Media[0].Direction().String(); dir != "sendrecv" {
		t.Errorf("resume answered %s", dir)
	}
	l.ack(seq)
	hangupAndAnswer(t, c, l)
	if !e.logs.contains("call put on hold") {
		t.Errorf("hold not logged")
	}
}

// TestDialRecordRoute: the 2xx's Record-Route list, reversed, is the route set of our
// ACK and BYE (RFC 3261 §12.1.2, loose routing §12.2.1.1); the Request-URI is the
// callee's Contact.
func TestDialRecordRoute(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	rr := "Record-Route: <sip:p1@" + p.local.String() + ";lr>, <sip:p2@" + p.local.String() + ";lr>"
	l.respond(200, g711Answer(40000, 1), rr)
	ack := l.expectAck()
	checkRoutes(t, "ACK", ack.GetHeaders("Route"), "p2", "p1")
	c := result(t, ch).c
	done := make(chan struct{})
	go func() {
		_ = c.Hangup(context.Background())
		close(done)
	}()
	bye := p.request(l.callID(), "BYE", waitTimeout)
	checkRoutes(t, "BYE", bye.GetHeaders("Route"), "p2", "p1")
	if bye.Recipient.User != "bob" {
		t.Errorf("BYE Request-URI %s, want the Contact", bye.Recipient.String())
	}
	l.respondTo(bye, 200, "")
	<-done
}

func checkRoutes(t *testing.T, what string, hdrs []gosip.Header, users ...string) {
	t.Helper()
	if len(hdrs) != len(users) {
		t.Fatalf("%s has %d Route headers, want %d", what, len(hdrs), len(users))
	}
	for i, h := range hdrs {
		if want := "<sip:" + users[i] + "@"; len(h.Value()) < len(want) || h.Value()[:len(want)] != want {
			t.Errorf("%s Route[%d] = %s, want user %s", what, i, h.Value(), users[i])
		}
	}
}

// TestDialNextHop: NextHop sends the INVITE (and the dialog's requests, with no route
// set) to another address than the target's host: a phone registered from behind NAT.
func TestDialNextHop(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: "sip:1001@192.0.2.1:5062", NextHop: p.local.String()})
	l := p.acceptInvite()
	if l.invite.Recipient.Host != "192.0.2.1" {
		t.Errorf("Request-URI %s, want the registered contact", l.invite.Recipient.String())
	}
	l.respond(200, g711Answer(40000, 1), "Contact: <sip:1001@192.0.2.1:5062>")
	l.expectAck()
	c := result(t, ch).c
	if c == nil {
		t.Fatal("no call")
	}
	if want := netip.MustParseAddrPort(p.local.String()); c.Info().Source != want {
		t.Errorf("Source %v, want %v", c.Info().Source, want)
	}
	hangupAndAnswer(t, c, l)
}
