package sip

import (
	"context"
	"errors"
	"testing"
	"time"
)

// ringUntilEnd is a handler that rings and waits for the call to end, reporting when
// its context was cancelled.
func ringUntilEnd(done chan<- time.Time) func(context.Context, *Call) {
	return func(ctx context.Context, c *Call) {
		_ = c.Ring(ctx)
		<-ctx.Done()
		done <- time.Now()
	}
}

// TestCancelBeforeAnswer: CANCEL gets 200, the INVITE 487 with the To tag of the 180
// (RFC 3261 §9.2, §8.2.6.2), the handler's ctx ends and the call is released.
func TestCancelBeforeAnswer(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			ctxDone := make(chan time.Time, 1)
			e.handler.set(ringUntilEnd(ctxDone))
			p := e.newPeer(transport)
			l := p.newLeg()
			l.invite(g711Offer(40000))
			p.expect(l.callID, "INVITE", 100)
			ring := p.expect(l.callID, "INVITE", 180)
			c := e.handler.call(t)
			l.cancel()
			sent := time.Now()
			p.expect(l.callID, "CANCEL", 200)
			res := p.expect(l.callID, "INVITE", 487)
			if tagOf(res) != tagOf(ring) {
				t.Errorf("487 To tag %q, 180 To tag %q: want the same (RFC 3261 §8.2.6.2)", tagOf(res), tagOf(ring))
			}
			l.ackFailure(res)
			select {
			case at := <-ctxDone:
				if d := at.Sub(sent); d > time.Second {
					t.Errorf("handler ctx ended %v after the CANCEL", d)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("handler ctx not cancelled")
			}
			<-c.Done()
			if c.Cause() != causeCancel {
				t.Errorf("cause %q, want %q", c.Cause(), causeCancel)
			}
			e.checkMetric(1, "hotline_sip_responses_total", "method", "INVITE", "code", "487")
			e.checkMetric(1, "hotline_sip_responses_total", "method", "CANCEL", "code", "200")
			// The 487 is retransmitted until ACKed, then never again.
			time.Sleep(4 * testT1)
			p.drain(isResponse(l.callID, "INVITE", 0))
			if in, ok := p.take(4*testT1, isResponse(l.callID, "INVITE", 0)); ok {
				t.Errorf("487 retransmitted after its ACK:\n%s", in.raw)
			}
		})
	}
}

// TestCancelWithoutInvite: a CANCEL that matches no INVITE transaction gets 481.
func TestCancelWithoutInvite(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.inviteCSeq, l.inviteBranch = 1, "z9hG4bKnosuchinvite"
	l.cancel()
	p.expect(l.callID, "CANCEL", 481)
}

// TestCancelAfterAnswer: a CANCEL crossing the 200 does not end the answered call
// (RFC 3261 §9.2: it has no effect once a final response was sent).
func TestCancelAfterAnswer(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	c := e.handler.call(t)
	l.cancel()
	p.expect(l.callID, "CANCEL", 200)
	time.Sleep(3 * testT1)
	if p.drain(isResponse(l.callID, "INVITE", 0)); c.Cause() != "" {
		t.Fatalf("CANCEL after answer ended the call (%s)", c.Cause())
	}
	l.hangupByCaller()
}

// TestCallerBye: the caller hangs up an answered call: 200, the handler's ctx ends at
// once and the RTP port is released.
func TestCallerBye(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			ctxDone := make(chan time.Time, 1)
			e.handler.set(func(ctx context.Context, c *Call) {
				// Over TCP the BYE may overtake the ACK (sipgo handles each request on
				// its own goroutine): Answer then reports ErrCallEnded, which is fine.
				if err := c.Answer(ctx); err != nil && !errors.Is(err, ErrCallEnded) {
					t.Errorf("Answer: %v", err)
				}
				<-ctx.Done()
				ctxDone <- time.Now()
			})
			p := e.newPeer(transport)
			l := p.newLeg()
			l.establish(g711Offer(40000))
			c := e.handler.call(t)
			if e.eng.PortsInUse() != 1 {
				t.Errorf("PortsInUse %d during the call", e.eng.PortsInUse())
			}
			sent := time.Now()
			l.hangupByCaller()
			select {
			case at := <-ctxDone:
				if d := at.Sub(sent); d > time.Second {
					t.Errorf("handler ctx ended %v after the BYE", d)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("handler ctx not cancelled by BYE")
			}
			<-c.Done()
			if e.eng.PortsInUse() != 0 || e.srv.ActiveCalls() != 0 {
				t.Errorf("after BYE: ports %d calls %d", e.eng.PortsInUse(), e.srv.ActiveCalls())
			}
			if c.Cause() != causeCallerBye {
				t.Errorf("cause %q", c.Cause())
			}
			p.noRequest(l.callID, "BYE", 3*testT1)
		})
	}
}

// TestByeEarlyDialog: BYE on an early dialog (after a 183 with To tag) gets 200 and the
// INVITE 487 (RFC 3261 §15.1.2).
func TestByeEarlyDialog(t *testing.T) {
	e := newEnv(t)
	ctxDone := make(chan time.Time, 1)
	e.handler.set(func(ctx context.Context, c *Call) {
		_ = c.EarlyMedia(ctx)
		<-ctx.Done()
		ctxDone <- time.Now()
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	p.expect(l.callID, "INVITE", 100)
	prog := p.expect(l.callID, "INVITE", 183)
	l.learn(prog)
	l.bye()
	p.expect(l.callID, "BYE", 200)
	res := p.expect(l.callID, "INVITE", 487)
	if tagOf(res) != tagOf(prog) {
		t.Errorf("487 To tag %q, 183's %q", tagOf(res), tagOf(prog))
	}
	l.ackFailure(res)
	select {
	case <-ctxDone:
	case <-time.After(waitTimeout):
		t.Fatalf("handler ctx not cancelled")
	}
	c := e.handler.call(t)
	<-c.Done()
	if c.Cause() != causeCallerBye {
		t.Errorf("cause %q", c.Cause())
	}
}
