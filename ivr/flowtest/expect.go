package flowtest

// The steps of a conversation test and the matchers its expectations use.

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
)

// stepKind is what a step of a case does.
type stepKind int

const (
	stepUnknown stepKind = iota
	// Actions of the caller (and of the simulated ACD and far end).
	stepPress
	stepSay
	stepWait
	stepTimeout
	stepHangup
	stepQueue
	stepTransfer
	// Expectations.
	stepExpectPrompt
	stepExpectNode
	stepExpectVar
	stepExpectQueue
	stepExpectTransfer
	stepExpectTicket
	stepExpectDisposition
	stepExpectPath
)

// stepKeys names the step kinds as test files write them.
var stepKeys = map[string]stepKind{
	"press": stepPress, "say": stepSay, "wait": stepWait, "timeout": stepTimeout, "hangup": stepHangup,
	"queue": stepQueue, "transfer": stepTransfer,
	"expect_prompt": stepExpectPrompt, "expect_node": stepExpectNode, "expect_var": stepExpectVar,
	"expect_queue": stepExpectQueue, "expect_transfer": stepExpectTransfer, "expect_ticket": stepExpectTicket,
	"expect_disposition": stepExpectDisposition, "expect_path": stepExpectPath,
}

// step is one step of a case.
type step struct {
	kind    stepKind
	pos     flows.Pos
	src     string // as written, for reports: press: "2"
	keys    string
	text    string
	wait    time.Duration
	outcome flows.Outcome
	match   *textMatch // expect_prompt
	node    string     // expect_node
	vars    []varExpect
	queue   *queueExpect
	xfer    *transferExpect
	ticket  *ticketExpect
	disp    string
	path    []pathItem
}

// varExpect is one variable of expect_var.
type varExpect struct {
	name string
	want valueMatch
	pos  flows.Pos
}

// pathItem is one node of expect_path; "..." stands for any nodes, none included.
type pathItem struct {
	node string
	pos  flows.Pos
}

const pathAny = "..."

type queueExpect struct {
	name     string
	priority *int
	skills   map[string]int
	pos      flows.Pos // of the name, for the check against the environment
}

type transferExpect struct {
	to, mode, trunk *textMatch
}

type ticketExpect struct {
	category, priority string
	summary            *textMatch
	fields             map[string]valueMatch
}

// textMatch matches text: /regexp/ (with a trailing i for any case), else a
// substring, in any case and spacing.
type textMatch struct {
	src string
	re  *regexp.Regexp
	sub string
}

func newTextMatch(s string) (*textMatch, error) {
	m := &textMatch{src: s}
	if len(s) >= 2 && s[0] == '/' {
		body, flags := s[1:], ""
		if i := strings.LastIndexByte(body, '/'); i >= 0 {
			body, flags = body[:i], body[i+1:]
			if flags != "" && flags != "i" {
				return nil, fmt.Errorf("regexp %s: after the closing / only i (any case) may follow", s)
			}
			if flags == "i" {
				body = "(?i)" + body
			}
			re, err := regexp.Compile(body)
			if err != nil {
				return nil, fmt.Errorf("regexp %s: %v", s, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
			m.re = re
			return m, nil
		}
	}
	m.sub = fold(s)
	return m, nil
}

func (m *textMatch) matches(s string) bool {
	if m.re != nil {
		return m.re.MatchString(s)
	}
	return strings.Contains(fold(s), m.sub)
}

func (m *textMatch) String() string {
	if m.re != nil {
		return m.src
	}
	return strconv.Quote(m.src)
}

// fold lowers s and makes its runs of white space single spaces.
func fold(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// valueMatch matches a variable's value against a YAML scalar: a number, a bool or
// null by value; text by equality with the value as a prompt would say it, or as
// /regexp/, or as a comparison with a number ("< -0.4", ">= 3").
type valueMatch struct {
	src  string
	tag  string // the YAML tag: !!str, !!int, !!float, !!bool, !!null
	text *textMatch
	op   string
	num  float64
}

var comparisonRE = regexp.MustCompile(`^(<=|>=|!=|<|>)\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)$`)

func newValueMatch(src, tag string) (valueMatch, error) {
	m := valueMatch{src: src, tag: tag}
	switch tag {
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(src, "_", ""), 64)
		if err != nil {
			i, ierr := strconv.ParseInt(src, 0, 64)
			if ierr != nil {
				return m, fmt.Errorf("%q is not a number", src)
			}
			f = float64(i)
		}
		m.num = f
	case "!!str":
		if sm := comparisonRE.FindStringSubmatch(src); sm != nil {
			m.op = sm[1]
			m.num, _ = strconv.ParseFloat(sm[2], 64)
		} else if strings.HasPrefix(src, "/") {
			t, err := newTextMatch(src)
			if err != nil {
				return m, err
			}
			m.text = t
		}
	}
	return m, nil
}

// matches reports whether v is the value wanted.
func (m valueMatch) matches(v any) bool {
	switch m.tag {
	case "!!bool":
		b, ok := v.(bool)
		return ok && strconv.FormatBool(b) == strings.ToLower(m.src)
	case "!!null":
		return v == nil || v == "" || v == 0 || v == 0.0 || v == false
	case "!!int", "!!float":
		f, ok := number(v)
		return ok && math.Abs(f-m.num) <= 1e-9*max(1, math.Abs(m.num))
	}
	if m.op != "" {
		f, ok := number(v)
		if !ok {
			return false
		}
		switch m.op {
		case "<":
			return f < m.num
		case "<=":
			return f <= m.num
		case ">":
			return f > m.num
		case ">=":
			return f >= m.num
		}
		return f != m.num
	}
	if m.text != nil {
		return m.text.matches(plain(v))
	}
	return plain(v) == m.src
}

func (m valueMatch) String() string {
	if m.tag == "!!str" && m.op == "" && m.text == nil {
		return strconv.Quote(m.src)
	}
	return m.src
}

// number returns v as a float64 when it is a number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// plain renders v as a prompt would say it: text as is, whole numbers without
// decimals.
func plain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', 0, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return formatValue(v)
}

// matchesPath reports whether path fits the pattern: equal node by node, where
// "..." stands for any run of nodes (none included).
func matchesPath(pattern []pathItem, path []string) bool {
	if len(pattern) == 0 {
		return len(path) == 0
	}
	if pattern[0].node == pathAny {
		for i := 0; i <= len(path); i++ {
			if matchesPath(pattern[1:], path[i:]) {
				return true
			}
		}
		return false
	}
	return len(path) > 0 && path[0] == pattern[0].node && matchesPath(pattern[1:], path[1:])
}

// checkQueue compares a queue request with expect_queue; "" when it fits, else
// what differs.
func (q *queueExpect) check(req *ivr.QueueRequest) string {
	var diffs []string
	if req.Name != q.name {
		diffs = append(diffs, "queue "+req.Name+", not "+q.name)
	}
	if q.priority != nil && req.Priority != *q.priority {
		diffs = append(diffs, fmt.Sprintf("priority %d, not %d", req.Priority, *q.priority))
	}
	for _, k := range slices.Sorted(maps.Keys(q.skills)) {
		if got, ok := req.Skills[k]; !ok || got != q.skills[k] {
			diffs = append(diffs, fmt.Sprintf("skill %s %d, not %d", k, got, q.skills[k]))
		}
	}
	return strings.Join(diffs, "; ")
}

func (t *transferExpect) check(req *ivr.TransferRequest) string {
	var diffs []string
	for _, f := range []struct {
		what string
		m    *textMatch
		got  string
	}{{"to", t.to, req.To}, {"mode", t.mode, req.Mode}, {"trunk", t.trunk, req.Trunk}} {
		if f.m != nil && !f.m.matches(f.got) {
			diffs = append(diffs, fmt.Sprintf("%s %q, not %s", f.what, f.got, f.m))
		}
	}
	return strings.Join(diffs, "; ")
}

func (t *ticketExpect) check(tk *Ticket) string {
	var diffs []string
	if t.category != "" && tk.Category != t.category {
		diffs = append(diffs, fmt.Sprintf("category %s, not %s", tk.Category, t.category))
	}
	if t.priority != "" && tk.Priority != t.priority {
		diffs = append(diffs, fmt.Sprintf("priority %s, not %s", tk.Priority, t.priority))
	}
	if t.summary != nil && !t.summary.matches(tk.Summary) {
		diffs = append(diffs, fmt.Sprintf("summary %q, not %s", tk.Summary, t.summary))
	}
	for _, k := range slices.Sorted(maps.Keys(t.fields)) {
		v, ok := tk.Fields[k]
		switch {
		case !ok:
			diffs = append(diffs, "no field "+k)
		case !t.fields[k].matches(v):
			diffs = append(diffs, fmt.Sprintf("field %s = %s, not %s", k, formatValue(v), t.fields[k]))
		}
	}
	return strings.Join(diffs, "; ")
}
