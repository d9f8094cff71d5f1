package sdp

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// SDES (RFC 4568): the a=crypto attribute carries, per RTP/SAVP stream, a tag, a
// crypto suite and the master key the sender of the description protects its packets
// with. This file parses and writes the attribute and picks the offered line to
// answer; the keys themselves are opaque base64 text here (the sip package turns them
// into media/srtp keys, and never logs them).

// ErrNoCrypto means an RTP/SAVP stream was offered without an a=crypto line we can
// use (unknown suites, MKI, session parameters or malformed keys); the caller answers
// 488 with Warning 302 (RFC 4568 §7.5).
var ErrNoCrypto = errors.New("sdp: no acceptable a=crypto")

// Crypto is one a=crypto line (RFC 4568 §9.1):
//
//	a=crypto:<tag> <suite> inline:<key||salt>[|<lifetime>][|<MKI>:<length>] [<session params>]
//
// Only the first key parameter is kept: several keys need MKIs, which are not
// supported.
type Crypto struct {
	// Tag identifies the line within the m= section; the answer echoes the tag
	// of the line it accepts (RFC 4568 §5.1).
	Tag int
	// Suite is the crypto suite name, e.g. "AES_CM_128_HMAC_SHA1_80".
	Suite string
	// KeySalt is the base64 master key and salt of the inline key method. It is
	// a secret: never log it.
	KeySalt string
	// Lifetime is the optional key lifetime ("2^31" or a decimal count), "" if absent.
	Lifetime string
	// MKI is the optional "value:length" master key identifier, "" if absent.
	MKI string
	// Keys counts the key parameters on the line (more than one needs MKIs).
	Keys int
	// SessionParams are the optional session parameters (e.g. "KDR=1"), in order.
	SessionParams []string
}

// String describes the line without its key, so a Negotiated printed by mistake
// leaks nothing.
func (c Crypto) String() string {
	return strconv.Itoa(c.Tag) + " " + c.Suite + " inline:(key redacted)"
}

// GoString is String: %#v does not print the key either.
func (c Crypto) GoString() string { return c.String() }

// LogValue keeps the key out of structured logs.
func (c Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Value writes the attribute value, key included: for SDP bodies only.
func (c Crypto) Value() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	b.WriteString(c.Suite)
	b.WriteString(" inline:")
	b.WriteString(c.KeySalt)
	if c.Lifetime != "" {
		b.WriteByte('|')
		b.WriteString(c.Lifetime)
	}
	if c.MKI != "" {
		b.WriteByte('|')
		b.WriteString(c.MKI)
	}
	for _, p := range c.SessionParams {
		b.WriteByte(' ')
		b.WriteString(p)
	}
	return b.String()
}

// ParseCrypto parses an a=crypto value. Errors never quote the key.
func ParseCrypto(v string) (Crypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, errors.New("sdp: a=crypto needs a tag, a suite and a key")
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 { // RFC 4568 §9.1: 1*9DIGIT
		return Crypto{}, fmt.Errorf("sdp: a=crypto tag %q is not a number", truncate(f[0]))
	}
	c := Crypto{Tag: tag, Suite: f[1], SessionParams: f[3:]}
	for _, kp := range strings.Split(f[2], ";") { // key-params = key-param *(";" key-param)
		c.Keys++
		if c.Keys > 1 {
			continue
		}
		method, info, ok := strings.Cut(kp, ":")
		if !ok || !strings.EqualFold(method, "inline") {
			return Crypto{}, errors.New("sdp: a=crypto key method is not inline")
		}
		parts := strings.Split(info, "|")
		if len(parts) > 3 || parts[0] == "" {
			return Crypto{}, errors.New("sdp: a=crypto inline key malformed")
		}
		c.KeySalt = parts[0]
		for _, p := range parts[1:] {
			switch {
			case strings.Contains(p, ":"):
				c.MKI = p
			case c.Lifetime == "" && c.MKI == "":
				c.Lifetime = p
			default:
				return Crypto{}, errors.New("sdp: a=crypto inline key malformed")
			}
		}
	}
	if len(c.SessionParams) == 0 {
		c.SessionParams = nil
	}
	return c, nil
}

func truncate(s string) string {
	if len(s) > maxErrText {
		return s[:maxErrText] + "..."
	}
	return s
}

// Cryptos returns the media section's parseable a=crypto lines in order, skipping
// malformed ones (RFC 4568 §6: an answerer ignores lines it cannot use).
func (m *Media) Cryptos() []Crypto {
	var out []Crypto
	for _, v := range m.Attributes.Values("crypto") {
		if c, err := ParseCrypto(v); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// IsSecure reports whether the stream's profile is secure RTP (RFC 3711 §12:
// RTP/SAVP, and RTP/SAVPF of RFC 5124), which SDES keys with a=crypto.
func (m *Media) IsSecure() bool {
	return m != nil && (m.Proto == "RTP/SAVP" || m.Proto == "RTP/SAVPF")
}

// chooseCrypto returns the first of the offer's lines (the offerer's preference,
// RFC 4568 §7.1.1) whose suite is in suites and that uses one key without MKI,
// session parameters or a lifetime below 2^31 packets.
func chooseCrypto(cs []Crypto, suites []string) (Crypto, bool) {
	for _, c := range cs {
		if c.Keys != 1 || c.MKI != "" || len(c.SessionParams) > 0 || !longLifetime(c.Lifetime) {
			continue
		}
		for _, s := range suites {
			if c.Suite == s {
				return c, true
			}
		}
	}
	return Crypto{}, false
}

// longLifetime accepts no lifetime or one of at least 2^31 packets, more than any
// call sends, so the key never needs renewing mid-call.
func longLifetime(l string) bool {
	if l == "" {
		return true
	}
	if e, ok := strings.CutPrefix(l, "2^"); ok {
		n, err := strconv.Atoi(e)
		return err == nil && n >= 31 && n <= 48
	}
	n, err := strconv.ParseUint(l, 10, 64)
	return err == nil && n >= 1<<31
}
