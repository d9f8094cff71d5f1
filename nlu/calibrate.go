package nlu

import (
	"math"
	"slices"
)

// Calibration turns one language model's similarities into probabilities:
//
//	P(intent i) = exp((sᵢ − Bias)/Temperature) / (1 + Σⱼ exp((sⱼ − Bias)/Temperature))
//	P(none)     = 1 / (1 + Σⱼ exp((sⱼ − Bias)/Temperature))
//
// a softmax over the intents' similarities plus a "none of them" class whose
// similarity is Bias. Temperature says how much a lead in similarity is worth;
// Bias how similar an utterance must be to an intent before the intent is more
// likely than nothing. Both are fitted when the classifier is trained (see
// fitCalibration and doc.go).
type Calibration struct {
	Temperature float64
	Bias        float64
	// Fitted is false when the language had too few phrases to fit on (fewer than
	// minCalibrationSamples held-out phrases); the defaults are used then.
	Fitted bool
	// Positives and Negatives count the held-out cases fitted on: a phrase
	// against its own intent's other phrases, and the same phrase with its whole
	// intent removed (which should be "none").
	Positives, Negatives int
	// LeaveOneOut is the top-1 accuracy on the positives: how often a training
	// phrase's intent wins when the phrase itself is left out. A low figure says
	// the flow's phrases do not tell its intents apart.
	LeaveOneOut float64
}

// Calibration defaults and prior. The prior keeps a fit on a handful of phrases
// near values that work across flows (found on the held-out set in
// testdata/intents_*.tsv); with more phrases the data dominates.
const (
	defaultTemperature = 0.07
	defaultBias        = 0.28
	priorLogTempSD     = 0.7  // standard deviation of ln(Temperature)
	priorBiasSD        = 0.12 // standard deviation of Bias
	minTemperature     = 0.02
	maxTemperature     = 1.0
	maxBias            = 0.9
	// minCalibrationSamples is the fewest positives that replace the defaults.
	minCalibrationSamples = 3
)

// calSample is one held-out case: the intents' similarities with the case's own
// phrase left out, the index of the right intent (or -1 for none) and the index
// of an intent to ignore (the removed one for negatives, -1 for positives).
type calSample struct {
	sims   []float64
	label  int
	ignore int
}

// fitCalibration fits Temperature and Bias to m by maximum a posteriori on two
// kinds of held-out cases drawn from the training phrases themselves:
//
//   - leave-one-out: each phrase classified against the others; its intent is the
//     right answer (when the intent has another phrase);
//   - leave-intent-out: each phrase classified with its whole intent removed;
//     "none" is the right answer. These are realistic near-misses: something a
//     caller could say that the flow does not cover.
//
// The search is a grid over ln(Temperature) and Bias, refined twice around the
// best point. IDF weights are those of the full model (a small optimism: a
// phrase's unique words count as known).
func fitCalibration(m *model, feats [][]feat) Calibration {
	cal := Calibration{Temperature: defaultTemperature, Bias: defaultBias}
	s := new(scratch)
	var samples []calSample
	correct := 0
	multi := len(m.intents) > 1
	count := make([]int, len(m.intents))
	for _, in := range m.docIntent {
		count[in]++
	}
	for d, fs := range feats {
		s.feats = append(s.feats[:0], fs...)
		m.cosines(s)
		m.intentSims(s, d)
		sims := slices.Clone(s.sims)
		label := int(m.docIntent[d])
		if count[label] > 1 {
			samples = append(samples, calSample{sims: sims, label: label, ignore: -1})
			cal.Positives++
			if argmax(sims, -1) == label {
				correct++
			}
		}
		if multi {
			samples = append(samples, calSample{sims: sims, label: -1, ignore: label})
			cal.Negatives++
		}
	}
	if cal.Positives > 0 {
		cal.LeaveOneOut = float64(correct) / float64(cal.Positives)
	}
	if cal.Positives < minCalibrationSamples {
		return cal
	}
	best := math.Inf(1)
	lnT0 := math.Log(defaultTemperature)
	try := func(lnT, b float64) {
		if b < 0 || b > maxBias || lnT < math.Log(minTemperature) || lnT > math.Log(maxTemperature) {
			return
		}
		t := math.Exp(lnT)
		loss := 0.0
		for _, c := range samples {
			loss += nll(c, t, b)
		}
		dt, db := (lnT-lnT0)/priorLogTempSD, (b-defaultBias)/priorBiasSD
		loss += (dt*dt + db*db) / 2
		if loss < best {
			best, cal.Temperature, cal.Bias = loss, t, b
		}
	}
	// A coarse grid, then two finer ones around the best point so far: the loss
	// is smooth and has one basin, so 9×9 + 2×5×5 evaluations find it to within
	// 2 % in temperature and 0.01 in bias.
	lo, hi := math.Log(minTemperature), math.Log(maxTemperature)
	const steps = 8
	for i := range steps + 1 {
		for j := range steps + 1 {
			try(lo+(hi-lo)*float64(i)/steps, maxBias*float64(j)/steps)
		}
	}
	dT, dB := (hi-lo)/steps, maxBias/steps
	for range 2 {
		cT, cB := math.Log(cal.Temperature), cal.Bias
		dT, dB = dT/2, dB/2
		for i := -2; i <= 2; i++ {
			for j := -2; j <= 2; j++ {
				try(cT+dT*float64(i), cB+dB*float64(j))
			}
		}
	}
	cal.Fitted = true
	return cal
}

// nll is the negative log-likelihood of one held-out case under (t, b).
func nll(c calSample, t, b float64) float64 {
	// log(1 + Σ exp(xᵢ)) computed stably; xᵢ = (sᵢ − b)/t.
	mx := 0.0
	for i, s := range c.sims {
		if i != c.ignore {
			mx = max(mx, (s-b)/t)
		}
	}
	sum := math.Exp(-mx)
	for i, s := range c.sims {
		if i != c.ignore {
			sum += math.Exp((s-b)/t - mx)
		}
	}
	lse := mx + math.Log(sum)
	if c.label < 0 {
		return lse // −log P(none) = lse − 0
	}
	return lse - (c.sims[c.label]-b)/t
}

func argmax(v []float64, ignore int) int {
	best, at := math.Inf(-1), -1
	for i, x := range v {
		if i != ignore && x > best {
			best, at = x, i
		}
	}
	return at
}
