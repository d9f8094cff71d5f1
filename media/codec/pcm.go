package codec

// PCMU and PCMA: G.711 carried in RTP as RFC 3551 section 4.5.14 specifies,
// one octet per sample at 8000 Hz, clock rate 8000, static payload types 0
// and 8 (RFC 3551 table 4).

const (
	g711Rate = 8000

	pcmuPayloadType = 0
	pcmaPayloadType = 8
)

var (
	// PCMU is G.711 μ-law (RFC 3551 section 4.5.14, static payload type 0),
	// the codec nearly every SIP endpoint supports and every WebRTC endpoint
	// must (RFC 7874 section 3). It is
	// exported as a value so code can compare or offer it directly; Lookup
	// and Builtin never depend on this variable.
	PCMU Codec = pcmu{}
	// PCMA is G.711 A-law (RFC 3551 section 4.5.14, static payload type 8),
	// the usual codec on European and international trunks.
	PCMA Codec = pcma{}
)

// Compile-time checks that the G.711 types satisfy the interfaces.
var (
	_ Codec   = pcmu{}
	_ Codec   = pcma{}
	_ Encoder = mulawEncoder{}
	_ Decoder = mulawDecoder{}
	_ Encoder = alawEncoder{}
	_ Decoder = alawDecoder{}
)

// pcmu and pcma are empty structs: G.711 is stateless, so the encoders and
// decoders are empty too and converting them to interfaces allocates nothing.
type pcmu struct{}

func (pcmu) Name() string                 { return "PCMU" }
func (pcmu) ClockRate() int               { return g711Rate }
func (pcmu) SampleRate() int              { return g711Rate }
func (pcmu) Channels() int                { return 1 }
func (pcmu) StaticPayloadType() int       { return pcmuPayloadType }
func (pcmu) NewEncoder() (Encoder, error) { return mulawEncoder{}, nil }
func (pcmu) NewDecoder() (Decoder, error) { return mulawDecoder{}, nil }
func (pcmu) String() string               { return "PCMU/8000" }

type pcma struct{}

func (pcma) Name() string                 { return "PCMA" }
func (pcma) ClockRate() int               { return g711Rate }
func (pcma) SampleRate() int              { return g711Rate }
func (pcma) Channels() int                { return 1 }
func (pcma) StaticPayloadType() int       { return pcmaPayloadType }
func (pcma) NewEncoder() (Encoder, error) { return alawEncoder{}, nil }
func (pcma) NewDecoder() (Decoder, error) { return alawDecoder{}, nil }
func (pcma) String() string               { return "PCMA/8000" }

type mulawEncoder struct{}

func (mulawEncoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, ErrShortBuffer
	}
	return EncodeMulaw(dst, pcm), nil
}

type mulawDecoder struct{}

func (mulawDecoder) Decode(dst []int16, payload []byte) (int, error) {
	if len(dst) < len(payload) {
		return 0, ErrShortBuffer
	}
	return DecodeMulaw(dst, payload), nil
}

type alawEncoder struct{}

func (alawEncoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, ErrShortBuffer
	}
	return EncodeAlaw(dst, pcm), nil
}

type alawDecoder struct{}

func (alawDecoder) Decode(dst []int16, payload []byte) (int, error) {
	if len(dst) < len(payload) {
		return 0, ErrShortBuffer
	}
	return DecodeAlaw(dst, payload), nil
}
