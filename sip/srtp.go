package sip

import (
	"fmt"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/hotline-ivr/hotline/media"
	"github.com/hotline-ivr/hotline/media/srtp"
	"github.com/hotline-ivr/hotline/sip/sdp"
)

// SDES-SRTP (RFC 4568) on inbound trunks. A trunk with srtp: optional or required
// that reached us over TLS accepts RTP/SAVP offers carrying an a=crypto line of a
// suite media/srtp implements (the offerer's first such line, RFC 4568 §7.1.1); the
// answer echoes its tag and suite with a fresh random key of ours, and the media
// session gets both keys: ours to protect what we send, theirs to unprotect what they
// send (RFC 4568 §6.1). Required trunks accept nothing else (plain RTP/AVP offers and
// INVITEs without an offer get 488); optional ones also accept plain RTP. Without TLS
// the keys would cross the network in clear text, so SRTP is never accepted there.
// Keys are never logged: sdp.Crypto and srtp.Keying print without them.

// srtpOffWord is how a trunk's srtp key may say off explicitly.
const srtpOffWord = "off"

// srtpSuites are the SDP names of the suites media/srtp implements, in its order.
var srtpSuites = func() []string {
	out := make([]string, len(srtp.Suites))
	for i, s := range srtp.Suites {
		out[i] = s.String()
	}
	return out
}()

// inviteSDPConfig is the server's SDP config, widened to RTP/SAVP with SDES for a
// call that came over TLS from a trunk that does SRTP.
func (s *Server) inviteSDPConfig(t *inTrunk, req *gosip.Request) sdp.Config {
	cfg := s.sdpConfig()
	if t == nil || transportOf(req) != "tls" {
		return cfg
	}
	switch t.cfg.SRTP {
	case SRTPRequired:
		cfg.Protos = []string{"RTP/SAVP", "RTP/SAVPF"}
	case SRTPOptional:
		cfg.Protos = []string{"RTP/SAVP", "RTP/SAVPF", "RTP/AVP", "RTP/AVPF"}
	default:
		return cfg
	}
	cfg.CryptoSuites = srtpSuites
	return cfg
}

// answerCrypto checks the peer's chosen key and draws ours for the answer
// (neg.LocalCrypto), when the negotiated stream is SRTP. The error is a
// NegotiationError (488, Warning 302) and does not quote the key.
func answerCrypto(neg *sdp.Negotiated) error {
	if neg.Crypto == nil {
		return nil
	}
	suite := srtp.ParseSuite(neg.Crypto.Suite)
	if _, err := srtp.ParseInline(suite, neg.Crypto.KeySalt); err != nil {
		return &sdp.NegotiationError{Err: sdp.ErrNoCrypto, Warn: sdp.WarnIncompatibleTransport, Detail: err.Error()}
	}
	k, err := srtp.NewKeying(suite)
	if err != nil {
		return fmt.Errorf("sip: SRTP key: %w", err)
	}
	neg.LocalCrypto = &sdp.Crypto{Tag: neg.Crypto.Tag, Suite: neg.Crypto.Suite, KeySalt: k.Inline(), Keys: 1}
	return nil
}

// srtpKeys turns the negotiated key lines into the media session's keys, nil for
// plain RTP.
func srtpKeys(neg *sdp.Negotiated) (*media.SRTPKeys, error) {
	if neg.Crypto == nil || neg.LocalCrypto == nil {
		return nil, nil
	}
	remote, err := srtp.ParseInline(srtp.ParseSuite(neg.Crypto.Suite), neg.Crypto.KeySalt)
	if err != nil {
		return nil, fmt.Errorf("sip: peer's SRTP key: %w", err)
	}
	local, err := srtp.ParseInline(srtp.ParseSuite(neg.LocalCrypto.Suite), neg.LocalCrypto.KeySalt)
	if err != nil {
		return nil, fmt.Errorf("sip: our SRTP key: %w", err)
	}
	return &media.SRTPKeys{Local: local, Remote: remote}, nil
}

// sdpConfig is the call's SDP config: the server's, widened for SRTP when the call
// came over TLS from (or goes to) a trunk that does SRTP. It never changes during
// the call, so re-INVITEs are held to the same policy.
func (c *Call) sdpConfig() sdp.Config {
	if c.sdpCfg != nil {
		return *c.sdpCfg
	}
	return c.srv.sdpConfig()
}

// offerSDP builds an offer of ours (an outbound INVITE, a late-offer answer, the
// answer to an empty re-INVITE). A call that does SRTP offers the key it uses now
// (RFC 4568 §7.1.4: an unchanged key keeps the SRTP context of that direction); an
// outbound call not yet negotiated offers the key drawn for it. A trunk with srtp:
// optional offers the a=crypto line on RTP/AVP ("best effort": a peer without SRTP
// answers plain RTP). Callers hold c.mu (or own the call alone).
func (c *Call) offerSDP(dir sdp.Direction) *sdp.Session {
	cfg := c.sdpConfig()
	if c.neg.Crypto != nil && c.neg.LocalCrypto != nil {
		cfg.OfferCrypto = []sdp.Crypto{*c.neg.LocalCrypto}
	} else if !c.outbound || c.neg.Codec.Name != "" {
		cfg.OfferCrypto = nil // a call that negotiated plain RTP stays plain
	}
	off := sdp.Offer(cfg, c.localMediaAddr(), c.nextOrigin(), dir)
	if c.bestEffort && len(off.Media) > 0 {
		off.Media[0].Proto = "RTP/AVP"
	}
	return off
}

// outboundSRTP sets an outbound call's SDP config for its trunk's SRTP policy: a
// fresh key of ours (AES_CM_128_HMAC_SHA1_80) offered under tag 1.
func (c *Call) outboundSRTP(t *trunk) error {
	if t == nil || t.cfg.SRTP == SRTPOff {
		return nil
	}
	k, err := srtp.NewKeying(srtp.AES_CM_128_HMAC_SHA1_80)
	if err != nil {
		return fmt.Errorf("sip: SRTP key: %w", err)
	}
	cfg := c.srv.sdpConfig()
	cfg.CryptoSuites = srtpSuites
	cfg.OfferCrypto = []sdp.Crypto{{Tag: 1, Suite: k.Suite.String(), KeySalt: k.Inline(), Keys: 1}}
	if t.cfg.SRTP == SRTPRequired {
		cfg.Protos = []string{"RTP/SAVP", "RTP/SAVPF"}
	} else {
		cfg.Protos = []string{"RTP/SAVP", "RTP/SAVPF", "RTP/AVP", "RTP/AVPF"}
		c.bestEffort = true
	}
	c.sdpCfg = &cfg
	return nil
}

// checkSRTPAnswer holds an outbound call's negotiated answer to its trunk's
// policy: with srtp: required the answer must have accepted our a=crypto.
func (c *Call) checkSRTPAnswer(neg *sdp.Negotiated) error {
	if c.trunk != nil && c.trunk.cfg.SRTP == SRTPRequired && neg.Crypto == nil {
		return fmt.Errorf("trunk %s requires SRTP: %w", c.trunk.cfg.Name, &sdp.NegotiationError{Err: sdp.ErrNoCrypto,
			Warn: sdp.WarnIncompatibleTransport, Detail: "answer without a=crypto"})
	}
	return nil
}

// reanswerCrypto picks our key line for the answer to a re-offer on an SRTP call
// (RFC 4568 §7.1.4): when the peer kept its key and suite we keep ours (the SRTP
// contexts carry on, their rollover counters intact); when it changed them, or the
// call was plain until now, we draw a fresh key. The tag is the re-offer's.
func reanswerCrypto(neg *sdp.Negotiated, prev sdp.Negotiated) error {
	if neg.Crypto == nil {
		return nil
	}
	if prev.Crypto != nil && prev.LocalCrypto != nil && prev.Crypto.Suite == neg.Crypto.Suite &&
		prev.Crypto.KeySalt == neg.Crypto.KeySalt && prev.LocalCrypto.Suite == neg.Crypto.Suite {
		neg.LocalCrypto = &sdp.Crypto{Tag: neg.Crypto.Tag, Suite: neg.Crypto.Suite, KeySalt: prev.LocalCrypto.KeySalt, Keys: 1}
		return nil
	}
	return answerCrypto(neg)
}
