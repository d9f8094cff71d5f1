package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// The far end of outbound calls: a raw peer that answers the server's INVITEs by
// hand, byte for byte, so a test can retransmit, fork, cross a CANCEL or challenge.

// callee is one INVITE the server sent to a peer, and the callee's side of its dialog.
type callee struct {
	p      *peer
	invite *gosip.Request
	raw    []byte
	tag    string // the callee's To tag
	cseq   uint32 // CSeq of the callee's last request in the dialog
}

// uri is a SIP URI that reaches the peer.
func (p *peer) uri(user string) string { return "sip:" + user + "@" + p.local.String() }

// isRequestMethod matches any request with method.
func isRequestMethod(method string) func(inbound) bool {
	return func(in inbound) bool {
		req, ok := in.msg.(*gosip.Request)
		return ok && string(req.Method) == method
	}
}

// acceptInvite waits for the server's next INVITE.
func (p *peer) acceptInvite() *callee {
	p.t.Helper()
	in, ok := p.take(waitTimeout, isRequestMethod("INVITE"))
	if !ok {
		p.t.Fatalf("no INVITE from the server within %v", waitTimeout)
	}
	return &callee{p: p, invite: in.msg.(*gosip.Request), raw: in.raw, tag: randHex(4), cseq: 100}
}

// callID is the INVITE's Call-ID.
func (l *callee) callID() string { return l.invite.CallID().Value() }

// respond answers the INVITE with code (our To tag on all but 100, our Contact on
// 18x and 2xx, body as SDP) and returns the bytes sent.
func (l *callee) respond(code int, body string, hdrs ...string) []byte {
	return l.respondTo(l.invite, code, body, hdrs...)
}

// respondTo answers any request of the server's in the dialog.
func (l *callee) respondTo(req *gosip.Request, code int, body string, hdrs ...string) []byte {
	reason := reasonPhrase(code)
	if code == 100 {
		reason = "Trying"
	}
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	if code > 100 && res.To() != nil {
		res.To().Params.Add("tag", l.tag)
	}
	ownContact := false
	for _, h := range hdrs {
		ownContact = ownContact || strings.HasPrefix(strings.ToLower(h), "contact:")
	}
	if req.IsInvite() && code >= 180 && code < 300 && !ownContact {
		res.AppendHeader(gosip.NewHeader("Contact", "<"+l.p.uri("bob")+">"))
	}
	for _, h := range hdrs {
		name, value, _ := strings.Cut(h, ":")
		res.AppendHeader(gosip.NewHeader(strings.TrimSpace(name), strings.TrimSpace(value)))
	}
	if body != "" {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody([]byte(body))
	}
	raw := []byte(res.String())
	l.p.send(raw)
	return raw
}

// request sends a request in the dialog from the callee's side (From: the callee
// with its tag, To: the server with its tag, to the server's Contact) and returns
// its CSeq.
func (l *callee) request(method, contentType, body string, hdrs ...string) uint32 {
	l.cseq++
	l.p.send(l.build(method, l.cseq, contentType, body, hdrs...))
	return l.cseq
}

func (l *callee) build(method string, cseq uint32, contentType, body string, hdrs ...string) []byte {
	target := l.invite.Contact().Address
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, target.String())
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", l.p.local, randHex(6))
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <%s>;tag=%s\r\n", l.invite.To().Address.String(), l.tag)
	fmt.Fprintf(&b, "To: %s\r\n", l.invite.From().Value())
	fmt.Fprintf(&b, "Call-ID: %s\r\n", l.callID())
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
	fmt.Fprintf(&b, "Contact: <%s>\r\n", l.p.uri("bob"))
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", contentType)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

// ack acknowledges a 2xx the server sent to the callee's re-INVITE.
func (l *callee) ack(cseq uint32) {
	l.p.send(l.build("ACK", cseq, "", ""))
}

// expectAck waits for the server's ACK of the INVITE's 2xx and checks it.
func (l *callee) expectAck() *gosip.Request {
	l.p.t.Helper()
	ack := l.p.request(l.callID(), "ACK", waitTimeout)
	if ack.CSeq().SeqNo != l.invite.CSeq().SeqNo {
		l.p.t.Errorf("ACK CSeq %d, want the INVITE's %d (RFC 3261 §13.2.2.4)", ack.CSeq().SeqNo, l.invite.CSeq().SeqNo)
	}
	if tagOf(ack) != l.tag {
		l.p.t.Errorf("ACK To tag %q, want %q", tagOf(ack), l.tag)
	}
	return ack
}

// dialResult is what Dial returned.
type dialResult struct {
	c   *Call
	err error
}

// dial runs Dial on a goroutine; the result arrives on the channel.
func (e *testEnv) dial(ctx context.Context, r DialRequest) <-chan dialResult {
	ch := make(chan dialResult, 1)
	go func() {
		c, err := e.srv.Dial(ctx, r)
		ch <- dialResult{c, err}
	}()
	return ch
}

// result waits for a Dial's result.
func result(t testing.TB, ch <-chan dialResult) dialResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(3 * waitTimeout):
		t.Fatalf("Dial did not return")
		return dialResult{}
	}
}

// answerCall runs the callee's side of a plain answer: 100, 180, 200 with an SDP
// answer on rtpPort, and waits for the ACK.
func (l *callee) answerCall(rtpPort int) {
	l.p.t.Helper()
	l.respond(100, "")
	l.respond(180, "")
	l.respond(200, g711Answer(rtpPort, 1))
	l.expectAck()
}

// g711Answer is a callee's SDP answer: PCMU and telephone-event.
func g711Answer(port, version int) string {
	return sdpOffer{port: port, formats: []string{fmtPCMU, fmtTE}, dir: "sendrecv", version: version}.String()
}

// newTrunkEnv starts a server whose trunks (built by trunks from the carrier's
// address) point at a raw UDP peer playing the carrier, and returns both.
func newTrunkEnv(t *testing.T, trunks func(carrier netip.AddrPort) []TrunkConfig, opts ...envOption) (*testEnv, *peer) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ap := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	e := newEnv(t, append(opts, withSIP(func(c *Config) { c.Trunks = trunks(ap) }))...)
	p := &peer{t: t, transport: "UDP", udp: conn, server: e.udpAddr, local: ap, signal: make(chan struct{})}
	p.wg.Add(1)
	go p.readUDP()
	e.peers = append(e.peers, p)
	return e, p
}

// requestAny waits for the server's next request with method, whatever its call.
func (p *peer) requestAny(method string, d time.Duration) *gosip.Request {
	p.t.Helper()
	in, ok := p.take(d, isRequestMethod(method))
	if !ok {
		p.t.Fatalf("no %s from the server within %v", method, d)
	}
	return in.msg.(*gosip.Request)
}
