// Package media is hotline's RTP engine. An Engine owns the port range, a media clock
// shared by every call and the media metrics; each call leg gets a Session: an RTP
// socket and an RTCP socket, the negotiated codec (G.711, G.722, Opus), an outgoing
// stream paced by the clock (prompts from a Source, silence in between, so the caller
// never hears a gap; DTMF as RFC 4733 events or tones), and the caller's audio played
// out through an adaptive jitter buffer with loss concealment to the in-band DTMF
// detector, the voice activity detector and any number of sinks (recognizers,
// recorders). Digits from RFC 4733, SIP INFO and tones are reported once; RTCP reports
// go both ways and end in a per-call quality summary with an E-model MOS.
//
// Media knows nothing of SIP or flows: the signalling layer configures a Session from
// its offer/answer result (Params, including RemoteRTCP and RTCPMux, and announces
// RTCPAddr with a=rtcp) and the IVR plays Sources, reads Digits and SpeechEvents and
// adds Sinks.
//
// # Who runs what
//
//   - The RTP socket is read either by the session's clock shard or by a receive
//     goroutine of its own (recv.go). Either way handlePacket parses, applies the
//     symmetric RTP policy, pushes audio into the jitter buffer, turns
//     telephone-events into digits, updates the RFC 3550 reception statistics, and
//     hands multiplexed RTCP (RFC 5761) to the RTCP handler. On Linux the shard reads
//     every socket at each tick, before the streams play out, through an io_uring
//     (rxbatch_linux.go, Config.ReceiveBatching): the sockets are raw descriptors the
//     netpoller never sees, arrival times are the kernel's (SO_TIMESTAMPNS), and the
//     tick also does the housekeeping (lost digit ends, RTP timeout). Elsewhere, or
//     with receive_batching off, the receive goroutine does all of that.
//   - The RTCP goroutine (one per session, rtcp.go) reads the RTCP socket.
//   - The engine's clock shards (clock.go, a few goroutines for all calls) tick every
//     20 ms; a session's tick (send.go) emits each frame due, plays out one frame of
//     the caller's audio beside it (playout.go: jitter Pop, decode or conceal, in-band
//     DTMF, VAD, sinks, stereo sinks), and sends an RTCP report when the scheduler says
//     so. No timer or goroutine per call paces anything. On Linux the tick's RTP
//     packets are queued in the shard's io_uring and leave in one submission after
//     the tick (txbatch_linux.go, Config.SendBatching); a session's socket is closed
//     only between two ticks of its shard.
//
// The session goroutines are owned by the session: Close closes the sockets and waits
// for them.
//
// Files: engine.go (Engine, Config, latch policy), session.go (the Session API),
// send.go (the outgoing stream), recv.go (receive loop, symmetric RTP, RTP timeout),
// playout.go (jitter buffer to sinks), sinks.go (Sink, StereoSink, VAD events),
// digits.go (digit routes and merging), dtmfsend.go (SendDigits), rtcp.go (reports and
// Quality), clock.go (the shared media clock), uring_linux.go (the io_uring both use),
// txbatch_linux.go (batched sends), rxbatch_linux.go (batched receives),
// ports.go (port allocator), clip.go (Sources), metrics.go and hostmetrics.go
// (Prometheus series).
//
// The packet paths (Session.tick on the clock goroutine, Session.handlePacket on the
// shard or the receive goroutine, RTCP reports) allocate nothing in steady state and share no lock
// between calls; bench_test.go proves it with b.ReportAllocs for PCMU, G.722 and Opus,
// and TestPacketPathsDoNotAllocate keeps it proven in every test run.
//
// Standards: RTP/RTCP RFC 3550, RTP/AVP profile RFC 3551, telephone-event RFC 4733,
// symmetric RTP RFC 4961, RTP/RTCP multiplexing RFC 5761, RTCP attribute RFC 3605,
// RTCP CNAME RFC 7022, Opus RTP RFC 7587, G.711 Appendix I concealment, ITU-T Q.24 DTMF
// reception, ITU-T G.107 E-model.
package media
