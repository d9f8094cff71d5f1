// Package rtcp reads and writes RTCP packets (RFC 3550 §6) and keeps the
// statistics that fill them, so that each call knows its loss, jitter and
// round-trip time, tells the caller's endpoint how its audio arrives, and
// ends with a quality summary and an E-model MOS for its call record.
//
// Like media/rtp it is a leaf: it knows nothing of sockets, sessions or
// codecs, only the wire format and the arithmetic of RFC 3550 Appendix A.
//
// # Packets
//
// [SenderReport], [ReceiverReport], [SourceDescription] (CNAME) and
// [Goodbye] decode into caller-owned structs with Unmarshal and encode into
// caller buffers with MarshalTo, in the manner of pion/rtcp but without its
// slices: report blocks, chunks and sources live in fixed arrays of
// [MaxReports], so parsing allocates nothing. [Compound] handles a whole
// datagram (RFC 3550 §6.1, validity checks of Appendix A.2): the leading SR
// or RR, the SDES and a BYE are decoded, APP and unknown types (feedback,
// XR) are skipped and counted. [NextPacket] walks a compound packet without
// decoding it. On a port shared with RTP (RFC 5761), rtp.IsRTCP tells the
// two apart first. Malformed input returns one of the Err sentinels and
// never panics.
//
// # Statistics
//
// [ReceiverStats] follows one incoming stream per RFC 3550 Appendix A:
// sequence validation with cycle counting and probation (A.1), expected
// and lost packets and the fraction lost per interval (A.3), interarrival
// jitter (A.8), and the last SR for LSR/DLSR. [SenderStats] counts our
// outgoing stream, pairs its RTP timestamps with NTP time for the SR, and
// turns the peer's report block about our stream into the round-trip time
// (§6.4.1). [Scheduler] spaces the reports (§6.2, §6.3, A.7) and is polled,
// not timed. [RFactor] and [MOS] rate a direction with the E-model of ITU-T
// G.107; [Summarize] totals a call.
//
// # Wiring into a media session
//
// Per received RTP packet (receive goroutine, after rtp.Header.Unmarshal):
//
//	rx.Update(h.SSRC, h.SequenceNumber, h.Timestamp, now, clockRate) // 0 for telephone-event
//
// Per sent RTP packet (clock goroutine, after a successful write):
//
//	tx.Update(ssrc, seq, ts, payloadLen, due, clockRate)
//
// Per received RTCP datagram (rtp.IsRTCP on a muxed port, or the RTCP
// socket), with one Compound kept for input:
//
//	if err := in.Unmarshal(pkt); err != nil {
//		return // count it by errors.Is kind
//	}
//	if in.Report == rtcp.TypeSenderReport {
//		rx.ReceivedSenderReport(in.SenderReport.SSRC, in.SenderReport.NTPTime, now)
//	}
//	if b, ok := in.ReportAbout(ourSSRC); ok {
//		tx.ReceivedReport(b, now) // RTT, and the caller's view of our stream
//	}
//	if in.HasGoodbye && in.Goodbye.Has(rx.SSRC()) {
//		// the caller's stream ended on purpose, not a network fault
//	}
//
// Per tick (any periodic wake-up: 20 ms or 250 ms granularity both do), with
// another Compound kept for output:
//
//	if sched.Due(now) {
//		block, haveBlock := rx.ReceptionReport(now)
//		if tx.FillSenderReport(&out.SenderReport, now) {
//			out.Report = rtcp.TypeSenderReport // then AddReport(block)
//		} else {
//			out.Report = rtcp.TypeReceiverReport // SSRC, then AddReport(block)
//		}
//		// SDES chunk with our CNAME, n, _ := out.MarshalTo(buf), write it
//		sched.Sent(n)
//	}
//
// At hang-up, send RR/SR + SDES + BYE at once, then record
// rtcp.Summarize(rx, tx, quality).
//
// The types are not safe for concurrent use and take no locks: each belongs
// to one goroutine. ReceiverStats, the Scheduler and the report building
// belong naturally to the goroutine that reads the socket, which also sees
// the RTCP; SenderStats is updated on the clock goroutine under the
// session's send lock, so the reporting code takes that lock for the short
// FillSenderReport and ReceivedReport calls.
package rtcp
