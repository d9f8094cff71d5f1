package sip

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRTPTimeout: a caller that sends RTP keeps its call; once its RTP stops the engine
// ends the call with a BYE (cause rtp_timeout).
func TestRTPTimeout(t *testing.T) {
	e := newEnv(t, withRTPTimeout(time.Second))
	p := e.newPeer("udp")
	rtp := e.newRTPPeer()
	l := p.newLeg()
	ok := l.establish(g711Offer(rtp.port))
	dst := mediaAddr(t, parseSDP(t, ok))
	rtp.send(t, dst, 0, 75) // 1.5 s of audio: longer than the timeout
	stopped := time.Now()
	bye := l.answerBye(waitTimeout)
	if d := time.Since(stopped); d < 900*time.Millisecond {
		t.Errorf("BYE %v after the caller's RTP stopped, want about the 1 s timeout", d)
	}
	checkBye(t, bye, l, p)
	c := e.handler.call(t)
	<-c.Done()
	if c.Cause() != causeRTPTimeout {
		t.Errorf("cause %q, want %q", c.Cause(), causeRTPTimeout)
	}
	if c.MediaStats().PacketsReceived < 50 {
		t.Errorf("received %d packets, want the caller's 75", c.MediaStats().PacketsReceived)
	}
	e.checkMetric(1, "hotline_calls_ended_total", "cause", causeRTPTimeout)
}

// TestNoRTPTimeoutOnHold: a caller that holds the call (sendonly) sends no RTP and that
// is expected: no timeout.
func TestNoRTPTimeoutOnHold(t *testing.T) {
	e := newEnv(t, withRTPTimeout(time.Second))
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	reinviteOK(t, l, sdpOffer{port: 40000, formats: []string{fmtPCMU, fmtTE}, dir: "sendonly", version: 2}.String(), "")
	p.noRequest(l.callID, "BYE", 2500*time.Millisecond)
	l.hangupByCaller()
	c := e.handler.call(t)
	<-c.Done()
	if c.Cause() != causeCallerBye {
		t.Errorf("cause %q", c.Cause())
	}
}

// TestServerClose: Close hangs up every call: BYE to the answered ones, 503 to the
// ringing ones; every call record is written and the handlers return.
func TestServerClose(t *testing.T) {
	e := newEnv(t)
	e.handler.set(func(ctx context.Context, c *Call) {
		_ = c.Ring(ctx)
		if c.Called() == "100" {
			_ = c.Answer(ctx)
		}
		<-ctx.Done()
	})
	pu, pt := e.newPeer("udp"), e.newPeer("tcp")
	answered := pu.newLeg()
	answered.establish(g711Offer(40000))
	ringing := pt.newLeg()
	ringing.user = "200"
	ringing.invite(g711Offer(40002))
	pt.expect(ringing.callID, "INVITE", 100)
	pt.expect(ringing.callID, "INVITE", 180)
	c1, c2 := e.handler.call(t), e.handler.call(t)

	closed := make(chan struct{})
	go func() {
		e.srv.Close()
		close(closed)
	}()
	bye := answered.answerBye(waitTimeout)
	checkBye(t, bye, answered, pu)
	res := pt.final(ringing.callID, "INVITE")
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Errorf("ringing call got %d (Retry-After %v), want 503 with Retry-After", res.StatusCode, res.GetHeader("Retry-After"))
	}
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatalf("Close did not return")
	}
	for _, c := range []*Call{c1, c2} {
		select {
		case <-c.Done():
		default:
			t.Errorf("call %s not ended after Close", c.ID())
		}
		if c.Cause() != causeShutdown {
			t.Errorf("call %s cause %q, want shutdown", c.ID(), c.Cause())
		}
	}
	for range 2 {
		select {
		case <-e.handler.returned:
		case <-time.After(waitTimeout):
			t.Fatalf("handler still running after Close")
		}
	}
	if e.srv.ActiveCalls() != 0 || e.eng.PortsInUse() != 0 {
		t.Errorf("after Close: calls %d ports %d", e.srv.ActiveCalls(), e.eng.PortsInUse())
	}
	e.checkMetric(0, "hotline_calls_active")
}

// TestMetrics: the SIP series count what a caller saw.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	seen := map[string]int{}
	for {
		res := p.response(l.callID, "INVITE")
		seen["INVITE "+strconv.Itoa(res.StatusCode)]++
		if res.StatusCode == 200 {
			l.learn(res)
			break
		}
	}
	l.ack(0, "")
	e.handler.call(t)
	e.checkMetric(1, "hotline_calls_active")
	e.checkMetric(1, "hotline_call_setup_seconds")
	l.next(reqSpec{method: "OPTIONS"})
	p.expect(l.callID, "OPTIONS", 200)
	seen["OPTIONS 200"]++
	l.hangupByCaller()
	seen["BYE 200"]++
	r := p.newLeg()
	r.invite(sdpOffer{port: 40000, formats: []string{fmtG729}}.String())
	for {
		res := p.response(r.callID, "INVITE")
		seen["INVITE "+strconv.Itoa(res.StatusCode)]++
		if res.StatusCode >= 200 {
			r.ackFailure(res)
			break
		}
	}
	waitUntil(t, time.Second, "call ended", func() bool { return e.srv.ActiveCalls() == 0 })
	for k, n := range seen {
		method, code, _ := strings.Cut(k, " ")
		e.checkMetric(float64(n), "hotline_sip_responses_total", "method", method, "code", code)
	}
	for _, m := range []string{"INVITE", "ACK", "BYE", "OPTIONS"} {
		if got := e.metric("hotline_sip_requests_total", "method", m); got < 1 {
			t.Errorf("requests_total{%s} = %v", m, got)
		}
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hotline_calls_started_total", []string{"transport", "udp", "direction", "inbound"}, 1},
		{"hotline_calls_active", nil, 0},
		{"hotline_calls_ended_total", []string{"cause", causeCallerBye}, 1},
	}
	for _, c := range checks {
		e.checkMetric(c.want, c.name, c.labels...)
	}
}

// TestNoRTPTimeoutInEarlyMedia: a caller listening to early media sends no RTP (RFC
// 3960): no timeout before the answer; after it, the timeout counts from the answer.
func TestNoRTPTimeoutInEarlyMedia(t *testing.T) {
	e := newEnv(t, withRTPTimeout(time.Second))
	answer := newSignal()
	e.handler.set(func(ctx context.Context, c *Call) {
		_ = c.EarlyMedia(ctx)
		select {
		case <-answer:
		case <-ctx.Done():
			return
		}
		if c.Answer(ctx) == nil {
			<-ctx.Done()
		}
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	p.expect(l.callID, "INVITE", 100)
	p.expect(l.callID, "INVITE", 183)
	if in, ok := p.take(2*time.Second, isResponse(l.callID, "INVITE", 0)); ok {
		t.Fatalf("early media ended by %s", in.msg.(interface{ StartLine() string }).StartLine())
	}
	answer.fire()
	ok := p.expect(l.callID, "INVITE", 200)
	answered := time.Now()
	l.learn(ok)
	l.ack(0, "")
	l.answerBye(waitTimeout)
	if d := time.Since(answered); d < 900*time.Millisecond {
		t.Errorf("RTP timeout %v after the answer, want it to count from the answer (1 s)", d)
	}
	c := e.handler.call(t)
	<-c.Done()
	if c.Cause() != causeRTPTimeout {
		t.Errorf("cause %q", c.Cause())
	}
}
