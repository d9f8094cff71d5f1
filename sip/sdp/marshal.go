package sdp

import (
	"strconv"
	"strings"
)

// Marshal writes the description in the canonical line order of
// RFC 8866 §5 (v o s i u e p c b t r z k a, then per stream m i c b k a)
// with "\r\n" endings. A nil session yields nil.
//
// Values are written as they are, except that CR, LF and NUL are dropped
// so a field can never inject a line; empty tokens are written as "-".
// Whatever [Parse] returned marshals to a body that parses back to an
// equal Session.
func (s *Session) Marshal() []byte {
	if s == nil {
		return nil
	}
	return s.AppendTo(make([]byte, 0, s.sizeHint()))
}

// String returns the marshalled description, for logs and tests.
func (s *Session) String() string { return string(s.Marshal()) }

// AppendTo appends the marshalled description to b and returns the
// extended buffer, for callers that build the SIP message in one buffer.
func (s *Session) AppendTo(b []byte) []byte {
	if s == nil {
		return b
	}
	b = append(b, "v=0\r\n"...)

	o := s.Origin
	b = append(b, "o="...)
	b = appendToken(b, o.Username)
	b = append(b, ' ')
	b = strconv.AppendUint(b, o.SessionID, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, o.SessionVersion, 10)
	b = append(b, ' ')
	b = appendToken(b, o.NetType)
	b = append(b, ' ')
	b = appendToken(b, o.AddrType)
	b = append(b, ' ')
	b = appendToken(b, o.Address)
	b = append(b, "\r\n"...)

	// RFC 8866 §5.3: "s= " when there is no meaningful name.
	if s.Name == "" {
		b = append(b, "s= \r\n"...)
	} else {
		b = appendLine(b, 's', s.Name)
	}
	b = appendOptional(b, 'i', s.Info)
	b = appendOptional(b, 'u', s.URI)
	for _, e := range s.Emails {
		b = appendLine(b, 'e', e)
	}
	for _, p := range s.Phones {
		b = appendLine(b, 'p', p)
	}
	b = appendConnection(b, s.Connection)
	b = appendBandwidths(b, s.Bandwidths)
	if len(s.Times) == 0 {
		b = append(b, "t=0 0\r\n"...) // t= is mandatory (§5.9)
	}
	for _, t := range s.Times {
		b = append(b, "t="...)
		b = strconv.AppendUint(b, t.Start, 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, t.Stop, 10)
		b = append(b, "\r\n"...)
		for _, r := range t.Repeats {
			b = appendLine(b, 'r', r)
		}
	}
	b = appendOptional(b, 'z', s.TimeZones)
	b = appendOptional(b, 'k', s.Key)
	b = appendAttributes(b, s.Attributes)

	for i := range s.Media {
		b = s.Media[i].appendTo(b)
	}
	return b
}

// appendTo writes one m= section (RFC 8866 §5.14, §9).
func (m *Media) appendTo(b []byte) []byte {
	b = append(b, "m="...)
	b = appendToken(b, m.Type)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.Port), 10)
	if m.NumPorts != 0 {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(m.NumPorts), 10)
	}
	b = append(b, ' ')
	b = appendToken(b, m.Proto)
	for _, f := range m.Formats {
		b = append(b, ' ')
		b = appendToken(b, f)
	}
	b = append(b, "\r\n"...)
	b = appendOptional(b, 'i', m.Info)
	b = appendConnection(b, m.Connection)
	b = appendBandwidths(b, m.Bandwidths)
	b = appendOptional(b, 'k', m.Key)
	return appendAttributes(b, m.Attributes)
}

func appendConnection(b []byte, c *Connection) []byte {
	if c == nil {
		return b
	}
	b = append(b, "c="...)
	b = appendToken(b, c.NetType)
	b = append(b, ' ')
	b = appendToken(b, c.AddrType)
	b = append(b, ' ')
	b = appendToken(b, c.Address)
	return append(b, "\r\n"...)
}

func appendBandwidths(b []byte, bws []Bandwidth) []byte {
	for _, bw := range bws {
		b = append(b, "b="...)
		b = appendToken(b, bw.Type)
		b = append(b, ':')
		b = strconv.AppendUint(b, bw.Value, 10)
		b = append(b, "\r\n"...)
	}
	return b
}

func appendAttributes(b []byte, as Attributes) []byte {
	for _, a := range as {
		b = append(b, "a="...)
		b = appendToken(b, a.Key)
		if a.Value != "" {
			b = append(b, ':')
			b = appendText(b, a.Value)
		}
		b = append(b, "\r\n"...)
	}
	return b
}

// appendOptional writes a line only when its value is set.
func appendOptional(b []byte, typ byte, v string) []byte {
	if v == "" {
		return b
	}
	return appendLine(b, typ, v)
}

func appendLine(b []byte, typ byte, v string) []byte {
	b = append(b, typ, '=')
	b = appendText(b, v)
	return append(b, "\r\n"...)
}

// appendToken writes a field that must be one non-empty word; "-" stands
// in for an empty one so the line keeps its field count.
func appendToken(b []byte, v string) []byte {
	if v == "" {
		return append(b, '-')
	}
	return appendText(b, v)
}

// appendText writes v without CR, LF and NUL, which cannot occur inside a
// line (RFC 8866 §9 byte-string).
func appendText(b []byte, v string) []byte {
	if strings.IndexAny(v, "\r\n\x00") < 0 {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\r', '\n', 0:
		default:
			b = append(b, c)
		}
	}
	return b
}

// sizeHint estimates the marshalled size to allocate once.
func (s *Session) sizeHint() int {
	n := 128 + len(s.Name) + len(s.Origin.Address) + 32*len(s.Attributes)
	for i := range s.Media {
		m := &s.Media[i]
		n += 32 + 4*len(m.Formats)
		for _, a := range m.Attributes {
			n += 5 + len(a.Key) + len(a.Value)
		}
	}
	return n
}
