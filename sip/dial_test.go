package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media"
)

// TestDialAnswered: Dial sends an INVITE with our offer (every codec and
// telephone-event) from the listening socket, ACKs the 2xx (RFC 3261 §13.2.2.4) and
// returns a Call that plays to the callee's SDP address; the callee's BYE ends it.
func TestDialAnswered(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	rtp := e.newRTPPeer()
	progress := make(chan Progress, 4)
	ch := e.dial(context.Background(), DialRequest{
		Target:     p.uri("bob"),
		CallerID:   CallerID{Number: "+15551230000", Name: "Hotline"},
		Headers:    []Header{{"X-Queue", "billing"}},
		OnProgress: func(pr Progress) { progress <- pr },
	})
	l := p.acceptInvite()
	inv := l.invite
	if via := inv.Via(); via.Host != "127.0.0.1" || via.Port != p.serverPort() {
		t.Errorf("Via %s:%d, want the server's listening socket %s", via.Host, via.Port, p.server)
	}
	offer := parseSDP(t, inv)
	fmts := offer.Media[0].Formats
	if strings.Join(fmts, " ") != "0 8 101" && !strings.Contains(strings.Join(fmts, " "), "101") {
		t.Errorf("offer formats %v, want the codecs and telephone-event", fmts)
	}
	if inv.From().Address.User != "+15551230000" || inv.From().DisplayName != "Hotline" || tagOfFrom(inv.From()) == "" {
		t.Errorf("From %s", inv.From().Value())
	}
	if h := inv.GetHeader("X-Queue"); h == nil || h.Value() != "billing" {
		t.Errorf("X-Queue header missing")
	}
	if inv.Contact() == nil || inv.GetHeader("Allow") == nil {
		t.Errorf("INVITE without Contact or Allow:\n%s", l.raw)
	}
	l.respond(100, "")
	l.respond(180, "")
	if pr := waitProgress(t, progress); pr.Status != 180 || pr.EarlyMedia || pr.Call == nil {
		t.Errorf("progress %+v, want 180 without early media", pr)
	}
	l.respond(200, g711Answer(rtp.port, 1))
	ack := l.expectAck()
	if ack.Recipient.User != "bob" || len(ack.Body()) != 0 {
		t.Errorf("ACK Request-URI %s (want the 2xx Contact), body %q", ack.Recipient.String(), ack.Body())
	}
	r := result(t, ch)
	if r.err != nil {
		t.Fatalf("Dial: %v", r.err)
	}
	c := r.c
	if !c.Outbound() || !c.Info().Outbound || c.Codec() != "PCMU" || c.Caller() != "+15551230000" || c.Called() != "bob" {
		t.Errorf("call info %+v codec %s", c.Info(), c.Codec())
	}
	if err := c.Answer(context.Background()); err != nil {
		t.Errorf("Answer on an answered outbound call: %v", err)
	}
	if err := c.Play(context.Background(), media.Silence(200*time.Millisecond, c.SampleRate())); err != nil {
		t.Errorf("Play: %v", err)
	}
	rtp.waitPackets(t, 5, 2*time.Second)

	l.request("BYE", "", "")
	if res := p.final(l.callID(), "BYE"); res.StatusCode != 200 {
		t.Errorf("BYE answered %d", res.StatusCode)
	}
	<-c.Done()
	if c.Cause() != causeCalleeBye {
		t.Errorf("cause %q, want %q", c.Cause(), causeCalleeBye)
	}
	e.checkMetric(1, "hotline_calls_started_total", "direction", "outbound", "transport", "udp")
	e.checkMetric(1, "hotline_calls_ended_total", "direction", "outbound", "cause", causeCalleeBye)
	e.checkMetric(1, "hotline_outbound_attempts_total", "trunk", "direct", "result", "answered")
	e.checkMetric(1, "hotline_outbound_setup_seconds", "trunk", "direct")
}

func waitProgress(t *testing.T, ch <-chan Progress) Progress {
	t.Helper()
	select {
	case pr := <-ch:
		return pr
	case <-time.After(waitTimeout):
		t.Fatalf("no progress reported")
		return Progress{}
	}
}

// serverPort is the port of the server's listener this peer talks to.
func (p *peer) serverPort() int {
	_, port, _ := strings.Cut(p.server, ":")
	n := 0
	for _, c := range port {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestDialHangup: our Hangup of an answered outbound call sends BYE with our From
// tag and the callee's To tag, the next CSeq, to the callee's Contact (§15.1.1).
func TestDialHangup(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
	l := p.acceptInvite()
	l.answerCall(40000)
	c := result(t, ch).c
	if c == nil {
		t.Fatal("no call")
	}
	done := make(chan error, 1)
	go func() { done <- c.Hangup(context.Background()) }()
	bye := p.request(l.callID(), "BYE", waitTimeout)
	if tagOf(bye) != l.tag || tagOfFrom(bye.From()) != tagOfFrom(l.invite.From()) {
		t.Errorf("BYE tags From %q To %q, want %q %q", tagOfFrom(bye.From()), tagOf(bye), tagOfFrom(l.invite.From()), l.tag)
	}
	if bye.CSeq().SeqNo <= l.invite.CSeq().SeqNo || bye.Recipient.User != "bob" {
		t.Errorf("BYE CSeq %d (INVITE %d), Request-URI %s", bye.CSeq().SeqNo, l.invite.CSeq().SeqNo, bye.Recipient.String())
	}
	l.respondTo(bye, 200, "")
	if err := <-done; err != nil {
		t.Errorf("Hangup: %v", err)
	}
	if c.Cause() != causeEngineBye {
		t.Errorf("cause %q", c.Cause())
	}
}

// TestDialFailures: final responses map to the sentinels callers branch on, and each
// attempt is counted by result.
func TestDialFailures(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	for _, tc := range []struct {
		code   int
		want   error
		result string
	}{
		{486, ErrBusy, "busy"}, {600, ErrBusy, "busy"}, {603, ErrRejected, "rejected"},
		{480, ErrUnavailable, "unavailable"}, {404, ErrUnavailable, "unavailable"},
		{503, ErrUnavailable, "unavailable"}, {488, ErrMedia, "media_failed"}, {420, ErrFailed, "failed"},
	} {
		ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob")})
		l := p.acceptInvite()
		l.respond(180, "")
		l.respond(tc.code, "")
		// sipgo's INVITE transaction ACKs a failure itself (§17.1.1.3), with our To tag.
		ack := p.request(l.callID(), "ACK", waitTimeout)
		if tagOf(ack) != l.tag {
			t.Errorf("%d: ACK To tag %q", tc.code, tagOf(ack))
		}
		r := result(t, ch)
		var ce *CallError
		if !errors.Is(r.err, tc.want) || !errors.As(r.err, &ce) || ce.SIPStatus() != tc.code {
			t.Errorf("%d: Dial error %v, want %v with the status", tc.code, r.err, tc.want)
		}
		if r.c != nil {
			t.Errorf("%d: a call was returned", tc.code)
		}
	}
	e.checkMetric(2, "hotline_outbound_attempts_total", "result", "busy")
	e.checkMetric(3, "hotline_outbound_attempts_total", "result", "unavailable")
	e.checkMetric(2, "hotline_calls_ended_total", "direction", "outbound", "cause", "busy")
}

// TestDialRingTimeout: no answer within the timeout: CANCEL with the INVITE's branch
// and CSeq (§9.1), the callee's 487 is ACKed, and Dial returns ErrNoAnswer.
func TestDialRingTimeout(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	start := time.Now()
	ch := e.dial(context.Background(), DialRequest{Target: p.uri("bob"), Timeout: 300 * time.Millisecond})
	l := p.acceptInvite()
	l.respond(180, "")
	cancel := p.request(l.callID(), "CANCEL", waitTimeout)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("CANCEL after %v, want the 300 ms ring timeout", d)
	}
	checkCancel(t, cancel, l)
	l.respondTo(cancel, 200, "")
	l.respond(487, "")
	p.request(l.callID(), "ACK", waitTimeout)
	r := result(t, ch)
	if !errors.Is(r.err, ErrNoAnswer) {
		t.Errorf("Dial error %v, want ErrNoAnswer", r.err)
	}
	e.checkMetric(1, "hotline_outbound_attempts_total", "result", "no_answer")
}

// checkCancel checks a CANCEL against the INVITE it cancels (RFC 3261 §9.1).
func checkCancel(t *testing.T, cancel *gosip.Request, l *callee) {
	t.Helper()
	ib, _ := l.invite.Via().Params.Get("branch")
	cb, _ := cancel.Via().Params.Get("branch")
	if ib != cb || cancel.CSeq().SeqNo != l.invite.CSeq().SeqNo || cancel.CSeq().MethodName != "CANCEL" ||
		cancel.Recipient.String() != l.invite.Recipient.String() || tagOf(cancel) != "" {
		t.Errorf("CANCEL does not match its INVITE:\n%s\nINVITE:\n%s", cancel, l.raw)
	}
}
