// Package codec describes the audio codecs hotline negotiates in SDP and
// creates the per-call encoders and decoders that turn 16-bit linear PCM into
// RTP payloads and back.
//
// A [Codec] is an immutable description keyed the way an SDP rtpmap line
// keys it (RFC 4566 section 6, RFC 3551 section 4.5): encoding name, clock
// rate and channel count, plus the RFC 3551 static payload type when there is
// one. The SDP layer finds codecs with [Lookup], builds offers from [All] (or
// from a configured list through [ByNames]) and answers in the caller's
// order; the media engine asks the chosen Codec for an [Encoder] and a
// [Decoder] per call leg. Encoders and decoders write into caller-owned
// buffers and never allocate, so they can sit on the 20 ms packet path.
//
// # Codecs
//
// In default offer order ([All]):
//
//   - [Opus] (RFC 6716, RTP payload RFC 7587): mono 48 kHz through libopus,
//     dynamic payload type, rtpmap "opus/48000/2" (the channel count is
//     always 2 in SDP, section 7). VoIP mode at 24 kbit/s by default with
//     in-band FEC and DTX; [NewOpus] and [OpusOptions] change that.
//   - [G722] (ITU-T G.722 mode 1, RFC 3551 section 4.5.2): 16 kHz wideband
//     sub-band ADPCM at 64 kbit/s, static payload type 9, in pure Go. Its
//     rtpmap clock rate is 8000, not 16000: RFC 1890 got it wrong and every
//     implementation kept the mistake, so ClockRate (8000, for timestamps)
//     and SampleRate (16000, for PCM) differ, and a 20 ms packet carries 320
//     samples, 160 octets and advances the timestamp by 160.
//   - [PCMU] and [PCMA] (ITU-T G.711 μ-law and A-law, static payload types 0
//     and 8): 8 kHz, one octet per sample, implemented with lookup tables
//     computed once at package initialisation from the segment algorithm
//     of G.711 (11/1988) Table 1 (A-law) and Table 2 (μ-law). The
//     low-level sample and slice functions ([MulawEncode], [EncodeMulaw],
//     ...) serve callers that handle raw G.711 outside RTP, such as WAV
//     files with format tag 6 or 7.
//
// [Builtin] still returns only PCMU and PCMA, as it did before the wideband
// codecs existed.
//
// # Frame sizes and buffers
//
// Every Encoder codes one frame per call. G.711 and G.722 take any whole
// number of samples (G.722 an even number); Opus takes 10, 20, 40 or 60 ms
// and reports that through [FrameSizer], so check an SDP ptime with
// [ValidPtime] before choosing it (Opus cannot do 30 ms). A Decoder needs
// room for the whole packet: two samples per octet for G.722, one for
// G.711, and for Opus up to [OpusMaxFrameSamples] (120 ms), because a peer
// may send packets longer than the negotiated ptime. Buffers that are too
// small give [ErrShortBuffer], unsupported frame lengths [ErrFrameSize] and
// malformed payloads [ErrInvalidPayload], all without allocating.
//
// # Packet loss and DTX
//
// A Decoder may implement [Concealer] (fill a lost frame by extrapolation)
// and [FECDecoder] (recover a lost frame from the redundancy in the packet
// after it); the jitter buffer type-asserts them and falls back to its own
// concealment otherwise. The Opus decoder implements both, through libopus.
// For a loss of N samples followed by packet P, call DecodeFEC(dst[:N], P)
// and then Decode(dst, P) as usual. With DTX (RFC 7587 section 3.1.3) the
// Opus encoder returns one- or two-byte payloads in silence, which a sender
// may skip while still advancing the RTP timestamp; the receiver sees a
// timestamp jump without a sequence gap and should fill it with Conceal
// (libopus fades to the background level the last packets carried), not
// count it as loss. Decoding such a tiny payload, or an empty one, also yields a
// frame of concealment.
//
// # Dependencies
//
// Imports point down: codec depends on the standard library and
// github.com/hraban/opus, the cgo binding to libopus (pkg-config packages
// opus and opusfile), and media/audio may import codec but not the other
// way round. A build without cgo still compiles: it leaves Opus out of
// [All], [Lookup] and [ByNames], and its constructors fail.
package codec
