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
