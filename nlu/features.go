package nlu

import (
	_ "embed"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// block groups features of one kind. Each block of a vector is normalized on its
// own and weighted by blockWeight, so the many character n-grams of a sentence do
// not drown its few words, and a cosine is a weighted mean of per-block cosines.
type block uint8

const (
	blockWord    block = iota // word unigrams and bigrams (stems)
	blockChar                 // character n-grams: 3–5 in words, 1–3 in Han text
	blockConcept              // paraphrase groups of concepts.txt
	blockPhon                 // sound-alike keys of words, for ASR homophones
	numBlocks
)

// blockWeight is each block's share of the similarity. Words and characters carry
// most of it; concepts bridge paraphrases; sound-alike keys only break ties between
// otherwise unmatched words (bill heard as build).
var blockWeight = [numBlocks]float64{0.35, 0.30, 0.25, 0.10}

// Feature kind weights, before IDF. Function words and characters count a fifth.
const (
	wWord      = 1.0
	wBigram    = 0.6
	wChar      = 1.0
	wHanUni    = 0.4
	wHanBi     = 1.0
	wHanTri    = 0.8
	wConcept   = 1.0
	wPhon      = 1.0
	stopFactor = 0.2
)

// Seeds of the feature hashes, one per kind, so "bill" the word and "bill" the
// character n-gram are different features.
const (
	seedWord    uint64 = 0xcbf29ce484222325
	seedBigram  uint64 = 0x84222325cbf29ce4
	seedChar    uint64 = 0x9e3779b97f4a7c15
	seedConcept uint64 = 0x7f4a7c159e3779b9
	seedPhon    uint64 = 0xc2b2ae3d27d4eb4f
)

const prime64 = 0x100000001b3

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= prime64
	}
	return h
}

func hashByte(h uint64, c byte) uint64 {
	h ^= uint64(c)
	return h * prime64
}

// feat is one feature occurrence: its hash, block and kind weight. Duplicates are
// merged by mergeFeats.
type feat struct {
	h uint64
	w float64
	b block
}

//go:embed concepts.txt
var conceptsText string

// concepts is the parsed paraphrase lexicon, shared read-only by every classifier.
var concepts = parseConcepts(conceptsText)

// conceptEntry is one term of a paraphrase group, as a token sequence: a stem per
// word, the character itself per Han character.
type conceptEntry struct {
	id   uint64 // hash of the group name
	keys []string
}

type conceptLex struct {
	byFirst map[string][]conceptEntry // by the entry's first key
}

func parseConcepts(text string) *conceptLex {
	lex := &conceptLex{byFirst: map[string][]conceptEntry{}}
	s := new(scratch)
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, terms, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		id := hashBytes(seedConcept, []byte(strings.TrimSpace(name)))
		for term := range strings.SplitSeq(terms, ",") {
			tokenize(s, term)
			if len(s.toks) == 0 {
				continue
			}
			keys := make([]string, len(s.toks))
			for i, t := range s.toks {
				keys[i] = string(s.key(t))
			}
			lex.byFirst[keys[0]] = append(lex.byFirst[keys[0]], conceptEntry{id: id, keys: keys})
		}
	}
	return lex
}

// key is what a concept term matches a token on: the stem of a word, the
// character itself for Han.
func (s *scratch) key(t token) []byte {
	if t.han {
		return s.norm[t.start:t.end]
	}
	return s.stems[t.stem0:t.stem1]
}

// match appends a concept feature for every lexicon term found in s.toks. A term's
// words must follow each other, except that up to two function words may come
// between them; Han terms must be contiguous.
func (lex *conceptLex) match(s *scratch) {
	for i, t := range s.toks {
		entries := lex.byFirst[string(s.key(t))]
	next:
		for _, e := range entries {
			j := i + 1
			for _, k := range e.keys[1:] {
				skipped := 0
				for {
					if j >= len(s.toks) {
						continue next
					}
					u := s.toks[j]
					if string(s.key(u)) == k {
						break
					}
					if u.han || !u.stop || skipped == 2 {
						continue next
					}
					skipped++
					j++
				}
				j++
			}
			s.feats = append(s.feats, feat{h: e.id, w: wConcept, b: blockConcept})
		}
	}
}

// extract appends the features of the tokenized utterance in s to s.feats:
//   - each word: its stem, a sound-alike key and its character 3–5-grams (the word
//     padded with spaces, so "re fund" still shares "fun", "und" and "nd " with
//     "refund"); each pair of adjacent words: their stems as a bigram;
//   - each run of Han characters: every character and every 2- and 3-character
//     sequence, the usual substitute for a word segmenter;
//   - every paraphrase group of concepts.txt one of whose terms occurs.
func extract(s *scratch) {
	s.feats = s.feats[:0]
	for i, t := range s.toks {
		if t.han {
			extractHan(s, i)
			continue
		}
		stem := s.stems[t.stem0:t.stem1]
		kw := 1.0
		if t.stop {
			kw = stopFactor
		}
		s.feats = append(s.feats, feat{h: hashBytes(seedWord, stem), w: wWord * kw, b: blockWord})
		if i > 0 && !s.toks[i-1].han && !t.brk {
			p := s.toks[i-1]
			if !(p.stop && t.stop) {
				bw := wBigram
				if p.stop || t.stop {
					bw *= 0.5
				}
				h := hashByte(hashBytes(seedBigram, s.stems[p.stem0:p.stem1]), ' ')
				s.feats = append(s.feats, feat{h: hashBytes(h, stem), w: bw, b: blockWord})
			}
		}
		word := s.norm[t.start:t.end]
		charNgrams(s, word, kw)
		if !t.stop {
			phonetic(s, word)
		}
	}
	concepts.match(s)
}

func extractHan(s *scratch, i int) {
	t := s.toks[i]
	uw := wHanUni
	if t.stop {
		uw *= stopFactor
	}
	s.feats = append(s.feats, feat{h: hashBytes(seedChar, s.norm[t.start:t.end]), w: uw, b: blockChar})
	if i < 1 || t.brk || !s.toks[i-1].han {
		return
	}
	p := s.toks[i-1]
	bw := wHanBi
	if p.stop && t.stop {
		bw *= 0.3
	}
	s.feats = append(s.feats, feat{h: hashBytes(seedChar, s.norm[p.start:t.end]), w: bw, b: blockChar})
	if i < 2 || p.brk || !s.toks[i-2].han {
		return
	}
	q := s.toks[i-2]
	s.feats = append(s.feats, feat{h: hashBytes(seedChar, s.norm[q.start:t.end]), w: wHanTri, b: blockChar})
}

// charNgrams appends the 3-, 4- and 5-rune n-grams of " word " (at most
// maxWordRunes runes of it).
func charNgrams(s *scratch, word []byte, kw float64) {
	var at [maxWordRunes + 3]int32 // rune offsets in the padded word
	pad := append(s.pad[:0], ' ')
	n := 0
	at[n] = 0
	n++
	for len(word) > 0 && n <= maxWordRunes {
		_, size := utf8.DecodeRune(word)
		at[n] = int32(len(pad))
		pad = append(pad, word[:size]...)
		word = word[size:]
		n++
	}
	at[n] = int32(len(pad))
	pad = append(pad, ' ')
	n++
	at[n] = int32(len(pad))
	s.pad = pad
	for size := 3; size <= 5; size++ {
		for i := 0; i+size <= n; i++ {
			g := pad[at[i]:at[i+size]]
			s.feats = append(s.feats, feat{h: hashBytes(seedChar, g), w: wChar * kw, b: blockChar})
		}
	}
}

// phonetic appends sound-alike keys of an ASCII word: its consonant classes in
// order (b/p, f/v/ph, k/c/g/q, s/z/c before e/i, t/d/th, l, m/n, r, j/ch/sh,
// vowel-initial words start with a vowel mark), repeats merged, cut to two and to
// three classes. "bill" (PL) and "build" (PL, PLT) share PL; "four" and "for"
// share FR. Both prefixes are features, so near-homophones share the shorter one.
func phonetic(s *scratch, w []byte) {
	if len(w) < 3 {
		return
	}
	var key [3]byte
	n := 0
	last := byte(0)
	for i := 0; i < len(w) && n < 3; i++ {
		c := w[i]
		if c >= 0x80 {
			return
		}
		var next byte
		if i+1 < len(w) {
			next = w[i+1]
		}
		var code byte
		switch c {
		case 'b', 'p':
			code = 'P'
			if c == 'p' && next == 'h' {
				code = 'F'
				i++
			}
		case 'f', 'v':
			code = 'F'
		case 'k', 'q', 'g':
			code = 'K'
			if c == 'g' && next == 'h' {
				i++
				continue
			}
		case 'c':
			switch next {
			case 'e', 'i', 'y':
				code = 'S'
			case 'h':
				code = 'J'
				i++
			default:
				code = 'K'
			}
		case 'x':
			code = 'K'
		case 's', 'z':
			code = 'S'
			if next == 'h' {
				code = 'J'
				i++
			}
		case 't', 'd':
			code = 'T'
			if next == 'h' {
				i++
			}
		case 'l':
			code = 'L'
		case 'm', 'n':
			code = 'N'
		case 'r':
			code = 'R'
		case 'j':
			code = 'J'
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return
		default: // vowels, h, w, y
			if i == 0 {
				code = 'A'
			} else {
				last = 0
				continue
			}
		}
		if code != last {
			key[n] = code
			n++
		}
		last = code
	}
	if n < 2 {
		return
	}
	s.feats = append(s.feats, feat{h: hashBytes(seedPhon, key[:2]), w: wPhon, b: blockPhon})
	if n == 3 {
		s.feats = append(s.feats, feat{h: hashBytes(seedPhon, key[:3]), w: wPhon, b: blockPhon})
	}
}

// mergeFeats sorts s.feats by hash and merges duplicates. A feature seen with
// total kind weight x gets weight x up to 1 and 1+ln(x) above (sublinear term
// frequency: a caller repeating "refund refund" says it louder, not three times).
func mergeFeats(s *scratch) {
	f := s.feats
	slices.SortFunc(f, func(a, b feat) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	out := f[:0]
	for _, x := range f {
		if n := len(out); n > 0 && out[n-1].h == x.h {
			out[n-1].w += x.w
			continue
		}
		out = append(out, x)
	}
	for i := range out {
		out[i].w = sublinear(out[i].w)
	}
	s.feats = out
}

func sublinear(x float64) float64 {
	if x <= 1 {
		return x
	}
	return 1 + math.Log(x)
}
