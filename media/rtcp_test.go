package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/rtcp"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// rtcpPeer is a caller with RTCP: it sends 20 ms of RTP and, every 100 ms, an SR with a
// block about the session's stream; it reads the session's RTP and RTCP and keeps the
// RFC 3550 statistics a real endpoint keeps, so both sides can compute the round trip.
type rtcpPeer struct {
	t        *testing.T
	rtpConn  *net.UDPConn
	rtcpConn *net.UDPConn // nil with rtcp-mux
	mu       sync.Mutex
	rx       rtcp.ReceiverStats
	tx       rtcp.SenderStats
	reports  int // compound packets from the session
	srs      int
	cname    string
	echoed   bool // a block about us echoed one of our SRs
	rtt      time.Duration
	haveRTT  bool
	bye      bool
	from     netip.AddrPort // where the session's reports came from
	wg       sync.WaitGroup
}

func listenLocal(t *testing.T, port int) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newRTCPPeer(t *testing.T, mux bool) *rtcpPeer {
	p := &rtcpPeer{t: t, rtpConn: listenLocal(t, 0)}
	if !mux {
		p.rtcpConn = listenLocal(t, 0)
	}
	return p
}

func (p *rtcpPeer) rtpAddr() netip.AddrPort { return p.rtpConn.LocalAddr().(*net.UDPAddr).AddrPort() }
func (p *rtcpPeer) rtcpAddr() netip.AddrPort {
	if p.rtcpConn == nil {
		return p.rtpAddr()
	}
	return p.rtcpConn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// read handles what arrives on c until it is closed.
func (p *rtcpPeer) read(c *net.UDPConn) {
	defer p.wg.Done()
	buf := make([]byte, 2048)
	var in rtcp.Compound
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			continue
		}
		now := time.Now()
		pkt := buf[:n]
		p.mu.Lock()
		if rtp.IsRTCP(pkt) {
			if err := in.Unmarshal(pkt); err != nil {
				p.t.Errorf("session sent invalid RTCP: %v", err)
			} else {
				p.reports++
				p.from = from
				if in.Report == rtcp.TypeSenderReport {
					p.srs++
					p.rx.ReceivedSenderReport(in.SenderReport.SSRC, in.SenderReport.NTPTime, now)
				}
				if in.HasSDES {
					if cn, ok := in.SourceDescription.CNAME(in.SenderReport.SSRC); ok {
						p.cname = string(cn)
					} else if cn, ok := in.SourceDescription.CNAME(in.ReceiverReport.SSRC); ok {
						p.cname = string(cn)
					}
				}
				if b, ok := in.ReportAbout(p.tx.SSRC()); ok {
					if b.LastSenderReport != 0 {
						p.echoed = true
					}
					if rtt, ok := p.tx.ReceivedReport(b, now); ok {
						p.rtt, p.haveRTT = rtt, true
					}
				}
				if in.HasGoodbye {
					p.bye = true
				}
			}
		} else {
			var h rtp.Header
			if _, err := h.Unmarshal(pkt); err == nil {
				p.rx.Update(h.SSRC, h.SequenceNumber, h.Timestamp, now, 8000)
			}
		}
		p.mu.Unlock()
	}
}

// run sends RTP to rtpTo and reports to rtcpTo for d, reading meanwhile.
func (p *rtcpPeer) run(rtpTo, rtcpTo netip.AddrPort, d time.Duration) {
	p.wg.Add(1)
	go p.read(p.rtpConn)
	if p.rtcpConn != nil {
		p.wg.Add(1)
		go p.read(p.rtcpConn)
	}
	const ssrc = 0xCA11
	var seq uint16 = 1
	var ts uint32 = 160
	rtcpFrom := p.rtcpConn
	if rtcpFrom == nil {
		rtcpFrom = p.rtpConn
	}
	buf := make([]byte, 1500)
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		now := time.Now()
		pkt := buildRTP(rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, silentFrame)
		if _, err := p.rtpConn.WriteToUDPAddrPort(pkt, rtpTo); err != nil {
			p.t.Fatal(err)
		}
		p.mu.Lock()
		p.tx.Update(ssrc, seq, ts, len(silentFrame), now, 8000)
		if i%5 == 4 {
			var c rtcp.Compound
			if p.tx.FillSenderReport(&c.SenderReport, now) {
				c.Report = rtcp.TypeSenderReport
				if b, ok := p.rx.ReceptionReport(now); ok {
					_ = c.SenderReport.AddReport(b)
				}
			}
			c.HasSDES = true
			c.SourceDescription.ChunkCount = 1
			c.SourceDescription.Chunks[0] = rtcp.SDESChunk{Source: ssrc, CNAME: []byte("peer@test")}
			n, err := c.MarshalTo(buf)
			if err != nil {
				p.t.Fatal(err)
			}
			if _, err := rtcpFrom.WriteToUDPAddrPort(buf[:n], rtcpTo); err != nil {
				p.t.Fatal(err)
			}
		}
		p.mu.Unlock()
		seq++
		ts += 160
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 20 * time.Millisecond)))
	}
}

func (p *rtcpPeer) stop() {
	_ = p.rtpConn.SetReadDeadline(time.Now())
	if p.rtcpConn != nil {
		_ = p.rtcpConn.SetReadDeadline(time.Now())
	}
	p.wg.Wait()
}

// TestRTCPExchange: SR/RR with SDES go both ways with a Go peer, on the separate RTCP
// port and with rtcp-mux; each side computes the round-trip time from the other's
// echo; Close sends a BYE and records the call's quality and metrics.
func TestRTCPExchange(t *testing.T) {
	for _, mux := range []bool{false, true} {
		name := "separate port"
		if mux {
			name = "rtcp-mux"
		}
		t.Run(name, func(t *testing.T) {
			e, reg := newTestEngine(t, Config{RTCPInterval: 100 * time.Millisecond})
			s := newTestSession(t, e)
			if s.RTCPAddr() == s.LocalAddr() || s.RTCPAddr().Port()%2 != 1 {
				t.Fatalf("RTCP on %v, RTP on %v: want an odd port of its own", s.RTCPAddr(), s.LocalAddr())
			}
			pr := newRTCPPeer(t, mux)
			p := pcmu(pr.rtpAddr())
			p.RemoteRTCP, p.RTCPMux = pr.rtcpAddr(), mux
			if err := s.Configure(p); err != nil {
				t.Fatal(err)
			}
			s.Start()
			rtcpTo := s.RTCPAddr()
			if mux {
				rtcpTo = s.LocalAddr()
			}
			pr.run(s.LocalAddr(), rtcpTo, 1500*time.Millisecond)

			q := s.Quality()
			if !q.HasRTT || q.RTTMs <= 0 || q.RTTMs > 100 {
				t.Errorf("session RTT %v ms (has %v), want a loopback round trip", q.RTTMs, q.HasRTT)
			}
			if q.PacketsReceived < 50 || q.LossPercent != 0 || q.MOS < 4 {
				t.Errorf("quality %+v", q)
			}
			if !q.HasRemote {
				t.Error("the peer's report on our stream was not recorded")
			}
			_ = s.Close()
			time.Sleep(50 * time.Millisecond)
			pr.stop()
			pr.mu.Lock()
			defer pr.mu.Unlock()
			if pr.reports < 5 || pr.srs == 0 {
				t.Errorf("peer got %d reports (%d SR) in 1.5 s at a 100 ms interval", pr.reports, pr.srs)
			}
			if len(pr.cname) != 24 {
				t.Errorf("CNAME %q, want 24 random hex digits", pr.cname)
			}
			if !pr.echoed || !pr.haveRTT || pr.rtt > 100*time.Millisecond {
				t.Errorf("peer: echoed %v, RTT %v (%v)", pr.echoed, pr.rtt, pr.haveRTT)
			}
			if !pr.bye {
				t.Error("no BYE at Close")
			}
			wantFrom := s.RTCPAddr()
			if mux {
				wantFrom = s.LocalAddr()
			}
			if pr.from != wantFrom {
				t.Errorf("reports came from %v, want %v", pr.from, wantFrom)
			}
			if n := metric(t, reg, "hotline_rtcp_packets_sent_total"); n < float64(pr.reports) {
				t.Errorf("rtcp sent %v, peer got %d", n, pr.reports)
			}
			if n := metric(t, reg, "hotline_rtcp_packets_received_total"); n < 10 {
				t.Errorf("rtcp received %v", n)
			}
			if final := s.Quality(); final.RTTMs != s.Quality().RTTMs || final.PacketsReceived < q.PacketsReceived {
				t.Errorf("quality after Close %+v", final)
			}
			if n := histogramCount(t, reg, "hotline_call_mos"); n != 1 {
				t.Errorf("hotline_call_mos observed %d times, want 1", n)
			}
			if n := histogramCount(t, reg, "hotline_rtp_jitter_seconds"); n != 1 {
				t.Errorf("hotline_rtp_jitter_seconds observed %d times, want 1", n)
			}
		})
	}
}

// histogramCount reads the sample count of a histogram.
func histogramCount(t testing.TB, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

// TestRTCPDefaultPort: without a=rtcp, reports go to the caller's RTP port + 1.
func TestRTCPDefaultPort(t *testing.T) {
	var rtpC, rtcpC *net.UDPConn
	for range 50 {
		a := listenLocal(t, 0)
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65535 {
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
		if err != nil {
			continue
		}
		t.Cleanup(func() { b.Close() })
		rtpC, rtcpC = a, b
		break
	}
	if rtpC == nil {
		t.Fatal("no pair of consecutive ports for the peer")
	}
	e, _ := newTestEngine(t, Config{RTCPInterval: 50 * time.Millisecond})
	s := newTestSession(t, e)
	if err := s.Configure(pcmu(rtpC.LocalAddr().(*net.UDPAddr).AddrPort())); err != nil {
		t.Fatal(err)
	}
	s.Start()
	_ = rtcpC.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := rtcpC.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no report on RTP port + 1: %v", err)
	}
	var c rtcp.Compound
	if err := c.Unmarshal(buf[:n]); err != nil || from != s.RTCPAddr() {
		t.Fatalf("report from %v: %v", from, err)
	}
}

// TestRTCPInvalid: malformed reports and reports from a stranger are counted by reason
// and change nothing.
func TestRTCPInvalid(t *testing.T) {
	s, pr, reg := liveSession(t, Config{}, nil)
	stranger := newPeer(t, "127.0.0.2")
	to := s.RTCPAddr()
	sr := peerReport(t, s.ssrc)
	app := []byte{0x80, 204, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 'e'}
	badLen := sr[:len(sr)-4] // the SDES's length runs past the datagram's end
	for _, d := range [][]byte{{0x81}, {0x41, 201, 0, 1, 0, 0, 0, 1}, app, badLen} {
		pr.sendRaw(to, d)
	}
	stranger.sendRaw(to, sr)
	pr.sendRaw(s.LocalAddr(), app) // multiplexed on the RTP port: counted the same way
	eventually(t, 2*time.Second, "the reports to be counted", func() bool {
		return metric(t, reg, "hotline_rtcp_packets_received_total") == 6
	})
	for _, c := range []struct {
		reason string
		n      float64
	}{{"short", 1}, {"bad_version", 1}, {"bad_first_packet", 2}, {"bad_length", 1}, {"foreign_source", 1}} {
		if got := metric(t, reg, "hotline_rtcp_invalid_packets_total", "reason", c.reason); got != c.n {
			t.Errorf("invalid{reason=%q} = %v, want %v", c.reason, got, c.n)
		}
	}
	if q := s.Quality(); q.HasRemote {
		t.Errorf("a stranger's report was taken: %+v", q)
	}
	if s.Stats().Garbage != 0 {
		t.Errorf("RTCP counted as RTP garbage")
	}
}
