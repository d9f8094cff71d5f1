package nlu

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ekind is what an entity token is to the number, amount and date grammars.
type ekind uint8

const (
	kOther    ekind = iota
	kNum            // ASCII digits, possibly with a decimal part: digits, frac
	kUnit           // zero … nine: val
	kOh             // "oh", "o": 0 inside a digit string
	kTeen           // ten … nineteen: val
	kTens           // twenty … ninety: val
	kHundred        // hundred
	kScale          // thousand, million, billion: val
	kA              // "a", "an": one, before hundred or thousand
	kAnd            // and
	kPoint          // "point", "dot": a decimal point said
	kRepeat         // double (2), triple (3): val
	kPlus           // "+" or "plus"
	kSep            // "-", ",", ".", "/", "dash": may sit inside a digit string
	kSlash          // "/" (also kSep-like in digit strings)
	kCurrency       // a currency word or symbol: cur; sym for symbols
	kCent           // cent, cents, pence, penny
	kOrdinal        // first … thirty-first, 3rd: val
	kMonth          // january … december: val 1–12
	kWeekday        // sunday … saturday: val 0–6 (time.Weekday)
	kRelDay         // today 0, tomorrow 1, yesterday -1: val
	kNext           // next
	kThis           // this, coming
	kLast           // last
	kThe            // the
	kOf             // of
	kOn             // on
	kIn             // in
	kAgo            // ago
	kDay            // day, days
	kWeek           // week, weeks
	kFromNow        // "from now" said as "from": checked with the next token
	kLater          // later
	kNow            // now
	kAfter          // after
	kBefore         // before
	kHan            // a Han character that is not a numeral: r
	kZhDigit        // 零〇一…九两幺 (and the financial forms): val
	kZhUnit         // 十百千 (拾佰仟): val
	kZhBig          // 万 亿: val
	kZhPoint        // 点
)

// etok is one token of the entity grammars, pointing into the text.
type etok struct {
	start, end int // byte offsets in the text
	kind       ekind
	val        int
	digits     string // kNum: the integer digits (ASCII)
	frac       string // kNum: the digits after a decimal point, "" for none
	grouped    bool   // kNum: written with thousands separators (1,250)
	cur        string // kCurrency: ISO 4217 code
	sym        bool   // kCurrency: a symbol ($, ¥) written before the number
	r          rune   // kHan, kZhDigit…: the character
	space      bool   // whitespace (only) separates it from the token before
}

type wordInfo struct {
	kind ekind
	val  int
	cur  string
}

// enWords is the English vocabulary of the entity grammars.
var enWords = map[string]wordInfo{}

func init() {
	add := func(kind ekind, val int, words ...string) {
		for _, w := range words {
			enWords[w] = wordInfo{kind: kind, val: val}
		}
	}
	for i, w := range strings.Fields("zero one two three four five six seven eight nine") {
		add(kUnit, i, w)
	}
	add(kUnit, 0, "nought", "nil")
	add(kOh, 0, "oh", "o")
	for i, w := range strings.Fields("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen") {
		add(kTeen, 10+i, w)
	}
	for i, w := range strings.Fields("twenty thirty forty fifty sixty seventy eighty ninety") {
		add(kTens, 20+10*i, w)
	}
	add(kTens, 40, "fourty")
	add(kHundred, 100, "hundred")
	add(kScale, 1000, "thousand")
	add(kScale, 1000000, "million")
	add(kScale, 1000000000, "billion")
	add(kA, 1, "a", "an")
	add(kAnd, 0, "and")
	add(kPoint, 0, "point", "dot")
	add(kRepeat, 2, "double")
	add(kRepeat, 3, "triple", "treble")
	add(kPlus, 0, "plus")
	add(kSep, 0, "dash", "hyphen")
	for i, w := range strings.Fields(`first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
		thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth`) {
		add(kOrdinal, i+1, w)
	}
	add(kOrdinal, 30, "thirtieth")
	for i, w := range strings.Fields("january february march april may june july august september october november december") {
		add(kMonth, i+1, w)
	}
	for i, w := range strings.Fields("jan feb mar apr may jun jul aug sep oct nov dec") {
		if w != "may" && w != "mar" { // common words; "March" and "May" are spelled out by ASR
			add(kMonth, i+1, w)
		}
	}
	add(kMonth, 9, "sept")
	for i, w := range strings.Fields("sunday monday tuesday wednesday thursday friday saturday") {
		add(kWeekday, i, w, w+"s")
	}
	add(kRelDay, 0, "today", "tonight")
	add(kRelDay, 1, "tomorrow")
	add(kRelDay, -1, "yesterday")
	add(kNext, 0, "next")
	add(kThis, 0, "this", "coming")
	add(kLast, 0, "last", "past")
	add(kThe, 0, "the")
	add(kOf, 0, "of")
	add(kOn, 0, "on")
	add(kIn, 0, "in")
	add(kAgo, 0, "ago")
	add(kDay, 1, "day", "days")
	add(kWeek, 7, "week", "weeks")
	add(kFromNow, 0, "from")
	add(kLater, 0, "later")
	add(kNow, 0, "now")
	add(kAfter, 0, "after")
	add(kBefore, 0, "before")
	add(kCent, 0, "cent", "cents")
	for _, w := range []string{"pence", "penny", "p"} {
		enWords[w] = wordInfo{kind: kCent, cur: "GBP"}
	}
	for cur, words := range map[string]string{
		"USD": "dollar dollars buck bucks usd",
		"GBP": "pound pounds quid gbp sterling",
		"EUR": "euro euros eur",
		"CNY": "yuan rmb renminbi kuai cny",
	} {
		for _, w := range strings.Fields(words) {
			enWords[w] = wordInfo{kind: kCurrency, cur: cur}
		}
	}
}

// zhNumeral returns the kind and value of a Chinese numeral character.
func zhNumeral(r rune) (ekind, int) {
	switch r {
	case '零', '〇':
		return kZhDigit, 0
	case '一', '壹', '幺':
		return kZhDigit, 1
	case '二', '贰', '两':
		return kZhDigit, 2
	case '三', '叁':
		return kZhDigit, 3
	case '四', '肆':
		return kZhDigit, 4
	case '五', '伍':
		return kZhDigit, 5
	case '六', '陆':
		return kZhDigit, 6
	case '七', '柒':
		return kZhDigit, 7
	case '八', '捌':
		return kZhDigit, 8
	case '九', '玖':
		return kZhDigit, 9
	case '十', '拾':
		return kZhUnit, 10
	case '百', '佰':
		return kZhUnit, 100
	case '千', '仟':
		return kZhUnit, 1000
	case '万':
		return kZhBig, 10000
	case '亿':
		return kZhBig, 100000000
	case '点':
		return kZhPoint, 0
	}
	return kHan, 0
}

// maxExtractBytes bounds the text Extract reads: about ten minutes of speech.
const maxExtractBytes = 16 << 10

// etokenize splits text into entity tokens, appending to toks. Words are looked up
// lower-cased in enWords; ASCII digit runs become kNum (23, 23.50, 1,250) or, when
// the dots and commas do not make one number (555.123.4567), several kNum tokens
// with kSep between; digits followed by st/nd/rd/th are ordinals. Every Han
// character is a token. Full-width forms are read as ASCII.
func etokenize(toks []etok, text string, low []byte) ([]etok, []byte) {
	space := false
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		r = fold(r)
		start := i
		switch {
		case r == utf8.RuneError && size <= 1:
			i++
			space = false
			continue
		case unicode.IsSpace(r):
			i += size
			space = true
			continue
		case r >= '0' && r <= '9':
			toks, i = numberTokens(toks, text, i, space)
		case isHan(r):
			i += size
			k, v := zhNumeral(r)
			toks = append(toks, etok{start: start, end: i, kind: k, val: v, r: r, space: space})
		case unicode.IsLetter(r):
			low = low[:0]
			for i < len(text) {
				r, size := utf8.DecodeRuneInString(text[i:])
				r = fold(r)
				if !unicode.IsLetter(r) || isHan(r) {
					break
				}
				low = utf8.AppendRune(low, unicode.ToLower(r))
				i += size
			}
			t := etok{start: start, end: i, space: space}
			if w, ok := enWords[string(low)]; ok {
				t.kind, t.val, t.cur = w.kind, w.val, w.cur
			}
			toks = append(toks, t)
		default:
			i += size
			t := etok{start: start, end: i, space: space, r: r}
			switch r {
			case '+':
				t.kind = kPlus
			case '-', '–', '—', ',', '.', '、', '，', '－':
				t.kind = kSep
			case '/':
				t.kind = kSlash
			case '$':
				t.kind, t.cur, t.sym = kCurrency, "USD", true
			case '£':
				t.kind, t.cur, t.sym = kCurrency, "GBP", true
			case '€':
				t.kind, t.cur, t.sym = kCurrency, "EUR", true
			case '¥', '￥':
				t.kind, t.cur, t.sym = kCurrency, "CNY", true
			}
			toks = append(toks, t)
		}
		space = false
	}
	return toks, low
}

// numberTokens reads the ASCII digit run at text[i:] (full-width digits read as
// ASCII) and appends its tokens.
func numberTokens(toks []etok, text string, i int, space bool) ([]etok, int) {
	// The run: digits with single dots or commas between them.
	start := i
	var parts []int // byte offsets of each separator
	end := i
	for end < len(text) {
		r, size := utf8.DecodeRuneInString(text[end:])
		r = fold(r)
		if r >= '0' && r <= '9' {
			end += size
			continue
		}
		if (r == '.' || r == ',') && end+size < len(text) {
			r2, _ := utf8.DecodeRuneInString(text[end+size:])
			if r2 = fold(r2); r2 >= '0' && r2 <= '9' {
				parts = append(parts, end)
				end += size
				continue
			}
		}
		break
	}
	run := text[start:end]
	t := etok{start: start, end: end, kind: kNum, space: space}
	switch {
	case len(parts) == 0:
		t.digits = asciiDigits(run)
		// An ordinal: 3rd, 21st.
		if end+2 <= len(text) {
			suf := strings.ToLower(text[end : end+2])
			after := end + 2
			if (suf == "st" || suf == "nd" || suf == "rd" || suf == "th") &&
				(after == len(text) || !isLetterAt(text, after)) && len(t.digits) <= 2 {
				t.kind, t.val, t.end = kOrdinal, atoi(t.digits), after
				return append(toks, t), after
			}
		}
		return append(toks, t), end
	case len(parts) == 1 && text[parts[0]] == '.':
		t.digits = asciiDigits(text[start:parts[0]])
		t.frac = asciiDigits(text[parts[0]+1 : end])
		return append(toks, t), end
	case groupedNumber(text, start, end, parts):
		t.grouped = true
		last := parts[len(parts)-1]
		if text[last] == '.' {
			t.frac = asciiDigits(text[last+1 : end])
			t.digits = asciiDigits(strings.ReplaceAll(text[start:last], ",", ""))
		} else {
			t.digits = asciiDigits(strings.ReplaceAll(run, ",", ""))
		}
		return append(toks, t), end
	}
	// Separate numbers: 555.123.4567, 1,2,3.
	p := start
	for _, q := range append(parts, end) {
		toks = append(toks, etok{start: p, end: q, kind: kNum, digits: asciiDigits(text[p:q]), space: space && p == start})
		if q < end {
			toks = append(toks, etok{start: q, end: q + 1, kind: kSep})
		}
		p = q + 1
	}
	return toks, end
}

// groupedNumber reports whether the separators make a number with thousands
// separators: 1,250 or 12,500,000.75.
func groupedNumber(text string, start, end int, parts []int) bool {
	commas := parts
	if text[parts[len(parts)-1]] == '.' {
		commas = parts[:len(parts)-1]
		end = parts[len(parts)-1]
	}
	if len(commas) == 0 {
		return false
	}
	if d := commas[0] - start; d < 1 || d > 3 {
		return false
	}
	for j, c := range commas {
		if text[c] != ',' {
			return false
		}
		next := end
		if j+1 < len(commas) {
			next = commas[j+1]
		}
		if next-c-1 != 3 {
			return false
		}
	}
	return true
}

// asciiDigits returns the ASCII digits of s (full-width digits converted; any
// other character dropped).
func asciiDigits(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r = fold(r); r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// atoi converts a short digit string; it never fails (non-digits are skipped) and
// saturates instead of overflowing.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			if n > 1e15 {
				return n
			}
			n = n*10 + int(c-'0')
		}
	}
	return n
}
