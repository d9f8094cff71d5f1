// Package audio holds the PCM helpers that sit between files, synthesizers
// and the real-time media path: reading and writing WAV files, converting
// sample rates, and measuring and generating signals.
//
// Everything here works on mono signed 16-bit PCM ([]int16) because that is
// what every codec in media/codec consumes and produces. ReadWAV accepts the
// WAV variants found in practice (8/16/24/32-bit integer, float, G.711,
// WAVE_FORMAT_EXTENSIBLE, any channel count, streamed headers such as
// espeak-ng --stdout writes) and downmixes them to mono; WriteWAV and
// WAVHeader produce the canonical 44-byte 16-bit PCM form that every tool
// reads, so a recording stays playable even if the process dies before the
// header is rewritten.
//
// The Resampler is a polyphase windowed-sinc FIR for any rational ratio. It
// keeps its state between calls so a call leg can stream 20 ms frames
// through it without allocating, and Resample wraps it for whole clips with
// the filter delay removed.
//
// RMS, DBFS, Tone and Mix are small level helpers used by the VAD, the
// mixer and tests.
//
// The package depends only on the standard library and media/codec.
package audio
