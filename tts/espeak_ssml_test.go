package tts

import (
	"slices"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/media/audio"
)

// SSML with the real espeak-ng. Like the other espeak tests these fail, never skip,
// when it is missing.

func dur(pcm []int16) time.Duration { return time.Duration(len(pcm)) * time.Second / nativeRate }

// longestGap is the longest run of silence inside pcm (not at its edges).
func longestGap(pcm []int16) time.Duration {
	first := slices.IndexFunc(pcm, func(v int16) bool { return !isSilent(v) })
	if first < 0 {
		return 0
	}
	best, run := 0, 0
	for _, v := range pcm[first:] {
		if isSilent(v) {
			run++
			continue
		}
		best, run = max(best, run), 0
	}
	return time.Duration(best) * time.Second / nativeRate
}

func render(t *testing.T, e *Espeak, text, voice string) []int16 {
	t.Helper()
	pcm, rate, err := e.Synthesize(t.Context(), text, voice)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	if rate != nativeRate {
		t.Fatalf("%s: rate %d", text, rate)
	}
	return pcm
}

// TestEspeakSayAsDigits: digits are read one by one, which takes longer than the
// number they make.
func TestEspeakSayAsDigits(t *testing.T) {
	e := needEspeak(t)
	digits := render(t, e, `<speak><say-as interpret-as="digits">123</say-as></speak>`, "en-us")
	number := render(t, e, "123", "en-us")
	t.Logf("digits %v, number %v", dur(digits), dur(number))
	if dur(digits) <= dur(number)+100*time.Millisecond {
		t.Errorf("digits took %v, the number %v: want the digits clearly longer", dur(digits), dur(number))
	}
	if g := longestGap(digits); g < 350*time.Millisecond {
		t.Errorf("longest pause between digits %v, want the 400 ms gap", g)
	}
	zh := render(t, e, `<speak xml:lang="zh"><say-as interpret-as="digits">123</say-as></speak>`, "cmn")
	zhNumber := render(t, e, "一百二十三", "cmn")
	if dur(zh) <= dur(zhNumber) {
		t.Errorf("Mandarin digits took %v, the number %v", dur(zh), dur(zhNumber))
	}
}

// TestEspeakMandarin: the Mandarin voice speaks 你好 (not "Chinese letter" twice, as
// an English voice would), alone and inside an SSML document.
func TestEspeakMandarin(t *testing.T) {
	e := needEspeak(t)
	plain := render(t, e, "你好", "cmn")
	checkSpeech(t, "cmn 你好", plain, nativeRate, 300*time.Millisecond)
	english := render(t, e, "你好", "en-us")
	if slices.Equal(plain, english) {
		t.Error("cmn and en-us render 你好 alike")
	}
	doc := render(t, e, `<speak xml:lang="zh">你好</speak>`, "cmn")
	if d := dur(doc) - dur(plain); d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("SSML 你好 lasts %v, plain %v", dur(doc), dur(plain))
	}
	// An English prompt with a Mandarin fragment: the fragment is the cmn voice's.
	mixed := render(t, e, `<speak xml:lang="en">Press two. <lang xml:lang="zh"><voice name="cmn">你好</voice></lang></speak>`, "en-us")
	en := render(t, e, `<speak>Press two. </speak>`, "en-us")
	zhPart := render(t, e, `<speak>你好</speak>`, "cmn")
	if !slices.Equal(mixed, append(slices.Clone(en), zhPart...)) {
		t.Errorf("mixed prompt (%v) is not the English part (%v) then the cmn part (%v)", dur(mixed), dur(en), dur(zhPart))
	}
	// <lang> alone picks the Mandarin voice too.
	if alone := render(t, e, `<speak>Press two. <lang xml:lang="zh">你好</lang></speak>`, "en-us"); !slices.Equal(alone, mixed) {
		t.Error("<lang xml:lang=\"zh\"> without a voice is not spoken with cmn")
	}
}

// TestEspeakBreak: a break adds silence of its length, inside a segment (espeak-ng's
// own break) and between segments (exact silence).
func TestEspeakBreak(t *testing.T) {
	e := needEspeak(t)
	plain := render(t, e, `<speak>hello world</speak>`, "en-us")
	for _, tt := range []struct {
		doc  string
		gap  time.Duration
		slop time.Duration
	}{
		{`<speak>hello<break time="1s"/>world</speak>`, time.Second, 30 * time.Millisecond},
		{`<speak>hello<break time="500ms"/>world</speak>`, 500 * time.Millisecond, 30 * time.Millisecond},
		{`<speak>hello<break time="1500ms"/><voice name="en-gb">world</voice></speak>`, 1500 * time.Millisecond, 15 * time.Millisecond},
	} {
		pcm := render(t, e, tt.doc, "en-us")
		g := longestGap(pcm)
		t.Logf("%s: %v, gap %v (hello world: %v, gap %v)", tt.doc, dur(pcm), g, dur(plain), longestGap(plain))
		if g < tt.gap-tt.slop || g > tt.gap+tt.slop {
			t.Errorf("%s: silence %v, want %v", tt.doc, g, tt.gap)
		}
		if d := dur(pcm) - dur(plain); d < tt.gap-200*time.Millisecond || d > tt.gap+200*time.Millisecond {
			t.Errorf("%s: %v longer than without the break, want about %v", tt.doc, d, tt.gap)
		}
	}
	lead := render(t, e, `<speak><break time="2s"/>hello</speak>`, "en-us")
	first := slices.IndexFunc(lead, func(v int16) bool { return !isSilent(v) })
	if at := time.Duration(first) * time.Second / nativeRate; at < 2*time.Second || at > 2*time.Second+20*time.Millisecond {
		t.Errorf("speech after a leading 2 s break starts at %v", at)
	}
	if pcm := render(t, e, `<speak><break time="1s"/></speak>`, "en-us"); dur(pcm) != time.Second || audio.DBFS(pcm) > -90 {
		t.Errorf("a document of one break: %v at %.0f dBFS", dur(pcm), audio.DBFS(pcm))
	}
}

// TestEspeakSSMLDocuments: the other elements render, and bad documents fail.
func TestEspeakSSMLDocuments(t *testing.T) {
	e := needEspeak(t)
	for _, doc := range []string{
		`<speak>Your balance is <say-as interpret-as="currency">42.50 EUR</say-as>, due <say-as interpret-as="date" format="ymd">2026-08-01</say-as>.</speak>`,
		`<speak><p><s>We are open until <say-as interpret-as="time" format="hms12">20:00</say-as>.</s></p></speak>`,
		`<speak><prosody rate="slow" volume="loud">Ticket <say-as interpret-as="characters">T-1001</say-as></prosody></speak>`,
		`<speak xml:lang="zh">余额为<say-as interpret-as="currency">42.5 EUR</say-as>，请拨打<say-as interpret-as="telephone">+15550100</say-as>。</speak>`,
	} {
		pcm, rate, err := e.Synthesize(t.Context(), doc, map[bool]string{true: "cmn", false: "en-us"}[doc[7] == 'x'])
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		checkSpeech(t, doc, pcm, rate, time.Second)
	}
	slow := render(t, e, `<speak><prosody rate="x-slow">one two three</prosody></speak>`, "en-us")
	normal := render(t, e, `<speak>one two three</speak>`, "en-us")
	if dur(slow) <= dur(normal) {
		t.Errorf("prosody x-slow lasts %v, normal %v", dur(slow), dur(normal))
	}
	for _, bad := range []string{`<speak>unclosed`, `<speak><audio src="x.wav"/></speak>`} {
		if _, _, err := e.Synthesize(t.Context(), bad, "en-us"); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestCacheSSML: the cache declares SSML support when its backend does, and passes
// documents through.
func TestCacheSSML(t *testing.T) {
	c, err := NewCache(needEspeak(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.SSML() {
		t.Error("a cache of Espeak does not declare SSML")
	}
	pcm, err := c.Synthesize(t.Context(), `<speak>You entered <say-as interpret-as="digits">42</say-as>.</speak>`, "en-us", 8000)
	if err != nil {
		t.Fatal(err)
	}
	if level := audio.DBFS(pcm); len(pcm) < 8000 || level < -40 {
		t.Errorf("%d samples at %.1f dBFS", len(pcm), level)
	}
	other, err := NewCache(newFakeBackend(8000))
	if err != nil {
		t.Fatal(err)
	}
	if other.SSML() {
		t.Error("a cache of a plain-text backend declares SSML")
	}
}
