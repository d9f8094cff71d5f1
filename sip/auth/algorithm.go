package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// Algorithm is a digest algorithm (RFC 7616 §3.3, RFC 8760 §2.1). Only the non-session
// variants are offered: the -sess ones add a client-chosen input to HA1 and nothing
// SIP deployments use.
type Algorithm uint8

// Algorithms. The zero value is Unknown, never a valid choice.
const (
	AlgorithmUnknown Algorithm = iota
	// MD5 is RFC 2617's algorithm and the default when a client names none
	// (RFC 2617 §3.2.1). Every SIP phone speaks it.
	MD5
	// SHA256 is RFC 7616's SHA-256, adopted for SIP by RFC 8760.
	SHA256
)

// defaultAlgorithms are offered in this order unless WithAlgorithms says otherwise:
// the strongest first (RFC 8760 §2.4).
var defaultAlgorithms = [...]Algorithm{SHA256, MD5}

// String is the token used in the algorithm parameter.
func (a Algorithm) String() string {
	switch a {
	case MD5:
		return "MD5"
	case SHA256:
		return "SHA-256"
	}
	return "unknown"
}

// label is the metric label value.
func (a Algorithm) label() string {
	switch a {
	case MD5:
		return "md5"
	case SHA256:
		return "sha256"
	}
	return "unknown"
}

// ParseAlgorithm reads an algorithm token, case-insensitively (RFC 7616 §3.3). An empty
// token is MD5, the default of RFC 2617 §3.2.1; anything else unsupported is Unknown.
func ParseAlgorithm(s string) Algorithm {
	switch {
	case s == "" || strings.EqualFold(s, "MD5"):
		return MD5
	case strings.EqualFold(s, "SHA-256"):
		return SHA256
	}
	return AlgorithmUnknown
}

// hexLen is the length of the algorithm's hex digests (0 for Unknown).
func (a Algorithm) hexLen() int {
	switch a {
	case MD5:
		return 2 * md5.Size
	case SHA256:
		return 2 * sha256.Size
	}
	return 0
}

func (a Algorithm) newHash() hash.Hash {
	if a == SHA256 {
		return sha256.New()
	}
	return md5.New()
}

// digest is H(parts joined by ":") in lowercase hex (RFC 7616 §3.4.1, H and KD).
func (a Algorithm) digest(parts ...string) string {
	h := a.newHash()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// HA1 is H(username ":" realm ":" password) (RFC 7616 §3.4.2), the value a credential
// store keeps instead of the password. It is "" for an Unknown algorithm.
func HA1(alg Algorithm, username, realm, password string) string {
	if alg.hexLen() == 0 {
		return ""
	}
	return alg.digest(username, realm, password)
}

// Response is the request-digest a client computes (RFC 7616 §3.4.1; RFC 2617
// §3.2.2.1): KD(HA1, nonce:nc:cnonce:qop:HA2) with HA2 = H(method:uri), or, for the
// RFC 2069 form without qop, KD(HA1, nonce:HA2). It is "" for an Unknown algorithm.
func Response(alg Algorithm, ha1, nonce, nc, cnonce, qop, method, uri string) string {
	if alg.hexLen() == 0 {
		return ""
	}
	ha2 := alg.digest(method, uri)
	if qop == "" {
		return alg.digest(ha1, nonce, ha2)
	}
	return alg.digest(ha1, nonce, nc, cnonce, qop, ha2)
}
