package srtp

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
)

// Suite is an SRTP crypto suite, named as in RFC 4568 §6.2. The zero value is
// SuiteUnknown, so a forgotten suite never means "some cipher".
type Suite uint8

// The suites SDES negotiates that this package implements.
const (
	SuiteUnknown Suite = iota
	// AES_CM_128_HMAC_SHA1_80 is AES-128 counter mode with an 80-bit HMAC-SHA1 tag
	// (RFC 4568 §6.2.1): every SDES implementation supports it.
	AES_CM_128_HMAC_SHA1_80 //nolint:revive // the RFC's name, as SDP spells it
	// AES_CM_128_HMAC_SHA1_32 is the same cipher with a 32-bit tag on SRTP (SRTCP
	// keeps 80 bits, RFC 4568 §6.2.2), saving six octets per packet.
	AES_CM_128_HMAC_SHA1_32 //nolint:revive
)

// Key and salt lengths of the AES_CM_128 suites (RFC 3711 §8.2).
const (
	KeyLen  = 16
	SaltLen = 14
	// MaxOverhead is the most octets Protect adds to an RTP or RTCP packet: the
	// SRTCP index (4) and an 80-bit tag.
	MaxOverhead = 4 + 10
)

// Suites lists the implemented suites in our order of preference, for offers.
var Suites = []Suite{AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32}

// String is the suite's SDP name.
func (s Suite) String() string {
	switch s {
	case AES_CM_128_HMAC_SHA1_80:
		return "AES_CM_128_HMAC_SHA1_80"
	case AES_CM_128_HMAC_SHA1_32:
		return "AES_CM_128_HMAC_SHA1_32"
	}
	return "unknown"
}

// ParseSuite maps an SDP suite name to the Suite, or SuiteUnknown for one we do not
// implement (the offer's other a=crypto lines may still do).
func ParseSuite(name string) Suite {
	switch name {
	case "AES_CM_128_HMAC_SHA1_80":
		return AES_CM_128_HMAC_SHA1_80
	case "AES_CM_128_HMAC_SHA1_32":
		return AES_CM_128_HMAC_SHA1_32
	}
	return SuiteUnknown
}

// TagLen is the SRTP authentication tag length in octets (RFC 4568 §6.2).
func (s Suite) TagLen() int {
	if s == AES_CM_128_HMAC_SHA1_32 {
		return 4
	}
	return 10
}

// ErrKeying is wrapped by ParseInline and NewContext for keys that cannot be used.
var ErrKeying = errors.New("srtp: unusable keying")

// Keying is one direction's master key and master salt and the suite they are for.
// It is comparable, so a re-INVITE that keeps the keys keeps the crypto contexts.
type Keying struct {
	Suite Suite
	Key   [KeyLen]byte
	Salt  [SaltLen]byte
}

// NewKeying draws a fresh random master key and salt for suite (RFC 4568 §6.1: keys
// must come from a cryptographically secure source), one per call.
func NewKeying(suite Suite) (Keying, error) {
	if suite == SuiteUnknown {
		return Keying{}, fmt.Errorf("%w: no suite", ErrKeying)
	}
	k := Keying{Suite: suite}
	_, _ = rand.Read(k.Key[:]) // never fails (crypto/rand documents it)
	_, _ = rand.Read(k.Salt[:])
	return k, nil
}

// Valid reports whether k names a suite this package implements.
func (k Keying) Valid() bool { return k.Suite != SuiteUnknown }

// Inline is the key-salt of the SDES inline key parameter (RFC 4568 §6.1): base64 of
// the master key followed by the master salt, 40 characters for AES_CM_128.
func (k Keying) Inline() string {
	var b [KeyLen + SaltLen]byte
	copy(b[:], k.Key[:])
	copy(b[KeyLen:], k.Salt[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// ParseInline decodes the base64 key-salt of an SDES inline parameter for suite.
// Some implementations omit the base64 padding, so both forms are accepted.
func ParseInline(suite Suite, keySalt string) (Keying, error) {
	if suite == SuiteUnknown {
		return Keying{}, fmt.Errorf("%w: unknown suite", ErrKeying)
	}
	b, err := base64.StdEncoding.DecodeString(keySalt)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(keySalt)
	}
	if err != nil {
		return Keying{}, fmt.Errorf("%w: key-salt is not base64", ErrKeying)
	}
	if len(b) != KeyLen+SaltLen {
		return Keying{}, fmt.Errorf("%w: key-salt is %d octets, want %d", ErrKeying, len(b), KeyLen+SaltLen)
	}
	k := Keying{Suite: suite}
	copy(k.Key[:], b)
	copy(k.Salt[:], b[KeyLen:])
	return k, nil
}

// String names the suite only: keys never reach a log.
func (k Keying) String() string { return k.Suite.String() + " (key redacted)" }

// GoString is String, so %#v does not print the key either.
func (k Keying) GoString() string { return k.String() }

// LogValue keeps the key out of structured logs.
func (k Keying) LogValue() slog.Value { return slog.StringValue(k.String()) }
