package sphinx

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// ErrUnknownWords is wrapped by the error for phrases with words the
// pronunciation dictionary lacks; errors.As with *UnknownWordsError gives
// the list.
var ErrUnknownWords = errors.New("sphinx: words not in the pronunciation dictionary")

// UnknownWordsError lists the words of a request that the dictionary does
// not have, so a flow author sees every word to change (or to add to the
// dictionary) at once.
type UnknownWordsError struct {
	Words []string // sorted, unique, as normalised (lower case)
	Dict  string   // the dictionary file
}

func (e *UnknownWordsError) Error() string {
	return fmt.Sprintf("%v %s: %s", ErrUnknownWords, e.Dict, strings.Join(e.Words, ", "))
}

// Unwrap lets errors.Is match ErrUnknownWords.
func (e *UnknownWordsError) Unwrap() error { return ErrUnknownWords }

// dictionary is the set of words a decoder can recognise, read once from
// the same file the decoders load, so phrases are checked in Go at flow
// load time without a decoder.
type dictionary struct {
	path  string
	words map[string]struct{}
}

func loadDictionary(path string) (*dictionary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sphinx: dictionary: %w", err)
	}
	defer f.Close()
	d := &dictionary{path: path, words: make(map[string]struct{}, 140000)}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		w, _, _ := strings.Cut(line, " ")
		if w == "" || strings.HasPrefix(w, "#") || strings.HasPrefix(line, ";;") {
			continue
		}
		// Alternative pronunciations are spelled word(2), word(3)...
		if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
			w = w[:i]
		}
		d.words[w] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sphinx: dictionary %s: %w", path, err)
	}
	if len(d.words) == 0 {
		return nil, fmt.Errorf("sphinx: dictionary %s has no words", path)
	}
	return d, nil
}

func (d *dictionary) has(w string) bool {
	_, ok := d.words[w]
	return ok
}

// check returns an *UnknownWordsError for the words d lacks, nil if none.
func (d *dictionary) check(words []string) error {
	var unknown []string
	for _, w := range words {
		if !d.has(w) {
			unknown = append(unknown, w)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return &UnknownWordsError{Words: slices.Compact(unknown), Dict: d.path}
}

// Normalize turns a phrase as a flow writes it into the words the
// dictionary spells: lower case, punctuation removed (an apostrophe inside
// a word is kept: "don't"), hyphens and slashes split words, and numbers
// spelled out ("10" → "ten", "2nd" stays unknown). Numbers up to 999999
// are read as cardinals ("24" → "twenty four"); longer digit strings and
// those with a leading zero are read digit by digit, as callers say
// account numbers ("007" → "zero zero seven").
func Normalize(phrase string) []string {
	var words []string
	for _, tok := range strings.FieldsFunc(strings.ToLower(phrase), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'')
	}) {
		tok = strings.Trim(tok, "'")
		if tok == "" {
			continue
		}
		// Split runs of digits from letters: "24x7" → 24 x 7.
		start := 0
		for i := 1; i <= len(tok); i++ {
			if i < len(tok) && isDigit(tok[i]) == isDigit(tok[start]) {
				continue
			}
			part := tok[start:i]
			if isDigit(part[0]) {
				words = append(words, spellNumber(part)...)
			} else {
				words = append(words, part)
			}
			start = i
		}
	}
	return words
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// spellNumber spells a string of ASCII digits.
func spellNumber(digits string) []string {
	n, err := strconv.Atoi(digits)
	if err != nil || len(digits) > 6 || (len(digits) > 1 && digits[0] == '0') {
		out := make([]string, 0, len(digits))
		for i := range len(digits) {
			out = append(out, ones[digits[i]-'0'])
		}
		return out
	}
	if n == 0 {
		return []string{"zero"}
	}
	var out []string
	if n >= 1000 {
		out = append(out, below1000(n/1000)...)
		out = append(out, "thousand")
		n %= 1000
	}
	return append(out, below1000(n)...)
}

func below1000(n int) []string {
	var out []string
	if n >= 100 {
		out = append(out, ones[n/100], "hundred")
		n %= 100
	}
	switch {
	case n == 0:
	case n < 20:
		out = append(out, ones[n])
	default:
		out = append(out, tens[n/10])
		if n%10 != 0 {
			out = append(out, ones[n%10])
		}
	}
	return out
}

// phraseGrammar normalises phrases, checks them against d, and returns a
// JSGF grammar accepting exactly one of them (duplicates removed).
func phraseGrammar(phrases []string, d *dictionary) (string, error) {
	var alts []string
	var all []string
	var empty []string
	for _, p := range phrases {
		w := Normalize(p)
		if len(w) == 0 {
			empty = append(empty, p)
			continue
		}
		all = append(all, w...)
		alts = append(alts, strings.Join(w, " "))
	}
	if len(empty) > 0 {
		return "", fmt.Errorf("sphinx: phrases without words: %q", empty)
	}
	if len(alts) == 0 {
		return "", errors.New("sphinx: grammar mode needs at least one phrase")
	}
	if err := d.check(all); err != nil {
		return "", err
	}
	slices.Sort(alts)
	alts = slices.Compact(alts)
	// JSGF 1.0 (W3C Note, 2000): a public rule whose expansion is the
	// alternatives, one per phrase.
	return "#JSGF V1.0;\ngrammar hotline;\npublic <utterance> = " + strings.Join(alts, " | ") + ";\n", nil
}

// grammarWords returns the words (tokens) of a JSGF grammar, skipping its
// header, comments, rule names, weights, tags and operators, so that a
// raw grammar is checked against the dictionary like a phrase list.
func grammarWords(jsgf string) []string {
	if t := strings.TrimSpace(jsgf); strings.HasPrefix(strings.ToUpper(t), "#JSGF") {
		if end := strings.IndexByte(t, ';'); end >= 0 {
			jsgf = t[end+1:]
		}
	}
	var b strings.Builder
	for i := 0; i < len(jsgf); i++ {
		c := jsgf[i]
		switch {
		case strings.HasPrefix(jsgf[i:], "/*"):
			end := strings.Index(jsgf[i+2:], "*/")
			if end < 0 {
				i = len(jsgf)
			} else {
				i += end + 3
			}
			b.WriteByte(' ')
		case strings.HasPrefix(jsgf[i:], "//"):
			end := strings.IndexByte(jsgf[i:], '\n')
			if end < 0 {
				end = len(jsgf) - i
			}
			i += end
			b.WriteByte(' ')
		case c == '<' || c == '{' || c == '/':
			// rule reference <x>, tag {x}, weight /x/
			closer := map[byte]byte{'<': '>', '{': '}', '/': '/'}[c]
			end := strings.IndexByte(jsgf[i+1:], closer)
			if end < 0 {
				i = len(jsgf)
			} else {
				i += end + 1
			}
			b.WriteByte(' ')
		case strings.ContainsRune(";=|*+()[]\"", rune(c)):
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	var words []string
	skipNext := false
	for _, f := range strings.Fields(b.String()) {
		switch {
		case skipNext:
			skipNext = false
		case f == "grammar":
			skipNext = true // the grammar's name
		case f == "public", f == "import": // import's <rule> is already gone
		default:
			words = append(words, strings.ToLower(f))
		}
	}
	return words
}
