// Package sdp parses, builds and negotiates Session Description Protocol
// bodies for hotline's SIP user agent.
//
// The engine terminates calls, so it plays both roles of the SDP
// offer/answer model (RFC 3264):
//
//   - answerer, for an inbound INVITE that carries an offer: [Parse] the
//     body, [Negotiate] it against the engine's [Config], then send the
//     session built by [Answer] in the 200 OK. A [*NegotiationError] tells
//     the SIP layer to reply 488 Not Acceptable Here with a Warning header.
//   - offerer, for an outbound call or an INVITE without a body (late
//     offer): send the session built by [Offer], then pass the peer's answer
//     (in the 200 OK or the ACK) to [NegotiateAnswer].
//
// A re-INVITE from the same peer (hold, resume, codec change) is negotiated
// exactly like an initial offer (RFC 3264 §8). Keep one [OriginState] per
// dialog and [OriginState.Stamp] every description sent, so the o= version
// increases by one only when the description changes.
//
// The model follows RFC 8866 (which obsoletes RFC 4566) closely enough to
// round-trip: what [Parse] accepts, [Session.Marshal] writes back in the
// canonical line order and Parse reads to an equal value. Unknown attributes
// are kept verbatim. Static RTP payload types resolve through the RFC 3551
// table, and DTMF uses telephone-event (RFC 4733) at the codec's clock rate.
//
// Nothing in this package does I/O, keeps global state or panics on input;
// every value is safe to use from one goroutine at a time.
package sdp
