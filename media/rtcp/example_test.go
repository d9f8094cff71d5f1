package rtcp_test

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/media/rtcp"
	"github.com/hotline-ivr/hotline/media/rtp"
)

// A receive loop on a port shared by RTP and RTCP (RFC 5761) hands RTCP to
// one Compound kept per session. This SR and SDES came from baresip.
func ExampleCompound_Unmarshal() {
	datagram, _ := hex.DecodeString("81c8000c717c1f1feeadf8968179e16d00017fc2000000fa00009c40" +
		"bad798680000000000005b6100000009f89680690000010681ca0007717c1f1f0114" +
		"7369703a61403132372e302e302e313a353137310000")
	if !rtp.IsRTCP(datagram) {
		return // RTP: rtp.Header.Unmarshal instead
	}
	var c rtcp.Compound
	if err := c.Unmarshal(datagram); err != nil {
		fmt.Println("drop:", err)
		return
	}
	sr := &c.SenderReport
	fmt.Printf("%v from %08x: %d packets, %d octets\n", c.Report, sr.SSRC, sr.PacketCount, sr.OctetCount)
	cname, _ := c.SourceDescription.CNAME(sr.SSRC)
	fmt.Printf("CNAME %s\n", cname)
	if b, ok := c.ReportAbout(0xbad79868); ok {
		fmt.Printf("about %08x: lost %d, jitter %d, DLSR %d/65536 s\n", b.SSRC, b.TotalLost, b.Jitter, b.Delay)
	}
	// Output:
	// SR from 717c1f1f: 250 packets, 40000 octets
	// CNAME sip:a@127.0.0.1:5171
	// about bad79868: lost 0, jitter 9, DLSR 262/65536 s
}

// Building a report when the Scheduler says one is due: an SR with the block
// about the caller's stream, and our CNAME.
func ExampleSenderStats_FillSenderReport() {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rx rtcp.ReceiverStats
	var tx rtcp.SenderStats
	for i := range 250 { // 5 s of G.711 each way
		at := start.Add(time.Duration(i) * 20 * time.Millisecond)
		tx.Update(0xaaaa, uint16(i), uint32(i)*160, 160, at, 8000)
		if i%50 != 7 { // the caller's packets, 2 % lost
			rx.Update(0xbbbb, uint16(i), uint32(i)*160, at.Add(30*time.Millisecond), 8000)
		}
	}
	now := start.Add(5 * time.Second)
	var c rtcp.Compound
	if tx.FillSenderReport(&c.SenderReport, now) {
		c.Report = rtcp.TypeSenderReport
	}
	if b, ok := rx.ReceptionReport(now); ok {
		_ = c.SenderReport.AddReport(b)
	}
	c.HasSDES = true
	c.SourceDescription.Chunks[0] = rtcp.SDESChunk{Source: 0xaaaa, CNAME: []byte("hotline@ivr")}
	c.SourceDescription.ChunkCount = 1
	buf := make([]byte, 1500)
	n, err := c.MarshalTo(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := c.SenderReport.Reports[0]
	fmt.Printf("%d octets: SR %d packets, block about %04x: fraction %d/256, lost %d\n",
		n, c.SenderReport.PacketCount, b.SSRC, b.FractionLost, b.TotalLost)
	// Output: 76 octets: SR 250 packets, block about bbbb: fraction 5/256, lost 5
}

// A call's media quality for its record: G.711 with concealment, 1 % random
// loss, 120 ms round trip and a 40 ms jitter buffer.
func ExampleRFactor() {
	codec, _ := rtcp.LookupCodec("PCMU", true)
	q := rtcp.Quality{Codec: codec, RTT: 120 * time.Millisecond, JitterBuffer: 40 * time.Millisecond,
		Packetization: 20 * time.Millisecond, LossPercent: 1}
	r := rtcp.RFactor(q)
	fmt.Printf("one-way %v, R %.1f, MOS %.2f\n", q.OneWayDelay(), r, rtcp.MOS(r))
	// Output: one-way 120ms, R 86.7, MOS 4.25
}

// The media session polls the Scheduler from a clock tick it already has; no
// timer or goroutine per call. Here a 20 ms tick for 15 s, with the random
// spread pinned to its middle.
func ExampleScheduler() {
	sched, err := rtcp.NewScheduler(rtcp.WithRandom(func() float64 { return 0.5 }))
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for tick := time.Duration(0); tick <= 15*time.Second; tick += 20 * time.Millisecond {
		now := start.Add(tick)
		if sched.Due(now) {
			n := 84 // build and send the compound packet here
			sched.Sent(n)
			fmt.Println("report at", tick)
		}
	}
	// Output:
	// report at 2.06s
	// report at 6.18s
	// report at 10.3s
	// report at 14.42s
}
