package nlu

import (
	"testing"

	"github.com/hotline-ivr/hotline/flows"
)

// telecomClassifier trains on the intents of the sample flow flows/telecom.yaml
// (loaded with its env.yaml, which binds the queues and endpoints it names) and
// returns the classifier and the threshold of its intent node.
func telecomClassifier(t testing.TB) (*Classifier, float64) {
	t.Helper()
	env, err := flows.LoadEnv("../flows/env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Load("../flows/telecom.yaml", flows.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	var intents []Intent
	for name, def := range f.Intents {
		intents = append(intents, Intent{Name: name, Phrases: def.Phrases})
	}
	c, err := Train(intents)
	if err != nil {
		t.Fatal(err)
	}
	threshold := DefaultThreshold
	if n := f.Nodes["describe"]; n != nil {
		if in, ok := n.Action.(*flows.Intent); ok && in.Threshold > 0 {
			threshold = in.Threshold
		}
	}
	return c, threshold
}

// TestTelecomFlow: the sample flow's four intents, trained from its YAML, route
// everyday utterances in English and Mandarin at the node's threshold (0.6), and
// the mood switch behind the agent intent (sentiment < -0.4) sends an angry
// caller to the complaints queue.
func TestTelecomFlow(t *testing.T) {
	c, threshold := telecomClassifier(t)
	for _, l := range c.Languages() {
		cal, _ := c.Calibration(l)
		t.Logf("calibration %s: T=%.3f bias=%.3f fitted=%v, leave-one-out accuracy %.3f", l, cal.Temperature, cal.Bias, cal.Fitted, cal.LeaveOneOut)
	}
	if threshold != 0.6 {
		t.Errorf("describe node threshold %.2f, want 0.6 as in telecom.yaml", threshold)
	}
	for _, tc := range []struct{ lang, text, want string }{
		{"en", "what's my balance", "balance"},
		{"en", "how much do I owe you this month", "balance"},
		{"en", "I'd like to know about my latest bill", "balance"},
		{"en", "my internet stopped working", "outage"},
		{"en", "there's no signal on my phone", "outage"},
		{"en", "the network has been down since this morning", "outage"},
		{"en", "I want to complain about your service", "complaint"},
		{"en", "this is ridiculous, I'm not happy", "complaint"},
		{"en", "can I talk to a real person", "agent"},
		{"en", "customer service please", "agent"},
		{"en", "what's the weather like", ""},
		{"en", "I'd like a pizza", ""},
		{"zh", "我想查一下余额", "balance"},
		{"zh", "这个月的账单多少钱", "balance"},
		{"zh", "网络断了好几天了", "outage"},
		{"zh", "手机没有信号", "outage"},
		{"zh", "我要投诉你们的服务", "complaint"},
		{"zh", "服务太差了，我很不满意", "complaint"},
		{"zh", "帮我转人工", "agent"},
		{"zh", "我想跟客服说话", "agent"},
		{"zh", "今天天气怎么样", ""},
		{"zh", "帮我订一张机票", ""},
	} {
		r := c.Classify(tc.text, tc.lang)
		got, _ := r.Match(threshold)
		t.Logf("%s %-45q → %-9s confidence %.2f, none %.2f", tc.lang, tc.text, r.Intent, r.Confidence, r.None)
		if got != tc.want {
			t.Errorf("%s %q: %q (best %s %.2f), want %q", tc.lang, tc.text, got, r.Intent, r.Confidence, tc.want)
		}
	}
	for _, tc := range []struct{ lang, text string }{
		{"en", "get me a bloody person now, this is ridiculous"},
		{"zh", "转人工！气死我了"},
	} {
		r := c.Classify(tc.text, tc.lang)
		s := AnalyzeSentiment(tc.text, tc.lang, Prosody{})
		if got, _ := r.Match(threshold); got != "agent" && got != "complaint" || !(s.Score < -0.4) {
			t.Errorf("%s %q: intent %q (%.2f), sentiment %.2f; want agent or complaint, and below -0.4",
				tc.lang, tc.text, got, r.Confidence, s.Score)
		}
	}
}
