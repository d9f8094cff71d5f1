package dtmf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
)

// sipTesterDir holds the RFC 4733 captures shipped with Debian's sip-tester
// (SIPp) package: one key press each, as sent by SIPp's play_pcap_audio.
const sipTesterDir = "/usr/share/sip-tester"

// rtpPacket is one captured RTP datagram with its capture time.
type rtpPacket struct {
	at      time.Time
	hdr     rtp.Header
	payload []byte
}

// readPcapRTP extracts the UDP payloads of a classic libpcap file and parses
// them as RTP. It understands just what test captures need: microsecond and
// nanosecond pcap in either byte order, Ethernet (with 802.1Q tags), Linux
// cooked v1/v2 and raw IP link types, IPv4 without fragments, and UDP.
// Datagrams that are not UDP or not RTP are skipped.
func readPcapRTP(path string) ([]rtpPacket, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 24 {
		return nil, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("pcap: bad magic %x", data[:4])
	}
	linkType := bo.Uint32(data[20:])
	var pkts []rtpPacket
	for off := 24; off < len(data); {
		if len(data)-off < 16 {
			return nil, errors.New("pcap: truncated record header")
		}
		sec, frac := bo.Uint32(data[off:]), bo.Uint32(data[off+4:])
		incl := int(bo.Uint32(data[off+8:]))
		off += 16
		if incl > len(data)-off {
			return nil, errors.New("pcap: truncated record")
		}
		frame := data[off : off+incl]
		off += incl
		if !nano {
			frac *= 1000
		}
		udp, ok := udpPayload(linkType, frame)
		if !ok {
			continue
		}
		var p rtpPacket
		payload, err := p.hdr.Unmarshal(udp)
		if err != nil {
			continue
		}
		p.at = time.Unix(int64(sec), int64(frac))
		p.payload = payload
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// udpPayload strips link, IPv4 and UDP headers from a captured frame.
func udpPayload(linkType uint32, frame []byte) ([]byte, bool) {
	var ip []byte
	switch linkType {
	case 1: // Ethernet
		if len(frame) < 14 {
			return nil, false
		}
		etherType, rest := binary.BigEndian.Uint16(frame[12:]), frame[14:]
		for etherType == 0x8100 && len(rest) >= 4 { // 802.1Q
			etherType, rest = binary.BigEndian.Uint16(rest[2:]), rest[4:]
		}
		if etherType != 0x0800 {
			return nil, false
		}
		ip = rest
	case 113: // Linux cooked capture v1
		if len(frame) < 16 || binary.BigEndian.Uint16(frame[14:]) != 0x0800 {
			return nil, false
		}
		ip = frame[16:]
	case 276: // Linux cooked capture v2
		if len(frame) < 20 || binary.BigEndian.Uint16(frame[0:]) != 0x0800 {
			return nil, false
		}
		ip = frame[20:]
	case 101, 228: // raw IP, raw IPv4
		ip = frame
	default:
		return nil, false
	}
	if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
		return nil, false
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || total < ihl+8 || total > len(ip) {
		return nil, false
	}
	udp := ip[ihl:total]
	udpLen := int(binary.BigEndian.Uint16(udp[4:]))
	if udpLen < 8 || udpLen > len(udp) {
		return nil, false
	}
	return udp[8:udpLen], true
}

// sippCaptures maps each sip-tester capture to the digit it carries.
var sippCaptures = []struct {
	file  string
	digit byte
}{
	{"dtmf_2833_0.pcap", '0'}, {"dtmf_2833_1.pcap", '1'}, {"dtmf_2833_2.pcap", '2'},
	{"dtmf_2833_3.pcap", '3'}, {"dtmf_2833_4.pcap", '4'}, {"dtmf_2833_5.pcap", '5'},
	{"dtmf_2833_6.pcap", '6'}, {"dtmf_2833_7.pcap", '7'}, {"dtmf_2833_8.pcap", '8'},
	{"dtmf_2833_9.pcap", '9'}, {"dtmf_2833_star.pcap", '*'}, {"dtmf_2833_pound.pcap", '#'},
}

// sippPackets loads one capture's telephone-event packets, failing the test
// (never skipping) when sip-tester is not installed.
func sippPackets(t testing.TB, file string) []rtpPacket {
	t.Helper()
	path := filepath.Join(sipTesterDir, file)
	pkts, err := readPcapRTP(path)
	if err != nil {
		t.Fatalf("reading %s: %v\nthese real-sender captures come with SIPp: install them with `apt-get install sip-tester`", path, err)
	}
	var events []rtpPacket
	for _, p := range pkts {
		if p.hdr.PayloadType == 101 { // SIPp's telephone-event payload type
			events = append(events, p)
		}
	}
	if len(events) == 0 {
		t.Fatalf("%s: no telephone-event (PT 101) packets", path)
	}
	return events
}

// TestReceiverSippCaptures replays each capture, exactly as sent, and
// requires its digit exactly once, with nothing left for Expire or Flush.
func TestReceiverSippCaptures(t *testing.T) {
	for _, c := range sippCaptures {
		t.Run(c.file, func(t *testing.T) {
			pkts := sippPackets(t, c.file)
			checkSippShape(t, pkts)
			var r Receiver
			var got []byte
			for _, p := range pkts {
				d, ok, err := r.Push(p.hdr.SSRC, p.hdr.Timestamp, p.payload, p.at)
				if err != nil {
					t.Fatalf("Push(seq %d): %v", p.hdr.SequenceNumber, err)
				}
				if ok {
					got = append(got, d)
				}
			}
			last := pkts[len(pkts)-1].at
			if d, ok := r.Expire(last.Add(time.Hour)); ok {
				got = append(got, d)
			}
			if d, ok := r.Flush(); ok {
				got = append(got, d)
			}
			if string(got) != string(c.digit) {
				t.Errorf("digits %q, want %q", got, c.digit)
			}
		})
	}
}

// TestReceiverSippCapturesLossy replays the captures with packets dropped the
// way a lossy network would, and still requires exactly one digit.
func TestReceiverSippCapturesLossy(t *testing.T) {
	type mutation struct {
		name string
		keep func(i int, p rtpPacket) bool
	}
	mutations := []mutation{
		{"start (marker) packet lost", func(i int, p rtpPacket) bool { return !p.hdr.Marker }},
		{"all end packets lost", func(i int, p rtpPacket) bool { return !isEnd(p.payload) }},
		{"only end packets", func(i int, p rtpPacket) bool { return isEnd(p.payload) }},
		{"every other packet", func(i int, p rtpPacket) bool { return i%2 == 0 }},
		{"only the first packet", func(i int, p rtpPacket) bool { return i == 0 }},
	}
	for _, c := range sippCaptures {
		all := sippPackets(t, c.file)
		for _, m := range mutations {
			t.Run(c.file+"/"+m.name, func(t *testing.T) {
				var r Receiver
				var got []byte
				var last time.Time
				for i, p := range all {
					if !m.keep(i, p) {
						continue
					}
					last = p.at
					if d, ok, err := r.Push(p.hdr.SSRC, p.hdr.Timestamp, p.payload, p.at); err != nil {
						t.Fatal(err)
					} else if ok {
						got = append(got, d)
					}
				}
				if d, ok := r.Expire(last.Add(DefaultHold - time.Millisecond)); ok {
					got = append(got, d)
				}
				if d, ok := r.Expire(last.Add(DefaultHold)); ok {
					got = append(got, d)
				}
				if d, ok := r.Flush(); ok {
					got = append(got, d)
				}
				if string(got) != string(c.digit) {
					t.Errorf("digits %q, want %q", got, c.digit)
				}
			})
		}
	}
}

// checkSippShape asserts the captures are what the receiver tests claim to
// exercise: one event, marker on the first packet only, and the end packet
// sent three times with identical content and the same sequence number.
func checkSippShape(t *testing.T, pkts []rtpPacket) {
	t.Helper()
	ends := 0
	for i, p := range pkts {
		if p.hdr.Timestamp != pkts[0].hdr.Timestamp || p.hdr.SSRC != pkts[0].hdr.SSRC {
			t.Fatalf("packet %d: not the same event as packet 0", i)
		}
		if p.hdr.Marker != (i == 0) {
			t.Errorf("packet %d: marker %v", i, p.hdr.Marker)
		}
		if isEnd(p.payload) {
			ends++
			if string(p.payload) != string(pkts[len(pkts)-1].payload) {
				t.Errorf("packet %d: end packets differ", i)
			}
		}
	}
	if ends != 3 {
		t.Errorf("%d end packets, want 3", ends)
	}
}

func isEnd(payload []byte) bool {
	ev, err := ParseEvent(payload)
	return err == nil && ev.End
}

// TestReceiverSippCapturesReversed replays each capture back to front: the
// end packets first, then the updates of the already-reported event.
func TestReceiverSippCapturesReversed(t *testing.T) {
	for _, c := range sippCaptures {
		pkts := sippPackets(t, c.file)
		var r Receiver
		var got []byte
		for i := len(pkts) - 1; i >= 0; i-- {
			p := pkts[i]
			if d, ok, _ := r.Push(p.hdr.SSRC, p.hdr.Timestamp, p.payload, p.at); ok {
				got = append(got, d)
			}
		}
		if d, ok := r.Flush(); ok {
			got = append(got, d)
		}
		if string(got) != string(c.digit) {
			t.Errorf("%s reversed: digits %q, want %q", c.file, got, c.digit)
		}
	}
}
