package rtp

// Sequence numbers (16 bits) and timestamps (32 bits) wrap around, so a plain
// "<" misorders packets at the wrap: 65535 comes before 0. The functions below
// use serial number arithmetic (RFC 1982), the same modular difference that
// RFC 3550 Appendix A.1 computes as udelta = seq - max_seq: b is after a when
// b-a, taken modulo 2^n, lies in the lower half of the number space.
//
// Exactly half-way apart (2^(n-1)) is ambiguous: SeqLess and TSLess report
// false in both directions and SeqDiff reports -32768.

// SeqLess reports whether sequence number a comes before b modulo 2^16, so
// that SeqLess(65535, 0) is true. Use it to order packets in a jitter buffer
// or to detect duplicates and late arrivals.
func SeqLess(a, b uint16) bool {
	return int16(b-a) > 0
}

// SeqDiff returns the signed distance b-a between two sequence numbers,
// in [-32768, 32767], taking the shorter way round the 16-bit circle:
// SeqDiff(65535, 1) is 2 and SeqDiff(1, 65535) is -2. A positive value is the
// number of packets from a forward to b (a gap of SeqDiff-1 lost packets when
// b is the next arrival after a); a negative value means b is late.
func SeqDiff(a, b uint16) int {
	return int(int16(b - a))
}

// TSLess reports whether RTP timestamp a comes before b modulo 2^32. RTP
// timestamps start at a random value (RFC 3550 §5.1) and wrap after 2^32
// clock ticks (about 6.2 days at 8 kHz, 24.9 hours at 48 kHz), so timestamps
// must be compared with TSLess rather than "<".
func TSLess(a, b uint32) bool {
	return int32(b-a) > 0
}
