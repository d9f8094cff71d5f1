package sdp

import (
	"strconv"
	"strings"
)

// Format is an RTP payload format of a stream: its payload type with the
// encoding it stands for, resolved from a=rtpmap (RFC 8866 §6.6), the
// static table of RFC 3551 §6, and a=fmtp (RFC 8866 §6.15).
type Format struct {
	PT        uint8  // payload type, 0..127
	Name      string // encoding name as written, e.g. "PCMU", "telephone-event"; "" if unknown
	ClockRate int    // RTP clock rate in Hz, e.g. 8000
	Channels  int    // audio channels, 1 when unstated; 0 for non-audio
	Fmtp      string // format parameters, e.g. "0-16"; "" when absent
}

// String renders the format as an rtpmap encoding, e.g. "PCMU/8000" or
// "opus/48000/2", for logs and Warning details.
func (f Format) String() string {
	s := f.Name + "/" + strconv.Itoa(f.ClockRate)
	if f.Channels > 1 {
		s += "/" + strconv.Itoa(f.Channels)
	}
	return s
}

// rtpmap renders the a=rtpmap value for f (RFC 8866 §6.6). The channel
// count is written only when it is not the audio default of one.
func (f Format) rtpmap() string {
	return strconv.Itoa(int(f.PT)) + " " + f.String()
}

// isDTMF reports whether f is a telephone-event format (RFC 4733 §7.1.1).
func (f Format) isDTMF() bool { return strings.EqualFold(f.Name, telephoneEvent) }

// telephoneEvent is the RFC 4733 §7.1.1 media subtype name for DTMF.
const telephoneEvent = "telephone-event"

// staticFormats holds the static payload types of RFC 3551 §6, Tables 4
// and 5, indexed by payload type. G722 is listed at 8000 Hz although it
// samples at 16 kHz: RFC 3551 §4.5.2 fixes its RTP clock rate at 8000.
var staticFormats = [...]Format{
	0:  {PT: 0, Name: "PCMU", ClockRate: 8000, Channels: 1},
	3:  {PT: 3, Name: "GSM", ClockRate: 8000, Channels: 1},
	4:  {PT: 4, Name: "G723", ClockRate: 8000, Channels: 1},
	5:  {PT: 5, Name: "DVI4", ClockRate: 8000, Channels: 1},
	6:  {PT: 6, Name: "DVI4", ClockRate: 16000, Channels: 1},
	7:  {PT: 7, Name: "LPC", ClockRate: 8000, Channels: 1},
	8:  {PT: 8, Name: "PCMA", ClockRate: 8000, Channels: 1},
	9:  {PT: 9, Name: "G722", ClockRate: 8000, Channels: 1},
	10: {PT: 10, Name: "L16", ClockRate: 44100, Channels: 2},
	11: {PT: 11, Name: "L16", ClockRate: 44100, Channels: 1},
	12: {PT: 12, Name: "QCELP", ClockRate: 8000, Channels: 1},
	13: {PT: 13, Name: "CN", ClockRate: 8000, Channels: 1},
	14: {PT: 14, Name: "MPA", ClockRate: 90000},
	15: {PT: 15, Name: "G728", ClockRate: 8000, Channels: 1},
	16: {PT: 16, Name: "DVI4", ClockRate: 11025, Channels: 1},
	17: {PT: 17, Name: "DVI4", ClockRate: 22050, Channels: 1},
	18: {PT: 18, Name: "G729", ClockRate: 8000, Channels: 1},
	25: {PT: 25, Name: "CelB", ClockRate: 90000},
	26: {PT: 26, Name: "JPEG", ClockRate: 90000},
	28: {PT: 28, Name: "nv", ClockRate: 90000},
	31: {PT: 31, Name: "H261", ClockRate: 90000},
	32: {PT: 32, Name: "MPV", ClockRate: 90000},
	33: {PT: 33, Name: "MP2T", ClockRate: 90000},
	34: {PT: 34, Name: "H263", ClockRate: 90000},
}

// StaticFormat returns the RFC 3551 §6 static assignment for pt, used when
// an offer lists a static payload type without a=rtpmap (RFC 8866 §6.6
// makes rtpmap optional for them).
func StaticFormat(pt uint8) (Format, bool) {
	if int(pt) >= len(staticFormats) || staticFormats[pt].Name == "" {
		return Format{}, false
	}
	return staticFormats[pt], true
}

// RTPFormats resolves the stream's payload types, in the order written
// (which is the sender's preference, RFC 3264 §5.1). Each one takes its
// encoding from the first a=rtpmap for it, else from the static table;
// a dynamic type without a valid rtpmap comes back with an empty Name.
// Non-RTP streams yield nil.
func (m *Media) RTPFormats() []Format {
	if m == nil || !m.IsRTP() {
		return nil
	}
	// Index (+1) of the first rtpmap and fmtp attribute per payload type:
	// one pass over the attributes, whatever their number.
	var rtpmaps, fmtps [128]int
	for i, a := range m.Attributes {
		var idx *[128]int
		switch a.Key {
		case "rtpmap":
			idx = &rtpmaps
		case "fmtp":
			idx = &fmtps
		default:
			continue
		}
		if pt, _, ok := splitPT(a.Value); ok && idx[pt] == 0 {
			idx[pt] = i + 1
		}
	}
	out := make([]Format, 0, len(m.Formats))
	for _, s := range m.Formats {
		n, ok := parseUint(s)
		if !ok || n > 127 {
			continue
		}
		pt := uint8(n)
		var f Format
		resolved := false
		if i := rtpmaps[pt]; i != 0 {
			f, resolved = parseRtpmap(pt, m.Attributes[i-1].Value)
		}
		if !resolved {
			f, _ = StaticFormat(pt)
			f.PT = pt
		}
		if f.Channels == 0 && f.Name != "" && isAudio(m) {
			f.Channels = 1
		}
		if i := fmtps[pt]; i != 0 {
			_, f.Fmtp, _ = splitPT(m.Attributes[i-1].Value)
		}
		out = append(out, f)
	}
	return out
}

// Format returns the resolved format for payload type pt if the stream
// lists it.
func (m *Media) Format(pt uint8) (Format, bool) {
	for _, f := range m.RTPFormats() {
		if f.PT == pt {
			return f, true
		}
	}
	return Format{}, false
}

// splitPT splits "<payload type> <rest>" as in rtpmap and fmtp values.
func splitPT(v string) (pt uint8, rest string, ok bool) {
	num := v
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		num, rest = v[:i], v[i+1:]
	}
	n, ok := parseUint(num)
	if !ok || n > 127 {
		return 0, "", false
	}
	return uint8(n), strings.TrimLeft(rest, " \t"), true
}

// parseRtpmap reads "<payload type> <encoding name>/<clock rate>
// [/<encoding parameters>]" (RFC 8866 §6.6).
func parseRtpmap(pt uint8, v string) (Format, bool) {
	_, enc, ok := splitPT(v)
	if !ok {
		return Format{}, false
	}
	name, rest, ok := strings.Cut(enc, "/")
	if !ok || name == "" {
		return Format{}, false
	}
	rateStr, chStr, hasCh := strings.Cut(rest, "/")
	rate, ok := parseUint(rateStr)
	if !ok || rate == 0 || rate > 1<<31-1 {
		return Format{}, false
	}
	f := Format{PT: pt, Name: name, ClockRate: int(rate)}
	if hasCh {
		ch, ok := parseUint(chStr)
		if !ok || ch == 0 || ch > 255 {
			return Format{}, false
		}
		f.Channels = int(ch)
	}
	return f, true
}

// Ptime returns a=ptime, the packet duration in milliseconds the sender of
// this description wants to receive (RFC 8866 §6.4), or 0 if absent or
// unreadable. A fractional value such as "20.0" is truncated.
func (m *Media) Ptime() int { return m.millisAttr("ptime") }

// MaxPtime returns a=maxptime in milliseconds (RFC 8866 §6.5), or 0.
func (m *Media) MaxPtime() int { return m.millisAttr("maxptime") }

// maxMillis bounds ptime-like values to something a packetizer can use.
const maxMillis = 60000

func (m *Media) millisAttr(key string) int {
	v, ok := m.Attr(key)
	if !ok {
		return 0
	}
	whole, _, _ := strings.Cut(strings.TrimSpace(v), ".")
	n, ok := parseUint(whole)
	if !ok || n > maxMillis {
		return 0
	}
	return int(n)
}
