package nlu

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// now is Wednesday 20 May 2026, 15:04 in Shanghai: the reference for dates.
var now = time.Date(2026, 5, 20, 15, 4, 0, 0, time.FixedZone("CST", 8*3600))

// entityString renders entities as "type:value[:currency]" joined by spaces.
func entityString(es []Entity) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Type.String() + ":" + e.Value)
		if e.Currency != "" {
			b.WriteString(":" + e.Currency)
		}
	}
	return b.String()
}

func TestExtract(t *testing.T) {
	for _, tc := range []struct {
		lang, text, want string
	}{
		// English digit strings, phone and account numbers.
		{"en", "my account number is one two three four five six seven eight", "account:12345678 digits:12345678"},
		{"en", "my pin is double five one oh", "digits:5510"},
		{"en", "it's triple seven nine", "digits:7779"},
		{"en", "call me on four one five, five five five, zero one two three", "phone:+14155550123 account:4155550123 digits:4155550123"},
		{"en", "my number is 415-555-0123", "phone:+14155550123 account:4155550123 digits:4155550123"},
		{"en", "plus four four two zero seven nine four six zero nine five eight", "phone:+442079460958 digits:442079460958"},
		{"en", "+44 20 7946 0958", "phone:+442079460958 digits:442079460958"},
		{"en", "one eight hundred five five five one two one two", "phone:+18005551212 account:18005551212 digits:18005551212"},
		{"en", "five five five twelve thirty four", "digits:5551234"},
		{"en", "nineteen eighty four", "digits:1984"},
		{"en", "the code is 0042", "digits:0042"},
		// Quantities.
		{"en", "I have 3 accounts", "number:3"},
		{"en", "one hundred and five", "number:105"},
		{"en", "twenty three point five", "number:23.5"},
		{"en", "about 1,250 minutes", "number:1250"},
		{"en", "two thousand twenty six", "number:2026"},
		{"en", "a hundred", "number:100"},
		// Amounts.
		{"en", "twenty three dollars fifty", "amount:23.50:USD"},
		{"en", "I paid $23.50 yesterday", "amount:23.50:USD date:2026-05-19"},
		{"en", "it was 23.50", "amount:23.50"},
		{"en", "five dollars and twenty cents", "amount:5.20:USD"},
		{"en", "fifty cents", "amount:0.50:USD"},
		{"en", "a hundred bucks", "amount:100.00:USD"},
		{"en", "one thousand two hundred and fifty pounds", "amount:1250.00:GBP"},
		{"en", "€20 or 99p", "amount:20.00:EUR amount:0.99:GBP"},
		{"en", "ten euros fifty", "amount:10.50:EUR"},
		// Dates (now: Wednesday 2026-05-20).
		{"en", "March 3rd", "date:2026-03-03"},
		{"en", "on March the third twenty twenty six", "date:2026-03-03"},
		{"en", "the 3rd of March", "date:2026-03-03"},
		{"en", "3 March 2025", "date:2025-03-03"},
		{"en", "December 31st, 2025", "date:2025-12-31"},
		{"en", "march twenty first", "date:2026-03-21"},
		{"en", "tomorrow", "date:2026-05-21"},
		{"en", "Today please", "date:2026-05-20"},
		{"en", "the day after tomorrow", "date:2026-05-22"},
		{"en", "next Monday", "date:2026-05-25"},
		{"en", "on Monday", "date:2026-05-25"},
		{"en", "this Friday", "date:2026-05-22"},
		{"en", "last Tuesday", "date:2026-05-12"},
		{"en", "wednesday", "date:2026-05-20"},
		{"en", "in three days", "date:2026-05-23"},
		{"en", "in a week", "date:2026-05-27"},
		{"en", "two weeks ago", "date:2026-05-06"},
		{"en", "3 days from now", "date:2026-05-23"},
		{"en", "on the 5th", "date:2026-05-05"},
		{"en", "12/25", "date:2025-12-25"},
		{"en", "6/1/2026", "date:2026-06-01"},
		{"en", "2026-06-01", "date:2026-06-01"},
		{"en", "February 30th", ""},
		{"en", "may I speak to an agent", ""},
		// Chinese digit strings and phone numbers.
		{"zh", "我的手机号是幺三八一二三四五六七八", "phone:+8613812345678 account:13812345678 digits:13812345678"},
		{"zh", "一二三四", "digits:1234"},
		{"zh", "密码是两两三三", "digits:2233"},
		{"zh", "138 1234 5678", "phone:+8613812345678 account:13812345678 digits:13812345678"},
		{"zh", "我的座机是010-62345678", "phone:+861062345678 account:01062345678 digits:01062345678"},
		{"zh", "+86 138 1234 5678", "phone:+8613812345678 digits:8613812345678"},
		// Chinese quantities.
		{"zh", "两百", "number:200"},
		{"zh", "一千零五", "number:1005"},
		{"zh", "两万三", "number:23000"},
		{"zh", "一百二十", "number:120"},
		{"zh", "十五", "number:15"},
		{"zh", "三点五", "number:3.5"},
		{"zh", "5万", "number:50000"},
		{"zh", "三亿五千万", "number:350000000"},
		// Chinese amounts.
		{"zh", "一百二十块五", "amount:120.50:CNY"},
		{"zh", "三块五毛二", "amount:3.52:CNY"},
		{"zh", "五毛钱", "amount:0.50:CNY"},
		{"zh", "120元", "amount:120.00:CNY"},
		{"zh", "120元5角3分", "amount:120.53:CNY"},
		{"zh", "二十三点五元", "amount:23.50:CNY"},
		{"zh", "十块钱", "amount:10.00:CNY"},
		{"zh", "¥99", "amount:99.00:CNY"},
		// Chinese dates.
		{"zh", "三月五号", "date:2026-03-05"},
		{"zh", "2026年3月5日", "date:2026-03-05"},
		{"zh", "二零二六年三月五日", "date:2026-03-05"},
		{"zh", "十二月三十一号", "date:2025-12-31"},
		{"zh", "明天", "date:2026-05-21"},
		{"zh", "后天上午", "date:2026-05-22"},
		{"zh", "大后天", "date:2026-05-23"},
		{"zh", "昨天", "date:2026-05-19"},
		{"zh", "前天", "date:2026-05-18"},
		{"zh", "下周一", "date:2026-05-25"},
		{"zh", "这周五", "date:2026-05-22"},
		{"zh", "本周一", "date:2026-05-18"},
		{"zh", "上星期三", "date:2026-05-13"},
		{"zh", "下个礼拜天", "date:2026-05-31"},
		{"zh", "周日", "date:2026-05-24"},
		{"zh", "三天后", "date:2026-05-23"},
		{"zh", "两个星期以后", "date:2026-06-03"},
		{"zh", "3天前", "date:2026-05-17"},
		{"zh", "五号", "date:2026-05-05"},
		{"zh", "坐三号线", "number:3"},
		{"zh", "这个号码", ""},
		// Mixed, and nothing.
		{"zh", "我想在下周一还款一百二十块五", "date:2026-05-25 amount:120.50:CNY"},
		{"en", "I want a refund", ""},
		{"en", "", ""},
	} {
		got := entityString(Extract(tc.text, tc.lang, now))
		if got != tc.want {
			t.Errorf("Extract(%q, %s) = %q, want %q", tc.text, tc.lang, got, tc.want)
		}
	}
}

// TestExtractSpans checks that Text, Start and End point at the words.
func TestExtractSpans(t *testing.T) {
	text := "I paid twenty three dollars fifty on 三月五号, call 138 1234 5678"
	for _, e := range Extract(text, "zh", now) {
		if text[e.Start:e.End] != e.Text {
			t.Errorf("%v: text[%d:%d] = %q, Text %q", e.Type, e.Start, e.End, text[e.Start:e.End], e.Text)
		}
	}
	es := Extract(text, "zh", now)
	want := []string{"twenty three dollars fifty", "三月五号", "138 1234 5678"}
	var got []string
	for _, e := range es {
		if e.Type != EntityPhone && e.Type != EntityAccount {
			got = append(got, e.Text)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("spans %q, want %q", got, want)
	}
}

func TestExtractorOptions(t *testing.T) {
	x, err := NewExtractor(WithAccountLength(6, 6), WithCountryCode("44"), WithDatePreference(DateFuture))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := x.Account("account one two three four five six", "en"); !ok || v != "123456" {
		t.Errorf("Account = %q, %v", v, ok)
	}
	if v, ok := x.Account("one two three four five six seven", "en"); ok {
		t.Errorf("7 digits as a 6-digit account: %q", v)
	}
	if v, ok := x.Phone("oh two oh seven nine four six oh nine five eight", "en"); !ok || v != "+442079460958" {
		t.Errorf("national UK number = %q, %v", v, ok)
	}
	if d, ok := x.Date("March 3rd", "en", now); !ok || d.Format(time.DateOnly) != "2027-03-03" {
		t.Errorf("future March 3rd = %v, %v", d, ok)
	}
	past, _ := NewExtractor(WithDatePreference(DatePast))
	if d, ok := past.Date("June 1st", "en", now); !ok || d.Format(time.DateOnly) != "2025-06-01" {
		t.Errorf("past June 1st = %v, %v", d, ok)
	}
	if v, ok := x.Digits("我的密码是一二三四", "zh"); !ok || v != "1234" {
		t.Errorf("Digits = %q, %v", v, ok)
	}
	if v, cur, ok := x.Amount("一百二十块五", "zh"); !ok || v != 120.5 || cur != "CNY" {
		t.Errorf("Amount = %v %q %v", v, cur, ok)
	}
	for _, opts := range [][]Option{
		{WithAccountLength(0, 5)},
		{WithAccountLength(9, 8)},
		{WithCountryCode("0044")},
		{WithCountryCode("x")},
		{WithDatePreference(DatePreference(9))},
	} {
		if _, err := NewExtractor(opts...); !errors.Is(err, ErrOption) {
			t.Errorf("NewExtractor(%d options) error %v, want ErrOption", len(opts), err)
		}
	}
	if EntityType(99).String() == "" || EntityDigits.String() != "digits" {
		t.Error("EntityType.String")
	}
}
