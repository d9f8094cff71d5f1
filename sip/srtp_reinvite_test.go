package sip

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/srtp"
)

// answerKey returns the single a=crypto line of an SDP answer's first stream, with
// its tag and key, failing the test unless it is RTP/SAVP with the _80 suite.
func answerKey(t *testing.T, proto string, cryptos []string) (tag string, key srtp.Keying) {
	t.Helper()
	if proto != "RTP/SAVP" || len(cryptos) != 1 {
		t.Fatalf("answer %s with a=crypto %d lines, want RTP/SAVP with one", proto, len(cryptos))
	}
	f := strings.Fields(cryptos[0])
	if len(f) < 3 || f[1] != "AES_CM_128_HMAC_SHA1_80" || !strings.HasPrefix(f[2], "inline:") {
		t.Fatalf("answer a=crypto %q", f[:1])
	}
	k, err := srtp.ParseInline(srtp.AES_CM_128_HMAC_SHA1_80, strings.SplitN(strings.TrimPrefix(f[2], "inline:"), "|", 2)[0])
	if err != nil {
		t.Fatalf("answer key: %v", err)
	}
	return f[0], k
}

// TestSRTPReinvite: on an SRTP call (TLS, trunk srtp: required) re-INVITEs keep the
// crypto right: hold and resume with the caller's key unchanged are answered with
// the engine's key unchanged (and the echoed tag); a new key from the caller gets a
// new key from the engine and media decrypts both ways with the new pair; a plain
// RTP re-offer is refused with 488 and the call stays up; an empty re-INVITE gets
// an RTP/SAVP offer with the engine's current key.
func TestSRTPReinvite(t *testing.T) {
	e, addr, cert := srtpEnv(t, SRTPRequired)
	keyA, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	keyB, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	port := rtpConn.LocalAddr().(*net.UDPAddr).Port
	p := e.newTLSPeer(addr, cert)
	l := p.newLeg()
	offer := func(dir, tag string, k srtp.Keying) string {
		return strings.Replace(savpOffer(port, "RTP/SAVP", tag+" AES_CM_128_HMAC_SHA1_80 inline:"+k.Inline()),
			"a=sendrecv", "a="+dir, 1)
	}
	res := l.establish(offer("sendrecv", "1", keyA))
	ans := parseSDP(t, res)
	_, engineKey := answerKey(t, ans.Media[0].Proto, ans.Media[0].Attributes.Values("crypto"))
	engineRTP := mediaAddr(t, ans)
	call := e.handler.call(t)
	srtpExchange(t, call, rtpConn, engineRTP, engineKey, keyA, 100)

	// Hold and resume, the caller's key unchanged (tag 3 this time): same engine key.
	for i, dir := range []string{"sendonly", "sendrecv"} {
		a := reinviteOK(t, l, offer(dir, "3", keyA), "")
		tag, k := answerKey(t, a.Media[0].Proto, a.Media[0].Attributes.Values("crypto"))
		if tag != "3" {
			t.Errorf("step %d: answer tag %s, want the offer's 3", i, tag)
		}
		if k != engineKey {
			t.Errorf("step %d (%s): the engine changed its key though the caller kept its own", i, dir)
		}
	}
	srtpExchange(t, call, rtpConn, engineRTP, engineKey, keyA, 200)

	// The caller rekeys: the engine answers with a new key, and both new keys work.
	a := reinviteOK(t, l, offer("sendrecv", "1", keyB), "")
	_, newKey := answerKey(t, a.Media[0].Proto, a.Media[0].Attributes.Values("crypto"))
	if newKey == engineKey {
		t.Error("the engine kept its key though the caller rekeyed")
	}
	drainRTP(rtpConn)
	srtpExchange(t, call, rtpConn, engineRTP, newKey, keyB, 1)

	// Plain RTP on a required trunk: 488, the call goes on.
	cseq := l.reinvite(g711Offer(port))
	if r := p.finalSeq(l.callID, "INVITE", cseq); r.StatusCode != 488 {
		t.Fatalf("plain re-offer answered %d, want 488", r.StatusCode)
	} else {
		l.ackFailure(r)
	}

	// An empty re-INVITE: our offer is RTP/SAVP with the key in use.
	cseq = l.reinvite("")
	r := p.finalSeq(l.callID, "INVITE", cseq)
	if r.StatusCode != 200 {
		t.Fatalf("empty re-INVITE answered %d", r.StatusCode)
	}
	o := parseSDP(t, r)
	tag, k := answerKey(t, o.Media[0].Proto, o.Media[0].Attributes.Values("crypto"))
	if k != newKey {
		t.Error("the engine's re-offer does not carry the key in use")
	}
	l.ack(cseq, strings.Replace(savpOffer(port, "RTP/SAVP", tag+" AES_CM_128_HMAC_SHA1_80 inline:"+keyB.Inline()), "o=alice 4242 1", "o=alice 4242 9", 1))
	srtpExchange(t, call, rtpConn, engineRTP, newKey, keyB, 300)
	if n := e.metric("hotline_srtp_errors_total"); n != 0 {
		t.Errorf("hotline_srtp_errors_total = %v, want 0", n)
	}
	l.hangupByCaller()
}

// drainRTP discards what the engine sent with its previous key.
func drainRTP(conn *net.UDPConn) {
	buf := make([]byte, 2048)
	for i := 0; i < 1000; i++ {
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}
