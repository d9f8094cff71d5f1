package nlu

import "time"

// dateAt reads a date at toks[i], resolved against now (in now's location):
//
//	today, tomorrow, yesterday, the day after tomorrow, the day before yesterday
//	Monday, this Monday, next Monday, last Monday
//	in 3 days, in a week, 3 days ago, two weeks from now, 3 days later
//	March 3rd, March the third, March 3 2026, March 3rd, twenty twenty six
//	3rd of March, the third of March, 3 March 2026, the 5th
//	3/5, 3/5/2026 (en: month first; zh: 2026/3/5), 2026-03-05
//	今天 明天 后天 大后天 昨天 前天, 周一 星期五 礼拜天, 下周一 上星期三 这周五
//	三天后 两个星期以后 3天前, 三月五号 2026年3月5日 二零二六年三月五日, 五号
//
// Weeks start on Monday. A bare weekday (Monday, 周一) is the next such day,
// today included; "next Monday" and 下周一 the Monday of next week, "last Monday"
// and 上周一 of last week, "this Monday" the next Monday, but 这周一 and 本周一
// the Monday of this week (which may have passed). A date without a year and a
// bare day of the month follow the Extractor's DatePreference.
func (x *Extractor) dateAt(toks []etok, i int, now time.Time, lang string) (time.Time, int, bool) {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	t := toks[i]
	switch t.kind {
	case kRelDay:
		return today.AddDate(0, 0, t.val), i + 1, true
	case kThe, kDay:
		// the day after tomorrow, the day before yesterday
		j := i
		if t.kind == kThe {
			j++
		}
		if j+2 < len(toks) && toks[j].kind == kDay && toks[j+2].kind == kRelDay {
			switch {
			case toks[j+1].kind == kAfter && toks[j+2].val == 1:
				return today.AddDate(0, 0, 2), j + 3, true
			case toks[j+1].kind == kBefore && toks[j+2].val == -1:
				return today.AddDate(0, 0, -2), j + 3, true
			}
		}
	case kWeekday:
		return upcoming(today, time.Weekday(t.val)), i + 1, true
	case kNext, kThis, kLast:
		j := i + 1
		if t.kind == kThis && j < len(toks) && toks[j].kind == kThis { // this coming Friday
			j++
		}
		if j < len(toks) && toks[j].kind == kWeekday {
			wd := time.Weekday(toks[j].val)
			switch t.kind {
			case kNext:
				return weekday(today, 1, wd), j + 1, true
			case kLast:
				return weekday(today, -1, wd), j + 1, true
			}
			return upcoming(today, wd), j + 1, true
		}
	case kIn:
		// in 3 days, in a week
		j := i + 1
		n := 1
		if j < len(toks) && toks[j].kind == kA {
			j++
		} else if num, ok := parseNumber(toks, j); ok && !num.frac && num.val <= 3660 {
			n, j = int(num.val), num.next
		} else {
			break
		}
		if j < len(toks) && (toks[j].kind == kDay || toks[j].kind == kWeek) {
			return today.AddDate(0, 0, n*toks[j].val), j + 1, true
		}
	case kHan:
		if d, next, ok := x.zhDateAt(toks, i, today); ok {
			return d, next, true
		}
	}
	if d, next, ok := x.monthDayAt(toks, i, today); ok {
		return d, next, true
	}
	if d, next, ok := x.numericDateAt(toks, i, today, lang); ok {
		return d, next, true
	}
	if t.kind == kZhDigit || t.kind == kZhUnit || t.kind == kNum || t.kind == kUnit || t.kind == kTeen || t.kind == kTens || t.kind == kA {
		return x.countedDateAt(toks, i, today)
	}
	return time.Time{}, 0, false
}

// monthDayAt reads "March 3rd [2026]", "3rd of March", "3 March", "the 5th".
func (x *Extractor) monthDayAt(toks []etok, i int, today time.Time) (time.Time, int, bool) {
	j := i
	if toks[j].kind == kMonth {
		m := toks[j].val
		j++
		if j < len(toks) && toks[j].kind == kThe {
			j++
		}
		d, k, ok := dayAt(toks, j)
		if !ok {
			return time.Time{}, 0, false
		}
		return x.withYear(toks, k, today, m, d)
	}
	if toks[j].kind == kThe {
		j++
	}
	d, k, ok := dayAt(toks, j)
	if !ok {
		return time.Time{}, 0, false
	}
	ordinal := toks[j].kind == kOrdinal || (j+1 < k && toks[k-1].kind == kOrdinal)
	if k < len(toks) && toks[k].kind == kOf {
		k++
	}
	if k < len(toks) && toks[k].kind == kMonth {
		return x.withYear(toks, k+1, today, toks[k].val, d)
	}
	if ordinal && j > i { // "the 5th"
		if t, ok := x.dayOfMonth(today, d); ok {
			return t, k, true
		}
	}
	return time.Time{}, 0, false
}

// withYear finishes a month and day with an optional year at toks[k].
func (x *Extractor) withYear(toks []etok, k int, today time.Time, m, d int) (time.Time, int, bool) {
	j := k
	if j < len(toks) && toks[j].kind == kSep && toks[j].r == ',' {
		j++
	}
	if j < len(toks) {
		if y, ok := parseNumber(toks, j); ok && !y.frac && y.val >= 1900 && y.val <= 2100 {
			if t, ok := makeDate(today, int(y.val), m, d); ok {
				return t, y.next, true
			}
		}
	}
	t, ok := x.monthDay(today, m, d)
	return t, k, ok
}

// dayAt reads a day of the month, 1 to 31: 3rd, third, twenty first, 3, three,
// twenty three.
func dayAt(toks []etok, j int) (int, int, bool) {
	if j >= len(toks) {
		return 0, 0, false
	}
	t := toks[j]
	switch t.kind {
	case kOrdinal:
		if t.val >= 1 && t.val <= 31 {
			return t.val, j + 1, true
		}
	case kTens:
		if j+1 < len(toks) && toks[j+1].kind == kOrdinal && toks[j+1].val < 10 && t.val+toks[j+1].val <= 31 {
			return t.val + toks[j+1].val, j + 2, true
		}
		fallthrough
	case kUnit, kTeen:
		n, ok := parseEnCardinal(toks, j)
		if ok && !n.frac && n.val >= 1 && n.val <= 31 {
			return int(n.val), n.next, true
		}
	case kNum:
		if t.frac == "" && len(t.digits) <= 2 {
			if v := atoi(t.digits); v >= 1 && v <= 31 {
				return v, j + 1, true
			}
		}
	}
	return 0, 0, false
}

// numericDateAt reads 3/5, 3/5/2026 (month first; in Chinese year/month/day) and
// 2026-03-05.
func (x *Extractor) numericDateAt(toks []etok, i int, today time.Time, lang string) (time.Time, int, bool) {
	var parts [3]int
	var widths [3]int
	n := 0
	j := i
	var sep rune
	for n < 3 && j < len(toks) && toks[j].kind == kNum && toks[j].frac == "" {
		parts[n], widths[n] = atoi(toks[j].digits), len(toks[j].digits)
		n++
		j++
		if n == 3 || j+1 >= len(toks) || toks[j+1].kind != kNum || toks[j+1].space || toks[j].space {
			break
		}
		s := toks[j].r
		if (s != '/' && s != '-') || (sep != 0 && s != sep) {
			break
		}
		sep = s
		j++
	}
	switch {
	case n == 3 && widths[0] == 4: // 2026-03-05, 2026/3/5
		t, ok := makeDate(today, parts[0], parts[1], parts[2])
		return t, j, ok
	case n == 3 && sep == '/' && (widths[2] == 4 || widths[2] == 2):
		y := parts[2]
		if widths[2] == 2 {
			y += 2000
		}
		t, ok := makeDate(today, y, parts[0], parts[1])
		return t, j, ok
	case n == 2 && sep == '/' && widths[0] <= 2 && widths[1] <= 2:
		// 3/5: a date only in English order; the year by preference.
		if lang == LangChinese {
			return time.Time{}, 0, false
		}
		t, ok := x.monthDay(today, parts[0], parts[1])
		return t, j, ok
	}
	return time.Time{}, 0, false
}

// countedDateAt reads "3 days ago", "two weeks from now", "3 days later", 三天后,
// 两个星期以后, 3天前, 五号, 三月五号, 2026年3月5日.
func (x *Extractor) countedDateAt(toks []etok, i int, today time.Time) (time.Time, int, bool) {
	num, ok := parseNumber(toks, i)
	if !ok || num.frac || num.val > 3660 {
		return time.Time{}, 0, false
	}
	n, j := int(num.val), num.next
	if j >= len(toks) {
		return time.Time{}, 0, false
	}
	// English: N days ago / later / from now.
	if toks[j].kind == kDay || toks[j].kind == kWeek {
		days := n * toks[j].val
		k := j + 1
		if k < len(toks) {
			switch toks[k].kind {
			case kAgo:
				return today.AddDate(0, 0, -days), k + 1, true
			case kLater:
				return today.AddDate(0, 0, days), k + 1, true
			case kFromNow:
				if k+1 < len(toks) && (toks[k+1].kind == kNow || toks[k+1].kind == kRelDay && toks[k+1].val == 0) {
					return today.AddDate(0, 0, days), k + 2, true
				}
			}
		}
		return time.Time{}, 0, false
	}
	// Chinese.
	r := toks[j].r
	switch {
	case r == '天' || r == '日' && hanAt(toks, j+1, '后', '前', '以', '之'):
		if d, k, ok := zhBeforeAfter(toks, j+1); ok {
			return today.AddDate(0, 0, d*n), k, true
		}
	case r == '个' || r == '周' || r == '星' || r == '礼':
		k := j
		if r == '个' {
			k++
		}
		if w := weekWord(toks, k); w > 0 {
			if d, k2, ok := zhBeforeAfter(toks, k+w); ok {
				return today.AddDate(0, 0, 7*d*n), k2, true
			}
		}
	case r == '年' && num.val >= 1900 && num.val <= 2100:
		m, ok := parseNumber(toks, j+1)
		if ok && !m.frac && hanAt(toks, m.next, '月') {
			if d, k, ok := zhDay(toks, m.next+1); ok {
				t, ok := makeDate(today, n, int(m.val), d)
				return t, k, ok
			}
		}
	case r == '月' && n >= 1 && n <= 12:
		if d, k, ok := zhDay(toks, j+1); ok {
			t, ok := x.monthDay(today, n, d)
			return t, k, ok
		}
	case (r == '号' || r == '日') && n >= 1 && n <= 31 && !hanAt(toks, j+1, '码', '线', '楼', '房', '门', '键', '位', '床', '机'):
		if t, ok := x.dayOfMonth(today, n); ok {
			return t, j + 1, true
		}
	}
	return time.Time{}, 0, false
}

// zhDay reads the day of 三月五号: a number then 号 or 日.
func zhDay(toks []etok, j int) (int, int, bool) {
	d, ok := parseNumber(toks, j)
	if !ok || d.frac || d.val < 1 || d.val > 31 || !hanAt(toks, d.next, '号', '日') {
		return 0, 0, false
	}
	return int(d.val), d.next + 1, true
}

// zhBeforeAfter reads 后, 以后, 之后 (+1) or 前, 以前, 之前 (-1) at toks[j].
func zhBeforeAfter(toks []etok, j int) (int, int, bool) {
	if hanAt(toks, j, '以', '之') {
		j++
	}
	switch {
	case hanAt(toks, j, '后'):
		return 1, j + 1, true
	case hanAt(toks, j, '前'):
		return -1, j + 1, true
	}
	return 0, 0, false
}

// weekWord returns the length of 周, 星期 or 礼拜 at toks[j], 0 if none is there.
func weekWord(toks []etok, j int) int {
	switch {
	case hanAt(toks, j, '周'):
		return 1
	case hanAt(toks, j, '星') && hanAt(toks, j+1, '期'), hanAt(toks, j, '礼') && hanAt(toks, j+1, '拜'):
		return 2
	}
	return 0
}

// zhDateAt reads the Chinese day words and weekdays: 今天, 明天, 后天, 大后天,
// 昨天, 前天, 大前天, and [下下|下|上|这|本][个](周|星期|礼拜)(一…六|日|天|1…7).
func (x *Extractor) zhDateAt(toks []etok, i int, today time.Time) (time.Time, int, bool) {
	day := func(j int) bool { return hanAt(toks, j, '天', '日', '儿') }
	j := i
	big := 0
	if hanAt(toks, j, '大') && (hanAt(toks, j+1, '后', '前')) && day(j+2) {
		big = 1
		j++
	}
	switch {
	case hanAt(toks, j, '今') && day(j+1) && big == 0:
		return today, j + 2, true
	case hanAt(toks, j, '明') && day(j+1) && big == 0:
		return today.AddDate(0, 0, 1), j + 2, true
	case hanAt(toks, j, '昨') && day(j+1) && big == 0:
		return today.AddDate(0, 0, -1), j + 2, true
	case hanAt(toks, j, '后') && hanAt(toks, j+1, '天'):
		return today.AddDate(0, 0, 2+big), j + 2, true
	case hanAt(toks, j, '前') && hanAt(toks, j+1, '天'):
		return today.AddDate(0, 0, -2-big), j + 2, true
	}
	weeks, rel := 0, false
	j = i
	switch {
	case hanAt(toks, j, '下') && hanAt(toks, j+1, '下'):
		weeks, rel, j = 2, true, j+2
	case hanAt(toks, j, '下'):
		weeks, rel, j = 1, true, j+1
	case hanAt(toks, j, '上'):
		weeks, rel, j = -1, true, j+1
	case hanAt(toks, j, '这', '本'):
		weeks, rel, j = 0, true, j+1
	}
	if rel && hanAt(toks, j, '个') {
		j++
	}
	w := weekWord(toks, j)
	if w == 0 {
		return time.Time{}, 0, false
	}
	j += w
	if j >= len(toks) {
		return time.Time{}, 0, false
	}
	var wd time.Weekday
	switch t := toks[j]; {
	case t.kind == kZhDigit && t.val >= 1 && t.val <= 6 && t.r != '两' && t.r != '幺':
		wd = time.Weekday(t.val)
	case hanAt(toks, j, '日', '天') || (t.kind == kZhDigit && t.val == 7):
		wd = time.Sunday
	case t.kind == kNum && t.frac == "" && len(t.digits) == 1 && t.digits[0] >= '1' && t.digits[0] <= '7':
		wd = time.Weekday((t.digits[0] - '0') % 7)
	default:
		return time.Time{}, 0, false
	}
	if !rel {
		return upcoming(today, wd), j + 1, true
	}
	return weekday(today, weeks, wd), j + 1, true
}

// hanAt reports whether toks[j] is one of the characters rs.
func hanAt(toks []etok, j int, rs ...rune) bool {
	if j < 0 || j >= len(toks) || toks[j].r == 0 {
		return false
	}
	for _, r := range rs {
		if toks[j].r == r {
			return true
		}
	}
	return false
}

// upcoming returns the next wd on or after today.
func upcoming(today time.Time, wd time.Weekday) time.Time {
	return today.AddDate(0, 0, (int(wd)-int(today.Weekday())+7)%7)
}

// weekday returns wd of the week weeks away from today's (weeks start on Monday).
func weekday(today time.Time, weeks int, wd time.Weekday) time.Time {
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	return monday.AddDate(0, 0, 7*weeks+(int(wd)+6)%7)
}

// makeDate returns y-m-d at midnight in today's location, if such a day exists.
func makeDate(today time.Time, y, m, d int) (time.Time, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, today.Location())
	if t.Day() != d { // February 30th
		return time.Time{}, false
	}
	return t, true
}

// monthDay resolves a month and day without a year by the date preference.
func (x *Extractor) monthDay(today time.Time, m, d int) (time.Time, bool) {
	var cands [3]time.Time
	n := 0
	for y := today.Year() - 1; y <= today.Year()+1; y++ {
		if t, ok := makeDate(today, y, m, d); ok {
			cands[n] = t
			n++
		}
	}
	return x.choose(today, cands[:n])
}

// dayOfMonth resolves a bare day of the month (the 5th, 五号) by the preference,
// among last month, this month and next month.
func (x *Extractor) dayOfMonth(today time.Time, d int) (time.Time, bool) {
	var cands [3]time.Time
	n := 0
	for dm := -1; dm <= 1; dm++ {
		first := time.Date(today.Year(), today.Month()+time.Month(dm), 1, 0, 0, 0, 0, today.Location())
		if t, ok := makeDate(today, first.Year(), int(first.Month()), d); ok {
			cands[n] = t
			n++
		}
	}
	return x.choose(today, cands[:n])
}

// choose picks among candidate days (in order) by the date preference.
func (x *Extractor) choose(today time.Time, cands []time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	for _, t := range cands {
		switch x.dates {
		case DateFuture:
			if !t.Before(today) && !found {
				best, found = t, true
			}
		case DatePast:
			if !t.After(today) {
				best, found = t, true
			}
		default:
			if !found || absDays(t.Sub(today)) < absDays(best.Sub(today)) {
				best, found = t, true
			}
		}
	}
	return best, found
}

func absDays(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
