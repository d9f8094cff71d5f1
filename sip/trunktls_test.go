package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
	"github.com/hotline-ivr/hotline/media/srtp"
	"github.com/hotline-ivr/hotline/sip/sdp"
)

// tlsCarrier is a carrier's TLS listener on loopback: the first connection it
// accepts becomes a peer (read like a TCP peer) playing the callee.
type tlsCarrier struct {
	ln   net.Listener
	port int
	sni  chan string // the server name each handshake asked for
	mu   sync.Mutex
	p    *peer
	got  chan struct{}
}

func newTLSCarrier(t *testing.T, certFile, keyFile string) *tlsCarrier {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tlsCarrier{sni: make(chan string, 8), got: make(chan struct{})}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		tc.sni <- h.ServerName
		return nil, nil
	}}
	tc.ln, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc.port = tc.ln.Addr().(*net.TCPAddr).Port
	local := tc.ln.Addr().(*net.TCPAddr).AddrPort()
	go func() {
		for {
			conn, err := tc.ln.Accept()
			if err != nil {
				return
			}
			if err := conn.(*tls.Conn).Handshake(); err != nil {
				conn.Close()
				continue
			}
			p := &peer{t: t, transport: "TLS", tcp: conn, server: conn.RemoteAddr().String(), local: local,
				signal: make(chan struct{})}
			p.wg.Add(1)
			go p.readTCP()
			tc.mu.Lock()
			first := tc.p == nil
			if first {
				tc.p = p
			}
			tc.mu.Unlock()
			if first {
				close(tc.got)
			} else {
				p.close()
			}
		}
	}()
	return tc
}

// close stops the carrier; registered after the env's cleanup so it runs before
// the env's goroutine leak check.
func (tc *tlsCarrier) close() {
	tc.ln.Close()
	tc.mu.Lock()
	if tc.p != nil {
		tc.p.close()
	}
	tc.mu.Unlock()
}

// peer waits for the engine's connection.
func (tc *tlsCarrier) peer(t *testing.T) *peer {
	t.Helper()
	select {
	case <-tc.got:
	case <-time.After(waitTimeout):
		t.Fatal("the engine did not connect to the carrier over TLS")
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.p
}

// tlsTrunkEnv is a server with a TLS listener (for its Contact) and one TLS trunk
// "carrier" toward a TLS carrier on loopback that presents a self-signed
// certificate; adjust changes the trunk (CA file, SRTP policy).
func tlsTrunkEnv(t *testing.T, adjust func(*TrunkConfig)) (*testEnv, *tlsCarrier) {
	t.Helper()
	certFile, keyFile, _ := writeCert(t, t.TempDir(), 7)
	tc := newTLSCarrier(t, certFile, keyFile)
	tr := carrierTrunk(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(tc.port)))
	tr.Host, tr.Transport, tr.TLSCAFile = "localhost", "tls", certFile
	tr.Username, tr.Password = "", ""
	if adjust != nil {
		adjust(&tr)
	}
	e := newEnv(t, withSIP(func(c *Config) {
		c.Listen = append(c.Listen, Listen{"tls", "127.0.0.1:0"})
		c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
		c.Trunks = []TrunkConfig{tr}
	}))
	t.Cleanup(tc.close)
	return e, tc
}

// savpAnswer answers with RTP/SAVP (or proto) PCMU on port with one a=crypto line.
func savpAnswer(port int, proto, crypto string) string {
	s := fmt.Sprintf("v=0\r\no=carrier 99 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n", port, proto)
	if crypto != "" {
		s += "a=crypto:" + crypto + "\r\n"
	}
	return s
}

// srtpExchange checks media both ways on an SRTP call: the engine's packets to
// conn decrypt with engineKey, and packets protected with ourKey sent to engineRTP
// are counted by the call.
func srtpExchange(t *testing.T, c *Call, conn *net.UDPConn, engineRTP netip.AddrPort, engineKey, ourKey srtp.Keying, seq uint16) {
	t.Helper()
	rx, _ := srtp.NewContext(engineKey)
	buf := make([]byte, 2048)
	decrypted := 0
	for i := 0; i < 200 && decrypted < 10; i++ {
		_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no RTP from the engine: %v", err)
		}
		if rtp.IsRTCP(buf[:n]) {
			continue
		}
		n, err = rx.UnprotectRTP(buf[:n])
		if err != nil {
			t.Fatalf("engine's packet does not decrypt with its key: %v", err)
		}
		var h rtp.Header
		payload, err := h.Unmarshal(buf[:n])
		if err != nil || h.PayloadType != 0 || len(payload) != 160 {
			t.Fatalf("decrypted packet: PT %d, %d octets, %v", h.PayloadType, len(payload), err)
		}
		decrypted++
	}
	before := c.MediaStats().PacketsReceived
	tx, _ := srtp.NewContext(ourKey)
	for i := 0; i < 20; i++ {
		h := rtp.Header{PayloadType: 0, SequenceNumber: seq + uint16(i), Timestamp: uint32(i * 160), SSRC: 0xCA881E4}
		n, _ := h.MarshalTo(buf)
		for j := 0; j < 160; j++ {
			buf[n+j] = 0xFF
		}
		n, err := tx.ProtectRTP(buf, n+160)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteToUDPAddrPort(buf[:n], engineRTP); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, waitTimeout, "the engine to accept our SRTP", func() bool {
		return c.MediaStats().PacketsReceived >= before+20
	})
}

// TestTrunkTLSSRTPRequired: a call through a trunk with transport tls and srtp:
// required dials the carrier over TLS with SNI = the trunk's host name (verified
// against tls_ca_file), offers RTP/SAVP with one AES_CM_128_HMAC_SHA1_80 a=crypto;
// with the carrier's answer the media decrypts both ways; the BYE goes over the
// same connection.
func TestTrunkTLSSRTPRequired(t *testing.T) {
	e, tc := tlsTrunkEnv(t, func(tr *TrunkConfig) { tr.SRTP = SRTPRequired })
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	ch := e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	p := tc.peer(t)
	if sni := <-tc.sni; sni != "localhost" {
		t.Errorf("SNI %q, want the trunk's host localhost", sni)
	}
	callee := p.acceptInvite()
	if v := callee.invite.Via(); v == nil || !strings.EqualFold(v.Transport, "TLS") {
		t.Errorf("INVITE Via %v, want SIP/2.0/TLS", v)
	}
	offer := parseSDP(t, callee.invite)
	m := &offer.Media[0]
	cs := m.Cryptos()
	if m.Proto != "RTP/SAVP" || len(cs) != 1 || cs[0].Suite != "AES_CM_128_HMAC_SHA1_80" {
		t.Fatalf("offer %s with a=crypto %v, want RTP/SAVP with AES_CM_128_HMAC_SHA1_80", m.Proto, cs)
	}
	engineKey, err := srtp.ParseInline(srtp.AES_CM_128_HMAC_SHA1_80, cs[0].KeySalt)
	if err != nil {
		t.Fatalf("offered key: %v", err)
	}
	ourKey, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	contact := "Contact: <sip:bob@127.0.0.1:" + fmt.Sprint(tc.port) + ";transport=tls>"
	callee.respond(200, savpAnswer(rtpConn.LocalAddr().(*net.UDPAddr).Port, "RTP/SAVP",
		fmt.Sprintf("%d AES_CM_128_HMAC_SHA1_80 inline:%s", cs[0].Tag, ourKey.Inline())), contact)
	callee.expectAck()
	r := result(t, ch)
	if r.err != nil {
		t.Fatalf("Dial: %v", r.err)
	}
	srtpExchange(t, r.c, rtpConn, mediaAddr(t, offer), engineKey, ourKey, 1)
	if n := e.metric("hotline_srtp_errors_total"); n != 0 {
		t.Errorf("hotline_srtp_errors_total = %v, want 0", n)
	}
	done := make(chan error, 1)
	go func() { done <- r.c.Hangup(context.Background()) }()
	bye := p.request(callee.callID(), "BYE", waitTimeout)
	callee.respondTo(bye, 200, "")
	if err := <-done; err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	if e.logs.contains(ourKey.Inline()[:20]) || e.logs.contains(engineKey.Inline()[:20]) {
		t.Error("an SRTP key appears in the logs")
	}
}

// TestTrunkTLSSRTPAnswerWithoutCrypto: srtp: required and an answer in plain
// RTP/AVP: the 2xx is ACKed, the call ended with BYE and Dial fails with ErrMedia
// saying SRTP was required.
func TestTrunkTLSSRTPAnswerWithoutCrypto(t *testing.T) {
	e, tc := tlsTrunkEnv(t, func(tr *TrunkConfig) { tr.SRTP = SRTPRequired })
	ch := e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	p := tc.peer(t)
	callee := p.acceptInvite()
	callee.respond(200, g711Answer(40000, 1), "Contact: <sip:bob@127.0.0.1:"+fmt.Sprint(tc.port)+";transport=tls>")
	callee.expectAck()
	bye := p.request(callee.callID(), "BYE", waitTimeout)
	callee.respondTo(bye, 200, "")
	r := result(t, ch)
	if !errors.Is(r.err, ErrMedia) || !errors.Is(r.err, sdp.ErrNoCrypto) {
		t.Fatalf("Dial error %v, want ErrMedia with sdp.ErrNoCrypto", r.err)
	}
	if !strings.Contains(r.err.Error(), "SRTP") {
		t.Errorf("error %q does not say SRTP", r.err)
	}
}

// TestTrunkTLSSRTPOptionalPlain: srtp: optional offers the a=crypto line on RTP/AVP
// (best effort); a carrier without SRTP answers plain RTP/AVP and the call is up.
func TestTrunkTLSSRTPOptionalPlain(t *testing.T) {
	e, tc := tlsTrunkEnv(t, func(tr *TrunkConfig) { tr.SRTP = SRTPOptional })
	ch := e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	p := tc.peer(t)
	callee := p.acceptInvite()
	m := parseSDP(t, callee.invite).Media[0]
	if m.Proto != "RTP/AVP" || len(m.Cryptos()) != 1 {
		t.Fatalf("optional offer %s with %d a=crypto, want RTP/AVP with one", m.Proto, len(m.Cryptos()))
	}
	callee.respond(200, g711Answer(40000, 1), "Contact: <sip:bob@127.0.0.1:"+fmt.Sprint(tc.port)+";transport=tls>")
	callee.expectAck()
	r := result(t, ch)
	if r.err != nil {
		t.Fatalf("Dial: %v", r.err)
	}
	done := make(chan error, 1)
	go func() { done <- r.c.Hangup(context.Background()) }()
	callee.respondTo(p.request(callee.callID(), "BYE", waitTimeout), 200, "")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTrunkTLSUnverified: a trunk without tls_ca_file checks the carrier's
// self-signed certificate against the system pool: no connection, Dial fails with
// ErrUnavailable and the failure is counted.
func TestTrunkTLSUnverified(t *testing.T) {
	e, _ := tlsTrunkEnv(t, func(tr *TrunkConfig) { tr.TLSCAFile = "" })
	r := result(t, e.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"}))
	if !errors.Is(r.err, ErrUnavailable) {
		t.Fatalf("Dial error %v, want ErrUnavailable", r.err)
	}
	var ve *tls.CertificateVerificationError
	if !errors.As(r.err, &ve) {
		t.Errorf("error %v does not carry the certificate verification error", r.err)
	}
	if n := e.metric("hotline_trunk_tls_failures_total", "trunk", "carrier"); n != 1 {
		t.Errorf("hotline_trunk_tls_failures_total = %v, want 1", n)
	}
}

// TestTrunkTLSInsecureSkipVerify: tls_insecure_skip_verify, set on purpose, connects
// to the carrier whose certificate the system pool does not know.
func TestTrunkTLSInsecureSkipVerify(t *testing.T) {
	e2, tc := tlsTrunkEnv(t, func(tr *TrunkConfig) { tr.TLSCAFile, tr.TLSInsecureSkipVerify = "", true })
	ch := e2.dial(context.Background(), DialRequest{Target: "+12125550123", Trunk: "carrier"})
	callee := tc.peer(t).acceptInvite()
	callee.respond(486, "")
	if r := result(t, ch); !errors.Is(r.err, ErrBusy) {
		t.Fatalf("Dial error %v, want ErrBusy from the carrier reached without verification", r.err)
	}
}

// TestTrunkTLSValidate: TLS and SRTP settings are checked.
func TestTrunkTLSValidate(t *testing.T) {
	base := TrunkConfig{Name: "c", Host: "sip.example", Allow: []string{"+."}}
	for _, tc := range []struct {
		name   string
		adjust func(*TrunkConfig)
		want   string
	}{
		{"srtp on udp", func(c *TrunkConfig) { c.SRTP = SRTPRequired }, "srtp: required needs transport tls"},
		{"bad srtp", func(c *TrunkConfig) { c.Transport, c.SRTP = "tls", "yes" }, `srtp: "yes" is not off, optional or required`},
		{"ca on tcp", func(c *TrunkConfig) { c.Transport, c.TLSCAFile = "tcp", "/x.pem" }, "need transport tls"},
		{"ca and skip", func(c *TrunkConfig) { c.Transport, c.TLSCAFile, c.TLSInsecureSkipVerify = "tls", "/x.pem", true }, "set together"},
	} {
		c := base
		tc.adjust(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, ok := range []func(*TrunkConfig){
		func(c *TrunkConfig) { c.Transport, c.SRTP = "tls", "off" },
		func(c *TrunkConfig) { c.Transport, c.SRTP = "tls", SRTPOptional },
		func(c *TrunkConfig) { c.SRTP = "off" },
	} {
		c := base
		ok(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := newTrunk(TrunkConfig{Name: "c", Host: "h", Transport: "tls", TLSCAFile: "/nonexistent.pem", Allow: []string{"+."}}, time.Now); err == nil {
		t.Error("a missing tls_ca_file was accepted")
	}
	tr, err := newTrunk(TrunkConfig{Name: "c", Host: "h", Transport: "tls", Allow: []string{"+."}}, time.Now)
	if err != nil || tr.cfg.Port != DefaultSIPSPort || tr.tls.MinVersion != tls.VersionTLS12 {
		t.Errorf("tls trunk: port %d, %v", tr.cfg.Port, err)
	}
}
