// Package bridge connects call legs' media: a Bridge joins two legs both ways, a
// Mixer joins three or more (each hears the sum of the others who talk to them:
// warm-transfer consults, supervisor listen, whisper and barge), and Music, Loop
// and Player give a waiting caller hold music that never goes silent.
//
// # How a bridge moves audio
//
// A media.Session hands its caller's decoded audio to Sinks and takes what it sends
// from a Source, both on its own 20 ms clock tick (package media). A bridge
// direction is a pipe between two sessions: the speaker's Sink resamples each frame
// to the listener's rate (audio.Resampler, a polyphase FIR) and writes it into a
// bounded single-producer single-consumer ring of samples (ring.go: two atomic
// counters, no lock); the listener's Source reads one frame from the ring on the
// listener's tick. The two sessions may use different codecs, rates and packet
// times; the ring absorbs the phase between their ticks:
//
//   - after an underrun the reader waits for 1.5 frames before reading again, and
//     plays silence meanwhile (never a stall: the listener's stream has no gap);
//   - when more than three frames wait (the listener stalled), the oldest are
//     skipped down to two, so the added delay stays at one to two frames;
//   - a full ring drops the newest samples and counts them.
//
// Neither path allocates or locks in steady state (bench_test.go reports 0
// allocs/frame); the resampler is rebuilt only when a re-INVITE changes a rate.
//
// DTMF: with WithDTMF the keys pressed on one leg (its Digits) are sent to the other,
// so an agent's phone can drive a far IVR and a caller's keys reach the agent. Each
// leg takes them the way its own peer negotiated when it is wrapped in a DigitLeg:
// RFC 4733 telephone-events when its SDP had telephone-event, else SIP INFO
// (application/dtmf-relay, through the leg's InfoSender: *sip.Call) unless the peer
// refused INFO, else in-band tones. A bare Session gets SendDigits in the bridge's
// mode.
//
// Imports point down: bridge knows media and media/audio, nothing of SIP or flows.
package bridge
