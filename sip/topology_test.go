package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// Topology hiding (issue 9 item 7): with Config.Host and Config.MediaIP set to a
// public address other than the one the engine binds, no message the engine sends
// toward a trunk or caller names the bind address: not in Via, Contact,
// Record-Route, From, To, Request-URIs, nor in the SDP o= and c= lines.

const topologyPublic = "192.0.2.10" // RFC 5737 TEST-NET-1: the 1:1 NAT's public side

var ipv4Text = regexp.MustCompile(`\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b`)

// checkHidden fails the test if msg names an IPv4 address other than the public one
// and the far end's own (peerIP); the engine binds 127.0.0.1 and the peers live on
// 127.0.0.2, so any 127.0.0.1 is a leak.
func checkHidden(t *testing.T, what string, msg gosip.Message, peerIP string) {
	t.Helper()
	raw := msg.String()
	for _, m := range ipv4Text.FindAllStringSubmatch(raw, -1) {
		if m[1] != topologyPublic && m[1] != peerIP {
			t.Errorf("%s names %s, neither the public address nor the peer's:\n%s", what, m[1], raw)
			return
		}
	}
	if req, ok := msg.(*gosip.Request); ok {
		if v := req.Via(); v == nil || v.Host != topologyPublic {
			t.Errorf("%s: Via %v, want sent-by %s", what, v, topologyPublic)
		}
	}
	var contact gosip.Header
	switch m := msg.(type) {
	case *gosip.Request:
		contact = m.GetHeader("Contact")
	case *gosip.Response:
		contact = m.GetHeader("Contact")
	}
	if contact != nil && !strings.Contains(contact.Value(), "@"+topologyPublic) {
		t.Errorf("%s: Contact %s, want host %s", what, contact.Value(), topologyPublic)
	}
	if len(msg.Body()) > 0 {
		s := parseSDP(t, msg)
		if s.Origin.Address != topologyPublic || s.Connection == nil || s.Connection.Address != topologyPublic {
			t.Errorf("%s: SDP o=%s c=%v, want %s", what, s.Origin.Address, s.Connection, topologyPublic)
		}
	}
}

// listenOn opens a UDP socket on ip for a raw peer.
func listenOn(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("peer on %s: %v (Linux routes all of 127/8 to lo)", ip, err)
	}
	return conn
}

// udpPeerOn is a raw UDP SIP peer on conn, toward the env's UDP listener.
func udpPeerOn(e *testEnv, conn *net.UDPConn) *peer {
	e.t.Helper()
	p := &peer{t: e.t, transport: "UDP", udp: conn, server: e.udpAddr,
		local: conn.LocalAddr().(*net.UDPAddr).AddrPort(), signal: make(chan struct{})}
	p.wg.Add(1)
	go p.readUDP()
	e.peers = append(e.peers, p)
	return p
}

// TestTopologyHiding places an outbound call through a trunk and takes an inbound
// call, the engine bound to 127.0.0.1 with Host and MediaIP 192.0.2.10, and checks
// every SIP message the engine sent (requests, provisional and final responses,
// retransmissions) with checkHidden.
func TestTopologyHiding(t *testing.T) {
	const peerIP = "127.0.0.2"
	carrierConn := listenOn(t, peerIP)
	tc := carrierTrunk(carrierConn.LocalAddr().(*net.UDPAddr).AddrPort())
	tc.Username, tc.Password = "", ""
	e := newEnv(t, withSIP(func(c *Config) {
		c.Host = topologyPublic
		c.MediaIP = netip.MustParseAddr(topologyPublic)
		c.Trunks = []TrunkConfig{tc}
	}))
	carrier := udpPeerOn(e, carrierConn)

	// Outbound through the trunk: INVITE, ACK, BYE from the engine.
	ch := e.dial(context.Background(), DialRequest{Target: "(212) 555-0123", Trunk: "carrier"})
	callee := carrier.acceptInvite()
	checkHidden(t, "outbound INVITE", callee.invite, peerIP)
	callee.respond(180, "")
	callee.respond(200, sdpOffer{ip: peerIP, port: 40000, formats: []string{fmtPCMU}, dir: "sendrecv"}.String())
	checkHidden(t, "outbound ACK", callee.expectAck(), peerIP)
	r := result(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	done := make(chan struct{})
	go func() { _ = r.c.Hangup(context.Background()); close(done) }()
	bye := carrier.request(callee.callID(), "BYE", waitTimeout)
	checkHidden(t, "outbound BYE", bye, peerIP)
	callee.respondTo(bye, 200, "")
	<-done

	// Inbound from a caller that addresses our public side: 100, 180, 200, and the
	// engine's BYE.
	e.handler.set(func(ctx context.Context, c *Call) {
		if c.Ring(ctx) == nil && c.Answer(ctx) == nil { // Answer returns on the ACK
			_ = c.Hangup(ctx)
		}
	})
	caller := udpPeerOn(e, listenOn(t, peerIP))
	callID := randHex(8)
	body := sdpOffer{ip: peerIP, port: 40002, formats: []string{fmtPCMU, fmtTE}, dir: "sendrecv"}.String()
	invite := fmt.Sprintf("INVITE sip:100@%[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[2]s;branch=z9hG4bK%[3]s;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:alice@%[4]s>;tag=%[5]s\r\nTo: <sip:100@%[1]s>\r\nCall-ID: %[6]s\r\n"+
		"CSeq: 1 INVITE\r\nContact: <sip:alice@%[2]s>\r\nContent-Type: application/sdp\r\nContent-Length: %[7]d\r\n\r\n%[8]s",
		topologyPublic, caller.local, randHex(6), peerIP, randHex(4), callID, len(body), body)
	caller.send([]byte(invite))
	res := caller.final(callID, "INVITE")
	if res.StatusCode != 200 {
		t.Fatalf("inbound INVITE answered %d\n%s", res.StatusCode, res)
	}
	checkHidden(t, "inbound 200", res, peerIP)
	ack := fmt.Sprintf("ACK sip:hotline@%[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[2]s;branch=z9hG4bK%[3]s;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:alice@%[4]s>;tag=%[5]s\r\nTo: %[6]s\r\nCall-ID: %[7]s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
		topologyPublic, caller.local, randHex(6), peerIP, tagOfFrom(res.From()), res.To().Value(), callID)
	caller.send([]byte(ack))
	bye = caller.request(callID, "BYE", waitTimeout)
	checkHidden(t, "inbound BYE", bye, peerIP)
	caller.reply(bye, 200)
	<-e.handler.returned

	// Whatever else the engine sent: 100 Trying, 180 Ringing, retransmissions.
	all := func(inbound) bool { return true }
	for _, p := range []*peer{carrier, caller} {
		for _, in := range p.drain(all) {
			checkHidden(t, "queued "+strings.SplitN(in.msg.String(), "\r\n", 2)[0], in.msg, peerIP)
		}
	}
}
