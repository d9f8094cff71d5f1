package rtcp

import "encoding/binary"

// SDES item types (RFC 3550 §6.5). Only CNAME is kept; the others are
// parsed to be skipped.
const (
	sdesEnd   = 0 // terminates a chunk's item list
	sdesCNAME = 1 // canonical name, §6.5.1
)

// maxText is the most octets an SDES item or BYE reason can hold: its length
// is one octet.
const maxText = 255

// SDESChunk is one chunk of an SDES packet: a source and its canonical name.
type SDESChunk struct {
	// Source is the SSRC or CSRC the items describe.
	Source uint32
	// CNAME is the canonical name (RFC 3550 §6.5.1), the identifier
	// that stays constant when a source's SSRC changes. After
	// Unmarshal it aliases the parsed buffer: copy it to keep it longer
	// than the buffer. Empty means no CNAME item.
	CNAME []byte
}

// SourceDescription is an SDES packet (RFC 3550 §6.5). Every compound packet
// carries one with our CNAME (§6.1). Items other than CNAME (NAME, EMAIL,
// TOOL, PRIV, ...) are skipped when parsing and never written.
type SourceDescription struct {
	// Chunks holds the chunks; only the first ChunkCount are valid (the
	// SC field).
	Chunks     [MaxReports]SDESChunk
	ChunkCount uint8
}

// Valid returns the valid chunks as a slice of Chunks, without allocating.
func (s *SourceDescription) Valid() []SDESChunk {
	return s.Chunks[:min(int(s.ChunkCount), MaxReports)]
}

// CNAME returns the canonical name of source, as a sub-slice of the parsed
// buffer.
func (s *SourceDescription) CNAME(source uint32) ([]byte, bool) {
	for _, c := range s.Valid() {
		if c.Source == source && len(c.CNAME) > 0 {
			return c.CNAME, true
		}
	}
	return nil, false
}

// chunkSize is the wire size of c: SSRC, the CNAME item if any, then the
// null octet that ends the list, padded to a 32-bit boundary (RFC 3550 §6.5).
func chunkSize(c *SDESChunk) int {
	items := 0
	if len(c.CNAME) > 0 {
		items = 2 + len(c.CNAME)
	}
	return 4 + (items+1+3)&^3
}

// MarshalSize returns the octets MarshalTo writes.
func (s *SourceDescription) MarshalSize() int {
	size := HeaderSize
	for i := range s.Valid() {
		size += chunkSize(&s.Chunks[i])
	}
	return size
}

// Unmarshal decodes buf, which must hold exactly one SDES packet. CNAMEs
// alias buf. On error s is unspecified.
func (s *SourceDescription) Unmarshal(buf []byte) error {
	h, body, err := single(buf, TypeSourceDescription)
	if err != nil {
		return err
	}
	return s.unmarshalBody(h, body)
}

func (s *SourceDescription) unmarshalBody(h Header, body []byte) error {
	off := 0
	for i := range int(h.Count) {
		if len(body)-off < 4 {
			return ErrBadLength
		}
		c := SDESChunk{Source: binary.BigEndian.Uint32(body[off:])}
		var err error
		off, err = parseItems(body, off+4, &c)
		if err != nil {
			return err
		}
		s.Chunks[i] = c
	}
	s.ChunkCount = h.Count
	return nil
}

// parseItems reads a chunk's items from body[off:] up to and including the
// null item and the padding to the next 32-bit boundary, keeping the first
// CNAME in c. It returns the offset of the next chunk.
func parseItems(body []byte, off int, c *SDESChunk) (int, error) {
	for {
		if off >= len(body) {
			return 0, ErrBadSDES // no null item before the end
		}
		typ := body[off]
		if typ == sdesEnd {
			// RFC 3550 §6.5: the null item has no length octet;
			// further null octets pad to the next 32-bit boundary,
			// counted from the start of the body, which is aligned.
			next := (off + 1 + 3) &^ 3
			if next > len(body) {
				return 0, ErrBadSDES
			}
			return next, nil
		}
		if len(body)-off < 2 {
			return 0, ErrBadSDES
		}
		n := int(body[off+1])
		end := off + 2 + n
		if end > len(body) {
			return 0, ErrBadSDES
		}
		if typ == sdesCNAME && c.CNAME == nil {
			c.CNAME = body[off+2 : end : end]
		}
		off = end
	}
}

// MarshalTo writes the SDES packet at the start of buf and returns its
// length. A CNAME longer than 255 octets yields ErrTooLong.
func (s *SourceDescription) MarshalTo(buf []byte) (int, error) {
	if s.ChunkCount > MaxReports {
		return 0, ErrTooMany
	}
	for _, c := range s.Valid() {
		if len(c.CNAME) > maxText {
			return 0, ErrTooLong
		}
	}
	size := s.MarshalSize()
	if len(buf) < size {
		return 0, ErrShortBuffer
	}
	putHeader(buf, s.ChunkCount, TypeSourceDescription, size)
	off := HeaderSize
	for i := range s.Valid() {
		c := &s.Chunks[i]
		end := off + chunkSize(c)
		binary.BigEndian.PutUint32(buf[off:], c.Source)
		p := off + 4
		if len(c.CNAME) > 0 {
			buf[p] = sdesCNAME
			buf[p+1] = byte(len(c.CNAME))
			p += 2 + copy(buf[p+2:], c.CNAME)
		}
		clear(buf[p:end]) // the null item and the padding
		off = end
	}
	return size, nil
}
