// Package codec describes the audio codecs hotline negotiates in SDP and
// creates the per-call encoders and decoders that turn 16-bit linear PCM into
// RTP payloads and back.
//
// A [Codec] is an immutable description keyed the way an SDP rtpmap line
// keys it (RFC 4566 section 6, RFC 3551 section 4.5): encoding name, clock
// rate and channel count, plus the RFC 3551 static payload type when there is
// one. The SDP layer finds codecs with [Lookup] and builds offers from
// [Builtin]; the media engine asks the chosen Codec for an [Encoder] and a
// [Decoder] per call leg. Encoders and decoders write into caller-owned
// buffers and never allocate, so they can sit on the 20 ms packet path.
//
// The G.711 codecs (PCMU, PCMA) are implemented with lookup tables computed
// once at package initialisation from the segment algorithm of ITU-T G.711
// (11/1988) Table 1 (A-law) and Table 2 (μ-law). The low-level sample and
// slice functions ([MulawEncode], [EncodeMulaw], ...) are exported for
// callers that handle raw G.711 outside RTP, such as WAV files with format
// tag 6 or 7.
//
// Imports point down: codec depends on the standard library only, and
// media/audio may import codec but not the other way round.
package codec
