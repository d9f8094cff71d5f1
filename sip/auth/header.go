package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is returned (wrapped) for a header that is not a well-formed Digest
// challenge or credentials.
var ErrMalformed = errors.New("auth: malformed digest header")

// ErrNotDigest is returned for credentials of another scheme (Basic, Bearer...):
// RFC 3261 §22.1 deprecates Basic and hotline speaks only Digest.
var ErrNotDigest = errors.New("auth: not a Digest header")

// Limits that keep a hostile header cheap to reject.
const (
	maxHeaderLen = 8 << 10
	maxParams    = 32
)

// Credentials are the fields of a Digest Authorization or Proxy-Authorization header
// (RFC 3261 §25.1 digest-response, RFC 7616 §3.4). Values are unquoted; parameters
// hotline does not know are ignored (RFC 7616 §3.4: unknown ones MUST be ignored).
type Credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string // as sent; "" means MD5 (RFC 2617 §3.2.1)
	CNonce    string
	Opaque    string
	QOP       string
	NC        string // eight hex digits (RFC 7616 §3.4)
	UserHash  bool   // RFC 7616 §3.4.4; hotline never offers it
}

// Challenge is one Digest WWW-Authenticate or Proxy-Authenticate value (RFC 3261
// §25.1 digest-cln, RFC 7616 §3.3).
type Challenge struct {
	Realm     string
	Nonce     string
	Opaque    string
	Algorithm string
	QOP       []string // the qop-options, e.g. ["auth"]
	Stale     bool
}

// String formats the challenge as a header value: realm and nonce quoted, algorithm a
// token, qop a quoted list, stale only when true (RFC 7616 §3.3).
func (c Challenge) String() string {
	var b strings.Builder
	b.WriteString("Digest realm=")
	writeQuoted(&b, c.Realm)
	b.WriteString(", nonce=")
	writeQuoted(&b, c.Nonce)
	if c.Opaque != "" {
		b.WriteString(", opaque=")
		writeQuoted(&b, c.Opaque)
	}
	if c.Algorithm != "" {
		b.WriteString(", algorithm=")
		b.WriteString(c.Algorithm)
	}
	if len(c.QOP) > 0 {
		b.WriteString(", qop=")
		writeQuoted(&b, strings.Join(c.QOP, ","))
	}
	if c.Stale {
		b.WriteString(", stale=true")
	}
	return b.String()
}

// String formats the credentials as a header value, the way RFC 7616 §3.4 writes
// them: algorithm, qop and nc as tokens, the rest quoted. Clients (and tests) use it.
func (c Credentials) String() string {
	var b strings.Builder
	b.WriteString("Digest username=")
	writeQuoted(&b, c.Username)
	b.WriteString(", realm=")
	writeQuoted(&b, c.Realm)
	b.WriteString(", nonce=")
	writeQuoted(&b, c.Nonce)
	b.WriteString(", uri=")
	writeQuoted(&b, c.URI)
	b.WriteString(", response=")
	writeQuoted(&b, c.Response)
	if c.Algorithm != "" {
		b.WriteString(", algorithm=")
		writeToken(&b, c.Algorithm)
	}
	if c.CNonce != "" {
		b.WriteString(", cnonce=")
		writeQuoted(&b, c.CNonce)
	}
	if c.Opaque != "" {
		b.WriteString(", opaque=")
		writeQuoted(&b, c.Opaque)
	}
	if c.QOP != "" {
		b.WriteString(", qop=")
		writeToken(&b, c.QOP)
	}
	if c.NC != "" {
		b.WriteString(", nc=")
		writeToken(&b, c.NC)
	}
	if c.UserHash {
		b.WriteString(", userhash=true")
	}
	return b.String()
}

// ParseAuthorization parses a Digest Authorization or Proxy-Authorization value.
// Duplicate known parameters are an error (a second response= must not be able to
// shadow the first); username, realm, nonce, uri and response are required (RFC 3261
// §25.1).
func ParseAuthorization(v string) (Credentials, error) {
	var c Credentials
	var userhash string
	fields := map[string]*string{
		"username": &c.Username, "realm": &c.Realm, "nonce": &c.Nonce, "uri": &c.URI,
		"response": &c.Response, "algorithm": &c.Algorithm, "cnonce": &c.CNonce,
		"opaque": &c.Opaque, "qop": &c.QOP, "nc": &c.NC, "userhash": &userhash,
	}
	seen := make(map[string]bool, len(fields))
	err := parseDigest(v, func(name, value string) error {
		p, ok := fields[name]
		if !ok {
			return nil
		}
		if seen[name] {
			return fmt.Errorf("%w: duplicate %s", ErrMalformed, name)
		}
		seen[name] = true
		*p = value
		return nil
	})
	if err != nil {
		return Credentials{}, err
	}
	c.UserHash = strings.EqualFold(userhash, "true")
	for _, f := range [...]struct{ name, val string }{
		{"username", c.Username}, {"realm", c.Realm}, {"nonce", c.Nonce}, {"uri", c.URI}, {"response", c.Response},
	} {
		if f.val == "" {
			return Credentials{}, fmt.Errorf("%w: no %s", ErrMalformed, f.name)
		}
	}
	return c, nil
}

// ParseChallenge parses a Digest WWW-Authenticate or Proxy-Authenticate value. Clients
// and tests use it; the server only writes challenges.
func ParseChallenge(v string) (Challenge, error) {
	var c Challenge
	var qop, stale string
	dup := map[string]bool{}
	err := parseDigest(v, func(name, value string) error {
		var p *string
		switch name {
		case "realm":
			p = &c.Realm
		case "nonce":
			p = &c.Nonce
		case "opaque":
			p = &c.Opaque
		case "algorithm":
			p = &c.Algorithm
		case "qop":
			p = &qop
		case "stale":
			p = &stale
		default:
			return nil
		}
		if dup[name] {
			return fmt.Errorf("%w: duplicate %s", ErrMalformed, name)
		}
		dup[name] = true
		*p = value
		return nil
	})
	if err != nil {
		return Challenge{}, err
	}
	if c.Realm == "" || c.Nonce == "" {
		return Challenge{}, fmt.Errorf("%w: challenge without realm or nonce", ErrMalformed)
	}
	for _, q := range strings.Split(qop, ",") {
		if q = strings.TrimSpace(q); q != "" {
			c.QOP = append(c.QOP, q)
		}
	}
	c.Stale = strings.EqualFold(stale, "true")
	return c, nil
}

// parseDigest walks `Digest name=value, name="quoted value", ...` (RFC 3261 §25.1
// auth-param, RFC 7235 §2.1) and hands each parameter, name lowercased and value
// unquoted, to fn. It is lenient where real phones are sloppy (unquoted URIs, spaces
// around '=', empty list elements) and strict where ambiguity could be exploited
// (unterminated quotes, garbage between parameters, oversize input).
func parseDigest(v string, fn func(name, value string) error) error {
	if len(v) > maxHeaderLen {
		return fmt.Errorf("%w: %d bytes", ErrMalformed, len(v))
	}
	i := skipSpace(v, 0)
	start := i
	for i < len(v) && isTokenChar(v[i]) {
		i++
	}
	if i == start {
		return fmt.Errorf("%w: no scheme", ErrMalformed)
	}
	if !strings.EqualFold(v[start:i], "Digest") {
		return ErrNotDigest
	}
	if i < len(v) && !isSpace(v[i]) {
		return fmt.Errorf("%w: scheme not followed by a space", ErrMalformed)
	}
	n := 0
	for {
		// Skip white space and empty list elements (RFC 7230 §7 #rule).
		for i < len(v) && (isSpace(v[i]) || v[i] == ',') {
			i++
		}
		if i >= len(v) {
			break
		}
		if n++; n > maxParams {
			return fmt.Errorf("%w: more than %d parameters", ErrMalformed, maxParams)
		}
		start = i
		for i < len(v) && isTokenChar(v[i]) {
			i++
		}
		if i == start {
			return fmt.Errorf("%w: bad parameter name at offset %d", ErrMalformed, start)
		}
		name := strings.ToLower(v[start:i])
		i = skipSpace(v, i)
		if i >= len(v) || v[i] != '=' {
			return fmt.Errorf("%w: parameter %s without value", ErrMalformed, name)
		}
		i = skipSpace(v, i+1)
		var value string
		if i < len(v) && v[i] == '"' {
			var err error
			if value, i, err = unquote(v, i); err != nil {
				return err
			}
		} else {
			start = i
			for i < len(v) && !isSpace(v[i]) && v[i] != ',' && v[i] != '"' && v[i] >= 0x21 && v[i] != 0x7f {
				i++
			}
			if i == start {
				return fmt.Errorf("%w: parameter %s with empty value", ErrMalformed, name)
			}
			value = v[start:i]
		}
		i = skipSpace(v, i)
		if i < len(v) && v[i] != ',' {
			return fmt.Errorf("%w: garbage after parameter %s", ErrMalformed, name)
		}
		if err := fn(name, value); err != nil {
			return err
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: no parameters", ErrMalformed)
	}
	return nil
}

// unquote reads the quoted-string starting at v[i] == '"' (RFC 3261 §25.1: quoted-pair
// escapes any character but CR and LF; control characters other than HTAB are not
// qdtext). It returns the value and the index after the closing quote.
func unquote(v string, i int) (string, int, error) {
	var b strings.Builder
	for i++; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c == '\\':
			if i+1 >= len(v) || v[i+1] == '\r' || v[i+1] == '\n' {
				return "", 0, fmt.Errorf("%w: bad escape in quoted string", ErrMalformed)
			}
			i++
			b.WriteByte(v[i])
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", 0, fmt.Errorf("%w: control character in quoted string", ErrMalformed)
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("%w: unterminated quoted string", ErrMalformed)
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// writeToken writes s bare when it is a token, quoted otherwise, so that String's
// output always parses back to the same value.
func writeToken(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			writeQuoted(b, s)
			return
		}
	}
	b.WriteString(s)
}

func skipSpace(v string, i int) int {
	for i < len(v) && isSpace(v[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isTokenChar is RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" /
// "+" / "`" / "'" / "~".
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", c) >= 0
}
