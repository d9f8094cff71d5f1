package sip

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/sip/sdp"
)

// waitTimeout is how long a test waits for a message it expects.
const waitTimeout = 5 * time.Second

// peer is a raw SIP user agent: it writes hand-built messages over UDP or TCP (exact
// bytes, so a retransmission is byte-identical) and parses what arrives with sipgo's
// parser. Messages wait in an inbox until a test consumes them, so a test can wait
// for one kind of message while others (retransmissions, a BYE) queue up.
type peer struct {
	t         testing.TB
	transport string // "UDP" or "TCP"
	udp       *net.UDPConn
	tcp       net.Conn
	server    string // host:port of the server's listener for this transport
	local     netip.AddrPort

	mu     sync.Mutex
	inbox  []inbound
	signal chan struct{} // closed (and replaced) whenever a message arrives
	wg     sync.WaitGroup
	closed sync.Once
}

// inbound is a message the peer received.
type inbound struct {
	msg  gosip.Message
	raw  []byte
	from string
	at   time.Time
}

// newPeer opens a socket for transport ("udp" or "tcp") toward the env's server; the
// env closes it when the test ends.
func (e *testEnv) newPeer(transport string) *peer {
	e.t.Helper()
	p := e.openPeer(e.t, transport)
	e.peers = append(e.peers, p)
	return p
}

// openPeer opens a peer that reports to t; the caller closes it.
func (e *testEnv) openPeer(t testing.TB, transport string) *peer {
	t.Helper()
	p := &peer{t: t, transport: strings.ToUpper(transport), signal: make(chan struct{})}
	switch p.transport {
	case "UDP":
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatalf("peer: %v", err)
		}
		p.udp, p.server = conn, e.udpAddr
		p.local = conn.LocalAddr().(*net.UDPAddr).AddrPort()
		p.wg.Add(1)
		go p.readUDP()
	case "TCP":
		conn, err := net.Dial("tcp", e.tcpAddr)
		if err != nil {
			t.Fatalf("peer: %v", err)
		}
		p.tcp, p.server = conn, e.tcpAddr
		p.local = conn.LocalAddr().(*net.TCPAddr).AddrPort()
		p.wg.Add(1)
		go p.readTCP()
	default:
		t.Fatalf("peer: unknown transport %q", transport)
	}
	return p
}

func (p *peer) close() {
	p.closed.Do(func() {
		if p.udp != nil {
			p.udp.Close()
		}
		if p.tcp != nil {
			p.tcp.Close()
		}
		p.wg.Wait()
	})
}

func (p *peer) readUDP() {
	defer p.wg.Done()
	parser := gosip.NewParser()
	buf := make([]byte, 65535)
	for {
		n, from, err := p.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n > 0 && buf[0]&0xC0 == 0x80 {
			// RTP or RTCP (version 2): the tests announce media on fixed ports
			// (40000+) inside the ephemeral range, where this SIP socket may sit, so
			// an engine's report for "port + 1" can land here. Not SIP: ignored.
			continue
		}
		raw := append([]byte(nil), buf[:n]...)
		msg, err := parser.ParseSIP(raw)
		if err != nil {
			p.t.Errorf("peer: unparsable datagram from %v: %v\n%s", from, err, raw)
			continue
		}
		p.push(inbound{msg: msg, raw: raw, from: from.String(), at: time.Now()})
	}
}

func (p *peer) readTCP() {
	defer p.wg.Done()
	stream := gosip.NewParser().NewSIPStream()
	defer stream.Close()
	buf := make([]byte, 65535)
	from := p.tcp.RemoteAddr().String()
	for {
		n, err := p.tcp.Read(buf)
		if err != nil {
			return
		}
		err = stream.ParseSIPStream(buf[:n], func(msg gosip.Message) {
			p.push(inbound{msg: msg, raw: []byte(msg.String()), from: from, at: time.Now()})
		})
		if err != nil && !errors.Is(err, gosip.ErrParseSipPartial) {
			p.t.Errorf("peer: unparsable TCP stream: %v", err)
			return
		}
	}
}

func (p *peer) push(in inbound) {
	p.mu.Lock()
	p.inbox = append(p.inbox, in)
	close(p.signal)
	p.signal = make(chan struct{})
	p.mu.Unlock()
}

// send writes raw as one datagram or onto the stream.
func (p *peer) send(raw []byte) {
	p.t.Helper()
	var err error
	if p.udp != nil {
		var addr *net.UDPAddr
		if addr, err = net.ResolveUDPAddr("udp", p.server); err == nil {
			_, err = p.udp.WriteToUDP(raw, addr)
		}
	} else {
		_, err = p.tcp.Write(raw)
	}
	if err != nil {
		p.t.Fatalf("peer send: %v", err)
	}
}

// take removes and returns the first message that match accepts, waiting up to d.
func (p *peer) take(d time.Duration, match func(inbound) bool) (inbound, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i, in := range p.inbox {
			if match(in) {
				p.inbox = append(p.inbox[:i], p.inbox[i+1:]...)
				p.mu.Unlock()
				return in, true
			}
		}
		sig := p.signal
		p.mu.Unlock()
		select {
		case <-sig:
		case <-deadline.C:
			return inbound{}, false
		}
	}
}

// drain removes and returns every queued message that match accepts, without waiting.
func (p *peer) drain(match func(inbound) bool) []inbound {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out, keep []inbound
	for _, in := range p.inbox {
		if match(in) {
			out = append(out, in)
		} else {
			keep = append(keep, in)
		}
	}
	p.inbox = keep
	return out
}

// isResponse matches responses of a call to a method (any CSeq number when cseq is 0).
func isResponse(callID, method string, cseq uint32) func(inbound) bool {
	return func(in inbound) bool {
		res, ok := in.msg.(*gosip.Response)
		return ok && res.CallID() != nil && res.CallID().Value() == callID &&
			res.CSeq() != nil && string(res.CSeq().MethodName) == method &&
			(cseq == 0 || res.CSeq().SeqNo == cseq)
	}
}

// isResponseTo matches the responses of the transaction whose request had branch.
func isResponseTo(branch string) func(inbound) bool {
	return func(in inbound) bool {
		res, ok := in.msg.(*gosip.Response)
		if !ok || res.Via() == nil {
			return false
		}
		b, _ := res.Via().Params.Get("branch")
		return b == branch
	}
}

// finalTo waits for the final response of the transaction whose request had branch.
func (p *peer) finalTo(branch string) *gosip.Response {
	p.t.Helper()
	for {
		in, ok := p.take(waitTimeout, isResponseTo(branch))
		if !ok {
			p.t.Fatalf("no final response to the request with branch %s", branch)
		}
		if res := in.msg.(*gosip.Response); res.StatusCode >= 200 {
			return res
		}
	}
}

// isRequest matches requests of a call with a method.
func isRequest(callID, method string) func(inbound) bool {
	return func(in inbound) bool {
		req, ok := in.msg.(*gosip.Request)
		return ok && req.CallID() != nil && req.CallID().Value() == callID && string(req.Method) == method
	}
}

// response waits for the next response of the call to method.
func (p *peer) response(callID, method string) *gosip.Response {
	p.t.Helper()
	in, ok := p.take(waitTimeout, isResponse(callID, method, 0))
	if !ok {
		p.t.Fatalf("no response to %s (Call-ID %s) within %v", method, callID, waitTimeout)
	}
	return in.msg.(*gosip.Response)
}

// expect waits for the next response to method and checks its status code.
func (p *peer) expect(callID, method string, code int) *gosip.Response {
	p.t.Helper()
	res := p.response(callID, method)
	if res.StatusCode != code {
		p.t.Fatalf("%s answered %d %s, want %d\n%s", method, res.StatusCode, res.Reason, code, res)
	}
	return res
}

// final skips provisional responses to method and returns the final one.
func (p *peer) final(callID, method string) *gosip.Response {
	p.t.Helper()
	return p.finalSeq(callID, method, 0)
}

// finalSeq is final for the request with CSeq number cseq: in a dialog, a late
// retransmission of an earlier 2xx (same Call-ID and method) must not be mistaken for
// the answer to a new request.
func (p *peer) finalSeq(callID, method string, cseq uint32) *gosip.Response {
	p.t.Helper()
	for {
		in, ok := p.take(waitTimeout, isResponse(callID, method, cseq))
		if !ok {
			p.t.Fatalf("no final response to %s %d (Call-ID %s) within %v", method, cseq, callID, waitTimeout)
		}
		if res := in.msg.(*gosip.Response); res.StatusCode >= 200 {
			return res
		}
	}
}

// request waits for a request of the call sent by the server.
func (p *peer) request(callID, method string, d time.Duration) *gosip.Request {
	p.t.Helper()
	in, ok := p.take(d, isRequest(callID, method))
	if !ok {
		p.t.Fatalf("no %s from the server (Call-ID %s) within %v", method, callID, d)
	}
	return in.msg.(*gosip.Request)
}

// noRequest asserts that the server sends no such request for d.
func (p *peer) noRequest(callID, method string, d time.Duration) {
	p.t.Helper()
	if in, ok := p.take(d, isRequest(callID, method)); ok {
		p.t.Fatalf("unexpected %s from the server:\n%s", method, in.raw)
	}
}

// reply answers a request the server sent (a BYE) with code.
func (p *peer) reply(req *gosip.Request, code int) {
	p.t.Helper()
	res := gosip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
	if code == 200 {
		res.Reason = "OK"
	}
	p.send([]byte(res.String()))
}

// leg is the caller's side of one INVITE dialog, writing its requests by hand.
type leg struct {
	p       *peer
	callID  string
	fromTag string
	toTag   string // our peer's To tag, learnt from a response with tag
	cseq    uint32 // CSeq of the last request sent in the dialog
	user    string // Request-URI user (the dialled number)

	inviteCSeq   uint32
	inviteBranch string
	inviteRaw    []byte // the initial INVITE as sent, for retransmissions
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newLeg starts a dialog toward the dialled number 100.
func (p *peer) newLeg() *leg {
	return &leg{p: p, callID: randHex(8) + "@test", fromTag: randHex(4), cseq: 1, user: "100"}
}

// reqSpec describes one hand-written request.
type reqSpec struct {
	method      string
	cseq        uint32 // 0: the leg's next CSeq
	cseqMethod  string // "" : method
	branch      string // "" : a fresh one
	toTag       string // "" : the leg's learnt To tag (none for the initial INVITE)
	noToTag     bool
	body        string
	contentType string // "" with a body: application/sdp
	headers     []string
	maxForwards string // "" : 70
}

func (l *leg) ruri() string {
	u := "sip:" + l.user + "@" + l.p.server
	if l.p.transport == "TCP" {
		u += ";transport=tcp"
	}
	return u
}

// build writes the request bytes. It does not change the leg.
func (l *leg) build(s reqSpec) []byte {
	p := l.p
	if s.branch == "" {
		s.branch = "z9hG4bK" + randHex(6)
	}
	if s.cseqMethod == "" {
		s.cseqMethod = s.method
	}
	if s.maxForwards == "" {
		s.maxForwards = "70"
	}
	toTag := s.toTag
	if toTag == "" && !s.noToTag {
		toTag = l.toTag
	}
	to := "<sip:" + l.user + "@127.0.0.1>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	contact := "<sip:alice@" + p.local.String()
	if p.transport == "TCP" {
		contact += ";transport=tcp"
	}
	contact += ">"
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", s.method, l.ruri())
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", p.transport, p.local, s.branch)
	fmt.Fprintf(&b, "Max-Forwards: %s\r\n", s.maxForwards)
	fmt.Fprintf(&b, "From: \"Alice\" <sip:alice@127.0.0.1>;tag=%s\r\n", l.fromTag)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", l.callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", s.cseq, s.cseqMethod)
	fmt.Fprintf(&b, "Contact: %s\r\n", contact)
	b.WriteString("User-Agent: hotline-test\r\n")
	for _, h := range s.headers {
		b.WriteString(h + "\r\n")
	}
	if s.body != "" {
		ct := s.contentType
		if ct == "" {
			ct = "application/sdp"
		}
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(s.body), s.body)
	return []byte(b.String())
}

// invite sends the initial INVITE (no To tag) and remembers its bytes.
func (l *leg) invite(body string, headers ...string) []byte {
	return l.inviteSpec(reqSpec{body: body, headers: headers})
}

func (l *leg) inviteSpec(s reqSpec) []byte {
	s.method = "INVITE"
	s.noToTag = true
	if s.cseq == 0 {
		s.cseq = l.cseq
	}
	if s.branch == "" {
		s.branch = "z9hG4bK" + randHex(6)
	}
	l.inviteCSeq, l.inviteBranch = s.cseq, s.branch
	l.inviteRaw = l.build(s)
	l.p.send(l.inviteRaw)
	return l.inviteRaw
}

// learn takes the To tag from a response that created or confirmed the dialog.
func (l *leg) learn(res *gosip.Response) {
	if tag, ok := res.To().Params.Get("tag"); ok && tag != "" {
		l.toTag = tag
	}
}

// ack acknowledges a 2xx to the INVITE with CSeq cseq (0: the initial INVITE): a new
// transaction with a fresh branch (RFC 3261 §13.2.2.4).
func (l *leg) ack(cseq uint32, body string) []byte {
	if cseq == 0 {
		cseq = l.inviteCSeq
	}
	raw := l.build(reqSpec{method: "ACK", cseq: cseq, body: body})
	l.p.send(raw)
	return raw
}

// ackFailure acknowledges a non-2xx final response: same branch as the INVITE and the
// To tag of the response (RFC 3261 §17.1.1.3).
func (l *leg) ackFailure(res *gosip.Response) {
	tag, _ := res.To().Params.Get("tag")
	l.p.send(l.build(reqSpec{method: "ACK", cseq: res.CSeq().SeqNo, branch: l.inviteBranch, toTag: tag, noToTag: tag == ""}))
}

// cancel sends CANCEL for the initial INVITE (same branch and CSeq number, RFC 3261 §9.1).
func (l *leg) cancel() []byte {
	raw := l.build(reqSpec{method: "CANCEL", cseq: l.inviteCSeq, branch: l.inviteBranch, noToTag: true})
	l.p.send(raw)
	return raw
}

// next sends an in-dialog request with the next CSeq and returns its bytes.
func (l *leg) next(s reqSpec) []byte {
	if s.cseq == 0 {
		l.cseq++
		s.cseq = l.cseq
	}
	raw := l.build(s)
	l.p.send(raw)
	return raw
}

// bye hangs up and returns the raw request (for retransmission).
func (l *leg) bye() []byte { return l.next(reqSpec{method: "BYE"}) }

// reinvite sends an in-dialog INVITE with body (may be empty) and returns its CSeq.
func (l *leg) reinvite(body string) uint32 {
	l.next(reqSpec{method: "INVITE", body: body})
	return l.cseq
}

// info sends INFO with a body of content type ct.
func (l *leg) info(ct, body string) uint32 {
	l.next(reqSpec{method: "INFO", body: body, contentType: ct})
	return l.cseq
}

// establish runs INVITE -> 200 -> ACK with offer and returns the 200.
func (l *leg) establish(offer string) *gosip.Response {
	l.p.t.Helper()
	l.invite(offer)
	res := l.p.final(l.callID, "INVITE")
	if res.StatusCode != 200 {
		l.p.t.Fatalf("INVITE answered %d, want 200\n%s", res.StatusCode, res)
	}
	l.learn(res)
	l.ack(0, "")
	return res
}

// hangupByCaller sends BYE and checks the 200.
func (l *leg) hangupByCaller() {
	l.p.t.Helper()
	l.bye()
	l.p.expect(l.callID, "BYE", 200)
}

// answerBye waits for the server's BYE and answers it 200.
func (l *leg) answerBye(d time.Duration) *gosip.Request {
	l.p.t.Helper()
	bye := l.p.request(l.callID, "BYE", d)
	l.p.reply(bye, 200)
	return bye
}

// sdpOffer describes an SDP body the test caller sends.
type sdpOffer struct {
	ip      string // c= address, default 127.0.0.1
	port    int
	formats []string // "0 PCMU/8000", "101 telephone-event/8000", ...
	dir     string   // sendrecv, sendonly, recvonly, inactive; "" writes none
	version int      // o= version
}

func (o sdpOffer) String() string {
	ip := o.ip
	if ip == "" {
		ip = "127.0.0.1"
	}
	var pts []string
	var attrs strings.Builder
	for _, f := range o.formats {
		pt, enc, _ := strings.Cut(f, " ")
		pts = append(pts, pt)
		fmt.Fprintf(&attrs, "a=rtpmap:%s %s\r\n", pt, enc)
		if strings.HasPrefix(enc, "telephone-event") {
			fmt.Fprintf(&attrs, "a=fmtp:%s 0-16\r\n", pt)
		}
	}
	if o.dir != "" {
		fmt.Fprintf(&attrs, "a=%s\r\n", o.dir)
	}
	return fmt.Sprintf("v=0\r\no=alice 4242 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP %s\r\n%s",
		o.version, ip, ip, o.port, strings.Join(pts, " "), attrs.String())
}

// Formats the tests offer.
const (
	fmtPCMU = "0 PCMU/8000"
	fmtPCMA = "8 PCMA/8000"
	fmtG729 = "18 G729/8000"
	fmtTE   = "101 telephone-event/8000"
)

// g711Offer is the usual softphone offer: PCMU, PCMA, telephone-event, sendrecv.
func g711Offer(port int) string {
	return sdpOffer{port: port, formats: []string{fmtPCMU, fmtPCMA, fmtTE}, dir: "sendrecv"}.String()
}

// parseSDP parses the body of a message as SDP.
func parseSDP(t testing.TB, m gosip.Message) *sdp.Session {
	t.Helper()
	s, err := sdp.Parse(m.Body())
	if err != nil {
		t.Fatalf("server sent malformed SDP: %v\n%s", err, m.Body())
	}
	return s
}

// rtpPeer is the caller's RTP socket: it counts what the server sends to it.
type rtpPeer struct {
	conn *net.UDPConn
	port int

	mu      sync.Mutex
	packets int
	pts     map[uint8]int
	from    string
	wg      sync.WaitGroup
	once    sync.Once
}

func (e *testEnv) newRTPPeer() *rtpPeer {
	e.t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		e.t.Fatalf("rtp peer: %v", err)
	}
	r := &rtpPeer{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port, pts: map[uint8]int{}}
	r.wg.Add(1)
	go r.read()
	e.rtpPeers = append(e.rtpPeers, r)
	return r
}

func (r *rtpPeer) read() {
	defer r.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 || buf[0]>>6 != 2 {
			continue
		}
		r.mu.Lock()
		r.packets++
		r.pts[buf[1]&0x7f]++
		r.from = from.String()
		r.mu.Unlock()
	}
}

func (r *rtpPeer) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets
}

func (r *rtpPeer) ptCount(pt uint8) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pts[pt]
}

// waitPackets waits until at least n more packets than now arrived.
func (r *rtpPeer) waitPackets(t testing.TB, n int, d time.Duration) {
	t.Helper()
	start := r.count()
	waitUntil(t, d, strconv.Itoa(n)+" RTP packets at the caller", func() bool { return r.count() >= start+n })
}

// send sends n RTP packets of payload type pt to dst, 20 ms apart.
func (r *rtpPeer) send(t testing.TB, dst netip.AddrPort, pt uint8, n int) {
	t.Helper()
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	pkt[1] = pt
	binary.BigEndian.PutUint32(pkt[8:], 0x1234)
	for i := range n {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		if _, err := r.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			t.Fatalf("rtp send: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rtpPeer) close() {
	r.once.Do(func() {
		r.conn.Close()
		r.wg.Wait()
	})
}

// mediaAddr is where the server wants RTP, from its SDP.
func mediaAddr(t testing.TB, s *sdp.Session) netip.AddrPort {
	t.Helper()
	if len(s.Media) == 0 {
		t.Fatalf("SDP without m= line:\n%s", s)
	}
	ap, err := s.AudioAddr(&s.Media[0])
	if err != nil {
		t.Fatalf("SDP address: %v", err)
	}
	return ap
}

// tagOf is the To tag of a message ("" when none).
func tagOf(m gosip.Message) string {
	var to *gosip.ToHeader
	switch m := m.(type) {
	case *gosip.Request:
		to = m.To()
	case *gosip.Response:
		to = m.To()
	}
	if to == nil {
		return ""
	}
	tag, _ := to.Params.Get("tag")
	return tag
}

func mustParseResponse(t testing.TB, raw []byte) *gosip.Response {
	t.Helper()
	m, err := gosip.NewParser().ParseSIP(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	res, ok := m.(*gosip.Response)
	if !ok {
		t.Fatalf("not a response:\n%s", raw)
	}
	return res
}
