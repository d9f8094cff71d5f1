package sip

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestAnswerHangupRace: Answer and Hangup racing must leave the caller with a
// consistent view: a final non-2xx, or a 200 followed by a BYE.
func TestAnswerHangupRace(t *testing.T) {
	e := newEnv(t)
	var n atomic.Int32
	e.handler.set(func(ctx context.Context, c *Call) {
		done := make(chan struct{})
		go func() {
			_ = c.Answer(ctx)
			close(done)
		}()
		time.Sleep(time.Duration(n.Add(1)%40) * 5 * time.Microsecond)
		_ = c.Hangup(context.WithoutCancel(ctx))
		<-done
	})
	p := e.newPeer("udp")
	for i := range 100 {
		l := p.newLeg()
		l.invite(g711Offer(40000 + 2*(i%100)))
		res := p.final(l.callID, "INVITE")
		if res.StatusCode == 200 {
			l.learn(res)
			l.ack(0, "")
			l.answerBye(waitTimeout)
		} else {
			l.ackFailure(res)
		}
		time.Sleep(5 * time.Millisecond)
		p.drain(func(inbound) bool { return true })
	}
}

// TestMergedInvite: the same INVITE arriving with another branch (forked, or resent
// over TCP after its transaction ended) must not start a second call.
func TestMergedInvite(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			p := e.newPeer(transport)
			l := p.newLeg()
			l.establish(g711Offer(40000))
			branch := "z9hG4bKmerged" + randHex(4)
			l.p.send(l.build(reqSpec{method: "INVITE", cseq: l.inviteCSeq, noToTag: true, branch: branch, body: g711Offer(40000)}))
			res := p.finalTo(branch)
			if res.StatusCode != 482 {
				t.Errorf("merged INVITE answered %d, want 482", res.StatusCode)
			}
			time.Sleep(50 * time.Millisecond)
			if n := e.handler.count.Load(); n != 1 {
				t.Errorf("handler ran %d times", n)
			}
			l.hangupByCaller()
		})
	}
}

// TestByeFollowsRecordRoute: the route set is the INVITE's Record-Route list in order
// (RFC 3261 §12.1.1), whether the proxies wrote one header each or one comma-joined
// header; our BYE carries it as Route and goes to the first hop (§12.2.1.1, loose
// routing), with the caller's Contact as Request-URI.
func TestByeFollowsRecordRoute(t *testing.T) {
	for _, joined := range []bool{false, true} {
		t.Run(map[bool]string{false: "separate", true: "joined"}[joined], func(t *testing.T) {
			e := newEnv(t)
			hangup := newSignal()
			e.handler.set(func(ctx context.Context, c *Call) {
				if c.Answer(ctx) != nil {
					return
				}
				<-hangup
				_ = c.Hangup(ctx)
			})
			p := e.newPeer("udp")
			proxy := e.newPeer("udp") // stands for the record-routing proxy
			l := p.newLeg()
			rr1 := "<sip:" + proxy.local.String() + ";lr>"
			rr2 := "<sip:192.0.2.7:5060;lr;ftag=x>"
			hdrs := []string{"Record-Route: " + rr1, "Record-Route: " + rr2}
			if joined {
				hdrs = []string{"Record-Route: " + rr1 + ", " + rr2}
			}
			l.invite(g711Offer(40000), hdrs...)
			ok := p.final(l.callID, "INVITE")
			if got := ok.GetHeaders("Record-Route"); len(got) != 2 {
				t.Errorf("200 carries %d Record-Route values, want both", len(got))
			}
			l.learn(ok)
			l.ack(0, "")
			e.handler.call(t)
			hangup.fire()
			bye := proxy.request(l.callID, "BYE", waitTimeout)
			routes := bye.GetHeaders("Route")
			if len(routes) != 2 || routes[0].Value() != rr1 || routes[1].Value() != rr2 {
				var vs []string
				for _, r := range routes {
					vs = append(vs, r.Value())
				}
				t.Errorf("BYE Route %q, want [%s %s]", vs, rr1, rr2)
			}
			if bye.Recipient.User != "alice" || bye.Recipient.Port != int(p.local.Port()) {
				t.Errorf("BYE Request-URI %s, want the caller's Contact", bye.Recipient.String())
			}
			proxy.reply(bye, 200)
			waitUntil(t, waitTimeout, "call ended", func() bool { return e.srv.ActiveCalls() == 0 })
		})
	}
}

// TestHangupWithCancelledContext: teardown does not depend on the handler's ctx (STYLE
// rule 4): a Hangup with a cancelled ctx still runs the BYE transaction, retransmitted
// over UDP until the caller answers it (RFC 3261 §17.1.2.2).
func TestHangupWithCancelledContext(t *testing.T) {
	e := newEnv(t)
	hungUp := make(chan error, 1)
	e.handler.set(func(ctx context.Context, c *Call) {
		if c.Answer(ctx) != nil {
			return
		}
		dead, cancel := context.WithCancel(ctx)
		cancel()
		hungUp <- c.Hangup(dead)
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	first := p.request(l.callID, "BYE", waitTimeout)
	// Do not answer the first copy: the transaction must retransmit it.
	again := p.request(l.callID, "BYE", 3*time.Second)
	if first.CSeq().SeqNo != again.CSeq().SeqNo {
		t.Errorf("second BYE is a new request (CSeq %d, then %d), not a retransmission", first.CSeq().SeqNo, again.CSeq().SeqNo)
	}
	p.reply(again, 200)
	select {
	case err := <-hungUp:
		if err != nil {
			t.Errorf("Hangup: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Hangup did not return")
	}
}

// TestAnswerGivesUp: a handler whose Answer stops waiting for the ACK (its ctx ended)
// still gets its call hung up promptly once the ACK arrives: no AckTimeout wait.
func TestAnswerGivesUp(t *testing.T) {
	e := newEnv(t, withSIP(func(c *Config) { c.AckTimeout = time.Minute }))
	e.handler.set(func(ctx context.Context, c *Call) {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := c.Answer(short); err == nil {
			t.Errorf("Answer succeeded without an ACK")
		}
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	p.expect(l.callID, "INVITE", 100)
	ok := p.expect(l.callID, "INVITE", 200)
	time.Sleep(100 * time.Millisecond) // the handler gave up and returned
	l.learn(ok)
	l.ack(0, "")
	l.answerBye(2 * time.Second)
}

// TestCloseIsBounded: Close returns within its ShutdownTimeout even while a hang-up
// already under way waits for an ACK that never comes.
func TestCloseIsBounded(t *testing.T) {
	e := newEnv(t, withSIP(func(c *Config) {
		c.AckTimeout = time.Minute
		c.ShutdownTimeout = 300 * time.Millisecond
	}))
	e.handler.set(func(ctx context.Context, c *Call) {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_ = c.Answer(short) // gives up; the handler's return hangs up and waits for the ACK
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	p.expect(l.callID, "INVITE", 100)
	p.expect(l.callID, "INVITE", 200)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	e.srv.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a 300 ms ShutdownTimeout", d)
	}
	c := e.handler.call(t)
	<-c.Done()
}

// TestCancelRacesAnswer: whichever of CANCEL and 200 wins, the caller sees one
// consistent outcome (487, or 200 and the call goes on) and Answer reports the loss as
// ErrCallEnded. A CANCEL right after the 100 may even beat the handler's start: then
// the handler never runs.
func TestCancelRacesAnswer(t *testing.T) {
	e := newEnv(t)
	type result struct {
		id  string
		err error
	}
	results := make(chan result, 64)
	e.handler.set(func(ctx context.Context, c *Call) {
		results <- result{c.ID(), c.Answer(ctx)}
		<-ctx.Done()
	})
	answerOf := func(id string, d time.Duration) (error, bool) {
		deadline := time.After(d)
		for {
			select {
			case r := <-results:
				if r.id == id {
					return r.err, true
				}
			case <-deadline:
				return nil, false
			}
		}
	}
	p := e.newPeer("udp")
	outcomes := map[string]int{}
	defer func() { t.Logf("outcomes: %v", outcomes) }()
	for i := range 30 {
		l := p.newLeg()
		l.invite(g711Offer(40000 + 2*(i%50)))
		p.expect(l.callID, "INVITE", 100)
		time.Sleep(time.Duration(i%8) * 100 * time.Microsecond)
		l.cancel()
		res := p.final(l.callID, "INVITE")
		switch res.StatusCode {
		case 487:
			err, ran := answerOf(l.callID, 100*time.Millisecond)
			if ran && !errors.Is(err, ErrCallEnded) {
				t.Errorf("CANCEL won but Answer returned %v", err)
			}
			outcomes[map[bool]string{true: "487 after handler start", false: "487 before handler start"}[ran]]++
			l.ackFailure(res)
		case 200:
			l.learn(res)
			l.ack(0, "")
			if err, _ := answerOf(l.callID, waitTimeout); err != nil {
				t.Errorf("200 sent but Answer returned %v", err)
			}
			outcomes["200"]++
			l.hangupByCaller()
		default:
			t.Fatalf("INVITE answered %d", res.StatusCode)
		}
		waitUntil(t, waitTimeout, "call ended", func() bool { return e.srv.ActiveCalls() == 0 })
		p.drain(func(inbound) bool { return true })
	}
}
