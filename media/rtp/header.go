package rtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the length in octets of the fixed RTP header without CSRC
// identifiers or header extension (RFC 3550 §5.1): V/P/X/CC, M/PT, sequence
// number, timestamp and SSRC.
const HeaderSize = 12

// Version is the only RTP version this package accepts and writes
// (RFC 3550 §5.1, field V).
const Version = 2

// Errors returned by [Header.Unmarshal] and [Header.MarshalTo]. They are
// sentinels so that the receive loop can count malformed packets by kind
// (errors.Is) without string matching or allocation.
var (
	// ErrShortPacket means the datagram ends before the fixed header or
	// the CSRC list announced by CC does.
	ErrShortPacket = errors.New("rtp: packet too short")
	// ErrBadVersion means the V field is not 2. On a shared port this is
	// usually STUN, DTLS or garbage rather than RTP.
	ErrBadVersion = errors.New("rtp: unsupported version")
	// ErrBadPadding means the P bit is set but the padding count in the
	// last octet is zero or larger than the data after the headers.
	ErrBadPadding = errors.New("rtp: invalid padding")
	// ErrBadExtension means the X bit is set but the header extension
	// (RFC 3550 §5.3.1) does not fit in the datagram.
	ErrBadExtension = errors.New("rtp: invalid header extension")
	// ErrShortBuffer means the destination of MarshalTo is shorter than
	// HeaderSize. It wraps io.ErrShortBuffer.
	ErrShortBuffer = fmt.Errorf("rtp: %w", io.ErrShortBuffer)
	// ErrBadHeader means MarshalTo was asked to write a header it cannot
	// represent in 12 octets: a version other than 0 (meaning 2) or 2, a
	// payload type above 127, or CSRCs or an extension, which MarshalTo
	// does not write.
	ErrBadHeader = errors.New("rtp: header cannot be marshaled")
)

// Header is the fixed RTP header of RFC 3550 §5.1.
//
// It is a plain value with no slices, so a receiver can keep one Header per
// stream and Unmarshal into it for every packet without allocating. CSRC
// identifiers and the header extension body are skipped rather than stored
// for the same reason: an IVR mixes nothing by CSRC and interprets no header
// extension, yet must find the payload behind them.
type Header struct {
	// Version is the V field; Unmarshal only accepts 2.
	Version uint8
	// Padding is the P bit: the payload is followed by padding octets,
	// the last of which holds their count. Unmarshal strips the padding.
	Padding bool
	// Extension is the X bit: a header extension follows the CSRC list
	// (RFC 3550 §5.3.1).
	Extension bool
	// Marker is the M bit. For audio it flags the first packet of a talk
	// spurt (RFC 3551 §4.1); for telephone-event, the start of an event
	// (RFC 4733 §2.5.1.2).
	Marker bool
	// PayloadType is the 7-bit PT field that selects the codec negotiated
	// in SDP.
	PayloadType uint8
	// SequenceNumber increments by one per packet; use SeqLess/SeqDiff to
	// compare across wrap-around.
	SequenceNumber uint16
	// Timestamp is the sampling instant of the first payload octet in
	// units of the payload's clock rate; use TSLess to compare.
	Timestamp uint32
	// SSRC identifies the synchronization source; a change means a new
	// stream whose sequence and timestamp spaces are unrelated.
	SSRC uint32
	// CSRCCount is the CC field, the number of CSRC identifiers that
	// Unmarshal skipped.
	CSRCCount uint8
	// ExtensionProfile is the 16-bit "defined by profile" word of the
	// header extension, valid when Extension is set (for example 0xBEDE
	// for RFC 8285 one-byte elements).
	ExtensionProfile uint16
}

// Unmarshal parses the RTP header at the start of buf into h and returns the
// payload, which aliases buf (no copy) and excludes CSRCs, the header
// extension and padding.
//
// It validates, in wire order:
//   - the fixed header is complete and V is 2 (RFC 3550 §5.1);
//   - the CC CSRC identifiers fit in buf (RFC 3550 §5.1);
//   - when X is set, the 4-octet extension header and the length field's
//     32-bit words fit in buf (RFC 3550 §5.3.1);
//   - when P is set, the last octet, which counts the padding octets
//     including itself, is at least 1 and no more than the octets after
//     the headers (RFC 3550 §5.1, field P).
//
// On error h is left unchanged and payload is nil. The returned payload's
// capacity ends where the padding starts, so appending to it cannot overwrite
// the rest of buf. Unmarshal does not allocate.
func (h *Header) Unmarshal(buf []byte) (payload []byte, err error) {
	if len(buf) < HeaderSize {
		return nil, ErrShortPacket
	}
	b0 := buf[0]
	if b0>>6 != Version {
		return nil, ErrBadVersion
	}
	cc := b0 & 0x0f
	end := HeaderSize + 4*int(cc)
	if len(buf) < end {
		return nil, ErrShortPacket
	}

	ext := b0&0x10 != 0
	var profile uint16
	if ext {
		// RFC 3550 §5.3.1: 16-bit profile word, 16-bit length counting
		// the 32-bit words of extension data after these four octets.
		if len(buf) < end+4 {
			return nil, ErrBadExtension
		}
		profile = binary.BigEndian.Uint16(buf[end:])
		words := int(binary.BigEndian.Uint16(buf[end+2:]))
		end += 4 + 4*words
		if len(buf) < end {
			return nil, ErrBadExtension
		}
	}

	n := len(buf)
	pad := b0&0x20 != 0
	if pad {
		// RFC 3550 §5.1: "The last octet of the padding contains a count
		// of how many padding octets should be ignored, including
		// itself." Zero cannot include itself; more than the remaining
		// data would reach into the headers.
		count := int(buf[n-1])
		if count == 0 || count > n-end {
			return nil, ErrBadPadding
		}
		n -= count
	}

	b1 := buf[1]
	*h = Header{
		Version:          Version,
		Padding:          pad,
		Extension:        ext,
		Marker:           b1&0x80 != 0,
		PayloadType:      b1 & 0x7f,
		SequenceNumber:   binary.BigEndian.Uint16(buf[2:]),
		Timestamp:        binary.BigEndian.Uint32(buf[4:]),
		SSRC:             binary.BigEndian.Uint32(buf[8:]),
		CSRCCount:        cc,
		ExtensionProfile: profile,
	}
	return buf[end:n:n], nil
}

// MarshalTo writes h as a 12-octet fixed header (RFC 3550 §5.1) at the start
// of buf and returns HeaderSize. The caller writes the payload after it, so a
// sender reuses one buffer per stream and never allocates.
//
// Version 0 is written as 2, so a zero Header plus PT, sequence number,
// timestamp and SSRC is ready to send. The P bit is written as given: a
// caller that sets Padding appends the padding octets itself. MarshalTo
// writes no CSRC list and no header extension, so it returns ErrBadHeader
// rather than emit a header that announces them; it also rejects a payload
// type above 127, which would spill into the marker bit. If buf is shorter
// than HeaderSize it returns ErrShortBuffer. On error nothing is written.
func (h *Header) MarshalTo(buf []byte) (int, error) {
	if (h.Version != 0 && h.Version != Version) || h.PayloadType > 0x7f ||
		h.CSRCCount != 0 || h.Extension {
		return 0, ErrBadHeader
	}
	if len(buf) < HeaderSize {
		return 0, ErrShortBuffer
	}
	b0 := byte(Version << 6)
	if h.Padding {
		b0 |= 0x20
	}
	b1 := h.PayloadType
	if h.Marker {
		b1 |= 0x80
	}
	buf[0] = b0
	buf[1] = b1
	binary.BigEndian.PutUint16(buf[2:], h.SequenceNumber)
	binary.BigEndian.PutUint32(buf[4:], h.Timestamp)
	binary.BigEndian.PutUint32(buf[8:], h.SSRC)
	return HeaderSize, nil
}
