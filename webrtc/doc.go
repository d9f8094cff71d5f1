// Package webrtc lets browser callers reach the same flows as phone callers: a
// WebRTC endpoint on pion (DTLS-SRTP, ICE, Opus 48 kHz with in-band FEC and a G.711
// fallback, RFC 4733 digits from the page's RTCDTMFSender), a JSON signalling
// protocol over a WebSocket on the engine's HTTP server, and a click-to-call page
// (/call) in plain HTML and JavaScript embedded in the binary.
//
// # Wiring
//
// cmd builds an Endpoint with New (a Config, the media.Engine, and the Handler
// that runs each call, the flow runtime), mounts it on the HTTP server's mux with
// Register, and calls Close at shutdown. Each browser call is a *Call, which
// satisfies the flow runtime's Channel and CallerAudio: Answer waits for ICE and
// DTLS, Play and Digits go through a media.Session made with
// media.Engine.NewTransportSession, so jitter buffer, concealment (Opus FEC and
// PLC), VAD, sinks and digits are the SIP path's.
//
// # Media
//
// The page offers, the engine answers (JSEP, RFC 8829). The answer names one audio
// codec, the first of the page's offer that the engine speaks (Opus, PCMU, PCMA),
// and the telephone-event of the same clock rate (RFC 4733 §2.1). The session's RTP
// goes out through the call's pion track as the session built it (only the SSRC is
// set to the announced one, so telephone-events keep their payload type); what the
// page sends is read from pion's remote track into Session.DeliverRTP. RTCP is pion's
// (its default interceptors send and read reports). ICE gathers host candidates, and
// server-reflexive and relayed ones through Config.ICEServers; Config.PublicIPs
// replaces the host address announced behind 1:1 NAT; Config.UDPMuxPort puts every
// call on one UDP port. With Config.TURN.Secret, TURN servers get short-lived
// credentials instead of static ones (the TURN REST API scheme coturn checks with
// use-auth-secret: username "<expiry unix time>:<agent or webrtc>", credential
// base64(HMAC-SHA1(secret, username)); see TURNCredentials), made afresh for each
// page's hello or welcome and for the engine's own side of each call.
//
// # Signalling
//
// GET BasePath+"/ws" (default /rtc/ws) upgrades to a WebSocket when the request's
// Origin is allowed (Config.AllowedOrigins; same-origin by default; 403 otherwise).
// One connection carries one call; every message is a JSON object with a "type":
//
//	direction      type       fields                      meaning
//	engine → page  hello      iceServers                  first message: the STUN/TURN servers for RTCPeerConnection
//	page → engine  offer      sdp, to?, from?             place a call: the SDP offer; to is the number (default_called), from the caller (default "webrtc")
//	engine → page  answer     sdp, callId                 the SDP answer (no candidates in it: they trickle)
//	both ways      candidate  candidate                   one RTCIceCandidateInit (candidate, sdpMid, sdpMLineIndex, usernameFragment); null ends gathering
//	page → engine  dtmf       digits                      digits for a page without RTCDTMFSender (0-9 * # A-D, up to 32)
//	page → engine  hangup                                 the caller hangs up; the engine closes the socket
//	engine → page  state      state, callId, reason?      ringing, early (audio before answer), answered, ended (reason: hangup, caller, ice_failed, rtp_timeout, failed, shutdown)
//	engine → page  error      code, message               see below; an error that ends the call is followed by state ended
//
// Error codes: bad_message (not JSON, unknown type, missing field: the message is
// ignored, except an offer without sdp, which ends the connection; a message over
// 64 KiB closes the socket with status 1009),
// bad_sdp (the offer was refused, or a candidate: the call ends / the candidate is
// ignored), busy (max_calls reached, or WithAdmission refused the call), ice_failed
// (no media path within ice_timeout, or lost later), internal. A page that sends no offer within 30 s is disconnected;
// a page that closes its socket hangs up its call.
//
// # Agent softphone
//
// With WithAgents, GET /agent serves the softphone page and BasePath+"/agent/ws"
// (default /rtc/agent/ws) its signalling, with the same Origin rule. The page logs in,
// then opens one PeerConnection for the whole shift with the offer/answer/candidate
// messages above (so answering costs no negotiation); while it is connected the
// softphone is the agent's acd.Endpoint (AgentDesk.SetEndpoint), and an answered
// offer returns an *AgentLeg whose Media is the agent's session, for the bridge.
// cmd/hotline puts the softphone beside the agent's SIP phones
// (acd/telephony.Endpoints): the ACD rings whichever is there, both at once when
// both are. While the agent holds, the bridge hears music on hold (WithHoldMusic,
// the ACD's music_on_hold) from the agent's side and the agent hears nothing of the
// caller; WithWhisper speaks Whisper's text to the agent besides showing it.
//
//	direction      type        fields                   meaning
//	page → engine  login       token                    first message; AgentAuth maps the token to an agent id, else error unauthorized and close
//	engine → page  welcome     agent, iceServers, seconds   logged in; seconds is the wrap-up the page counts down
//	page → engine  presence    presence, reason?        available, or break with a reason (AgentDesk.SetPresence); echoed back when done
//	engine → page  ring        offerId, screenPop, seconds  an offer: the acd.ScreenPop (JSON as acd defines it) and the ring timeout
//	page → engine  accept      offerId                  answer the offer (Offer returns the leg, answered)
//	page → engine  reject      offerId                  decline it (Offer returns rejected)
//	engine → page  cancel      offerId                  the offer is over: rang out, caller gone, another agent answered, or too late
//	engine → page  talking     offerId, callId          the conversation started
//	engine → page  whisper     offerId, text            AgentLeg.Whisper: shown to the agent only (and spoken with WithWhisper)
//	page → engine  mute, hold  on                       the agent's microphone off (the page disables its track) / the caller on hold: music on hold to them
//	page → engine  transfer    to                       ends the conversation with acd.EndTransfer to a queue or number
//	page → engine  hangup                               the agent ends the conversation (AgentLeg.Done, acd.EndAgent)
//	engine → page  call_ended  offerId, reason          the conversation ended (reason: hangup when the engine ended it, agent, transferred, disconnected)
//	engine → page  wrapup      seconds                  after-call work: the page counts down
//	page → engine  ready                                ends the wrap-up early (AgentDesk.Ready)
//
// Closing the tab ends the softphone's media and unregisters the endpoint; a
// conversation in progress ends as if the agent hung up.
//
// # Metrics
//
// hotline_webrtc_calls_total, hotline_webrtc_calls_active,
// hotline_webrtc_ice_failures_total and hotline_webrtc_signalling_errors_total{kind}
// (bad_message, bad_sdp, origin, busy, ice_failed, internal, write, unauthorized),
// registered with WithRegistry.
//
// Files: endpoint.go (Endpoint, pion API), serve.go (signalling loop and offer/answer),
// call.go (Call), signal.go (messages, socket writer, Origin), track.go (codecs, the
// outgoing track), agent.go (the softphone, acd.Endpoint and AgentLeg, hold and
// whisper), turn.go (short-lived TURN credentials), page.go and static/ (the /call
// and /agent pages), metrics.go, config.go.
package webrtc
