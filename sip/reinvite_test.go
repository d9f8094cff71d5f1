package sip

import (
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

// reinviteOK sends a re-INVITE with body, expects 200, ACKs it (with ackBody) and
// returns the 200's SDP.
func reinviteOK(t *testing.T, l *leg, body, ackBody string) *sdp.Session {
	t.Helper()
	cseq := l.reinvite(body)
	res := l.p.finalSeq(l.callID, "INVITE", cseq)
	if res.StatusCode != 200 {
		t.Fatalf("re-INVITE answered %d %s\n%s", res.StatusCode, res.Reason, res)
	}
	if tagOf(res) != l.toTag {
		t.Errorf("re-INVITE 200 To tag %q, dialog's %q", tagOf(res), l.toTag)
	}
	if n := len(res.To().Params); n != 1 {
		t.Errorf("To of the re-INVITE 200 has %d params: %v", n, res.To())
	}
	if res.Contact() == nil {
		t.Errorf("re-INVITE 200 without Contact (RFC 3261 §12.2.2 target refresh)")
	}
	l.ack(cseq, ackBody)
	return parseSDP(t, res)
}

// TestReinviteHoldResume: sendonly -> recvonly, inactive -> inactive, sendrecv ->
// sendrecv (RFC 3264 §8.4), each new answer with the o= version one higher (§8), and
// our RTP stops while the caller holds us.
func TestReinviteHoldResume(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	rtp := e.newRTPPeer()
	l := p.newLeg()
	ok := l.establish(g711Offer(rtp.port))
	version := parseSDP(t, ok).Origin.SessionVersion
	rtp.waitPackets(t, 3, 2*time.Second)

	steps := []struct {
		offer, answer string
		sending       bool
	}{
		{"sendonly", "recvonly", false},
		{"inactive", "inactive", false},
		{"sendrecv", "sendrecv", true},
	}
	for i, st := range steps {
		ans := reinviteOK(t, l, sdpOffer{port: rtp.port, formats: []string{fmtPCMU, fmtPCMA, fmtTE}, dir: st.offer, version: i + 1}.String(), "")
		if d := ans.MediaDirection(&ans.Media[0]).String(); d != st.answer {
			t.Errorf("offer %s answered %s, want %s", st.offer, d, st.answer)
		}
		if !ans.Media[0].Attributes.Has(st.answer) {
			t.Errorf("answer lacks a=%s:\n%s", st.answer, ans)
		}
		version++
		if ans.Origin.SessionVersion != version {
			t.Errorf("after %s: o= version %d, want %d", st.offer, ans.Origin.SessionVersion, version)
		}
		time.Sleep(100 * time.Millisecond) // let packets in flight land
		before := rtp.count()
		time.Sleep(200 * time.Millisecond)
		got := rtp.count() - before
		if st.sending && got < 3 {
			t.Errorf("%s: %d RTP packets in 200 ms, want a stream", st.offer, got)
		}
		if !st.sending && got != 0 {
			t.Errorf("%s: %d RTP packets sent while on hold", st.offer, got)
		}
	}
	// The same offer again (a session refresh) changes nothing: same version.
	ans := reinviteOK(t, l, sdpOffer{port: rtp.port, formats: []string{fmtPCMU, fmtPCMA, fmtTE}, dir: "sendrecv", version: 9}.String(), "")
	if ans.Origin.SessionVersion != version {
		t.Errorf("unchanged answer has o= version %d, want %d", ans.Origin.SessionVersion, version)
	}
	l.hangupByCaller()
}

// TestReinviteMovesMedia: a new c=/port in a re-offer redirects our RTP.
func TestReinviteMovesMedia(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	first, second := e.newRTPPeer(), e.newRTPPeer()
	l := p.newLeg()
	l.establish(g711Offer(first.port))
	first.waitPackets(t, 3, 2*time.Second)
	reinviteOK(t, l, sdpOffer{port: second.port, formats: []string{fmtPCMA, fmtTE}, dir: "sendrecv", version: 2}.String(), "")
	second.waitPackets(t, 5, 2*time.Second)
	if second.ptCount(8) == 0 {
		t.Errorf("RTP at the new address is not PCMA")
	}
	time.Sleep(60 * time.Millisecond)
	n := first.count()
	time.Sleep(200 * time.Millisecond)
	if first.count() != n {
		t.Errorf("RTP still goes to the old address")
	}
	l.hangupByCaller()
}

// TestReinviteErrors: an out-of-order CSeq gets 500 (RFC 3261 §12.2.2); an offer with
// no common codec gets 488 and the call carries on as before (RFC 3261 §14.2).
func TestReinviteErrors(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	rtp := e.newRTPPeer()
	l := p.newLeg()
	l.cseq = 10
	l.establish(g711Offer(rtp.port))

	l.next(reqSpec{method: "INVITE", cseq: 5, body: g711Offer(rtp.port)})
	res := p.finalSeq(l.callID, "INVITE", 5)
	if res.StatusCode != 500 {
		t.Errorf("re-INVITE with lower CSeq answered %d, want 500", res.StatusCode)
	}
	l.ackFailure(res)

	cseq := l.reinvite(sdpOffer{port: rtp.port, formats: []string{fmtG729}, dir: "sendrecv", version: 2}.String())
	res = p.finalSeq(l.callID, "INVITE", cseq)
	if res.StatusCode != 488 {
		t.Errorf("re-INVITE with only G729 answered %d, want 488", res.StatusCode)
	}
	if res.GetHeader("Warning") == nil {
		t.Errorf("488 without Warning")
	}
	l.ackFailure(res)
	c := e.handler.call(t)
	if c.Codec() != "PCMU" {
		t.Errorf("codec after refused re-offer %q", c.Codec())
	}
	rtp.waitPackets(t, 5, 2*time.Second)

	cseq = l.reinvite("v=0\r\nthis is not sdp")
	res = p.finalSeq(l.callID, "INVITE", cseq)
	if res.StatusCode != 400 {
		t.Errorf("re-INVITE with malformed SDP answered %d, want 400", res.StatusCode)
	}
	l.ackFailure(res)
	// Still a working dialog.
	reinviteOK(t, l, sdpOffer{port: rtp.port, formats: []string{fmtPCMU, fmtTE}, dir: "sendrecv", version: 3}.String(), "")
	l.hangupByCaller()
}

// TestReinviteWithoutOffer: an empty re-INVITE gets our offer in the 200 and the
// caller's answer in the ACK is applied (RFC 3261 §14.2).
func TestReinviteWithoutOffer(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	first, second := e.newRTPPeer(), e.newRTPPeer()
	l := p.newLeg()
	ok := l.establish(g711Offer(first.port))
	v0 := parseSDP(t, ok).Origin.SessionVersion
	offer := reinviteOK(t, l, "", sdpOffer{port: second.port, formats: []string{fmtPCMA, fmtTE}, dir: "sendrecv", version: 2}.String())
	if offer.Origin.SessionVersion != v0+1 {
		t.Errorf("offer o= version %d, want %d", offer.Origin.SessionVersion, v0+1)
	}
	if len(offer.Media) != 1 || len(offer.Media[0].RTPFormats()) < 3 {
		t.Errorf("re-INVITE offer does not list our codecs:\n%s", offer)
	}
	second.waitPackets(t, 5, 2*time.Second)
	if second.ptCount(8) == 0 {
		t.Errorf("answer from ACK not applied: no PCMA at the new address")
	}
	c := e.handler.call(t)
	if c.Codec() != "PCMA" {
		t.Errorf("codec %q after the ACK's answer, want PCMA", c.Codec())
	}
	l.hangupByCaller()
}

// TestReinviteOverTCP: hold and resume work the same over TCP.
func TestReinviteOverTCP(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("tcp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	ans := reinviteOK(t, l, sdpOffer{port: 40000, formats: []string{fmtPCMU}, dir: "sendonly", version: 2}.String(), "")
	if d := ans.MediaDirection(&ans.Media[0]); d != sdp.RecvOnly {
		t.Errorf("direction %v", d)
	}
	l.hangupByCaller()
}

// TestReinviteBackToBack: a caller may send its next re-INVITE the moment it has the
// final response to the previous one (and the ACK, after a 2xx): it must never get the
// 500 reserved for overlapping INVITEs (RFC 3261 §14.2).
func TestReinviteBackToBack(t *testing.T) {
	e := newEnv(t)
	p := e.newPeer("udp")
	l := p.newLeg()
	l.establish(g711Offer(40000))
	for i := range 30 {
		offer := sdpOffer{port: 40000, formats: []string{fmtPCMU}, dir: "sendrecv", version: i + 2}.String()
		if i%3 == 1 {
			offer = sdpOffer{port: 40000, formats: []string{fmtG729}, version: i + 2}.String()
		}
		if i%3 == 2 {
			offer = "" // we offer, the answer comes in the ACK
		}
		cseq := l.reinvite(offer)
		res := p.finalSeq(l.callID, "INVITE", cseq)
		switch {
		case res.StatusCode == 200:
			answer := ""
			if offer == "" {
				answer = sdpOffer{port: 40000, formats: []string{fmtPCMU}, dir: "sendrecv", version: i + 2}.String()
			}
			l.ack(cseq, answer)
		case res.StatusCode == 488 && i%3 == 1:
			l.ackFailure(res)
		default:
			t.Fatalf("re-INVITE %d answered %d %s", i, res.StatusCode, res.Reason)
		}
	}
	l.hangupByCaller()
}
