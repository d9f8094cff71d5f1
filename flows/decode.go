package flows

// Strict decoding of yaml.v3 node trees, generic over struct types.
//
// yaml.v3's own decoder stops at the first error and its KnownFields errors carry no
// column, so the loader walks the yaml.Node tree itself. A struct declares its YAML
// keys in `flow:"key"` or `flow:"key,required"` tags; decodeStruct fills it, reporting
// every unknown key (with the closest known one), duplicate key, wrong type and
// missing required field at its position. Adding a node type is declaring its struct.

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
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
	durationType  = reflect.TypeFor[time.Duration]()
	nodeType      = reflect.TypeFor[*yaml.Node]()
	exprType      = reflect.TypeFor[*Expr]()
	templateType  = reflect.TypeFor[*Template]()
	promptType    = reflect.TypeFor[*Prompt]()
	phrasesType   = reflect.TypeFor[Phrases]()
	assignsType   = reflect.TypeFor[Assignments]()
	stringsType   = reflect.TypeFor[[]string]()
	stringMapType = reflect.TypeFor[map[string]string]()
	intMapType    = reflect.TypeFor[map[string]int]()
)

// structField is one `flow` tagged field of a struct decodeStruct fills. The tag is
// `flow:"key[,option]..."`, options being:
//
//	required         must be present (and, for text, not blank; for lists and maps, not empty)
//	enum=a|b|c       text: one of these values ("" keeps the default)
//	min=N, max=N     numbers (and the values of a map of numbers): the range
//	type=T           expressions: the type the value must have (bool, int, string…)
//	scalar=F         structs: a scalar value is shorthand for field F
//	schema=D         raw *yaml.Node fields: the JSON Schema definition that describes it
//
// and the `doc` tag is the field's one-line description in the JSON Schema.
type structField struct {
	name     string // the YAML key
	index    int
	required bool
	enum     []string
	min, max *float64
	want     Type
	scalar   string
	schema   string
	doc      string
}

// structFields lists the `flow` tagged fields of struct type t in declaration order.
func structFields(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("flow")
		if !ok {
			continue
		}
		opts := strings.Split(tag, ",")
		f := structField{name: opts[0], index: i, doc: t.Field(i).Tag.Get("doc")}
		for _, o := range opts[1:] {
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "required":
				f.required = true
			case "enum":
				f.enum = strings.Split(v, "|")
			case "min", "max":
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					panic("flows: bad tag " + tag) // a programming error, caught by every test
				}
				if k == "min" {
					f.min = &n
				} else {
					f.max = &n
				}
			case "type":
				f.want = parseType(v)
			case "scalar":
				f.scalar = v
			case "schema":
				f.schema = v
			default:
				panic("flows: bad tag " + tag)
			}
		}
		out = append(out, f)
	}
	return out
}

// decodeStruct fills the struct out points to (which holds its defaults) from v: a
// mapping of its `flow` tagged fields or, if scalar names one, a scalar shorthand for
// that field ("say: Hello" for "say: {text: Hello}"). An empty v leaves the defaults.
// Field types are those setField knows.
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
			r.setField(rv.Field(f.index), kv.value, prefix, path+f.name, f)
		}
	case isNull(v):
		// No fields: defaults only.
	case scalar != "" && v.Kind == yaml.ScalarNode:
		got[scalar] = v
		r.setField(rv.Field(byName[scalar].index), v, prefix, path+scalar, byName[scalar])
	case scalar != "":
		r.errorf(v, "%s%s must be a scalar (its %s) or a mapping, got %s", prefix, what, scalar, describe(v))
		return got
	default:
		r.errorf(v, "%s%s must be a mapping, got %s", prefix, what, describe(v))
		return got
	}
	for _, f := range fields {
		fv := rv.Field(f.index)
		var missing bool
		switch fv.Kind() {
		case reflect.String:
			missing = strings.TrimSpace(fv.String()) == ""
		case reflect.Pointer:
			missing = fv.IsNil()
		case reflect.Slice, reflect.Map:
			missing = fv.Len() == 0
		case reflect.Int64:
			missing = fv.Type() == durationType && fv.Int() == 0
		}
		if !f.required || !missing {
			continue
		}
		at := key
		if n := got[f.name]; n != nil && !isNull(resolve(n)) {
			at = n
		}
		r.errorf(at, "%s%s requires %s", prefix, what, f.name)
	}
	return got
}

// setField decodes v into field fv according to the field's type and options.
func (r *reporter) setField(fv reflect.Value, v *yaml.Node, prefix, path string, f structField) {
	v = resolve(v)
	if r.hook != nil && r.hook(fv, v, prefix, path, f) {
		return
	}
	switch t := fv.Type(); {
	case t == durationType:
		if d, ok := r.duration(v, prefix, path); ok {
			fv.SetInt(int64(d))
		}
	case t == nodeType:
		if !isNull(v) {
			fv.Set(reflect.ValueOf(v))
		}
	case t.Kind() == reflect.String:
		if s, ok := r.text(v, prefix, path); ok && r.checkEnum(v, s, prefix, path, f.enum) {
			fv.SetString(s)
		}
	case t.Kind() == reflect.Bool:
		if b, ok := r.boolean(v, prefix, path); ok {
			fv.SetBool(b)
		}
	case t.Kind() == reflect.Int:
		if i, ok := r.integer(v, prefix, path); ok && r.checkRange(v, float64(i), prefix, path, f) {
			fv.SetInt(int64(i))
		}
	case t.Kind() == reflect.Float64:
		if x, ok := r.number(v, prefix, path); ok && r.checkRange(v, x, prefix, path, f) {
			fv.SetFloat(x)
		}
	case t == stringsType:
		if v.Kind != yaml.SequenceNode {
			r.errorf(v, "%s%s must be a list, got %s", prefix, path, describe(v))
			return
		}
		out := make([]string, 0, len(v.Content))
		for i, it := range v.Content {
			if s, ok := r.text(resolve(it), prefix, fmt.Sprintf("%s[%d]", path, i)); ok {
				out = append(out, s)
			}
		}
		fv.Set(reflect.ValueOf(out))
	case t == phrasesType:
		fv.Set(reflect.ValueOf(r.phrases(v, prefix, path)))
	case t.Kind() == reflect.Map:
		r.setMap(fv, v, prefix, path, f)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if isNull(v) {
			return
		}
		p := reflect.New(t.Elem())
		if fv.IsNil() {
			p.Elem().Set(reflect.Zero(t.Elem()))
		} else {
			p.Elem().Set(fv.Elem()) // defaults
		}
		r.decodeStruct(v, v, p.Interface(), prefix, path, path+".", f.scalar)
		fv.Set(p)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Pointer && t.Elem().Elem().Kind() == reflect.Struct:
		if v.Kind != yaml.SequenceNode {
			r.errorf(v, "%s%s must be a list, got %s", prefix, path, describe(v))
			return
		}
		out := reflect.MakeSlice(t, 0, len(v.Content))
		for i, it := range v.Content {
			p := reflect.New(t.Elem().Elem())
			what := fmt.Sprintf("%s[%d]", path, i)
			r.decodeStruct(it, it, p.Interface(), prefix, what, what+".", f.scalar)
			out = reflect.Append(out, p)
		}
		fv.Set(out)
	default:
		r.errorf(v, "%sinternal error: %s has unsupported type %s", prefix, path, fv.Type())
	}
}

// setMap decodes a mapping into a map field: text keys, values as the map's element
// type (text, whole numbers, structs, or what the hook decodes).
func (r *reporter) setMap(fv reflect.Value, v *yaml.Node, prefix, path string, f structField) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		r.errorf(v, "%s%s must be a mapping, got %s", prefix, path, describe(v))
		return
	}
	t := fv.Type()
	if t.Key().Kind() != reflect.String {
		r.errorf(v, "%sinternal error: %s has unsupported type %s", prefix, path, t)
		return
	}
	m := reflect.MakeMap(t)
	for _, kv := range r.pairs(v, prefix, path) {
		ev := reflect.New(t.Elem()).Elem()
		r.setField(ev, kv.value, prefix, path+"."+kv.name, structField{name: kv.name, enum: f.enum, min: f.min, max: f.max, want: f.want, scalar: f.scalar})
		m.SetMapIndex(reflect.ValueOf(kv.name), ev)
	}
	fv.Set(m)
}

// phrases decodes example phrases: a list (in the flow's language, stored under "")
// or a mapping from language code to list.
func (r *reporter) phrases(v *yaml.Node, prefix, path string) Phrases {
	list := func(v *yaml.Node, path string) []string {
		v = resolve(v)
		if v.Kind != yaml.SequenceNode {
			r.errorf(v, "%s%s must be a list of phrases, got %s", prefix, path, describe(v))
			return nil
		}
		var out []string
		for i, it := range v.Content {
			s, ok := r.text(resolve(it), prefix, fmt.Sprintf("%s[%d]", path, i))
			if ok && strings.TrimSpace(s) == "" {
				r.errorf(it, "%s%s[%d] is empty", prefix, path, i)
			} else if ok {
				out = append(out, s)
			}
		}
		return out
	}
	switch {
	case isNull(v):
		return nil
	case v.Kind == yaml.SequenceNode:
		return Phrases{"": list(v, path)}
	case v.Kind == yaml.MappingNode:
		out := Phrases{}
		for _, kv := range r.pairs(v, prefix, path) {
			out[kv.name] = list(kv.value, path+"."+kv.name)
		}
		return out
	}
	r.errorf(v, "%s%s must be a list of phrases or a mapping from language to list, got %s", prefix, path, describe(v))
	return nil
}

// number decodes a whole or decimal number.
func (r *reporter) number(v *yaml.Node, prefix, path string) (float64, bool) {
	var x float64
	tag := v.ShortTag()
	if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || v.Decode(&x) != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		r.errorf(v, "%s%s must be a number, got %s", prefix, path, describe(v))
		return 0, false
	}
	return x, true
}

// checkEnum reports s if the field allows only some values and s is none of them.
// An empty s keeps the field's default.
func (r *reporter) checkEnum(v *yaml.Node, s, prefix, path string, enum []string) bool {
	if len(enum) == 0 || s == "" || slices.Contains(enum, s) {
		return true
	}
	r.errorf(v, "%s%s must be one of %s, got %s%s", prefix, path, strings.Join(enum, ", "), quote(s), didYouMean{s, enum})
	return false
}

// checkRange reports x if it is outside the field's min and max.
func (r *reporter) checkRange(v *yaml.Node, x float64, prefix, path string, f structField) bool {
	if (f.min == nil || x >= *f.min) && (f.max == nil || x <= *f.max) {
		return true
	}
	lo, hi := "", ""
	if f.min != nil {
		lo = strconv.FormatFloat(*f.min, 'f', -1, 64)
	}
	if f.max != nil {
		hi = strconv.FormatFloat(*f.max, 'f', -1, 64)
	}
	switch {
	case f.min != nil && f.max != nil:
		r.errorf(v, "%s%s must be from %s to %s, got %s", prefix, path, lo, hi, v.Value)
	case f.min != nil:
		r.errorf(v, "%s%s must be at least %s, got %s", prefix, path, lo, v.Value)
	default:
		r.errorf(v, "%s%s must be at most %s, got %s", prefix, path, hi, v.Value)
	}
	return false
}
