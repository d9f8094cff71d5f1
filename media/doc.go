// Package media is hotline's RTP engine. An Engine owns the RTP port range, a media
// clock shared by every call and the media metrics; each call leg gets a Session: one
// UDP socket, the negotiated codec, an outgoing stream paced by the clock (prompts from
// a Source, silence in between, so the caller never hears a gap) and a receive loop
// that reports DTMF digits exactly once and notices when the caller's RTP stops.
//
// Media knows nothing of SIP or flows: the signalling layer configures a Session from
// its offer/answer result (Params) and the IVR plays Sources and reads Digits.
//
// Files: engine.go (Engine, Config, latch policy), session.go (the Session API),
// send.go (the outgoing stream), recv.go (receive loop, symmetric RTP, RTP timeout),
// clock.go (the shared media clock), ports.go (port allocator), clip.go (Sources),
// metrics.go (Prometheus series).
//
// The packet paths (Session.tick on the clock goroutine, Session.handlePacket on the
// receive goroutine) allocate nothing in steady state and share no lock between calls;
// bench_test.go proves it with b.ReportAllocs and TestPacketPathsDoNotAllocate keeps it
// proven in every test run.
//
// Standards: RTP RFC 3550, RTP/AVP profile RFC 3551, telephone-event RFC 4733,
// symmetric RTP RFC 4961, RTP/RTCP multiplexing RFC 5761.
package media
