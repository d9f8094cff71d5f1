package sip

import (
	"errors"
	"fmt"
	"strings"
)

// NumberPlan says how a trunk's numbers are written: how a national number becomes
// E.164 (ITU-T E.164: "+", country code, national significant number, at most 15
// digits) and how E.164 numbers are sent to the carrier. Examples: the North American
// plan is country_code "1", national_prefix "1", international_prefix "011"; China is
// "86", "0", "00".
type NumberPlan struct {
	// CountryCode is the E.164 country code of national numbers, digits only ("1",
	// "86"). Empty: only numbers in international form ("+…" or with the
	// international prefix) are accepted.
	CountryCode string `yaml:"country_code"`
	// NationalPrefix is the trunk prefix dialled before a national number ("1" in
	// North America, "0" in China, the UK, Germany), stripped when normalizing.
	// Empty: none.
	NationalPrefix string `yaml:"national_prefix"`
	// InternationalPrefix is the prefix of international numbers ("011" in North
	// America, "00" in most other countries). Empty: only "+" marks them.
	InternationalPrefix string `yaml:"international_prefix"`
	// Format is how numbers go to the carrier in the Request-URI, To, From and
	// P-Asserted-Identity: "e164" (+15551234567, the default), "e164_digits"
	// (15551234567) or "national" (national prefix and national number for numbers
	// of CountryCode, international prefix and digits for the others).
	Format string `yaml:"format"`
}

// Number formats of NumberPlan.Format.
const (
	FormatE164       = "e164"
	FormatE164Digits = "e164_digits"
	FormatNational   = "national"
)

// errNotANumber: dialled text that is no telephone number.
var errNotANumber = errors.New("not a telephone number")

// maxE164Digits is the longest E.164 number (ITU-T E.164 §6.1).
const maxE164Digits = 15

// minNumberDigits is the shortest number accepted after normalization: shorter ones
// are service codes, not subscribers a trunk should be dialling.
const minNumberDigits = 3

// Normalize turns a dialled number into E.164 ("+" and digits): visual separators
// (spaces, "-", ".", "(", ")") are dropped; "+" or the international prefix marks an
// international number; otherwise the national prefix, if present, is stripped and
// the country code prepended. A "tel:" URI's number is accepted too (RFC 3966).
func (p NumberPlan) Normalize(dialled string) (string, error) {
	s := strings.TrimPrefix(strings.TrimSpace(dialled), "tel:")
	if i := strings.IndexByte(s, ';'); i >= 0 { // tel: parameters
		s = s[:i]
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: %q", errNotANumber, dialled)
		}
	}
	n := b.String()
	var e164 string
	switch {
	case strings.HasPrefix(n, "+"):
		e164 = n
	case p.InternationalPrefix != "" && strings.HasPrefix(n, p.InternationalPrefix):
		e164 = "+" + n[len(p.InternationalPrefix):]
	case p.CountryCode == "":
		return "", fmt.Errorf("%w: %q is not in international form and the trunk has no country_code", errNotANumber, dialled)
	case p.NationalPrefix != "" && strings.HasPrefix(n, p.NationalPrefix):
		e164 = "+" + p.CountryCode + n[len(p.NationalPrefix):]
	default:
		e164 = "+" + p.CountryCode + n
	}
	if d := len(e164) - 1; d < minNumberDigits || d > maxE164Digits {
		return "", fmt.Errorf("%w: %q has %d digits in E.164 form (want %d to %d)", errNotANumber, dialled, d, minNumberDigits, maxE164Digits)
	}
	return e164, nil
}

// Render writes an E.164 number the way the carrier wants it (NumberPlan.Format).
func (p NumberPlan) Render(e164 string) string {
	digits := strings.TrimPrefix(e164, "+")
	switch p.Format {
	case FormatE164Digits:
		return digits
	case FormatNational:
		if p.CountryCode != "" && strings.HasPrefix(digits, p.CountryCode) {
			return p.NationalPrefix + digits[len(p.CountryCode):]
		}
		if p.InternationalPrefix != "" {
			return p.InternationalPrefix + digits
		}
	}
	return e164
}

func (p NumberPlan) validate(bad func(string, ...any)) {
	for _, f := range []struct{ name, v string }{
		{"country_code", p.CountryCode}, {"national_prefix", p.NationalPrefix}, {"international_prefix", p.InternationalPrefix},
	} {
		if !allDigits(f.v) {
			bad("numbers.%s: %q must be digits only", f.name, f.v)
		}
	}
	if len(p.CountryCode) > 3 {
		bad("numbers.country_code: %q is longer than an E.164 country code (1 to 3 digits)", p.CountryCode)
	}
	switch p.Format {
	case "", FormatE164, FormatE164Digits:
	case FormatNational:
		if p.CountryCode == "" {
			bad("numbers.format: national needs numbers.country_code")
		}
	default:
		bad("numbers.format: %q is not one of e164, e164_digits, national", p.Format)
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// pattern is one compiled destination pattern of a trunk's allow list. The syntax is
// the dial-plan notation telephony engineers know from Asterisk and FreeSWITCH
// gateways, matched against the whole E.164 number ("+15551234567"):
//
//	0-9 + * #  themselves
//	X          any digit          N  2-9          Z  1-9
//	[1-5,7]    one digit of a set (ranges and single digits)
//	.          one or more of anything (only at the end)
//	!          zero or more of anything (only at the end)
//
// "+1NXXNXXXXXX" allows North American numbers, "+44." anything in the UK, "+." or
// "!" every number (an explicit choice: there is no implicit allow-all).
type pattern struct {
	src   string
	elems []patElem
	tail  byte // 0, '.' or '!'
}

// patElem is one position: the set of characters it accepts.
type patElem struct{ set [128]bool }

func compilePattern(src string) (pattern, error) {
	p := pattern{src: src}
	if src == "" {
		return p, errors.New("empty pattern")
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		var e patElem
		switch {
		case c == '.' || c == '!':
			if i != len(src)-1 {
				return p, fmt.Errorf("%q: %q is only allowed at the end", src, c)
			}
			p.tail = c
			continue
		case c >= '0' && c <= '9', c == '+', c == '*', c == '#':
			e.set[c] = true
		case c == 'X' || c == 'x':
			e.digits('0', '9')
		case c == 'N' || c == 'n':
			e.digits('2', '9')
		case c == 'Z' || c == 'z':
			e.digits('1', '9')
		case c == '[':
			end := strings.IndexByte(src[i:], ']')
			if end < 0 {
				return p, fmt.Errorf("%q: unclosed [", src)
			}
			if err := e.class(src[i+1 : i+end]); err != nil {
				return p, fmt.Errorf("%q: %w", src, err)
			}
			i += end
		default:
			return p, fmt.Errorf("%q: %q is not a pattern character (0-9 + * # X N Z [..] . !)", src, c)
		}
		p.elems = append(p.elems, e)
	}
	return p, nil
}

func (e *patElem) digits(lo, hi byte) {
	for c := lo; c <= hi; c++ {
		e.set[c] = true
	}
}

// class fills e from the inside of a [...] set: digits, ranges a-b, commas.
func (e *patElem) class(s string) error {
	if s == "" {
		return errors.New("empty [] set")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',':
		case c >= '0' && c <= '9' && i+2 < len(s) && s[i+1] == '-':
			hi := s[i+2]
			if hi < c || hi > '9' {
				return fmt.Errorf("bad range %c-%c", c, hi)
			}
			e.digits(c, hi)
			i += 2
		case c >= '0' && c <= '9', c == '*', c == '#', c == '+':
			e.set[c] = true
		default:
			return fmt.Errorf("%q in a [] set", c)
		}
	}
	return nil
}

// match reports whether number matches the whole pattern.
func (p pattern) match(number string) bool {
	if len(number) < len(p.elems) {
		return false
	}
	for i, e := range p.elems {
		c := number[i]
		if c >= 128 || !e.set[c] {
			return false
		}
	}
	rest := len(number) - len(p.elems)
	switch p.tail {
	case '.':
		return rest >= 1
	case '!':
		return true
	}
	return rest == 0
}
