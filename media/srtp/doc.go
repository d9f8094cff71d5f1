// Package srtp protects and unprotects RTP and RTCP packets in place with the SRTP
// crypto suites that SDES (RFC 4568) negotiates for SIP trunks:
// AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (RFC 3711 §4, RFC 4568 §6.2).
//
// The engine's media sessions send and receive plain RTP on their own sockets; when
// the signalling agreed SDES keys, each session owns two Contexts: one keyed with our
// master key (what we send, RFC 4568 §6.1: each side's a=crypto is the key it sends
// with) and one keyed with the peer's. Protect and Unprotect work in the caller's
// buffer and allocate nothing, so the per-packet cost is the cipher and the MAC.
//
// What is implemented, by RFC 3711 section: the AES counter mode keystream (§4.1.1),
// HMAC-SHA1 authentication truncated to 80 or 32 bits (§4.2.1; SRTCP always 80),
// key derivation with a key derivation rate of 0 (§4.3), the rollover counter
// estimate of Appendix A, a 64-packet replay list per source (§3.3.2) and SRTCP with
// its E flag and 31-bit index (§3.4). Not implemented: MKI, key derivation rates other
// than 0, AES-f8, the AEAD suites and master key lifetimes (a call never sends 2^31
// packets).
//
// Keys are secrets: Keying's String and LogValue print the suite only, so a Params
// logged by mistake does not leak them.
package srtp
