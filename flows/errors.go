package flows

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is a place in a flow file. Every Error carries one so that an author (or an
// editor's problem matcher) can jump straight to the offending YAML.
type Pos struct {
	File string // the file name as given to Parse, Load, LoadFS or LoadDir
	Line int    // 1-based line; 0 when unknown
	Col  int    // 1-based column, counted in characters; 0 when unknown
}

// String formats p as "file:line:col", the form compilers use. Unknown parts are left
// out: "file:line" without a column, "file" without a line, "line:col" without a file.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if p.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	return b.String()
}

// compare orders positions by file, then line, then column.
func (p Pos) compare(q Pos) int {
	if c := strings.Compare(p.File, q.File); c != 0 {
		return c
	}
	if c := cmp.Compare(p.Line, q.Line); c != 0 {
		return c
	}
	return cmp.Compare(p.Col, q.Col)
}

// Error is one problem found in a flow file: what is wrong (Msg) and where (Pos).
// Loading reports them inside an Errors value; use errors.As to get at either.
type Error struct {
	Pos Pos
	Msg string
}

// Error formats e as "file:line:col: msg".
func (e *Error) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// Errors is every problem found while loading one or more flow files, sorted by
// position. Parse, Load, LoadFS and LoadDir return it (as their error) instead of
// stopping at the first problem, so an author fixes a file in one pass.
//
// A returned Errors is never empty. It unwraps to its elements, so errors.As with an
// *Error target finds the first one.
type Errors []*Error

// Error lists every problem, one "file:line:col: msg" per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the elements of es, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted returns es sorted by position (stable, so problems at one place keep the
// order they were found in) with exact repeats removed, or nil if es is empty.
// Repeats happen when several nodes share one anchored YAML mapping.
func (es Errors) sorted() error {
	if len(es) == 0 {
		return nil
	}
	seen := make(map[Error]bool, len(es))
	out := make(Errors, 0, len(es))
	for _, e := range es {
		if !seen[*e] {
			seen[*e] = true
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b *Error) int { return a.Pos.compare(b.Pos) })
	return out
}

// maxErrors caps the problems reported for one file. A file with more is not a flow
// with mistakes but something else (or one anchored mistake used everywhere); past
// the cap more messages help nobody and only cost time.
const maxErrors = 100

// reporter collects the problems of one file.
type reporter struct {
	file    string
	errs    Errors
	dropped int // problems found beyond maxErrors
	// hook decodes field types that need more than the YAML (expressions, templates,
	// prompts); it reports whether it handled fv. nil: none.
	hook func(fv reflect.Value, v *yaml.Node, prefix, path string, f structField) bool
}

// pos is the position of YAML node n in the file being read.
func (r *reporter) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: r.file}
	}
	return Pos{File: r.file, Line: n.Line, Col: n.Column}
}

// errorf records a problem at YAML node n.
func (r *reporter) errorf(n *yaml.Node, format string, args ...any) {
	r.errorAt(r.pos(n), format, args...)
}

// errorAt records a problem at p.
func (r *reporter) errorAt(p Pos, format string, args ...any) {
	if len(r.errs) >= maxErrors {
		r.dropped++
		return
	}
	r.errs = append(r.errs, &Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// err returns the problems found, sorted, or nil. Past maxErrors a last entry,
// at the position of the last one shown, says how many more there were.
func (r *reporter) err() error {
	err := r.errs.sorted()
	if err == nil || r.dropped == 0 {
		return err
	}
	es := err.(Errors)
	return append(es, &Error{Pos: es[len(es)-1].Pos, Msg: fmt.Sprintf("too many errors: %d more not shown; fix these first", r.dropped)})
}

// suggest returns " (did you mean X?)" when one of the candidates is close enough to
// word to be a likely typo, else "". Close means an edit distance of at most a
// quarter of the candidate's length plus one, after folding case and '-' to '_'.
func suggest(word string, candidates []string) string {
	const maxLen = 64 // longer words are not typos; keeps the quadratic distance cheap
	if word == "" || len(word) > maxLen {
		return ""
	}
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	w := norm(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == word || len(c) > maxLen {
			continue
		}
		limit := len(c)/4 + 1
		if bestDist >= 0 {
			limit = min(limit, bestDist-1)
		}
		if d := editDistance(w, norm(c), limit); d <= limit {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// didYouMean formats as suggest(word, candidates). Passed to errorf instead of a
// string, it is only computed when the message is built, not past maxErrors.
type didYouMean struct {
	word       string
	candidates []string
}

func (d didYouMean) String() string { return suggest(d.word, d.candidates) }

// didYouMeanOr formats as didYouMean or, when no candidate is close, as
// " (list a, b)" to show every choice; list introduces them ("outcomes are").
type didYouMeanOr struct {
	word       string
	candidates []string
	list       string
}

func (d didYouMeanOr) String() string {
	if len(d.candidates) == 0 {
		return " (there are none)"
	}
	if s := suggest(d.word, d.candidates); s != "" {
		return s
	}
	return " (" + d.list + " " + strings.Join(d.candidates, ", ") + ")"
}

// editDistance is the Levenshtein distance between a and b, counted in bytes, or
// any number above limit once it is known to exceed it.
func editDistance(a, b string, limit int) int {
	if len(a)-len(b) > limit || len(b)-len(a) > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quote renders a YAML value for a message: quoted, and shortened if long.
func quote(s string) string {
	const limit = 40
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return strconv.Quote(s)
}
