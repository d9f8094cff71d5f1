package acd

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Pos is a place in a config file, so an operator can jump to a problem.
type Pos struct {
	File string
	Line int // 1-based; 0 unknown
	Col  int // 1-based; 0 unknown
}

// String formats p as "file:line:col", leaving out unknown parts.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Error is one config problem and where it is.
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

// Errors is every problem found in a config, sorted by position, so it can be fixed
// in one pass. It unwraps to its elements.
type Errors []*Error

// Error lists the problems one per line.
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

// Unwrap returns the elements, for errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sorted() Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return es
}

// maxConfigErrors caps the problems listed for one file; more are counted.
const maxConfigErrors = 100

// LoadConfig reads and validates a config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// ParseConfig decodes and validates config YAML; name is used in positions. Every
// problem is reported (as Errors), not just the first: unknown keys (with the
// closest known key), duplicate keys, wrong types, values out of range, unknown
// agents and queues named by other fields, overflow cycles.
func ParseConfig(name string, data []byte) (*Config, error) {
	d := &decoder{file: name}
	c := &Config{Engine: DefaultEngine(), pos: map[string]Pos{}}
	d.cfg = c
	switch {
	case !utf8.Valid(data):
		d.errs = append(d.errs, &Error{Pos: Pos{File: name}, Msg: "file is not UTF-8"})
	default:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
			d.errs = append(d.errs, &Error{Pos: Pos{File: name, Line: yamlErrLine(err)}, Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
			break
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); err == nil {
			d.errorf(&extra, "a config file holds one YAML document")
		}
		if len(doc.Content) > 0 {
			d.top(doc.Content[0])
		}
	}
	if len(d.errs) > 0 {
		return nil, d.result()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// yamlErrLine pulls "line N" out of a yaml.v3 syntax error, which has no column.
func yamlErrLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		j := i + 5
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(s[i+5 : j])
		return n
	}
	return 0
}

type decoder struct {
	file    string
	cfg     *Config
	errs    Errors
	dropped int
}

func (d *decoder) result() error {
	es := d.errs.sorted()
	if d.dropped > 0 {
		es = append(es, &Error{Pos: Pos{File: d.file}, Msg: fmt.Sprintf("%d more problems not listed", d.dropped)})
	}
	return es
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	if len(d.errs) >= maxConfigErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases, with a depth bound against cycles.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

// field is one key a mapping accepts and how its value decodes.
type field struct {
	key string
	set func(v *yaml.Node, path string)
}

// mapping decodes mapping n at path: each key goes to its field, unknown keys and
// duplicates are reported at the key.
func (d *decoder) mapping(n *yaml.Node, path string, fields []field, required ...string) {
	n = resolve(n)
	if isNull(n) {
		n = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, got %s", path, describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.errorf(k, "%s: keys must be text (merge keys are not supported)", path)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, "%s: duplicate key %q (first at line %d)", path, k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		i := slices.IndexFunc(fields, func(f field) bool { return f.key == k.Value })
		if i < 0 {
			keys := make([]string, len(fields))
			for j, f := range fields {
				keys[j] = f.key
			}
			d.errorf(k, "%s: unknown key %q%s", path, k.Value, suggest(k.Value, keys))
			continue
		}
		sub := path + "." + k.Value
		if path == "" {
			sub = k.Value
		}
		d.cfg.pos[sub] = d.pos(resolve(v)) // cross-reference problems point at the value
		fields[i].set(resolve(v), sub)
	}
	for _, r := range required {
		if _, ok := seen[r]; !ok {
			d.errorf(n, "%s: %s is required", path, r)
		}
	}
}

// suggest returns ` (did you mean "x"?)` for the closest key within two edits.
func suggest(s string, keys []string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if dd := editDistance(s, k); dd < bestD {
			best, bestD = k, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) text(v *yaml.Node, path string, dst *string) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.errorf(v, "%s must be text, got %s", path, describe(v))
		return
	}
	*dst = v.Value
}

func (d *decoder) boolean(v *yaml.Node, path string, dst *bool) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(dst) != nil {
		d.errorf(v, "%s must be true or false, got %s", path, describe(v))
	}
}

func (d *decoder) integer(v *yaml.Node, path string, lo, hi int, dst *int) {
	var i int
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&i) != nil {
		d.errorf(v, "%s must be a whole number, got %s", path, describe(v))
		return
	}
	if i < lo || i > hi {
		d.errorf(v, "%s must be from %d to %d, got %d", path, lo, hi, i)
		return
	}
	*dst = i
}

func (d *decoder) number(v *yaml.Node, path string, lo, hi float64, dst *float64) {
	var f float64
	tag := v.ShortTag()
	if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || v.Decode(&f) != nil || math.IsNaN(f) {
		d.errorf(v, "%s must be a number, got %s", path, describe(v))
		return
	}
	if f < lo || f > hi {
		d.errorf(v, "%s must be from %g to %g, got %g", path, lo, hi, f)
		return
	}
	*dst = f
}

// maxConfigDuration bounds every duration in the config: longer is a mistake.
const maxConfigDuration = 24 * time.Hour

// duration decodes a Go duration (20s, 1m30s) or a bare number of seconds; zero is
// accepted only when zero is true.
func (d *decoder) duration(v *yaml.Node, path string, zero bool, dst *time.Duration) {
	var dur time.Duration
	ok := v.Kind == yaml.ScalarNode
	if ok {
		switch v.ShortTag() {
		case "!!int", "!!float":
			var secs float64
			ok = v.Decode(&secs) == nil && !math.IsNaN(secs) && math.Abs(secs) <= maxConfigDuration.Seconds()
			dur = time.Duration(secs * float64(time.Second))
		case "!!str":
			var err error
			dur, err = time.ParseDuration(v.Value)
			ok = err == nil
		default:
			ok = false
		}
	}
	if !ok {
		d.errorf(v, "%s must be a duration such as 20s or 1m30s, or a number of seconds, got %s", path, describe(v))
		return
	}
	if dur < 0 || (dur == 0 && !zero) || dur > maxConfigDuration {
		low := "more than 0"
		if zero {
			low = "0 or more"
		}
		d.errorf(v, "%s must be %s and at most 24h, got %s", path, low, describe(v))
		return
	}
	*dst = dur
}

func (d *decoder) enum(v *yaml.Node, path string, dst interface{ UnmarshalText([]byte) error }) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.errorf(v, "%s must be text, got %s", path, describe(v))
		return
	}
	if err := dst.UnmarshalText([]byte(v.Value)); err != nil {
		d.errorf(v, "%s: %v", path, err)
	}
}

func (d *decoder) skills(v *yaml.Node, path string, dst *Skills) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		d.errorf(v, "%s must be a mapping of skill to level (1 to 5), got %s", path, describe(v))
		return
	}
	out := Skills{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := resolve(v.Content[i]), resolve(v.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) || strings.TrimSpace(k.Value) == "" || k.ShortTag() == "!!merge" {
			d.errorf(k, "%s: skill names must be text", path)
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.errorf(k, "%s: duplicate skill %q", path, k.Value)
			continue
		}
		lvl := 0
		d.integer(val, path+"."+k.Value, MinSkillLevel, MaxSkillLevel, &lvl)
		out[k.Value] = lvl
	}
	*dst = out
}

func (d *decoder) list(v *yaml.Node, path string, each func(i int, n *yaml.Node, path string)) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, "%s must be a list, got %s", path, describe(v))
		return
	}
	for i, n := range v.Content {
		each(i, resolve(n), fmt.Sprintf("%s[%d]", path, i))
	}
}

func (d *decoder) strings(v *yaml.Node, path string, dst *[]string) {
	d.list(v, path, func(_ int, n *yaml.Node, p string) {
		var s string
		d.text(n, p, &s)
		*dst = append(*dst, s)
	})
}

func (d *decoder) top(n *yaml.Node) {
	c := d.cfg
	d.mapping(n, "", []field{
		{"engine", func(v *yaml.Node, p string) { d.engine(v, p, &c.Engine) }},
		{"agents", func(v *yaml.Node, p string) {
			d.list(v, p, func(i int, n *yaml.Node, p string) {
				a := AgentConfig{Presence: PresenceOffline}
				d.cfg.pos[p] = d.pos(n)
				d.mapping(n, p, []field{
					{"id", func(v *yaml.Node, p string) { d.text(v, p, &a.ID) }},
					{"name", func(v *yaml.Node, p string) { d.text(v, p, &a.Name) }},
					{"extension", func(v *yaml.Node, p string) { d.text(v, p, &a.Extension) }},
					{"skills", func(v *yaml.Node, p string) { d.skills(v, p, &a.Skills) }},
					{"presence", func(v *yaml.Node, p string) { d.enum(v, p, &a.Presence) }},
				}, "id")
				c.Agents = append(c.Agents, a)
			})
		}},
		{"queues", func(v *yaml.Node, p string) { d.queues(v, p) }},
	})
}

func (d *decoder) engine(n *yaml.Node, path string, e *EngineConfig) {
	d.mapping(n, path, []field{
		{"auto_break_after", func(v *yaml.Node, p string) { d.integer(v, p, 0, 1000, &e.AutoBreakAfter) }},
		{"missed_pause", func(v *yaml.Node, p string) { d.duration(v, p, true, &e.MissedPause) }},
		{"grace", func(v *yaml.Node, p string) { d.duration(v, p, false, &e.Grace) }},
		{"interval", func(v *yaml.Node, p string) { d.duration(v, p, false, &e.Interval) }},
		{"timezone", func(v *yaml.Node, p string) { d.text(v, p, &e.Timezone) }},
	})
}

func (d *decoder) queues(n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of queue name to settings, got %s", path, describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) || k.Value == "" || k.ShortTag() == "!!merge" {
			d.errorf(k, "%s: queue names must be text", path)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate queue %q", path, k.Value)
			continue
		}
		seen[k.Value] = true
		qp := path + "." + k.Value
		d.cfg.pos[qp] = d.pos(k)
		q := DefaultQueue(k.Value)
		d.queue(v, qp, &q)
		d.cfg.Queues = append(d.cfg.Queues, q)
	}
}

func (d *decoder) queue(n *yaml.Node, path string, q *QueueConfig) {
	dur := func(dst *time.Duration, zero bool) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) { d.duration(v, p, zero, dst) }
	}
	d.mapping(n, path, []field{
		{"strategy", func(v *yaml.Node, p string) { d.enum(v, p, &q.Strategy) }},
		{"skills", func(v *yaml.Node, p string) { d.skills(v, p, &q.Skills) }},
		{"agents", func(v *yaml.Node, p string) { d.strings(v, p, &q.Members) }},
		{"priority_per_minute", func(v *yaml.Node, p string) { d.number(v, p, 0, MaxPriority, &q.PriorityPerMinute) }},
		{"relax", func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, n *yaml.Node, p string) {
				var st RelaxStep
				d.cfg.pos[p] = d.pos(n)
				d.mapping(n, p, []field{
					{"after", func(v *yaml.Node, p string) { d.duration(v, p, false, &st.After) }},
					{"lower", func(v *yaml.Node, p string) { d.integer(v, p, 0, MaxSkillLevel-MinSkillLevel, &st.Lower) }},
					{"drop", func(v *yaml.Node, p string) { d.strings(v, p, &st.Drop) }},
				}, "after")
				q.Relax = append(q.Relax, st)
			})
		}},
		{"max_size", func(v *yaml.Node, p string) { d.integer(v, p, 0, 1_000_000, &q.MaxSize) }},
		{"max_wait", dur(&q.MaxWait, true)},
		{"overflow", func(v *yaml.Node, p string) { d.text(v, p, &q.Overflow) }},
		{"callback_on_timeout", func(v *yaml.Node, p string) { d.boolean(v, p, &q.CallbackOnTimeout) }},
		{"join_when_empty", func(v *yaml.Node, p string) { d.boolean(v, p, &q.JoinWhenEmpty) }},
		{"leave_when_empty", func(v *yaml.Node, p string) { d.boolean(v, p, &q.LeaveWhenEmpty) }},
		{"empty", func(v *yaml.Node, p string) { d.enum(v, p, &q.Empty) }},
		{"wrap_up", dur(&q.WrapUp, true)},
		{"ring_timeout", dur(&q.RingTimeout, false)},
		{"service_level", dur(&q.ServiceLevel, false)},
		{"service_level_target", func(v *yaml.Node, p string) { d.number(v, p, 0.01, 1, &q.ServiceLevelTarget) }},
		{"short_abandon", dur(&q.ShortAbandon, true)},
		{"announce_first", dur(&q.AnnounceFirst, true)},
		{"announce_every", dur(&q.AnnounceEvery, false)},
		{"expected_aht", dur(&q.ExpectedAHT, false)},
		{"whisper", func(v *yaml.Node, p string) { d.boolean(v, p, &q.Whisper) }},
		{"callback_retry", dur(&q.CallbackRetry, false)},
		{"callback_attempts", func(v *yaml.Node, p string) { d.integer(v, p, 1, 100, &q.CallbackAttempts) }},
	})
}
