package nlu

import "strings"

// number is what parseNumber read at a token: a value, or a digit string, or both.
type number struct {
	val    float64
	digits string // the digits as said: "0055" for "double oh five five"
	frac   bool   // has a decimal part
	seq    bool   // said as a string of digits, not as a quantity
	next   int    // the token after it
	plus   bool   // preceded by + or "plus" (a phone number's international prefix)
}

// parseNumber reads a number at toks[i]: English words (twenty three, one hundred
// and five, double five, point five), Chinese numerals (一百二十, 二十三点五, 两万三,
// 幺三八), ASCII digits (23, 23.50, 1,250, 5万), or a string of digits said one by
// one in any of these (one two three four, 一二三四, 138 1234 5678). Of the two
// readings, a quantity and a digit string, it keeps the one that covers more
// tokens; on a tie the quantity, unless two or more digit groups were said or the
// number is written with three or more digits or a leading zero (a PIN, 0800).
func parseNumber(toks []etok, i int) (number, bool) {
	if i >= len(toks) {
		return number{}, false
	}
	card, cok := parseCardinal(toks, i)
	seq, items, sok := parseDigitString(toks, i)
	t := toks[i]
	written := t.kind == kNum && t.frac == "" && !t.grouped && (len(t.digits) >= 3 || t.digits[0] == '0')
	switch {
	case sok && (!cok || seq.next > card.next || (seq.next == card.next && (items >= 2 || written))):
		return seq, true
	case cok:
		return card, true
	}
	return number{}, false
}

// parseCardinal reads a quantity: English, Chinese or ASCII, with a decimal part.
func parseCardinal(toks []etok, i int) (number, bool) {
	if i >= len(toks) {
		return number{}, false
	}
	t := toks[i]
	switch t.kind {
	case kNum:
		n := number{val: float64(atoi(t.digits)), digits: t.digits, next: i + 1}
		if len(t.digits) > 15 {
			return n, false
		}
		if t.frac != "" {
			n.frac = true
			n.val += fracValue(t.frac)
		}
		// 5万, 3千, 2 thousand, 1.5 million.
		if j := i + 1; j < len(toks) {
			switch u := toks[j]; u.kind {
			case kScale, kHundred:
				n.val *= float64(u.val)
				n.next = j + 1
			case kZhBig, kZhUnit:
				if !u.space {
					n.val *= float64(u.val)
					n.next = j + 1
				}
			}
		}
		return n, true
	case kZhDigit, kZhUnit:
		return parseZhCardinal(toks, i)
	case kZhPoint:
		return number{}, false
	}
	return parseEnCardinal(toks, i)
}

func fracValue(digits string) float64 {
	v, scale := 0.0, 0.1
	for i := 0; i < len(digits) && i < 9; i++ {
		v += float64(digits[i]-'0') * scale
		scale /= 10
	}
	return v
}

// parseEnCardinal reads "twenty three", "a hundred and five", "two thousand
// twenty six", "three point five", "point five".
func parseEnCardinal(toks []etok, i int) (number, bool) {
	var total, cur float64
	last := kOther // the last kind taken
	j := i
	took := 0
loop:
	for ; j < len(toks); j++ {
		t := toks[j]
		switch t.kind {
		case kUnit:
			if last == kUnit || last == kTeen {
				break loop
			}
			cur += float64(t.val)
		case kTeen:
			if last == kUnit || last == kTeen || last == kTens {
				break loop
			}
			cur += float64(t.val)
		case kTens:
			if last == kUnit || last == kTeen || last == kTens {
				break loop
			}
			cur += float64(t.val)
		case kA:
			if j+1 >= len(toks) || (toks[j+1].kind != kHundred && toks[j+1].kind != kScale) || took > 0 {
				break loop
			}
			cur = 1
		case kHundred:
			if last != kUnit && last != kTeen && last != kA {
				break loop
			}
			cur *= 100
		case kScale:
			if last == kOther || last == kScale || last == kAnd {
				break loop
			}
			total += cur * float64(t.val)
			cur = 0
		case kAnd:
			if (last != kHundred && last != kScale) || j+1 >= len(toks) ||
				(toks[j+1].kind != kUnit && toks[j+1].kind != kTeen && toks[j+1].kind != kTens) {
				break loop
			}
		default:
			break loop
		}
		last = t.kind
		took++
	}
	n := number{val: total + cur, next: j}
	// A decimal part: point five, point two five.
	if j < len(toks) && toks[j].kind == kPoint {
		var b strings.Builder
		k := j + 1
		for ; k < len(toks) && k < j+10; k++ {
			if d, ok := digitOf(toks[k]); ok {
				b.WriteByte(byte('0' + d))
			} else if toks[k].kind == kNum && toks[k].frac == "" && len(toks[k].digits) < 9 {
				b.WriteString(toks[k].digits)
			} else {
				break
			}
		}
		if b.Len() > 0 {
			n.val += fracValue(b.String())
			n.frac = true
			n.next = k
			took++
		}
	}
	if took == 0 || (last == kA && !n.frac) {
		return number{}, false
	}
	return n, true
}

// digitOf returns the digit a spoken digit word or Chinese digit stands for.
func digitOf(t etok) (int, bool) {
	switch t.kind {
	case kUnit, kZhDigit:
		return t.val, true
	case kOh:
		return 0, true
	}
	return 0, false
}

// parseZhCardinal reads a Chinese quantity: 十五, 一百二十, 一千零五, 两万三, 一百二
// (120: a digit after a unit without 零 means the next lower unit), 三点五.
func parseZhCardinal(toks []etok, i int) (number, bool) {
	var total, section float64 // above 万 or 亿 / below
	digit := -1
	lastUnit := 0
	zero := false
	j := i
loop:
	for ; j < len(toks); j++ {
		t := toks[j]
		if j > i && t.space {
			break
		}
		switch t.kind {
		case kZhDigit:
			if digit >= 0 { // two digits in a row: a digit string, not a quantity
				if j == i+1 {
					return number{}, false
				}
				break loop
			}
			digit = t.val
			if t.val == 0 {
				zero = true
				digit = -1
			}
			continue
		case kZhUnit:
			d := digit
			if d < 0 {
				if t.val != 10 || (section != 0 && !zero) {
					break loop
				}
				d = 1 // 十五 is 15
			}
			section += float64(d * t.val)
			lastUnit, digit, zero = t.val, -1, false
			continue
		case kZhBig:
			if digit >= 0 {
				section += float64(digit)
			}
			if section == 0 && total == 0 {
				break loop
			}
			if t.val == 100000000 {
				total = (total + section) * float64(t.val)
			} else {
				total += section * float64(t.val)
			}
			lastUnit = t.val
			section, digit, zero = 0, -1, false
			continue
		}
		break
	}
	if digit >= 0 {
		if lastUnit >= 10 && !zero {
			section += float64(digit * lastUnit / 10) // 一百二 is 120, 两万三 is 23000
		} else {
			section += float64(digit)
		}
	}
	if j == i {
		return number{}, false
	}
	n := number{val: total + section, next: j}
	// A decimal part: 二十三点五.
	if j+1 < len(toks) && toks[j].kind == kZhPoint {
		var b strings.Builder
		k := j + 1
		for ; k < len(toks) && toks[k].kind == kZhDigit && k < j+10; k++ {
			b.WriteByte(byte('0' + toks[k].val))
		}
		if b.Len() > 0 {
			n.val += fracValue(b.String())
			n.frac = true
			n.next = k
		}
	}
	return n, true
}

// parseDigitString reads digits said or written one group at a time: "one two
// three", "double five", "oh", "thirty four" (as 34), "eight hundred" (800),
// 一二三四, 幺三八, "138 1234 5678", "555-1234". A "+" or "plus" before it is
// recorded. items counts the groups: one group is a digit string only if it is a
// run of Chinese digits or ASCII digits.
func parseDigitString(toks []etok, i int) (n number, items int, ok bool) {
	var b strings.Builder
	j := i
	if toks[j].kind == kPlus && j+1 < len(toks) {
		n.plus = true
		j++
	}
	first := j
	for j < len(toks) && b.Len() < 40 {
		t := toks[j]
		if j > first && t.kind == kSep && t.r != '.' && j+1 < len(toks) {
			if _, ok := digitItem(toks, j+1); ok {
				j++
				continue
			}
			break
		}
		k, ok := digitItem(toks, j)
		if !ok {
			break
		}
		if j > first && toks[j].kind == kZhDigit && toks[j-1].kind == kZhDigit && !toks[j].space {
			items-- // one run of Chinese digits is one group
		}
		for x := j; x < k; x++ {
			writeDigits(&b, toks, x)
		}
		items++
		j = k
	}
	if items == 0 {
		return number{}, 0, false
	}
	// "oh" alone, or one spoken digit, is not a digit string.
	single := items == 1 && (toks[first].kind == kNum || (toks[first].kind == kZhDigit && j-first > 1))
	if items == 1 && !single {
		return number{}, 0, false
	}
	n.digits = b.String()
	n.seq = true
	n.next = j
	if len(n.digits) <= 15 {
		n.val = float64(atoi(n.digits))
	}
	return n, items, true
}

// digitItem returns the end of the digit group at toks[i], if one starts there.
func digitItem(toks []etok, i int) (int, bool) {
	t := toks[i]
	switch t.kind {
	case kNum:
		if t.frac != "" || t.grouped {
			return 0, false
		}
		return i + 1, true
	case kUnit, kOh, kZhDigit:
		if i+1 < len(toks) && toks[i+1].kind == kHundred {
			return i + 2, true
		}
		return i + 1, true
	case kTeen:
		return i + 1, true
	case kTens:
		if i+1 < len(toks) && toks[i+1].kind == kUnit && toks[i+1].val > 0 {
			return i + 2, true
		}
		return i + 1, true
	case kRepeat:
		if i+1 < len(toks) {
			if _, ok := digitOf(toks[i+1]); ok {
				return i + 2, true
			}
		}
	}
	return 0, false
}

// writeDigits writes the digits token toks[x] stands for in a digit string.
func writeDigits(b *strings.Builder, toks []etok, x int) {
	t := toks[x]
	switch t.kind {
	case kNum:
		b.WriteString(t.digits)
	case kUnit, kZhDigit, kOh:
		if x > 0 && toks[x-1].kind == kRepeat {
			for range toks[x-1].val - 1 {
				b.WriteByte(byte('0' + t.val))
			}
		}
		b.WriteByte(byte('0' + t.val))
	case kTeen:
		b.WriteString(itoa2(t.val))
	case kTens:
		if x+1 < len(toks) && toks[x+1].kind == kUnit && toks[x+1].val > 0 {
			b.WriteByte(byte('0' + t.val/10))
			return // the unit writes itself next
		}
		b.WriteString(itoa2(t.val))
	case kHundred:
		b.WriteString("00")
	}
}

func itoa2(v int) string {
	return string([]byte{byte('0' + v/10), byte('0' + v%10)})
}
