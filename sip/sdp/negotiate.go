package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Defaults applied when a [Config] field is left at its zero value.
const (
	// DefaultPtime is the packet time in milliseconds used when neither
	// the config nor the peer states one (RFC 3551 §4.5 default for
	// frame-based and G.711 audio).
	DefaultPtime = 20
	// DTMFPayloadType is the dynamic payload type offered for
	// telephone-event/8000, the value most SIP equipment uses.
	DTMFPayloadType = 101
	// dynamicPTMin and dynamicPTMax bound the dynamic range (RFC 3551 §6).
	dynamicPTMin = 96
	dynamicPTMax = 127
)

// Capability is an audio codec the engine can encode and decode. A slice
// of them, in the engine's preference order, makes [Config.Codecs].
type Capability struct {
	// Name is the encoding name, matched case-insensitively
	// (RFC 4855 §3), e.g. "PCMU", "opus".
	Name string
	// ClockRate is the RTP clock rate in Hz, e.g. 8000 (also for G722).
	ClockRate int
	// Channels is the channel count; 0 means 1.
	Channels int
	// PT is the static payload type to use in offers (0 for PCMU, 8 for
	// PCMA, ...), or -1 to take a dynamic one (96..127).
	PT int
	// Fmtp is the a=fmtp value to offer, e.g. "useinbandfec=1"; optional.
	Fmtp string
}

// DefaultCodecs returns the codecs used when [Config.Codecs] is empty:
// G.711 µ-law then A-law (RFC 3551 §4.5.14), which every SIP peer speaks.
// Each call returns a fresh slice.
func DefaultCodecs() []Capability {
	return []Capability{
		{Name: "PCMU", ClockRate: 8000, Channels: 1, PT: 0},
		{Name: "PCMA", ClockRate: 8000, Channels: 1, PT: 8},
	}
}

// Config is what the engine can do with audio. The zero value is usable:
// G.711 (see [DefaultCodecs]), no DTMF, 20 ms packets, plain RTP.
type Config struct {
	// Codecs are the supported audio codecs in the engine's preference
	// order, used in that order for offers. Empty means [DefaultCodecs].
	Codecs []Capability
	// TelephoneEvent offers and accepts RFC 4733 DTMF. Only a
	// telephone-event format whose clock rate equals the chosen codec's is
	// accepted (RFC 4733 §2.1); 8000 Hz for G.711.
	TelephoneEvent bool
	// Ptime is our packet time in milliseconds, used in offers and when
	// the peer states none. 0 means [DefaultPtime].
	Ptime int
	// Protos are the RTP profiles accepted on audio m-lines. Empty means
	// "RTP/AVP" and "RTP/AVPF": plain RTP, so RTP/SAVP and WebRTC's
	// UDP/TLS/RTP/SAVPF are refused with Warning 302. A trunk that does
	// SDES-SRTP lists "RTP/SAVP" (and "RTP/SAVPF") and sets CryptoSuites.
	Protos []string
	// CryptoSuites are the SDES suites (RFC 4568 §6.2 names) accepted on
	// RTP/SAVP streams. An RTP/SAVP stream is accepted only with an a=crypto
	// line of one of them ([Negotiated.Crypto]); none means no SRTP.
	CryptoSuites []string
	// OfferCrypto, when not empty, makes [Offer] offer RTP/SAVP with these
	// a=crypto lines (our keys, one per suite, RFC 4568 §7.1.1), and
	// [NegotiateAnswer] require the answer to accept one of them.
	OfferCrypto []Crypto
}

// Validate reports every problem in the config at once (joined), or nil.
func (c Config) Validate() error {
	var errs []error
	seenPT := map[int]string{}
	for i, cp := range c.Codecs {
		switch {
		case cp.Name == "":
			errs = append(errs, fmt.Errorf("sdp: codecs[%d]: empty name", i))
		case strings.EqualFold(cp.Name, telephoneEvent):
			errs = append(errs, fmt.Errorf("sdp: codecs[%d]: use TelephoneEvent instead of listing telephone-event", i))
		}
		if cp.ClockRate <= 0 {
			errs = append(errs, fmt.Errorf("sdp: codecs[%d] %s: clock rate must be positive", i, cp.Name))
		}
		if cp.Channels < 0 || cp.Channels > 255 {
			errs = append(errs, fmt.Errorf("sdp: codecs[%d] %s: channels out of range", i, cp.Name))
		}
		switch {
		case cp.PT < -1 || cp.PT > dynamicPTMax:
			errs = append(errs, fmt.Errorf("sdp: codecs[%d] %s: payload type %d out of range -1..127", i, cp.Name, cp.PT))
		case cp.PT >= 0:
			if other, dup := seenPT[cp.PT]; dup {
				errs = append(errs, fmt.Errorf("sdp: codecs[%d] %s: payload type %d already used by %s", i, cp.Name, cp.PT, other))
			}
			seenPT[cp.PT] = cp.Name
		}
	}
	if c.Ptime < 0 || c.Ptime > maxMillis {
		errs = append(errs, fmt.Errorf("sdp: ptime %d ms out of range", c.Ptime))
	}
	for i, p := range c.Protos {
		if p == "" {
			errs = append(errs, fmt.Errorf("sdp: protos[%d]: empty", i))
		}
	}
	return errors.Join(errs...)
}

func (c Config) codecs() []Capability {
	if len(c.Codecs) == 0 {
		return DefaultCodecs()
	}
	return c.Codecs
}

func (c Config) ptime() int {
	if c.Ptime <= 0 {
		return DefaultPtime
	}
	return c.Ptime
}

func (c Config) acceptsProto(proto string) bool {
	if len(c.Protos) == 0 {
		return proto == "RTP/AVP" || proto == "RTP/AVPF"
	}
	for _, p := range c.Protos {
		if p == proto {
			return true
		}
	}
	return false
}

// matches reports whether offered format f is capability c: same name
// (case-insensitive, RFC 4855 §3), clock rate and channel count.
func (c Capability) matches(f Format) bool {
	return f.Name != "" && strings.EqualFold(f.Name, c.Name) &&
		f.ClockRate == c.ClockRate && orOne(f.Channels) == orOne(c.Channels)
}

// isAudio reports whether m is an audio stream; media types are
// registered in lower case, but comparing case-insensitively costs nothing.
func isAudio(m *Media) bool { return strings.EqualFold(m.Type, "audio") }

func orOne(n int) int {
	if n <= 0 {
		return 1
	}
	return n
}

// Negotiated is the outcome of an offer/answer exchange for the one audio
// stream the engine handles: what to send, where, and how.
type Negotiated struct {
	// Codec is the chosen audio format with the payload type to send it
	// with. As answerer it is the offerer's first listed codec that we
	// support (the answerer honours the offerer's order, RFC 3264 §6.1).
	Codec Format
	// DTMF is the telephone-event format at Codec's clock rate with the
	// peer's payload type, nil if not offered or not configured.
	DTMF *Format
	// Remote is where to send RTP. An unspecified address (0.0.0.0 or ::,
	// RFC 2543 hold) means send nothing.
	Remote netip.AddrPort
	// RemoteRTCP is where to send RTCP (RFC 3605 a=rtcp, else Remote's
	// port + 1); invalid if it could not be determined.
	RemoteRTCP netip.AddrPort
	// Direction is OUR direction for the stream. As answerer it is the
	// reverse of the offer's (RFC 3264 §6.1): they sendonly (hold) -> we
	// recvonly; inactive -> inactive.
	Direction Direction
	// Hold reports that the peer put the call on hold: it offered
	// sendonly or inactive (RFC 3264 §8.4) or an unspecified address.
	Hold bool
	// Ptime is the packet time in milliseconds to send with: the peer's
	// a=ptime if given, else the configured one.
	Ptime int
	// MediaIndex is the index of the accepted m= line.
	MediaIndex int
	// Crypto is the peer's SDES key line for an RTP/SAVP stream (RFC 4568):
	// as answerer the first offered line we support, as offerer the line the
	// answer accepted. nil for plain RTP.
	Crypto *Crypto
	// LocalCrypto is our key line: as offerer the offered line the answer
	// accepted (same tag); as answerer the caller sets it, with Crypto's tag
	// and suite and a fresh key, before [Answer] writes it.
	LocalCrypto *Crypto
}

// CanSend reports whether RTP should be sent at all: our direction
// includes sending and the remote address is a real one.
func (n Negotiated) CanSend() bool {
	a := n.Remote.Addr()
	return n.Direction.Sends() && a.IsValid() && !a.IsUnspecified() && n.Remote.Port() != 0
}

// Negotiate chooses how to answer offer (RFC 3264 §6). It accepts the
// first audio m-line that has a non-zero port, an accepted profile and a
// codec in cfg; every other m-line will be rejected by [Answer]. Within
// that stream the codec is the first one the offerer lists that we
// support, and DTMF the first telephone-event at that codec's clock rate.
//
// A re-offer in a re-INVITE (RFC 3264 §8) is negotiated the same way; the
// result may change codec, address or direction (hold and resume).
//
// An RTP/SAVP stream (when cfg.Protos lists it) is accepted only with an
// a=crypto line of one of cfg.CryptoSuites, the offerer's first such line
// becoming [Negotiated.Crypto] (RFC 4568 §7.1.1).
//
// Errors are [*NegotiationError] values wrapping [ErrNoAudio],
// [ErrNoCommonCodec], [ErrNoCrypto] or [ErrAddress]; the caller answers 488
// with the error's Warning.
func Negotiate(offer *Session, cfg Config) (Negotiated, error) {
	if offer == nil {
		return Negotiated{}, negErr(ErrNoAudio, WarnMediaNotAvailable, "no offer")
	}
	codecs := cfg.codecs()
	var (
		sawAudio, sawProto, sawNoCrypto bool
		addrErr                         error
		offered                         []string
	)
	for i := range offer.Media {
		m := &offer.Media[i]
		if !isAudio(m) || m.Port == 0 {
			continue
		}
		sawAudio = true
		if !cfg.acceptsProto(m.Proto) {
			continue
		}
		var crypto *Crypto
		if m.IsSecure() {
			c, ok := chooseCrypto(m.Cryptos(), cfg.CryptoSuites)
			if !ok {
				sawNoCrypto = true
				continue
			}
			crypto = &c
		}
		sawProto = true
		formats := m.RTPFormats()
		codec, ok := chooseCodec(formats, codecs)
		if !ok {
			for _, f := range formats {
				offered = append(offered, f.String())
			}
			continue
		}
		remote, err := offer.AudioAddr(m)
		if err != nil {
			if addrErr == nil {
				addrErr = err
			}
			continue
		}
		their := offer.MediaDirection(m)
		n := Negotiated{
			Codec:      codec,
			Remote:     remote,
			Direction:  their.Reverse(),
			Hold:       their == SendOnly || their == Inactive || remote.Addr().IsUnspecified(),
			Ptime:      m.Ptime(),
			MediaIndex: i,
			Crypto:     crypto,
		}
		if n.Ptime == 0 {
			n.Ptime = cfg.ptime()
		}
		if cfg.TelephoneEvent {
			n.DTMF = chooseDTMF(formats, codec.ClockRate)
		}
		if rtcp, err := offer.RTCPAddr(m); err == nil {
			n.RemoteRTCP = rtcp
		}
		return n, nil
	}
	switch {
	case !sawAudio:
		return Negotiated{}, negErr(ErrNoAudio, WarnMediaNotAvailable, "no audio m-line with a non-zero port")
	case !sawProto && sawNoCrypto:
		return Negotiated{}, negErr(ErrNoCrypto, WarnIncompatibleTransport, "no supported SRTP crypto suite")
	case !sawProto:
		return Negotiated{}, negErr(ErrNoAudio, WarnIncompatibleTransport, "audio transport not supported")
	case addrErr != nil:
		return Negotiated{}, &NegotiationError{Err: ErrAddress, Warn: WarnIncompatibleAddress, Detail: addrErr.Error()}
	}
	return Negotiated{}, negErr(ErrNoCommonCodec, WarnIncompatibleFormat,
		"offered %s, supported %s", strings.Join(offered, " "), capNames(codecs))
}

// chooseCodec returns the first format in formats (the sender's order)
// that is one of codecs.
func chooseCodec(formats []Format, codecs []Capability) (Format, bool) {
	for _, f := range formats {
		if f.isDTMF() {
			continue
		}
		for _, c := range codecs {
			if c.matches(f) {
				return f, true
			}
		}
	}
	return Format{}, false
}

// chooseDTMF returns the first telephone-event format at the given clock
// rate (RFC 4733 §2.1: the event clock matches the audio clock).
func chooseDTMF(formats []Format, rate int) *Format {
	for _, f := range formats {
		if f.isDTMF() && f.ClockRate == rate {
			return &f
		}
	}
	return nil
}

func capNames(codecs []Capability) string {
	names := make([]string, len(codecs))
	for i, c := range codecs {
		names[i] = Format{Name: c.Name, ClockRate: c.ClockRate, Channels: c.Channels}.String()
	}
	return strings.Join(names, " ")
}

// NegotiateAnswer reads the peer's answer to our offer: for an outbound
// call the 200 OK's body, for a late-offer INVITE the ACK's (RFC 3261
// §13.2.1). The codec is the first one in the answer that we offered, with
// the answer's payload type (RFC 3264 §6.1 lets the answerer renumber);
// our direction combines what we offered with the reverse of what the
// peer answered.
//
// The answer must have as many m-lines as the offer (RFC 3264 §6), else
// the error wraps [ErrAnswerMismatch]. If it accepts no audio stream we
// offered the error wraps [ErrNoAudio]; if it picked no codec we offered,
// [ErrNoCommonCodec]. In both cases the caller ends the call with BYE.
func NegotiateAnswer(offer, answer *Session, cfg Config) (Negotiated, error) {
	if offer == nil || answer == nil {
		return Negotiated{}, negErr(ErrAnswerMismatch, WarnMiscellaneous, "missing offer or answer")
	}
	if len(answer.Media) != len(offer.Media) {
		return Negotiated{}, negErr(ErrAnswerMismatch, WarnMiscellaneous,
			"answer has %d m-lines, offer %d", len(answer.Media), len(offer.Media))
	}
	codecs := cfg.codecs()
	sawAudio := false
	for i := range offer.Media {
		om, am := &offer.Media[i], &answer.Media[i]
		if !isAudio(om) || !isAudio(am) || om.Port == 0 || am.Port == 0 {
			continue
		}
		sawAudio = true
		ours, theirs := om.RTPFormats(), am.RTPFormats()
		codec, ok := chooseAnswered(theirs, ours, codecs)
		if !ok {
			continue
		}
		remote, err := answer.AudioAddr(am)
		if err != nil {
			return Negotiated{}, &NegotiationError{Err: ErrAddress, Warn: WarnIncompatibleAddress, Detail: err.Error()}
		}
		offered := offer.MediaDirection(om)
		their := answer.MediaDirection(am)
		n := Negotiated{
			Codec:  codec,
			Remote: remote,
			// RFC 3264 §6.1: we send only if we offered to send and they
			// answered they receive, and the same for receiving.
			Direction:  directionOf(offered.Sends() && their.Receives(), offered.Receives() && their.Sends()),
			Hold:       their == SendOnly || their == Inactive || remote.Addr().IsUnspecified(),
			Ptime:      am.Ptime(),
			MediaIndex: i,
		}
		if n.Ptime == 0 {
			n.Ptime = cfg.ptime()
		}
		if cfg.TelephoneEvent && chooseDTMF(ours, codec.ClockRate) != nil {
			n.DTMF = chooseDTMF(theirs, codec.ClockRate)
		}
		if rtcp, err := answer.RTCPAddr(am); err == nil {
			n.RemoteRTCP = rtcp
		}
		// An RTP/SAVP offer needs an SRTP answer; an RTP/AVP offer with a=crypto
		// ("best effort" SRTP) takes SRTP when the answer carries a=crypto too.
		if om.IsSecure() || (len(om.Cryptos()) > 0 && len(am.Cryptos()) > 0) {
			if om.IsSecure() && !am.IsSecure() {
				return Negotiated{}, negErr(ErrNoCrypto, WarnIncompatibleTransport, "answer dropped SRTP")
			}
			if !answeredCrypto(&n, om.Cryptos(), am.Cryptos()) {
				return Negotiated{}, negErr(ErrNoCrypto, WarnIncompatibleTransport, "answer accepted no offered a=crypto")
			}
		}
		return n, nil
	}
	if !sawAudio {
		return Negotiated{}, negErr(ErrNoAudio, WarnMediaNotAvailable, "answer rejected every audio stream")
	}
	return Negotiated{}, negErr(ErrNoCommonCodec, WarnIncompatibleFormat, "answer chose no codec we offered")
}

// answeredCrypto finds the answer's a=crypto that accepts one of ours: same tag and
// suite (RFC 4568 §7.1.2), with a usable key.
func answeredCrypto(n *Negotiated, ours, theirs []Crypto) bool {
	for _, t := range theirs {
		for _, o := range ours {
			if t.Tag == o.Tag && t.Suite == o.Suite {
				if c, ok := chooseCrypto([]Crypto{t}, []string{o.Suite}); ok {
					n.Crypto, n.LocalCrypto = &c, &o
					return true
				}
			}
		}
	}
	return false
}

// chooseAnswered returns the first answered format that we offered (same
// encoding) and support.
func chooseAnswered(theirs, ours []Format, codecs []Capability) (Format, bool) {
	for _, f := range theirs {
		if f.isDTMF() {
			continue
		}
		for _, c := range codecs {
			if !c.matches(f) {
				continue
			}
			for _, o := range ours {
				if c.matches(o) {
					return f, true
				}
			}
		}
	}
	return Format{}, false
}
