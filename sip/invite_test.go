package sip

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

// TestCallLifecycle walks one call through what a softphone sees: 100, 180 and 200
// with SDP, ACK, then the engine hangs up with a BYE the caller answers.
func TestCallLifecycle(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			e := newEnv(t)
			hangup := newSignal()
			answered := make(chan error, 1)
			hungUp := make(chan error, 1)
			ctxDone := make(chan struct{})
			e.handler.set(func(ctx context.Context, c *Call) {
				if err := c.Ring(ctx); err != nil {
					t.Errorf("Ring: %v", err)
				}
				answered <- c.Answer(ctx)
				<-hangup
				hungUp <- c.Hangup(ctx)
				<-ctx.Done()
				close(ctxDone)
			})
			p := e.newPeer(transport)
			rtp := e.newRTPPeer()
			l := p.newLeg()
			l.invite(g711Offer(rtp.port))

			trying := p.expect(l.callID, "INVITE", 100)
			if tag, _ := trying.To().Params.Get("tag"); tag != "" {
				// RFC 3261 §8.2.6.2 allows it; we just note which way it went.
				t.Logf("100 Trying carries To tag %q", tag)
			}
			ringing := p.expect(l.callID, "INVITE", 180)
			ok := p.expect(l.callID, "INVITE", 200)
			ringTag, _ := ringing.To().Params.Get("tag")
			okTag, _ := ok.To().Params.Get("tag")
			if ringTag == "" || ringTag != okTag {
				t.Errorf("To tags: 180 %q, 200 %q; want the same non-empty tag", ringTag, okTag)
			}
			for _, res := range []*gosip.Response{ringing, ok} {
				if res.Contact() == nil {
					t.Errorf("%d without Contact", res.StatusCode)
				}
			}
			if ct := ok.ContentType(); ct == nil || ct.Value() != "application/sdp" {
				t.Errorf("200 Content-Type %v, want application/sdp", ct)
			}
			ans := parseSDP(t, ok)
			checkG711Answer(t, ans, "PCMU", 0)
			call := e.handler.call(t)
			if got := mediaAddr(t, ans); got.Port() != call.media.LocalAddr().Port() || got.Addr().String() != "127.0.0.1" {
				t.Errorf("answer media address %v, session bound to %v", got, call.media.LocalAddr())
			}
			if call.Caller() != "alice" || call.Called() != "100" || call.Info().Transport != transport {
				t.Errorf("call info %+v", call.Info())
			}
			select {
			case err := <-answered:
				t.Fatalf("Answer returned %v before the ACK", err)
			case <-time.After(2 * testT1):
			}
			l.learn(ok)
			l.ack(0, "")
			select {
			case err := <-answered:
				if err != nil {
					t.Fatalf("Answer: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("Answer did not return after the ACK")
			}
			rtp.waitPackets(t, 3, 2*time.Second) // the answered call streams (silence)

			hangup.fire()
			bye := p.request(l.callID, "BYE", waitTimeout)
			checkBye(t, bye, l, p)
			p.reply(bye, 200)
			select {
			case err := <-hungUp:
				if err != nil {
					t.Errorf("Hangup: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("Hangup did not return after the 200 to BYE")
			}
			<-ctxDone
			<-call.Done()
			if call.Cause() != causeEngineBye {
				t.Errorf("cause %q, want %q", call.Cause(), causeEngineBye)
			}
			if n := e.srv.ActiveCalls(); n != 0 {
				t.Errorf("ActiveCalls %d after the call ended", n)
			}
			if n := e.eng.PortsInUse(); n != 0 {
				t.Errorf("PortsInUse %d after the call ended", n)
			}
			e.checkMetric(1, "hotline_calls_ended_total", "cause", causeEngineBye, "transport", transport)
		})
	}
}

// checkG711Answer checks the answer names exactly one codec, telephone-event/8000 and
// sendrecv.
func checkG711Answer(t *testing.T, ans *sdp.Session, codec string, pt uint8) {
	t.Helper()
	if len(ans.Media) != 1 {
		t.Fatalf("answer has %d m= lines:\n%s", len(ans.Media), ans)
	}
	m := &ans.Media[0]
	fs := m.RTPFormats()
	if len(fs) != 2 || fs[0].Name != codec || fs[0].PT != pt || fs[1].Name != "telephone-event" || fs[1].ClockRate != 8000 {
		t.Errorf("answer formats %v, want %s/%d and telephone-event/8000:\n%s", fs, codec, pt, ans)
	}
	if d := ans.MediaDirection(m); d != sdp.SendRecv {
		t.Errorf("answer direction %v, want sendrecv", d)
	}
	if !m.Attributes.Has("sendrecv") {
		t.Errorf("answer without explicit a=sendrecv:\n%s", ans)
	}
	if ans.Connection == nil && m.Connection == nil {
		t.Errorf("answer without c= line:\n%s", ans)
	}
}

// checkBye checks a BYE from the server is in the caller's dialog (RFC 3261 §12.2.1.1):
// From carries our To tag, To the caller's From tag, same Call-ID, CSeq method BYE,
// and it went to the address the INVITE came from.
func checkBye(t *testing.T, bye *gosip.Request, l *leg, p *peer) {
	t.Helper()
	fromTag, _ := bye.From().Params.Get("tag")
	toTag, _ := bye.To().Params.Get("tag")
	if fromTag != l.toTag || toTag != l.fromTag {
		t.Errorf("BYE tags from=%q to=%q, want from=%q to=%q", fromTag, toTag, l.toTag, l.fromTag)
	}
	if bye.CallID().Value() != l.callID {
		t.Errorf("BYE Call-ID %q", bye.CallID().Value())
	}
	if bye.CSeq().MethodName != gosip.BYE {
		t.Errorf("BYE CSeq %v", bye.CSeq())
	}
	if bye.Recipient.User != "alice" {
		t.Errorf("BYE Request-URI %v, want the caller's Contact", bye.Recipient.String())
	}
	if p.transport == "UDP" && !strings.HasSuffix(p.server, portOf(bye.Via().Port)) {
		t.Errorf("BYE Via %v does not name the server's listener %s", bye.Via(), p.server)
	}
}

func portOf(p int) string { return ":" + strconv.Itoa(p) }
