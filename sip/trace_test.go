package sip

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// traceLog collects the traces a server reports.
type traceLog struct {
	mu     sync.Mutex
	traces []MessageTrace
}

func (l *traceLog) add(m MessageTrace) {
	l.mu.Lock()
	l.traces = append(l.traces, m)
	l.mu.Unlock()
}

// of returns the traces of one call in time order, rendered "→ INVITE",
// "← 200 OK (INVITE)". Traces are reported by the goroutines that send and receive,
// so their report order may differ from their times (an ACK handled before the
// send of the 200 it answers returned); a timeline orders them by time.
func (l *traceLog) of(callID string) []string {
	var out []string
	for _, m := range l.all() {
		if m.CallID == callID {
			out = append(out, m.Arrow()+" "+m.Brief())
		}
	}
	return out
}

// all returns every trace in time order.
func (l *traceLog) all() []MessageTrace {
	l.mu.Lock()
	out := slices.Clone(l.traces)
	l.mu.Unlock()
	slices.SortStableFunc(out, func(a, b MessageTrace) int { return a.At.Compare(b.At) })
	return out
}

// newTracedEnv is newEnv with WithMessageTrace reporting to the returned log.
func newTracedEnv(t *testing.T) (*testEnv, *traceLog) {
	t.Helper()
	tl := &traceLog{}
	return newEnv(t, withOptions(WithMessageTrace(tl.add))), tl
}

// waitTraces waits until callID's traces are want.
func waitTraces(t *testing.T, tl *traceLog, callID string, want []string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !slices.Equal(tl.of(callID), want) {
		if time.Now().After(deadline) {
			t.Fatalf("traces of %s:\n  %s\nwant:\n  %s", callID, strings.Join(tl.of(callID), "\n  "), strings.Join(want, "\n  "))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMessageTraceInbound: an inbound call's messages are reported in order, in
// and out, with their peer, Request-URI and time; OPTIONS and requests that match
// no call are not reported.
func TestMessageTraceInbound(t *testing.T) {
	e, tl := newTracedEnv(t)
	p := e.newPeer("udp")

	probe := p.newLeg()
	probe.next(reqSpec{method: "OPTIONS"})
	p.expect(probe.callID, "OPTIONS", 200)
	stranger := p.newLeg()
	stranger.next(reqSpec{method: "BYE", toTag: "nosuchtag"})
	p.expect(stranger.callID, "BYE", 481)

	start := time.Now()
	l := p.newLeg()
	l.establish(g711Offer(40000))
	e.handler.call(t)
	// sipgo handles each request on a goroutine of its own and the trace's time is
	// when the server took it: a BYE right on the heels of the ACK may be taken first.
	waitTraces(t, tl, l.callID, []string{"← INVITE", "→ 100 Trying (INVITE)", "→ 180 Ringing (INVITE)", "→ 200 OK (INVITE)", "← ACK"})
	l.hangupByCaller()
	waitTraces(t, tl, l.callID, []string{
		"← INVITE", "→ 100 Trying (INVITE)", "→ 180 Ringing (INVITE)", "→ 200 OK (INVITE)",
		"← ACK", "← BYE", "→ 200 OK (BYE)",
	})
	for _, m := range tl.all() {
		switch {
		case m.CallID == probe.callID || m.CallID == stranger.callID:
			t.Errorf("reported a message of no call: %s", m)
		case m.Remote != p.local.String() || m.Transport != "udp" || m.At.Before(start) || m.At.After(time.Now()):
			t.Errorf("%s: remote %q transport %q at %v, want %s udp after %v", m, m.Remote, m.Transport, m.At, p.local, start)
		case m.Method == "INVITE" && m.RequestURI != l.ruri():
			t.Errorf("%s: Request-URI %q, want %q", m, m.RequestURI, l.ruri())
		}
	}
}

// TestMessageTraceCancel: a caller's CANCEL, answered by the transaction layer, is
// reported with both of its answers.
func TestMessageTraceCancel(t *testing.T) {
	e, tl := newTracedEnv(t)
	e.handler.set(func(ctx context.Context, c *Call) {
		_ = c.Ring(ctx)
		<-ctx.Done()
	})
	p := e.newPeer("udp")
	l := p.newLeg()
	l.invite(g711Offer(40000))
	waitTraces(t, tl, l.callID, []string{"← INVITE", "→ 100 Trying (INVITE)", "→ 180 Ringing (INVITE)"})
	p.send(l.cancel())
	p.expect(l.callID, "CANCEL", 200)
	waitTraces(t, tl, l.callID, []string{
		"← INVITE", "→ 100 Trying (INVITE)", "→ 180 Ringing (INVITE)",
		"← CANCEL", "→ 200 OK (CANCEL)", "→ 487 Request Terminated (INVITE)",
	})
}

// TestMessageTraceOutbound: an outbound call's INVITE, the callee's responses, our
// ACK, and the BYE transaction are reported.
func TestMessageTraceOutbound(t *testing.T) {
	e, tl := newTracedEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	// One response at a time: sipgo passes up a provisional response that arrives
	// after the 200 nowhere (the transaction is Accepted by then).
	l.respond(100, "")
	waitTraces(t, tl, l.callID(), []string{"→ INVITE", "← 100 Trying (INVITE)"})
	l.respond(180, "")
	waitTraces(t, tl, l.callID(), []string{"→ INVITE", "← 100 Trying (INVITE)", "← 180 Ringing (INVITE)"})
	l.respond(200, g711Answer(40000, 1))
	l.expectAck()
	c := result(t, ch).c
	if c == nil {
		t.Fatal("no call")
	}
	done := make(chan error, 1)
	go func() { done <- c.Hangup(context.Background()) }()
	bye := p.request(l.callID(), "BYE", waitTimeout)
	l.respondTo(bye, 200, "")
	if err := <-done; err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	waitTraces(t, tl, l.callID(), []string{
		"→ INVITE", "← 100 Trying (INVITE)", "← 180 Ringing (INVITE)", "← 200 OK (INVITE)",
		"→ ACK", "→ BYE", "← 200 OK (BYE)",
	})
	for _, m := range tl.all() {
		if m.Remote != p.local.String() {
			t.Errorf("%s: remote %q, want the callee %s", m, m.Remote, p.local)
		}
	}
}

func TestMessageTraceString(t *testing.T) {
	for _, c := range []struct {
		m    MessageTrace
		want string
	}{
		{MessageTrace{Sent: true, Method: "INVITE", RequestURI: "sip:100@127.0.0.1:5060"}, "→ INVITE sip:100@127.0.0.1:5060"},
		{MessageTrace{Status: 200, Reason: "OK", CSeqMethod: "INVITE"}, "← 200 OK (INVITE)"},
		{MessageTrace{Sent: true, Status: 487, CSeqMethod: "INVITE"}, "→ 487 (INVITE)"},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.m, got, c.want)
		}
	}
}
