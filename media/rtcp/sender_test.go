package rtcp

import (
	"testing"
	"time"
)

// send feeds tx n packets of a 20 ms G.711 stream starting at packet first.
func send(tx *SenderStats, first, n int) {
	for i := first; i < first+n; i++ {
		tx.Update(0xcafe, uint16(100+i), 5000+uint32(i)*160, 160, t0.Add(time.Duration(i)*20*time.Millisecond), 8000)
	}
}

func TestSenderReportFill(t *testing.T) {
	var tx SenderStats
	var sr SenderReport
	if tx.FillSenderReport(&sr, t0) {
		t.Fatal("SR before any packet")
	}
	send(&tx, 0, 250) // 5 s; the last packet (249) at 4.98 s, timestamp 5000+249*160
	now := t0.Add(5*time.Second + 7*time.Millisecond)
	_ = sr.AddReport(sampleBlock(1))
	if !tx.FillSenderReport(&sr, now) {
		t.Fatal("no SR after sending")
	}
	// 27 ms after the last packet's instant: 216 units later.
	want := SenderReport{SSRC: 0xcafe, NTPTime: NTPTime(now), RTPTime: 5000 + 249*160 + 216,
		PacketCount: 250, OctetCount: 40000}
	if sr != want {
		t.Errorf("SR\n got %+v\nwant %+v", sr, want)
	}
	if got := NTPToTime(sr.NTPTime); got.Sub(now).Abs() > time.Microsecond {
		t.Errorf("NTP time %v, want %v", got, now)
	}
	// Still a sender at the next report; not at the one after that if
	// nothing was sent since the report before last (RFC 3550 §6.4).
	if !tx.FillSenderReport(&sr, now.Add(5*time.Second)) {
		t.Error("second report: no longer a sender")
	}
	if tx.FillSenderReport(&sr, now.Add(10*time.Second)) {
		t.Error("third report with nothing sent since the first: still a sender")
	}
	send(&tx, 250, 1)
	if !tx.FillSenderReport(&sr, now.Add(15*time.Second)) {
		t.Error("sent again: not a sender")
	}
}

// TestRoundTrip: our SR leaves at t0, takes 40 ms to the peer, which holds
// it 1.5 s and answers with a report that takes 60 ms back: RTT 100 ms.
func TestRoundTrip(t *testing.T) {
	var tx SenderStats
	send(&tx, 0, 10)
	var sr SenderReport
	sent := t0.Add(3 * time.Second)
	tx.FillSenderReport(&sr, sent)

	var peer ReceiverStats
	peer.ReceivedSenderReport(0x5eed, sr.NTPTime, sent.Add(40*time.Millisecond))
	stream(&peer, 0, 0, 10, nil, nil)
	block, _ := peer.ReceptionReport(sent.Add(1540 * time.Millisecond))
	arrival := sent.Add(1600 * time.Millisecond)

	rtt, ok := tx.ReceivedReport(block, arrival)
	if !ok || (rtt-100*time.Millisecond).Abs() > 20*time.Microsecond {
		t.Errorf("RTT %v %v, want 100ms", rtt, ok)
	}
	// The wallclock form agrees within the 1/65536 s resolution.
	rtt2, ok := RoundTripTime(block.LastSenderReport, block.Delay, arrival)
	if !ok || (rtt2-100*time.Millisecond).Abs() > 50*time.Microsecond {
		t.Errorf("RoundTripTime %v %v, want 100ms", rtt2, ok)
	}
	last, mean, largest, ok := tx.RTT()
	if !ok || last != rtt || mean != rtt || largest != rtt {
		t.Errorf("RTT() = %v %v %v %v", last, mean, largest, ok)
	}
	if r, ok := tx.RemoteReport(); !ok || r != block {
		t.Error("remote report not kept")
	}

	// A block with an LSR we never sent yields no RTT.
	block.LastSenderReport ^= 0x5555
	if _, ok := tx.ReceivedReport(block, arrival); ok {
		t.Error("RTT from a foreign LSR")
	}
	block.LastSenderReport = 0
	if _, ok := tx.ReceivedReport(block, arrival); ok {
		t.Error("RTT from LSR 0")
	}
	if _, ok := RoundTripTime(0, 0, arrival); ok {
		t.Error("RoundTripTime with LSR 0")
	}
	// A DLSR longer than the time since our SR is impossible.
	block.LastSenderReport = MiddleNTP(sr.NTPTime)
	block.Delay = 10 << 16
	if _, ok := tx.ReceivedReport(block, arrival); ok {
		t.Error("negative RTT accepted")
	}
}

// TestRoundTripBaresip computes the RTT from the report blocks baresip
// exchanged on loopback: about zero, with libre's millisecond DLSR making
// it slightly negative before clamping.
func TestRoundTripBaresip(t *testing.T) {
	type sent struct {
		at  float64
		ntp uint64
	}
	srs := map[uint32]sent{} // LSR -> when the SR was captured
	var c Compound
	checked := 0
	for _, p := range loadCapture(t) {
		if c.Unmarshal(p.data) != nil || c.Report != TypeSenderReport {
			continue
		}
		for _, b := range c.Blocks() {
			s, ok := srs[b.LastSenderReport]
			if !ok {
				continue
			}
			// The report's arrival in the wallclock of the SR's sender:
			// its SR's NTP time plus the capture time since, plus a
			// loopback hop of 50 µs.
			elapsed := time.Duration((p.at - s.at) * float64(time.Second))
			arrival := NTPToTime(s.ntp).Add(elapsed + 50*time.Microsecond)
			rtt, ok := RoundTripTime(b.LastSenderReport, b.Delay, arrival)
			t.Logf("%.3f s: RTT %v (A-LSR-DLSR before clamping %v)", p.at, rtt,
				time.Duration(int32(MiddleNTP(NTPTime(arrival))-b.LastSenderReport-b.Delay))*time.Second/65536)
			if !ok || rtt > time.Millisecond {
				t.Errorf("%.3f s: RTT %v %v, want about 0", p.at, rtt, ok)
			}
			checked++
		}
		srs[MiddleNTP(c.SenderReport.NTPTime)] = sent{p.at, c.SenderReport.NTPTime}
	}
	if checked != 5 {
		t.Errorf("%d report blocks echoed an SR, want 5", checked)
	}
}

func TestRemoteLossAndJitter(t *testing.T) {
	var tx SenderStats
	send(&tx, 0, 1000) // sequence numbers 100..1099
	if tx.RemoteLossPercent() != 0 || tx.RemoteJitter() != 0 {
		t.Error("remote figures before any report")
	}
	tx.ReceivedReport(ReceptionReport{SSRC: 0xcafe, TotalLost: 25, LastSequence: 1099, Jitter: 80}, t0)
	if got := tx.RemoteLossPercent(); got != 2.5 {
		t.Errorf("remote loss %v%%, want 2.5", got)
	}
	if got := tx.RemoteJitter(); got != 10*time.Millisecond {
		t.Errorf("remote jitter %v, want 10ms", got)
	}
	if tx.Packets() != 1000 || tx.Octets() != 160000 || tx.SSRC() != 0xcafe {
		t.Errorf("packets %d octets %d", tx.Packets(), tx.Octets())
	}
	// A new SSRC restarts the counts.
	tx.Update(0xd00d, 1, 1, 160, t0, 8000)
	if tx.Packets() != 1 || tx.SSRC() != 0xd00d {
		t.Errorf("after SSRC change: %d packets", tx.Packets())
	}
}

func TestNTPConversions(t *testing.T) {
	tm := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	ntp := NTPTime(tm)
	if ntp>>32 != uint64(tm.Unix()+ntpEpochOffset) || uint32(ntp) != 1<<31 {
		t.Errorf("NTPTime = %x", ntp)
	}
	if back := NTPToTime(ntp); !back.Equal(tm) {
		t.Errorf("NTPToTime = %v, want %v", back, tm)
	}
	for _, d := range []time.Duration{0, time.Millisecond, 1250 * time.Millisecond, time.Hour} {
		if got := compactToDuration(durationToCompact(d)); (got - d).Abs() > 16*time.Microsecond {
			t.Errorf("compact %v -> %v", d, got)
		}
	}
	if durationToCompact(-time.Second) != 0 || durationToCompact(100*time.Hour) != 1<<32-1 {
		t.Error("compact clamping")
	}
}
