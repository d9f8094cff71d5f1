package rtcp

import "encoding/binary"

// Goodbye is a BYE packet (RFC 3550 §6.6): the listed sources are leaving
// the session. For a call it usually means the peer's media stopped on
// purpose (hang-up, or an SSRC change), so RTP silence after it is not a
// network fault.
type Goodbye struct {
	// Sources holds the leaving SSRC/CSRCs; only the first SourceCount are
	// valid (the SC field).
	Sources     [MaxReports]uint32
	SourceCount uint8
	// Reason is the optional reason for leaving (UTF-8, at most 255
	// octets). After Unmarshal it aliases the parsed buffer.
	Reason []byte
}

// Valid returns the valid sources as a slice of Sources, without
// allocating.
func (g *Goodbye) Valid() []uint32 { return g.Sources[:min(int(g.SourceCount), MaxReports)] }

// Has reports whether ssrc is among the leaving sources.
func (g *Goodbye) Has(ssrc uint32) bool {
	for _, s := range g.Valid() {
		if s == ssrc {
			return true
		}
	}
	return false
}

// MarshalSize returns the octets MarshalTo writes.
func (g *Goodbye) MarshalSize() int {
	size := HeaderSize + 4*min(int(g.SourceCount), MaxReports)
	if len(g.Reason) > 0 {
		size += (1 + len(g.Reason) + 3) &^ 3
	}
	return size
}

// Unmarshal decodes buf, which must hold exactly one BYE packet. Reason
// aliases buf. On error g is unspecified.
func (g *Goodbye) Unmarshal(buf []byte) error {
	h, body, err := single(buf, TypeGoodbye)
	if err != nil {
		return err
	}
	return g.unmarshalBody(h, body)
}

func (g *Goodbye) unmarshalBody(h Header, body []byte) error {
	n := 4 * int(h.Count)
	if len(body) < n {
		return ErrBadLength
	}
	for i := range int(h.Count) {
		g.Sources[i] = binary.BigEndian.Uint32(body[4*i:])
	}
	g.SourceCount = h.Count
	g.Reason = nil
	// RFC 3550 §6.6: an optional length octet and reason follow the
	// sources, padded to a 32-bit boundary.
	if rest := body[n:]; len(rest) > 0 {
		l := int(rest[0])
		if 1+l > len(rest) {
			return ErrBadLength
		}
		if l > 0 {
			g.Reason = rest[1 : 1+l : 1+l]
		}
	}
	return nil
}

// MarshalTo writes the BYE packet at the start of buf and returns its
// length. A reason longer than 255 octets yields ErrTooLong.
func (g *Goodbye) MarshalTo(buf []byte) (int, error) {
	if g.SourceCount > MaxReports {
		return 0, ErrTooMany
	}
	if len(g.Reason) > maxText {
		return 0, ErrTooLong
	}
	size := g.MarshalSize()
	if len(buf) < size {
		return 0, ErrShortBuffer
	}
	putHeader(buf, g.SourceCount, TypeGoodbye, size)
	off := HeaderSize
	for _, s := range g.Valid() {
		binary.BigEndian.PutUint32(buf[off:], s)
		off += 4
	}
	if len(g.Reason) > 0 {
		buf[off] = byte(len(g.Reason))
		off += 1 + copy(buf[off+1:], g.Reason)
		clear(buf[off:size])
	}
	return size, nil
}
