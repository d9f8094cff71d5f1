package sip

import (
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// TestOptions: OPTIONS in and out of a dialog is answered 200 with Allow and Accept
// (RFC 3261 §11.2).
func TestOptions(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	probe := p.newLeg()
	probe.next(reqSpec{method: "OPTIONS"})
	checkCapabilities(t, p.expect(probe.callID, "OPTIONS", 200))

	l := p.newLeg()
	l.establish(g711Offer(40000))
	l.next(reqSpec{method: "OPTIONS"})
	res := p.expect(l.callID, "OPTIONS", 200)
	checkCapabilities(t, res)
	if tagOf(res) != l.toTag {
		t.Errorf("in-dialog OPTIONS To tag %q, want %q", tagOf(res), l.toTag)
	}
	l.hangupByCaller()
}

func checkCapabilities(t *testing.T, res *gosip.Response) {
	t.Helper()
	allow, accept := res.GetHeader("Allow"), res.GetHeader("Accept")
	if allow == nil || !strings.Contains(allow.Value(), "INVITE") || !strings.Contains(allow.Value(), "INFO") {
		t.Errorf("Allow: %v", allow)
	}
	if accept == nil || !strings.Contains(accept.Value(), "application/sdp") {
		t.Errorf("Accept: %v", accept)
	}
}

// TestMethodsNotServed: REGISTER and SUBSCRIBE get 405 with Allow (RFC 3261 §8.2.1),
// an unknown method 501 (§8.2.1, §21.5.2).
func TestMethodsNotServed(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	for _, tc := range []struct {
		method string
		code   int
	}{{"REGISTER", 405}, {"SUBSCRIBE", 405}, {"FOO", 501}} {
		l := p.newLeg()
		l.next(reqSpec{method: tc.method})
		res := p.expect(l.callID, tc.method, tc.code)
		if tc.code == 405 {
			if a := res.GetHeader("Allow"); a == nil || !strings.Contains(a.Value(), "INVITE") {
				t.Errorf("%s: 405 without Allow listing INVITE: %v", tc.method, a)
			}
		}
	}
	e.checkMetric(1, "hotline_sip_responses_total", "method", "other", "code", "501")
}

// TestInfoDTMF: SIP INFO carries DTMF to Call.Digits (application/dtmf-relay and
// application/dtmf); other bodies get 415, INFO outside a dialog 481.
func TestInfoDTMF(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	c := e.handler.call(t)

	l.info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
	p.expect(l.callID, "INFO", 200)
	expectDigit(t, c, '5')
	l.info("application/dtmf", "7")
	p.expect(l.callID, "INFO", 200)
	expectDigit(t, c, '7')
	l.info("application/x-custom", "whatever")
	res := p.expect(l.callID, "INFO", 415)
	if res.GetHeader("Accept") == nil {
		t.Errorf("415 without Accept")
	}
	l.info("application/dtmf-relay", "Duration=160\r\n")
	p.expect(l.callID, "INFO", 400)
	// An INFO with a lower CSeq is out of order (RFC 3261 §12.2.2).
	l.next(reqSpec{method: "INFO", cseq: 1, body: "9", contentType: "application/dtmf"})
	p.expect(l.callID, "INFO", 500)
	select {
	case d := <-c.Digits():
		t.Errorf("unexpected digit %q", d)
	case <-time.After(50 * time.Millisecond):
	}

	outside := p.newLeg()
	outside.toTag = "nosuchdialog"
	outside.info("application/dtmf", "1")
	p.expect(outside.callID, "INFO", 481)
	l.hangupByCaller()
}

func expectDigit(t *testing.T, c *Call, want byte) {
	t.Helper()
	select {
	case d := <-c.Digits():
		if d != want {
			t.Errorf("digit %q, want %q", d, want)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("digit %q never delivered", want)
	}
}
