package rtcp

// Compound is a compound RTCP packet (RFC 3550 §6.1), the unit every RTCP
// datagram carries: a leading SR or RR, an SDES with the CNAME, and maybe a
// BYE. A receive loop keeps one Compound per session and Unmarshals each
// datagram into it; nothing is allocated, and CNAMEs and the BYE reason
// alias the datagram.
//
// It decodes the first packet of each kind it understands: the leading
// report, the first SDES and the first BYE. Further packets (additional RRs
// for more than 31 sources, a second SDES, APP, feedback, XR) are validated
// for framing and counted in Skipped. That is all a two-party call needs:
// the peer reports on one stream, ours.
type Compound struct {
	// Report says which leading report is valid: TypeSenderReport
	// (SenderReport), TypeReceiverReport (ReceiverReport), or
	// TypeUnknown when the packet starts with a BYE (see Unmarshal).
	Report         PacketType
	SenderReport   SenderReport
	ReceiverReport ReceiverReport
	// HasSDES says whether SourceDescription is valid.
	HasSDES           bool
	SourceDescription SourceDescription
	// HasGoodbye says whether Goodbye is valid.
	HasGoodbye bool
	Goodbye    Goodbye
	// Skipped counts the packets that were not decoded.
	Skipped int
}

// Blocks returns the report blocks of the leading report, or nil.
func (c *Compound) Blocks() []ReceptionReport {
	switch c.Report {
	case TypeSenderReport:
		return c.SenderReport.Blocks()
	case TypeReceiverReport:
		return c.ReceiverReport.Blocks()
	}
	return nil
}

// ReportAbout returns the leading report's block about ssrc: with our own
// SSRC, the peer's view of our outgoing stream, which feeds
// SenderStats.ReceivedReport for the round-trip time.
func (c *Compound) ReportAbout(ssrc uint32) (ReceptionReport, bool) {
	return find(c.Blocks(), ssrc)
}

// Unmarshal decodes a compound RTCP datagram into c. It applies the validity
// checks of RFC 3550 Appendix A.2: every packet has version 2, only the last
// packet may be padded, and the length fields add up to the datagram
// exactly. The first packet must be an SR or RR (§6.1), with one tolerated
// exception: a compound packet that starts with a BYE, which libre-based
// endpoints (baresip 1.0, captured in testdata/baresip.txt) send at
// hang-up; c.Report is then TypeUnknown. Anything else that does not start
// with a report (an APP alone, reduced-size RTCP of RFC 5506) yields
// ErrBadFirstPacket.
//
// On error the contents of c are unspecified; the datagram should be
// dropped and counted.
func (c *Compound) Unmarshal(buf []byte) error {
	c.Report, c.HasSDES, c.HasGoodbye, c.Skipped = TypeUnknown, false, false, 0
	if len(buf) == 0 {
		return ErrTooShort
	}
	for first := true; len(buf) > 0; first = false {
		h, pkt, rest, err := NextPacket(buf)
		if err != nil {
			return err
		}
		if h.Padding && len(rest) > 0 {
			return ErrBadPadding // padding only on the last packet
		}
		if first && h.Type != TypeSenderReport && h.Type != TypeReceiverReport &&
			h.Type != TypeGoodbye {
			return ErrBadFirstPacket
		}
		if err := c.decode(h, pkt, first); err != nil {
			return err
		}
		buf = rest
	}
	return nil
}

// decode decodes one packet of a compound packet into c, or counts it as
// skipped.
func (c *Compound) decode(h Header, pkt []byte, first bool) error {
	body, err := unpad(h, pkt)
	if err != nil {
		return err
	}
	switch {
	case first && h.Type == TypeSenderReport:
		c.Report = TypeSenderReport
		return c.SenderReport.unmarshalBody(h, body)
	case first && h.Type == TypeReceiverReport:
		c.Report = TypeReceiverReport
		return c.ReceiverReport.unmarshalBody(h, body)
	case h.Type == TypeSourceDescription && !c.HasSDES:
		c.HasSDES = true
		return c.SourceDescription.unmarshalBody(h, body)
	case h.Type == TypeGoodbye && !c.HasGoodbye:
		c.HasGoodbye = true
		return c.Goodbye.unmarshalBody(h, body)
	}
	c.Skipped++
	return nil
}

// MarshalSize returns the octets MarshalTo writes.
func (c *Compound) MarshalSize() int {
	size := 0
	switch c.Report {
	case TypeSenderReport:
		size = c.SenderReport.MarshalSize()
	case TypeReceiverReport:
		size = c.ReceiverReport.MarshalSize()
	}
	if c.HasSDES {
		size += c.SourceDescription.MarshalSize()
	}
	if c.HasGoodbye {
		size += c.Goodbye.MarshalSize()
	}
	return size
}

// MarshalTo writes the compound packet at the start of buf in the order of
// RFC 3550 §6.1: the report selected by c.Report (which must be SR or RR,
// else ErrBadFirstPacket), then the SDES if HasSDES, then the BYE if
// HasGoodbye. It returns the datagram's length. On error the contents of buf
// are unspecified.
func (c *Compound) MarshalTo(buf []byte) (int, error) {
	var n int
	var err error
	switch c.Report {
	case TypeSenderReport:
		n, err = c.SenderReport.MarshalTo(buf)
	case TypeReceiverReport:
		n, err = c.ReceiverReport.MarshalTo(buf)
	default:
		return 0, ErrBadFirstPacket
	}
	if err != nil {
		return 0, err
	}
	if c.HasSDES {
		m, err := c.SourceDescription.MarshalTo(buf[n:])
		if err != nil {
			return 0, err
		}
		n += m
	}
	if c.HasGoodbye {
		m, err := c.Goodbye.MarshalTo(buf[n:])
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}
