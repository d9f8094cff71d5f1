package nlu

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits that bound the work done on one utterance, whatever its length. A
// transcript longer than maxTextBytes is cut there (on a rune boundary): an IVR
// utterance is a sentence or two, and a ten-minute monologue must not cost more
// than a long sentence.
const (
	maxTextBytes = 4096
	maxTokens    = 256
	maxWordRunes = 32 // longer "words" (ASR garbage, base64) are cut for n-grams
)

// Languages the package knows by name. Any other code is accepted as an opaque
// model name by Train; these two select the built-in lexicons and numerals.
const (
	LangEnglish = "en"
	LangChinese = "zh"
)

// DetectLanguage tells Chinese (Han script) text from English (Latin script) text:
// "zh" when Han characters are at least as many as Latin-script words, "en" when
// there is a Latin-script word and fewer Han characters, "" when the text holds
// neither (digits, punctuation, other scripts). It is a script test, not a language
// identifier: French text is "en" here, Japanese kanji "zh". The intent classifier
// uses it to pick the model matching the script of a transcript, and flows can use
// it on a caller's first words to choose the call's language.
func DetectLanguage(text string) string {
	if len(text) > maxTextBytes {
		text = cut(text, maxTextBytes)
	}
	han, words := 0, 0
	inWord := false
	for _, r := range text {
		r = fold(r)
		switch {
		case isHan(r):
			han++
			inWord = false
		case r < 0x250 && unicode.IsLetter(r): // Latin letters, ASCII and accented
			if !inWord {
				words++
			}
			inWord = true
		case r == '\'' || r == '\u2019':
			// apostrophes stay inside a word
		default:
			inWord = false
		}
	}
	switch {
	case han > 0 && han >= words:
		return LangChinese
	case words > 0:
		return LangEnglish
	}
	return ""
}

// baseLang reduces a language tag to the key models are stored under: lower case,
// region and script dropped ("zh-CN" and "zh_Hans" are "zh"); "cmn" (espeak-ng's
// name for Mandarin, used by flows as a voice) is "zh".
func baseLang(lang string) string {
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	lang = strings.ToLower(strings.TrimSpace(lang))
	if lang == "cmn" {
		return LangChinese
	}
	return lang
}

// cut returns s truncated to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// isHan reports whether r is a Chinese character (CJK ideograph).
func isHan(r rune) bool {
	if r < 0x2E80 {
		return false
	}
	return unicode.Is(unicode.Han, r)
}

// fold maps full-width ASCII forms (Ｒｅｆｕｎｄ, １２３, used by Chinese input
// methods and some ASR engines) to ASCII and the ideographic space to a space.
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// token is one unit of a normalized utterance: a Latin-script (or other
// alphabetic) word, or a single Han character. Offsets index scratch.norm and
// scratch.stems, so tokens hold no strings of their own.
type token struct {
	start, end int32 // the lower-cased token in scratch.norm
	stem0      int32 // the stem in scratch.stems (words only)
	stem1      int32
	han        bool // a Han character
	stop       bool // a function word or character: weighted down
	brk        bool // punctuation separates it from the token before
}

// tokenize splits text into s.toks, writing the lower-cased text of every token to
// s.norm and every word's stem to s.stems. Han characters are tokens of their own,
// since Chinese is not segmented into words here. Apostrophes inside words are
// dropped (don't → dont); every other non-letter, non-digit is a separator, and
// punctuation (not spaces) marks the next token with brk. Invalid UTF-8 bytes are
// separators. At most maxTokens tokens are kept.
func tokenize(s *scratch, text string) {
	s.norm = s.norm[:0]
	s.stems = s.stems[:0]
	s.toks = s.toks[:0]
	text = cut(text, maxTextBytes)
	inWord := false
	brk := false
	var cur token
	endWord := func() {
		if !inWord {
			return
		}
		inWord = false
		cur.end = int32(len(s.norm))
		cur.stem0 = int32(len(s.stems))
		s.stems = appendStem(s.stems, s.norm[cur.start:cur.end])
		cur.stem1 = int32(len(s.stems))
		cur.stop = englishStop(s.stems[cur.stem0:cur.stem1])
		if len(s.toks) < maxTokens {
			s.toks = append(s.toks, cur)
		}
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		next := i + size
		if r == utf8.RuneError && size <= 1 {
			endWord()
			brk = true
			i = next
			continue
		}
		r = fold(r)
		switch {
		case isHan(r):
			endWord()
			start := int32(len(s.norm))
			s.norm = utf8.AppendRune(s.norm, r)
			if len(s.toks) < maxTokens {
				s.toks = append(s.toks, token{start: start, end: int32(len(s.norm)),
					han: true, stop: hanStop(r), brk: brk})
			}
			brk = false
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (inWord && unicode.IsMark(r)):
			if !inWord {
				inWord = true
				cur = token{start: int32(len(s.norm)), brk: brk}
				brk = false
			}
			s.norm = utf8.AppendRune(s.norm, unicode.ToLower(r))
		case (r == '\'' || r == '\u2019') && inWord && next < len(text) && isLetterAt(text, next):
			// inside a word: skip it
		default:
			endWord()
			if !unicode.IsSpace(r) {
				brk = true
			}
		}
		i = next
	}
	endWord()
}

func isLetterAt(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsLetter(fold(r))
}

// appendStem appends a light English stem of the lower-cased word w to dst:
// plural and verb endings are stripped (refunds, refunded, refunding → refund;
// charges, charged → charg), a final e dropped, a doubled final consonant other
// than l, s or z undoubled (stopped → stop). It is deliberately weaker than
// Porter's: over-stemming merges words an IVR must keep apart. Words with
// non-ASCII letters are kept as they are.
func appendStem(dst, w []byte) []byte {
	for _, c := range w {
		if c >= 0x80 {
			return append(dst, w...)
		}
	}
	n := len(w)
	if n <= 3 {
		return append(dst, w...)
	}
	switch {
	case hasSuffix(w, "ies") && n > 4:
		return append(append(dst, w[:n-3]...), 'y')
	case hasSuffix(w, "sses"):
		return append(dst, w[:n-2]...)
	case hasSuffix(w, "ss") || hasSuffix(w, "us") || hasSuffix(w, "is"):
		return append(dst, w...)
	case hasSuffix(w, "ing") && n > 5:
		return appendUndouble(dst, w[:n-3])
	case hasSuffix(w, "ed") && n > 4:
		return appendUndouble(dst, w[:n-2])
	case hasSuffix(w, "es") && n > 4 && (w[n-3] == 's' || w[n-3] == 'x' || w[n-3] == 'z' || w[n-3] == 'h'):
		return append(dst, w[:n-2]...)
	case w[n-1] == 's':
		w = w[:n-1]
		n--
	}
	if n > 4 && w[n-1] == 'e' {
		w = w[:n-1]
	}
	return append(dst, w...)
}

func appendUndouble(dst, w []byte) []byte {
	n := len(w)
	if n >= 2 && w[n-1] == w[n-2] && !isVowel(w[n-1]) && w[n-1] != 'l' && w[n-1] != 's' && w[n-1] != 'z' {
		w = w[:n-1]
	} else if n > 4 && w[n-1] == 'e' {
		w = w[:n-1]
	}
	return append(dst, w...)
}

func hasSuffix(w []byte, suf string) bool {
	return len(w) >= len(suf) && string(w[len(w)-len(suf):]) == suf
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

// englishStopWords are function words that carry little of what a caller wants;
// their features are weighted down (not dropped: "not working" needs "not").
// Stems, as appendStem writes them.
var englishStopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the i me my mine we us our you your it its is am are was were be been
		do does did have has had to of in on at for with from by and or but so if then than
		this that these those there here what which who whom how when where why can could would
		should will shall may might must please just um uh er hmm oh okay ok yes yeah hi hello
		like want wanna need im ive id dont about some any get got go going one thank thanks
		sir madam maam well really also very as into up out`) {
		englishStopWords[string(appendStem(nil, []byte(w)))] = true
	}
	// Negations and "not" are meaning-bearing for intents (not working) and are
	// deliberately absent from the list.
}

func englishStop(stem []byte) bool {
	return englishStopWords[string(stem)]
}

// hanStop reports the Chinese function characters (particles, pronouns, the most
// common verbs of wanting) whose unigrams are weighted down. 不 and 没 are not
// among them: they carry "not working".
func hanStop(r rune) bool {
	switch r {
	case '的', '了', '吗', '呢', '啊', '吧', '呀', '嘛', '我', '你', '您', '他', '她', '们',
		'是', '在', '一', '个', '这', '那', '要', '想', '请', '帮', '给', '下', '就', '都', '也',
		'和', '跟', '把', '被', '还', '有', '能', '可', '以', '么', '怎', '什':
		return true
	}
	return false
}
