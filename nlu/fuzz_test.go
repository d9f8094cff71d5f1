package nlu

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"", " ", "I want my money back", "我要退款", "一百二十块五", "三月五号", "next Monday",
	"plus four four two zero", "+86 138 1234 5678", "double triple oh", "1,2,3.4.5", "2026-13-45",
	"\xff\xfe\xfd", "a\x00b", "退\xe9款", "ｒｅｆｕｎｄ １２３", "一亿亿亿亿亿亿亿亿亿", "9999999999999999999999 dollars",
	"point point point", "the the the of", "二零二六年十三月四十号", "99999999999999999999/12/2026",
	strings.Repeat("one ", 300), strings.Repeat("九", 200), strings.Repeat("a", 5000),
}

// FuzzClassify: any text, valid UTF-8 or not, in any language, classifies without
// panicking, with probabilities in [0, 1] that sum to at most 1.
func FuzzClassify(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "en")
		f.Add(s, "zh")
	}
	c, err := Train(evalIntents(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, lang string) {
		var r Result
		c.ClassifyInto(&r, text, lang, nil)
		sum := r.None
		for _, s := range r.Ranked {
			if !(s.Probability >= 0 && s.Probability <= 1) || math.IsNaN(s.Similarity) {
				t.Fatalf("%q: %+v", text, s)
			}
			sum += s.Probability
		}
		if !(r.Confidence >= 0 && r.Confidence <= 1) || (r.Intent != "" && sum > 1+1e-9) {
			t.Fatalf("%q: %+v (sum %v)", text, r, sum)
		}
		DetectLanguage(text)
		s := AnalyzeSentiment(text, lang, Prosody{LoudnessDB: 6, Rate: 6})
		if !(s.Score >= -1 && s.Score <= 1) {
			t.Fatalf("%q: sentiment %+v", text, s)
		}
	})
}

// FuzzExtract: any text extracts without panicking; every entity points at its
// text, carries a value, and dates are real days.
func FuzzExtract(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "en")
		f.Add(s, "zh")
	}
	now := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text, lang string) {
		last := 0
		for _, e := range Extract(text, lang, now) {
			if e.Start < last || e.Start >= e.End || e.End > len(text) || text[e.Start:e.End] != e.Text {
				t.Fatalf("%q: bad span %+v", text, e)
			}
			last = e.Start
			if e.Value == "" || e.Type == EntityUnknown {
				t.Fatalf("%q: empty entity %+v", text, e)
			}
			if utf8.ValidString(text) && !utf8.ValidString(e.Text) {
				t.Fatalf("%q: span cuts a rune: %+v", text, e)
			}
			switch e.Type {
			case EntityDate:
				if e.Time.IsZero() || e.Value != e.Time.Format(time.DateOnly) {
					t.Fatalf("%q: date %+v", text, e)
				}
			case EntityAmount, EntityNumber:
				if math.IsNaN(e.Num) || math.IsInf(e.Num, 0) || e.Num < 0 {
					t.Fatalf("%q: number %+v", text, e)
				}
			case EntityPhone:
				if e.Value[0] != '+' || len(e.Value) < 9 || len(e.Value) > 16 {
					t.Fatalf("%q: phone %+v", text, e)
				}
			}
		}
	})
}
