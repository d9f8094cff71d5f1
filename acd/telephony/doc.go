// Package telephony connects the ACD (package acd) to real calls: it makes "a person
// is reachable" true, from a flow's queue node to an agent's SIP phone.
//
//   - Queue is the flow runtime's ivr.Queue (and ivr.QueueInfo) over an *acd.Engine:
//     a queue node's request becomes an acd.Request, and the caller's ivr.QueueLeg
//     becomes an acd.Caller: hold (the node's hold prompt, else music on hold from
//     media/bridge, never silence), announcements and the callback offer through the
//     flow's own prompts, keys from the channel's digits, and on answer a
//     media/bridge.Bridge between the caller's RTP session and the agent's.
//   - SIPAgents makes each agent's acd.Endpoint: Offer looks the agent's phones up in
//     the registrar (Lookup of the AOR of their extension), calls every registered
//     contact at once with sip.Server.Dial (sent to the address the phone registered
//     from, caller ID the caller's number, X-Hotline-Call-ID for the screen-pop),
//     takes the first answer and cancels the other forks, and returns an AgentLeg
//     (Whisper speaks to the agent through a Synthesizer; Hangup is idempotent).
//   - SIPAgents.Watch follows the registrar: an agent whose phone registers gets
//     their Endpoint (acd.Engine.SetEndpoint), one whose last phone unregisters or
//     expires loses it, so the ACD offers calls only to agents who can ring.
//   - Endpoints merges each agent's ways of being reached (SIPAgents.Watch through
//     Source("sip"), the WebRTC softphone through Source("webrtc")) into the one
//     endpoint the ACD rings: both ring at once when both are present, the first
//     answer wins, and one going away never takes the other with it.
//   - Queue.Monitor lets a supervisor listen, whisper or barge: the caller↔agent
//     Bridge becomes a media/bridge.Mixer while they are in, and a Bridge again
//     when they leave.
//   - Queue.Transfer hands the caller on from their agent: blind (the bridge ends
//     with acd.EndTransfer at once: the ACD records TRANSFER, ending the agent's
//     talk time, and queues the caller in a target queue or calls
//     caller.ConnectTransfer, which rings an agent or a number through the
//     TransferDialer with music on hold and bridges them; not answered: back to
//     the queue they came from) or attended (the caller on music on hold while the
//     TransferDialer rings the target, agent and target bridged to consult;
//     CompleteTransfer or the agent hanging up hands the caller over,
//     CancelTransfer or the target leaving brings the agent back). Queue.Refer
//     takes a REFER from an agent's phone (SIPAgents.SetReferHandler) as a blind
//     transfer, or with Replaces as the completion of an attended one, and tells
//     the phone by NOTIFY. The softphone's transfer button ends its leg with
//     EndTransfer, handled the same way.
//
// The interfaces this package consumes (Engine, Dialer, Bindings, Watcher,
// Synthesizer, TransferDialer) are defined here so tests can stand in for them;
// cmd/hotline wires *acd.Engine, *sip.Server, the registrar, the TTS cache and its
// transfer dialer (agenttransfer.go). Every call-related log line carries call_id.
package telephony
