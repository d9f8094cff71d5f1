package flows

// Strict decoding of yaml.v3 node trees, generic over struct types.
//
// yaml.v3's own decoder stops at the first error and its KnownFields errors carry no
// column, so the loader walks the yaml.Node tree itself. A struct declares its YAML
// keys in `flow:"key"` or `flow:"key,required"` tags; decodeStruct fills it, reporting
// every unknown key (with the closest known one), duplicate key, wrong type and
// missing required field at its position. Adding a node type is declaring its struct.

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxDuration bounds every duration in a flow: longer waits are mistakes.
const maxDuration = time.Hour

// maxAliasDepth bounds alias resolution, against cycles.
const maxAliasDepth = 8

// fieldNodes maps each key present in a decoded mapping to its value node, so checks
// after decoding can tell "set" from "defaulted" and point at the value they reject.
type fieldNodes map[string]*yaml.Node

// pair is one entry of a YAML mapping whose key is text.
type pair struct {
	key, value *yaml.Node
	name       string // key.Value
}

// resolve follows aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasDepth; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

// isNull reports whether n is an empty value ("key:" with nothing, ~ or null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	default:
		return quote(n.Value)
	}
}

// pairs returns the entries of mapping n in file order. Aliases are resolved and merge
// keys (<<: *anchor) expanded: merged entries come after n's own and lose to them.
// Duplicate keys and keys that are not text are reported (in, e.g. "nodes", names the
// mapping; prefix starts every message) and dropped.
func (r *reporter) pairs(n *yaml.Node, prefix, in string) []pair {
	m := merger{r: r, prefix: prefix, in: in, seen: map[string]*yaml.Node{}, merged: map[*yaml.Node]bool{n: true}}
	m.collect(n, nil)
	return m.out
}

// merger expands one mapping and its merge keys for pairs.
type merger struct {
	r          *reporter
	prefix, in string
	seen       map[string]*yaml.Node // keys taken, to the key node
	// merged holds every mapping expanded so far: merging one twice adds nothing,
	// and a YAML file could otherwise make the work grow exponentially.
	merged map[*yaml.Node]bool
	out    []pair
}

// collect adds the entries of mapping n; chain lists the mappings that merged n,
// to catch a mapping merging itself.
func (m *merger) collect(n *yaml.Node, chain []*yaml.Node) {
	top := len(chain) == 0 // problems inside merged mappings are reported where they are written
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
			merges = append(merges, v)
		case k.Kind != yaml.ScalarNode || isNull(k):
			if top {
				m.r.errorf(k, "%skeys in %s must be text, got %s", m.prefix, m.in, describe(k))
			}
		case m.seen[k.Value] != nil:
			if top {
				m.r.errorf(k, "%sduplicate key %q in %s (first at line %d)", m.prefix, k.Value, m.in, m.seen[k.Value].Line)
			}
		default:
			m.seen[k.Value] = k
			m.out = append(m.out, pair{key: k, value: v, name: k.Value})
		}
	}
	chain = append(chain, n)
	for _, v := range merges {
		v = resolve(v)
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		for _, it := range items {
			switch it = resolve(it); {
			case it.Kind != yaml.MappingNode:
				m.r.errorf(it, "%s<< in %s must merge a mapping or a list of mappings, got %s", m.prefix, m.in, describe(it))
			case slices.Contains(chain, it):
				m.r.errorf(it, "%s<< in %s merges a mapping into itself", m.prefix, m.in)
			case !m.merged[it]:
				m.merged[it] = true
				m.collect(it, chain)
			}
		}
	}
}

// text decodes a scalar as text: any scalar is its literal text, an empty value is "".
func (r *reporter) text(v *yaml.Node, prefix, path string) (string, bool) {
	if v.Kind != yaml.ScalarNode {
		r.errorf(v, "%s%s must be text, got %s", prefix, path, describe(v))
		return "", false
	}
	if isNull(v) {
		return "", true
	}
	return v.Value, true
}

// boolean decodes true or false. YAML 1.1 spellings (yes, on) are refused: they read
// as text in YAML 1.2 and are a classic source of surprises.
func (r *reporter) boolean(v *yaml.Node, prefix, path string) (bool, bool) {
	var b bool
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		r.errorf(v, "%s%s must be true or false, got %s", prefix, path, describe(v))
		return false, false
	}
	return b, true
}

// integer decodes a whole number.
func (r *reporter) integer(v *yaml.Node, prefix, path string) (int, bool) {
	var i int
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&i) != nil {
		r.errorf(v, "%s%s must be a whole number, got %s", prefix, path, describe(v))
		return 0, false
	}
	return i, true
}

// duration decodes "5s", "500ms", "1m30s" (time.ParseDuration) or a bare number of
// seconds, which must be more than zero and at most maxDuration.
func (r *reporter) duration(v *yaml.Node, prefix, path string) (time.Duration, bool) {
	var d time.Duration
	ok := v.Kind == yaml.ScalarNode
	if ok {
		switch v.ShortTag() {
		case "!!int", "!!float":
			var secs float64
			ok = v.Decode(&secs) == nil && !math.IsNaN(secs)
			if ok && (secs <= 0 || secs > maxDuration.Seconds()) {
				d = -1 // out of range; converting would overflow
			} else if ok {
				d = time.Duration(secs * float64(time.Second))
			}
		case "!!str":
			var err error
			d, err = time.ParseDuration(v.Value)
			ok = err == nil
		default:
			ok = false
		}
	}
	if !ok {
		r.errorf(v, "%s%s must be a duration such as 5s, 500ms or 1m30s, or a number of seconds, got %s", prefix, path, describe(v))
		return 0, false
	}
	if d <= 0 || d > maxDuration {
		r.errorf(v, "%s%s must be more than 0 and at most %s, got %s", prefix, path, shortDuration(maxDuration), describe(v))
		return 0, false
	}
	return d, true
}

// shortDuration formats d without zero trailing units: 1h, not 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	nodeType     = reflect.TypeFor[*yaml.Node]()
)

// structField is one `flow` tagged field of a struct decodeStruct fills.
type structField struct {
	name     string // the YAML key
	index    int
	required bool // must be present and, for text, not blank
}

// structFields lists the `flow` tagged fields of struct type t in declaration order.
func structFields(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("flow")
		if !ok {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		out = append(out, structField{name: name, index: i, required: opt == "required"})
	}
	return out
}

// decodeStruct fills the struct out points to (which holds its defaults) from v: a
// mapping of its `flow` tagged fields or, if scalar names one, a scalar shorthand for
// that field ("say: Hello" for "say: {text: Hello}"). An empty v leaves the defaults.
// Field types may be string, bool, int, time.Duration and *yaml.Node (kept raw).
//
// key is the node a missing required field is reported at; prefix starts every
// message, what names the struct ("gather", "flow") and path prefixes its field names
// in messages ("gather." gives "gather.max_digits"). It returns the value node of every
// field present.
func (r *reporter) decodeStruct(key, v *yaml.Node, out any, prefix, what, path, scalar string) fieldNodes {
	rv := reflect.ValueOf(out).Elem()
	fields := structFields(rv.Type())
	byName := make(map[string]structField, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		byName[f.name] = f
		names[i] = f.name
	}
	got := make(fieldNodes)
	v = resolve(v)
	switch {
	case v.Kind == yaml.MappingNode:
		for _, kv := range r.pairs(v, prefix, what) {
			f, ok := byName[kv.name]
			if !ok {
				r.errorf(kv.key, "%sunknown field %q in %s%s", prefix, kv.name, what, didYouMean{kv.name, names})
				continue
			}
			got[f.name] = kv.value
			r.setField(rv.Field(f.index), kv.value, prefix, path+f.name)
		}
	case isNull(v):
		// No fields: defaults only.
	case scalar != "" && v.Kind == yaml.ScalarNode:
		got[scalar] = v
		r.setField(rv.Field(byName[scalar].index), v, prefix, path+scalar)
	case scalar != "":
		r.errorf(v, "%s%s must be a scalar (its %s) or a mapping, got %s", prefix, what, scalar, describe(v))
		return got
	default:
		r.errorf(v, "%s%s must be a mapping, got %s", prefix, what, describe(v))
		return got
	}
	for _, f := range fields {
		fv := rv.Field(f.index)
		missing := fv.Kind() == reflect.String && strings.TrimSpace(fv.String()) == "" ||
			fv.Type() == nodeType && fv.IsNil()
		if !f.required || !missing {
			continue
		}
		at := key
		if n := got[f.name]; n != nil && !isNull(n) {
			at = n
		}
		r.errorf(at, "%s%s requires %s", prefix, what, f.name)
	}
	return got
}

// setField decodes v into field fv according to the field's type.
func (r *reporter) setField(fv reflect.Value, v *yaml.Node, prefix, path string) {
	v = resolve(v)
	switch {
	case fv.Type() == durationType:
		if d, ok := r.duration(v, prefix, path); ok {
			fv.SetInt(int64(d))
		}
	case fv.Type() == nodeType:
		if !isNull(v) {
			fv.Set(reflect.ValueOf(v))
		}
	case fv.Kind() == reflect.String:
		if s, ok := r.text(v, prefix, path); ok {
			fv.SetString(s)
		}
	case fv.Kind() == reflect.Bool:
		if b, ok := r.boolean(v, prefix, path); ok {
			fv.SetBool(b)
		}
	case fv.Kind() == reflect.Int:
		if i, ok := r.integer(v, prefix, path); ok {
			fv.SetInt(int64(i))
		}
	default:
		r.errorf(v, "%sinternal error: %s has unsupported type %s", prefix, path, fv.Type())
	}
}
