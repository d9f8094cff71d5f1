package media

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-ivr/hotline/media/srtp"
)

// SDES-SRTP (RFC 4568, RFC 3711) on a session's own sockets: when Params.SRTP is set,
// writeRTP and sendReport protect each packet in place just before the socket write,
// and handlePacket and handleRTCP unprotect it in place just after the read, before
// anything else looks at it (so the symmetric RTP latch only follows authenticated
// packets). Packets that fail are dropped and counted in hotline_srtp_errors_total
// {reason}: auth (wrong key, tampering, or plain RTP on an SRTP call), replay, short,
// and rtcp_auth, rtcp_replay, rtcp_short for SRTCP. Transport sessions (WebRTC) have
// DTLS-SRTP in their carrier and refuse Params.SRTP.

// SRTPKeys are a call's SDES master keys. Local is ours (the a=crypto we sent, which
// we protect our packets with, RFC 4568 §6.1); Remote is the peer's (its a=crypto,
// which its packets are protected with). The suites may differ per direction.
type SRTPKeys struct {
	Local, Remote srtp.Keying
}

// srtpCounters are hotline_srtp_errors_total's children, resolved once.
type srtpCounters struct {
	auth, replay, short             prometheus.Counter
	rtcpAuth, rtcpReplay, rtcpShort prometheus.Counter
}

func newSRTPCounters() (*prometheus.CounterVec, srtpCounters) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_srtp_errors_total",
		Help: "SRTP and SRTCP packets dropped because they failed authentication, were replayed or were too short, by reason.",
	}, []string{"reason"})
	return v, srtpCounters{
		auth: v.WithLabelValues("auth"), replay: v.WithLabelValues("replay"), short: v.WithLabelValues("short"),
		rtcpAuth: v.WithLabelValues("rtcp_auth"), rtcpReplay: v.WithLabelValues("rtcp_replay"),
		rtcpShort: v.WithLabelValues("rtcp_short"),
	}
}

// srtpState is one Configure's crypto contexts: tx protects what we send, rx
// unprotects what the caller sends.
type srtpState struct {
	tx, rx *srtp.Context
}

// configureSRTP sets sp's contexts: each direction's context of old when that
// direction's key did not change (a re-INVITE keeps the rollover counters and replay
// lists), else a new one. Keeping the send context matters beyond continuity: a new
// context with the same key would restart the SRTCP index and reuse keystream.
func configureSRTP(sp, old *sessionParams) error {
	k := sp.SRTP
	if k == nil {
		return nil
	}
	if !k.Local.Valid() || !k.Remote.Valid() {
		return errors.New("media: SRTP keys without a suite")
	}
	keys := *k // our copy: the caller's struct may change after Configure
	sp.SRTP = &keys
	st := &srtpState{}
	if old != nil && old.SRTP != nil && old.srtp != nil {
		if old.SRTP.Local == keys.Local {
			st.tx = old.srtp.tx
		}
		if old.SRTP.Remote == keys.Remote {
			st.rx = old.srtp.rx
		}
	}
	var err error
	if st.tx == nil {
		if st.tx, err = srtp.NewContext(keys.Local); err != nil {
			return fmt.Errorf("media: SRTP send context: %w", err)
		}
	}
	if st.rx == nil {
		if st.rx, err = srtp.NewContext(keys.Remote); err != nil {
			return fmt.Errorf("media: SRTP receive context: %w", err)
		}
	}
	sp.srtp = st
	return nil
}

// srtpDrop counts a packet that failed to unprotect, for the call record and the
// metric; rtcp selects the SRTCP reasons.
func (s *Session) srtpDrop(err error, rtcp bool) {
	c := &s.eng.metrics.srtp
	var reason prometheus.Counter
	switch {
	case errors.Is(err, srtp.ErrReplay) && rtcp:
		reason = c.rtcpReplay
	case errors.Is(err, srtp.ErrReplay):
		reason = c.replay
	case errors.Is(err, srtp.ErrShort) && rtcp:
		reason = c.rtcpShort
	case errors.Is(err, srtp.ErrShort):
		reason = c.short
	case rtcp:
		reason = c.rtcpAuth
	default:
		reason = c.auth
	}
	s.garbage(reason)
}
