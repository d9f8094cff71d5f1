package sip

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// dialFrom opens a TCP connection to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c within waitTimeout (a read
// that ends in EOF or a reset, not in our deadline).
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// optionsOver sends an OPTIONS on c and returns the status line of the answer.
func optionsOver(t *testing.T, c net.Conn, addr string) string {
	t.Helper()
	req := "OPTIONS sip:hotline@" + addr + ";transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP " + c.LocalAddr().String() + ";branch=z9hG4bK" + randHex(6) + ";rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:tester@127.0.0.1>;tag=" + randHex(4) + "\r\nTo: <sip:hotline@127.0.0.1>\r\n" +
		"Call-ID: " + randHex(8) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the OPTIONS answer: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestConnSlowLoris: on TCP a connection that opens and says nothing, one that
// trickles a message a byte at a time, and one that went silent after a message
// are all closed (counted as header_timeout, header_timeout and idle_timeout),
// while a caller on another connection gets its INVITE answered meanwhile.
func TestConnSlowLoris(t *testing.T) {
	e := newEnv(t, withSIP(func(c *Config) {
		c.Conns = ConnLimits{HeaderTimeout: 400 * time.Millisecond, IdleTimeout: 800 * time.Millisecond}
	}))
	silent := dialFrom(t, "127.0.0.1", e.tcpAddr)
	trickler := dialFrom(t, "127.0.0.1", e.tcpAddr)
	idler := dialFrom(t, "127.0.0.1", e.tcpAddr)
	if got := optionsOver(t, idler, e.tcpAddr); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS answered %q", got)
	}
	trickled := make(chan error, 1)
	go func() {
		msg := []byte("INVITE sip:+15550100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKslow\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:loris@127.0.0.1>;tag=1\r\nTo: <sip:+15550100@127.0.0.1>\r\n" +
			"Call-ID: slowloris\r\nCSeq: 1 INVITE\r\nX-Padding: " + strings.Repeat("z", 400) + "\r\n")
		for _, b := range msg {
			if _, err := trickler.Write([]byte{b}); err != nil {
				trickled <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		trickled <- nil
	}()

	// A well-behaved caller on its own connection is served meanwhile.
	p := e.newPeer("tcp")
	rtp := e.newRTPPeer()
	l := p.newLeg()
	l.establish(g711Offer(rtp.port))
	e.handler.call(t)
	l.hangupByCaller()

	for name, c := range map[string]net.Conn{"silent": silent, "trickling": trickler, "idle": idler} {
		if !closedByServer(c) {
			t.Errorf("the %s connection was not closed", name)
		}
	}
	if err := <-trickled; err == nil {
		t.Error("the whole trickled message was accepted")
	}
	waitUntil(t, waitTimeout, "the drops counted", func() bool {
		return e.metric("hotline_sip_connections_dropped_total", "reason", "header_timeout") >= 2 &&
			e.metric("hotline_sip_connections_dropped_total", "reason", "idle_timeout") >= 1
	})
	if e.handler.count.Load() != 1 {
		t.Errorf("%d calls reached the handler, want the one well-behaved call", e.handler.count.Load())
	}
}

// TestConnLimits: a source beyond max_per_source connections has the next one
// closed at once (per_source_limit) while another source connects and is served;
// beyond max_total any source's next connection is closed (total_limit); a slot is
// given back when a connection closes.
func TestConnLimits(t *testing.T) {
	e := newEnv(t, withSIP(func(c *Config) { c.Conns = ConnLimits{MaxPerSource: 2, MaxTotal: 3} }))
	a1 := dialFrom(t, "127.0.0.1", e.tcpAddr)
	a2 := dialFrom(t, "127.0.0.1", e.tcpAddr)
	for _, c := range []net.Conn{a1, a2} {
		if got := optionsOver(t, c, e.tcpAddr); got != "SIP/2.0 200 OK" {
			t.Fatalf("OPTIONS answered %q", got)
		}
	}
	if !closedByServer(dialFrom(t, "127.0.0.1", e.tcpAddr)) {
		t.Fatal("a third connection from 127.0.0.1 was kept")
	}
	b1 := dialFrom(t, "127.0.0.2", e.tcpAddr)
	if got := optionsOver(t, b1, e.tcpAddr); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS from 127.0.0.2 answered %q", got)
	}
	if !closedByServer(dialFrom(t, "127.0.0.3", e.tcpAddr)) {
		t.Fatal("a fourth connection in all was kept")
	}
	if n := e.metric("hotline_sip_connections_dropped_total", "reason", "per_source_limit"); n != 1 {
		t.Errorf("per_source_limit = %v, want 1", n)
	}
	if n := e.metric("hotline_sip_connections_dropped_total", "reason", "total_limit"); n != 1 {
		t.Errorf("total_limit = %v, want 1", n)
	}
	a1.Close()
	waitUntil(t, waitTimeout, "the slot given back", func() bool {
		return e.metric("hotline_sip_connections_open") == 2
	})
	a3 := dialFrom(t, "127.0.0.1", e.tcpAddr)
	if got := optionsOver(t, a3, e.tcpAddr); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS after a slot was freed answered %q", got)
	}
}

// TestFramer: message boundaries over arbitrary reads: keep-alive CRLFs, a body
// split across reads, two messages in one read, compact Content-Length.
func TestFramer(t *testing.T) {
	msg := "OPTIONS sip:a SIP/2.0\r\nl: 5\r\nVia: x\r\n\r\nhello"
	msg2 := "BYE sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n"
	stream := "\r\n\r\n" + msg + msg2 + "\r\n"
	for split := 1; split < len(stream); split += 7 {
		var f framer
		done := 0
		for i := 0; i < len(stream); i += split {
			n, err := f.feed([]byte(stream[i:min(i+split, len(stream))]), 1024)
			if err != nil {
				t.Fatal(err)
			}
			done += n
		}
		if done != 2 || f.busy() {
			t.Errorf("split %d: %d messages, busy %v", split, done, f.busy())
		}
	}
	var f framer
	if _, err := f.feed([]byte("INVITE "+strings.Repeat("x", 2000)), 1024); err == nil {
		t.Error("an endless header section was accepted")
	}
	_ = io.EOF
}

// TestConnSlowLorisTLS: on the TLS listener a connection that never starts its
// handshake, and one that completes it and then says nothing, are closed
// (header_timeout); a TLS client that sends its OPTIONS at once is answered.
func TestConnSlowLorisTLS(t *testing.T) {
	certFile, keyFile, cert := writeCert(t, t.TempDir(), 1)
	e := newEnv(t, withSIP(func(c *Config) {
		c.Listen = append(c.Listen, Listen{"tls", "127.0.0.1:0"})
		c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
		c.Conns = ConnLimits{HeaderTimeout: 400 * time.Millisecond}
	}))
	var addr string
	for _, a := range e.srv.Addrs() {
		if a.Network() == "tls" {
			addr = a.String()
		}
	}
	raw := dialFrom(t, "127.0.0.1", addr)
	p := e.newTLSPeer(addr, cert) // handshakes, then stays silent
	if !closedByServer(raw) {
		t.Error("a TCP connection that never started its TLS handshake was kept")
	}
	waitUntil(t, waitTimeout, "the silent TLS connection closed", func() bool {
		return e.metric("hotline_sip_connections_dropped_total", "reason", "header_timeout") >= 2
	})
	_ = p
	c := e.newTLSPeer(addr, cert)
	l := c.newLeg()
	c.send(l.build(reqSpec{method: "OPTIONS"}))
	if res := c.final(l.callID, "OPTIONS"); res.StatusCode != 200 {
		t.Errorf("OPTIONS over TLS answered %d", res.StatusCode)
	}
}
