// Package rtp parses and writes the fixed header of RTP packets (RFC 3550
// §5.1) on the media hot path.
//
// The package is deliberately small: it knows the wire layout of one header
// and the serial-number arithmetic that every RTP consumer needs, and nothing
// about sessions, jitter buffers or codecs. Everything here works in place on
// caller-owned buffers, so parsing and writing a packet never allocates:
//
//   - [Header.Unmarshal] decodes the header of a received datagram and returns
//     the payload as a sub-slice of the same buffer, with padding removed.
//   - [Header.MarshalTo] writes a 12-byte header into a caller buffer, so a
//     sender can keep one packet buffer per stream and fill the payload after
//     it.
//   - [IsRTCP] demultiplexes RTP from RTCP on a port shared per RFC 5761.
//   - [SeqLess], [SeqDiff] and [TSLess] compare sequence numbers and
//     timestamps across wrap-around (RFC 3550 Appendix A.1, RFC 1982).
//
// No function in this package panics, whatever the input; malformed packets
// are reported with the exported Err sentinels so callers can count them by
// kind with [errors.Is].
package rtp
