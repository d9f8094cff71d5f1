package sip

// Refusal is an INVITE the server answered with a final error before a call
// existed, once it had passed the inbound policy (a known trunk, an authenticated
// or trusted source): a caller who reached the engine and was turned away. The
// engine writes a call record for it, so "what happened to this call" has an
// answer for the callers that overload, a wrong number or a media mismatch sent
// away. INVITEs refused by the policy itself (403, bans) are not reported: those
// are scanners and floods, counted in hotline_sip_inbound_rejected_total.
type Refusal struct {
	Info   Info   // what the INVITE said: caller, called, trunk, transport, source
	Status int    // the final response sent: 404, 415, 400, 488, 503
	Reason string // why, a bounded token: no_route, overload, not_sdp, malformed_sdp, no_acceptable_media, no_media_resources, srtp
}

// WithRefusedCalls reports every Refusal to fn. fn runs on the SIP path: it must
// return at once (queue the refusal, never wait) and must not call back into the
// server.
func WithRefusedCalls(fn func(Refusal)) Option {
	return func(s *Server) { s.onRefused = fn }
}

// refuse reports a Refusal, when WithRefusedCalls asked for them.
func (s *Server) refuse(info Info, status int, reason string) {
	if s.onRefused != nil {
		s.onRefused(Refusal{Info: info, Status: status, Reason: reason})
	}
}
