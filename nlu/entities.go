package nlu

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// EntityType says what an Entity is. The zero value is EntityUnknown.
type EntityType uint8

// The entity types Extract finds.
const (
	EntityUnknown EntityType = iota
	// EntityDigits: a string of digits said or typed as digits ("one two three
	// four", "double five", 幺三八, "0800", "555-1234"). Value holds the digits.
	EntityDigits
	// EntityNumber: a quantity ("twenty three", "one hundred and five", 一百二十,
	// "1,250", "3.5"). Value is its decimal form; Num holds it.
	EntityNumber
	// EntityAmount: money ("twenty three dollars fifty", "$23.50", "23.50",
	// 一百二十块五). Value has two decimals ("23.50"), Num the amount and Currency
	// the ISO 4217 code when one was said ("" for a bare 23.50).
	EntityAmount
	// EntityDate: a day ("March 3rd", "tomorrow", "next Monday", 三月五号, 下周一).
	// Value is YYYY-MM-DD; Time is midnight of that day in now's location.
	EntityDate
	// EntityPhone: a telephone number, normalized to E.164 form (+8613812345678,
	// +15551234567). It spans the same digits as the EntityDigits reported with it.
	EntityPhone
	// EntityAccount: a digit string of the account-number length the Extractor is
	// configured with. It spans the same digits as an EntityDigits.
	EntityAccount
)

var entityNames = [...]string{"unknown", "digits", "number", "amount", "date", "phone", "account"}

// String returns the lower-case name used in flow variables and logs.
func (t EntityType) String() string {
	if int(t) < len(entityNames) {
		return entityNames[t]
	}
	return "EntityType(" + strconv.Itoa(int(t)) + ")"
}

// Entity is one thing found in a transcript.
type Entity struct {
	Type  EntityType
	Text  string // the words as they appear in the transcript
	Value string // the normalized value (see the EntityType constants)
	// Start and End are the byte offsets of Text in the transcript.
	Start, End int
	Num        float64   // EntityNumber, EntityAmount: the value
	Currency   string    // EntityAmount: ISO 4217 code, "" when unsaid
	Time       time.Time // EntityDate: midnight of the day, in now's location
}

// Extractor finds entities in transcripts. Its options are the deployment's
// conventions: account-number length, home country for phone numbers, which way
// a date without a year leans. It is immutable and safe for concurrent use.
type Extractor struct {
	accountMin, accountMax int
	country                string // calling code of national numbers; "" by language
	dates                  DatePreference
	pool                   sync.Pool // *escratch
}

// DatePreference resolves a date said without a year ("March 3rd", 五号).
type DatePreference uint8

const (
	// DateNearest: the occurrence closest to now, before or after (the default;
	// right for "I was charged on March 3rd" and "pay on the 5th" alike).
	DateNearest DatePreference = iota
	// DateFuture: the first occurrence today or later (appointments, promises to pay).
	DateFuture
	// DatePast: the last occurrence today or earlier (disputes about past charges).
	DatePast
)

// Option configures an Extractor.
type Option func(*Extractor)

// Default account-number lengths: a run of this many digits is also reported as
// an EntityAccount.
const (
	DefaultAccountMin = 8
	DefaultAccountMax = 12
)

// ErrOption is returned by NewExtractor for an option out of range.
var ErrOption = errors.New("nlu: invalid option")

// WithAccountLength sets the digit counts of an account number (inclusive).
func WithAccountLength(minDigits, maxDigits int) Option {
	return func(x *Extractor) { x.accountMin, x.accountMax = minDigits, maxDigits }
}

// WithCountryCode sets the calling code (1, 44, 86) that national phone numbers
// belong to. By default it follows the utterance's language: 86 for zh, 1 for
// others.
func WithCountryCode(code string) Option {
	return func(x *Extractor) { x.country = code }
}

// WithDatePreference sets how dates without a year are resolved.
func WithDatePreference(p DatePreference) Option {
	return func(x *Extractor) { x.dates = p }
}

// NewExtractor returns an Extractor with the options applied.
func NewExtractor(opts ...Option) (*Extractor, error) {
	x := &Extractor{accountMin: DefaultAccountMin, accountMax: DefaultAccountMax}
	for _, o := range opts {
		o(x)
	}
	var errs []error
	if x.accountMin < 1 || x.accountMax < x.accountMin || x.accountMax > 32 {
		errs = append(errs, fmt.Errorf("%w: account length %d to %d (want 1 ≤ min ≤ max ≤ 32)", ErrOption, x.accountMin, x.accountMax))
	}
	if x.country != "" && (len(x.country) > 3 || x.country[0] == '0' || atoi(x.country) == 0 || asciiDigits(x.country) != x.country) {
		errs = append(errs, fmt.Errorf("%w: country code %q (want 1 to 3 digits)", ErrOption, x.country))
	}
	if x.dates > DatePast {
		errs = append(errs, fmt.Errorf("%w: date preference %d", ErrOption, x.dates))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	x.pool.New = func() any { return new(escratch) }
	return x, nil
}

// defaultExtractor serves the package-level Extract.
var defaultExtractor, _ = NewExtractor()

// Extract finds the entities of a transcript with the default options (accounts of
// 8 to 12 digits, the language's country, nearest dates). See Extractor.Extract.
func Extract(text, lang string, now time.Time) []Entity {
	return defaultExtractor.Extract(text, lang, now)
}

// escratch is the per-call working memory of an Extractor.
type escratch struct {
	toks []etok
	low  []byte
}

// Extract returns the entities of text, a transcript in language lang ("en",
// "zh", "" to detect it; it selects the phone country and how a slashed date is
// read, since the numerals of both languages are understood in any text), in
// order of position.
// Dates are resolved against now. A string of digits is reported as
// EntityDigits and, when it fits, also as EntityPhone and EntityAccount over the
// same span. Text beyond 16 KiB is ignored.
func (x *Extractor) Extract(text, lang string, now time.Time) []Entity {
	text = cut(text, maxExtractBytes)
	s := x.pool.Get().(*escratch)
	defer x.pool.Put(s)
	s.toks, s.low = etokenize(s.toks[:0], text, s.low)
	toks := s.toks
	if lang = baseLang(lang); lang == "" {
		lang = DetectLanguage(text)
	}
	var out []Entity
	span := func(i, j int) (int, int, string) {
		a, b := toks[i].start, toks[j-1].end
		return a, b, text[a:b]
	}
	for i := 0; i < len(toks); {
		if d, next, ok := x.dateAt(toks, i, now, lang); ok {
			a, b, t := span(i, next)
			out = append(out, Entity{Type: EntityDate, Text: t, Value: d.Format(time.DateOnly), Start: a, End: b, Time: d})
			i = next
			continue
		}
		if v, cur, next, ok := amountAt(toks, i); ok {
			a, b, t := span(i, next)
			out = append(out, Entity{Type: EntityAmount, Text: t, Value: strconv.FormatFloat(v, 'f', 2, 64),
				Start: a, End: b, Num: v, Currency: cur})
			i = next
			continue
		}
		n, ok := parseNumber(toks, i)
		if !ok {
			i++
			continue
		}
		a, b, t := span(i, n.next)
		if !n.seq {
			out = append(out, Entity{Type: EntityNumber, Text: t, Value: strconv.FormatFloat(n.val, 'f', -1, 64),
				Start: a, End: b, Num: n.val})
			i = n.next
			continue
		}
		if p, ok := x.phone(n, lang); ok {
			out = append(out, Entity{Type: EntityPhone, Text: t, Value: p, Start: a, End: b})
		}
		if l := len(n.digits); l >= x.accountMin && l <= x.accountMax && !n.plus {
			out = append(out, Entity{Type: EntityAccount, Text: t, Value: n.digits, Start: a, End: b})
		}
		out = append(out, Entity{Type: EntityDigits, Text: t, Value: n.digits, Start: a, End: b})
		i = n.next
	}
	return out
}

// first returns the first entity of type typ in text.
func (x *Extractor) first(text, lang string, now time.Time, typ EntityType) (Entity, bool) {
	for _, e := range x.Extract(text, lang, now) {
		if e.Type == typ {
			return e, true
		}
	}
	return Entity{}, false
}

// Digits returns the first string of digits in text: what a gather node with
// speech input stores for "my PIN is one two three four".
func (x *Extractor) Digits(text, lang string) (string, bool) {
	e, ok := x.first(text, lang, time.Time{}, EntityDigits)
	return e.Value, ok
}

// Amount returns the first amount of money in text and its currency ("" when
// unsaid).
func (x *Extractor) Amount(text, lang string) (float64, string, bool) {
	e, ok := x.first(text, lang, time.Time{}, EntityAmount)
	return e.Num, e.Currency, ok
}

// Date returns the first date in text, resolved against now.
func (x *Extractor) Date(text, lang string, now time.Time) (time.Time, bool) {
	e, ok := x.first(text, lang, now, EntityDate)
	return e.Time, ok
}

// Phone returns the first telephone number in text, in E.164 form.
func (x *Extractor) Phone(text, lang string) (string, bool) {
	e, ok := x.first(text, lang, time.Time{}, EntityPhone)
	return e.Value, ok
}

// Account returns the first digit string of account-number length in text.
func (x *Extractor) Account(text, lang string) (string, bool) {
	e, ok := x.first(text, lang, time.Time{}, EntityAccount)
	return e.Value, ok
}

// phone normalizes a digit string to E.164 when it has the shape of a phone
// number: an international number (+ or 00 then 8 to 15 digits), a North
// American number when the country is 1 (10 digits, or 11 starting with 1; area
// code and exchange not starting with 0 or 1), a Chinese mobile (11 digits,
// 1[3-9]…, with or without 86), or a national number with trunk prefix 0 (9 to 12
// digits) in the configured country. NANP is tried first in country 1, so an
// 11-digit 1-number there is American even when it could be a Chinese mobile.
// Anything else is not reported as a phone: local numbers without an area code are
// ambiguous.
func (x *Extractor) phone(n number, lang string) (string, bool) {
	d := n.digits
	switch {
	case n.plus:
		if len(d) >= 8 && len(d) <= 15 && d[0] != '0' {
			return "+" + d, true
		}
		return "", false
	case len(d) >= 10 && len(d) <= 17 && d[:2] == "00":
		return "+" + d[2:], true
	}
	cc := x.country
	if cc == "" {
		cc = "1"
		if lang == LangChinese {
			cc = "86"
		}
	}
	if cc == "1" {
		switch {
		case len(d) == 10 && nanp(d):
			return "+1" + d, true
		case len(d) == 11 && d[0] == '1' && nanp(d[1:]):
			return "+" + d, true
		}
	}
	switch {
	case len(d) == 11 && cnMobile(d):
		return "+86" + d, true
	case len(d) == 13 && d[:2] == "86" && cnMobile(d[2:]):
		return "+" + d, true
	case d[0] == '0' && len(d) >= 9 && len(d) <= 12 && cc != "1":
		return "+" + cc + d[1:], true
	}
	return "", false
}

func cnMobile(d string) bool { return d[0] == '1' && d[1] >= '3' && d[1] <= '9' }

func nanp(d string) bool { return d[0] >= '2' && d[3] >= '2' }

// currencyAt returns the currency of a currency token at toks[i].
func currencyAt(toks []etok, i int) (string, bool) {
	if i < len(toks) && toks[i].kind == kCurrency {
		return toks[i].cur, true
	}
	return "", false
}

// amountAt reads an amount of money at toks[i]:
//
//	$23.50, $ 5, £20, ¥120           a symbol, then a number
//	twenty three dollars [and] fifty [cents], 5 dollars, 20 euros 50
//	fifty cents, 99p
//	23.50                           two decimals: money, currency unsaid
//	一百二十块五, 三块五毛二, 5元, 十块钱, 二十三点五元, 五毛, 120元5角3分
func amountAt(toks []etok, i int) (float64, string, int, bool) {
	t := toks[i]
	if t.kind == kCurrency && t.sym {
		n, ok := parseCardinal(toks, i+1)
		if !ok || n.seq {
			return 0, "", 0, false
		}
		next := n.next
		if cur, ok := currencyAt(toks, next); ok && cur == t.cur {
			next++ // $5 dollars
		}
		return n.val, t.cur, next, true
	}
	if t.kind == kZhDigit || t.kind == kZhUnit || (t.kind == kNum && following(toks, i).kind == kHan) {
		return zhAmountAt(toks, i)
	}
	n, ok := parseCardinal(toks, i)
	if !ok {
		return 0, "", 0, false
	}
	j := n.next
	if cur, ok := currencyAt(toks, j); ok {
		v := n.val
		j++
		// Cents after the main unit: "dollars fifty", "dollars and fifty cents".
		k := j
		if k < len(toks) && toks[k].kind == kAnd {
			k++
		}
		if c, ok := parseCardinal(toks, k); ok && !c.frac && c.val < 100 && !n.frac {
			if c.next < len(toks) && toks[c.next].kind == kCent {
				return v + c.val/100, cur, c.next + 1, true
			}
			if _, isCur := currencyAt(toks, c.next); !isCur {
				return v + c.val/100, cur, c.next, true
			}
		}
		return v, cur, j, true
	}
	if j < len(toks) && toks[j].kind == kCent && !n.frac && n.val < 1000 {
		cur := toks[j].cur
		if cur == "" {
			cur = "USD"
		}
		return n.val / 100, cur, j + 1, true
	}
	if t.kind == kNum && len(t.frac) == 2 && n.next == i+1 {
		return n.val, "", i + 1, true
	}
	return 0, "", 0, false
}

// following returns the token after toks[i], or a zero token at the end.
func following(toks []etok, i int) etok {
	if i+1 < len(toks) {
		return toks[i+1]
	}
	return etok{}
}

// zhAmountAt reads a Chinese amount: a number then 块 or 元 (or 圆), then
// optionally 钱, a number of 毛 or 角 (tenths) and a number of 分 (hundredths); a
// bare digit after 块 or 毛 is the next unit down (三块五 is 3.50, 三块五毛二 3.52).
func zhAmountAt(toks []etok, i int) (float64, string, int, bool) {
	n, ok := parseCardinal(toks, i)
	if !ok {
		return 0, "", 0, false
	}
	j := n.next
	if j >= len(toks) || toks[j].kind != kHan {
		return 0, "", 0, false
	}
	v := 0.0
	switch toks[j].r {
	case '块', '元', '圆':
		v = n.val
		j++
		if j < len(toks) && toks[j].r == '钱' {
			j++
		}
		v, j = zhSubunits(toks, j, v, 0.1, n.frac)
	case '毛', '角':
		if n.frac || n.val >= 10 {
			return 0, "", 0, false
		}
		v, j = zhSubunits(toks, i, 0, 0.1, false)
		if j == i {
			return 0, "", 0, false
		}
	default:
		return 0, "", 0, false
	}
	return v, "CNY", j, true
}

// zhSubunits reads [N 毛|角] [N 分], or a bare trailing digit worth unit, from
// toks[j], adding to v.
func zhSubunits(toks []etok, j int, v, unit float64, frac bool) (float64, int) {
	for unit >= 0.01 && !frac && j < len(toks) {
		d, ok := zhDigitAt(toks[j])
		if !ok {
			break
		}
		k := j + 1
		if k < len(toks) {
			switch toks[k].r {
			case '毛', '角':
				if unit < 0.1 {
					return v, j
				}
				v += d * 0.1
				j, unit = k+1, 0.01
				if j < len(toks) && toks[j].r == '钱' {
					j++
				}
				continue
			case '分':
				v += d * 0.01
				return v, k + 1
			}
		}
		// A bare digit: the next unit down; it ends the amount.
		if k < len(toks) && (toks[k].kind == kZhDigit || toks[k].kind == kZhUnit || toks[k].kind == kNum) {
			return v, j
		}
		return v + d*unit, k
	}
	return v, j
}

// zhDigitAt returns the value of a single digit, Chinese or ASCII, in an amount.
func zhDigitAt(t etok) (float64, bool) {
	switch {
	case t.kind == kZhDigit:
		return float64(t.val), true
	case t.kind == kNum && len(t.digits) == 1 && t.frac == "":
		return float64(t.digits[0] - '0'), true
	}
	return 0, false
}
