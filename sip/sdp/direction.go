package sdp

// Direction is the media direction attribute of a stream (RFC 8866 §6.7,
// RFC 3264 §5.1): whether a party sends, receives, both or neither.
// The zero value Unknown means "not stated"; RFC 3264 reads that as
// sendrecv.
type Direction int

// Directions, named after their attributes.
const (
	Unknown  Direction = iota // no direction attribute
	SendRecv                  // a=sendrecv
	SendOnly                  // a=sendonly
	RecvOnly                  // a=recvonly
	Inactive                  // a=inactive
)

// String returns the attribute name ("sendrecv", ...) or "unknown".
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// ParseDirection maps an attribute name to its Direction, Unknown for any
// other name.
func ParseDirection(name string) Direction {
	switch name {
	case "sendrecv":
		return SendRecv
	case "sendonly":
		return SendOnly
	case "recvonly":
		return RecvOnly
	case "inactive":
		return Inactive
	default:
		return Unknown
	}
}

// Reverse is the direction an answerer uses for a stream offered with d
// (RFC 3264 §6.1): sendonly becomes recvonly and the reverse, sendrecv and
// inactive stay. Unknown is read as sendrecv.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	default:
		return SendRecv
	}
}

// Sends reports whether a party with this direction sends media. Unknown
// is read as sendrecv (RFC 3264 §5.1).
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly || d == Unknown }

// Receives reports whether a party with this direction receives media.
// Unknown is read as sendrecv.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly || d == Unknown }

// directionOf builds the Direction with the given capabilities.
func directionOf(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	default:
		return Inactive
	}
}

// attrDirection returns the first direction attribute in as, or Unknown.
func attrDirection(as Attributes) Direction {
	for _, a := range as {
		if d := ParseDirection(a.Key); d != Unknown {
			return d
		}
	}
	return Unknown
}

// Direction returns the stream's own direction attribute, Unknown when it
// has none. Use [Session.MediaDirection] for the effective direction,
// which falls back to the session level.
func (m *Media) Direction() Direction {
	if m == nil {
		return Unknown
	}
	return attrDirection(m.Attributes)
}

// SetDirection replaces every direction attribute of the stream with d;
// Unknown removes them.
func (m *Media) SetDirection(d Direction) {
	if m == nil {
		return
	}
	// A fresh slice: the old backing array may be shared with a copy.
	kept := make(Attributes, 0, len(m.Attributes)+1)
	for _, a := range m.Attributes {
		if ParseDirection(a.Key) == Unknown {
			kept = append(kept, a)
		}
	}
	m.Attributes = kept
	if d != Unknown {
		m.Attributes = append(m.Attributes, Attribute{Key: d.String()})
	}
}

// Direction returns the session-level direction attribute, Unknown when
// there is none.
func (s *Session) Direction() Direction {
	if s == nil {
		return Unknown
	}
	return attrDirection(s.Attributes)
}

// MediaDirection is the effective direction of stream m of s
// (RFC 8866 §6.7): the media-level attribute, else the session-level one,
// else sendrecv. It never returns Unknown.
func (s *Session) MediaDirection(m *Media) Direction {
	if d := m.Direction(); d != Unknown {
		return d
	}
	if d := s.Direction(); d != Unknown {
		return d
	}
	return SendRecv
}
