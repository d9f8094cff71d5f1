package rtcp

import (
	"testing"
	"time"
)

// The per-packet path: one Update per RTP packet received or sent.

func BenchmarkReceiverStatsUpdate(b *testing.B) {
	var s ReceiverStats
	now := t0
	var seq uint16
	var ts uint32
	b.ReportAllocs()
	for b.Loop() {
		seq++
		ts += 160
		now = now.Add(20 * time.Millisecond)
		s.Update(0x1234, seq, ts, now, 8000)
	}
}

func BenchmarkSenderStatsUpdate(b *testing.B) {
	var s SenderStats
	now := t0
	var seq uint16
	var ts uint32
	b.ReportAllocs()
	for b.Loop() {
		seq++
		ts += 160
		now = now.Add(20 * time.Millisecond)
		s.Update(0x1234, seq, ts, 160, now, 8000)
	}
}

// The per-report path: every few seconds per call.

func BenchmarkCompoundUnmarshal(b *testing.B) {
	for _, name := range []string{"baresip SR+SDES", "RR+APP+NACK"} {
		var buf []byte
		for _, s := range seedPackets {
			if s.name == name {
				buf = mustHex(b, s.hex)
			}
		}
		b.Run(name, func(b *testing.B) {
			var c Compound
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if err := c.Unmarshal(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReceiverReportUnmarshal31(b *testing.B) {
	rr := ReceiverReport{SSRC: 1}
	for i := range MaxReports {
		_ = rr.AddReport(sampleBlock(i))
	}
	buf := make([]byte, rr.MarshalSize())
	if _, err := rr.MarshalTo(buf); err != nil {
		b.Fatal(err)
	}
	var got ReceiverReport
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := got.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildReport is a whole report: the block from ReceiverStats, the
// SR from SenderStats, SDES, MarshalTo, and the Scheduler's bookkeeping.
func BenchmarkBuildReport(b *testing.B) {
	var rx ReceiverStats
	var tx SenderStats
	stream(&rx, 0, 0, 100, nil, nil)
	for i := range 100 {
		tx.Update(9, uint16(i), uint32(i)*160, 160, t0.Add(time.Duration(i)*20*time.Millisecond), 8000)
	}
	sched, err := NewScheduler()
	if err != nil {
		b.Fatal(err)
	}
	var c Compound
	cname := []byte("hotline@example.net")
	buf := make([]byte, 1500)
	now := t0.Add(2 * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		tx.Update(9, 100, 16000, 160, now, 8000) // keep us a sender
		block, _ := rx.ReceptionReport(now)
		tx.FillSenderReport(&c.SenderReport, now)
		c.Report = TypeSenderReport
		_ = c.SenderReport.AddReport(block)
		c.HasSDES = true
		c.SourceDescription.Chunks[0] = SDESChunk{Source: 9, CNAME: cname}
		c.SourceDescription.ChunkCount = 1
		n, err := c.MarshalTo(buf)
		if err != nil {
			b.Fatal(err)
		}
		sched.Sent(n)
	}
}

func BenchmarkReceivedReport(b *testing.B) {
	var tx SenderStats
	tx.Update(9, 0, 0, 160, t0, 8000)
	var sr SenderReport
	tx.FillSenderReport(&sr, t0)
	block := ReceptionReport{SSRC: 9, LastSenderReport: MiddleNTP(sr.NTPTime), Delay: 1 << 16}
	arrival := t0.Add(1100 * time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tx.ReceivedReport(block, arrival); !ok {
			b.Fatal("no RTT")
		}
	}
}

// The per-tick path: every call polls its scheduler on every clock tick.

func BenchmarkSchedulerDue(b *testing.B) {
	s, err := NewScheduler()
	if err != nil {
		b.Fatal(err)
	}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(20 * time.Millisecond)
		s.Due(now)
	}
}

func BenchmarkRFactorMOS(b *testing.B) {
	q := Quality{Codec: Codec{Bpl: 25.1}, RTT: 80 * time.Millisecond, JitterBuffer: 40 * time.Millisecond,
		LossPercent: 1.5, BurstRatio: 1.3}
	b.ReportAllocs()
	for b.Loop() {
		if MOS(RFactor(q)) < 1 {
			b.Fatal("MOS below 1")
		}
	}
}
