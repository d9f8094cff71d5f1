package sip

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
	"github.com/hotline-ivr/hotline/media/srtp"
	"github.com/hotline-ivr/hotline/sip/sdp"
)

// newTLSPeer is a caller on a TLS connection to the env's TLS listener, read like a
// TCP peer; the env closes it.
func (e *testEnv) newTLSPeer(addr string, cert *x509.Certificate) *peer {
	e.t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		e.t.Fatalf("TLS dial: %v", err)
	}
	p := &peer{t: e.t, transport: "TLS", signal: make(chan struct{}), tcp: conn, server: addr,
		local: conn.LocalAddr().(*net.TCPAddr).AddrPort()}
	p.wg.Add(1)
	go p.readTCP()
	e.peers = append(e.peers, p)
	return p
}

// srtpEnv is a server with a TLS listener and one inbound trunk for loopback with
// the given SRTP policy.
func srtpEnv(t *testing.T, policy string) (*testEnv, string, *x509.Certificate) {
	t.Helper()
	certFile, keyFile, cert := writeCert(t, t.TempDir(), 1)
	e := newEnv(t, withSIP(func(c *Config) {
		c.Listen = append(c.Listen, Listen{"tls", "127.0.0.1:0"})
		c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
		c.Inbound = InboundConfig{Trusted: []string{}, Trunks: []InboundTrunk{
			{Name: "pbx", Sources: []string{"127.0.0.0/8"}, SRTP: policy},
		}}
	}))
	for _, a := range e.srv.Addrs() {
		if a.Network() == "tls" {
			return e, a.String(), cert
		}
	}
	t.Fatal("no tls listener in Addrs")
	return nil, "", nil
}

// savpOffer is a PCMU offer in proto with the given a=crypto values.
func savpOffer(port int, proto string, cryptos ...string) string {
	s := fmt.Sprintf("v=0\r\no=alice 4242 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n", port, proto)
	for _, c := range cryptos {
		s += "a=crypto:" + c + "\r\n"
	}
	return s
}

// TestSRTPInboundTLSRequired: a caller on TLS offers RTP/SAVP with two a=crypto
// lines (an unsupported suite first) to a trunk with srtp: required; the 200 answers
// RTP/SAVP with the tag of the supported line and a key of the engine's own; the
// engine's SRTP decrypts with that key, ours (protected with the offered key) is
// accepted by the engine, and neither key appears in the logs.
func TestSRTPInboundTLSRequired(t *testing.T) {
	e, addr, cert := srtpEnv(t, SRTPRequired)
	ours, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	other, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	port := rtpConn.LocalAddr().(*net.UDPAddr).Port

	p := e.newTLSPeer(addr, cert)
	l := p.newLeg()
	res := l.establish(savpOffer(port, "RTP/SAVP",
		"1 AES_256_CM_HMAC_SHA1_80 inline:"+other.Inline()+other.Inline()[:16],
		"2 AES_CM_128_HMAC_SHA1_80 inline:"+ours.Inline()+"|2^31"))
	ans := parseSDP(t, res)
	m := &ans.Media[0]
	if m.Proto != "RTP/SAVP" {
		t.Fatalf("answer proto %q, want RTP/SAVP", m.Proto)
	}
	cs := m.Cryptos()
	if len(cs) != 1 || cs[0].Tag != 2 || cs[0].Suite != "AES_CM_128_HMAC_SHA1_80" {
		t.Fatalf("answer a=crypto %v, want one line with tag 2", cs)
	}
	theirs, err := srtp.ParseInline(srtp.AES_CM_128_HMAC_SHA1_80, cs[0].KeySalt)
	if err != nil {
		t.Fatalf("engine's key: %v", err)
	}
	if theirs == ours {
		t.Fatal("the engine answered with the offered key")
	}
	engineRTP := mediaAddr(t, ans)
	call := e.handler.call(t)

	// The engine → us: its silence, protected with its key.
	rx, _ := srtp.NewContext(theirs)
	buf := make([]byte, 2048)
	decrypted := 0
	for i := 0; i < 200 && decrypted < 10; i++ {
		_ = rtpConn.SetReadDeadline(time.Now().Add(waitTimeout))
		n, err := rtpConn.Read(buf)
		if err != nil {
			t.Fatalf("no RTP from the engine: %v", err)
		}
		if rtp.IsRTCP(buf[:n]) {
			continue
		}
		n, err = rx.UnprotectRTP(buf[:n])
		if err != nil {
			t.Fatalf("engine's packet does not decrypt with its answered key: %v", err)
		}
		var h rtp.Header
		payload, err := h.Unmarshal(buf[:n])
		if err != nil || h.PayloadType != 0 || len(payload) != 160 {
			t.Fatalf("decrypted packet: PT %d, %d octets, %v", h.PayloadType, len(payload), err)
		}
		decrypted++
	}
	if decrypted < 10 {
		t.Fatalf("only %d SRTP packets from the engine", decrypted)
	}

	// Us → the engine: SRTP with the offered key is accepted.
	tx, _ := srtp.NewContext(ours)
	for i := 0; i < 20; i++ {
		h := rtp.Header{PayloadType: 0, SequenceNumber: uint16(100 + i), Timestamp: uint32(i * 160), SSRC: 0xA11CE}
		n, _ := h.MarshalTo(buf)
		for j := 0; j < 160; j++ {
			buf[n+j] = 0xFF
		}
		n, err := tx.ProtectRTP(buf, n+160)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rtpConn.WriteToUDPAddrPort(buf[:n], engineRTP); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, waitTimeout, "the engine to accept our SRTP", func() bool {
		return call.MediaStats().PacketsReceived >= 20
	})
	if n := e.metric("hotline_srtp_errors_total"); n != 0 {
		t.Errorf("hotline_srtp_errors_total = %v, want 0", n)
	}
	// A plain RTP packet on the SRTP call is refused and counted.
	h := rtp.Header{PayloadType: 0, SequenceNumber: 500, SSRC: 0xA11CE}
	n, _ := h.MarshalTo(buf)
	if _, err := rtpConn.WriteToUDPAddrPort(buf[:n+160], engineRTP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, waitTimeout, "the plain packet counted", func() bool {
		return e.metric("hotline_srtp_errors_total", "reason", "auth") == 1
	})
	l.hangupByCaller()
	for _, k := range []string{ours.Inline(), theirs.Inline()} {
		if e.logs.contains(k[:20]) {
			t.Errorf("an SRTP key appears in the logs")
		}
	}
}

// TestSRTPInboundRefusals: 488 Not Acceptable Here for a required trunk offered plain
// RTP/AVP, for RTP/SAVP with no usable a=crypto, and on an optional trunk for
// RTP/SAVP without crypto; an optional trunk accepts plain RTP.
func TestSRTPInboundRefusals(t *testing.T) {
	key, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_32)
	for _, tc := range []struct {
		name, policy, offer string
		want                int
		warn                string
	}{
		{"required plain", SRTPRequired, savpOffer(40000, "RTP/AVP"), 488, "302"},
		{"required plain with crypto", SRTPRequired, savpOffer(40000, "RTP/AVP", "1 AES_CM_128_HMAC_SHA1_32 inline:"+key.Inline()), 488, "302"},
		{"required no crypto", SRTPRequired, savpOffer(40000, "RTP/SAVP"), 488, "302"},
		{"required unknown suite", SRTPRequired, savpOffer(40000, "RTP/SAVP", "1 F8_128_HMAC_SHA1_80 inline:"+key.Inline()), 488, "302"},
		{"required MKI", SRTPRequired, savpOffer(40000, "RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:"+key.Inline()+"|1:4"), 488, "302"},
		{"required bad key", SRTPRequired, savpOffer(40000, "RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ="), 488, "302"},
		{"optional no crypto", SRTPOptional, savpOffer(40000, "RTP/SAVP"), 488, "302"},
		{"optional plain", SRTPOptional, savpOffer(40000, "RTP/AVP"), 200, ""},
		{"optional SRTP_32", SRTPOptional, savpOffer(40000, "RTP/SAVP", "7 AES_CM_128_HMAC_SHA1_32 inline:"+key.Inline()), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, addr, cert := srtpEnv(t, tc.policy)
			p := e.newTLSPeer(addr, cert)
			l := p.newLeg()
			l.invite(tc.offer)
			res := p.final(l.callID, "INVITE")
			if res.StatusCode != tc.want {
				t.Fatalf("answered %d, want %d\n%s", res.StatusCode, tc.want, res)
			}
			if tc.want != 200 {
				if w := res.GetHeader("Warning"); w == nil || !strings.HasPrefix(w.Value(), tc.warn) {
					t.Errorf("Warning %v, want %s", w, tc.warn)
				}
				l.ackFailure(res)
				return
			}
			l.learn(res)
			l.ack(0, "")
			m := parseSDP(t, res).Media[0]
			if strings.Contains(tc.offer, "RTP/SAVP") != (m.Proto == "RTP/SAVP") || (len(m.Cryptos()) == 1) != (m.Proto == "RTP/SAVP") {
				t.Errorf("answer %s with %d a=crypto for offer proto of %q", m.Proto, len(m.Cryptos()), tc.name)
			}
			if cs := m.Cryptos(); len(cs) == 1 && (cs[0].Tag != 7 || cs[0].Suite != "AES_CM_128_HMAC_SHA1_32") {
				t.Errorf("answer crypto %v, want tag 7 with the _32 suite", cs[0])
			}
			l.hangupByCaller()
		})
	}
}

// TestSRTPRequiresTLS: the same SRTP offer over TCP to a required trunk gets 488
// (keys would travel in clear text), and to an optional trunk is refused as a
// transport (RTP/SAVP is not accepted without TLS).
func TestSRTPRequiresTLS(t *testing.T) {
	key, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	offer := savpOffer(40000, "RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:"+key.Inline())
	for _, policy := range []string{SRTPRequired, SRTPOptional} {
		t.Run(policy, func(t *testing.T) {
			e, _, _ := srtpEnv(t, policy)
			p := e.newPeer("tcp")
			l := p.newLeg()
			l.invite(offer)
			res := p.final(l.callID, "INVITE")
			if res.StatusCode != 488 {
				t.Fatalf("%s over TCP: answered %d, want 488", policy, res.StatusCode)
			}
			l.ackFailure(res)
		})
	}
}

var _ = errors.Is
var _ = netip.Addr{}
var _ = sdp.ErrNoCrypto
