package ivr

// The nodes that speak and end: say, play, pause, hangup; and the matching of
// spoken answers (menu phrases, numbers) they share with the listening nodes.

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/media"
)

// missingError is the error of a node whose service is not configured: its message
// names what is missing, as the node's log line shows it.
type missingError string

func (e missingError) Error() string { return string(e) }
func (e missingError) Unwrap() error { return ErrNotConfigured }

func missing(msg string) error { return missingError(msg) }

func (c *call) sayNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Say) (string, error) {
	if err := c.speakPrompt(ctx, fr, a.Msg, a.Voices, a.BargeIn, nil); err != nil {
		return "", err
	}
	return route(n, flows.OutcomeOK)
}

func (c *call) playNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Play) (string, error) {
	if err := c.playFile(ctx, fr.flow, a.File, a.BargeIn, nil); err != nil {
		return "", err
	}
	return route(n, flows.OutcomeOK)
}

// pauseNode plays silence (keeping the caller's jitter buffer fed) without barge-in:
// keys pressed meanwhile wait in the type-ahead buffer for the next gather.
func (c *call) pauseNode(ctx context.Context, n *flows.Node, a *flows.Pause) (string, error) {
	if err := c.play(ctx, media.Silence(a.Duration, c.ch.SampleRate()), false, nil); err != nil {
		return "", err
	}
	return route(n, flows.OutcomeOK)
}

// hangupNode ends the call with the node's disposition. In the on_hangup section the
// call is already over: a hangup only ends the section.
func (c *call) hangupNode(ctx context.Context, fr *frame, a *flows.Hangup) (string, error) {
	c.ended = true
	if c.section {
		return "", nil
	}
	c.disp = a.Disposition
	if c.disp == "" {
		c.disp = DispositionUnresolved
	}
	c.reason = a.Reason
	if fr.depth > 0 {
		c.log.Info("hangup in a subflow ends the call", "subflow", fr.flow.Name)
	}
	return "", c.hangup(ctx)
}

// normalize lowers text and reduces punctuation and runs of space to one space, for
// matching what a recognizer heard against phrases.
func normalize(s string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// hasHan reports whether s holds Chinese characters, which are not separated by
// spaces: their phrases match anywhere, Latin ones on word boundaries.
func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// contains reports whether normalized text holds normalized phrase.
func containsPhrase(text, phrase string) bool {
	if phrase == "" {
		return false
	}
	if hasHan(phrase) {
		return strings.Contains(strings.ReplaceAll(text, " ", ""), strings.ReplaceAll(phrase, " ", ""))
	}
	return strings.Contains(" "+text+" ", " "+phrase+" ")
}

// phrasesIn returns p's phrases in lang, else in the flow's language.
func phrasesIn(f *flows.Flow, p flows.Phrases, lang string) []string {
	if l := p[lang]; len(l) > 0 {
		return l
	}
	return p[f.Language]
}

// matchChoice returns the key of the menu choice whose phrase the transcript holds
// (the longest phrase wins), else the key the caller named ("one", "1", "一"), else "".
func matchChoice(f *flows.Flow, m *flows.Menu, text, lang string) string {
	t := normalize(text)
	best, bestLen := "", 0
	for _, k := range m.Keys {
		ch := m.Choices[k]
		if ch == nil {
			continue
		}
		for _, p := range phrasesIn(f, ch.Phrases, lang) {
			np := normalize(p)
			if len(np) > bestLen && containsPhrase(t, np) {
				best, bestLen = k, len(np)
			}
		}
	}
	if best != "" {
		return best
	}
	if n, ok := spokenNumber(t); ok && n >= 0 && n <= 9 {
		k := strconv.Itoa(n)
		if slices.Contains(m.Keys, k) {
			return k
		}
	}
	return ""
}

// numberWords are the number words a caller may say for a key or a score, in the
// languages the engine ships prompts for.
var numberWords = map[string]int{
	"zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
	"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
	"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
	"六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
}

// spokenNumber returns the first number from 0 to 10 in normalized text: digits
// ("4"), an English word ("four") or a Chinese numeral ("四分").
func spokenNumber(t string) (int, bool) {
	for _, w := range strings.Fields(t) {
		if n, err := strconv.Atoi(w); err == nil {
			return n, true
		}
		if n, ok := numberWords[w]; ok {
			return n, true
		}
		for _, r := range w {
			if n, ok := numberWords[string(r)]; ok {
				return n, true
			}
			if unicode.IsDigit(r) {
				return int(r - '0'), true
			}
		}
	}
	return 0, false
}

// sortedKeys returns the keys of m in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
