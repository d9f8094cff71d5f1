package webrtc_test

import (
	"github.com/hotline-ivr/hotline/acd"
	"github.com/hotline-ivr/hotline/acd/telephony"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/webrtc"
)

// A browser call runs the same flows as a SIP call: it is a Channel, and it hands
// the runtime the caller's audio for speech nodes and recordings.
var (
	_ ivr.Channel     = (*webrtc.Call)(nil)
	_ ivr.CallerAudio = (*webrtc.Call)(nil)
	// The ACD engine is the softphone's desk; an answered softphone is an acd.Leg.
	_ webrtc.AgentDesk = (*acd.Engine)(nil)
	_ acd.Leg          = (*webrtc.AgentLeg)(nil)
	// acd/telephony bridges a queued caller to it (media/bridge).
	_ telephony.MediaLeg = (*webrtc.AgentLeg)(nil)
)
