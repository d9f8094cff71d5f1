// Package sip is hotline's SIP user agent server: it answers inbound calls (RFC 3261)
// on UDP, TCP and TLS, negotiates their audio with package sdp (offer/answer, RFC
// 3264, SDES-SRTP of RFC 4568 on TLS trunks) and hands each one, with its
// media.Session, to a Handler as a Call. It places outbound calls, directly or
// through trunks (TLS trunks verified per trunk, trunktls.go), and bounds inbound
// stream connections against slow-loris (connlimit.go).
//
// The layers follow the protocol. sipgo (github.com/emiago/sipgo) parses messages
// and runs the transactions (RFC 3261 §17); this package is the transaction user and
// keeps its own dialog layer: one Call per INVITE dialog, found by Call-ID and tags
// (§12). A Call owns what the transaction layer does not: retransmitting a 2xx until
// its ACK (§13.3.1.4), the offer/answer state across re-INVITEs (RFC 3264 §8), the
// route set and CSeq ordering of the dialog (§12.2), and the BYE that ends it (§15).
//
// Lifecycle of a call: NewServer, Listen and Serve start the server; an initial
// INVITE that passes its checks gets 100 Trying and a Call, and the Handler runs on
// its own goroutine with a context that ends when the call ends, whoever ended it.
// The handler rings (Ring, EarlyMedia), answers (Answer returns once the ACK
// arrived), plays prompts and reads digits, and hangs up; a handler that returns
// with the call still up hangs it up (480 before the answer, BYE after). Server.Close
// hangs up every call and waits for every goroutine it started.
//
// Timers are per server (Config.T1, T2, AckTimeout): sipgo's package-level timers
// are process-global and this package never changes them.
package sip
