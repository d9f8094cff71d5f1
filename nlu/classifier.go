package nlu

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
)

// Errors Train returns (wrapped, with the intent and language), for callers that
// branch on them; the flows package has checked the same rules at load, so a flow
// that loaded trains.
var (
	// ErrNoIntents: Train was given no intent with a phrase.
	ErrNoIntents = errors.New("nlu: no intents to train on")
	// ErrIntentName: an intent without a name, or a name used twice.
	ErrIntentName = errors.New("nlu: bad intent name")
	// ErrEmptyPhrase: a phrase with nothing to learn from (empty, punctuation only).
	ErrEmptyPhrase = errors.New("nlu: phrase has no words")
)

// Intent is one thing a caller may want, with example phrases by language code:
// the training data of an intent node. flows.IntentDef converts field by field
// (Phrases is a flows.Phrases, the same map type).
type Intent struct {
	Name    string
	Phrases map[string][]string
}

// Result is what Classify makes of an utterance.
type Result struct {
	// Intent is the most probable intent; "" when the utterance had nothing to
	// classify (empty, no model for its language). Use Match to apply a threshold.
	Intent string
	// Confidence is the calibrated probability that Intent is what the caller
	// wants, 0 to 1 (see doc.go, "Calibration"): among many utterances classified
	// with confidence 0.8, about 8 in 10 are right. The flow variable
	// intent_confidence.
	Confidence float64
	// None is the probability that the caller wants none of the intents: high for
	// out-of-domain sentences ("what's the weather like").
	None float64
	// Lang is the language of the model used ("" for none).
	Lang string
	// Ranked holds every intent of the model, most probable first.
	Ranked []Score
}

// Score is one intent's standing for an utterance.
type Score struct {
	Intent string
	// Similarity is the raw match, 0 to 1: a blend of the cosine similarity to the
	// closest example phrase and the mean of the three closest.
	Similarity float64
	// Probability is the calibrated probability of the intent.
	Probability float64
}

// DefaultThreshold is the confidence an intent node needs by default; it equals
// flows.DefaultThreshold (this package does not import flows).
const DefaultThreshold = 0.5

// Match returns the intent when its confidence reaches threshold (the intent
// node's threshold, DefaultThreshold unless the flow sets one), else "" and
// false: the node's no_match.
func (r Result) Match(threshold float64) (string, bool) {
	if r.Intent == "" || r.Confidence < threshold {
		return "", false
	}
	return r.Intent, true
}

// Classifier picks the intent of an utterance among those it was trained on. It
// is built once per flow by Train, is immutable, and is safe for concurrent use by
// every call of the flow.
type Classifier struct {
	names  []string          // intent names, sorted
	models map[string]*model // by language (baseLang)
	langs  []string          // keys of models, sorted
}

// model is the classifier of one language: the example phrases of that language
// as TF-IDF vectors in compressed sparse form, and the calibration fitted to them.
type model struct {
	lang      string
	han       bool      // most of its training text is Han: Chinese script
	intents   []int32   // indices into Classifier.names of the intents it knows
	docIntent []int32   // per phrase: index into intents
	docNorm   []float64 // per phrase: sqrt of the weights of its non-empty blocks
	vocab     map[uint64]int32
	idf       []float64
	post0     []int32 // feature f's postings are pdoc/pw[post0[f]:post0[f+1]]
	pdoc      []int32
	pw        []float64
	unkIDF    float64 // the IDF given to features no phrase has
	cal       Calibration
}

// unknownIDF scales the IDF of a feature no training phrase holds, relative to
// the IDF of a feature only one intent holds. It makes words the flow never
// mentions dilute the match (an out-of-domain sentence is mostly such words), but
// less than a discriminating word would.
const unknownIDF = 0.7

// scratch is the per-call working memory, pooled so Classify does not allocate
// in steady state. Pools hold pointers only.
type scratch struct {
	norm, stems, pad []byte
	toks             []token
	feats            []feat
	dots             []float64
	sims             []float64
	top              []float64
}

// Train builds a classifier from the intents' example phrases: one model per
// language that has phrases, each calibrated on its own phrases (see doc.go).
// Languages are keyed by their base code (zh-CN trains the zh model). An intent
// without phrases in a language is not a choice there. Training takes a few
// milliseconds for a flow's few dozen phrases, and is deterministic.
func Train(intents []Intent) (*Classifier, error) {
	c := &Classifier{models: map[string]*model{}}
	seen := map[string]bool{}
	var errs []error
	for _, in := range intents {
		if in.Name == "" || seen[in.Name] {
			errs = append(errs, fmt.Errorf("%w: %q", ErrIntentName, in.Name))
			continue
		}
		seen[in.Name] = true
		c.names = append(c.names, in.Name)
	}
	slices.Sort(c.names)
	index := map[string]int32{}
	for i, n := range c.names {
		index[n] = int32(i)
	}
	// Collect phrases per language, in a fixed order (language, intent, phrase)
	// so training is deterministic.
	type doc struct {
		intent int32
		text   string
	}
	byLang := map[string][]doc{}
	for _, in := range intents {
		i, ok := index[in.Name]
		if !ok || c.names[i] != in.Name {
			continue
		}
		for _, lang := range slices.Sorted(maps.Keys(in.Phrases)) {
			l := baseLang(lang)
			for _, p := range in.Phrases[lang] {
				byLang[l] = append(byLang[l], doc{i, p})
			}
		}
	}
	s := new(scratch)
	for _, lang := range slices.Sorted(maps.Keys(byLang)) {
		docs := byLang[lang]
		slices.SortStableFunc(docs, func(a, b doc) int { return int(a.intent - b.intent) })
		feats := make([][]feat, 0, len(docs))
		owners := make([]int32, 0, len(docs))
		han, latin := 0, 0
		for _, d := range docs {
			tokenize(s, d.text)
			extract(s)
			mergeFeats(s)
			if len(s.feats) == 0 {
				errs = append(errs, fmt.Errorf("%w: intent %q, %s: %q", ErrEmptyPhrase, c.names[d.intent], lang, d.text))
				continue
			}
			for _, t := range s.toks {
				if t.han {
					han++
				} else {
					latin++
				}
			}
			feats = append(feats, slices.Clone(s.feats))
			owners = append(owners, d.intent)
		}
		if len(feats) == 0 {
			continue
		}
		m := buildModel(lang, owners, feats)
		m.han = han >= latin
		m.cal = fitCalibration(m, feats)
		c.models[lang] = m
		c.langs = append(c.langs, lang) // sorted: byLang's keys in order
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(c.models) == 0 {
		return nil, ErrNoIntents
	}
	return c, nil
}

// buildModel turns the merged features of each phrase into block-normalized TF-IDF
// vectors. The IDF counts intents, not phrases: a feature in every phrase of one
// intent is the most telling there is. idf = ln((K+1)/df), K intents, df the
// intents having the feature.
func buildModel(lang string, owners []int32, feats [][]feat) *model {
	m := &model{lang: lang, vocab: map[uint64]int32{}}
	pos := map[int32]int32{}
	for _, o := range owners {
		if _, ok := pos[o]; !ok {
			pos[o] = int32(len(m.intents))
			m.intents = append(m.intents, o)
		}
	}
	m.docIntent = make([]int32, len(owners))
	for d, o := range owners {
		m.docIntent[d] = pos[o]
	}
	// Document frequency over intents.
	var df []int
	lastIntent := []int32{}
	for d, fs := range feats {
		for _, f := range fs {
			id, ok := m.vocab[f.h]
			if !ok {
				id = int32(len(df))
				m.vocab[f.h] = id
				df = append(df, 0)
				lastIntent = append(lastIntent, -1)
			}
			if lastIntent[id] != m.docIntent[d] {
				lastIntent[id] = m.docIntent[d]
				df[id]++
			}
		}
	}
	k := float64(len(m.intents))
	m.idf = make([]float64, len(df))
	for id, n := range df {
		m.idf[id] = math.Log((k + 1) / float64(n))
	}
	m.unkIDF = unknownIDF * math.Log(k+1)
	// Weighted, block-normalized vectors, then postings by feature.
	type entry struct {
		f int32
		d int32
		w float64
	}
	var all []entry
	m.docNorm = make([]float64, len(feats))
	for d, fs := range feats {
		var sq [numBlocks]float64
		for _, f := range fs {
			w := f.w * m.idf[m.vocab[f.h]]
			sq[f.b] += w * w
		}
		var scale [numBlocks]float64
		norm := 0.0
		for b := range numBlocks {
			if sq[b] > 0 {
				scale[b] = math.Sqrt(blockWeight[b] / sq[b])
				norm += blockWeight[b]
			}
		}
		m.docNorm[d] = math.Sqrt(norm)
		for _, f := range fs {
			id := m.vocab[f.h]
			all = append(all, entry{id, int32(d), f.w * m.idf[id] * scale[f.b]})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].f != all[j].f {
			return all[i].f < all[j].f
		}
		return all[i].d < all[j].d
	})
	m.post0 = make([]int32, len(df)+1)
	m.pdoc = make([]int32, len(all))
	m.pw = make([]float64, len(all))
	for i, e := range all {
		m.pdoc[i] = e.d
		m.pw[i] = e.w
		m.post0[e.f+1] = int32(i + 1)
	}
	for f := 1; f <= len(df); f++ { // features are dense, but keep post0 monotone
		m.post0[f] = max(m.post0[f], m.post0[f-1])
	}
	return m
}

// cosines writes the cosine similarity of the query features in s.feats (merged)
// to every phrase of m into s.dots. Query weights: kind weight × IDF (unkIDF for
// unknown features), block-normalized like the phrases.
func (m *model) cosines(s *scratch) {
	s.dots = slices.Grow(s.dots[:0], len(m.docNorm))[:len(m.docNorm)]
	clear(s.dots)
	var sq [numBlocks]float64
	for i := range s.feats {
		f := &s.feats[i]
		idf := m.unkIDF
		if id, ok := m.vocab[f.h]; ok {
			idf = m.idf[id]
		}
		f.w *= idf
		sq[f.b] += f.w * f.w
	}
	var scale [numBlocks]float64
	norm := 0.0
	for b := range numBlocks {
		if sq[b] > 0 {
			scale[b] = math.Sqrt(blockWeight[b] / sq[b])
			norm += blockWeight[b]
		}
	}
	if norm == 0 {
		return
	}
	for _, f := range s.feats {
		id, ok := m.vocab[f.h]
		if !ok {
			continue
		}
		w := f.w * scale[f.b]
		for p := m.post0[id]; p < m.post0[id+1]; p++ {
			s.dots[m.pdoc[p]] += w * m.pw[p]
		}
	}
	qn := math.Sqrt(norm)
	for d := range s.dots {
		s.dots[d] /= qn * m.docNorm[d]
	}
}

// intentSims aggregates phrase cosines into one similarity per intent of m, into
// s.sims: half the best phrase's cosine, half the mean of the best three (fewer
// when the intent has fewer phrases). exclude (≥ 0) leaves one phrase out, for
// calibration. An intent with no phrase left scores 0.
func (m *model) intentSims(s *scratch, exclude int) {
	n := len(m.intents)
	s.sims = slices.Grow(s.sims[:0], n)[:n]
	s.top = slices.Grow(s.top[:0], 3*n)[:3*n]
	clear(s.top)
	for d, v := range s.dots {
		if d == exclude {
			continue
		}
		t := s.top[3*m.docIntent[d] : 3*m.docIntent[d]+3]
		v += 1 // shift so 0 means "no phrase"; cosines are ≥ 0
		switch {
		case v > t[0]:
			t[0], t[1], t[2] = v, t[0], t[1]
		case v > t[1]:
			t[1], t[2] = v, t[1]
		case v > t[2]:
			t[2] = v
		}
	}
	for i := range n {
		t := s.top[3*i : 3*i+3]
		sum, k := 0.0, 0
		for _, v := range t {
			if v > 0 {
				sum += v - 1
				k++
			}
		}
		if k == 0 {
			s.sims[i] = 0
			continue
		}
		s.sims[i] = 0.5*(t[0]-1) + 0.5*sum/float64(k)
	}
}

// Classify returns the most probable intent of text, a transcript in language lang
// (a code such as "en" or "zh-CN"; "" to detect it). The model is the one of lang,
// unless the text is plainly in the script of another trained language (a Chinese
// transcript in an English call): then that language's. It allocates only
// Result.Ranked; ClassifyInto reuses it.
func (c *Classifier) Classify(text, lang string) Result {
	var r Result
	c.ClassifyInto(&r, text, lang, nil)
	return r
}

// ClassifyInto is Classify writing into r and reusing r.Ranked's memory, so a
// caller classifying many utterances allocates nothing. among, when not empty,
// restricts the choice to those intents (an intent node's intents field): their
// probabilities are renormalized together with None, so an intent left out is
// neither chosen nor able to take probability from the others.
func (c *Classifier) ClassifyInto(r *Result, text, lang string, among []string) {
	ranked := r.Ranked[:0]
	*r = Result{Ranked: ranked}
	if c == nil {
		return
	}
	m := c.pick(text, lang)
	if m == nil {
		return
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	tokenize(s, text)
	extract(s)
	if len(s.feats) == 0 {
		return
	}
	mergeFeats(s)
	m.cosines(s)
	m.intentSims(s, -1)
	r.Lang = m.lang
	ranked = slices.Grow(ranked, len(m.intents))
	temp, bias := m.cal.Temperature, m.cal.Bias
	z := math.Exp(0) // the none class, scores shifted by bias
	for i, idx := range m.intents {
		name := c.names[idx]
		if len(among) > 0 && !slices.Contains(among, name) {
			continue
		}
		e := math.Exp((s.sims[i] - bias) / temp)
		z += e
		ranked = append(ranked, Score{Intent: name, Similarity: s.sims[i], Probability: e})
	}
	for i := range ranked {
		ranked[i].Probability /= z
	}
	slices.SortFunc(ranked, func(a, b Score) int {
		switch {
		case a.Probability > b.Probability:
			return -1
		case a.Probability < b.Probability:
			return 1
		}
		return strings.Compare(a.Intent, b.Intent)
	})
	r.Ranked = ranked
	r.None = 1 / z
	if len(ranked) > 0 {
		r.Intent = ranked[0].Intent
		r.Confidence = ranked[0].Probability
	}
}

// pick chooses the model for a transcript: lang's (or its base language's), unless
// the text's script says otherwise; then the first model of the text's script;
// else the only model.
func (c *Classifier) pick(text, lang string) *model {
	m := c.models[baseLang(lang)]
	det := DetectLanguage(text)
	if det == "" {
		if m == nil && len(c.langs) == 1 {
			m = c.models[c.langs[0]]
		}
		return m
	}
	wantHan := det == LangChinese
	if m != nil && m.han == wantHan {
		return m
	}
	if alt := c.models[det]; alt != nil {
		return alt
	}
	for _, l := range c.langs {
		if c.models[l].han == wantHan {
			return c.models[l]
		}
	}
	if m == nil && len(c.langs) == 1 {
		m = c.models[c.langs[0]]
	}
	return m
}

// Intents returns the names of the intents the classifier knows, sorted.
func (c *Classifier) Intents() []string { return slices.Clone(c.names) }

// Languages returns the languages the classifier has a model for, sorted.
func (c *Classifier) Languages() []string { return slices.Clone(c.langs) }

// Calibration returns the calibration fitted for language lang, for reports and
// tests; false when there is no model for it.
func (c *Classifier) Calibration(lang string) (Calibration, bool) {
	m := c.models[baseLang(lang)]
	if m == nil {
		return Calibration{}, false
	}
	return m.cal, true
}
