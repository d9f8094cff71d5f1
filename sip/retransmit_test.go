package sip

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestInviteRetransmission: a retransmitted INVITE (same bytes) is absorbed by its
// transaction: one call, one handler run, and the copy gets the last response again.
func TestInviteRetransmission(t *testing.T) {
	e := newEnv(t)
	answer := newSignal()
	e.handler.set(func(ctx context.Context, c *Call) {
		_ = c.Ring(ctx)
		<-answer
		if err := c.Answer(ctx); err != nil {
			return
		}
		<-ctx.Done()
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	raw := l.invite(g711Offer(40000))
	p.expect(l.callID, "INVITE", 100)
	ring := p.expect(l.callID, "INVITE", 180)

	p.send(raw) // the caller missed the 180
	again := p.expect(l.callID, "INVITE", 180)
	if tagOf(again) != tagOf(ring) {
		t.Errorf("retransmitted 180 has To tag %q, first one %q", tagOf(again), tagOf(ring))
	}
	answer.fire()
	ok := p.expect(l.callID, "INVITE", 200)
	if tagOf(ok) != tagOf(ring) {
		t.Errorf("200 To tag %q, 180's %q", tagOf(ok), tagOf(ring))
	}
	p.send(raw) // a late copy after the 200: absorbed, the 2xx keeps being retransmitted
	ok2 := p.expect(l.callID, "INVITE", 200)
	if string(ok2.Body()) != string(ok.Body()) || tagOf(ok2) != tagOf(ok) {
		t.Errorf("retransmitted 200 differs from the first:\n%s\n---\n%s", ok, ok2)
	}
	l.learn(ok)
	l.ack(0, "")
	time.Sleep(5 * testT1)
	if n := e.handler.count.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	e.checkMetric(1, "hotline_calls_started_total")
	if e.srv.ActiveCalls() != 1 {
		t.Errorf("ActiveCalls = %d, want 1", e.srv.ActiveCalls())
	}
	l.hangupByCaller()
}

// TestRejectionRetransmission: a retransmitted INVITE after a 4xx gets the same 4xx
// (RFC 3261 §17.2.1, Completed state).
func TestRejectionRetransmission(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	raw := l.invite(sdpOffer{port: 40000, formats: []string{fmtG729}}.String())
	first := p.final(l.callID, "INVITE")
	if first.StatusCode != 488 {
		t.Fatalf("INVITE answered %d, want 488", first.StatusCode)
	}
	p.send(raw)
	second := p.final(l.callID, "INVITE")
	if second.StatusCode != 488 || tagOf(second) != tagOf(first) {
		t.Errorf("retransmission answered %d tag %q; first %d tag %q", second.StatusCode, tagOf(second), first.StatusCode, tagOf(first))
	}
	l.ackFailure(first)
	e.checkMetric(0, "hotline_calls_started_total")
}

// TestRetransmitSchedule: 2xx retransmissions go out after T1, 2*T1, 4*T1 ... capped
// at T2 (RFC 3261 §13.3.1.4).
func TestRetransmitSchedule(t *testing.T) {
	t1, t2 := 500*time.Millisecond, 4*time.Second
	want := []time.Duration{t1, 2 * t1, 4 * t1, t2, t2, t2}
	got := []time.Duration{t1}
	for len(got) < len(want) {
		got = append(got, nextRetransmit(got[len(got)-1], t2))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("schedule %v, want %v", got, want)
		}
	}
}

// TestOKRetransmittedUntilAck: without an ACK the identical 2xx keeps being
// retransmitted; the ACK stops it and Answer returns.
func TestOKRetransmittedUntilAck(t *testing.T) {
	e := newEnv(t)
	answered := make(chan error, 1)
	e.handler.set(func(ctx context.Context, c *Call) {
		answered <- c.Answer(ctx)
		<-ctx.Done()
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	var at []time.Time
	var first []byte
	for len(at) < 6 {
		in, ok := p.take(waitTimeout, isResponse(l.callID, "INVITE", 0))
		if !ok {
			t.Fatalf("only %d copies of the 200 arrived", len(at))
		}
		if in.msg.(interface{ StartLine() string }).StartLine() != "SIP/2.0 200 OK" {
			continue
		}
		if first == nil {
			first = in.raw
		} else if string(in.raw) != string(first) {
			t.Errorf("retransmitted 200 differs from the first")
		}
		at = append(at, in.at)
	}
	// The intervals themselves (T1 doubling up to T2) are checked without a clock in
	// TestRetransmitSchedule: on a loaded machine wall-clock gaps say little.
	select {
	case err := <-answered:
		t.Fatalf("Answer returned %v before the ACK", err)
	default:
	}
	l.toTag = tagOf(mustParseResponse(t, first))
	l.ack(0, "")
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Answer did not return after the ACK")
	}
	p.drain(isResponse(l.callID, "INVITE", 0)) // one may have crossed the ACK
	if in, ok := p.take(2*testT2, isResponse(l.callID, "INVITE", 0)); ok {
		t.Errorf("200 still retransmitted after the ACK:\n%s", in.raw)
	}
	l.hangupByCaller()
}

// TestNoAckEndsCall: a 2xx never ACKed ends the call with a BYE after 64*T1
// (RFC 3261 §13.3.1.4); Answer reports it.
func TestNoAckEndsCall(t *testing.T) {
	e := newEnv(t)
	answered := make(chan error, 1)
	e.handler.set(func(ctx context.Context, c *Call) {
		answered <- c.Answer(ctx)
		<-ctx.Done()
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	start := time.Now()
	l.invite(g711Offer(40000))
	p.expect(l.callID, "INVITE", 100)
	res := p.expect(l.callID, "INVITE", 200)
	l.learn(res)
	bye := l.answerBye(64*testT1 + waitTimeout)
	if waited := time.Since(start); waited < 64*testT1*9/10 {
		t.Errorf("BYE after %v, want 64*T1 = %v", waited, 64*testT1)
	}
	checkBye(t, bye, l, p)
	select {
	case err := <-answered:
		if !errors.Is(err, errNoAck) {
			t.Errorf("Answer returned %v, want errNoAck", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Answer did not return")
	}
	c := e.handler.call(t)
	<-c.Done()
	if c.Cause() != causeNoAck {
		t.Errorf("cause %q, want %q", c.Cause(), causeNoAck)
	}
	e.checkMetric(1, "hotline_calls_ended_total", "cause", causeNoAck)
}

// TestByeRetransmission: a retransmitted BYE gets the same 200 from its transaction; a
// BYE for a dialog that does not exist gets 481 (RFC 3261 §15.1.2).
func TestByeRetransmission(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	c := e.handler.call(t)
	raw := l.bye()
	first := p.expect(l.callID, "BYE", 200)
	<-c.Done()
	p.send(raw)
	second := p.expect(l.callID, "BYE", 200)
	if first.String() != second.String() {
		t.Errorf("retransmitted BYE answered differently:\n%s\n---\n%s", first, second)
	}
	if c.Cause() != causeCallerBye {
		t.Errorf("cause %q", c.Cause())
	}
	l.bye() // a new BYE transaction for the dialog that is gone
	p.expect(l.callID, "BYE", 481)

	other := p.newLeg()
	other.toTag = "nosuchtag"
	other.bye()
	p.expect(other.callID, "BYE", 481)
}
