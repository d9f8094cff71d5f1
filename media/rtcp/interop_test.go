package rtcp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// TestInteropBaresip calls a real baresip with a bare-bones SIP UAC and
// exchanges PCMU and RTCP built by this package for 7 s: baresip must echo
// our SR as LSR in its report block (so libre parsed our SR and SDES), and
// we must parse its reports. baresip is a test dependency (`make test`
// installs baresip-core), so a missing binary fails the test.
func TestInteropBaresip(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatal("baresip not installed (make test installs the Debian package baresip-core)")
	}
	sipPort := 20000 + 2*rand.IntN(10000) // baresip also binds TLS on port+1
	rtpBase := sipPort + 20000
	dir := t.TempDir()
	wav := filepath.Join(dir, "silence.wav")
	writeSilenceWAV(t, wav, 20)
	cfg := fmt.Sprintf("sip_listen 127.0.0.1:%d\naudio_player aufile,%s\naudio_source aufile,%s\n"+
		"audio_alert aufile,/dev/null\nrtp_ports %d-%d\nrtcp_mux no\nmodule_path /usr/lib/baresip/modules\n"+
		"module g711.so\nmodule aufile.so\nmodule_app account.so\nmodule_app menu.so\n",
		sipPort, filepath.Join(dir, "out.wav"), wav, rtpBase, rtpBase+9)
	acc := fmt.Sprintf("<sip:b@127.0.0.1:%d>;regint=0;answermode=auto;audio_codecs=PCMU\n", sipPort)
	if os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644) != nil ||
		os.WriteFile(filepath.Join(dir, "accounts"), []byte(acc), 0o644) != nil {
		t.Fatal("cannot write baresip config")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-f", dir, "-t", "15")
	logf, err := os.Create(filepath.Join(dir, "baresip.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("baresip log:\n%s", log)
		}
	}()

	listen := func() net.PacketConn {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	sipc := listen()
	var rtpc, rtcpc net.PacketConn
	for rtcpc == nil { // an even RTP port with RTCP on the next one
		rtpc = listen()
		port := rtpc.LocalAddr().(*net.UDPAddr).Port
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port+1))
		if err == nil {
			rtcpc = c
			t.Cleanup(func() { c.Close() })
		}
	}
	to, remotePort := invite(t, sipc, sipPort, rtpc.LocalAddr().(*net.UDPAddr).Port)
	call := interopCall{t: t, rtpc: rtpc, rtcpc: rtcpc,
		rtpDst:  &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: remotePort},
		rtcpDst: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: remotePort + 1}}
	call.run(7 * time.Second)
	sip(t, sipc, sipPort, "BYE", 2, to)

	if call.theirReports == 0 {
		t.Fatal("no RTCP report from baresip parsed")
	}
	if call.rtts == 0 {
		t.Error("baresip never echoed our SR (LSR) in a report block")
	}
	if call.rx.Packets() < 100 || call.rx.Lost() != 0 {
		t.Errorf("received %d packets from baresip, lost %d", call.rx.Packets(), call.rx.Lost())
	}
}

// interopCall is the media half of the interop test, wired as doc.go says.
type interopCall struct {
	t               *testing.T
	rtpc, rtcpc     net.PacketConn
	rtpDst, rtcpDst net.Addr
	rx              ReceiverStats
	tx              SenderStats
	theirReports    int
	rtts            int
}

const interopSSRC = 0x407e1111

func (c *interopCall) run(d time.Duration) {
	t := c.t
	type datagram struct {
		data []byte
		at   time.Time
	}
	in := make(chan datagram, 1024)
	for _, conn := range []net.PacketConn{c.rtpc, c.rtcpc} {
		go func() {
			b := make([]byte, 2048)
			for {
				n, _, err := conn.ReadFrom(b)
				if err != nil {
					return
				}
				in <- datagram{append([]byte(nil), b[:n]...), time.Now()}
			}
		}()
	}
	sched, err := NewScheduler(WithMinInterval(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, rtp.HeaderSize+160)
	for i := rtp.HeaderSize; i < len(pkt); i++ {
		pkt[i] = 0xff // μ-law silence
	}
	out := make([]byte, 1500)
	var c2 Compound
	start := time.Now()
	seq, ts := uint16(4000), uint32(123456)
	for tick := time.NewTicker(20 * time.Millisecond); ; {
		now := <-tick.C
		if now.Sub(start) > d {
			tick.Stop()
			break
		}
		h := rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: interopSSRC}
		if _, err := h.MarshalTo(pkt); err == nil {
			if _, err := c.rtpc.WriteTo(pkt, c.rtpDst); err == nil {
				c.tx.Update(interopSSRC, seq, ts, 160, now, 8000)
			}
		}
		seq, ts = seq+1, ts+160
		for len(in) > 0 {
			c.receive(<-in)
		}
		if sched.Due(now) {
			n := c.report(&c2, now, out)
			if _, err := c.rtcpc.WriteTo(out[:n], c.rtcpDst); err != nil {
				t.Fatal(err)
			}
			sched.Sent(n)
		}
	}
}

func (c *interopCall) receive(d struct {
	data []byte
	at   time.Time
}) {
	if !rtp.IsRTCP(d.data) {
		var h rtp.Header
		if _, err := h.Unmarshal(d.data); err == nil {
			c.rx.Update(h.SSRC, h.SequenceNumber, h.Timestamp, d.at, 8000)
		}
		return
	}
	var in Compound
	if err := in.Unmarshal(d.data); err != nil {
		c.t.Logf("baresip RTCP %x: %v", d.data, err) // its APP "PINGPONG" alone
		return
	}
	c.theirReports++
	if in.Report == TypeSenderReport {
		c.rx.ReceivedSenderReport(in.SenderReport.SSRC, in.SenderReport.NTPTime, d.at)
	}
	if b, ok := in.ReportAbout(interopSSRC); ok {
		rtt, ok := c.tx.ReceivedReport(b, d.at)
		c.t.Logf("baresip's block about us: %+v, RTT %v %v", b, rtt, ok)
		if ok {
			c.rtts++
			if rtt > time.Second {
				c.t.Errorf("RTT %v on loopback", rtt)
			}
		}
	}
}

func (c *interopCall) report(out *Compound, now time.Time, buf []byte) int {
	block, have := c.rx.ReceptionReport(now)
	if c.tx.FillSenderReport(&out.SenderReport, now) {
		out.Report = TypeSenderReport
		if have {
			_ = out.SenderReport.AddReport(block)
		}
	} else {
		out.Report, out.ReceiverReport = TypeReceiverReport, ReceiverReport{SSRC: interopSSRC}
		if have {
			_ = out.ReceiverReport.AddReport(block)
		}
	}
	out.HasSDES = true
	out.SourceDescription.Chunks[0] = SDESChunk{Source: interopSSRC, CNAME: []byte("hotline@127.0.0.1")}
	out.SourceDescription.ChunkCount = 1
	n, err := out.MarshalTo(buf)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// invite sends an INVITE until baresip answers, acknowledges the 200 and
// returns its To header and audio port.
func invite(t *testing.T, conn net.PacketConn, sipPort, rtpPort int) (to string, audioPort int) {
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", rtpPort)
	buf := make([]byte, 8192)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sip(t, conn, sipPort, "INVITE", 1, "", sdp)
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				break // not ready yet: send the INVITE again
			}
			resp := string(buf[:n])
			if !strings.HasPrefix(resp, "SIP/2.0 200") {
				continue
			}
			m1 := regexp.MustCompile(`(?m)^To: (.*)\r$`).FindStringSubmatch(resp)
			m2 := regexp.MustCompile(`m=audio (\d+)`).FindStringSubmatch(resp)
			if m1 == nil || m2 == nil {
				t.Fatalf("odd 200 OK:\n%s", resp)
			}
			port, _ := strconv.Atoi(m2[1])
			sip(t, conn, sipPort, "ACK", 1, m1[1])
			return m1[1], port
		}
	}
	t.Fatal("baresip did not answer")
	return "", 0
}

// sip sends one request of the test's only dialog.
func sip(t *testing.T, conn net.PacketConn, port int, method string, cseq int, to string, body ...string) {
	if to == "" {
		to = fmt.Sprintf("<sip:b@127.0.0.1:%d>", port)
	}
	local := conn.LocalAddr().String()
	msg := fmt.Sprintf("%s sip:b@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s%d;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:hotline@%s>;tag=hl1\r\nTo: %s\r\nCall-ID: rtcp-interop@127.0.0.1\r\n"+
		"CSeq: %d %s\r\nContact: <sip:hotline@%s>\r\n", method, port, local, method, cseq, local, to, cseq, method, local)
	if len(body) > 0 {
		msg += fmt.Sprintf("Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(body[0]), body[0])
	} else {
		msg += "Content-Length: 0\r\n\r\n"
	}
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
}

// writeSilenceWAV writes secs seconds of 8 kHz 16-bit mono silence.
func writeSilenceWAV(t *testing.T, path string, secs int) {
	data := 8000 * 2 * secs
	h := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
	put := func(off, v int) { h[off], h[off+1], h[off+2], h[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	put(4, 36+data)
	put(40, data)
	if err := os.WriteFile(path, append(h, make([]byte, data)...), 0o644); err != nil {
		t.Fatal(err)
	}
}
