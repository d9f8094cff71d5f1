package codec

import (
	"errors"
	"strings"
)

// ErrShortBuffer is returned by an [Encoder] or [Decoder] when the
// destination slice cannot hold the whole result. Nothing useful is written
// in that case; callers size their buffers once per call from the frame
// duration and treat this error as a programming mistake, not as a reason to
// retry. It is a bare sentinel (not wrapped) so that returning it costs no
// allocation on the packet path; compare with errors.Is.
var ErrShortBuffer = errors.New("codec: destination buffer too small")

// Codec is an immutable codec description and factory. The SDP layer matches
// remote rtpmap attributes against it and the media engine creates one
// Encoder and one Decoder per call leg from it. Implementations must be safe
// for concurrent use, since one value is shared by every call.
type Codec interface {
	// Name is the encoding name used in an SDP rtpmap attribute, e.g.
	// "PCMU" (RFC 3551 section 4.5).
	Name() string
	// ClockRate is the RTP timestamp clock rate written in rtpmap. It can
	// differ from SampleRate (G.722 famously uses 8000 for 16 kHz audio,
	// RFC 3551 section 4.5.2), so timestamp arithmetic must use this one.
	ClockRate() int
	// SampleRate is the PCM rate the Encoder consumes and the Decoder
	// produces; the media engine resamples to and from it.
	SampleRate() int
	// Channels is the rtpmap channel count; all built-in codecs are mono.
	Channels() int
	// StaticPayloadType is the RFC 3551 table 4 payload type (PCMU 0,
	// PCMA 8) that may be used without an rtpmap line, or -1 if the codec
	// needs a dynamic payload type (96-127).
	StaticPayloadType() int
	// NewEncoder returns a fresh encoder holding per-call state, if any.
	NewEncoder() (Encoder, error)
	// NewDecoder returns a fresh decoder holding per-call state, if any.
	NewDecoder() (Decoder, error)
}

// Encoder turns one frame of mono 16-bit PCM at the codec's SampleRate into
// an RTP payload. One Encoder belongs to one call leg and is not safe for
// concurrent use.
type Encoder interface {
	// Encode writes the payload for pcm into dst and returns the number of
	// bytes written. It does not allocate. If dst is too small it returns
	// 0 and ErrShortBuffer.
	Encode(dst []byte, pcm []int16) (int, error)
}

// Decoder turns one RTP payload back into mono 16-bit PCM at the codec's
// SampleRate. One Decoder belongs to one call leg and is not safe for
// concurrent use.
type Decoder interface {
	// Decode writes the samples for payload into dst and returns how many
	// it wrote. It does not allocate. If dst is too small it returns 0 and
	// ErrShortBuffer.
	Decode(dst []int16, payload []byte) (int, error)
}

// builtin lists the codecs in default offer preference. It is an array of
// concrete values (not the exported variables) so that nothing assigned to
// PCMU or PCMA elsewhere can change what Lookup and Builtin return.
var builtin = [...]Codec{pcmu{}, pcma{}}

// Builtin returns every codec compiled into hotline in the order an offer
// should list them when the configuration does not say otherwise: PCMU
// first as the most widely supported, then PCMA (both mandatory for WebRTC
// endpoints, RFC 7874 section 3). The slice is a fresh copy that the
// caller may reorder or filter.
func Builtin() []Codec {
	out := make([]Codec, len(builtin))
	copy(out, builtin[:])
	return out
}

// Lookup finds a built-in codec by the fields of an SDP rtpmap attribute
// "<encoding name>/<clock rate>[/<channels>]" (RFC 4566 section 6). The name
// is compared case-insensitively as RFC 4855 section 3 requires for media
// subtype names, and channels 0 stands for an omitted channel field, which
// means 1 (RFC 4566 section 6). The clock rate must match exactly.
func Lookup(name string, clockRate, channels int) (Codec, bool) {
	if channels == 0 {
		channels = 1
	}
	for _, c := range builtin {
		if strings.EqualFold(c.Name(), name) && c.ClockRate() == clockRate && c.Channels() == channels {
			return c, true
		}
	}
	return nil, false
}
