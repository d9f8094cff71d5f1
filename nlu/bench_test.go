package nlu

import (
	"testing"
	"time"
)

var benchUtterances = []struct{ lang, text string }{
	{"en", "hi yes I was wondering if I could get my money back for last month please"},
	{"en", "my internet is down"},
	{"zh", "你好，我想查一下我这个月的话费余额还有多少"},
	{"zh", "转人工"},
}

// BenchmarkClassify: one utterance through the whole classifier (tokenize,
// features, cosines against every phrase, calibrated softmax). Classify allocates
// the ranking; ClassifyInto reuses it and allocates nothing.
func BenchmarkClassify(b *testing.B) {
	c, err := Train(evalIntents(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range benchUtterances {
		b.Run(u.lang+"/"+u.text[:min(len(u.text), 12)], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Classify(u.text, u.lang)
			}
		})
	}
	b.Run("into", func(b *testing.B) {
		b.ReportAllocs()
		var r Result
		u := benchUtterances[0]
		for b.Loop() {
			c.ClassifyInto(&r, u.text, u.lang, nil)
		}
	})
}

// BenchmarkTrain: training and calibrating a flow's classifier (64 phrases, two
// languages, eight intents), which happens once per flow load.
func BenchmarkTrain(b *testing.B) {
	intents := evalIntents(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Train(intents); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtract: every entity grammar over a transcript.
func BenchmarkExtract(b *testing.B) {
	now := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
	for _, u := range []struct{ name, lang, text string }{
		{"en", "en", "I paid twenty three dollars fifty on March 3rd, my number is four one five five five five zero one two three"},
		{"zh", "zh", "我下周一想还一百二十块五，手机号是幺三八一二三四五六七八"},
		{"none", "en", "I would like to speak to somebody about my broadband please"},
	} {
		b.Run(u.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Extract(u.text, u.lang, now)
			}
		})
	}
}

// BenchmarkSentiment: the lexicon scorer with prosody cues.
func BenchmarkSentiment(b *testing.B) {
	for _, u := range benchUtterances {
		b.Run(u.lang+"/"+u.text[:min(len(u.text), 12)], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				AnalyzeSentiment(u.text, u.lang, Prosody{LoudnessDB: 6, Rate: 5})
			}
		})
	}
}
