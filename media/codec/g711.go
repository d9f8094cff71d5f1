package codec

import "math/bits"

// ITU-T G.711 (11/1988) companding, implemented with lookup tables.
//
// G.711 quantises a 14-bit (μ-law) or 13-bit (A-law) uniform PCM value into
// an 8-bit code made of a sign bit, a 3-bit segment (chord) number and a
// 4-bit step within the segment. Because only the top 14 or 13 bits of a
// 16-bit sample matter, encoding is a single load from a table indexed by
// those bits, and decoding is a load from a 256-entry table. The tables are
// filled once by init from the segment algorithm below, which follows
// G.711 Table 1 (A-law) and Table 2 (μ-law) and yields the same codes as
// the widely used Sun Microsystems reference g711.c (checked exhaustively in
// the tests). Nothing writes to them afterwards.

const (
	// MulawSilence is the μ-law code for a zero sample (positive zero,
	// G.711 Table 2). The media engine fills lost or missing PCMU frames
	// with it so that the far end hears silence rather than a click.
	MulawSilence byte = 0xFF
	// AlawSilence is the A-law code for the smallest positive sample
	// (G.711 Table 1, with the even bits inverted), used like
	// MulawSilence to fill PCMA gaps.
	AlawSilence byte = 0xD5
)

const (
	mulawBias = 33   // G.711 μ-law bias in 14-bit units (0x84 >> 2)
	mulawClip = 8159 // largest 14-bit magnitude μ-law can represent

	alawInvert = 0x55 // G.711 A-law: even bits are inverted on the line
)

var (
	mulawEncTable [1 << 14]byte // index: uint16(sample) >> 2
	alawEncTable  [1 << 13]byte // index: uint16(sample) >> 3
	mulawDecTable [256]int16
	alawDecTable  [256]int16
)

func init() {
	for i := range mulawEncTable {
		// The index is the 14-bit two's-complement value; int16 reinterprets
		// the sign bit after shifting it back into position.
		mulawEncTable[i] = mulawFromLinear14(int(int16(uint16(i)<<2)) >> 2)
	}
	for i := range alawEncTable {
		alawEncTable[i] = alawFromLinear13(int(int16(uint16(i)<<3)) >> 3)
	}
	for i := range 256 {
		mulawDecTable[i] = mulawToLinear(byte(i))
		alawDecTable[i] = alawToLinear(byte(i))
	}
}

// mulawFromLinear14 encodes a 14-bit signed sample (-8192..8191) following
// G.711 Table 2: add the bias, find the segment from the position of the
// highest set bit, keep the four bits below it, and invert all bits.
func mulawFromLinear14(v int) byte {
	mask := byte(0xFF) // positive: sign bit set after inversion
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	v = min(v, mulawClip) + mulawBias // 33..8192
	seg := bits.Len(uint(v)) - 6      // v in [32<<seg, 64<<seg)
	if seg > 7 {
		return 0x7F ^ mask // beyond the last segment: clip to full scale
	}
	code := byte(seg<<4) | byte(v>>(seg+1))&0x0F
	return code ^ mask
}

// alawFromLinear13 encodes a 13-bit signed sample (-4096..4095) following
// G.711 Table 1. Negative values are one's-complemented (-v-1), which is
// how A-law maps -1..-4096 onto the same magnitudes as 0..4095.
func alawFromLinear13(v int) byte {
	mask := byte(0x80 | alawInvert)
	if v < 0 {
		v = -v - 1
		mask = alawInvert
	}
	seg := max(bits.Len(uint(v))-5, 0) // segments 0 and 1 share step 2
	var step int
	if seg < 2 {
		step = v >> 1
	} else {
		step = v >> seg
	}
	code := byte(seg<<4) | byte(step)&0x0F
	return code ^ mask
}

// mulawToLinear decodes per G.711 Table 2: the reconstruction level is the
// middle of the quantisation interval, scaled to 16 bits.
func mulawToLinear(b byte) int16 {
	b = ^b
	seg := (b >> 4) & 0x07
	mag := ((int(b&0x0F) << 3) + mulawBias<<2) << seg
	mag -= mulawBias << 2
	if b&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// alawToLinear decodes per G.711 Table 1, scaled to 16 bits.
func alawToLinear(b byte) int16 {
	b ^= alawInvert
	seg := (b >> 4) & 0x07
	mag := int(b&0x0F)<<4 + 8 // middle of the step in segment 0
	if seg > 0 {
		mag = (mag + 0x100) << (seg - 1)
	}
	if b&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}

// MulawEncode compresses one 16-bit linear sample to a G.711 μ-law code.
// Only the top 14 bits are significant, as in G.711.
func MulawEncode(s int16) byte { return mulawEncTable[uint16(s)>>2] }

// MulawDecode expands a G.711 μ-law code to a 16-bit linear sample.
func MulawDecode(b byte) int16 { return mulawDecTable[b] }

// AlawEncode compresses one 16-bit linear sample to a G.711 A-law code.
// Only the top 13 bits are significant, as in G.711.
func AlawEncode(s int16) byte { return alawEncTable[uint16(s)>>3] }

// AlawDecode expands a G.711 A-law code to a 16-bit linear sample.
func AlawDecode(b byte) int16 { return alawDecTable[b] }

// EncodeMulaw μ-law-encodes min(len(dst), len(src)) samples of src into dst
// and returns that count. It is the allocation-free bulk form of
// MulawEncode for code that handles raw G.711 outside an Encoder.
func EncodeMulaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = mulawEncTable[uint16(s)>>2]
	}
	return n
}

// DecodeMulaw decodes min(len(dst), len(src)) μ-law codes of src into dst
// and returns that count.
func DecodeMulaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = mulawDecTable[b]
	}
	return n
}

// EncodeAlaw A-law-encodes min(len(dst), len(src)) samples of src into dst
// and returns that count.
func EncodeAlaw(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawEncTable[uint16(s)>>3]
	}
	return n
}

// DecodeAlaw decodes min(len(dst), len(src)) A-law codes of src into dst
// and returns that count.
func DecodeAlaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = alawDecTable[b]
	}
	return n
}
