package sdp

import "strings"

// Session is one session description (RFC 8866 §5). Parse fills it from a
// body; Offer and Answer build one; Marshal writes it back. Fields that a
// telephony UA never interprets (i=, u=, e=, p=, r=, z=, k=) are kept as
// raw text so descriptions round-trip.
type Session struct {
	// Origin is the o= line (RFC 8866 §5.2).
	Origin Origin
	// Name is the s= line (§5.3). An empty name is written as "s= ".
	Name string
	// Info is the session-level i= line (§5.4), "" when absent.
	Info string
	// URI is the u= line (§5.5), "" when absent.
	URI string
	// Emails are the e= lines (§5.6).
	Emails []string
	// Phones are the p= lines (§5.6).
	Phones []string
	// Connection is the session-level c= line (§5.7), nil when every m-line
	// carries its own.
	Connection *Connection
	// Bandwidths are the session-level b= lines (§5.8).
	Bandwidths []Bandwidth
	// Times are the t= lines with their r= lines (§5.9, §5.10). Parse
	// requires at least one; telephony uses "t=0 0".
	Times []Time
	// TimeZones is the raw z= value (§5.11), "" when absent.
	TimeZones string
	// Key is the raw k= value (§5.12, obsolete), "" when absent.
	Key string
	// Attributes are the session-level a= lines (§5.13), in order.
	Attributes Attributes
	// Media are the m= sections in order; their index is what RFC 3264
	// matches between offer and answer.
	Media []Media
}

// Origin is the o= line (RFC 8866 §5.2). The tuple identifies a session;
// SessionVersion must increase whenever the description changes
// (RFC 3264 §8), see [OriginState].
type Origin struct {
	Username       string // "-" when the UA has no user concept
	SessionID      uint64 // numeric session id, unique for the user
	SessionVersion uint64 // bumped by one on every change
	NetType        string // "IN"
	AddrType       string // "IP4" or "IP6"
	Address        string // address or host name of the originator
}

// Connection is a c= line (RFC 8866 §5.7): where the peer wants to receive
// media. Address is kept as written (it may be a host name or carry a
// multicast "/ttl" suffix); [Session.AudioAddr] turns it into an address.
type Connection struct {
	NetType  string // "IN"
	AddrType string // "IP4" or "IP6"
	Address  string // "192.0.2.1", "2001:db8::1", "0.0.0.0" for RFC 2543 hold
}

// Bandwidth is a b= line (RFC 8866 §5.8), e.g. b=AS:64 or b=TIAS:64000.
type Bandwidth struct {
	Type  string // "AS", "CT", "TIAS", ... unknown types are kept
	Value uint64 // kilobits per second for AS/CT, bits per second for TIAS
}

// Time is a t= line and the r= lines that follow it (RFC 8866 §5.9, §5.10).
type Time struct {
	Start, Stop uint64   // NTP seconds, 0 0 for an unbounded session
	Repeats     []string // raw r= values
}

// Attribute is an a= line (RFC 8866 §5.13): "a=key:value", or a property
// flag "a=key" with an empty Value.
type Attribute struct {
	Key   string
	Value string
}

// Attributes is an ordered list of a= lines with lookup helpers. Keys are
// compared exactly (attribute names are case-sensitive in practice, and
// every registered name is lower case).
type Attributes []Attribute

// Get returns the value of the first attribute named key and whether one
// exists. A flag attribute such as a=sendrecv yields ("", true).
func (as Attributes) Get(key string) (string, bool) {
	for _, a := range as {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// Has reports whether an attribute named key exists.
func (as Attributes) Has(key string) bool {
	_, ok := as.Get(key)
	return ok
}

// Values returns the values of every attribute named key, in order; use it
// for repeatable attributes such as rtpmap, fmtp or candidate.
func (as Attributes) Values(key string) []string {
	var vs []string
	for _, a := range as {
		if a.Key == key {
			vs = append(vs, a.Value)
		}
	}
	return vs
}

// Attr returns the first session-level attribute named key.
func (s *Session) Attr(key string) (string, bool) {
	if s == nil {
		return "", false
	}
	return s.Attributes.Get(key)
}

// Media is one m= section (RFC 8866 §5.14) with its media-level lines.
type Media struct {
	// Type is the media type: "audio", "video", "application", ...
	Type string
	// Port is the transport port; 0 means the stream is rejected or
	// disabled (RFC 3264 §6, §8.2).
	Port int
	// NumPorts is the optional "/<number of ports>" count, 0 when absent.
	NumPorts int
	// Proto is the transport protocol: "RTP/AVP", "RTP/SAVP",
	// "UDP/TLS/RTP/SAVPF", ...
	Proto string
	// Formats are the media formats as written; for RTP profiles they are
	// payload type numbers, see [Media.RTPFormats].
	Formats []string
	// Info is the media-level i= line, "" when absent.
	Info string
	// Connection is the media-level c= line; it overrides the session's.
	Connection *Connection
	// Bandwidths are the media-level b= lines.
	Bandwidths []Bandwidth
	// Key is the raw media-level k= value, "" when absent.
	Key string
	// Attributes are the media-level a= lines, in order.
	Attributes Attributes
}

// Attr returns the first media-level attribute named key, e.g.
// m.Attr("rtcp"). It does not fall back to session-level attributes.
func (m *Media) Attr(key string) (string, bool) {
	if m == nil {
		return "", false
	}
	return m.Attributes.Get(key)
}

// Rejected reports whether the stream is rejected or disabled: a port of
// zero (RFC 3264 §6, §8.2).
func (m *Media) Rejected() bool { return m == nil || m.Port == 0 }

// IsRTP reports whether the transport is an RTP profile, in which case the
// formats are payload type numbers (RFC 8866 §5.14).
func (m *Media) IsRTP() bool { return m != nil && isRTPProto(m.Proto) }

func isRTPProto(proto string) bool {
	// RTP/AVP, RTP/AVPF, RTP/SAVP, RTP/SAVPF, TCP/RTP/AVP,
	// UDP/TLS/RTP/SAVP(F), TCP/TLS/RTP/SAVPF, DCCP/RTP/AVP ...
	return strings.HasPrefix(proto, "RTP/") || strings.Contains(proto, "/RTP/")
}
