package flows

// schema.json is generated from the loader's registry (actionTypes) and field tables
// (the `flow` tags of the action and spec structs) by buildSchema below, so the two
// cannot drift: TestSchemaInSync fails, naming each difference, until schema.json is
// regenerated with `go test ./flows -run TestSchemaInSync -update`.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const schemaFile = "schema.json"

func TestSchemaInSync(t *testing.T) {
	want := buildSchema()
	if *update {
		data, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(schemaFile, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := readSchema(t)
	// Round-trip what was built through JSON, as the file was.
	data, _ := json.Marshal(want)
	var built any
	if err := json.Unmarshal(data, &built); err != nil {
		t.Fatal(err)
	}
	var diffs []string
	diffJSON("", got, built, &diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	if len(diffs) > 0 {
		t.Log("regenerate with: go test ./flows -run TestSchemaInSync -update")
	}
	if !reflect.DeepEqual(Schema(), mustRead(t, schemaFile)) {
		t.Error("Schema() differs from schema.json")
	}
}

// TestSchemaCoversRegistry checks, independently of the generator, that every node
// type and every field of the loader has a property in schema.json, of the JSON
// type its Go type decodes from, with its enum; and that the schema has no node type
// or field the loader lacks.
func TestSchemaCoversRegistry(t *testing.T) {
	s := readSchema(t).(map[string]any)
	defs := s["$defs"].(map[string]any)
	node := defs["node"].(map[string]any)["properties"].(map[string]any)
	for _, typ := range actionTypes {
		if node[typ.name] == nil {
			t.Errorf("node type %s is missing from the schema", typ.name)
			continue
		}
		def, _ := defs["action_"+typ.name].(map[string]any)
		if def == nil {
			t.Errorf("node type %s has no $defs/action_%s", typ.name, typ.name)
			continue
		}
		if typ.decode != nil {
			continue // set and switch: their shapes are checked by the samples
		}
		obj := objectOf(def)
		if obj == nil {
			t.Errorf("action_%s has no object form", typ.name)
			continue
		}
		props := obj["properties"].(map[string]any)
		fields := structFields(reflect.TypeOf(typ.newAction()).Elem())
		for _, f := range fields {
			p, ok := props[f.name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s is missing from the schema", typ.name, f.name)
				continue
			}
			if f.enum != nil && !reflect.DeepEqual(toStrings(p["enum"]), f.enum) {
				t.Errorf("%s.%s: schema enum %v, loader enum %v", typ.name, f.name, p["enum"], f.enum)
			}
			ft := reflect.TypeOf(typ.newAction()).Elem().Field(f.index).Type
			if want := jsonKind(ft); want != "" && kindOf(p, defs) != want {
				t.Errorf("%s.%s: schema kind %q, loader decodes a %q", typ.name, f.name, kindOf(p, defs), want)
			}
		}
		for name := range props {
			if !slices.ContainsFunc(fields, func(f structField) bool { return f.name == name }) {
				t.Errorf("schema has %s.%s, which the loader does not know", typ.name, name)
			}
		}
	}
	for name := range node {
		if lookupType(name) == nil && !slices.Contains(routingKeys, name) {
			t.Errorf("schema has node key %s, which the loader does not know", name)
		}
	}
	top := s["properties"].(map[string]any)
	for _, f := range structFields(reflect.TypeFor[fileSpec]()) {
		if top[f.name] == nil {
			t.Errorf("top-level field %s is missing from the schema", f.name)
		}
	}
	if len(top) != len(structFields(reflect.TypeFor[fileSpec]())) {
		t.Errorf("schema has %d top-level fields, the loader %d", len(top), len(structFields(reflect.TypeFor[fileSpec]())))
	}
	if got := toStrings(defs["variables"].(map[string]any)["additionalProperties"].(map[string]any)["enum"]); !reflect.DeepEqual(got, declarableTypes()) {
		t.Errorf("variable types in the schema %v, in the loader %v", got, declarableTypes())
	}
}

// jsonKind is the JSON kind a field of Go type t is written as, "" when several.
func jsonKind(t reflect.Type) string {
	switch {
	case t == durationType || t == promptType || t == exprType || t == phrasesType:
		return ""
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() == reflect.Int:
		return "integer"
	case t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice && t != assignsType:
		return "array"
	case t.Kind() == reflect.Map || t == assignsType || t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && t != templateType:
		return "object"
	}
	return "text"
}

// kindOf names the JSON kind schema p describes, following $ref.
func kindOf(p map[string]any, defs map[string]any) string {
	if ref, ok := p["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		if name == "text" || name == "nodeName" {
			return "text"
		}
		return kindOf(defs[name].(map[string]any), defs)
	}
	if _, ok := p["enum"]; ok {
		return "text"
	}
	if alts, ok := p["anyOf"].([]any); ok {
		for _, a := range alts {
			if k := kindOf(a.(map[string]any), defs); k == "object" || k == "array" {
				return k
			}
		}
	}
	switch t := p["type"].(type) {
	case string:
		return t
	case []any:
		return "text"
	}
	return ""
}

func objectOf(def map[string]any) map[string]any {
	if def["type"] == "object" {
		return def
	}
	for _, a := range asList(def["anyOf"]) {
		if m := a.(map[string]any); m["type"] == "object" {
			return m
		}
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func toStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func readSchema(t *testing.T) any {
	t.Helper()
	var s any
	if err := json.Unmarshal(mustRead(t, schemaFile), &s); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	return s
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// diffJSON lists the differences between decoded JSON values got (the file) and
// want (built from the loader), by path.
func diffJSON(path string, got, want any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: schema.json has %v, the loader needs an object", path, got))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if _, ok := g[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s/%s: missing from schema.json (the loader has it)", path, k))
				continue
			}
			diffJSON(path+"/"+k, g[k], w[k], out)
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s/%s: in schema.json but not in the loader", path, k))
			}
		}
	default:
		if !reflect.DeepEqual(got, want) {
			*out = append(*out, fmt.Sprintf("%s: schema.json has %v, the loader %v", path, got, want))
		}
	}
}

// obj is a JSON Schema object being built.
type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/$defs/" + name} }

// buildSchema builds the JSON Schema of flow files from the loader's tables.
func buildSchema() obj {
	defs := obj{
		"text": obj{"description": "text: any scalar, taken as written; empty for none", "type": []any{"string", "number", "boolean", "null"}},
		"nodeName": obj{"description": "the name of a node of this flow", "type": "string",
			"pattern": nodeNameRE.String()},
		"duration": obj{"description": "a duration such as 5s, 500ms or 1m30s, or a number of seconds; more than 0, at most 1h",
			"anyOf": []any{
				obj{"type": "string", "pattern": `^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`},
				obj{"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
			}},
		"expression": obj{"description": "an expr-lang expression over the flow's variables (https://expr-lang.org)",
			"type": []any{"string", "number", "boolean"}},
		"langText": obj{"anyOf": []any{ref("text"), obj{"type": "object", "properties": obj{"file": ref("text")},
			"required": []any{"file"}, "additionalProperties": false}}},
		"prompt": obj{"description": "text ({{ }} and SSML allowed), a mapping from language code to text or {file}, {file: name.wav}, or {prompt: name}",
			"anyOf": []any{ref("text"), obj{"type": "object",
				"properties":           obj{"file": ref("text"), "prompt": ref("text")},
				"patternProperties":    obj{langCodeRE.String(): ref("langText")},
				"additionalProperties": false}}},
		"phrases": obj{"description": "a list of phrases in the flow's language, or a mapping from language code to list",
			"anyOf": []any{
				obj{"type": "array", "items": ref("text")},
				obj{"type": "object", "patternProperties": obj{langCodeRE.String(): obj{"type": "array", "items": ref("text")}},
					"additionalProperties": false}}},
		"assignments": obj{"description": "a mapping from variable to expression, applied in order",
			"type": "object", "propertyNames": obj{"pattern": varRE.String()}, "additionalProperties": ref("expression")},
		"prompts": obj{"description": "named prompts", "type": "object",
			"propertyNames": obj{"pattern": promptNameRE.String()}, "additionalProperties": ref("prompt")},
		"defaults": obj{"description": "outcome to node, for the nodes that do not route it", "type": "object",
			"propertyNames": obj{"enum": toAny(allOutcomes())}, "additionalProperties": ref("nodeName")},
		"nodes": obj{"description": "node name to node", "type": "object", "minProperties": 1,
			"propertyNames": obj{"pattern": nodeNameRE.String()}, "additionalProperties": ref("node")},
	}
	var fieldSchema func(t reflect.Type, f structField) obj
	structSchema := func(t reflect.Type) obj {
		props := obj{}
		var required []any
		for _, f := range structFields(t) {
			props[f.name] = fieldSchema(t.Field(f.index).Type, f)
			if f.required {
				required = append(required, f.name)
			}
		}
		o := obj{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	named := map[reflect.Type]string{
		reflect.TypeFor[Speech](): "speech", reflect.TypeFor[Confirm](): "confirm", reflect.TypeFor[Timeouts](): "timeouts",
		reflect.TypeFor[Language](): "language", reflect.TypeFor[IntentDef](): "intent", reflect.TypeFor[MenuChoice](): "menuChoice",
		reflect.TypeFor[SurveyQuestion](): "surveyQuestion", reflect.TypeFor[caseSpec](): "case",
	}
	var scalarOf = map[reflect.Type]string{reflect.TypeFor[MenuChoice](): "next"}
	structRef := func(t reflect.Type) obj {
		name := named[t]
		if name == "" {
			panic("schema: name the struct type " + t.String())
		}
		if defs[name] == nil {
			defs[name] = obj{} // against recursion
			s := structSchema(t)
			if sc := scalarOf[t]; sc != "" {
				s = obj{"anyOf": []any{s["properties"].(obj)[sc], s}}
			}
			defs[name] = s
		}
		return ref(name)
	}
	fieldSchema = func(t reflect.Type, f structField) obj {
		var s obj
		switch {
		case t == durationType:
			s = ref("duration")
		case t == exprType:
			s = ref("expression")
		case t == templateType:
			s = ref("text")
		case t == promptType:
			s = ref("prompt")
		case t == phrasesType:
			s = ref("phrases")
		case t == assignsType:
			s = ref("assignments")
		case t == nodeType:
			s = ref(f.schema)
		case t.Kind() == reflect.String && f.enum != nil:
			s = obj{"enum": toAny(f.enum)}
		case t.Kind() == reflect.String:
			s = ref("text")
		case t.Kind() == reflect.Bool:
			s = obj{"type": "boolean"}
		case t.Kind() == reflect.Int, t.Kind() == reflect.Float64:
			s = obj{"type": map[bool]string{true: "integer", false: "number"}[t.Kind() == reflect.Int]}
			if f.min != nil {
				s["minimum"] = *f.min
			}
			if f.max != nil {
				s["maximum"] = *f.max
			}
		case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Pointer:
			s = obj{"type": "array", "items": structRef(t.Elem().Elem())}
		case t.Kind() == reflect.Slice:
			s = obj{"type": "array", "items": ref("text")}
		case t.Kind() == reflect.Map:
			s = obj{"type": "object", "additionalProperties": fieldSchema(t.Elem(), structField{enum: f.enum, min: f.min, max: f.max})}
		case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
			s = structRef(t.Elem())
		default:
			panic("schema: unsupported field type " + t.String())
		}
		if f.doc != "" {
			if _, isRef := s["$ref"]; isRef {
				s = obj{"$ref": s["$ref"], "description": f.doc}
			} else {
				s["description"] = f.doc
			}
		}
		return s
	}
	nodeProps := obj{
		"next": obj{"$ref": "#/$defs/nodeName", "description": "the node after the ok outcome"},
		"on": obj{"description": "outcome to node (ok is routed by next)", "type": "object",
			"propertyNames":        obj{"enum": toAny(slices.DeleteFunc(allOutcomes(), func(o string) bool { return o == string(OutcomeOK) }))},
			"additionalProperties": ref("nodeName")},
		"branch":      obj{"description": "gather: digits to node; intent: intent to node", "type": "object", "additionalProperties": ref("nodeName")},
		"description": obj{"$ref": "#/$defs/text", "description": "free text for people"},
	}
	var oneOf []any
	for _, typ := range actionTypes {
		nodeProps[typ.name] = obj{"$ref": "#/$defs/action_" + typ.name, "description": typ.doc}
		oneOf = append(oneOf, obj{"required": []any{typ.name}})
		var def obj
		switch typ.name {
		case "set":
			def = obj{"allOf": []any{ref("assignments"), obj{"minProperties": 1}}}
		case "switch":
			structRef(reflect.TypeFor[caseSpec]())
			def = obj{"type": "array", "minItems": 1, "items": ref("case")}
		default:
			t := reflect.TypeOf(typ.newAction()).Elem()
			s := structSchema(t)
			if typ.langKeys {
				s["patternProperties"] = obj{langCodeRE.String(): ref("langText")}
			}
			forms := []any{s}
			if typ.scalar != "" {
				forms = append([]any{s["properties"].(obj)[typ.scalar]}, forms...)
			}
			if s["required"] == nil {
				forms = append(forms, obj{"type": "null"})
			}
			def = obj{"anyOf": forms}
		}
		def["description"] = typ.doc
		defs["action_"+typ.name] = def
	}
	defs["node"] = obj{"type": "object", "properties": nodeProps, "additionalProperties": false, "oneOf": oneOf}
	top := structSchema(reflect.TypeFor[fileSpec]())
	variables := fieldSchema(reflect.TypeFor[map[string]string](), structField{enum: declarableTypes()})
	variables["propertyNames"] = obj{"pattern": varRE.String()}
	variables["description"] = "the flow's variables: name to type"
	defs["variables"] = variables
	top["properties"].(obj)["variables"] = ref("variables")
	top["properties"].(obj)["name"].(obj)["pattern"] = flowNameRE.String()
	delete(top["properties"].(obj)["name"].(obj), "$ref")
	top["properties"].(obj)["name"].(obj)["type"] = "string"
	top["properties"].(obj)["languages"].(obj)["propertyNames"] = obj{"pattern": langCodeRE.String()}
	top["properties"].(obj)["intents"].(obj)["propertyNames"] = obj{"pattern": intentNameRE.String()}
	top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	top["$id"] = "https://github.com/hotline-ivr/hotline/flows/schema.json"
	top["title"] = "hotline call flow"
	top["description"] = "A hotline call flow file (go doc github.com/hotline-ivr/hotline/flows). Generated from the loader by schema_test.go; do not edit."
	top["$defs"] = defs
	return top
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// validate checks the decoded YAML value v against schema s (a subset of JSON
// Schema 2020-12: $ref to $defs, type, enum, properties, patternProperties,
// additionalProperties, propertyNames, required, items, minItems, minProperties,
// minimum, maximum, exclusiveMinimum, pattern, anyOf, oneOf, allOf) and returns the
// problems by path.
func validate(root obj, s obj, v any, path string) []string {
	if r, ok := s["$ref"].(string); ok {
		def, ok := root["$defs"].(obj)[strings.TrimPrefix(r, "#/$defs/")].(obj)
		if !ok {
			return []string{path + ": unknown $ref " + r}
		}
		return validate(root, def, v, path)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		fail("want type %v, got %T", t, v)
		return errs
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, e)
	}
	if pat, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !mustRE(pat).MatchString(str) {
			fail("%q does not match %s", str, pat)
		}
	}
	if n, ok := toFloat(v); ok {
		if m, ok := s["minimum"].(float64); ok && n < m {
			fail("%v < minimum %v", n, m)
		}
		if m, ok := s["maximum"].(float64); ok && n > m {
			fail("%v > maximum %v", n, m)
		}
		if m, ok := s["exclusiveMinimum"].(float64); ok && n <= m {
			fail("%v <= exclusiveMinimum %v", n, m)
		}
	}
	if m, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(obj)
		pats, _ := s["patternProperties"].(obj)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if pn, ok := s["propertyNames"].(obj); ok {
				errs = append(errs, validate(root, pn, k, path+"/"+k+" (name)")...)
			}
			matched := false
			if ps, ok := props[k].(obj); ok {
				matched = true
				errs = append(errs, validate(root, ps, m[k], path+"/"+k)...)
			}
			for pat, ps := range pats {
				if mustRE(pat).MatchString(k) {
					matched = true
					errs = append(errs, validate(root, ps.(obj), m[k], path+"/"+k)...)
				}
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap && !matched {
					fail("unknown property %q", k)
				}
			case obj:
				if !matched {
					errs = append(errs, validate(root, ap, m[k], path+"/"+k)...)
				}
			}
		}
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("missing required property %q", r)
			}
		}
		if n, ok := s["minProperties"].(float64); ok && float64(len(m)) < n {
			fail("fewer than %v properties", n)
		}
	}
	if l, ok := v.([]any); ok {
		if items, ok := s["items"].(obj); ok {
			for i, it := range l {
				errs = append(errs, validate(root, items, it, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
		if n, ok := s["minItems"].(float64); ok && float64(len(l)) < n {
			fail("fewer than %v items", n)
		}
	}
	for _, sub := range asList(s["allOf"]) {
		errs = append(errs, validate(root, sub.(obj), v, path)...)
	}
	if alts := asList(s["anyOf"]); len(alts) > 0 {
		var all []string
		ok := false
		for _, sub := range alts {
			e := validate(root, sub.(obj), v, path)
			if len(e) == 0 {
				ok = true
				break
			}
			all = append(all, e...)
		}
		if !ok {
			fail("matches none of anyOf: %s", strings.Join(all, "; "))
		}
	}
	if one := asList(s["oneOf"]); len(one) > 0 {
		n := 0
		for _, sub := range one {
			if len(validate(root, sub.(obj), v, path)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want exactly 1", n)
		}
	}
	return errs
}

func typeMatches(t any, v any) bool {
	if l, ok := t.([]any); ok {
		return slices.ContainsFunc(l, func(x any) bool { return typeMatches(x, v) })
	}
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := toFloat(v)
		return ok
	case "integer":
		f, ok := toFloat(v)
		return ok && f == float64(int64(f))
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "null":
		return v == nil
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// normalize turns a value decoded by yaml.v3 into what encoding/json would decode:
// maps with string keys (YAML keys are text to the loader).
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

var reCache = map[string]*regexp.Regexp{}

// mustRE compiles a pattern of the schema, once.
func mustRE(pat string) *regexp.Regexp {
	if re, ok := reCache[pat]; ok {
		return re
	}
	re := regexp.MustCompile(pat)
	reCache[pat] = re
	return re
}
