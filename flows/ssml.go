package flows

// The SSML subset prompts may use, checked when the flow loads so that a typo in a
// tag is a load error, not a prompt the synthesizer reads out letter by letter.
// Element and attribute names follow SSML 1.1 (W3C, 2010), sections 3.1.2 (lang),
// 3.1.7 and 3.1.8 (p, s), 3.1.9 (say-as), 3.2.1 (voice), 3.2.3 (break), 3.2.4
// (prosody); say-as values follow the W3C say-as Note (2005).

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// ssmlElement describes one element of the subset.
type ssmlElement struct {
	empty    bool     // holds no content (<break/>)
	textOnly bool     // holds text only, no elements (say-as)
	required []string // attributes it must have
	attrs    map[string]func(v string, c *ssmlChecker) string
	anyOf    []string // at least one of these attributes (prosody)
}

var (
	breakTimeRE = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)(ms|s)$`)
	rateRE      = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?%$`)
	volumeRE    = regexp.MustCompile(`^[+-][0-9]+(\.[0-9]+)?dB$`)
	langCodeRE  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
)

// maxBreak bounds <break time>: longer silences are mistakes (use pause).
const maxBreak = 10 * time.Second

func oneOf(values ...string) func(string, *ssmlChecker) string {
	return func(v string, _ *ssmlChecker) string {
		if slices.Contains(values, v) {
			return ""
		}
		return "must be one of " + strings.Join(values, ", ") + didYouMean{v, values}.String()
	}
}

var sayAsFormats = map[string][]string{
	"date": {"mdy", "dmy", "ymd", "md", "dm", "ym", "my", "d", "m", "y"},
	"time": {"hms12", "hms24"},
}

var ssmlElements = map[string]*ssmlElement{
	"break": {empty: true, attrs: map[string]func(string, *ssmlChecker) string{
		"time": func(v string, _ *ssmlChecker) string {
			if !breakTimeRE.MatchString(v) {
				return "must be a time such as 500ms or 2s"
			}
			if d, err := time.ParseDuration(v); err != nil || d > maxBreak {
				return "must be at most " + maxBreak.String()
			}
			return ""
		},
		"strength": oneOf("none", "x-weak", "weak", "medium", "strong", "x-strong"),
	}},
	"say-as": {textOnly: true, required: []string{"interpret-as"}, attrs: map[string]func(string, *ssmlChecker) string{
		"interpret-as": oneOf("digits", "characters", "date", "time", "currency", "telephone", "cardinal", "ordinal"),
		"format":       func(string, *ssmlChecker) string { return "" }, // checked against interpret-as
	}},
	"lang": {required: []string{"xml:lang"}, attrs: map[string]func(string, *ssmlChecker) string{
		"xml:lang": func(v string, c *ssmlChecker) string {
			if !langCodeRE.MatchString(v) {
				return "must be a language code such as en or zh"
			}
			if c.langs != nil && !slices.Contains(c.langs, v) {
				return "names language " + quote(v) + ", which the flow does not declare (languages: " + strings.Join(c.langs, ", ") + ")"
			}
			return ""
		},
	}},
	"voice": {required: []string{"name"}, attrs: map[string]func(string, *ssmlChecker) string{
		"name": func(v string, _ *ssmlChecker) string {
			if !voiceRE.MatchString(v) {
				return "must be a voice name such as en-us or cmn"
			}
			return ""
		},
	}},
	"prosody": {anyOf: []string{"rate", "volume"}, attrs: map[string]func(string, *ssmlChecker) string{
		"rate": func(v string, _ *ssmlChecker) string {
			if rateRE.MatchString(v) || slices.Contains([]string{"x-slow", "slow", "medium", "fast", "x-fast", "default"}, v) {
				return ""
			}
			return "must be x-slow, slow, medium, fast, x-fast, default or a percentage such as 90%"
		},
		"volume": func(v string, _ *ssmlChecker) string {
			if volumeRE.MatchString(v) || slices.Contains([]string{"silent", "x-soft", "soft", "medium", "loud", "x-loud", "default"}, v) {
				return ""
			}
			return "must be silent, x-soft, soft, medium, loud, x-loud, default or a change such as +6dB"
		},
	}},
	"p": {},
	"s": {},
}

// ssmlNames lists the elements of the subset, for messages.
func ssmlNames() []string {
	out := make([]string, 0, len(ssmlElements))
	for n := range ssmlElements {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// exprMark stands for the text of a {{ }} interpolation while the SSML of a template
// is checked: interpolated values are text, escaped when rendered.
const exprMark = '\uE000'

// ssmlError is a problem in a prompt's markup, at a rune offset of its text.
type ssmlError struct {
	at  int
	msg string
}

// ssmlChecker checks the markup of one text.
type ssmlChecker struct {
	src   []rune
	langs []string // declared languages; nil: any language code
	errs  []ssmlError
	tags  bool // the text has at least one element
	// unknown holds the unknown elements reported, so their closing tags are not.
	unknown map[string]bool
}

func (c *ssmlChecker) errorf(at int, format string, args ...any) {
	if len(c.errs) < 10 { // one broken tag tends to cascade
		c.errs = append(c.errs, ssmlError{at, fmt.Sprintf(format, args...)})
	}
}

type openElement struct {
	name string
	at   int
}

// checkSSML checks the markup of text (runes, with exprMark where interpolations
// are) and reports whether it has any element.
func checkSSML(text []rune, langs []string) (tags bool, errs []ssmlError) {
	c := &ssmlChecker{src: text, langs: langs}
	var stack []openElement
	for i := 0; i < len(text); {
		switch text[i] {
		case '<':
			i = c.tag(i, &stack)
		case '&':
			i = c.entity(i)
		default:
			i++
		}
	}
	for j := len(stack) - 1; j >= 0; j-- {
		c.errorf(stack[j].at, "SSML element <%s> is not closed (add </%s>)", stack[j].name, stack[j].name)
	}
	return c.tags, c.errs
}

// entity checks the character reference at i. A & that starts none is taken as a
// literal & (escaped when the prompt is rendered), so "AT&T" needs no escaping.
func (c *ssmlChecker) entity(i int) int {
	j := i + 1
	for j < len(c.src) && j-i < 12 && (unicode.IsLetter(c.src[j]) || unicode.IsDigit(c.src[j]) || c.src[j] == '#') {
		j++
	}
	if j < len(c.src) && c.src[j] == ';' {
		name := string(c.src[i+1 : j])
		if _, ok := xmlEntity(name); !ok {
			c.errorf(i, "unknown character reference &%s; (use &amp; &lt; &gt; &quot; &apos; or &#N;)", name)
		}
		return j + 1
	}
	return i + 1
}

// xmlEntity decodes an XML character reference name (amp, #65, #x41).
func xmlEntity(name string) (string, bool) {
	switch name {
	case "amp":
		return "&", true
	case "lt":
		return "<", true
	case "gt":
		return ">", true
	case "quot":
		return `"`, true
	case "apos":
		return "'", true
	}
	var r rune
	var err error
	switch {
	case strings.HasPrefix(name, "#x") || strings.HasPrefix(name, "#X"):
		_, err = fmt.Sscanf(name[2:], "%x", &r)
	case strings.HasPrefix(name, "#"):
		_, err = fmt.Sscanf(name[1:], "%d", &r)
	default:
		return "", false
	}
	if err != nil || r <= 0 || r > unicode.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
		return "", false
	}
	return string(r), true
}

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == ':' || r == '_'
}

// tag checks the tag starting at i and returns the offset after it.
func (c *ssmlChecker) tag(i int, stack *[]openElement) int {
	src := c.src
	end := i + 1
	for end < len(src) && src[end] != '>' && src[end] != '<' {
		end++
	}
	if end >= len(src) || src[end] != '>' {
		c.errorf(i, `"<" does not start an SSML tag; write &lt; for a literal <`)
		return i + 1
	}
	c.tags = true
	if slices.Contains(src[i:end], exprMark) {
		c.errorf(i, "{{ }} cannot be used inside an SSML tag")
		return end + 1
	}
	body := src[i+1 : end]
	closing := len(body) > 0 && body[0] == '/'
	if closing {
		body = body[1:]
	}
	n := 0
	for n < len(body) && isNameRune(body[n]) {
		n++
	}
	name := string(body[:n])
	el := ssmlElements[name]
	switch {
	case name == "":
		c.errorf(i, `"<" does not start an SSML tag; write &lt; for a literal <`)
		return end + 1
	case el == nil:
		if !closing || !c.unknown[name] {
			c.errorf(i, "unknown SSML element <%s>%s (prompts may use %s)", name, didYouMean{name, ssmlNames()}, strings.Join(ssmlNames(), ", "))
		}
		if c.unknown == nil {
			c.unknown = map[string]bool{}
		}
		c.unknown[name] = true
		return end + 1
	}
	if closing {
		if strings.TrimSpace(string(body[n:])) != "" {
			c.errorf(i, "malformed closing tag </%s>", name)
		}
		switch top := len(*stack) - 1; {
		case top < 0:
			c.errorf(i, "closing tag </%s> has no matching <%s>", name, name)
		case (*stack)[top].name != name:
			c.errorf(i, "closing tag </%s> does not match the open <%s>; close elements in reverse order", name, (*stack)[top].name)
		default:
			*stack = (*stack)[:top]
		}
		return end + 1
	}
	rest := body[n:]
	selfClosing := len(rest) > 0 && rest[len(rest)-1] == '/'
	if selfClosing {
		rest = rest[:len(rest)-1]
	}
	attrs := c.attributes(i, i+1+n, rest)
	if attrs == nil {
		return end + 1
	}
	c.checkElement(i, name, el, attrs, *stack)
	if !selfClosing && !el.empty {
		*stack = append(*stack, openElement{name, i})
	} else if !selfClosing && el.empty {
		// <break></break> is well-formed XML too: accept a closing tag right after.
		if j := end + 1; j+len("</"+name+">") <= len(src) && string(src[j:j+len("</"+name+">")]) == "</"+name+">" {
			return j + len("</"+name+">")
		}
		c.errorf(i, "<%s> holds no content; write <%s/>", name, name)
	}
	return end + 1
}

type ssmlAttr struct {
	name, value string
	at          int
}

// attributes parses the attributes in rest (which starts at offset base); tagAt is
// where the tag starts. It returns nil after reporting malformed syntax.
func (c *ssmlChecker) attributes(tagAt, base int, rest []rune) []ssmlAttr {
	out := []ssmlAttr{}
	for j := 0; j < len(rest); {
		if unicode.IsSpace(rest[j]) {
			j++
			continue
		}
		if j == 0 {
			c.errorf(tagAt, "malformed SSML tag: put a space between the element name and its attributes")
			return nil
		}
		k := j
		for k < len(rest) && isNameRune(rest[k]) {
			k++
		}
		name := string(rest[j:k])
		if name == "" || k >= len(rest) || rest[k] != '=' || k+1 >= len(rest) || (rest[k+1] != '"' && rest[k+1] != '\'') {
			c.errorf(base+j, `malformed SSML attribute: write name="value"`)
			return nil
		}
		q := rest[k+1]
		v := k + 2
		for v < len(rest) && rest[v] != q {
			v++
		}
		if v >= len(rest) {
			c.errorf(base+j, "SSML attribute %s: value has no closing quote", name)
			return nil
		}
		for _, a := range out {
			if a.name == name {
				c.errorf(base+j, "SSML attribute %s is given twice", name)
			}
		}
		out = append(out, ssmlAttr{name, string(rest[k+2 : v]), base + j})
		j = v + 1
	}
	return out
}

// checkElement checks the attributes and placement of element name.
func (c *ssmlChecker) checkElement(at int, name string, el *ssmlElement, attrs []ssmlAttr, stack []openElement) {
	for _, open := range stack {
		switch {
		case ssmlElements[open.name].textOnly:
			c.errorf(at, "<%s> cannot be inside <%s>, which holds text only", name, open.name)
		case name == "p" && (open.name == "p" || open.name == "s"):
			c.errorf(at, "<p> cannot be inside <%s>", open.name)
		case name == "s" && open.name == "s":
			c.errorf(at, "<s> cannot be inside <s>")
		}
	}
	allowed := make([]string, 0, len(el.attrs))
	for a := range el.attrs {
		allowed = append(allowed, a)
	}
	slices.Sort(allowed)
	have := map[string]string{}
	for _, a := range attrs {
		check, ok := el.attrs[a.name]
		if !ok {
			if len(allowed) == 0 {
				c.errorf(a.at, "SSML element <%s> takes no attributes, got %s", name, a.name)
			} else {
				c.errorf(a.at, "unknown attribute %s of <%s>%s (it takes %s)", a.name, name, didYouMean{a.name, allowed}, strings.Join(allowed, ", "))
			}
			continue
		}
		have[a.name] = a.value
		if msg := check(a.value, c); msg != "" {
			c.errorf(a.at, "<%s %s=%q>: %s", name, a.name, a.value, msg)
		}
	}
	for _, r := range el.required {
		if _, ok := have[r]; !ok {
			c.errorf(at, "SSML element <%s> requires the attribute %s", name, r)
		}
	}
	if len(el.anyOf) > 0 && !slices.ContainsFunc(el.anyOf, func(a string) bool { _, ok := have[a]; return ok }) {
		c.errorf(at, "SSML element <%s> needs %s", name, strings.Join(el.anyOf, " or "))
	}
	if f, ok := have["format"]; ok && name == "say-as" {
		formats := sayAsFormats[have["interpret-as"]]
		switch {
		case formats == nil:
			c.errorf(at, `<say-as format=%q>: format applies only to interpret-as="date" or "time"`, f)
		case !slices.Contains(formats, f):
			c.errorf(at, `<say-as format=%q>: for %s, format must be one of %s`, f, have["interpret-as"], strings.Join(formats, ", "))
		}
	}
}

// stripSSML removes the tags of checked markup and decodes character references,
// for printing a prompt as text. Paragraph and sentence ends and breaks become spaces.
func stripSSML(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			tag := s[i : i+end+1]
			if strings.HasPrefix(tag, "<break") || tag == "</p>" || tag == "</s>" {
				b.WriteByte(' ')
			}
			i += end + 1
		case '&':
			if end := strings.IndexByte(s[i:], ';'); end > 0 && end < 12 {
				if v, ok := xmlEntity(s[i+1 : i+end]); ok {
					b.WriteString(v)
					i += end + 1
					continue
				}
			}
			b.WriteByte('&')
			i++
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// escapeXML escapes text for SSML content.
var escapeXML = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace

// escapeAmp escapes the & that start no character reference in checked markup.
func escapeAmp(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '&' {
			if end := strings.IndexByte(s[i:], ';'); end > 0 && end < 12 {
				if _, ok := xmlEntity(s[i+1 : i+end]); ok {
					b.WriteByte('&')
					continue
				}
			}
			b.WriteString("&amp;")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
