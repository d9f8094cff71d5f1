package sdp

import (
	"strconv"
	"strings"
)

// Parse reads a session description (RFC 8866 §5, §9).
//
// It is strict where a mistake would change the meaning of a call and
// tolerant of what real user agents emit:
//
//   - the first line must be "v=0", and o=, s= and at least one t= must
//     be present; o=, s=, session c= and the like may appear only once;
//   - only the line types of RFC 8866 are accepted (an unknown type letter
//     makes the whole description unusable, §5), and session-level types
//     (o, s, t, r, ...) may not follow the first m= line;
//   - numbers must be plain decimal digits; ports lie in 0..65535; RTP
//     payload types (the formats of an RTP profile) in 0..127;
//   - lines may end in "\r\n" or "\n"; trailing spaces and tabs and blank
//     lines are ignored; NUL and bare CR inside a line are rejected;
//   - attributes are kept verbatim whatever their name, and their values
//     (rtpmap, fmtp, ...) are only interpreted on demand.
//
// Every error is a [*ParseError] wrapping [ErrMalformed] that names the
// line and the problem. Parse never panics.
func Parse(b []byte) (*Session, error) {
	p := parser{s: &Session{}, cur: -1}
	// One conversion: every string in the result is a substring of text.
	text := string(b)
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			continue
		}
		if err := p.line(lineNo, line); err != nil {
			return nil, err
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.s, nil
}

// parser holds the state of one Parse call.
type parser struct {
	s   *Session
	cur int // index of the current m= section, -1 at session level

	sawV, sawO, sawS                bool
	sawI, sawU, sawZ, sawK, sawC    bool // session level
	sawMediaI, sawMediaK, sawMediaC bool // current m= section
	prev                            byte // type of the previous line
	lineNo                          int
	lineText                        string
}

func (p *parser) fail(reason string) error {
	return newParseError(p.lineNo, p.lineText, reason)
}

func (p *parser) line(n int, line string) error {
	p.lineNo, p.lineText = n, line
	if strings.IndexByte(line, 0) >= 0 || strings.IndexByte(line, '\r') >= 0 {
		return p.fail("control character inside line")
	}
	if len(line) < 2 || line[1] != '=' {
		return p.fail(`expected "<type>=<value>"`)
	}
	typ, val := line[0], line[2:]
	// §5: the description starts with v=0.
	if !p.sawV {
		if typ != 'v' {
			return p.fail("first line must be v=0")
		}
		if val != "0" {
			return p.fail("unsupported protocol version")
		}
		p.sawV = true
		p.prev = typ
		return nil
	}
	if val == "" && typ != 's' {
		return p.fail("empty value")
	}
	var err error
	if p.cur < 0 {
		err = p.sessionLine(typ, val)
	} else {
		err = p.mediaLine(typ, val)
	}
	p.prev = typ
	return err
}

// once enforces "at most one" for the line types that RFC 8866 §9 allows
// zero or one time.
func (p *parser) once(seen *bool) error {
	if *seen {
		return p.fail("duplicate line")
	}
	*seen = true
	return nil
}

func (p *parser) sessionLine(typ byte, val string) error {
	s := p.s
	switch typ {
	case 'o':
		if err := p.once(&p.sawO); err != nil {
			return err
		}
		return p.parseOrigin(val)
	case 's':
		if err := p.once(&p.sawS); err != nil {
			return err
		}
		s.Name = val
	case 'i':
		if err := p.once(&p.sawI); err != nil {
			return err
		}
		s.Info = val
	case 'u':
		if err := p.once(&p.sawU); err != nil {
			return err
		}
		s.URI = val
	case 'e':
		s.Emails = append(s.Emails, val)
	case 'p':
		s.Phones = append(s.Phones, val)
	case 'c':
		if err := p.once(&p.sawC); err != nil {
			return err
		}
		c, err := p.parseConnection(val)
		s.Connection = c
		return err
	case 'b':
		bw, err := p.parseBandwidth(val)
		if err == nil {
			s.Bandwidths = append(s.Bandwidths, bw)
		}
		return err
	case 't':
		t, err := p.parseTime(val)
		if err == nil {
			s.Times = append(s.Times, t)
		}
		return err
	case 'r':
		// §5.10: r= lines belong to the t= line right before them.
		if p.prev != 't' && p.prev != 'r' {
			return p.fail("r= must follow t=")
		}
		t := &s.Times[len(s.Times)-1]
		t.Repeats = append(t.Repeats, val)
	case 'z':
		if err := p.once(&p.sawZ); err != nil {
			return err
		}
		s.TimeZones = val
	case 'k':
		if err := p.once(&p.sawK); err != nil {
			return err
		}
		s.Key = val
	case 'a':
		a, err := p.parseAttribute(val)
		if err == nil {
			s.Attributes = append(s.Attributes, a)
		}
		return err
	case 'm':
		return p.parseMedia(val)
	case 'v':
		return p.fail("duplicate line")
	default:
		return p.fail("unknown line type")
	}
	return nil
}

// mediaLine handles the lines allowed in an m= section (RFC 8866 §9:
// i=, c=, b=, k=, a=) and the next m= line.
func (p *parser) mediaLine(typ byte, val string) error {
	m := &p.s.Media[p.cur]
	switch typ {
	case 'm':
		return p.parseMedia(val)
	case 'i':
		if err := p.once(&p.sawMediaI); err != nil {
			return err
		}
		m.Info = val
	case 'c':
		// §5.7 allows several c= lines for layered multicast; a unicast
		// telephony stream has one, and keeping one makes the model simple.
		if err := p.once(&p.sawMediaC); err != nil {
			return err
		}
		c, err := p.parseConnection(val)
		m.Connection = c
		return err
	case 'b':
		bw, err := p.parseBandwidth(val)
		if err == nil {
			m.Bandwidths = append(m.Bandwidths, bw)
		}
		return err
	case 'k':
		if err := p.once(&p.sawMediaK); err != nil {
			return err
		}
		m.Key = val
	case 'a':
		a, err := p.parseAttribute(val)
		if err == nil {
			m.Attributes = append(m.Attributes, a)
		}
		return err
	case 'v', 'o', 's', 'u', 'e', 'p', 't', 'r', 'z':
		return p.fail("session-level line after m=")
	default:
		return p.fail("unknown line type")
	}
	return nil
}

func (p *parser) finish() error {
	switch {
	case !p.sawV:
		return newParseError(0, "", "empty description (no v= line)")
	case !p.sawO:
		return newParseError(0, "", "missing o= line")
	case !p.sawS:
		return newParseError(0, "", "missing s= line")
	case len(p.s.Times) == 0:
		return newParseError(0, "", "missing t= line")
	}
	return nil
}

// parseOrigin reads "o=<username> <sess-id> <sess-version> <nettype>
// <addrtype> <unicast-address>" (RFC 8866 §5.2).
func (p *parser) parseOrigin(val string) error {
	f := fields(val)
	if len(f) != 6 {
		return p.fail("o= needs 6 fields")
	}
	id, ok := parseUint(f[1])
	if !ok {
		return p.fail("invalid session id")
	}
	ver, ok := parseUint(f[2])
	if !ok {
		return p.fail("invalid session version")
	}
	p.s.Origin = Origin{
		Username: f[0], SessionID: id, SessionVersion: ver,
		NetType: f[3], AddrType: f[4], Address: f[5],
	}
	return nil
}

// parseConnection reads "c=<nettype> <addrtype> <connection-address>"
// (RFC 8866 §5.7).
func (p *parser) parseConnection(val string) (*Connection, error) {
	f := fields(val)
	if len(f) != 3 {
		return nil, p.fail("c= needs 3 fields")
	}
	return &Connection{NetType: f[0], AddrType: f[1], Address: f[2]}, nil
}

// parseBandwidth reads "b=<bwtype>:<bandwidth>" (RFC 8866 §5.8).
func (p *parser) parseBandwidth(val string) (Bandwidth, error) {
	typ, num, ok := strings.Cut(val, ":")
	if !ok || !isToken(typ) {
		return Bandwidth{}, p.fail("b= needs <type>:<value>")
	}
	v, ok := parseUint(num)
	if !ok {
		return Bandwidth{}, p.fail("invalid bandwidth value")
	}
	return Bandwidth{Type: typ, Value: v}, nil
}

// parseTime reads "t=<start-time> <stop-time>" (RFC 8866 §5.9).
func (p *parser) parseTime(val string) (Time, error) {
	f := fields(val)
	if len(f) != 2 {
		return Time{}, p.fail("t= needs 2 fields")
	}
	start, ok1 := parseUint(f[0])
	stop, ok2 := parseUint(f[1])
	if !ok1 || !ok2 {
		return Time{}, p.fail("invalid time")
	}
	return Time{Start: start, Stop: stop}, nil
}

// parseAttribute reads "a=<attribute-name>[:<attribute-value>]"
// (RFC 8866 §5.13). The value is kept verbatim, leading spaces included.
func (p *parser) parseAttribute(val string) (Attribute, error) {
	key, value, _ := strings.Cut(val, ":")
	if !isToken(key) {
		return Attribute{}, p.fail("invalid attribute name")
	}
	return Attribute{Key: key, Value: value}, nil
}

// parseMedia reads "m=<media> <port>[/<number of ports>] <proto> <fmt> ..."
// (RFC 8866 §5.14) and opens a new m= section.
func (p *parser) parseMedia(val string) error {
	f := fields(val)
	if len(f) < 3 {
		return p.fail("m= needs media, port, proto and formats")
	}
	if !isToken(f[0]) {
		return p.fail("invalid media type")
	}
	m := Media{Type: f[0], Proto: f[2]}
	portStr, countStr, hasCount := strings.Cut(f[1], "/")
	port, ok := parseUint(portStr)
	if !ok || port > 65535 {
		return p.fail("invalid port")
	}
	m.Port = int(port)
	if hasCount {
		n, ok := parseUint(countStr)
		if !ok || n == 0 || n > 65535 {
			return p.fail("invalid number of ports")
		}
		m.NumPorts = int(n)
	}
	if len(f) > 3 {
		m.Formats = f[3:]
	}
	// The grammar requires a format; RFC 3264 §6 wants one even on a
	// rejected stream, but some UAs omit it there, which is harmless.
	if len(m.Formats) == 0 && m.Port != 0 {
		return p.fail("m= line without formats")
	}
	if isRTPProto(m.Proto) {
		for _, format := range m.Formats {
			if pt, ok := parseUint(format); !ok || pt > 127 {
				return p.fail("invalid RTP payload type " + strconv.Quote(format))
			}
		}
	}
	p.s.Media = append(p.s.Media, m)
	p.cur = len(p.s.Media) - 1
	p.sawMediaI, p.sawMediaK, p.sawMediaC = false, false, false
	return nil
}

// fields splits on runs of spaces and tabs. RFC 8866 separates fields by a
// single space; tolerating runs costs nothing.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
}

// parseUint accepts only ASCII decimal digits (no sign, no underscores)
// that fit in a uint64.
func parseUint(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// isToken reports whether s is a non-empty RFC 8866 §9 token:
// token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A /
// %x5E-7E.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x21, c >= 0x23 && c <= 0x27, c == 0x2A, c == 0x2B,
			c == 0x2D, c == 0x2E, c >= 0x30 && c <= 0x39,
			c >= 0x41 && c <= 0x5A, c >= 0x5E && c <= 0x7E:
		default:
			return false
		}
	}
	return true
}
