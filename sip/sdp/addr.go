package sdp

import (
	"fmt"
	"net/netip"
	"strings"
)

// AudioAddr returns where to send RTP for stream m of s: the address of
// the media-level c= line, else the session-level one (RFC 8866 §5.7),
// with the m= port. It works for any stream type despite its name.
//
// Hold in the RFC 2543 style, c=IN IP4 0.0.0.0, is not an error: the
// result's Addr().IsUnspecified() is true, which tells the media layer to
// send nothing (RFC 3264 §8.4). Host names are not resolved; they, a
// missing c= line, an address that contradicts its address type, and a
// rejected stream (port 0) yield an error wrapping [ErrAddress].
func (s *Session) AudioAddr(m *Media) (netip.AddrPort, error) {
	if m == nil {
		return netip.AddrPort{}, fmt.Errorf("%w: no stream", ErrAddress)
	}
	if m.Port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: port 0 (stream rejected)", ErrAddress)
	}
	c := m.Connection
	if c == nil && s != nil {
		c = s.Connection
	}
	if c == nil {
		return netip.AddrPort{}, fmt.Errorf("%w: no c= line", ErrAddress)
	}
	addr, err := c.Addr()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(addr, uint16(m.Port)), nil
}

// Addr parses the connection address. Only "IN" with "IP4" or "IP6" and a
// literal address are accepted; a multicast "/ttl" suffix is dropped.
func (c *Connection) Addr() (netip.Addr, error) {
	if c == nil {
		return netip.Addr{}, fmt.Errorf("%w: no c= line", ErrAddress)
	}
	if c.NetType != "IN" {
		return netip.Addr{}, fmt.Errorf("%w: network type %q", ErrAddress, c.NetType)
	}
	literal, _, _ := strings.Cut(c.Address, "/")
	addr, err := netip.ParseAddr(literal)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: %q is not an IP address", ErrAddress, c.Address)
	}
	switch {
	case c.AddrType == "IP4" && addr.Is4():
	case c.AddrType == "IP6" && addr.Is6():
	default:
		return netip.Addr{}, fmt.Errorf("%w: %q is not an %s address", ErrAddress, c.Address, c.AddrType)
	}
	return addr, nil
}

// RTCPAddr returns where to send RTCP for stream m of s: the a=rtcp
// attribute when present (RFC 3605 §2.1: a port, optionally with its own
// address), else the RTP address with the next higher port (RFC 3550
// §11). a=rtcp-mux is ignored because this package never answers with it,
// so the peer cannot multiplex (RFC 5761 §5.1.1).
func (s *Session) RTCPAddr(m *Media) (netip.AddrPort, error) {
	rtp, err := s.AudioAddr(m)
	if err != nil {
		return netip.AddrPort{}, err
	}
	v, ok := m.Attr("rtcp")
	if !ok {
		if rtp.Port() == 65535 {
			return netip.AddrPort{}, fmt.Errorf("%w: no port above 65535 for RTCP", ErrAddress)
		}
		return netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1), nil
	}
	f := fields(v)
	port, ok := parseUint(firstOr(f))
	if !ok || port == 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp:%s", ErrAddress, v)
	}
	addr := rtp.Addr()
	switch len(f) {
	case 1:
	case 4:
		c := Connection{NetType: f[1], AddrType: f[2], Address: f[3]}
		if addr, err = c.Addr(); err != nil {
			return netip.AddrPort{}, err
		}
	default:
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp:%s", ErrAddress, v)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

func firstOr(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
