package rtp

// IsRTCP reports whether a datagram received on a port that carries both RTP
// and RTCP (a=rtcp-mux) is RTCP, so the receive loop can hand it to the RTCP
// parser instead of Unmarshal.
//
// RFC 5761 §4: RTCP packet types 192-223 (SR, RR, SDES, BYE, APP, RTPFB,
// PSFB, ...) occupy the octet where RTP has M and PT; with the marker bit
// masked they read as payload types 64-95, which RFC 5761 forbids for RTP on
// a muxed port. IsRTCP also requires version 2 in the first octet, so STUN
// and DTLS datagrams sharing the port (RFC 7983) are never taken for RTCP.
// It returns false for datagrams shorter than two octets.
func IsRTCP(buf []byte) bool {
	if len(buf) < 2 || buf[0]>>6 != Version {
		return false
	}
	pt := buf[1] & 0x7f
	return pt >= 64 && pt <= 95
}
