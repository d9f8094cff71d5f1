package rtcp

import "encoding/binary"

// ReceptionReport is one report block of an SR or RR (RFC 3550 §6.4.1): how
// well the sender of the report receives the source SSRC. ReceiverStats
// builds the blocks we send; SenderStats.ReceivedReport reads the block a
// peer sends about our stream.
type ReceptionReport struct {
	// SSRC is the source this block is about.
	SSRC uint32
	// FractionLost is the fraction of packets lost since the previous
	// report, as a fixed-point number with the binary point at the left:
	// 256 * lost / expected (RFC 3550 Appendix A.3).
	FractionLost uint8
	// TotalLost is the cumulative number of packets lost: expected minus
	// received. It is a signed 24-bit field, negative when duplicates
	// outnumber losses; MarshalTo clamps it to [-8388608, 8388607].
	TotalLost int32
	// LastSequence is the extended highest sequence number received:
	// the sequence number in the low 16 bits, the count of wrap-arounds
	// in the high 16 (RFC 3550 Appendix A.1).
	LastSequence uint32
	// Jitter is the interarrival jitter in timestamp units
	// (RFC 3550 Appendix A.8).
	Jitter uint32
	// LastSenderReport (LSR) is the middle 32 bits of the NTP timestamp of
	// the last SR received from the source, 0 if none.
	LastSenderReport uint32
	// Delay (DLSR) is the time between receiving that SR and sending this
	// report, in units of 1/65536 s; 0 if no SR was received.
	Delay uint32
}

const (
	maxTotalLost = 1<<23 - 1
	minTotalLost = -1 << 23
)

// unmarshal decodes a block from b, which holds at least ReportBlockSize
// octets.
func (r *ReceptionReport) unmarshal(b []byte) {
	b = b[:ReportBlockSize] // one bounds check for all the reads below
	// Cumulative lost is a signed 24-bit field: shift it to the top of
	// an int32 and back to sign-extend it.
	lost := int32(binary.BigEndian.Uint32(b[4:]) << 8)
	*r = ReceptionReport{
		SSRC:             binary.BigEndian.Uint32(b),
		FractionLost:     b[4],
		TotalLost:        lost >> 8,
		LastSequence:     binary.BigEndian.Uint32(b[8:]),
		Jitter:           binary.BigEndian.Uint32(b[12:]),
		LastSenderReport: binary.BigEndian.Uint32(b[16:]),
		Delay:            binary.BigEndian.Uint32(b[20:]),
	}
}

// marshal writes the block into b, which holds at least ReportBlockSize
// octets.
func (r *ReceptionReport) marshal(b []byte) {
	b = b[:ReportBlockSize]
	lost := min(max(r.TotalLost, minTotalLost), maxTotalLost)
	binary.BigEndian.PutUint32(b, r.SSRC)
	binary.BigEndian.PutUint32(b[4:], uint32(r.FractionLost)<<24|uint32(lost)&0xffffff)
	binary.BigEndian.PutUint32(b[8:], r.LastSequence)
	binary.BigEndian.PutUint32(b[12:], r.Jitter)
	binary.BigEndian.PutUint32(b[16:], r.LastSenderReport)
	binary.BigEndian.PutUint32(b[20:], r.Delay)
}

// blocks returns the valid blocks of a report's array, clamping a count
// above MaxReports so that a caller's bad count cannot make it panic.
func blocks(a *[MaxReports]ReceptionReport, n uint8) []ReceptionReport {
	return a[:min(int(n), MaxReports)]
}

func addReport(a *[MaxReports]ReceptionReport, n *uint8, r ReceptionReport) error {
	if *n >= MaxReports {
		return ErrTooMany
	}
	a[*n] = r
	*n++
	return nil
}

func find(bs []ReceptionReport, ssrc uint32) (ReceptionReport, bool) {
	for _, r := range bs {
		if r.SSRC == ssrc {
			return r, true
		}
	}
	return ReceptionReport{}, false
}

// unmarshalBlocks decodes count blocks from b, which must hold them; octets
// after them are a profile-specific extension (RFC 3550 §6.4.1), skipped.
func unmarshalBlocks(a *[MaxReports]ReceptionReport, b []byte, count uint8) error {
	if len(b) < int(count)*ReportBlockSize {
		return ErrBadLength
	}
	for i := range int(count) {
		a[i].unmarshal(b[i*ReportBlockSize:])
	}
	return nil
}

func marshalBlocks(b []byte, bs []ReceptionReport) {
	for i := range bs {
		bs[i].marshal(b[i*ReportBlockSize:])
	}
}

// SenderReport is an SR packet (RFC 3550 §6.4.1): a source that sends RTP
// tells the times and counts of its stream, and reports on what it receives.
// It holds its report blocks in a fixed array, so a receive loop can keep one
// SenderReport and Unmarshal into it without allocating. Profile-specific
// extensions after the blocks are skipped.
type SenderReport struct {
	// SSRC is the sender of this report.
	SSRC uint32
	// NTPTime is the wallclock time when the report was sent, in the
	// 64-bit NTP format (see NTPTime); its middle 32 bits come back to
	// the sender as LSR.
	NTPTime uint64
	// RTPTime is the RTP timestamp corresponding to NTPTime, in the
	// stream's clock, so a receiver can map media time to wallclock.
	RTPTime uint32
	// PacketCount and OctetCount are the RTP data packets and payload
	// octets (headers and padding excluded) sent since the stream
	// started, modulo 2^32.
	PacketCount uint32
	OctetCount  uint32
	// Reports holds the report blocks; only the first ReportCount are
	// valid (the RC field).
	Reports     [MaxReports]ReceptionReport
	ReportCount uint8
}

// Blocks returns the valid report blocks as a slice of Reports, without
// copying or allocating.
func (r *SenderReport) Blocks() []ReceptionReport { return blocks(&r.Reports, r.ReportCount) }

// AddReport appends a block, or returns ErrTooMany when all MaxReports are
// in use.
func (r *SenderReport) AddReport(b ReceptionReport) error {
	return addReport(&r.Reports, &r.ReportCount, b)
}

// Find returns the block about ssrc, so the session can pick the report on
// its own stream out of a peer's SR.
func (r *SenderReport) Find(ssrc uint32) (ReceptionReport, bool) { return find(r.Blocks(), ssrc) }

const senderInfoSize = 20

// MarshalSize returns the octets MarshalTo writes.
func (r *SenderReport) MarshalSize() int {
	return HeaderSize + 4 + senderInfoSize + ReportBlockSize*min(int(r.ReportCount), MaxReports)
}

// Unmarshal decodes buf, which must hold exactly one SR (use Compound or
// NextPacket to split compound datagrams). On error r is unspecified.
func (r *SenderReport) Unmarshal(buf []byte) error {
	h, body, err := single(buf, TypeSenderReport)
	if err != nil {
		return err
	}
	return r.unmarshalBody(h, body)
}

func (r *SenderReport) unmarshalBody(h Header, body []byte) error {
	if len(body) < 4+senderInfoSize {
		return ErrTooShort
	}
	r.SSRC = binary.BigEndian.Uint32(body)
	r.NTPTime = binary.BigEndian.Uint64(body[4:])
	r.RTPTime = binary.BigEndian.Uint32(body[12:])
	r.PacketCount = binary.BigEndian.Uint32(body[16:])
	r.OctetCount = binary.BigEndian.Uint32(body[20:])
	if err := unmarshalBlocks(&r.Reports, body[4+senderInfoSize:], h.Count); err != nil {
		return err
	}
	r.ReportCount = h.Count
	return nil
}

// MarshalTo writes the SR at the start of buf and returns its length. It
// writes no padding and no profile extension.
func (r *SenderReport) MarshalTo(buf []byte) (int, error) {
	if r.ReportCount > MaxReports {
		return 0, ErrTooMany
	}
	size := r.MarshalSize()
	if len(buf) < size {
		return 0, ErrShortBuffer
	}
	putHeader(buf, r.ReportCount, TypeSenderReport, size)
	binary.BigEndian.PutUint32(buf[4:], r.SSRC)
	binary.BigEndian.PutUint64(buf[8:], r.NTPTime)
	binary.BigEndian.PutUint32(buf[16:], r.RTPTime)
	binary.BigEndian.PutUint32(buf[20:], r.PacketCount)
	binary.BigEndian.PutUint32(buf[24:], r.OctetCount)
	marshalBlocks(buf[28:], r.Blocks())
	return size, nil
}

// ReceiverReport is an RR packet (RFC 3550 §6.4.2): reception reports from a
// participant that has not sent RTP recently. Like SenderReport it keeps
// its blocks in a fixed array so parsing does not allocate.
type ReceiverReport struct {
	// SSRC is the sender of this report.
	SSRC uint32
	// Reports holds the report blocks; only the first ReportCount are
	// valid (the RC field).
	Reports     [MaxReports]ReceptionReport
	ReportCount uint8
}

// Blocks returns the valid report blocks as a slice of Reports, without
// copying or allocating.
func (r *ReceiverReport) Blocks() []ReceptionReport { return blocks(&r.Reports, r.ReportCount) }

// AddReport appends a block, or returns ErrTooMany when all MaxReports are
// in use.
func (r *ReceiverReport) AddReport(b ReceptionReport) error {
	return addReport(&r.Reports, &r.ReportCount, b)
}

// Find returns the block about ssrc, so the session can pick the report on
// its own stream out of a peer's RR.
func (r *ReceiverReport) Find(ssrc uint32) (ReceptionReport, bool) { return find(r.Blocks(), ssrc) }

// MarshalSize returns the octets MarshalTo writes.
func (r *ReceiverReport) MarshalSize() int {
	return HeaderSize + 4 + ReportBlockSize*min(int(r.ReportCount), MaxReports)
}

// Unmarshal decodes buf, which must hold exactly one RR. On error r is
// unspecified.
func (r *ReceiverReport) Unmarshal(buf []byte) error {
	h, body, err := single(buf, TypeReceiverReport)
	if err != nil {
		return err
	}
	return r.unmarshalBody(h, body)
}

func (r *ReceiverReport) unmarshalBody(h Header, body []byte) error {
	if len(body) < 4 {
		return ErrTooShort
	}
	r.SSRC = binary.BigEndian.Uint32(body)
	if err := unmarshalBlocks(&r.Reports, body[4:], h.Count); err != nil {
		return err
	}
	r.ReportCount = h.Count
	return nil
}

// MarshalTo writes the RR at the start of buf and returns its length.
func (r *ReceiverReport) MarshalTo(buf []byte) (int, error) {
	if r.ReportCount > MaxReports {
		return 0, ErrTooMany
	}
	size := r.MarshalSize()
	if len(buf) < size {
		return 0, ErrShortBuffer
	}
	putHeader(buf, r.ReportCount, TypeReceiverReport, size)
	binary.BigEndian.PutUint32(buf[4:], r.SSRC)
	marshalBlocks(buf[8:], r.Blocks())
	return size, nil
}
