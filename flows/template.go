package flows

// Text templates: prompt text, URLs, summaries, with {{ expression }} interpolation
// and, in prompts, SSML markup. Positions of problems inside a YAML string are
// mapped back to the file.

import (
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Template is text with {{ expression }} interpolations, compiled at load. In prompt
// text it may also hold the SSML subset of the package documentation, checked at load.
type Template struct {
	Src  string // as written
	Pos  Pos    // where it is written
	SSML bool   // the text has SSML elements: speak it with an SSML-capable synthesizer

	parts []tplPart
}

// tplPart is a literal piece of a template or one interpolation.
type tplPart struct {
	text string // literal text; for SSML templates, a bare & already escaped
	expr *Expr
}

// Static reports whether t has no interpolation: its text is the same for every call.
func (t *Template) Static() bool {
	if t == nil {
		return true
	}
	for _, p := range t.parts {
		if p.expr != nil {
			return false
		}
	}
	return true
}

// Exprs returns the interpolated expressions of t, in order.
func (t *Template) Exprs() []*Expr {
	if t == nil {
		return nil
	}
	var out []*Expr
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	return out
}

// Render returns t with each {{ expression }} replaced by its value (see Expr.Eval)
// formatted as text: numbers without needless decimals, times in RFC 3339, nil as
// nothing. When t has SSML, the markup is kept and the values are escaped, so a
// value holding < or & cannot break it: the result is for an SSML synthesizer.
func (t *Template) Render(vars map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	return t.render(vars, t.SSML)
}

// Text returns t rendered like Render but as plain text: without SSML tags and with
// character references decoded, for printing (flow simulate) or a synthesizer
// without SSML.
func (t *Template) Text(vars map[string]any) (string, error) {
	if t == nil || !t.SSML {
		return t.render(vars, false)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.expr.Eval(vars)
		if err != nil {
			return "", err
		}
		b.WriteString(escapeXML(formatValue(v)))
	}
	return stripSSML(b.String()), nil
}

func (t *Template) render(vars map[string]any, escape bool) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.expr.Eval(vars)
		if err != nil {
			return "", err
		}
		s := formatValue(v)
		if escape {
			s = escapeXML(s)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// String returns the template as written.
func (t *Template) String() string {
	if t == nil {
		return ""
	}
	return t.Src
}

// tplExpr is an interpolation found while splitting a template: its source and
// the rune offset where the source starts in the template text.
type tplExpr struct {
	src string
	at  int
}

// splitTemplate splits src into literal parts and interpolations. Problems are
// returned with rune offsets.
func splitTemplate(src string) (lits []string, exprs []tplExpr, problems []exprError) {
	rest, off := src, 0 // off: rune offset of rest in src
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if j := strings.Index(rest, "}}"); j >= 0 {
				problems = append(problems, exprError{off + utf8.RuneCountInString(rest[:j]), `"}}" without "{{"; write {{ "}}" }} for literal braces`})
			}
			lits = append(lits, rest)
			return lits, exprs, problems
		}
		lits = append(lits, rest[:i])
		open := off + utf8.RuneCountInString(rest[:i])
		body := rest[i+2:]
		j := strings.Index(body, "}}")
		if j < 0 {
			problems = append(problems, exprError{open, `"{{" is not closed by "}}"`})
			lits[len(lits)-1] += rest[i:]
			return lits, exprs, problems
		}
		e := body[:j]
		if strings.TrimSpace(e) == "" {
			problems = append(problems, exprError{open, "empty {{ }}: put an expression inside, such as {{ balance }}"})
		}
		exprs = append(exprs, tplExpr{e, open + 2})
		rest = body[j+2:]
		off = open + 2 + utf8.RuneCountInString(e) + 2
	}
}

// maskTemplate returns the runes of src with every interpolation (braces included)
// replaced by exprMark, for the SSML check.
func maskTemplate(src string, exprs []tplExpr) []rune {
	rs := []rune(src)
	for _, e := range exprs {
		end := min(e.at+utf8.RuneCountInString(e.src)+2, len(rs))
		for k := max(e.at-2, 0); k < end; k++ {
			rs[k] = exprMark
		}
	}
	return rs
}

// lineStarts returns the byte offset at which each line of data starts.
func lineStarts(data []byte) []int {
	out := []int{0}
	for i, b := range data {
		if b == '\n' {
			out = append(out, i+1)
		}
	}
	return out
}

// valuePos maps rune offset off of the value of scalar node n to its place in the
// file. YAML escapes and line folding make the value differ from the text written,
// so the value is matched against the text: each value character is looked for a
// little ahead, blanks match blanks, and characters not found (written as escapes)
// leave the place where it was. Positions are exact for plain and quoted scalars
// without escapes and close for the others.
func (p *parser) valuePos(n *yaml.Node, off int) Pos {
	pos := p.pos(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(p.lines) || off <= 0 {
		return pos
	}
	data := p.data
	b := p.lines[n.Line-1]
	for c := 1; c < n.Column && b < len(data) && data[b] != '\n'; c++ {
		_, size := utf8.DecodeRune(data[b:])
		b += size
	}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		if n.Line >= len(p.lines) {
			return pos
		}
		b = p.lines[n.Line]
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		b++
	}
	blank := func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }
	const window = 32 // runes looked ahead for one value character
	i := 0
	for _, want := range n.Value {
		if i > off {
			break
		}
		found := -1
		for k, at := 0, b; k < window && at < len(data); k++ {
			r, size := utf8.DecodeRune(data[at:])
			if r == want || blank(r) && blank(want) {
				found = at
				break
			}
			at += size
		}
		if found >= 0 {
			if i == off {
				b = found
				break
			}
			_, size := utf8.DecodeRune(data[found:])
			b = found + size
		}
		i++
	}
	line := sort.Search(len(p.lines), func(k int) bool { return p.lines[k] > b }) // 1-based line
	if line < 1 {
		return pos
	}
	return Pos{File: p.file, Line: line, Col: utf8.RuneCount(data[p.lines[line-1]:b]) + 1}
}

// template decodes scalar v as a template; prefix and path name it in messages.
// ssml allows SSML markup (prompt text). Interpolations are compiled later, by
// compileAll, when every variable is known. It returns nil after reporting v.
func (p *parser) template(v *yaml.Node, prefix, path string, ssml bool) *Template {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, "%s%s must be text, got %s", prefix, path, describe(v))
		return nil
	}
	src := v.Value
	if isNull(v) {
		src = ""
	}
	t := &Template{Src: src, Pos: p.pos(v)}
	lits, exprs, problems := splitTemplate(src)
	for _, pr := range problems {
		p.errorAt(p.valuePos(v, pr.at), "%s%s: %s", prefix, path, pr.msg)
	}
	if len(problems) > 0 {
		return nil
	}
	if ssml {
		var errs []ssmlError
		t.SSML, errs = checkSSML(maskTemplate(src, exprs), p.flow.languageCodes())
		for _, e := range errs {
			p.errorAt(p.valuePos(v, e.at), "%s%s: %s", prefix, path, e.msg)
		}
	} else if strings.Contains(src, "<") && strings.Contains(src, ">") && p.noSSMLHint(src) {
		p.errorf(v, "%s%s cannot hold SSML; only prompt text can", prefix, path)
	}
	for k, lit := range lits {
		if t.SSML {
			lit = escapeAmp(lit)
		}
		if lit != "" {
			t.parts = append(t.parts, tplPart{text: lit})
		}
		if k < len(exprs) {
			e := &Expr{Src: exprs[k].src}
			t.parts = append(t.parts, tplPart{expr: e})
			p.pending = append(p.pending, &pendingExpr{e: e, node: v, at: exprs[k].at, prefix: prefix, path: path})
		}
	}
	return t
}

// noSSMLHint reports whether text looks like it holds an SSML element.
func (p *parser) noSSMLHint(src string) bool {
	for name := range ssmlElements {
		if strings.Contains(src, "<"+name) {
			return true
		}
	}
	return false
}
