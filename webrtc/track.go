package webrtc

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/hotline-ivr/hotline/media/codec"
)

// Codecs the endpoint negotiates, in our order of preference: Opus 48 kHz with in-band
// FEC (RFC 7587 §6.1 useinbandfec), then G.711 (RFC 3551). telephone-event (RFC 4733)
// is registered at both clock rates, since its rate must be the audio codec's (§2.1).
// The payload types are the ones Chrome offers, but any the page offers are kept:
// pion answers with the offerer's numbers.
var (
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}
	pcmuCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000},
		PayloadType:        0,
	}
	pcmaCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000},
		PayloadType:        8,
	}
	dtmf48Codec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 48000, SDPFmtpLine: "0-15"},
		PayloadType:        110,
	}
	dtmf8Codec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTelephoneEvent, ClockRate: 8000, SDPFmtpLine: "0-15"},
		PayloadType:        126,
	}
)

const mimeTelephoneEvent = "audio/telephone-event"

// errNoCodec is returned when the page offered no audio codec we speak.
var errNoCodec = errors.New("webrtc: no common audio codec (want opus/48000/2, PCMU or PCMA)")

// newMediaEngine registers the codecs above; Opus only when media/codec has it (a
// build without cgo has no libopus), so the answer never names a codec we cannot code.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	list := []webrtc.RTPCodecParameters{pcmuCodec, pcmaCodec, dtmf8Codec}
	if _, ok := codec.Lookup("opus", 48000, 2); ok {
		list = append([]webrtc.RTPCodecParameters{opusCodec}, append(list, dtmf48Codec)...)
	}
	for _, c := range list {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("webrtc: registering %s: %w", c.MimeType, err)
		}
	}
	return m, nil
}

// negotiated is the media both sides agreed on, from the transceiver's codecs.
type negotiated struct {
	codec   codec.Codec
	pt      uint8
	dtmfPT  int // -1 without telephone-event at the codec's clock rate
	rtpName string
}

// chooseCodec picks the first audio codec of the negotiated list (the offerer's
// order, filtered by ours) and the telephone-event of the same clock rate. Bind and
// the session configuration both use it, so what pion announces and what the
// session sends agree.
func chooseCodec(list []webrtc.RTPCodecParameters) (negotiated, webrtc.RTPCodecParameters, error) {
	for _, p := range list {
		name, ok := strings.CutPrefix(strings.ToLower(p.MimeType), "audio/")
		if !ok || name == "telephone-event" {
			continue
		}
		c, ok := codec.Lookup(name, int(p.ClockRate), int(p.Channels))
		if !ok {
			continue
		}
		n := negotiated{codec: c, pt: uint8(p.PayloadType), dtmfPT: -1, rtpName: fmt.Sprintf("%s/%d", c.Name(), c.ClockRate())}
		for _, d := range list {
			if strings.EqualFold(d.MimeType, mimeTelephoneEvent) && d.ClockRate == p.ClockRate {
				n.dtmfPT = int(d.PayloadType)
				break
			}
		}
		return n, p, nil
	}
	return negotiated{}, webrtc.RTPCodecParameters{}, errNoCodec
}

// rtpTrack is the call's outgoing audio track: the media session's packets, as it
// built them, sent through pion's SRTP and interceptors. pion's TrackLocalStaticRTP
// is not used because it rewrites every packet's payload type to the codec's, which
// would turn the session's RFC 4733 telephone-events into garbage Opus; here only the
// SSRC is set (to the one pion announced in the SDP).
type rtpTrack struct {
	id, stream string

	mu    sync.RWMutex // guards w and ssrc against Bind and Unbind
	w     webrtc.TrackLocalWriter
	ssrc  uint32
	bound bool

	hdr rtp.Header // scratch for WriteRTP; only the media clock goroutine uses it
}

var _ webrtc.TrackLocal = (*rtpTrack)(nil)

func newRTPTrack(id string) *rtpTrack { return &rtpTrack{id: "audio", stream: "hotline-" + id} }

// Bind is called by pion once the answer is applied, with the negotiated codecs.
func (t *rtpTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	_, p, err := chooseCodec(ctx.CodecParameters())
	if err != nil {
		return webrtc.RTPCodecParameters{}, err
	}
	t.mu.Lock()
	t.w, t.ssrc, t.bound = ctx.WriteStream(), uint32(ctx.SSRC()), true
	t.mu.Unlock()
	return p, nil
}

// Unbind is called by pion when the sender stops.
func (t *rtpTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.w, t.bound = nil, false
	t.mu.Unlock()
	return nil
}

// ID, RID, StreamID and Kind describe the track for the SDP (a=msid).
func (t *rtpTrack) ID() string                { return t.id }
func (t *rtpTrack) RID() string               { return "" }
func (t *rtpTrack) StreamID() string          { return t.stream }
func (t *rtpTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// WriteRTP implements media.PacketTransport: it runs on the media clock goroutine.
// Before the transport is bound (ICE and DTLS not up yet) packets are dropped
// silently: the session keeps its pace and the caller hears from the first packet
// that can go. pion's SRTP writer does not block (a full socket buffer drops).
func (t *rtpTrack) WriteRTP(pkt []byte) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.bound {
		return nil
	}
	n, err := t.hdr.Unmarshal(pkt)
	if err != nil {
		return fmt.Errorf("webrtc: outgoing RTP header: %w", err)
	}
	t.hdr.SSRC = t.ssrc
	_, err = t.w.WriteRTP(&t.hdr, pkt[n:])
	return err
}

// withDTMF is the codec p followed by the telephone-event of list at p's clock rate.
func withDTMF(p webrtc.RTPCodecParameters, list []webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	out := []webrtc.RTPCodecParameters{p}
	for _, d := range list {
		if strings.EqualFold(d.MimeType, mimeTelephoneEvent) && d.ClockRate == p.ClockRate {
			return append(out, d)
		}
	}
	return out
}
