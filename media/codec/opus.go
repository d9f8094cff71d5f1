package codec

import (
	"errors"
	"fmt"
	"time"
)

// Opus (RFC 6716) carried in RTP as RFC 7587 specifies: dynamic payload
// type, rtpmap always "opus/48000/2" (section 7) whatever the audio, RTP
// clock 48 kHz whatever the internal bandwidth (section 4.1). hotline codes
// mono 48 kHz PCM through libopus (github.com/hraban/opus, cgo); the
// description and options live here, the libopus calls in opus_cgo.go.

const (
	opusRate        = 48000 // RFC 7587 section 4.1: RTP clock and PCM rate
	opusRTPChannels = 2     // RFC 7587 section 7: rtpmap channel count
	opusLossQuantum = 120   // 2.5 ms at 48 kHz: the granularity of Opus frames
	opusFrame20ms   = 960   // the frame an empty payload stands for before any packet

	// OpusMaxFrameSamples is the most samples one Opus packet decodes to
	// per channel: 120 ms at 48 kHz (RFC 6716 section 3.2.5). An Opus
	// Decoder's dst must hold this many samples to accept every packet a
	// peer may send, whatever ptime was negotiated (STYLE.md habit 3); the
	// decoder is mono, so one channel's worth is enough.
	OpusMaxFrameSamples = 5760

	// DefaultOpusBitrate is the encoder's target bit rate in bit/s when
	// OpusOptions.Bitrate is 0: wideband speech (RFC 7587 section 3.1.1
	// recommends 16-20 kbit/s for it) with room for in-band FEC.
	DefaultOpusBitrate = 24000
	// DefaultOpusPacketLossPercent is the loss rate the encoder plans its
	// in-band FEC for when OpusOptions.PacketLossPercent is 0.
	DefaultOpusPacketLossPercent = 10
	// DefaultOpusComplexity is the libopus complexity (1-10) used when
	// OpusOptions.Complexity is 0. Encoding is the costliest thing a call
	// does, and on speech at 24 kbit/s complexity 10 costs about twice
	// as much CPU as 5 for no measurable gain in this package's quality
	// tests (BenchmarkOpusSpeech); below 5 the spectrum degrades.
	DefaultOpusComplexity = 5

	opusMinBitrate = 6000   // libopus's lower limit (RFC 6716 section 2.1.1)
	opusMaxBitrate = 510000 // libopus's upper limit
)

// OpusOptions configures the Opus encoder. The zero value means the
// defaults: 24 kbit/s, in-band FEC on for 10 % expected loss, DTX on,
// complexity 5. Decoders take no options.
type OpusOptions struct {
	// Bitrate is the target bit rate in bit/s, 6000 to 510000; 0 means
	// DefaultOpusBitrate (24000). The encoder uses variable bit rate and
	// the payload never exceeds the dst handed to Encode.
	Bitrate int
	// PacketLossPercent is the packet loss, 0 to 100 percent, the encoder
	// expects; it sizes the in-band FEC and makes the coding more robust.
	// 0 means DefaultOpusPacketLossPercent (10).
	PacketLossPercent int
	// Complexity is the libopus complexity, 1 (cheapest) to 10 (best);
	// 0 means DefaultOpusComplexity (5).
	Complexity int
	// DisableFEC turns off in-band forward error correction (RFC 6716
	// section 2.1.7), which is on by default: each packet then no longer
	// carries a low-rate copy of the previous frame for FECDecoder.
	DisableFEC bool
	// DisableDTX turns off discontinuous transmission, which is on by
	// default: in silence the encoder then keeps producing full packets
	// instead of one- or two-byte ones (RFC 7587 section 3.1.3).
	DisableDTX bool
}

// defaultOpusOptions is OpusOptions{} with the defaults filled in; Opus,
// All and Lookup use it.
var defaultOpusOptions = OpusOptions{}.withDefaults()

func (o OpusOptions) withDefaults() OpusOptions {
	if o.Bitrate == 0 {
		o.Bitrate = DefaultOpusBitrate
	}
	if o.PacketLossPercent == 0 {
		o.PacketLossPercent = DefaultOpusPacketLossPercent
	}
	if o.Complexity == 0 {
		o.Complexity = DefaultOpusComplexity
	}
	return o
}

// Validate reports every out-of-range field at once (0 always means the
// default and is valid).
func (o OpusOptions) Validate() error {
	var errs []error
	if o.Bitrate != 0 && (o.Bitrate < opusMinBitrate || o.Bitrate > opusMaxBitrate) {
		errs = append(errs, fmt.Errorf("codec: opus bitrate %d bit/s out of range %d-%d", o.Bitrate, opusMinBitrate, opusMaxBitrate))
	}
	if o.PacketLossPercent < 0 || o.PacketLossPercent > 100 {
		errs = append(errs, fmt.Errorf("codec: opus packet loss %d%% out of range 0-100", o.PacketLossPercent))
	}
	if o.Complexity < 0 || o.Complexity > 10 {
		errs = append(errs, fmt.Errorf("codec: opus complexity %d out of range 0-10", o.Complexity))
	}
	return errors.Join(errs...)
}

// Opus is the Opus codec with default options (NewOpus(OpusOptions{})),
// the first choice of All. Lookup and All never depend on this variable.
var Opus Codec = NewOpus(OpusOptions{})

// NewOpus returns the Opus codec whose encoders use opts (zero fields take
// the defaults). Invalid options are reported by NewEncoder, so check them
// early with opts.Validate. Two codecs built from equivalent options
// compare equal, and NewOpus(OpusOptions{}) equals Opus.
//
// The codec's Encoder takes mono 48 kHz frames of 10, 20, 40 or 60 ms
// (480, 960, 1920 or 2880 samples; see FrameSizer) and returns an error
// wrapping ErrFrameSize for any other length. With DTX on, a payload of
// one or two bytes is a frame the encoder chose not to code; the sender
// may leave it out and just advance the RTP timestamp (RFC 7587 section
// 3.1.3). len(dst) caps the payload size (a smaller dst lowers the bit
// rate of that frame); 1275 bytes always suffice for 20 ms.
//
// Its Decoder produces mono 48 kHz from mono or stereo packets (libopus
// downmixes) and implements Concealer and FECDecoder. Decode needs room
// for the whole packet, up to OpusMaxFrameSamples (120 ms), and returns
// ErrShortBuffer otherwise; an empty payload is decoded as a DTX gap of the
// last packet's duration (comfort noise fading to silence), and a packet
// that breaks RFC 6716 section 3.4 gives an error wrapping
// ErrInvalidPayload without reaching libopus.
func NewOpus(opts OpusOptions) Codec {
	return opusCodec{opts: opts.withDefaults()}
}

// opusCodec is comparable, so interface comparison works as for the
// G.711 codecs.
type opusCodec struct {
	opts OpusOptions
}

// Compile-time checks.
var (
	_ Codec      = opusCodec{}
	_ FrameSizer = opusCodec{}
)

func (opusCodec) Name() string           { return "opus" }
func (opusCodec) ClockRate() int         { return opusRate }
func (opusCodec) SampleRate() int        { return opusRate }
func (opusCodec) Channels() int          { return opusRTPChannels }
func (opusCodec) StaticPayloadType() int { return -1 }
func (opusCodec) String() string         { return "opus/48000/2" }

// FrameSizes lists the frame durations the encoder codes in every mode
// (RFC 6716 section 2.1.4): 2.5 and 5 ms exist only in CELT-only mode and
// 80-120 ms only since libopus 1.2, so neither is offered.
func (opusCodec) FrameSizes() []time.Duration {
	return []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}
}

func (c opusCodec) NewEncoder() (Encoder, error) {
	if err := c.opts.Validate(); err != nil {
		return nil, err
	}
	return newOpusEncoder(c.opts)
}

func (opusCodec) NewDecoder() (Decoder, error) {
	return newOpusDecoder()
}

// validOpusEncodeFrame reports whether n samples at 48 kHz is one of the
// FrameSizes.
func validOpusEncodeFrame(n int) bool {
	switch n {
	case 480, 960, 1920, 2880:
		return true
	}
	return false
}

// validOpusLossFrame reports whether n samples is a duration libopus can
// conceal or recover: a positive multiple of 2.5 ms up to 120 ms.
func validOpusLossFrame(n int) bool {
	return n > 0 && n%opusLossQuantum == 0 && n <= OpusMaxFrameSamples
}

// Prebuilt errors, so that the packet path allocates nothing even when it
// fails.
var (
	errOpusFrameSize = fmt.Errorf("codec: opus encode: frame must be 10, 20, 40 or 60 ms "+
		"(480, 960, 1920 or 2880 samples at 48 kHz): %w", ErrFrameSize)
	errOpusLossSize = fmt.Errorf("codec: opus concealment: length must be a multiple of 2.5 ms "+
		"(120 samples) up to 120 ms: %w", ErrFrameSize)
)
