package tts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSayAs(t *testing.T) {
	const gap, pg = `<break time="400ms"/>`, `<break time="200ms"/>`
	for _, tt := range []struct {
		text, as, format, lang, want string
	}{
		{"123", "digits", "", "en", "one" + gap + "two" + gap + "three"},
		{"4 05", "digits", "", "zh", "四" + gap + "零" + gap + "五"},
		{"T-10", "characters", "", "en", `<say-as interpret-as="characters">T</say-as> dash one zero`},
		{"T-10", "characters", "", "zh", `<say-as interpret-as="characters">T</say-as> 杠 一 零`},
		{"+15551230000", "telephone", "", "en", `plus, <break time="400ms"/>one, <break time="400ms"/>five` + pg + "five" + pg + "five" + `, <break time="400ms"/>one` + pg + "two" + pg + "three" + `, <break time="400ms"/>zero` + pg + "zero" + pg + "zero" + pg + "zero"},
		{"110", "telephone", "", "zh", "幺" + pg + "幺" + pg + "零"},
		{"(01) 234-5678", "telephone", "", "en", "zero" + pg + `one, <break time="400ms"/>two` + pg + "three" + pg + `four, <break time="400ms"/>five` + pg + "six" + pg + "seven" + pg + "eight"},
		{"0", "cardinal", "", "en", "zero"},
		{"42", "cardinal", "", "en", "forty-two"},
		{"1,234,567", "cardinal", "", "en", "one million two hundred thirty-four thousand five hundred sixty-seven"},
		{"-3.05", "cardinal", "", "en", "minus three point zero five"},
		{"1000000000000", "cardinal", "", "en", "one trillion"},
		{"99999999999999999", "cardinal", "", "en", "99999999999999999"},
		{"abc", "cardinal", "", "en", "abc"},
		{"12", "cardinal", "", "zh", "十二"},
		{"20", "cardinal", "", "zh", "二十"},
		{"1005", "cardinal", "", "zh", "一千零五"},
		{"100000", "cardinal", "", "zh", "十万"},
		{"110010", "cardinal", "", "zh", "十一万零一十"},
		{"300000000", "cardinal", "", "zh", "三亿"},
		{"42.5", "cardinal", "", "zh", "四十二点五"},
		{"1", "ordinal", "", "en", "first"},
		{"22nd", "ordinal", "", "en", "twenty-second"},
		{"40", "ordinal", "", "en", "fortieth"},
		{"112", "ordinal", "", "en", "one hundred twelfth"},
		{"3", "ordinal", "", "zh", "第三"},
		{"2026-08-01", "date", "ymd", "en", "August first, twenty twenty-six"},
		{"08/01/2026", "date", "mdy", "en", "August first, twenty twenty-six"},
		{"01.08.2005", "date", "dmy", "en", "August first, two thousand five"},
		{"12-25", "date", "md", "en", "December twenty-fifth"},
		{"1999", "date", "y", "en", "nineteen ninety-nine"},
		{"1905", "date", "y", "en", "nineteen oh five"},
		{"31", "date", "d", "en", "the thirty-first"},
		{"2026-08-01", "date", "ymd", "zh", "二零二六年八月一日"},
		{"2026-12-31", "date", "", "zh", "二零二六年十二月三十一日"},
		{"2026-13-01", "date", "ymd", "en", "2026-13-01"},
		{"14:30", "time", "hms24", "en", "fourteen thirty"},
		{"14:05", "time", "", "en", "fourteen oh five"},
		{"09:00", "time", "hms24", "en", "nine hundred"},
		{"14:30", "time", "hms12", "en", "two thirty P M"},
		{"12:00 am", "time", "", "en", "twelve o'clock A M"},
		{"8:15:30", "time", "hms24", "en", "eight fifteen and thirty seconds"},
		{"14:30", "time", "hms24", "zh", "十四点三十分"},
		{"14:05", "time", "hms12", "zh", "下午两点零五分"},
		{"08:00", "time", "hms12", "zh", "上午八点整"},
		{"25:00", "time", "", "en", "25:00"},
		{"42.50 EUR", "currency", "", "en", "forty-two euros and fifty cents"},
		{"$1.01", "currency", "", "en", "one dollar and one cent"},
		{"€0.50", "currency", "", "en", "fifty cents"},
		{"100 JPY", "currency", "", "en", "one hundred yen"},
		{"12.5 XYZ", "currency", "", "en", `twelve point five <say-as interpret-as="characters">X</say-as> <say-as interpret-as="characters">Y</say-as> <say-as interpret-as="characters">Z</say-as>`},
		{"42.5 EUR", "currency", "", "zh", "四十二点五欧元"},
		{"¥42.50", "currency", "", "zh", "四十二元五角"},
		{"3.05 CNY", "currency", "", "zh", "三元零五分"},
		{"a < b", "currency", "", "en", "a &lt; b"},
	} {
		if got := sayAs(tt.text, tt.as, tt.format, tt.lang); got != tt.want {
			t.Errorf("say-as %s %q (%s, %s):\n got %s\nwant %s", tt.as, tt.text, tt.format, tt.lang, got, tt.want)
		}
	}
}

// plan describes segments as "voice[lead|markup|trail]" for comparison.
func plan(t *testing.T, doc, voice string) string {
	t.Helper()
	segs, err := planSSML(doc, voice)
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	var out []string
	for _, s := range segs {
		body := ""
		if s.words {
			body = s.markup()
		}
		out = append(out, s.voice+"["+s.lead.String()+"|"+body+"|"+s.trail.String()+"]")
	}
	return strings.Join(out, " ")
}

func TestPlanSSML(t *testing.T) {
	for _, tt := range []struct{ doc, voice, want string }{
		{`<speak>Hello &amp; welcome.</speak>`, "en-us", `en-us[0s|<speak>Hello &amp; welcome.</speak>|0s]`},
		{`<speak>Hello<break time="1s"/>world<break strength="weak"/></speak>`, "en-us",
			`en-us[0s|<speak>Hello<break time="1000ms"/>world</speak>|200ms]`},
		{`<speak><break time="500ms"/>Hi</speak>`, "en-us", `en-us[500ms|<speak>Hi</speak>|0s]`},
		{`<speak xml:lang="en">Press 2. <lang xml:lang="zh"><voice name="cmn">请按2。</voice></lang></speak>`, "en-us",
			`en-us[0s|<speak>Press 2. </speak>|0s] cmn[0s|<speak>请按2。</speak>|0s]`},
		{`<speak>A<break time="1s"/><lang xml:lang="zh">你好</lang><break time="2s"/>B</speak>`, "en-gb",
			`en-gb[0s|<speak>A</speak>|1s] cmn[0s|<speak>你好</speak>|2s] en-gb[0s|<speak>B</speak>|0s]`},
		{`<speak xml:lang="zh">账号<say-as interpret-as="digits">12</say-as></speak>`, "cmn",
			`cmn[0s|<speak>账号一<break time="400ms"/>二</speak>|0s]`},
		{`<speak><prosody rate="slow">Slow <voice name="fr">lent</voice> slow</prosody> fast</speak>`, "en-us",
			`en-us[0s|<speak><prosody rate="slow">Slow </prosody></speak>|0s] fr[0s|<speak><prosody rate="slow">lent</prosody></speak>|0s] en-us[0s|<speak><prosody rate="slow"> slow</prosody> fast</speak>|0s]`},
		{`<speak><s>One.</s><s>Two.</s></speak>`, "en-us", `en-us[0s|<speak>One.<break time="300ms"/>Two.</speak>|300ms]`},
		{`<speak><break time="1s"/></speak>`, "en-us", `[1s||0s]`},
		{`<speak><lang xml:lang="en">Hi</lang></speak>`, "en-gb", `en-gb[0s|<speak>Hi</speak>|0s]`},
	} {
		if got := plan(t, tt.doc, tt.voice); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.doc, got, tt.want)
		}
	}
	for _, bad := range []string{
		`<speak>unclosed`, `<speak><audio src="x"/></speak>`, `<speak><break time="1h"/></speak>`,
		`<speak><say-as interpret-as="digits"><break/></say-as></speak>`, `<p>no speak</p>`, `<speak><voice>x</voice></speak>`,
		`<speak><break time="fast"/></speak>`, `<speak>a &nbsp; b</speak>`,
	} {
		if _, err := planSSML(bad, "en-us"); !errors.Is(err, ErrSSML) {
			t.Errorf("%s: err %v, want ErrSSML", bad, err)
		}
	}
	if !IsSSML("  <speak>x</speak>") || IsSSML("speak <speak>") || IsSSML("Hello") {
		t.Error("IsSSML")
	}
	if VoiceForLanguage("zh-CN") != "cmn" || VoiceForLanguage("en") != DefaultVoice || VoiceForLanguage("fr") != "fr" {
		t.Error("VoiceForLanguage")
	}
	if d, _ := breakLength(map[string]string{}); d != 400*time.Millisecond {
		t.Errorf("default break %v", d)
	}
}
