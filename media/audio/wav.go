package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hotline-ivr/hotline/media/codec"
)

// WAV reading per the Microsoft RIFF specification (Multimedia Programming
// Interface and Data Specifications 1.0, 1991, "WAVE Form") and the
// WAVE_FORMAT_EXTENSIBLE amendment (Microsoft, "Multiple Channel Audio Data
// and WAVE Files", 2001).

var (
	// ErrNotWAV means the input is not a RIFF/WAVE file at all, so a prompt
	// loader can tell "wrong file type" apart from "broken WAV".
	ErrNotWAV = errors.New("wav: not a RIFF/WAVE file")
	// ErrUnsupported means the file is a well-formed WAV whose encoding
	// hotline does not decode (MP3, ADPCM, 16-bit float...). The wrapped
	// message names the encoding so the operator knows what to convert.
	ErrUnsupported = errors.New("wav: unsupported")
	// ErrMalformed means the file claims to be WAV but its structure is
	// broken or exceeds the limits (missing chunks, impossible format
	// values, more than 1 GiB of audio).
	ErrMalformed = errors.New("wav: malformed")
)

const (
	// maxWAVDataBytes caps the audio bytes ReadWAV accepts. The cap applies
	// to bytes actually present, not to the declared size, because streaming
	// writers declare sizes they never fill (espeak-ng --stdout declares
	// 0x7FFFF000 bytes).
	maxWAVDataBytes = 1 << 30
	// maxWAVRate bounds the sample rate; 768 kHz is the highest rate any
	// common converter produces.
	maxWAVRate = 768000
	// maxWAVChannels bounds the channel count so a frame never exceeds a
	// few kilobytes.
	maxWAVChannels = 256
	// maxFmtBytes bounds the fmt chunk; real ones are 16, 18 or 40 bytes.
	maxFmtBytes = 4096
	// wavReadChunk is how many bytes of sample data are read at a time.
	wavReadChunk = 32 << 10
	// wavCapHint bounds the up-front allocation taken from a declared data
	// size, so a tiny file lying about its size cannot make us allocate.
	wavCapHint = 1 << 16
)

// Format tags (mmreg.h) that ReadWAV decodes.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagALaw       = 0x0006
	tagMuLaw      = 0x0007
	tagExtensible = 0xFFFE
)

// tagNames names common format tags hotline does not decode, so the error
// tells the operator what the file is.
var tagNames = map[uint16]string{
	0x0002: "Microsoft ADPCM",
	0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10",
	0x0040: "G.721 ADPCM",
	0x0050: "MPEG",
	0x0055: "MP3",
	0x0064: "G.726 ADPCM",
	0x0065: "G.722 ADPCM",
	0x00FF: "AAC",
	0x0161: "WMA",
	0x6750: "Vorbis",
	0xF1AC: "FLAC",
}

// subformatSuffix is the part of a KSDATAFORMAT_SUBTYPE_* GUID after its
// first two bytes, which hold the plain format tag
// ({0000xxxx-0000-0010-8000-00AA00389B71} stored little-endian).
var subformatSuffix = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavFormat is the decoded fmt chunk, reduced to what decoding needs.
type wavFormat struct {
	tag       uint16 // effective tag (the subformat for EXTENSIBLE)
	channels  int
	rate      int
	width     int // bytes per sample in its container
	bits      int // container bits (wBitsPerSample)
	frameSize int // bytes per frame: channels * width
}

// ReadWAV decodes a WAV file into mono 16-bit PCM and its sample rate.
//
// It accepts format tag 1 (integer PCM, 8-bit unsigned up to 32-bit), 3
// (IEEE float, 32 or 64 bit), 6 (G.711 A-law), 7 (G.711 μ-law) and
// WAVE_FORMAT_EXTENSIBLE carrying any of those. Several channels are
// averaged into one. Chunks other than fmt and data (LIST, fact, cue...)
// are skipped, including their RIFF pad byte. A data size of 0 or
// 0xFFFFFFFF, or one larger than the bytes present, is read to the end of
// the input, which is how writers that cannot seek back leave the header
// (espeak-ng --stdout declares 0x7FFFF000 bytes whatever it writes). A
// trailing partial frame is dropped. More than 1 GiB of audio is rejected.
//
// Errors wrap ErrNotWAV, ErrUnsupported or ErrMalformed, or the reader's
// own error, with a message naming what was wrong.
func ReadWAV(r io.Reader) (pcm []int16, rate int, err error) {
	return readWAV(r, maxWAVDataBytes)
}

func readWAV(r io.Reader, maxData int64) ([]int16, int, error) {
	var hdr [12]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("%w: empty input", ErrNotWAV)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, fmt.Errorf("%w: %d-byte input is shorter than a RIFF header", ErrNotWAV, n)
		}
		return nil, 0, fmt.Errorf("wav: reading RIFF header: %w", err)
	}
	switch id := string(hdr[0:4]); id {
	case "RIFF":
	case "RIFX":
		return nil, 0, fmt.Errorf("%w big-endian RIFX file", ErrUnsupported)
	case "RF64", "BW64":
		return nil, 0, fmt.Errorf("%w %s (64-bit RIFF) file", ErrUnsupported, id)
	default:
		return nil, 0, fmt.Errorf("%w: starts with %q, not RIFF", ErrNotWAV, hdr[0:4])
	}
	if string(hdr[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: RIFF form type %q, not WAVE", ErrNotWAV, hdr[8:12])
	}

	var f *wavFormat
	var skipped int64 // bytes of other chunks, bounded like the audio
	for {
		var ch [8]byte
		if n, err := io.ReadFull(r, ch[:]); err != nil {
			if n == 0 && errors.Is(err, io.EOF) {
				return nil, 0, fmt.Errorf("%w: no data chunk", ErrMalformed)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, 0, fmt.Errorf("%w: truncated chunk header", ErrMalformed)
			}
			return nil, 0, fmt.Errorf("wav: reading chunk header: %w", err)
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if f != nil {
				return nil, 0, fmt.Errorf("%w: second fmt chunk", ErrMalformed)
			}
			var err error
			if f, err = readFmt(r, size); err != nil {
				return nil, 0, err
			}
		case "data":
			if f == nil {
				return nil, 0, fmt.Errorf("%w: data chunk before fmt chunk", ErrMalformed)
			}
			pcm, err := readData(r, f, size, maxData)
			if err != nil {
				return nil, 0, err
			}
			return pcm, f.rate, nil
		default:
			// RIFF chunks are padded to an even length; the pad byte is
			// not counted in the size.
			skip := int64(size) + int64(size&1)
			if skipped += skip; skipped > maxData {
				return nil, 0, fmt.Errorf("%w: more than %d bytes of chunks before the data chunk", ErrMalformed, maxData)
			}
			if n, err := io.CopyN(io.Discard, r, skip); err != nil {
				if errors.Is(err, io.EOF) {
					return nil, 0, fmt.Errorf("%w: %q chunk of %d bytes truncated after %d (no data chunk)",
						ErrMalformed, ch[0:4], size, n)
				}
				return nil, 0, fmt.Errorf("wav: skipping %q chunk: %w", ch[0:4], err)
			}
		}
	}
}

// readFmt reads and validates a fmt chunk of the given size (plus its pad).
func readFmt(r io.Reader, size uint32) (*wavFormat, error) {
	if size < 16 {
		return nil, fmt.Errorf("%w: fmt chunk of %d bytes, need at least 16", ErrMalformed, size)
	}
	if size > maxFmtBytes {
		return nil, fmt.Errorf("%w: fmt chunk of %d bytes is implausibly large", ErrMalformed, size)
	}
	b := make([]byte, int(size)+int(size&1))
	if _, err := io.ReadFull(r, b); err != nil {
		// A missing pad byte at the very end is harmless only if nothing
		// follows, and then there is no data chunk anyway.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated fmt chunk", ErrMalformed)
		}
		return nil, fmt.Errorf("wav: reading fmt chunk: %w", err)
	}
	le := binary.LittleEndian
	f := &wavFormat{
		tag:      le.Uint16(b[0:2]),
		channels: int(le.Uint16(b[2:4])),
		rate:     int(le.Uint32(b[4:8])),
		bits:     int(le.Uint16(b[14:16])),
	}
	// b[8:12] nAvgBytesPerSec and b[12:14] nBlockAlign are derived values
	// that writers often get wrong; the frame size is computed instead.
	if f.tag == tagExtensible {
		// WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) GUID(16).
		if size < 40 || le.Uint16(b[16:18]) < 22 {
			return nil, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, need 40", ErrMalformed, size)
		}
		guid := b[24:40]
		if [14]byte(guid[2:16]) != subformatSuffix {
			return nil, fmt.Errorf("%w extensible subformat GUID %x", ErrUnsupported, guid)
		}
		f.tag = le.Uint16(guid[0:2])
		if f.tag == tagExtensible {
			return nil, fmt.Errorf("%w: extensible subformat is itself EXTENSIBLE", ErrMalformed)
		}
	}
	if f.channels == 0 || f.channels > maxWAVChannels {
		return nil, fmt.Errorf("%w: %d channels", ErrMalformed, f.channels)
	}
	if f.rate <= 0 || f.rate > maxWAVRate {
		return nil, fmt.Errorf("%w: sample rate %d Hz", ErrMalformed, f.rate)
	}
	switch f.tag {
	case tagPCM:
		// Integer PCM may use any width up to 32 bits; narrower samples are
		// left-justified in a whole number of bytes.
		if f.bits < 1 || f.bits > 32 {
			return nil, fmt.Errorf("%w PCM bit depth %d", ErrUnsupported, f.bits)
		}
	case tagFloat:
		if f.bits != 32 && f.bits != 64 {
			return nil, fmt.Errorf("%w float bit depth %d", ErrUnsupported, f.bits)
		}
	case tagALaw, tagMuLaw:
		if f.bits != 8 {
			return nil, fmt.Errorf("%w G.711 bit depth %d", ErrUnsupported, f.bits)
		}
	default:
		name := tagNames[f.tag]
		if name == "" {
			name = "unknown"
		}
		return nil, fmt.Errorf("%w format tag %d (%s)", ErrUnsupported, f.tag, name)
	}
	f.width = (f.bits + 7) / 8
	f.frameSize = f.width * f.channels
	return f, nil
}

// readData decodes the data chunk. size is the declared chunk size; 0 and
// 0xFFFFFFFF mean "until EOF", and a declared size larger than the input is
// also read until EOF.
func readData(r io.Reader, f *wavFormat, size uint32, maxData int64) ([]int16, error) {
	remaining := int64(size)
	if size == 0 || size == math.MaxUint32 {
		remaining = math.MaxInt64
	}
	pcm := make([]int16, 0, min(remaining/int64(f.frameSize), wavCapHint))
	sample := sampleDecoder(f)
	buf := make([]byte, wavReadChunk/f.frameSize*f.frameSize)
	var total int64
	for remaining > 0 {
		want := int(min(int64(len(buf)), remaining))
		n, err := io.ReadFull(r, buf[:want])
		total += int64(n)
		if total > maxData {
			return nil, fmt.Errorf("%w: more than %d bytes of audio", ErrMalformed, maxData)
		}
		remaining -= int64(n)
		pcm = appendFrames(pcm, buf[:n-n%f.frameSize], f, sample)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break // streamed or truncated file: keep what arrived
			}
			return nil, fmt.Errorf("wav: reading data chunk: %w", err)
		}
	}
	return pcm, nil
}

// sampleFunc converts one sample to a left-justified 32-bit value so that
// every format can be averaged and rounded the same way.
type sampleFunc func(b []byte) int32

func sampleDecoder(f *wavFormat) sampleFunc {
	switch f.tag {
	case tagFloat:
		if f.bits == 64 {
			return func(b []byte) int32 {
				return floatToInt32(math.Float64frombits(binary.LittleEndian.Uint64(b)))
			}
		}
		return func(b []byte) int32 {
			return floatToInt32(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
		}
	case tagALaw:
		return func(b []byte) int32 { return int32(codec.AlawDecode(b[0])) << 16 }
	case tagMuLaw:
		return func(b []byte) int32 { return int32(codec.MulawDecode(b[0])) << 16 }
	}
	switch f.width {
	case 1: // 8-bit WAV PCM is unsigned with 128 as zero
		return func(b []byte) int32 { return (int32(b[0]) - 128) << 24 }
	case 2:
		return func(b []byte) int32 { return int32(binary.LittleEndian.Uint16(b)) << 16 }
	case 3:
		return func(b []byte) int32 {
			return int32(uint32(b[0])<<8 | uint32(b[1])<<16 | uint32(b[2])<<24)
		}
	default:
		return func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) }
	}
}

// floatToInt32 maps [-1, 1) to the int32 range, clipping out-of-range
// values and treating NaN as silence.
func floatToInt32(v float64) int32 {
	switch {
	case v != v: // NaN
		return 0
	case v >= 1:
		return math.MaxInt32
	case v <= -1:
		return math.MinInt32
	}
	return int32(math.Round(v * (1 << 31)))
}

// appendFrames decodes whole frames from b, averaging channels, and appends
// the rounded 16-bit result to pcm.
func appendFrames(pcm []int16, b []byte, f *wavFormat, sample sampleFunc) []int16 {
	if f.channels == 1 && f.tag == tagPCM && f.width == 2 {
		for i := 0; i+1 < len(b); i += 2 {
			pcm = append(pcm, int16(binary.LittleEndian.Uint16(b[i:])))
		}
		return pcm
	}
	ch := int64(f.channels)
	for len(b) >= f.frameSize {
		var sum int64
		for c := range f.channels {
			sum += int64(sample(b[c*f.width:]))
		}
		b = b[f.frameSize:]
		pcm = append(pcm, roundTo16(sum/ch))
	}
	return pcm
}

// roundTo16 rounds a left-justified 32-bit sample to 16 bits, saturating.
func roundTo16(v int64) int16 {
	v = (v + 1<<15) >> 16
	return int16(min(max(v, math.MinInt16), math.MaxInt16))
}
