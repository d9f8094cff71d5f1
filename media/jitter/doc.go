// Package jitter is the adaptive jitter buffer between a call's RTP receive
// goroutine and the media clock that plays the received audio.
//
// Packets leave the sender every 20 ms but arrive unevenly: delayed by
// varying amounts, reordered, duplicated, lost, or in bursts after a stall.
// The receive goroutine calls [Buffer.Push] for each packet as it arrives;
// the shared media clock calls [Buffer.Pop] whenever it needs the next frame.
// Pop always answers with one of three things: a packet to decode, a Lost
// frame to conceal (decoder PLC for Opus, with [Frame.Next] for in-band FEC;
// the plc package for G.711 and G.722), or Silence (nothing was expected).
//
// # Playout model
//
// Pop calls are the playout clock: inside a talkspurt every call plays the
// next frame in timestamp order, so the receiver never drifts against its
// own clock. A talkspurt (the first packet, the first after a silence gap,
// the first of a new stream) starts at the first Pop that finds its first
// packet at least the target delay older than its expected arrival:
//
//	transit_i  = arrival_i - timestamp_i                (RFC 3550 §6.4.1, in RTP clock units)
//	anchor     = smoothed transit (average of the first 16 packets, then a
//	             Huber-clipped mean with gain 1/16, so a burst after a stall
//	             barely moves it)
//	start when now - timestamp - anchor >= target
//
// # Delay adaptation
//
// The jitter J is the RFC 3550 A.8 estimator, J += (|D(i-1,i)| - J)/16,
// where D is the difference of consecutive transit times, updated for
// every packet in arrival order (late ones included). The target delay is
//
//	target = clamp(frame + 2·J, MinDelay, MaxDelay)
//
// raised at once when that value is higher and lowered with a 2 s time
// constant when it is lower, so it follows the upper envelope of recent
// jitter. Playout moves to the target only where that cannot be heard:
//
//   - at talkspurt boundaries (a silence-suppression gap: timestamps jump
//     while sequence numbers continue, usually with the marker bit,
//     RFC 3551 §4.1), where the next talkspurt simply starts earlier or
//     later;
//   - upward inside a talkspurt only on a frame that must be concealed
//     anyway: when a packet is missing and the delay is more than half a
//     frame below target, the Lost frame is inserted instead of skipping
//     the packet (at most once per packet), so a late packet still plays.
//     This is how a continuous stream without silence suppression adapts;
//   - downward inside a talkspurt only when the caller's voice activity
//     detector reports silence ([Buffer.SetQuiet]): one queued frame per
//     Pop is skipped until the delay is within a frame of the target;
//   - on overflow: more than MaxDelay of audio queued drops the oldest
//     packets, and a talkspurt that starts behind a backlog (after a stall
//     or a stream switch) skips packets that are already two frames past
//     due.
//
// # Loss, lateness and streams
//
// A missing sequence number with a later packet buffered is Lost, exactly
// at its timestamp. With nothing buffered, loss and a pause cannot be told
// apart until the next packet arrives, so Pop conceals for at most
// MaxConceal (60 ms, when G.711 Appendix I has faded to silence anyway)
// and then reports Silence; the sequence number is not advanced, so a
// talkspurt that resumes after a pause is not mistaken for late packets.
// Duplicates are recognised with a 64-packet window (as SRTP's replay list,
// RFC 3711 §3.3.2). Sequence numbers and timestamps are compared modulo
// 2^16 and 2^32 ([rtp.SeqLess], [rtp.TSLess]), so both wrap freely.
//
// A new SSRC starts a new stream at once; the old stream's buffered packets
// play out first, so a switch costs no audio, and stragglers of the old SSRC
// arriving within MaxDelay are dropped as late. A sequence jump beyond RFC
// 3550 Appendix A.1's limits (3000 ahead, 100 behind) is believed when the
// next packet confirms it, and a transit time more than max(1 s,
// 2·MaxDelay) from the anchor means the sender's timestamps jumped, as does
// a talkspurt start (marker bit) stamped before what was already played;
// all three resynchronise as a new stream. The first frame of every stream carries
// [Frame.NewStream] so a stateful decoder can be reset.
//
// # Use
//
// One Buffer per received stream, created with the stream's clock rate and
// ptime. Push and Pop may run concurrently (one pusher, one popper): the
// Buffer has its own mutex, held for well under a microsecond. Payloads are
// copied into slots preallocated by [New]; neither Push nor Pop allocates.
// [Buffer.Stats] feeds RTCP receiver reports (the A.8 jitter in timestamp
// units), metrics and the call record.
//
// Imports point down: jitter uses the standard library and media/rtp only.
package jitter
