package nlu_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/nlu"
)

// A flow's intents are trained when the flow loads; each transcript is then
// classified in microseconds, and the intent node's threshold decides between
// its branch and no_match.
func ExampleTrain() {
	c, err := nlu.Train([]nlu.Intent{
		{Name: "refund", Phrases: map[string][]string{
			"en": {"I want a refund", "refund my money", "can I get a refund"},
			"zh": {"我要退款", "申请退款", "把钱退给我"},
		}},
		{Name: "complaint", Phrases: map[string][]string{
			"en": {"I want to make a complaint", "I am not happy with your service", "this is unacceptable"},
			"zh": {"我要投诉", "我对你们的服务不满意", "太不像话了"},
		}},
		{Name: "agent", Phrases: map[string][]string{
			"en": {"speak to an agent", "talk to a person", "customer service"},
			"zh": {"人工服务", "转人工", "我要找客服"},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, text := range []string{"I want my money back", "退钱", "what's the weather like"} {
		r := c.Classify(text, "") // "": the language is read from the script
		intent, ok := r.Match(nlu.DefaultThreshold)
		fmt.Printf("%s → %q %v\n", text, intent, ok)
	}
	// Output:
	// I want my money back → "refund" true
	// 退钱 → "refund" true
	// what's the weather like → "" false
}

// Entities come out of a transcript with their values normalized: digits,
// E.164 phone numbers, amounts with their currency, dates resolved against now.
func ExampleExtract() {
	now := time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC) // a Wednesday
	show := func(es []nlu.Entity) {
		for _, e := range es {
			fmt.Println(strings.TrimSpace(e.Type.String() + " " + e.Value + " " + e.Currency))
		}
	}
	show(nlu.Extract("I paid twenty three dollars fifty last Monday", "en", now))
	show(nlu.Extract("下周一还一百二十块五，手机号幺三八一二三四五六七八", "zh", now))
	// Output:
	// amount 23.50 USD
	// date 2026-05-11
	// date 2026-05-25
	// amount 120.50 CNY
	// phone +8613812345678
	// account 13812345678
	// digits 13812345678
}

// Sentiment reads the caller's words and, when the media layer measured them,
// how loud and fast they were said; flows route on the score.
func ExampleAnalyzeSentiment() {
	for _, u := range []struct {
		text string
		p    nlu.Prosody
	}{
		{"I want to check my balance", nlu.Prosody{}},
		{"I am not happy with your service", nlu.Prosody{}},
		{"I am not happy with your service", nlu.Prosody{LoudnessDB: 10, Rate: 6.5}},
		{"服务太差了，我要投诉", nlu.Prosody{}},
		{"谢谢，问题解决了", nlu.Prosody{}},
	} {
		s := nlu.AnalyzeSentiment(u.text, "", u.p)
		fmt.Printf("%.2f %s\n", s.Score, s.Mood())
	}
	// Output:
	// 0.00 neutral
	// -0.47 unhappy
	// -0.78 angry
	// -0.83 angry
	// 0.61 happy
}
