package flows

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"
)

// FuzzParse checks that no input makes Parse panic or break its contract: either a
// flow that keeps every promise of Flow, or a non-empty Errors sorted by position
// in which every problem has a message and names the file. The seed corpus is
// testdata/fuzz/FuzzParse (valid and broken flows) plus every flow in testdata.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range append(files, "hotline.yaml", "telecom.yaml", "env.yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	fsys := fstest.MapFS{"flows/sounds/beep.wav": {Data: []byte("RIFF")}}
	const name = "flows/f.yaml"
	env, err := LoadEnv("testdata/valid/env.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseEnv("env.yaml", data); err != nil { // environments too: never a panic
			if _, ok := err.(Errors); !ok {
				t.Fatalf("ParseEnv error %T %v is not Errors", err, err)
			}
		}
		flow, err := Parse(fsys, name, data, WithEnv(env))
		if err == nil {
			checkInvariants(t, flow)
			return
		}
		if flow != nil {
			t.Fatal("flow and error both returned")
		}
		errs, ok := err.(Errors)
		if !ok || len(errs) == 0 {
			t.Fatalf("error %T %v is not a non-empty Errors", err, err)
		}
		if !slices.IsSortedFunc(errs, func(a, b *Error) int { return a.Pos.compare(b.Pos) }) {
			t.Errorf("errors not sorted:\n%v", err)
		}
		for _, e := range errs {
			if e.Pos.File != name || e.Msg == "" || e.Pos.Line < 0 || strings.Contains(e.Msg, "internal error") {
				t.Errorf("bad error %#v", e)
			}
		}
	})
}

// TestHostileInput checks inputs built to make the loader slow: YAML merge keys that
// would expand exponentially, one anchored mistake reused by hundreds of nodes, and
// hundreds of misspelled routes that each look for a suggestion. Each must finish
// quickly, with at most maxErrors problems and a last line counting the rest.
func TestHostileInput(t *testing.T) {
	wide := func() string {
		var b strings.Builder
		b.WriteString("name: x\nstart: n0\nnodes:\n  n0: &x {")
		for i := range 500 {
			fmt.Fprintf(&b, "k%d: 1, ", i)
		}
		b.WriteString("say: hi}\n")
		for i := 1; i < 500; i++ {
			fmt.Fprintf(&b, "  n%d: *x\n", i)
		}
		return b.String()
	}
	routes := func() string {
		var b strings.Builder
		b.WriteString("name: x\nstart: m0\ndefaults: {error: m0}\nnodes:\n")
		for i := range 2000 {
			fmt.Fprintf(&b, "  m%d: {say: x, next: node_with_a_rather_long_name_%d}\n", i, i)
		}
		return b.String()
	}
	tests := []struct {
		name, src string
		errors    int
	}{
		{"merge bomb", "name: x\nstart: a\nnodes:\n  a: &a {<<: [*a, *a, *a, *a, *a, *a, *a, *a], hangup: }\n", 1},
		{"merge diamond", "name: x\nstart: a\nd: &d {b: 1}\nc: &c {<<: [*d, *d, *d]}\nnodes:\n  a: {<<: [*c, *c, *c, *c], hangup: }\n", 3},
		{"wide alias", wide(), maxErrors + 1},
		{"misspelled routes", routes(), maxErrors + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse(nil, "f.yaml", []byte(tt.src))
			// An exponential blow-up takes hours; a loaded 2-core CI box takes seconds.
			if d := time.Since(start); d > time.Minute {
				t.Errorf("took %v", d)
			}
			errs, _ := err.(Errors)
			if len(errs) != tt.errors {
				t.Errorf("%d errors, want %d:\n%v", len(errs), tt.errors, err)
			}
			if tt.errors > maxErrors && !strings.HasPrefix(errs[len(errs)-1].Msg, "too many errors: ") {
				t.Errorf("last error = %q", errs[len(errs)-1].Msg)
			}
		})
	}
}

// FuzzExpression checks that compiling any expression or template, and rendering
// what compiles, never panics, and that problems are placed inside the text.
func FuzzExpression(f *testing.F) {
	for _, seed := range []string{
		"balance > 10", `queue_wait("care") > 120 && vip`, "now.Hour() < 8 || now.Weekday() == 0",
		"body.items[0].price * 1.2", "{{ balance }}", "1 +", `"unterminated`, "[1, 2, 3] | map(# * 2)",
		"let x = 1; x + n", "caller matches '^\\+33'", "len(name) > 3 ? 'long' : 'short'", "nil ?? 3",
		`Hi {{ name }}, <say-as interpret-as="digits">{{ account }}</say-as>.<break time="1s"/>`,
		"{{ }}", "}} {{", "<p><s>x</p>", "&amp; &#x4e2d; &bogus;", "<lang xml:lang='zh'>你好</lang>",
		"{{ queue_size(\"x\") }}", "\uE000<break/>", "<break time=\"{{ x }}\"/>",
	} {
		f.Add(seed)
	}
	sc := &scope{vars: map[string]Type{"balance": TypeNumber, "vip": TypeBool, "name": TypeString, "account": TypeString,
		"n": TypeInt, "now": TypeTime, "body": TypeAny, "caller": TypeString}, consts: map[string]any{"line": "+1"}}
	f.Fuzz(func(t *testing.T, src string) {
		for _, want := range []Type{TypeUnknown, TypeBool, TypeNumber, TypeString} {
			e, problem := compileExpr(sc, src, want, nil)
			if problem != nil {
				if problem.msg == "" || problem.at < 0 || problem.at > utf8.RuneCountInString(src) {
					t.Fatalf("%q: bad problem %+v", src, problem)
				}
				continue
			}
			if e.Program == nil || (want != TypeUnknown && e.Type != want) {
				t.Fatalf("%q: compiled %+v", src, e)
			}
		}
		lits, exprs, problems := splitTemplate(src)
		for _, p := range problems {
			if p.at < 0 || p.at > utf8.RuneCountInString(src) {
				t.Fatalf("%q: template problem at %d", src, p.at)
			}
		}
		if len(problems) == 0 {
			if len(lits) != len(exprs)+1 {
				t.Fatalf("%q: %d literals for %d expressions", src, len(lits), len(exprs))
			}
			_, errs := checkSSML(maskTemplate(src, exprs), []string{"en", "zh"})
			for _, e := range errs {
				if e.at < 0 || e.at > utf8.RuneCountInString(src) || e.msg == "" {
					t.Fatalf("%q: SSML problem %+v", src, e)
				}
			}
		}
		_ = stripSSML(src)
		_ = escapeAmp(src)
		// Through the loader: a say node with src as its text, quoted for YAML.
		data := "name: f\nstart: s\nvariables: {balance: number, name: string, account: string}\nnodes:\n  s:\n    say: " +
			strconv.Quote(src) + "\n    next: z\n    on: {error: z}\n  z: {hangup: }\n"
		flow, err := Parse(nil, "f.yaml", []byte(data))
		if err != nil {
			for _, e := range err.(Errors) {
				if e.Pos.Line < 1 || e.Pos.Line > 10 {
					t.Fatalf("%q: error outside the file: %v", src, e)
				}
			}
			return
		}
		if msg := flow.Nodes["s"].Action.(*Say).Msg; msg != nil {
			tpl := msg.For("en").Text
			_, _ = tpl.Render(map[string]any{"balance": 1.5, "name": "<x&y>", "account": "42"})
			_, _ = tpl.Text(nil)
		}
	})
}
