package nlu

import (
	_ "embed"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Sentiment thresholds on Sentiment.Score. Flows compare the sentiment variable
// with them; telecom.yaml sends a caller below SentimentUnhappy to a person first.
// They were set on testdata/sentiment.tsv (see doc.go for the figures).
const (
	// SentimentUnhappy: below it the caller is clearly unhappy (one strong
	// complaint word, "not happy", 不满意). Route to a person first.
	SentimentUnhappy = -0.4
	// SentimentAngry: below it the caller is angry (profanity, several complaint
	// words, an intensified one, or an unhappy text said loudly and fast).
	SentimentAngry = -0.7
	// SentimentHappy: above it the caller is satisfied or grateful.
	SentimentHappy = 0.25
)

// Mood is a Sentiment score put in words, for call records and screen-pops. The
// zero value is MoodUnknown (no analysis made).
type Mood uint8

// The moods, from the score thresholds.
const (
	MoodUnknown Mood = iota
	MoodAngry
	MoodUnhappy
	MoodNeutral
	MoodHappy
)

var moodNames = [...]string{"unknown", "angry", "unhappy", "neutral", "happy"}

// String returns the mood's lower-case name, for call records and logs.
func (m Mood) String() string {
	if int(m) < len(moodNames) {
		return moodNames[m]
	}
	return "Mood(" + strconv.Itoa(int(m)) + ")"
}

// Prosody holds cheap acoustic cues of an utterance, measured by the media layer.
// The zero value means no cues: the score is then the text's alone. Loudness and
// rate say how aroused a caller is, not whether they are pleased, so they amplify
// what the words say and on their own move the score only a little.
type Prosody struct {
	// LoudnessDB is the utterance's level minus the caller's earlier speech in the
	// call, in dB (RMS, dBFS difference): +6 is noticeably louder. 0 or less: no
	// cue (the first utterance of a call has no reference).
	LoudnessDB float64
	// Rate is the speaking rate in syllables per second (Chinese: characters per
	// second); 0 when unknown.
	Rate float64
	// BaselineRate is the caller's earlier rate; 0 uses the language's typical
	// conversational rate (typicalRateEN, typicalRateZH).
	BaselineRate float64
}

// Typical conversational speaking rates, syllables per second.
const (
	typicalRateEN = 4.5
	typicalRateZH = 5.0
)

// arousal maps the cues to 0 (calm, or unknown) … 1 (shouting, rushing): a rise
// of 3 dB or less counts nothing and 12 dB everything; a rate up to 15 % above
// the baseline nothing and 60 % above everything. The two combine as independent
// evidence: 1 − (1 − loud)(1 − fast).
func (p Prosody) arousal(lang string) float64 {
	loud := clamp01((p.LoudnessDB - 3) / 9)
	fast := 0.0
	if p.Rate > 0 {
		base := p.BaselineRate
		if !(base > 0) || math.IsInf(base, 0) {
			base = typicalRateEN
			if lang == LangChinese {
				base = typicalRateZH
			}
		}
		fast = clamp01((p.Rate/base - 1.15) / 0.45)
	}
	return 1 - (1-loud)*(1-fast)
}

func clamp01(x float64) float64 {
	switch {
	case x > 0 && x < 1:
		return x
	case x >= 1:
		return 1
	}
	return 0 // negative or NaN
}

// Sentiment is how an utterance sounds: the flow variable sentiment is Score.
type Sentiment struct {
	// Score runs from -1 (furious) through 0 (neutral, or no evidence) to +1
	// (delighted). See the Sentiment* thresholds.
	Score float64
	// Text is the score of the words alone.
	Text float64
	// Arousal is the prosody cue, 0 (calm or unknown) to 1.
	Arousal float64
	// Terms counts the lexicon terms that contributed; 0 means the words carried
	// no sentiment the lexicon knows.
	Terms int
}

// Mood names the score's band.
func (s Sentiment) Mood() Mood {
	switch {
	case s.Score < SentimentAngry:
		return MoodAngry
	case s.Score < SentimentUnhappy:
		return MoodUnhappy
	case s.Score > SentimentHappy:
		return MoodHappy
	}
	return MoodNeutral
}

// sentimentAlpha sets how fast the sum of term values saturates: score =
// sum/√(sum²+α). One strong negative term (-2) gives -0.58, "not happy" (-1.5)
// -0.47, profanity (-3) -0.73, two strong terms -0.82.
const sentimentAlpha = 8

// negation factors: a negated positive term becomes negative (not happy: -0.75 ×
// 2); a negated negative one counts nothing, since callers negate complaints
// rhetorically ("I'm not here to be insulted", 不是来受气的) more often than they
// praise by litotes, and the litotes that matter ("not bad", 不错) are lexicon
// terms.
const (
	negatePositive = -0.75
	negateNegative = 0.0
	modifierWindow = 3 // a modifier reaches a term at most this many tokens on
)

// AnalyzeSentiment scores an utterance from its words (the embedded lexicon, with
// negation, intensifiers and "but") and, when p holds cues, from how it was
// said. lang ("en", "zh") picks the typical speaking rate; the lexicon covers both
// languages in any text. Safe for concurrent use; it does not allocate in steady
// state.
func AnalyzeSentiment(text, lang string, p Prosody) Sentiment {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	tokenize(s, text)
	sum, terms := sentimentLexicon.score(s)
	// Exclamation marks raise the intensity, up to three.
	bangs := strings.Count(cut(text, maxTextBytes), "!") + strings.Count(cut(text, maxTextBytes), "！")
	sum *= 1 + 0.1*float64(min(bangs, 3))
	var out Sentiment
	out.Terms = terms
	out.Text = sum / math.Sqrt(sum*sum+sentimentAlpha)
	out.Arousal = p.arousal(baseLang(lang))
	a, t := out.Arousal, out.Text
	if t < 0 {
		out.Score = t*(1+0.5*a) - 0.1*a
	} else {
		out.Score = t*(1-0.3*a) - 0.2*a
	}
	out.Score = max(-1, min(1, out.Score))
	return out
}

// scratchPool holds the working memory of AnalyzeSentiment and Classify.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

type lexKind uint8

const (
	lexTerm lexKind = iota
	lexNegation
	lexIntensifier
	lexDiminisher
	lexContrast
)

type lexEntry struct {
	keys  []string
	kind  lexKind
	val   float64 // term value or modifier factor
	exact bool    // keys are spellings, not stems
}

// lexicon is a parsed sentiment.txt: entries by their first key, longest first.
type lexicon struct {
	byFirst map[string][]lexEntry
}

//go:embed sentiment.txt
var sentimentText string

var sentimentLexicon = parseLexicon(sentimentText)

func parseLexicon(text string) *lexicon {
	lex := &lexicon{byFirst: map[string][]lexEntry{}}
	s := new(scratch)
	kind := lexTerm
	sections := map[string]lexKind{"[terms]": lexTerm, "[negation]": lexNegation,
		"[intensifier]": lexIntensifier, "[diminisher]": lexDiminisher, "[contrast]": lexContrast}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if k, ok := sections[line]; ok {
			kind = k
			continue
		}
		term, val := line, 0.0
		if i := strings.LastIndexByte(line, ' '); i > 0 && (kind == lexTerm || kind == lexIntensifier || kind == lexDiminisher) {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				term, val = line[:i], v
			}
		}
		exact := strings.HasPrefix(term, "=")
		tokenize(s, strings.TrimPrefix(term, "="))
		if len(s.toks) == 0 {
			continue
		}
		keys := make([]string, len(s.toks))
		for i, t := range s.toks {
			keys[i] = string(s.lexKey(t, exact))
		}
		first := keys[0]
		if exact {
			first = "=" + first
		}
		lex.byFirst[first] = append(lex.byFirst[first], lexEntry{keys: keys, kind: kind, val: val, exact: exact})
	}
	for _, es := range lex.byFirst {
		slices.SortStableFunc(es, func(a, b lexEntry) int { return len(b.keys) - len(a.keys) })
	}
	return lex
}

// longest returns the longest entry matching s.toks from i, and its length in
// tokens (0 for none); an exact-spelling entry wins a tie. Its tokens must follow
// each other without punctuation.
func (lex *lexicon) longest(s *scratch, i int) (lexEntry, int) {
	var best lexEntry
	n := 0
	t := s.toks[i]
	if !t.han {
		var buf [48]byte
		key := append(append(buf[:0], '='), s.norm[t.start:t.end]...)
		best, n = lex.match(s, i, lex.byFirst[string(key)])
	}
	if e, m := lex.match(s, i, lex.byFirst[string(s.key(t))]); m > n {
		best, n = e, m
	}
	return best, n
}

// match returns the first (longest) of entries that matches s.toks from i.
func (lex *lexicon) match(s *scratch, i int, entries []lexEntry) (lexEntry, int) {
next:
	for _, e := range entries {
		if i+len(e.keys) > len(s.toks) {
			continue
		}
		for k, key := range e.keys[1:] {
			t := s.toks[i+1+k]
			if t.brk || string(s.lexKey(t, e.exact)) != key {
				continue next
			}
		}
		return e, len(e.keys)
	}
	return lexEntry{}, 0
}

// lexKey is a token's key for an entry: its spelling (exact) or its stem.
func (s *scratch) lexKey(t token, exact bool) []byte {
	if exact && !t.han {
		return s.norm[t.start:t.end]
	}
	return s.key(t)
}

// score sums the values of the lexicon terms in s.toks, each scaled by the
// modifiers before it (within modifierWindow tokens, not across punctuation),
// and after a contrast word weights earlier terms by 0.5 and later ones by 1.5.
func (lex *lexicon) score(s *scratch) (float64, int) {
	type modifier struct {
		kind   lexKind
		factor float64
		end    int
	}
	var mods [8]modifier
	nm := 0
	before, after := 0.0, 0.0 // sums before and after the last contrast word
	contrast := false
	terms := 0
	for i := 0; i < len(s.toks); {
		if s.toks[i].brk {
			nm = 0
		}
		e, n := lex.longest(s, i)
		if n == 0 {
			i++
			continue
		}
		switch e.kind {
		case lexNegation, lexIntensifier, lexDiminisher:
			if nm == len(mods) {
				copy(mods[:], mods[1:])
				nm--
			}
			mods[nm] = modifier{e.kind, e.val, i + n}
			nm++
		case lexContrast:
			before += after
			after = 0
			contrast = true
			nm = 0
		case lexTerm:
			if v := e.val; v != 0 {
				negated, mult := false, 1.0
				for _, m := range mods[:nm] {
					if i-m.end > modifierWindow {
						continue
					}
					switch m.kind {
					case lexNegation:
						negated = !negated
					case lexIntensifier, lexDiminisher:
						mult *= m.factor
					}
				}
				if negated {
					// "not very happy" is milder than "not happy": an intensifier
					// under a negation hedges.
					if mult > 1 {
						mult = 0.7
					}
					if v > 0 {
						v *= negatePositive
					} else {
						v *= negateNegative
					}
				}
				after += v * mult
				terms++
			}
			nm = 0
		}
		i += n
	}
	if contrast {
		return 0.5*before + 1.5*after, terms
	}
	return after, terms
}
