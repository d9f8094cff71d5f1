package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtcp"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// FuzzHandlePacket feeds arbitrary datagrams from a trusted and a foreign source to the
// receive path: it must never panic, and every datagram is accepted, counted as garbage,
// or set aside as RTCP.
func FuzzHandlePacket(f *testing.F) {
	f.Add(buildRTP(rtp.Header{PayloadType: 0, SSRC: 1}, silentFrame), false)
	f.Add(buildRTP(rtp.Header{PayloadType: 101, Marker: true, SSRC: 1}, []byte{5, 0x0a, 0, 160}), false)
	f.Add(buildRTP(rtp.Header{PayloadType: 101, SSRC: 1}, []byte{5, 0x8a, 3, 32}), true)
	f.Add([]byte{0x81, 0xc9, 0, 1, 0, 0, 0, 1}, false)
	f.Add([]byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff}, false)
	f.Add([]byte{}, true)
	e, _ := newTestEngine(f, Config{}, withManualClock())
	s := newTestSession(f, e)
	trusted := netip.MustParseAddrPort("127.0.0.1:40000")
	foreign := netip.MustParseAddrPort("127.0.0.2:40000")
	if err := s.Configure(pcmu(trusted)); err != nil {
		f.Fatal(err)
	}
	rx := newRxState()
	now := time.Now()
	reg := metricsOf(f, s)
	f.Fuzz(func(t *testing.T, pkt []byte, fromForeign bool) {
		from := trusted
		if fromForeign {
			from = foreign
		}
		before := s.Stats()
		rtcp := metric(t, reg, "hotline_rtcp_packets_received_total")
		s.handlePacket(pkt, from, now, rx)
		now = now.Add(20 * time.Millisecond)
		after := s.Stats()
		counted := (after.PacketsReceived - before.PacketsReceived) + (after.Garbage - before.Garbage)
		if metric(t, reg, "hotline_rtcp_packets_received_total") > rtcp {
			counted++
		}
		if counted != 1 {
			t.Fatalf("datagram % x counted %d times", pkt, counted)
		}
		for {
			select {
			case <-s.Digits():
				continue
			default:
			}
			break
		}
	})
}

// FuzzHandleRTCP feeds arbitrary datagrams to the RTCP port's handler from the caller
// and from a stranger: it must never panic, and every datagram is counted.
func FuzzHandleRTCP(f *testing.F) {
	f.Add([]byte{0x81, 0xc9, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{0x80, 204, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 'e'}, true)
	f.Add([]byte{0x81, 203, 0, 1, 0, 0, 0, 1}, false)
	f.Add([]byte{}, false)
	e, _ := newTestEngine(f, Config{}, withManualClock())
	s := newTestSession(f, e)
	trusted := netip.MustParseAddrPort("127.0.0.1:40001")
	foreign := netip.MustParseAddrPort("127.0.0.2:40001")
	if err := s.Configure(pcmu(netip.MustParseAddrPort("127.0.0.1:40000"))); err != nil {
		f.Fatal(err)
	}
	f.Add(peerReport(f, s.ssrc), false)
	var in rtcp.Compound
	now := time.Now()
	reg := metricsOf(f, s)
	f.Fuzz(func(t *testing.T, pkt []byte, fromForeign bool) {
		from := trusted
		if fromForeign {
			from = foreign
		}
		before := metric(t, reg, "hotline_rtcp_packets_received_total")
		s.handleRTCP(pkt, from, now, &in, true)
		now = now.Add(20 * time.Millisecond)
		if metric(t, reg, "hotline_rtcp_packets_received_total") != before+1 {
			t.Fatalf("datagram % x not counted", pkt)
		}
		_ = s.Quality()
	})
}
