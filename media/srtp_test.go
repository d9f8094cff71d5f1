package media

import (
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/rtp"
	"github.com/hotline-ivr/hotline/media/srtp"
)

// TestSRTPCrossedSessions: two sessions keyed crosswise (each sends with its own
// SDES key and receives with the other's) exchange tones over SRTP, SRTCP reports
// flow both ways (round-trip times measured from them), and packets a third party
// sends to one of them (tampered, plain RTP, replayed) are dropped and counted in
// hotline_srtp_errors_total by reason.
func TestSRTPCrossedSessions(t *testing.T) {
	e, reg := newTestEngine(t, Config{RTCPInterval: 100 * time.Millisecond})
	a, b := newTestSession(t, e), newTestSession(t, e)
	ka, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	kb, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_32)
	pa, pb := pcmu(b.LocalAddr()), pcmu(a.LocalAddr())
	pa.RemoteRTCP, pb.RemoteRTCP = b.RTCPAddr(), a.RTCPAddr()
	pa.SRTP = &SRTPKeys{Local: ka, Remote: kb}
	pb.SRTP = &SRTPKeys{Local: kb, Remote: ka}
	if err := a.Configure(pa); err != nil {
		t.Fatal(err)
	}
	if err := b.Configure(pb); err != nil {
		t.Fatal(err)
	}
	sinkA, sinkB := &toneSink{}, &toneSink{}
	a.AddSink(sinkA)
	b.AddSink(sinkB)
	a.Start()
	b.Start()
	go func() { _ = a.Play(t.Context(), &loopTone{pcm: tone(1000, 8000, 8000)}) }()
	go func() { _ = b.Play(t.Context(), &loopTone{pcm: tone(1500, 8000, 8000)}) }()

	eventually(t, 20*time.Second, "a second of audio and an RTCP round trip each way", func() bool {
		return len(sinkA.snapshot()) >= 8000 && len(sinkB.snapshot()) >= 8000 &&
			a.Quality().HasRTT && b.Quality().HasRTT
	})
	heard := func(name string, k *toneSink, want, other float64) {
		pcm := k.snapshot()
		pcm = pcm[len(pcm)-4000:]
		if w, o := goertzel(pcm, want), goertzel(pcm, other); w < 100*o || w == 0 {
			t.Errorf("%s did not hear %v Hz: power %g vs %g at %v Hz", name, want, w, o, other)
		}
	}
	heard("b", sinkB, 1000, 1500)
	heard("a", sinkA, 1500, 1000)
	if n := metric(t, reg, "hotline_srtp_errors_total"); n != 0 {
		t.Fatalf("%v SRTP errors between correctly keyed sessions", n)
	}

	// A third party that knows a's key (so its packets are well-formed SRTP) but
	// tampers with one, a plain RTP sender, and a replay of a genuine packet.
	tx, _ := srtp.NewContext(ka)
	intruder := newPeer(t, "127.0.0.2") // not the address a signalled
	buf := make([]byte, 1500)
	protect := func(seq uint16) []byte {
		n := copy(buf, buildRTP(rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0xBAD}, silentFrame))
		n, err := tx.ProtectRTP(buf, n)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), buf[:n]...)
	}
	bad := protect(1)
	bad[30] ^= 0x40
	intruder.sendRaw(b.LocalAddr(), bad)
	intruder.sendRaw(b.LocalAddr(), buildRTP(rtp.Header{PayloadType: 0, SequenceNumber: 9, SSRC: 0xBAD}, silentFrame))
	genuine := protect(2)
	intruder.sendRaw(b.LocalAddr(), genuine)
	intruder.sendRaw(b.LocalAddr(), genuine)
	intruder.sendRaw(b.LocalAddr(), []byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 2})
	eventually(t, 10*time.Second, "the intruder's packets counted", func() bool {
		return metric(t, reg, "hotline_srtp_errors_total", "reason", "auth") == 2 &&
			metric(t, reg, "hotline_srtp_errors_total", "reason", "replay") == 1 &&
			metric(t, reg, "hotline_srtp_errors_total", "reason", "short") == 1
	})
	// The genuine packet authenticated, then the latch policy refused its stranger's
	// address: SRTP does not bypass symmetric RTP.
	if n := metric(t, reg, "hotline_rtp_garbage_packets_total", "reason", "foreign_source"); n != 1 {
		t.Errorf("foreign_source = %v, want 1 (the intruder's one authentic packet)", n)
	}
	if g := b.Stats().Garbage; g != 5 {
		t.Errorf("b counted %d garbage packets, want 5", g)
	}
	// SRTCP tampering is counted under its own reason.
	n := copy(buf, []byte{0x80, 201, 0, 1, 0, 0, 0x0B, 0xAD})
	n, _ = tx.ProtectRTCP(buf, n)
	buf[n-1] ^= 1
	intruder.sendRaw(b.RTCPAddr(), buf[:n])
	eventually(t, 10*time.Second, "the tampered SRTCP counted", func() bool {
		return metric(t, reg, "hotline_srtp_errors_total", "reason", "rtcp_auth") == 1
	})
	if n := metric(t, reg, "hotline_srtp_errors_total", "reason", "rtcp_replay"); n != 0 {
		t.Errorf("rtcp_replay = %v between genuine sessions", n)
	}

	// A re-INVITE that keeps the keys keeps the contexts (no replay errors from a
	// reset rollover counter); audio keeps flowing.
	before := len(sinkB.snapshot())
	if err := b.Configure(pb); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "audio after the re-INVITE", func() bool {
		return len(sinkB.snapshot()) > before+1600
	})
	if n := metric(t, reg, "hotline_srtp_errors_total", "reason", "auth"); n != 2 {
		t.Errorf("auth errors after re-INVITE = %v, want still 2", n)
	}
	// The peer re-keys its direction only: our send context (and its SRTCP index)
	// is kept, so the same key never encrypts a second stream from index 0.
	txBefore := b.params.Load().srtp.tx
	kb2 := pb
	kb2.SRTP = &SRTPKeys{Local: kb, Remote: kb}
	if err := b.Configure(kb2); err != nil {
		t.Fatal(err)
	}
	if got := b.params.Load().srtp; got.tx != txBefore || got.rx == nil {
		t.Error("a new remote key replaced the send context")
	}
}

// TestSRTPConfigureErrors: keys without a suite are a signalling bug, refused.
func TestSRTPConfigureErrors(t *testing.T) {
	e, _ := newTestEngine(t, Config{})
	s := newTestSession(t, e)
	p := pcmu(s.LocalAddr())
	p.SRTP = &SRTPKeys{} // no suite
	if err := s.Configure(p); err == nil {
		t.Error("Configure accepted SRTP keys without a suite")
	}
}

// BenchmarkSRTPHandlePacket is the receive path's per-packet cost with SRTP: unprotect,
// parse, latch check, jitter buffer and statistics; it must not allocate.
func BenchmarkSRTPHandlePacket(b *testing.B) {
	e, _ := newTestEngine(b, Config{})
	s := newTestSession(b, e)
	k, _ := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	p := pcmu(s.LocalAddr())
	p.SRTP = &SRTPKeys{Local: k, Remote: k}
	p.SignalingSource = s.LocalAddr().Addr()
	if err := s.Configure(p); err != nil {
		b.Fatal(err)
	}
	tx, _ := srtp.NewContext(k)
	const count = 1 << 14
	pkts := make([][]byte, count)
	for i := range pkts {
		buf := make([]byte, 1500)
		n := copy(buf, buildRTP(rtp.Header{PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160, SSRC: 7}, silentFrame))
		n, _ = tx.ProtectRTP(buf, n)
		pkts[i] = buf[:n]
	}
	st := newRxState()
	work := make([]byte, 1500)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%count == 0 && i > 0 {
			s.params.Load().srtp.rx, _ = srtp.NewContext(k) // the same indexes again
		}
		n := copy(work, pkts[i%count])
		s.handlePacket(work[:n], s.LocalAddr(), now, st)
		now = now.Add(20 * time.Millisecond)
	}
	b.StopTimer()
	if g := s.Stats().Garbage; g != 0 {
		b.Fatalf("%d packets refused: the benchmark measured the failure path", g)
	}
}
