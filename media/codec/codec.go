package codec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrShortBuffer is returned by an [Encoder] or [Decoder] when the
// destination slice cannot hold the whole result. Nothing useful is written
// in that case; callers size their buffers once per call from the frame
// duration and treat this error as a programming mistake, not as a reason to
// retry. It is a bare sentinel (not wrapped) so that returning it costs no
// allocation on the packet path; compare with errors.Is.
var ErrShortBuffer = errors.New("codec: destination buffer too small")

// ErrFrameSize is returned (wrapped, but without allocating) when a frame's
// length is one the codec cannot code: an odd number of samples for G.722,
// a duration other than 10, 20, 40 or 60 ms for the Opus encoder, or a
// concealment length that is not a multiple of 2.5 ms up to 120 ms for
// the Opus decoder. Like ErrShortBuffer it signals a mis-sized buffer.
var ErrFrameSize = errors.New("codec: unsupported frame size")

// ErrInvalidPayload is returned (wrapped, without allocating) by a Decoder
// for a payload that cannot be a packet of its codec, such as an Opus
// packet that breaks the framing rules of RFC 6716 section 3.4. The media
// engine counts such packets and goes on with the next one.
var ErrInvalidPayload = errors.New("codec: invalid payload")

// ErrUnknownCodec is wrapped by ByNames for a name no built-in codec has.
var ErrUnknownCodec = errors.New("codec: unknown codec")

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
	// Channels is the rtpmap channel count. Every built-in Encoder and
	// Decoder works on mono PCM; Opus nevertheless reports 2, because RFC
	// 7587 section 7 requires "opus/48000/2" in rtpmap whatever the audio.
	Channels() int
	// StaticPayloadType is the RFC 3551 table 4 payload type (PCMU 0,
	// PCMA 8, G722 9) that may be used without an rtpmap line, or -1 if the
	// codec needs a dynamic payload type (96-127), as Opus does.
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
	// it wrote, which depends on the payload, not on len(dst). It does not
	// allocate. If dst is too small it returns 0 and ErrShortBuffer. An
	// empty payload gives 0 samples for G.711 and G.722 and a DTX gap fill
	// of the last packet's duration for Opus.
	Decode(dst []int16, payload []byte) (int, error)
}

// builtin is what Builtin returns: the two G.711 codecs every SIP endpoint
// supports, in the order hotline offered before it had any other. It is an
// array of concrete values (not the exported variables) so that nothing
// assigned to PCMU or PCMA elsewhere can change what Builtin returns.
var builtin = [...]Codec{pcmu{}, pcma{}}

// all is every codec compiled in, in default offer preference: the best
// quality per bit first. Opus is left out of builds without cgo (see
// opus_nocgo.go). Like builtin it holds concrete values.
var all = availableCodecs()

func availableCodecs() []Codec {
	cs := []Codec{opusCodec{opts: defaultOpusOptions}, g722{}, pcmu{}, pcma{}}
	if !opusAvailable {
		cs = cs[1:]
	}
	return cs
}

// Builtin returns the G.711 codecs in the order an offer listed them before
// hotline had wideband codecs: PCMU first as the most widely supported,
// then PCMA (both mandatory for WebRTC endpoints, RFC 7874 section 3). Its
// result is unchanged by the addition of G.722 and Opus, which only [All]
// and [ByNames] return. The slice is a fresh copy that the caller may
// reorder or filter.
func Builtin() []Codec {
	out := make([]Codec, len(builtin))
	copy(out, builtin[:])
	return out
}

// All returns every codec compiled into hotline in the default offer
// preference: Opus (48 kHz, RFC 7587), G.722 (16 kHz, RFC 3551 section
// 4.5.2), PCMU, PCMA. An answer follows the caller's order instead (RFC
// 3264 section 6.1), so this order only matters for offers. The slice is a
// fresh copy that the caller may reorder or filter; Opus is absent from
// binaries built without cgo.
func All() []Codec {
	return slices.Clone(all)
}

// ByNames returns the codecs named in a configured preference list, in that
// order. Names are compared case-insensitively ("opus", "G722", "PCMU",
// "PCMA"; surrounding spaces are ignored). Every unknown or repeated name
// is reported, in one error that wraps ErrUnknownCodec for unknown names
// and lists the known ones; an empty list is an error too, since a call
// needs at least one codec.
func ByNames(names []string) ([]Codec, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("codec: empty codec list (known: %s)", knownNames())
	}
	out := make([]Codec, 0, len(names))
	var errs []error
	for i, name := range names {
		name = strings.TrimSpace(name)
		j := slices.IndexFunc(all, func(c Codec) bool { return strings.EqualFold(c.Name(), name) })
		switch {
		case j < 0:
			errs = append(errs, fmt.Errorf("%w %q at position %d (known: %s)", ErrUnknownCodec, name, i+1, knownNames()))
		case slices.Contains(out, all[j]):
			errs = append(errs, fmt.Errorf("codec: %q listed twice (position %d)", name, i+1))
		default:
			out = append(out, all[j])
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func knownNames() string {
	names := make([]string, len(all))
	for i, c := range all {
		names[i] = c.Name()
	}
	return strings.Join(names, ", ")
}

// Lookup finds a built-in codec by the fields of an SDP rtpmap attribute
// "<encoding name>/<clock rate>[/<channels>]" (RFC 4566 section 6). The name
// is compared case-insensitively as RFC 4855 section 3 requires for media
// subtype names, and channels 0 stands for an omitted channel field, which
// means 1 (RFC 4566 section 6). The clock rate and channel count must match
// exactly, so G.722 is "G722/8000" (RFC 3551 section 4.5.2) and Opus is
// "opus/48000/2" (RFC 7587 section 7). Every codec of [All] is found.
func Lookup(name string, clockRate, channels int) (Codec, bool) {
	if channels == 0 {
		channels = 1
	}
	for _, c := range all {
		if strings.EqualFold(c.Name(), name) && c.ClockRate() == clockRate && c.Channels() == channels {
			return c, true
		}
	}
	return nil, false
}

// Concealer is implemented by a Decoder that can conceal a lost packet
// itself, better than the media engine's generic fill. The jitter buffer
// type-asserts it.
type Concealer interface {
	// Conceal fills dst with packet-loss concealment for one lost frame of
	// len(dst) samples and returns len(dst). It does not allocate.
	Conceal(dst []int16) (int, error)
}

// FECDecoder is implemented by a Decoder whose packets can carry a
// redundant copy of the previous frame (Opus in-band FEC, RFC 6716 section
// 2.1.7). When a packet is lost and the next one has arrived, the jitter
// buffer calls DecodeFEC with the next packet for the lost frame, then
// Decode with the same packet for its own frame.
type FECDecoder interface {
	// DecodeFEC fills dst with the frame lost before payload, recovered
	// from payload's in-band FEC data, and returns len(dst); len(dst) is
	// the duration of the loss. Without FEC data it falls back to
	// concealment, like Conceal. It does not allocate.
	DecodeFEC(dst []int16, payload []byte) (int, error)
}

// FrameSizer is implemented by codecs that can only code certain frame
// durations. The SDP layer and the media session use it (through
// [ValidPtime]) to pick a packet time the encoder supports: Opus cannot
// produce the 30 ms frames an a=ptime:30 asks for (RFC 6716 section 2.1.4).
type FrameSizer interface {
	// FrameSizes lists the frame durations the Encoder accepts, shortest
	// first. The slice is the caller's.
	FrameSizes() []time.Duration
}

// ValidPtime reports whether c's Encoder can code frames of duration ptime
// (an SDP a=ptime value, RFC 4566 section 6). For a [FrameSizer] that is
// one of its FrameSizes; any other codec takes any duration that is a
// whole number of samples at both its sample rate and its clock rate.
func ValidPtime(c Codec, ptime time.Duration) bool {
	if ptime <= 0 {
		return false
	}
	if fs, ok := c.(FrameSizer); ok {
		return slices.Contains(fs.FrameSizes(), ptime)
	}
	whole := func(rate int) bool { return int64(rate)*int64(ptime)%int64(time.Second) == 0 }
	return whole(c.SampleRate()) && whole(c.ClockRate())
}
