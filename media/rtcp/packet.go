package rtcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the only RTCP version this package reads and writes: RTCP shares
// the V field and its value 2 with RTP (RFC 3550 §6.4.1).
const Version = 2

// HeaderSize is the length of the common header that starts every RTCP
// packet: V/P/count, packet type and length (RFC 3550 §6.4.1).
const HeaderSize = 4

// MaxReports is the largest number of report blocks, SDES chunks or BYE
// sources one packet can announce: the count field has five bits
// (RFC 3550 §6.4.1, RC; §6.5, SC; §6.6, SC). Packets keep them in fixed
// arrays of this size so that parsing never allocates.
const MaxReports = 31

// ReportBlockSize is the wire size of one reception report block
// (RFC 3550 §6.4.1).
const ReportBlockSize = 24

// PacketType is the PT field of an RTCP packet (RFC 3550 §12.1). The zero
// value, TypeUnknown, is not a valid packet type.
type PacketType uint8

// The packet types of RFC 3550 §12.1, and the feedback and extended-report
// types that arrive in practice (RFC 4585 §6.1, RFC 3611 §2), which this
// package recognises only to skip.
const (
	TypeUnknown            PacketType = 0
	TypeSenderReport       PacketType = 200 // SR, §6.4.1
	TypeReceiverReport     PacketType = 201 // RR, §6.4.2
	TypeSourceDescription  PacketType = 202 // SDES, §6.5
	TypeGoodbye            PacketType = 203 // BYE, §6.6
	TypeApplicationDefined PacketType = 204 // APP, §6.7
	TypeTransportFeedback  PacketType = 205 // RTPFB, RFC 4585
	TypePayloadFeedback    PacketType = 206 // PSFB, RFC 4585
	TypeExtendedReport     PacketType = 207 // XR, RFC 3611
)

// String returns the RFC's abbreviation, for logs and metric labels (a
// bounded set: every unrecognised type is "unknown").
func (t PacketType) String() string {
	switch t {
	case TypeSenderReport:
		return "SR"
	case TypeReceiverReport:
		return "RR"
	case TypeSourceDescription:
		return "SDES"
	case TypeGoodbye:
		return "BYE"
	case TypeApplicationDefined:
		return "APP"
	case TypeTransportFeedback:
		return "RTPFB"
	case TypePayloadFeedback:
		return "PSFB"
	case TypeExtendedReport:
		return "XR"
	}
	return "unknown"
}

// Errors returned by the Unmarshal and MarshalTo methods. They are sentinels
// so that the receive loop can count malformed packets by kind with
// errors.Is, without string matching or allocation.
var (
	// ErrTooShort means the datagram ends inside a header or inside the
	// fixed part of a packet (SSRC, sender info).
	ErrTooShort = errors.New("rtcp: packet too short")
	// ErrBadVersion means the V field is not 2.
	ErrBadVersion = errors.New("rtcp: unsupported version")
	// ErrBadLength means a length field disagrees with the datagram: it
	// reaches past the end, leaves octets that are not a whole packet, or
	// is too small for the report blocks or sources its count announces
	// (RFC 3550 Appendix A.2).
	ErrBadLength = errors.New("rtcp: length field does not match packet")
	// ErrBadPadding means the P bit is set on a packet that is not the
	// last of its compound packet, or its padding count is zero or larger
	// than the packet (RFC 3550 §6.4.1, P; Appendix A.2).
	ErrBadPadding = errors.New("rtcp: invalid padding")
	// ErrWrongType means a packet was handed to the Unmarshal method of
	// another type, e.g. an RR to SenderReport.Unmarshal.
	ErrWrongType = errors.New("rtcp: unexpected packet type")
	// ErrBadFirstPacket means a compound packet does not start with an SR
	// or RR (RFC 3550 §6.1), or a compound packet to marshal has no
	// report to start with.
	ErrBadFirstPacket = errors.New("rtcp: compound packet does not start with SR or RR")
	// ErrTooMany means more than MaxReports report blocks, chunks or
	// sources, which the 5-bit count field cannot express.
	ErrTooMany = errors.New("rtcp: more than 31 report blocks, chunks or sources")
	// ErrBadSDES means an SDES chunk is malformed: an item runs past the
	// packet or the item list has no terminating null octet
	// (RFC 3550 §6.5).
	ErrBadSDES = errors.New("rtcp: malformed source description")
	// ErrTooLong means an SDES item or BYE reason to marshal is longer
	// than the 255 octets its length octet can count.
	ErrTooLong = errors.New("rtcp: text longer than 255 octets")
	// ErrShortBuffer means the destination of MarshalTo is too small; it
	// wraps io.ErrShortBuffer. MarshalSize says how much is needed.
	ErrShortBuffer = fmt.Errorf("rtcp: %w", io.ErrShortBuffer)
)

// Header is the common header of every RTCP packet (RFC 3550 §6.4.1).
type Header struct {
	// Padding is the P bit: the packet ends in padding octets, the last
	// of which counts them. Only the last packet of a compound packet may
	// be padded.
	Padding bool
	// Count is the 5-bit field after P: the report count of SR and RR,
	// the source count of SDES and BYE, the subtype of APP or the FMT of
	// feedback messages.
	Count uint8
	// Type is the PT field.
	Type PacketType
	// Length is the packet's length in 32-bit words minus one, counting
	// the header and any padding.
	Length uint16
}

// PacketSize returns the packet's total length in octets as announced by
// Length, header and padding included.
func (h *Header) PacketSize() int { return 4 * (int(h.Length) + 1) }

// Unmarshal parses the 4-octet common header at the start of buf. It checks
// the version only; whether the length fits is the caller's concern
// (NextPacket checks it).
func (h *Header) Unmarshal(buf []byte) error {
	if len(buf) < HeaderSize {
		return ErrTooShort
	}
	if buf[0]>>6 != Version {
		return ErrBadVersion
	}
	*h = Header{
		Padding: buf[0]&0x20 != 0,
		Count:   buf[0] & 0x1f,
		Type:    PacketType(buf[1]),
		Length:  binary.BigEndian.Uint16(buf[2:]),
	}
	return nil
}

// MarshalTo writes h at the start of buf and returns HeaderSize. A Count
// above 31 does not fit its five bits and yields ErrTooMany.
func (h *Header) MarshalTo(buf []byte) (int, error) {
	if h.Count > MaxReports {
		return 0, ErrTooMany
	}
	if len(buf) < HeaderSize {
		return 0, ErrShortBuffer
	}
	b0 := byte(Version<<6) | h.Count
	if h.Padding {
		b0 |= 0x20
	}
	buf[0] = b0
	buf[1] = byte(h.Type)
	binary.BigEndian.PutUint16(buf[2:], h.Length)
	return HeaderSize, nil
}

// NextPacket splits the first RTCP packet off a (compound) datagram. It
// returns the packet's header, the packet itself (header included, padding
// included, exactly Header.PacketSize octets) and the rest of buf after it.
// It lets a caller walk a compound packet without decoding it, for example to
// count packet types, and it is what Compound.Unmarshal uses.
//
// It validates the version and that the length field lies within buf; the
// padding of a padded packet is checked too (1 to the packet's body length,
// RFC 3550 §6.4.1). Whether padding is allowed at that position is the
// compound packet's rule, checked by Compound.Unmarshal.
func NextPacket(buf []byte) (h Header, packet, rest []byte, err error) {
	if err := h.Unmarshal(buf); err != nil {
		return Header{}, nil, nil, err
	}
	size := h.PacketSize()
	if size > len(buf) {
		return Header{}, nil, nil, ErrBadLength
	}
	if h.Padding {
		if _, err := unpad(h, buf[:size]); err != nil {
			return Header{}, nil, nil, err
		}
	}
	return h, buf[:size:size], buf[size:], nil
}

// unpad returns the body of one packet (after the common header) without its
// padding. pkt is exactly the packet's PacketSize octets.
func unpad(h Header, pkt []byte) ([]byte, error) {
	body := pkt[HeaderSize:]
	if !h.Padding {
		return body, nil
	}
	// RFC 3550 §6.4.1: the last octet counts the padding octets,
	// itself included, and the padding is part of the length.
	if len(body) == 0 {
		return nil, ErrBadPadding
	}
	count := int(body[len(body)-1])
	if count == 0 || count > len(body) {
		return nil, ErrBadPadding
	}
	return body[:len(body)-count], nil
}

// single parses the header of a buffer that must hold exactly one packet of
// type want and returns its header and unpadded body. The type Unmarshal
// methods share it.
func single(buf []byte, want PacketType) (Header, []byte, error) {
	var h Header
	if err := h.Unmarshal(buf); err != nil {
		return Header{}, nil, err
	}
	if h.Type != want {
		return Header{}, nil, ErrWrongType
	}
	if h.PacketSize() != len(buf) {
		return Header{}, nil, ErrBadLength
	}
	body, err := unpad(h, buf)
	if err != nil {
		return Header{}, nil, err
	}
	return h, body, nil
}

// putHeader writes the common header for a packet of size octets (a multiple
// of four) with count and type. The caller has checked len(buf) >= size.
func putHeader(buf []byte, count uint8, t PacketType, size int) {
	buf[0] = byte(Version<<6) | count
	buf[1] = byte(t)
	binary.BigEndian.PutUint16(buf[2:], uint16(size/4-1))
}
