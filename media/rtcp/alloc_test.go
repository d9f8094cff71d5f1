package rtcp

import (
	"testing"
	"time"
)

// TestZeroAllocs keeps the promise of no allocation on the packet, tick and
// report paths in the ordinary test run, not only in benchmarks.
func TestZeroAllocs(t *testing.T) {
	var rx ReceiverStats
	var tx SenderStats
	sched, err := NewScheduler()
	if err != nil {
		t.Fatal(err)
	}
	var c Compound
	in := mustHex(t, seedPackets[0].hex)
	out := make([]byte, 1500)
	cname := []byte("hotline@example.net")
	now := t0
	var seq uint16
	allocs := testing.AllocsPerRun(200, func() {
		now = now.Add(20 * time.Millisecond)
		seq++
		rx.Update(1, seq, uint32(seq)*160, now, 8000)
		tx.Update(2, seq, uint32(seq)*160, 160, now, 8000)
		if sched.Due(now) {
			sched.Sent(84)
		}
		if err := c.Unmarshal(in); err != nil {
			t.Fatal(err)
		}
		rx.ReceivedSenderReport(1, c.SenderReport.NTPTime, now)
		if b, ok := c.ReportAbout(c.SenderReport.Reports[0].SSRC); ok {
			tx.ReceivedReport(b, now)
		}
		block, _ := rx.ReceptionReport(now)
		tx.FillSenderReport(&c.SenderReport, now)
		c.Report = TypeSenderReport
		_ = c.SenderReport.AddReport(block)
		c.SourceDescription.Chunks[0] = SDESChunk{Source: 2, CNAME: cname}
		c.SourceDescription.ChunkCount = 1
		c.HasGoodbye = false
		if _, err := c.MarshalTo(out); err != nil {
			t.Fatal(err)
		}
		_ = MOS(RFactor(Quality{Codec: Codec{Bpl: 25.1}, RTT: 50 * time.Millisecond, LossPercent: rx.LossPercent(), BurstRatio: rx.BurstRatio()}))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet/report, want 0", allocs)
	}
}
