package sdp

import (
	"bytes"
	"net/netip"
	"strconv"
)

// sessionName is the s= value of the descriptions we build; RFC 3264 §5
// says it carries no meaning in offer/answer, and "-" is customary.
const sessionName = "-"

// dtmfEvents is the a=fmtp value we use for telephone-event when the peer
// gave none: the DTMF digits 0-9 * # A-D and flash (RFC 4733 §3.2).
const dtmfEvents = "0-16"

// NewOrigin returns an o= line for a new session owned by this host:
// username "-", id as both session id and first version, and addr as the
// originating address. RFC 8866 §5.2 suggests an NTP timestamp for id,
// which also keeps versions increasing across restarts.
func NewOrigin(id uint64, addr netip.Addr) Origin {
	c := connectionFor(addr)
	return Origin{
		Username: "-", SessionID: id, SessionVersion: id,
		NetType: c.NetType, AddrType: c.AddrType, Address: c.Address,
	}
}

// connectionFor builds the c= line for a local address. An invalid
// address yields IN IP4 0.0.0.0, which peers read as "send nothing".
func connectionFor(addr netip.Addr) *Connection {
	addr = addr.Unmap().WithZone("")
	switch {
	case addr.Is4():
		return &Connection{NetType: "IN", AddrType: "IP4", Address: addr.String()}
	case addr.Is6():
		return &Connection{NetType: "IN", AddrType: "IP6", Address: addr.String()}
	default:
		return &Connection{NetType: "IN", AddrType: "IP4", Address: "0.0.0.0"}
	}
}

// Answer builds the answer to offer from the outcome of [Negotiate]
// (RFC 3264 §6):
//
//   - the same number of m-lines as the offer, in the same order;
//   - the accepted audio stream (n.MediaIndex) on local's port with the
//     same transport, exactly the chosen codec plus the telephone-event
//     format if one was negotiated, their a=rtpmap (and a=fmtp) lines,
//     a=ptime and an explicit direction attribute (n.Direction, sendrecv
//     if Unknown);
//   - every other stream rejected with port 0, keeping its formats;
//   - the offer's t= lines (RFC 3264 §6: "the t= line in the answer MUST
//     equal that of the offer") and a session-level c= for local.
//
// origin is the o= line to use. Per RFC 3264 §8 its version must go up by
// exactly one whenever the answer differs from the last description sent
// in the dialog and stay the same otherwise; [OriginState.Stamp] does
// that, or the caller bumps SessionVersion itself.
func Answer(offer *Session, n Negotiated, local netip.AddrPort, origin Origin) *Session {
	ans := &Session{
		Origin:     origin,
		Name:       sessionName,
		Connection: connectionFor(local.Addr()),
	}
	if offer == nil {
		ans.Times = []Time{{}}
		return ans
	}
	for _, t := range offer.Times {
		ans.Times = append(ans.Times, Time{
			Start: t.Start, Stop: t.Stop,
			Repeats: append([]string(nil), t.Repeats...),
		})
	}
	if len(ans.Times) == 0 {
		ans.Times = []Time{{}}
	}
	ans.Media = make([]Media, len(offer.Media))
	for i := range offer.Media {
		om := &offer.Media[i]
		if i == n.MediaIndex && om.Port != 0 {
			ans.Media[i] = acceptedAudio(om, n, local.Port())
			continue
		}
		// RFC 3264 §6: a rejected stream keeps its m-line with port 0 and
		// at least one format; echoing the offered ones is customary.
		ans.Media[i] = Media{
			Type:    om.Type,
			Proto:   om.Proto,
			Formats: append([]string(nil), om.Formats...),
		}
	}
	return ans
}

// acceptedAudio builds the answer's m= section for the accepted stream.
func acceptedAudio(om *Media, n Negotiated, port uint16) Media {
	m := Media{Type: om.Type, Port: int(port), Proto: om.Proto}
	addFormat(&m, n.Codec, n.Codec.Fmtp)
	if n.DTMF != nil {
		fmtp := n.DTMF.Fmtp
		if fmtp == "" {
			fmtp = dtmfEvents
		}
		addFormat(&m, *n.DTMF, fmtp)
	}
	if n.Ptime > 0 {
		m.Attributes = append(m.Attributes, Attribute{Key: "ptime", Value: strconv.Itoa(n.Ptime)})
	}
	dir := n.Direction
	if dir == Unknown {
		dir = SendRecv
	}
	m.Attributes = append(m.Attributes, Attribute{Key: dir.String()})
	if n.LocalCrypto != nil {
		m.Attributes = append(m.Attributes, Attribute{Key: "crypto", Value: n.LocalCrypto.Value()})
	}
	return m
}

// addFormat lists f on m with its a=rtpmap and, if fmtp is set, a=fmtp.
// rtpmap is written for static types too: optional (RFC 8866 §6.6) but it
// spares the peer a table lookup.
func addFormat(m *Media, f Format, fmtp string) {
	pt := strconv.Itoa(int(f.PT))
	m.Formats = append(m.Formats, pt)
	m.Attributes = append(m.Attributes, Attribute{Key: "rtpmap", Value: f.rtpmap()})
	if fmtp != "" {
		m.Attributes = append(m.Attributes, Attribute{Key: "fmtp", Value: pt + " " + fmtp})
	}
}

// Offer builds an offer (RFC 3264 §5) with one audio stream on local:
// every configured codec in config order, then, if cfg.TelephoneEvent,
// telephone-event/8000 on payload type 101 and one telephone-event per
// other clock rate among the codecs (RFC 4733 §2.1). Codecs keep their
// static payload type; the others take free dynamic ones from 96 up. The
// stream carries a=ptime (cfg.Ptime or 20) and dir (sendrecv if Unknown;
// sendonly to put the peer on hold, RFC 3264 §8.4).
//
// Use it for outbound calls and to answer a late-offer INVITE; the peer's
// answer then goes to [NegotiateAnswer] together with this offer.
func Offer(cfg Config, local netip.AddrPort, origin Origin, dir Direction) *Session {
	s := &Session{
		Origin:     origin,
		Name:       sessionName,
		Connection: connectionFor(local.Addr()),
		Times:      []Time{{}},
	}
	m := Media{Type: "audio", Port: int(local.Port()), Proto: "RTP/AVP"}
	codecs := cfg.codecs()

	var used [dynamicPTMax + 1]bool
	pts := make([]int, len(codecs))
	for i, c := range codecs { // explicit payload types first
		pts[i] = -1
		if c.PT >= 0 && c.PT <= dynamicPTMax && !used[c.PT] && c.Name != "" && c.ClockRate > 0 {
			pts[i] = c.PT
			used[c.PT] = true
		}
	}
	next := func(want int) int {
		if want >= 0 && want <= dynamicPTMax && !used[want] {
			used[want] = true
			return want
		}
		for pt := dynamicPTMin; pt <= dynamicPTMax; pt++ {
			if !used[pt] {
				used[pt] = true
				return pt
			}
		}
		return -1
	}
	var dtmfRates []int
	if cfg.TelephoneEvent {
		dtmfRates = append(dtmfRates, 8000)
		for _, c := range codecs {
			if c.ClockRate > 0 && !containsInt(dtmfRates, c.ClockRate) {
				dtmfRates = append(dtmfRates, c.ClockRate)
			}
		}
	}
	// telephone-event/8000 gets 101 before the codecs take dynamic types;
	// the other rates get what is left after them.
	dtmfPTs := make([]int, len(dtmfRates))
	if len(dtmfRates) > 0 {
		dtmfPTs[0] = next(DTMFPayloadType)
	}
	for i, c := range codecs {
		if c.Name == "" || c.ClockRate <= 0 || c.Channels < 0 || c.Channels > 255 {
			continue // invalid capability; Config.Validate reports it
		}
		if pts[i] < 0 {
			pts[i] = next(-1)
		}
		if pts[i] < 0 {
			continue // out of payload types
		}
		addFormat(&m, Format{PT: uint8(pts[i]), Name: c.Name, ClockRate: c.ClockRate, Channels: c.Channels}, c.Fmtp)
	}
	for i := 1; i < len(dtmfRates); i++ {
		dtmfPTs[i] = next(-1)
	}
	for i, rate := range dtmfRates {
		if dtmfPTs[i] < 0 {
			continue
		}
		addFormat(&m, Format{PT: uint8(dtmfPTs[i]), Name: telephoneEvent, ClockRate: rate, Channels: 1}, dtmfEvents)
	}
	m.Attributes = append(m.Attributes, Attribute{Key: "ptime", Value: strconv.Itoa(cfg.ptime())})
	if dir == Unknown {
		dir = SendRecv
	}
	m.Attributes = append(m.Attributes, Attribute{Key: dir.String()})
	if len(cfg.OfferCrypto) > 0 {
		m.Proto = "RTP/SAVP" // RFC 4568 §3.1.3: SDES keys an SRTP profile
		for _, c := range cfg.OfferCrypto {
			m.Attributes = append(m.Attributes, Attribute{Key: "crypto", Value: c.Value()})
		}
	}
	s.Media = []Media{m}
	return s
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// OriginState keeps the o= line of the descriptions one dialog sends, so
// its version follows RFC 3264 §8: "the version in the origin field MUST
// increment by one from the previous SDP" when the description changes,
// and stays put when it does not (a re-INVITE answered with the same
// description). Keep one per dialog and use it from the goroutine (or
// under the lock) that owns the dialog.
type OriginState struct {
	origin Origin
	last   []byte // last stamped description, marshalled with version 0
	used   bool
}

// NewOriginState starts tracking with o as the first description's
// origin, typically [NewOrigin].
func NewOriginState(o Origin) *OriginState { return &OriginState{origin: o} }

// Origin returns the o= line of the last stamped description (or the
// initial one).
func (st *OriginState) Origin() Origin { return st.origin }

// Stamp sets s.Origin for sending s. The first call uses the initial
// origin; later calls increase the version by one only if s differs from
// the previously stamped description in anything but its o= version.
func (st *OriginState) Stamp(s *Session) {
	if st == nil || s == nil {
		return
	}
	probe := st.origin
	probe.SessionVersion = 0
	s.Origin = probe
	body := s.Marshal()
	if st.used && !bytes.Equal(body, st.last) {
		st.origin.SessionVersion++
	}
	st.last, st.used = body, true
	s.Origin = st.origin
}
