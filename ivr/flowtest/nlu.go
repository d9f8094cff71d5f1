package flowtest

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
	"github.com/hotline-ivr/hotline/nlu"
)

// NLU connects package nlu, the engine's language understanding, to the runtime:
// an ivr.FlowClassifier that trains one nlu.Classifier per loaded flow on its
// intents' phrases, and an ivr.SentimentAnalyzer scoring each transcript with
// nlu.AnalyzeSentiment. Simulated calls use it, so what an author types is
// understood exactly as a caller's words would be; the engine can wire the same
// value (ivr.WithClassifier(flowtest.NLU{})).
type NLU struct{}

var (
	_ ivr.FlowClassifier    = NLU{}
	_ ivr.Classifier        = NLU{}
	_ ivr.SentimentAnalyzer = NLU{}
)

// errNeedsFlow: the runtime always asks ForFlow first; Classify on NLU itself has
// no intents to choose from.
var errNeedsFlow = errors.New("flowtest: NLU classifies for a flow: use ForFlow")

// ForFlow trains a classifier on f's intents.
func (NLU) ForFlow(f *flows.Flow) (ivr.Classifier, error) {
	intents := make([]nlu.Intent, 0, len(f.Intents))
	for _, name := range sortedKeys(f.Intents) {
		intents = append(intents, nlu.Intent{Name: name, Phrases: f.Intents[name].Phrases})
	}
	c, err := nlu.Train(intents)
	if err != nil {
		return nil, fmt.Errorf("train on the intents of flow %s: %w", f.Name, err)
	}
	return flowNLU{c}, nil
}

// Classify fails: see errNeedsFlow.
func (NLU) Classify(context.Context, string, string) (string, float64, error) {
	return "", 0, errNeedsFlow
}

// Sentiment scores text from its words; the simulator has no voice to hear.
func (NLU) Sentiment(_ context.Context, text, lang string) (float64, error) {
	return nlu.AnalyzeSentiment(text, lang, nlu.Prosody{}).Score, nil
}

// flowNLU is the classifier of one flow.
type flowNLU struct{ c *nlu.Classifier }

func (f flowNLU) Classify(_ context.Context, text, lang string) (string, float64, error) {
	r := f.c.Classify(text, lang)
	return r.Intent, r.Confidence, nil
}
