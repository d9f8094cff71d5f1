package tts

// say-as expansion: the SSML <say-as> values of flow prompts turned into words, in
// English and Mandarin, so every backend speaks them alike (espeak-ng reads "123" as
// a number and knows no Chinese number forms). Interpret-as values follow the W3C
// say-as Note (2005). A value that does not parse is spoken as written.

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// digitGap is the pause between the digits of a digits value: read-back of an
// account number must be heard digit by digit on a phone line, so each digit stands
// alone (and the value takes longer than the number it spells would). Telephone
// numbers are read in their groups, faster inside a group (phoneGap) and with a
// longer pause between groups (groupGap), as people read them.
const (
	digitGap = `<break time="400ms"/>`
	phoneGap = `<break time="200ms"/>`
	groupGap = `<break time="400ms"/>`
)

// sayAs returns the espeak-ng markup that speaks text as interpret would in lang
// ("zh" Mandarin, anything else English): escaped words and break elements.
func sayAs(text, interpret, format, lang string) string {
	zh := lang == "zh"
	t := strings.TrimSpace(text)
	var out string
	switch interpret {
	case "digits":
		out = digitWords(t, zh)
	case "characters":
		out = characters(t, zh)
	case "telephone":
		out = telephone(t, zh)
	case "cardinal":
		out = numberWords(t, zh, false)
	case "ordinal":
		out = numberWords(t, zh, true)
	case "date":
		out = date(t, format, zh)
	case "time":
		out = clockTime(t, format, zh)
	case "currency":
		out = currency(t, zh)
	}
	if out == "" {
		return html.EscapeString(text)
	}
	return out
}

var (
	enOnes = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	enTens   = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
	enScales = []string{"", " thousand", " million", " billion", " trillion"}
	zhDigits = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	enMonths = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// digitWord is one digit's word.
func digitWord(d rune, zh bool) string {
	if zh {
		return zhDigits[d-'0']
	}
	return enOnes[d-'0']
}

// digitWords reads every digit of s on its own; other characters (spaces, dashes)
// are dropped, letters kept. "" when s has no digit.
func digitWords(s string, zh bool) string {
	var words []string
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			words = append(words, digitWord(r, zh))
		case unicode.IsLetter(r):
			words = append(words, html.EscapeString(string(r)))
		}
	}
	return strings.Join(words, digitGap)
}

// symbolWords names the symbols account and ticket references hold.
var symbolWords = map[rune][2]string{
	'-': {"dash", "杠"}, '_': {"underscore", "下划线"}, '.': {"dot", "点"}, '/': {"slash", "斜杠"},
	'#': {"hash", "井号"}, '*': {"star", "星号"}, '+': {"plus", "加"}, '@': {"at", "艾特"},
}

// characters spells s: letters by name (espeak-ng's own characters mode), digits as
// digit words, symbols by name.
func characters(s string, zh bool) string {
	var words []string
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			words = append(words, digitWord(r, zh))
		case unicode.IsSpace(r):
		case r < unicode.MaxASCII && unicode.IsLetter(r):
			words = append(words, `<say-as interpret-as="characters">`+string(r)+`</say-as>`)
		default:
			if w, ok := symbolWords[r]; ok {
				words = append(words, w[b2i(zh)])
			} else {
				words = append(words, html.EscapeString(string(r)))
			}
		}
	}
	return strings.Join(words, " ")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// telephone reads a phone number in groups: the groups written (+1 555-0100), else
// +1 numbers as 1 3 3 4, else groups of three with the last four together. Each digit
// stands alone; in Mandarin 1 is 幺, as numbers are read aloud in China.
func telephone(s string, zh bool) string {
	plus := strings.HasPrefix(s, "+")
	groups := strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if len(groups) == 0 {
		return ""
	}
	if len(groups) == 1 {
		g := groups[0]
		switch {
		case plus && len(g) == 11 && g[0] == '1':
			groups = []string{g[:1], g[1:4], g[4:7], g[7:]}
		case len(g) > 5:
			groups = nil
			for len(g) > 4 {
				groups = append(groups, g[:3])
				g = g[3:]
			}
			groups = append(groups, g)
		}
	}
	var parts []string
	if plus {
		parts = append(parts, symbolWords['+'][b2i(zh)])
	}
	for _, g := range groups {
		var words []string
		for _, r := range g {
			w := digitWord(r, zh)
			if zh && r == '1' {
				w = "幺"
			}
			words = append(words, w)
		}
		parts = append(parts, strings.Join(words, phoneGap))
	}
	sep := ", " + groupGap
	if zh {
		sep = "，" + groupGap
	}
	return strings.Join(parts, sep)
}

var numberRE = regexp.MustCompile(`^([-+]?)([0-9][0-9,]*)(\.[0-9]+)?(st|nd|rd|th)?$`)

// numberWords reads a whole or decimal number as a cardinal (or ordinal). "" when s
// is not a number or is too large to read as one.
func numberWords(s string, zh, ordinal bool) string {
	m := numberRE.FindStringSubmatch(strings.ReplaceAll(s, " ", ""))
	if m == nil {
		return ""
	}
	n, err := strconv.ParseUint(strings.ReplaceAll(m[2], ",", ""), 10, 64)
	if err != nil || n >= 1e15 {
		return ""
	}
	var b strings.Builder
	if m[1] == "-" {
		b.WriteString(map[bool]string{true: "负", false: "minus "}[zh])
	}
	switch {
	case ordinal && zh:
		b.WriteString("第" + zhCardinal(n))
	case ordinal:
		b.WriteString(enOrdinal(n))
	case zh:
		b.WriteString(zhCardinal(n))
	default:
		b.WriteString(enCardinal(n))
	}
	if m[3] != "" && !ordinal {
		if zh {
			b.WriteString("点")
		} else {
			b.WriteString(" point")
		}
		for _, r := range m[3][1:] {
			if !zh {
				b.WriteByte(' ')
			}
			b.WriteString(digitWord(r, zh))
		}
	}
	return b.String()
}

// enCardinal spells n in English: 1234 is "one thousand two hundred thirty-four".
func enCardinal(n uint64) string {
	switch {
	case n < 20:
		return enOnes[n]
	case n < 100:
		if n%10 == 0 {
			return enTens[n/10]
		}
		return enTens[n/10] + "-" + enOnes[n%10]
	case n < 1000:
		if n%100 == 0 {
			return enOnes[n/100] + " hundred"
		}
		return enOnes[n/100] + " hundred " + enCardinal(n%100)
	}
	var parts []string
	for i := 0; n > 0; i++ {
		if g := n % 1000; g > 0 {
			parts = append([]string{enCardinal(g) + enScales[i]}, parts...)
		}
		n /= 1000
	}
	return strings.Join(parts, " ")
}

// enOrdinal spells n as an English ordinal: 21 is "twenty-first".
func enOrdinal(n uint64) string {
	w := enCardinal(n)
	cut := max(strings.LastIndexAny(w, " -")+1, 0)
	head, last := w[:cut], w[cut:]
	switch last {
	case "one":
		last = "first"
	case "two":
		last = "second"
	case "three":
		last = "third"
	case "five":
		last = "fifth"
	case "eight":
		last = "eighth"
	case "nine":
		last = "ninth"
	case "twelve":
		last = "twelfth"
	default:
		if strings.HasSuffix(last, "y") {
			last = last[:len(last)-1] + "ieth"
		} else {
			last += "th"
		}
	}
	return head + last
}

// zhCardinal writes n in Chinese numerals: 1005 is 一千零五, 12 is 十二, 100000 is
// 十万. The reading follows the standard forms (二 before 百 and 千).
func zhCardinal(n uint64) string {
	if n == 0 {
		return "零"
	}
	units := []string{"", "万", "亿", "万亿"}
	var groups []uint64
	for m := n; m > 0; m /= 10000 {
		groups = append(groups, m%10000)
	}
	var b strings.Builder
	zero := false // a 零 is owed before the next non-zero digit
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			zero = b.Len() > 0
			continue
		}
		if b.Len() > 0 && g < 1000 {
			zero = true
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		b.WriteString(zhGroup(g, b.Len() == 0))
		b.WriteString(units[i])
	}
	return b.String()
}

// zhGroup writes a group of four digits (1 to 9999); lead says it starts the number,
// where 10 to 19 are read 十… rather than 一十….
func zhGroup(g uint64, lead bool) string {
	places := []string{"千", "百", "十", ""}
	digits := []uint64{g / 1000, g / 100 % 10, g / 10 % 10, g % 10}
	var b strings.Builder
	started, zero := false, false
	for i, d := range digits {
		if d == 0 {
			zero = started
			continue
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		if !(i == 2 && d == 1 && !started && lead) {
			b.WriteString(zhDigits[d])
		}
		b.WriteString(places[i])
		started = true
	}
	return b.String()
}

// date reads a date whose fields are in format's order (ymd, mdy, dmy, md, dm, ym, my,
// d, m, y; default ymd for three fields): in English "August first, twenty twenty-six",
// in Mandarin 二零二六年八月一日.
func date(s, format string, zh bool) string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if format == "" {
		format = map[int]string{1: "y", 2: "md", 3: "ymd"}[len(fields)]
		if len(fields) == 3 && len(fields[2]) == 4 {
			format = "mdy"
		}
	}
	if len(fields) != len(format) {
		return ""
	}
	var y, m, d int
	for i, f := range format {
		v, err := strconv.Atoi(fields[i])
		if err != nil {
			return ""
		}
		switch f {
		case 'y':
			y = v
		case 'm':
			m = v
		case 'd':
			d = v
		}
	}
	if strings.ContainsRune(format, 'm') && (m < 1 || m > 12) || strings.ContainsRune(format, 'd') && (d < 1 || d > 31) {
		return ""
	}
	has := func(c rune) bool { return strings.ContainsRune(format, c) }
	if zh {
		var b strings.Builder
		if has('y') {
			for _, r := range strconv.Itoa(y) {
				b.WriteString(zhDigits[r-'0'])
			}
			b.WriteString("年")
		}
		if has('m') {
			b.WriteString(zhCardinal(uint64(m)) + "月")
		}
		if has('d') {
			b.WriteString(zhCardinal(uint64(d)) + "日")
		}
		return b.String()
	}
	var parts []string
	switch {
	case has('m') && has('d'):
		parts = append(parts, enMonths[m-1]+" "+enOrdinal(uint64(d)))
	case has('m'):
		parts = append(parts, enMonths[m-1])
	case has('d'):
		parts = append(parts, "the "+enOrdinal(uint64(d)))
	}
	if has('y') {
		parts = append(parts, enYear(y))
	}
	return strings.Join(parts, ", ")
}

// enYear reads a year as people say it: 2026 "twenty twenty-six", 2005 "two thousand
// five", 1905 "nineteen oh five", 1900 "nineteen hundred".
func enYear(y int) string {
	switch {
	case y < 1000 || y > 9999:
		return enCardinal(uint64(max(y, 0)))
	case y%1000 < 10 && y/1000 == 2:
		return enCardinal(uint64(y))
	case y%100 == 0:
		return enCardinal(uint64(y/100)) + " hundred"
	case y%100 < 10:
		return enCardinal(uint64(y/100)) + " oh " + enOnes[y%10]
	}
	return enCardinal(uint64(y/100)) + " " + enCardinal(uint64(y%100))
}

var timeRE = regexp.MustCompile(`^(\d{1,2})[:.h](\d{2})(?:[:.](\d{2}))?\s*([aApP])?\.?\s*[mM]?\.?$`)

// clockTime reads a time of day, "14:30" or "2:30 pm": hms24 in English "fourteen
// thirty", hms12 "two thirty P M" (the default when the value has am or pm); in
// Mandarin 十四点三十分, or 下午两点三十分.
func clockTime(s, format string, zh bool) string {
	m := timeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return ""
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	sec := -1
	if m[3] != "" {
		sec, _ = strconv.Atoi(m[3])
	}
	if ap := strings.ToLower(m[4]); ap != "" {
		if format == "" {
			format = "hms12"
		}
		if ap == "p" && h < 12 {
			h += 12
		} else if ap == "a" && h == 12 {
			h = 0
		}
	}
	if h > 23 || mi > 59 || sec > 59 {
		return ""
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	if zh {
		var b strings.Builder
		if format == "hms12" {
			switch {
			case h < 6:
				b.WriteString("凌晨")
			case h < 12:
				b.WriteString("上午")
			case h == 12:
				b.WriteString("中午")
			case h < 18:
				b.WriteString("下午")
			default:
				b.WriteString("晚上")
			}
			h = h12
		}
		if h == 2 {
			b.WriteString("两点")
		} else {
			b.WriteString(zhCardinal(uint64(h)) + "点")
		}
		switch {
		case mi == 0 && sec <= 0:
			b.WriteString("整")
		default:
			if mi < 10 && mi > 0 {
				b.WriteString("零")
			}
			b.WriteString(zhCardinal(uint64(mi)) + "分")
		}
		if sec > 0 {
			b.WriteString(zhCardinal(uint64(sec)) + "秒")
		}
		return b.String()
	}
	hour := h
	if format == "hms12" {
		hour = h12
	}
	out := enCardinal(uint64(hour))
	switch {
	case mi == 0 && format == "hms12":
		out += " o'clock"
	case mi == 0:
		out += " hundred"
	case mi < 10:
		out += " oh " + enOnes[mi]
	default:
		out += " " + enCardinal(uint64(mi))
	}
	if sec > 0 {
		out += " and " + enCardinal(uint64(sec)) + " seconds"
	}
	if format == "hms12" {
		out += map[bool]string{true: " P M", false: " A M"}[h >= 12]
	}
	return out
}

// currencies names the currencies prompts speak: English major and minor units
// (singular, plural), Mandarin unit.
var currencies = map[string]struct {
	one, many, minorOne, minorMany, zh string
}{
	"USD": {"dollar", "dollars", "cent", "cents", "美元"},
	"EUR": {"euro", "euros", "cent", "cents", "欧元"},
	"GBP": {"pound", "pounds", "penny", "pence", "英镑"},
	"CNY": {"yuan", "yuan", "fen", "fen", "元"},
	"JPY": {"yen", "yen", "", "", "日元"},
	"CHF": {"franc", "francs", "centime", "centimes", "瑞士法郎"},
}

var (
	currencySymbols = map[string]string{"$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "元": "CNY", "RMB": "CNY"}
	currencyRE      = regexp.MustCompile(`^([A-Za-z]{3}|[$€£¥])?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([A-Za-z]{3}|[$€£¥元])?$`)
)

// currency reads an amount with its currency ("42.50 EUR", "$3", "€1.5"): in
// English "forty-two euros and fifty cents", in Mandarin 四十二点五欧元 (yuan as
// 元, 角 and 分).
func currency(s string, zh bool) string {
	m := currencyRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || (m[1] != "" && m[3] != "") {
		return ""
	}
	code := strings.ToUpper(m[1] + m[3])
	if c, ok := currencySymbols[code]; ok {
		code = c
	}
	amount := strings.ReplaceAll(m[2], ",", "")
	whole, frac, _ := strings.Cut(amount, ".")
	n, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || n >= 1e15 {
		return ""
	}
	cents := 0
	if frac != "" {
		frac = (frac + "0")[:2]
		cents, _ = strconv.Atoi(frac)
	}
	unit, known := currencies[code]
	if zh {
		if code == "CNY" {
			out := zhCardinal(n) + "元"
			switch {
			case cents%10 == 0 && cents > 0:
				out += zhDigits[cents/10] + "角"
			case cents > 0 && cents < 10:
				out += "零" + zhDigits[cents] + "分"
			case cents > 0:
				out += zhDigits[cents/10] + "角" + zhDigits[cents%10] + "分"
			}
			return out
		}
		out := zhCardinal(n)
		if cents > 0 {
			out += "点" + zhDigits[cents/10]
			if cents%10 != 0 {
				out += zhDigits[cents%10]
			}
		}
		if known {
			return out + unit.zh
		}
		return out + characters(code, true)
	}
	if !known {
		words := enCardinal(n)
		if cents > 0 {
			words = numberWords(amount, false, false)
		}
		if code == "" {
			return words
		}
		return words + " " + characters(code, false)
	}
	var parts []string
	if n > 0 || cents == 0 || unit.minorOne == "" {
		w := unit.many
		if n == 1 {
			w = unit.one
		}
		parts = append(parts, enCardinal(n)+" "+w)
	}
	if cents > 0 && unit.minorOne != "" {
		w := unit.minorMany
		if cents == 1 {
			w = unit.minorOne
		}
		parts = append(parts, enCardinal(uint64(cents))+" "+w)
	}
	return strings.Join(parts, " and ")
}
