package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/dtmf"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// configured opens a session on a real engine, configured towards pr and started.
func configured(t *testing.T, cfg Config, pr *peer) (*Session, *Engine) {
	t.Helper()
	e, _ := newTestEngine(t, cfg)
	s := newTestSession(t, e)
	if err := s.Configure(pcmu(pr.addr)); err != nil {
		t.Fatal(err)
	}
	return s, e
}

// sendDigits presses each digit for 100 ms with dtmf.Sender, one packet per 20 ms of
// stream time (sent back to back: the receiver keys events by timestamp, not arrival).
func (p *peer) sendDigits(to netip.AddrPort, digits string) {
	p.t.Helper()
	var snd dtmf.Sender
	buf := make([]byte, dtmf.EventSize)
	for i := range len(digits) {
		if err := snd.Start(digits[i], 100*time.Millisecond, 8000, 20); err != nil {
			p.t.Fatal(err)
		}
		for {
			n, marker, done := snd.Next(buf)
			p.sendRTP(to, 101, marker, buf[:n]) // one timestamp for the whole event
			if done {
				break
			}
		}
		p.ts += 8000 / 5 // 200 ms later, the next key press
	}
}

// readDigits collects n digits, failing after timeout, then checks nothing else comes.
func readDigits(t *testing.T, s *Session, n int, timeout time.Duration) string {
	t.Helper()
	var got []byte
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case d := <-s.Digits():
			got = append(got, d)
		case <-deadline:
			t.Fatalf("got digits %q, want %d digits", got, n)
		}
	}
	select {
	case d := <-s.Digits():
		t.Fatalf("extra digit %q after %q", d, got)
	case <-time.After(100 * time.Millisecond):
	}
	return string(got)
}

func TestReceiveDTMF(t *testing.T) {
	pr := newPeer(t, "127.0.0.1")
	s, _ := configured(t, Config{}, pr)
	reg := metricsOf(t, s)
	pr.sendDigits(s.LocalAddr(), "159#*D0")
	if got := readDigits(t, s, 7, 2*time.Second); got != "159#*D0" {
		t.Fatalf("digits %q, want 159#*D0", got)
	}
	if n := metric(t, reg, "hotline_dtmf_digits_total", "source", "rfc4733"); n != 7 {
		t.Errorf("rfc4733 digits counted %v, want 7", n)
	}

	s.InjectDigit('7')
	if got := readDigits(t, s, 1, time.Second); got != "7" {
		t.Fatalf("injected digit: %q", got)
	}
	if n := metric(t, reg, "hotline_dtmf_digits_total", "source", "sip_info"); n != 1 {
		t.Errorf("sip_info digits counted %v, want 1", n)
	}
}

// metricsOf returns the registry newTestEngine gave the engine behind s.
func metricsOf(t testing.TB, s *Session) *prometheus.Registry {
	t.Helper()
	reg, ok := s.eng.reg.(*prometheus.Registry)
	if !ok {
		t.Fatal("engine has no test registry")
	}
	return reg
}

// TestReceiveSippCaptures replays the RFC 4733 captures that ship with SIPp
// (sip-tester), as a real sender produced them, and wants each digit exactly once.
func TestReceiveSippCaptures(t *testing.T) {
	captures := []struct {
		file  string
		digit byte
	}{
		{"dtmf_2833_0.pcap", '0'}, {"dtmf_2833_1.pcap", '1'}, {"dtmf_2833_2.pcap", '2'},
		{"dtmf_2833_3.pcap", '3'}, {"dtmf_2833_4.pcap", '4'}, {"dtmf_2833_5.pcap", '5'},
		{"dtmf_2833_6.pcap", '6'}, {"dtmf_2833_7.pcap", '7'}, {"dtmf_2833_8.pcap", '8'},
		{"dtmf_2833_9.pcap", '9'}, {"dtmf_2833_star.pcap", '*'}, {"dtmf_2833_pound.pcap", '#'},
	}
	pr := newPeer(t, "127.0.0.1")
	s, _ := configured(t, Config{}, pr)
	var want []byte
	for i, c := range captures {
		path := filepath.Join("/usr/share/sip-tester", c.file)
		pkts, err := readPcapRTP(path)
		if err != nil {
			t.Fatalf("%s: %v (the captures come with SIPp: apt-get install sip-tester)", path, err)
		}
		sent := 0
		for _, pk := range pkts {
			if pk.h.PayloadType != 101 {
				continue
			}
			// Every capture is one key press from the same SIPp stream; shift each
			// one's timestamp so they read as successive key presses of one call.
			pk.h.Timestamp += uint32(i) * 8000
			pr.sendRaw(s.LocalAddr(), buildRTP(pk.h, pk.payload))
			sent++
		}
		if sent == 0 {
			t.Fatalf("%s: no telephone-event packets", path)
		}
		want = append(want, c.digit)
	}
	if got := readDigits(t, s, len(want), 3*time.Second); got != string(want) {
		t.Fatalf("digits %q, want %q", got, want)
	}
}

// TestReceiveGarbage sends datagrams that are not usable RTP and wants each counted by
// reason, the RTCP one set aside, and the audio that follows accepted.
func TestReceiveGarbage(t *testing.T) {
	pr := newPeer(t, "127.0.0.1")
	s, _ := configured(t, Config{}, pr)
	reg := metricsOf(t, s)
	to := s.LocalAddr()

	pr.sendRaw(to, []byte{0x80, 0x00, 0x01})                                    // short
	pr.sendRaw(to, append([]byte{0x40, 0x00}, make([]byte, 170)...))            // version 1
	pr.sendRaw(to, append([]byte{0x00, 0x01, 0x00, 0x01}, make([]byte, 16)...)) // STUN-like: version 0
	pr.sendRTP(to, 18, false, silentFrame)                                      // G.729, not negotiated
	padded := buildRTP(rtp.Header{Padding: true, SSRC: 1}, []byte{1, 2, 0})
	pr.sendRaw(to, padded)                   // padding count 0
	pr.sendRTP(to, 101, false, []byte{1, 2}) // short telephone-event
	rr := []byte{0x81, 0xC9, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	pr.sendRaw(to, rr) // RTCP receiver report (RFC 5761 mux)
	pr.sendAudio(to)

	eventually(t, 2*time.Second, "the audio packet", func() bool { return s.Stats().PacketsReceived == 1 })
	for _, c := range []struct {
		reason string
		n      float64
	}{{"short", 1}, {"bad_version", 2}, {"unknown_payload_type", 1}, {"malformed", 1}, {"bad_telephone_event", 1}} {
		if got := metric(t, reg, "hotline_rtp_garbage_packets_total", "reason", c.reason); got != c.n {
			t.Errorf("garbage{reason=%q} = %v, want %v", c.reason, got, c.n)
		}
	}
	if got := metric(t, reg, "hotline_rtcp_packets_received_total"); got != 1 {
		t.Errorf("rtcp packets %v, want 1", got)
	}
	if st := s.Stats(); st.Garbage != 6 || st.BytesReceived != 12+160 {
		t.Errorf("stats %+v, want 6 garbage and one 172-byte packet", st)
	}
	if got := metric(t, reg, "hotline_rtp_packets_received_total"); got != 1 {
		t.Errorf("packets_received_total %v, want 1", got)
	}
}

// TestReceiveBeforeConfigure counts packets that arrive before the offer/answer ended.
func TestReceiveBeforeConfigure(t *testing.T) {
	e, _ := newTestEngine(t, Config{})
	s := newTestSession(t, e)
	pr := newPeer(t, "127.0.0.1")
	pr.sendAudio(s.LocalAddr())
	reg := metricsOf(t, s)
	eventually(t, 2*time.Second, "the early packet", func() bool {
		return metric(t, reg, "hotline_rtp_garbage_packets_total", "reason", "before_negotiation") == 1
	})
	if s.Stats().PacketsReceived != 0 {
		t.Error("packet before Configure accepted")
	}
}

// TestDigitOverflow presses more keys than the flow buffers without reading them: the
// extra digits are dropped and counted, and the receive loop keeps going.
func TestDigitOverflow(t *testing.T) {
	pr := newPeer(t, "127.0.0.1")
	s, _ := configured(t, Config{}, pr)
	reg := metricsOf(t, s)
	const pressed = digitBuffer + 6
	digits := make([]byte, pressed)
	for i := range digits {
		digits[i] = "0123456789"[i%10]
	}
	pr.sendDigits(s.LocalAddr(), string(digits))
	pr.sendAudio(s.LocalAddr())
	eventually(t, 3*time.Second, "the loop to handle every packet", func() bool {
		return metric(t, reg, "hotline_dtmf_digits_dropped_total") == pressed-digitBuffer
	})
	eventually(t, 2*time.Second, "the audio after the digits", func() bool {
		return s.Stats().PacketsReceived == pressed*7+1 // 7 packets per 100 ms press
	})
	if got := readDigits(t, s, digitBuffer, time.Second); got != string(digits[:digitBuffer]) {
		t.Fatalf("buffered digits %q", got)
	}
}

// readPcapRTP extracts the RTP packets of a classic libpcap capture (Ethernet, Linux
// cooked or raw IPv4; UDP only).
func readPcapRTP(path string) ([]packet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 24 {
		return nil, errors.New("pcap: short header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("pcap: bad magic % x", data[:4])
	}
	link := bo.Uint32(data[20:])
	var out []packet
	for off := 24; off+16 <= len(data); {
		incl := int(bo.Uint32(data[off+8:]))
		off += 16
		if incl > len(data)-off {
			return nil, errors.New("pcap: truncated record")
		}
		frame := data[off : off+incl]
		off += incl
		var ip []byte
		switch {
		case link == 1 && len(frame) >= 14 && binary.BigEndian.Uint16(frame[12:]) == 0x0800:
			ip = frame[14:]
		case link == 113 && len(frame) >= 16:
			ip = frame[16:]
		case link == 101 || link == 228:
			ip = frame
		default:
			continue
		}
		if len(ip) < 28 || ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		udp := ip[int(ip[0]&0x0f)*4:]
		if len(udp) < 8 || int(binary.BigEndian.Uint16(udp[4:])) > len(udp) {
			continue
		}
		var pk packet
		payload, err := pk.h.Unmarshal(udp[8:binary.BigEndian.Uint16(udp[4:])])
		if err != nil {
			continue
		}
		pk.payload = payload
		out = append(out, pk)
	}
	return out, nil
}
