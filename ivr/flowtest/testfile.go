package flowtest

// Reading conversation test files: YAML with every problem reported at its
// file:line:col, as the flow loader reports flows.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
)

// DefaultStart is the clock at the start of a test case that sets no time: a
// Tuesday morning (noon in Paris), inside the sample flows' business hours, fixed so
// that a test passes on any day it runs.
var DefaultStart = time.Date(2026, time.June, 2, 10, 0, 0, 0, time.UTC)

// TestFile is a conversation test file: the flow it tests and its cases. The format
// is described in the package documentation.
type TestFile struct {
	Path    string    // as given to LoadTestFile or ParseTestFile
	Flow    string    // the flow file, resolved against the test file's directory
	FlowPos flows.Pos // where flow is written
	Env     string    // the environment file, resolved likewise; "" for the flow's own
	EnvPos  flows.Pos
	Cases   []*Case
	setup   setup
}

// Case is one conversation of a test file.
type Case struct {
	Name  string
	Pos   flows.Pos // where the case starts
	setup setup     // the file's, overridden by the case's
	steps []*step
}

// setup is what a case's call starts with.
type setup struct {
	caller, called string
	start          time.Time
	language       string
	queues         map[string]ivr.QueueStatus
	mocks          map[string]map[string]*Mock
	pos            map[string]flows.Pos // of names checked against the flow: language, queues.X, http_mocks.X
}

// LoadTestFile reads and parses the test file at path (see ParseTestFile).
func LoadTestFile(path string) (*TestFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flowtest: %w", err)
	}
	return ParseTestFile(path, data)
}

// ParseTestFile parses a test file's content; file names it in positions and is the
// directory flow and env are relative to. Every problem is reported, as
// flows.Errors; it never panics.
func ParseTestFile(file string, data []byte) (*TestFile, error) {
	p := &tparser{file: file}
	tf := p.parse(data)
	if len(p.errs) > 0 {
		return nil, p.errors()
	}
	return tf, nil
}

// tparser collects the problems of one test file.
type tparser struct {
	file string
	errs flows.Errors
}

func (p *tparser) pos(n *yaml.Node) flows.Pos {
	if n == nil {
		return flows.Pos{File: p.file}
	}
	return flows.Pos{File: p.file, Line: n.Line, Col: n.Column}
}

func (p *tparser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &flows.Error{Pos: p.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// errors returns the problems sorted by position.
func (p *tparser) errors() flows.Errors {
	slices.SortStableFunc(p.errs, func(a, b *flows.Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return p.errs
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

var (
	fileKeys = []string{"flow", "env", "shared", "cases", "caller", "called", "time", "language", "queues", "http_mocks"}
	caseKeys = []string{"name", "steps", "caller", "called", "time", "language", "queues", "http_mocks"}
)

func (p *tparser) parse(data []byte) *TestFile {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		p.syntax(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "a test file holds one YAML document; remove the second")
	} else if !errors.Is(err, io.EOF) {
		p.syntax(err)
	}
	doc := deref(&root)
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = deref(doc.Content[0])
	}
	fields := p.fields(doc, "a test file", fileKeys)
	if fields == nil {
		return nil
	}
	tf := &TestFile{Path: p.file}
	dir := filepath.Dir(p.file)
	if n := fields["flow"]; n == nil {
		p.errorf(doc, "missing flow: the flow file this file tests, relative to it")
	} else if s, ok := p.str(n, "flow"); ok {
		tf.Flow, tf.FlowPos = filepath.Join(dir, s), p.pos(n)
	}
	if n := fields["env"]; n != nil {
		if s, ok := p.str(n, "env"); ok {
			tf.Env, tf.EnvPos = filepath.Join(dir, s), p.pos(n)
		}
	}
	tf.setup = p.setup(fields, setup{start: DefaultStart})
	n := fields["cases"]
	switch {
	case n == nil:
		p.errorf(doc, "missing cases: the conversations to run")
	case n.Kind != yaml.SequenceNode:
		p.errorf(n, "cases must be a list of cases, got %s", describe(n))
	default:
		names := map[string]flows.Pos{}
		for _, c := range n.Content {
			if cs := p.testCase(deref(c), tf.setup); cs != nil {
				if at, dup := names[cs.Name]; dup {
					p.errorf(c, "case %q is already defined at %s", cs.Name, at)
				}
				names[cs.Name] = cs.Pos
				tf.Cases = append(tf.Cases, cs)
			}
		}
		if len(n.Content) == 0 {
			p.errorf(n, "cases is empty")
		}
	}
	return tf
}

// syntax reports a YAML syntax error at its line, as the flow loader does.
func (p *tparser) syntax(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.errs = append(p.errs, &flows.Error{Pos: flows.Pos{File: p.file, Line: line}, Msg: "YAML: " + msg})
}

func (p *tparser) testCase(n *yaml.Node, file setup) *Case {
	fields := p.fields(n, "a case", caseKeys)
	if fields == nil {
		return nil
	}
	c := &Case{Pos: p.pos(n)}
	if v := fields["name"]; v == nil {
		p.errorf(n, "missing name: what the case checks, shown in reports")
	} else {
		c.Name, _ = p.str(v, "name")
	}
	c.setup = p.setup(fields, file)
	v := fields["steps"]
	switch {
	case v == nil:
		p.errorf(n, "case %q: missing steps", c.Name)
	case v.Kind != yaml.SequenceNode:
		p.errorf(v, "steps must be a list, got %s", describe(v))
	default:
		p.steps(v, c, 0)
		if len(c.steps) == 0 {
			p.errorf(v, "case %q has no steps", c.Name)
		}
	}
	return c
}

// steps reads a list of steps; a step that is itself a list (an alias of steps
// shared through the shared key) is read in place.
func (p *tparser) steps(n *yaml.Node, c *Case, depth int) {
	for _, s := range n.Content {
		s = deref(s)
		if s.Kind == yaml.SequenceNode && depth < 8 {
			p.steps(s, c, depth+1)
			continue
		}
		if st := p.step(s); st != nil {
			c.steps = append(c.steps, st)
		}
	}
}

// stepNames lists the step keys, sorted, for messages.
func stepNames() []string { return slices.Sorted(maps.Keys(stepKeys)) }

func (p *tparser) step(n *yaml.Node) *step {
	var key string
	var v *yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode && (n.Value == "hangup" || n.Value == "timeout"):
		key = n.Value
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		key, v = n.Content[0].Value, deref(n.Content[1])
	case n.Kind == yaml.MappingNode:
		p.errorf(n, "a step has exactly one key (%s); write each on its own list item", strings.Join(stepNames(), ", "))
		return nil
	default:
		p.errorf(n, "a step is a mapping such as press: \"1\", or hangup or timeout; got %s", describe(n))
		return nil
	}
	kind, ok := stepKeys[key]
	if !ok {
		p.errorf(n, "unknown step %q%s", key, suggest(key, stepNames()))
		return nil
	}
	st := &step{kind: kind, pos: p.pos(n), src: key}
	if kind == stepHangup || kind == stepTimeout {
		if v != nil && !(v.Kind == yaml.ScalarNode && v.Value == "") {
			p.errorf(v, "%s takes no value", key)
		}
		return st
	}
	st.src = key + ": " + compact(v)
	if p.stepValue(st, key, v) {
		return st
	}
	return nil
}

// stepValue reads the value of step st (key: v).
func (p *tparser) stepValue(st *step, key string, v *yaml.Node) bool {
	switch st.kind {
	case stepHangup, stepTimeout:
		return true
	case stepPress:
		s, ok := p.str(v, key)
		if ok && (s == "" || strings.Trim(s, "0123456789*#") != "") {
			p.errorf(v, "press: %q: keys are 0-9, * and # (quote them: press: \"#\")", s)
			return false
		}
		st.keys = s
		return ok
	case stepSay:
		s, ok := p.str(v, key)
		if ok && strings.TrimSpace(s) == "" {
			p.errorf(v, "say: what the caller says is empty")
			return false
		}
		st.text = s
		return ok
	case stepWait:
		d, ok := p.duration(v, key)
		st.wait = d
		return ok
	case stepQueue, stepTransfer:
		s, ok := p.str(v, key)
		allowed := queueOutcomes
		if st.kind == stepTransfer {
			allowed = transferOutcomes
		}
		if ok && !slices.Contains(allowed, flows.Outcome(s)) {
			p.errorf(v, "%s: %q is not an outcome (%s)", key, s, joinOutcomes(allowed))
			return false
		}
		st.outcome = flows.Outcome(s)
		return ok
	case stepExpectPrompt:
		st.match = p.textMatch(v, key)
		return st.match != nil
	case stepExpectNode:
		s, ok := p.str(v, key)
		st.node = s
		return ok
	case stepExpectVar:
		return p.expectVars(st, v)
	case stepExpectQueue:
		st.queue = p.expectQueue(v)
		return st.queue != nil
	case stepExpectTransfer:
		st.xfer = p.expectTransfer(v)
		return st.xfer != nil
	case stepExpectTicket:
		st.ticket = p.expectTicket(v)
		return st.ticket != nil
	case stepExpectDisposition:
		s, ok := p.str(v, key)
		if ok && !slices.Contains(dispositions, s) {
			p.errorf(v, "expect_disposition: %q is not a disposition (%s)", s, strings.Join(dispositions, ", "))
			return false
		}
		st.disp = s
		return ok
	case stepExpectPath:
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			p.errorf(v, "expect_path is a list of node names (... for any nodes), got %s", describe(v))
			return false
		}
		for _, item := range v.Content {
			if s, ok := p.str(deref(item), "expect_path"); ok {
				st.path = append(st.path, pathItem{node: s, pos: p.pos(item)})
			}
		}
		return len(st.path) == len(v.Content)
	}
	return false
}

var dispositions = []string{
	flows.DispositionResolved, flows.DispositionUnresolved, flows.DispositionTransferred,
	flows.DispositionAbandoned, flows.DispositionError,
}

func (p *tparser) expectVars(st *step, v *yaml.Node) bool {
	if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		p.errorf(v, "expect_var is a mapping from variable to value, such as {balance: 42.5}, got %s", describe(v))
		return false
	}
	ok := true
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		if val.Kind != yaml.ScalarNode {
			p.errorf(val, "expect_var.%s: want a value (text, number, bool, /regexp/ or a comparison such as \"< -0.4\"), got %s", k.Value, describe(val))
			ok = false
			continue
		}
		m, err := newValueMatch(val.Value, val.ShortTag())
		if err != nil {
			p.errorf(val, "expect_var.%s: %v", k.Value, err)
			ok = false
			continue
		}
		st.vars = append(st.vars, varExpect{name: k.Value, want: m, pos: p.pos(k)})
	}
	return ok
}

func (p *tparser) expectQueue(v *yaml.Node) *queueExpect {
	if v.Kind == yaml.ScalarNode {
		s, _ := p.str(v, "expect_queue")
		return &queueExpect{name: s, pos: p.pos(v)}
	}
	f := p.fields(v, "expect_queue", []string{"name", "priority", "skills"})
	if f == nil {
		return nil
	}
	q := &queueExpect{pos: p.pos(v)}
	if n := f["name"]; n == nil {
		p.errorf(v, "expect_queue needs name")
		return nil
	} else {
		q.name, _ = p.str(n, "expect_queue.name")
		q.pos = p.pos(n)
	}
	if n := f["priority"]; n != nil {
		if i, ok := p.integer(n, "expect_queue.priority"); ok {
			q.priority = &i
		}
	}
	if n := f["skills"]; n != nil {
		if n.Kind != yaml.MappingNode {
			p.errorf(n, "expect_queue.skills is a mapping from skill to level, got %s", describe(n))
		} else {
			q.skills = map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if lvl, ok := p.integer(deref(n.Content[i+1]), "expect_queue.skills."+n.Content[i].Value); ok {
					q.skills[n.Content[i].Value] = lvl
				}
			}
		}
	}
	return q
}

func (p *tparser) expectTransfer(v *yaml.Node) *transferExpect {
	if v.Kind == yaml.ScalarNode {
		return &transferExpect{to: p.textMatch(v, "expect_transfer")}
	}
	f := p.fields(v, "expect_transfer", []string{"to", "mode", "trunk"})
	if f == nil {
		return nil
	}
	t := &transferExpect{}
	for k, dst := range map[string]**textMatch{"to": &t.to, "mode": &t.mode, "trunk": &t.trunk} {
		if n := f[k]; n != nil {
			*dst = p.textMatch(n, "expect_transfer."+k)
		}
	}
	return t
}

func (p *tparser) expectTicket(v *yaml.Node) *ticketExpect {
	if v.Kind == yaml.ScalarNode {
		s, _ := p.str(v, "expect_ticket")
		return &ticketExpect{category: s}
	}
	f := p.fields(v, "expect_ticket", []string{"category", "priority", "summary", "fields"})
	if f == nil {
		return nil
	}
	t := &ticketExpect{}
	if n := f["category"]; n != nil {
		t.category, _ = p.str(n, "expect_ticket.category")
	}
	if n := f["priority"]; n != nil {
		t.priority, _ = p.str(n, "expect_ticket.priority")
	}
	if n := f["summary"]; n != nil {
		t.summary = p.textMatch(n, "expect_ticket.summary")
	}
	if n := f["fields"]; n != nil {
		if n.Kind != yaml.MappingNode {
			p.errorf(n, "expect_ticket.fields is a mapping from field to value, got %s", describe(n))
			return t
		}
		t.fields = map[string]valueMatch{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			val := deref(n.Content[i+1])
			m, err := newValueMatch(val.Value, val.ShortTag())
			if err != nil || val.Kind != yaml.ScalarNode {
				p.errorf(val, "expect_ticket.fields.%s: want a value", n.Content[i].Value)
				continue
			}
			t.fields[n.Content[i].Value] = m
		}
	}
	return t
}

// setup reads the setup keys among fields over base.
func (p *tparser) setup(fields map[string]*yaml.Node, base setup) setup {
	s := base
	s.pos = map[string]flows.Pos{}
	for k, v := range base.pos {
		s.pos[k] = v
	}
	if n := fields["caller"]; n != nil {
		s.caller, _ = p.str(n, "caller")
	}
	if n := fields["called"]; n != nil {
		s.called, _ = p.str(n, "called")
	}
	if n := fields["language"]; n != nil {
		s.language, _ = p.str(n, "language")
		s.pos["language"] = p.pos(n)
	}
	if n := fields["time"]; n != nil {
		if v, ok := p.str(n, "time"); ok {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				p.errorf(n, "time: %q is not an RFC 3339 time such as 2026-06-02T10:00:00+02:00", v)
			}
			s.start = t
		}
	}
	if n := fields["queues"]; n != nil {
		s.queues = p.queues(n, base.queues, s.pos)
	}
	if n := fields["http_mocks"]; n != nil {
		s.mocks = p.mocks(n, base.mocks, s.pos)
	}
	return s
}

func (p *tparser) queues(n *yaml.Node, base map[string]ivr.QueueStatus, pos map[string]flows.Pos) map[string]ivr.QueueStatus {
	out := map[string]ivr.QueueStatus{}
	for k, v := range base {
		out[k] = v
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "queues is a mapping from queue name to {waiting, wait, agents}, got %s", describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := n.Content[i].Value
		pos["queues."+name] = p.pos(n.Content[i])
		f := p.fields(deref(n.Content[i+1]), "queues."+name, []string{"waiting", "wait", "agents"})
		if f == nil {
			continue
		}
		var st ivr.QueueStatus
		if v := f["waiting"]; v != nil {
			st.Waiting, _ = p.integer(v, "queues."+name+".waiting")
		}
		if v := f["wait"]; v != nil {
			st.ExpectedWait, _ = p.duration(v, "queues."+name+".wait")
		}
		if v := f["agents"]; v != nil {
			st.AgentsAvailable, _ = p.integer(v, "queues."+name+".agents")
		}
		out[name] = st
	}
	return out
}

var mockKeyRE = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*)$`)

func (p *tparser) mocks(n *yaml.Node, base map[string]map[string]*Mock, pos map[string]flows.Pos) map[string]map[string]*Mock {
	out := map[string]map[string]*Mock{}
	for ep, m := range base {
		out[ep] = map[string]*Mock{}
		for k, v := range m {
			out[ep][k] = v
		}
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "http_mocks is a mapping from endpoint to {\"METHOD /path\": response}, got %s", describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		ep, reqs := n.Content[i].Value, deref(n.Content[i+1])
		pos["http_mocks."+ep] = p.pos(n.Content[i])
		if reqs.Kind != yaml.MappingNode {
			p.errorf(reqs, "http_mocks.%s is a mapping from \"METHOD /path\" to a response, got %s", ep, describe(reqs))
			continue
		}
		if out[ep] == nil {
			out[ep] = map[string]*Mock{}
		}
		for j := 0; j+1 < len(reqs.Content); j += 2 {
			key := reqs.Content[j]
			if !mockKeyRE.MatchString(key.Value) {
				p.errorf(key, "http_mocks.%s: %q: write a request as \"METHOD /path\" (GET, POST, PUT, PATCH, DELETE; a trailing * matches any rest)", ep, key.Value)
				continue
			}
			if m := p.mock(deref(reqs.Content[j+1]), "http_mocks."+ep+"."+key.Value); m != nil {
				out[ep][key.Value] = m
			}
		}
	}
	return out
}

func (p *tparser) mock(n *yaml.Node, what string) *Mock {
	f := p.fields(n, what, []string{"status", "body", "headers", "timeout", "error"})
	if f == nil {
		return nil
	}
	m := &Mock{Pos: p.pos(n)}
	if v := f["status"]; v != nil {
		if s, ok := p.integer(v, what+".status"); ok {
			if s < 100 || s > 599 {
				p.errorf(v, "%s.status: %d is not an HTTP status", what, s)
			}
			m.Status = s
		}
	}
	if v := f["body"]; v != nil {
		if err := v.Decode(&m.Body); err != nil {
			p.errorf(v, "%s.body: %v", what, err)
		}
	}
	if v := f["headers"]; v != nil {
		if err := v.Decode(&m.Headers); err != nil {
			p.errorf(v, "%s.headers: a mapping from header to text: %v", what, err)
		}
		for h := range m.Headers {
			if http.CanonicalHeaderKey(h) == "" || strings.ContainsAny(h, " :") {
				p.errorf(v, "%s.headers: %q is not a header name", what, h)
			}
		}
	}
	if v := f["timeout"]; v != nil {
		m.Timeout, _ = p.boolean(v, what+".timeout")
	}
	if v := f["error"]; v != nil {
		m.Error, _ = p.str(v, what+".error")
	}
	return m
}

// fields returns the values of mapping n by key, reporting a node that is not a
// mapping, duplicate keys and keys not in known (with the closest one suggested).
func (p *tparser) fields(n *yaml.Node, what string, known []string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s is a mapping (key: value), got %s", what, describe(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.errorf(k, "%s: unknown key %q%s", what, k.Value, suggestOr(k.Value, known))
			continue
		}
		out[k.Value] = deref(n.Content[i+1])
	}
	return out
}

func (p *tparser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, "%s: want text, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *tparser) integer(n *yaml.Node, what string) (int, bool) {
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		p.errorf(n, "%s: want a whole number, got %s", what, describe(n))
		return 0, false
	}
	return i, true
}

func (p *tparser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || (n.Value != "true" && n.Value != "false") {
		p.errorf(n, "%s: want true or false, got %s", what, describe(n))
		return false, false
	}
	return n.Value == "true", true
}

// duration reads a Go duration (500ms, 6s, 1m30s) or a number of seconds.
func (p *tparser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode {
		if d, err := time.ParseDuration(n.Value); err == nil && d > 0 {
			return d, true
		}
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && f > 0 && f < 1e6 {
			return time.Duration(f * float64(time.Second)), true
		}
	}
	p.errorf(n, "%s: want a duration such as 6s or 1m30s, got %s", what, describe(n))
	return 0, false
}

func (p *tparser) textMatch(n *yaml.Node, what string) *textMatch {
	s, ok := p.str(n, what)
	if !ok {
		return nil
	}
	m, err := newTextMatch(s)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return nil
	}
	return m
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// describe names a node's kind for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// compact renders a node on one line, for reports: scalars as written, mappings and
// lists in flow style.
func compact(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 || n.Value == "" {
			return strconv.Quote(n.Value)
		}
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = compact(c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yaml.MappingNode:
		var parts []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			parts = append(parts, compact(n.Content[i])+": "+compact(n.Content[i+1]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "?"
}

// suggest returns " (did you mean X?)" for the candidate closest to word, when it
// is close enough to be a likely typo.
func suggest(word string, candidates []string) string {
	best, bestDist := "", len(word)/3+2
	for _, c := range candidates {
		if d := distance(strings.ToLower(word), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || best == word {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// suggestOr is suggest, or the list of candidates when none is close.
func suggestOr(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return s
	}
	return " (known: " + strings.Join(candidates, ", ") + ")"
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
