package nlu

import (
	"math"
	"testing"
)

// TestSentimentLabelled scores the labelled sets and reports, per language, the
// three-way accuracy at the documented thresholds (neg below SentimentUnhappy,
// pos above SentimentHappy) and the AUC of the score for telling neg from the
// rest. sentiment_dev.tsv was written with the lexicon (a development set);
// sentiment_blind.tsv was not. Run with -v for the figures and the misses.
func TestSentimentLabelled(t *testing.T) {
	for _, tc := range []struct {
		file     string
		acc, auc float64 // lowest acceptable
	}{
		{"sentiment_dev.tsv", 0.95, 0.98},
		{"sentiment_blind.tsv", 0.70, 0.80},
	} {
		t.Run(tc.file, func(t *testing.T) { scoreSentiment(t, tc.file, tc.acc, tc.auc) })
	}
}

func scoreSentiment(t *testing.T, file string, minAcc, minAUC float64) {
	type scored struct {
		label string
		score float64
	}
	by := map[string][]scored{}
	band := func(score float64) string {
		switch {
		case score < SentimentUnhappy:
			return "neg"
		case score > SentimentHappy:
			return "pos"
		}
		return "neu"
	}
	for _, r := range readTSV(t, file, 3) {
		lang, label, text := r[0], r[1], r[2]
		s := AnalyzeSentiment(text, lang, Prosody{})
		if got := band(s.Score); got != label {
			t.Logf("miss %s %s: %q scored %.2f (%s)", lang, label, text, s.Score, got)
		}
		by[lang] = append(by[lang], scored{label, s.Score})
	}
	for _, lang := range []string{"en", "zh"} {
		var right tally
		perLabel := map[string]*tally{"neg": {}, "neu": {}, "pos": {}}
		var negs, rest []float64
		for _, s := range by[lang] {
			right.add(band(s.score) == s.label)
			perLabel[s.label].add(band(s.score) == s.label)
			if s.label == "neg" {
				negs = append(negs, s.score)
			} else {
				rest = append(rest, s.score)
			}
		}
		auc := aucLower(negs, rest)
		t.Logf("%s: 3-way accuracy %v (neg %v, neu %v, pos %v); AUC neg vs rest %.3f",
			lang, right, *perLabel["neg"], *perLabel["neu"], *perLabel["pos"], auc)
		if right.rate() < minAcc {
			t.Errorf("%s: accuracy %.3f, want ≥ %.2f", lang, right.rate(), minAcc)
		}
		if auc < minAUC {
			t.Errorf("%s: AUC %.3f, want ≥ %.2f", lang, auc, minAUC)
		}
		// The lexicon is tuned for precision: a neutral or happy caller is never
		// put in the unhappy band (they would jump the queue).
		for _, s := range by[lang] {
			if s.label != "neg" && s.score < SentimentUnhappy {
				t.Errorf("%s: a %s utterance scored %.2f, below SentimentUnhappy", lang, s.label, s.score)
			}
		}
	}
}

// aucLower is the probability that a score from neg is lower than one from rest
// (ties count half): the area under the ROC curve of "angry when score < x".
func aucLower(neg, rest []float64) float64 {
	if len(neg) == 0 || len(rest) == 0 {
		return 0
	}
	wins := 0.0
	for _, a := range neg {
		for _, b := range rest {
			switch {
			case a < b:
				wins++
			case a == b:
				wins += 0.5
			}
		}
	}
	return wins / float64(len(neg)*len(rest))
}

// TestSentimentRules pins the modifiers: negation both ways and in both
// languages, intensifiers, diminishers, contrast, blockers, exclamation marks.
func TestSentimentRules(t *testing.T) {
	score := func(text, lang string) float64 { return AnalyzeSentiment(text, lang, Prosody{}).Score }
	for _, tc := range []struct {
		lang, lower, higher string // lower must score below higher
	}{
		{"en", "I am not happy", "I am happy"},
		{"en", "I am not happy", "I am not sure"},
		{"en", "this is bad", "this is not bad"},
		{"en", "this is very bad", "this is bad"},
		{"en", "this is bad", "this is a bit bad"},
		{"en", "I'm not very happy", "I'm very happy"},
		{"en", "I'm not happy", "I'm not very happy"},
		{"en", "it's good but the service is terrible", "it's terrible but the service is good"},
		{"en", "this is terrible!!!", "this is terrible"},
		{"en", "I don't like this, it's awful", "it's fine"},
		{"zh", "我不满意", "我很满意"},
		{"zh", "我不太满意", "我满意"},
		{"zh", "太差了", "差"},
		{"zh", "服务不好", "服务好"},
		{"zh", "不太好", "不错"},
		{"zh", "虽然快，但是服务很差", "虽然服务很差，但是很快解决了"},
	} {
		lo, hi := score(tc.lower, tc.lang), score(tc.higher, tc.lang)
		if !(lo < hi) {
			t.Errorf("%s: %q scored %.2f, not below %q %.2f", tc.lang, tc.lower, lo, tc.higher, hi)
		}
	}
	for _, tc := range []struct {
		lang, text string
		want       Mood
	}{
		{"en", "I am not happy with your service", MoodUnhappy},
		{"en", "this is fucking ridiculous", MoodAngry},
		{"en", "I want to check my balance", MoodNeutral},
		{"en", "no problem, thanks", MoodHappy},
		{"en", "I'm not sure", MoodNeutral},
		{"zh", "我对你们的服务不满意", MoodUnhappy},
		{"zh", "太差了，我要投诉", MoodAngry},
		{"zh", "我下周出差", MoodNeutral},
		{"zh", "不好意思，麻烦您了", MoodNeutral},
		{"zh", "对不起", MoodNeutral},
		{"zh", "非常感谢", MoodHappy},
		{"en", "", MoodNeutral},
	} {
		if got := AnalyzeSentiment(tc.text, tc.lang, Prosody{}); got.Mood() != tc.want {
			t.Errorf("%s %q: %.2f %v, want %v", tc.lang, tc.text, got.Score, got.Mood(), tc.want)
		}
	}
	if (Sentiment{}).Mood() != MoodNeutral || MoodUnknown.String() != "unknown" || Mood(42).String() == "" {
		t.Error("Mood zero values")
	}
}

// TestSentimentProsody: loud, fast speech amplifies unhappy words past the
// angry threshold, and alone never reaches the unhappy threshold; absent or
// nonsensical cues change nothing.
func TestSentimentProsody(t *testing.T) {
	calm := AnalyzeSentiment("I am not happy with this", "en", Prosody{})
	loud := AnalyzeSentiment("I am not happy with this", "en", Prosody{LoudnessDB: 12, Rate: 7})
	if !(loud.Score < calm.Score) || loud.Mood() != MoodAngry || loud.Arousal != 1 {
		t.Errorf("loud and fast: %+v; calm %+v", loud, calm)
	}
	shout := AnalyzeSentiment("I need to talk to someone", "en", Prosody{LoudnessDB: 20, Rate: 9})
	if shout.Score >= 0 || shout.Score < SentimentUnhappy {
		t.Errorf("neutral words shouted: %.2f, want in [%.1f, 0)", shout.Score, SentimentUnhappy)
	}
	happy := AnalyzeSentiment("thank you so much, that's great", "en", Prosody{LoudnessDB: 8, Rate: 6})
	if happy.Mood() != MoodHappy {
		t.Errorf("excited thanks: %+v", happy)
	}
	base := AnalyzeSentiment("我不满意", "zh", Prosody{})
	for _, p := range []Prosody{
		{LoudnessDB: -10}, {Rate: 5}, {Rate: 5.5, BaselineRate: 5.5},
		{LoudnessDB: math.NaN(), Rate: math.NaN(), BaselineRate: math.NaN()},
		{Rate: math.Inf(-1)}, {BaselineRate: math.Inf(1)},
	} {
		if got := AnalyzeSentiment("我不满意", "zh", p); got.Score != base.Score || got.Arousal != 0 {
			t.Errorf("%+v: %+v, want %+v", p, got, base)
		}
	}
	if got := AnalyzeSentiment("我不满意", "zh", Prosody{Rate: math.Inf(1)}); got.Arousal != 1 || math.IsNaN(got.Score) {
		t.Errorf("infinite rate: %+v", got)
	}
	for _, p := range []Prosody{{LoudnessDB: math.Inf(1)}, {LoudnessDB: 1e308, Rate: 1e308, BaselineRate: 1e-308}} {
		if s := AnalyzeSentiment("bad", "en", p); s.Score < -1 || s.Score > 1 || math.IsNaN(s.Score) {
			t.Errorf("%+v: %+v", p, s)
		}
	}
}
