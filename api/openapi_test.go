package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// The spec is the contract: these tests keep openapi.yaml and the routes in step
// (same methods, paths and roles, both ways), and check every JSON answer the
// handler tests see against the schema the spec gives for its status.

var (
	specOnce sync.Once
	specDoc  map[string]any
	specErr  error
)

func loadSpec(t testing.TB) map[string]any {
	t.Helper()
	specOnce.Do(func() { specErr = yaml.Unmarshal(openapiYAML, &specDoc) })
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specDoc
}

var methods = []string{"get", "put", "post", "patch", "delete"}

// specPath turns a ServeMux pattern into an OpenAPI path: {name...} is {name}.
func specPath(pattern string) string { return strings.ReplaceAll(pattern, "...}", "}") }

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadSpec(t)
	if v := doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	s, _ := newServer(t)
	routes := map[string]Route{}
	for _, rt := range s.Routes() {
		key := strings.ToLower(rt.Method) + " " + specPath(rt.Path)
		if _, dup := routes[key]; dup {
			t.Errorf("route %s registered twice", key)
		}
		routes[key] = rt
	}
	ids := map[string]string{}
	seen := map[string]bool{}
	for path, item := range asMap(doc["paths"]) {
		im := asMap(item)
		for _, m := range methods {
			op := asMap(im[m])
			if op == nil {
				continue
			}
			key := m + " " + path
			seen[key] = true
			rt, ok := routes[key]
			if !ok {
				t.Errorf("spec has %s, the server does not route it", strings.ToUpper(key))
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", key)
			} else if other, dup := ids[id]; dup {
				t.Errorf("%s: operationId %q also used by %s", key, id, other)
			}
			ids[id] = key
			want := "public"
			if !rt.Public {
				want = rt.Role.String()
			}
			if got := op["x-hotline-role"]; got != want {
				t.Errorf("%s: x-hotline-role %v, the route needs %s", key, got, want)
			}
			sec, hasSec := op["security"].([]any)
			switch {
			case rt.Public && (!hasSec || len(sec) != 0):
				t.Errorf("%s: public route must say security: []", key)
			case !rt.Public && hasSec && !securityHas(sec, "bearer"):
				t.Errorf("%s: protected route's security must allow bearer", key)
			case rt.Cookie && !securityHas(sec, "wallboardCookie"):
				t.Errorf("%s: the route accepts the wallboard cookie; the spec must say so", key)
			case !rt.Cookie && securityHas(sec, "wallboardCookie"):
				t.Errorf("%s: the spec allows the cookie; the route does not", key)
			}
			checkPathParams(t, key, path, im, op)
			if !hasSuccess(op) {
				t.Errorf("%s: no 2xx or 3xx response", key)
			}
		}
	}
	for key := range routes {
		if !seen[key] {
			t.Errorf("the server routes %s; openapi.yaml does not describe it", strings.ToUpper(key))
		}
	}
}

func securityHas(sec []any, scheme string) bool {
	for _, s := range sec {
		if _, ok := asMap(s)[scheme]; ok {
			return true
		}
	}
	return false
}

func hasSuccess(op map[string]any) bool {
	for code := range asMap(op["responses"]) {
		if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 400 {
			return true
		}
	}
	return false
}

var paramRE = regexp.MustCompile(`\{([^}]+)\}`)

// checkPathParams checks that every {param} of the path is declared in: path.
func checkPathParams(t *testing.T, key, path string, item, op map[string]any) {
	t.Helper()
	declared := map[string]bool{}
	for _, list := range []any{item["parameters"], op["parameters"]} {
		ps, _ := list.([]any)
		for _, p := range ps {
			pm := resolve(asMap(p))
			if pm["in"] == "path" {
				declared[fmt.Sprint(pm["name"])] = true
			}
		}
	}
	for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
		if !declared[m[1]] {
			t.Errorf("%s: path parameter %s is not declared", key, m[1])
		}
	}
}

// resolve follows a local $ref ("#/components/...").
func resolve(node map[string]any) map[string]any {
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		cur := any(specDoc)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = asMap(cur)[part]
		}
		node = asMap(cur)
		if node == nil {
			return nil
		}
	}
	return node
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadSpec(t)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && resolve(x) == nil {
				t.Errorf("%s: $ref %s does not resolve", path, ref)
			}
			for k, c := range x {
				walk(path+"/"+k, c)
			}
		case []any:
			for i, c := range x {
				walk(path+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walk("#", doc)
}

func TestOpenAPIServed(t *testing.T) {
	s, _ := newServer(t)
	w := do(t, s, "GET", "/api/v1/openapi.yaml", "", "")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), openapiYAML) {
		t.Fatalf("GET openapi.yaml: %d, %d bytes", w.Code, w.Body.Len())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q", ct)
	}
}

// checkShape checks a JSON answer against the spec's schema for the route and
// status (the status's own response, else default). Objects with properties are
// closed: every key the API sends must be documented.
func checkShape(t testing.TB, method, pattern string, status int, body []byte) {
	t.Helper()
	loadSpec(t)
	op := asMap(asMap(asMap(specDoc["paths"])[specPath(pattern)])[strings.ToLower(method)])
	if op == nil {
		t.Errorf("%s %s: not in the spec", method, pattern)
		return
	}
	resps := asMap(op["responses"])
	resp := asMap(resps[strconv.Itoa(status)])
	if resp == nil {
		resp = asMap(resps["default"])
	}
	resp = resolve(resp)
	if resp == nil {
		t.Errorf("%s %s: status %d is not in the spec", method, pattern, status)
		return
	}
	schema := resolve(asMap(asMap(asMap(resp["content"])["application/json"])["schema"]))
	if schema == nil {
		t.Errorf("%s %s: status %d answers JSON, the spec gives no JSON schema", method, pattern, status)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Errorf("%s %s: %d: not JSON: %v", method, pattern, status, err)
		return
	}
	for _, p := range validate(v, schema, "$") {
		t.Errorf("%s %s: %d: %s\n%s", method, pattern, status, p, clip(string(body), 2000))
	}
}

// validate checks v against the subset of JSON Schema the spec uses: $ref, allOf,
// type (one or several), enum, properties, required, additionalProperties, items,
// minimum and maximum.
func validate(v any, schema map[string]any, at string) []string {
	schema = resolve(schema)
	if schema == nil {
		return []string{at + ": unresolvable schema"}
	}
	if all, ok := schema["allOf"].([]any); ok {
		merged := map[string]any{"type": "object", "properties": map[string]any{}, "required": []any{}}
		for _, part := range all {
			pm := resolve(asMap(part))
			for k, p := range asMap(pm["properties"]) {
				asMap(merged["properties"])[k] = p
			}
			req, _ := pm["required"].([]any)
			merged["required"] = append(merged["required"].([]any), req...)
		}
		schema = merged
	}
	var probs []string
	if types := schemaTypes(schema); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", at, jsonType(v), types)}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		probs = append(probs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		if mn, ok := toFloat(schema["minimum"]); ok && f < mn {
			probs = append(probs, fmt.Sprintf("%s: %v < minimum %v", at, f, mn))
		}
		if mx, ok := toFloat(schema["maximum"]); ok && f > mx {
			probs = append(probs, fmt.Sprintf("%s: %v > maximum %v", at, f, mx))
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props := asMap(schema["properties"])
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := x[fmt.Sprint(r)]; !ok {
				probs = append(probs, fmt.Sprintf("%s: required %s is missing", at, r))
			}
		}
		extra := schema["additionalProperties"]
		for k, c := range x {
			if p, ok := props[k]; ok {
				probs = append(probs, validate(c, asMap(p), at+"."+k)...)
				continue
			}
			switch e := extra.(type) {
			case map[string]any:
				probs = append(probs, validate(c, e, at+"."+k)...)
			case bool:
				if !e {
					probs = append(probs, fmt.Sprintf("%s: %s is not in the spec", at, k))
				}
			case nil:
				if props != nil {
					probs = append(probs, fmt.Sprintf("%s: %s is not in the spec", at, k))
				}
			}
		}
	case []any:
		if items := asMap(schema["items"]); items != nil {
			for i, c := range x {
				probs = append(probs, validate(c, items, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return probs
}

func schemaTypes(schema map[string]any) []string {
	switch t := schema["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(x.String(), ".eE") {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// TestValidateCatchesDrift shows the checker would notice an undocumented field,
// a missing required one and a wrong type.
func TestValidateCatchesDrift(t *testing.T) {
	loadSpec(t)
	schema := map[string]any{"$ref": "#/components/schemas/Ban"}
	var v any
	dec := json.NewDecoder(strings.NewReader(`{"key":"x","kind":"ip","reason":"r","since":"2026-01-01T00:00:00Z","hits":"many","extra":1}`))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	probs := strings.Join(validate(v, schema, "$"), "\n")
	for _, want := range []string{"$.hits: string, want [integer]", "extra is not in the spec"} {
		if !strings.Contains(probs, want) {
			t.Errorf("problems %q lack %q", probs, want)
		}
	}
	if p := validate(map[string]any{}, schema, "$"); len(p) != 5 {
		t.Errorf("empty ban: %d problems, want 5 missing fields: %v", len(p), p)
	}
}

// jsonAnswer reports whether a recorded answer is JSON.
func jsonAnswer(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/json")
}
