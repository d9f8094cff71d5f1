package codec

import "fmt"

// Opus packet framing (RFC 6716 section 3), checked in Go before a packet
// reaches libopus: it tells the decoder how many samples the packet holds,
// so a short dst is reported as ErrShortBuffer, and it rejects malformed
// packets with prebuilt errors, so garbage on the wire costs no allocation.
// The rules are those of section 3.4 (R1-R7), in the same order libopus's
// opus_packet_parse applies them.

const (
	opusMaxFrameBytes = 1275 // RFC 6716 section 3.2.1: the longest frame
)

var (
	errOpusEmpty      = opusPacketError("empty packet (R1)")
	errOpusFrameLong  = opusPacketError("frame longer than 1275 bytes (R2)")
	errOpusOddCBR     = opusPacketError("code 1 packet with an odd payload length (R3)")
	errOpusShort      = opusPacketError("frame lengths exceed the packet (R4, R7)")
	errOpusFrameCount = opusPacketError("code 3 packet with no frames or more than 120 ms (R5)")
	errOpusPadding    = opusPacketError("padding exceeds the packet (R6, R7)")
	errOpusCBRSplit   = opusPacketError("code 3 CBR packet not divisible into equal frames (R6)")
)

func opusPacketError(what string) error {
	return fmt.Errorf("codec: opus packet: %s, RFC 6716 section 3.4: %w", what, ErrInvalidPayload)
}

// opusFrameSamples returns the duration of one frame, in samples at 48 kHz,
// for the configuration number in the top five bits of the TOC byte (RFC
// 6716 section 3.1, table 2).
func opusFrameSamples(config byte) int {
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		return [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // Hybrid: 10, 20 ms
		return [2]int{480, 960}[config&1]
	default: // CELT-only: 2.5, 5, 10, 20 ms
		return [4]int{120, 240, 480, 960}[config&3]
	}
}

// opusFrameLength reads a frame length coded in one or two bytes (RFC 6716
// section 3.2.1) and returns it with the number of bytes it took, or ok
// false if b is too short.
func opusFrameLength(b []byte) (length, used int, ok bool) {
	switch {
	case len(b) < 1:
		return 0, 0, false
	case b[0] < 252:
		return int(b[0]), 1, true
	case len(b) < 2:
		return 0, 0, false
	default:
		return 4*int(b[1]) + int(b[0]), 2, true
	}
}

// opusPacketSamples validates packet p and returns the number of samples
// per channel it decodes to at 48 kHz.
func opusPacketSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, errOpusEmpty
	}
	frame := opusFrameSamples(p[0] >> 3)
	rest := p[1:]
	switch p[0] & 3 {
	case 0: // one frame (section 3.2.2)
		if len(rest) > opusMaxFrameBytes {
			return 0, errOpusFrameLong
		}
		return frame, nil
	case 1: // two frames of equal size (section 3.2.3)
		if len(rest)%2 != 0 {
			return 0, errOpusOddCBR
		}
		if len(rest)/2 > opusMaxFrameBytes {
			return 0, errOpusFrameLong
		}
		return 2 * frame, nil
	case 2: // two frames, the first one's length given (section 3.2.4)
		n, used, ok := opusFrameLength(rest)
		if !ok || n > len(rest)-used {
			return 0, errOpusShort
		}
		if len(rest)-used-n > opusMaxFrameBytes {
			return 0, errOpusFrameLong
		}
		return 2 * frame, nil
	}
	return opusCode3Samples(frame, rest)
}

// opusCode3Samples validates the body of a code 3 packet, an arbitrary
// number of frames (RFC 6716 section 3.2.5): a frame count byte, optional
// padding length bytes, frame lengths if VBR, the frames, the padding.
func opusCode3Samples(frame int, rest []byte) (int, error) {
	if len(rest) < 1 {
		return 0, errOpusFrameCount
	}
	fc := rest[0]
	rest = rest[1:]
	count := int(fc & 0x3F)
	if count == 0 || count*frame > OpusMaxFrameSamples {
		return 0, errOpusFrameCount
	}
	size := len(rest) // bytes left for frame lengths and frames
	if fc&0x40 != 0 { // padding: 255 means 254 bytes and another length byte
		for i := 0; ; i++ {
			if i >= len(rest) {
				return 0, errOpusPadding
			}
			b := int(rest[i])
			size-- // the length byte itself
			if b == 255 {
				size -= 254
				continue
			}
			size -= b
			rest = rest[i+1:]
			break
		}
		if size < 0 {
			return 0, errOpusPadding
		}
	}
	if fc&0x80 == 0 { // CBR: equal frames
		if size%count != 0 {
			return 0, errOpusCBRSplit
		}
		if size/count > opusMaxFrameBytes {
			return 0, errOpusFrameLong
		}
		return count * frame, nil
	}
	last := size // VBR: count-1 lengths, the last frame takes the rest
	for range count - 1 {
		n, used, ok := opusFrameLength(rest[:min(len(rest), size)])
		size -= used
		if !ok || n > size {
			return 0, errOpusShort
		}
		rest = rest[used:]
		last -= used + n
	}
	if last < 0 {
		return 0, errOpusShort
	}
	if last > opusMaxFrameBytes {
		return 0, errOpusFrameLong
	}
	return count * frame, nil
}
