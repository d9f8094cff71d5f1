package codec

import (
	"fmt"
	"math"
	"testing"
)

// The Sun Microsystems reference g711.c (public domain, 1992), transcribed
// literally so the table-driven package implementation is checked against an
// independent copy of the algorithm everybody interoperates with.

const (
	refSignBit   = 0x80
	refQuantMask = 0x0F
	refSegShift  = 4
	refSegMask   = 0x70
	refBias      = 0x84
	refClip      = 8159
)

var (
	refSegAend = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
	refSegUend = [8]int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
)

func refSearch(val int, table [8]int) int {
	for i, v := range table {
		if val <= v {
			return i
		}
	}
	return len(table)
}

func refLinear2alaw(pcm int16) byte {
	pcmVal := int(pcm) >> 3
	var mask int
	if pcmVal >= 0 {
		mask = 0xD5
	} else {
		mask = 0x55
		pcmVal = -pcmVal - 1
	}
	seg := refSearch(pcmVal, refSegAend)
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	aval := seg << refSegShift
	if seg < 2 {
		aval |= (pcmVal >> 1) & refQuantMask
	} else {
		aval |= (pcmVal >> seg) & refQuantMask
	}
	return byte(aval ^ mask)
}

func refAlaw2linear(aVal byte) int16 {
	aVal ^= 0x55
	t := int(aVal&refQuantMask) << 4
	seg := int(aVal&refSegMask) >> refSegShift
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if aVal&refSignBit != 0 {
		return int16(t)
	}
	return int16(-t)
}

func refLinear2ulaw(pcm int16) byte {
	pcmVal := int(pcm) >> 2
	var mask int
	if pcmVal < 0 {
		pcmVal = -pcmVal
		mask = 0x7F
	} else {
		mask = 0xFF
	}
	if pcmVal > refClip {
		pcmVal = refClip
	}
	pcmVal += refBias >> 2
	seg := refSearch(pcmVal, refSegUend)
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	uval := (seg << 4) | ((pcmVal >> (seg + 1)) & 0xF)
	return byte(uval ^ mask)
}

func refUlaw2linear(uVal byte) int16 {
	uVal = ^uVal
	t := (int(uVal&refQuantMask) << 3) + refBias
	t <<= int(uVal&refSegMask) >> refSegShift
	if uVal&refSignBit != 0 {
		return int16(refBias - t)
	}
	return int16(t - refBias)
}

// law bundles one companding law for table-driven tests.
type law struct {
	name      string
	encode    func(int16) byte
	decode    func(byte) int16
	refEncode func(int16) byte
	refDecode func(byte) int16
	// maxLevel is the largest reconstruction magnitude; inputs beyond it clip.
	maxLevel int
	// trunc is how much precision the encoder drops before quantising
	// (2 bits for μ-law, 3 for A-law), which adds to the G.711 half step.
	trunc int
	// step returns the quantisation step (in 16-bit units) of a code's segment.
	step func(byte) int
}

var laws = []law{
	{
		name: "mulaw", encode: MulawEncode, decode: MulawDecode,
		refEncode: refLinear2ulaw, refDecode: refUlaw2linear,
		maxLevel: 32124, trunc: 3,
		step: func(b byte) int { return 8 << ((^b >> 4) & 7) },
	},
	{
		name: "alaw", encode: AlawEncode, decode: AlawDecode,
		refEncode: refLinear2alaw, refDecode: refAlaw2linear,
		maxLevel: 32256, trunc: 7,
		step: func(b byte) int {
			seg := int((b^0x55)>>4) & 7
			return 16 << max(seg-1, 0)
		},
	},
}

func TestEncodeMatchesReferenceForAllInputs(t *testing.T) {
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			bad := 0
			for x := math.MinInt16; x <= math.MaxInt16; x++ {
				s := int16(x)
				if got, want := l.encode(s), l.refEncode(s); got != want {
					if bad < 10 {
						t.Errorf("encode(%d) = %#02x, reference %#02x", s, got, want)
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of 65536 inputs differ from the reference", bad)
			}
		})
	}
}

func TestDecodeMatchesReferenceForAllCodes(t *testing.T) {
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			for c := range 256 {
				if got, want := l.decode(byte(c)), l.refDecode(byte(c)); got != want {
					t.Errorf("decode(%#02x) = %d, reference %d", c, got, want)
				}
			}
		})
	}
}

// TestRoundTripErrorBound checks the quantiser property G.711 guarantees:
// within range, decode(encode(x)) is at most half a step (plus the bits the
// encoder truncates) away from x; beyond range it saturates at the largest
// level; and the round trip is monotonic.
func TestRoundTripErrorBound(t *testing.T) {
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			prev := math.MinInt
			worstRel := 0.0
			for x := math.MinInt16; x <= math.MaxInt16; x++ {
				code := l.encode(int16(x))
				y := int(l.decode(code))
				if y < prev {
					t.Fatalf("not monotonic: x=%d gives %d after %d", x, y, prev)
				}
				prev = y
				mag := x
				if x < 0 {
					mag = -x
				}
				if mag > l.maxLevel+l.step(code)/2 {
					if want := l.maxLevel; y != want && y != -want {
						t.Fatalf("x=%d beyond range decodes to %d, want ±%d", x, y, want)
					}
					continue
				}
				errAbs := x - y
				if errAbs < 0 {
					errAbs = -errAbs
				}
				if bound := l.step(code)/2 + l.trunc; errAbs > bound {
					t.Fatalf("x=%d: |x-y|=%d > bound %d (code %#02x, y=%d)", x, errAbs, bound, code, y)
				}
				if mag >= 4096 {
					worstRel = max(worstRel, float64(errAbs)/float64(mag))
				}
			}
			// Away from the smallest segments, a 3-bit segment plus a 4-bit
			// step keeps the relative error near 2^-5 (about 30 dB SNR per
			// sample whatever the level), which is the point of G.711.
			if worstRel > 1.0/32+0.002 {
				t.Errorf("worst relative error %.4f, want <= %.4f", worstRel, 1.0/32)
			}
			t.Logf("worst relative error above 4096: %.4f", worstRel)
		})
	}
}

func TestKnownVectors(t *testing.T) {
	tests := []struct {
		law  string
		in   int16
		code byte
		out  int16
	}{
		{"mulaw", 0, 0xFF, 0},
		{"mulaw", 1000, 0xCE, 988},
		{"mulaw", -1000, 0x4E, -988},
		{"mulaw", math.MaxInt16, 0x80, 32124},
		{"mulaw", math.MinInt16, 0x00, -32124},
		{"alaw", 0, 0xD5, 8},
		{"alaw", -1, 0x55, -8},
		{"alaw", 1000, 0xFA, 1008},
		{"alaw", math.MaxInt16, 0xAA, 32256},
		{"alaw", math.MinInt16, 0x2A, -32256},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", tc.law, tc.in), func(t *testing.T) {
			enc, dec := MulawEncode, MulawDecode
			if tc.law == "alaw" {
				enc, dec = AlawEncode, AlawDecode
			}
			if got := enc(tc.in); got != tc.code {
				t.Errorf("encode(%d) = %#02x, want %#02x", tc.in, got, tc.code)
			}
			if got := dec(tc.code); got != tc.out {
				t.Errorf("decode(%#02x) = %d, want %d", tc.code, got, tc.out)
			}
		})
	}
	if MulawEncode(0) != MulawSilence || AlawEncode(0) != AlawSilence {
		t.Errorf("silence constants do not match the encoding of 0")
	}
}

func TestSliceHelpersUseShorterLength(t *testing.T) {
	src := []int16{0, 1000, -1000, 32767, -32768}
	tests := []struct {
		name   string
		encode func([]byte, []int16) int
		decode func([]int16, []byte) int
		one    func(int16) byte
	}{
		{"mulaw", EncodeMulaw, DecodeMulaw, MulawEncode},
		{"alaw", EncodeAlaw, DecodeAlaw, AlawEncode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 3)
			if n := tc.encode(dst, src); n != 3 {
				t.Fatalf("encode wrote %d, want 3", n)
			}
			for i, b := range dst {
				if b != tc.one(src[i]) {
					t.Errorf("dst[%d] = %#02x, want %#02x", i, b, tc.one(src[i]))
				}
			}
			pcm := make([]int16, 10)
			if n := tc.decode(pcm, dst); n != 3 {
				t.Fatalf("decode wrote %d, want 3", n)
			}
		})
	}
}
