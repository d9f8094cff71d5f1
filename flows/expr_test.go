package flows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// exprFlow is a flow whose variables and one set node exercise expressions; env
// gives it constants.
const exprFlow = `name: e
start: s
variables: {balance: number, n: int, vip: bool, name: string, when: time, items: list, data: map, blob: any}
nodes:
  s:
    set: {n: "1"}
    next: z
    on: {error: z}
  z:
    hangup:
`

func testScope(t *testing.T) *scope {
	t.Helper()
	env, err := ParseEnv("env.yaml", []byte("vars: {line: \"+1555\", limit: 3, ratio: 0.5, on: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(nil, "e.yaml", []byte(exprFlow), WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	return f.scope
}

func TestExprCompile(t *testing.T) {
	sc := testScope(t)
	tests := []struct {
		src  string
		want Type   // the type the use needs
		typ  Type   // the expression's type, when it compiles
		err  string // the problem, when it does not
	}{
		{"balance > 10", TypeBool, TypeBool, ""},
		{"n + balance", TypeNumber, TypeNumber, ""},
		{"n + 1", TypeNumber, TypeNumber, ""}, // an int stored in a number
		{"name + caller", TypeUnknown, TypeString, ""},
		{"now.Hour() >= 8 && vip", TypeBool, TypeBool, ""},
		{"queue_wait(\"care\") > limit", TypeBool, TypeBool, ""},
		{"agents_available(name) == 0", TypeBool, TypeBool, ""},
		{"blob.field.deep", TypeNumber, TypeNumber, ""}, // any: checked when run
		{"line + \"0\"", TypeString, TypeString, ""},
		{"ratio * 2", TypeUnknown, TypeNumber, ""},
		{"len(items)", TypeInt, TypeInt, ""},
		{"data", TypeUnknown, TypeMap, ""},
		{"when", TypeUnknown, TypeTime, ""},
		{"duration(\"5s\")", TypeDuration, TypeDuration, ""},
		{"balanc", TypeUnknown, 0, `unknown variable "balanc" (did you mean balance?)`},
		{"balance", TypeBool, 0, "expression has type number, want bool"},
		{"balance > \"x\"", TypeBool, 0, "invalid operation: > (mismatched types float64 and string)"},
		{"queue_wait(1)", TypeInt, 0, "cannot use int as argument (type string) to call queue_wait"},
		{"1 +", TypeUnknown, 0, "unexpected token EOF"},
		{"", TypeUnknown, 0, "expression is empty"},
		{"{{ n }}", TypeUnknown, 0, "(an expression is written without {{ }}, which are for text)"},
		{strings.Repeat("1+", 3000) + "1", TypeUnknown, 0, "longer than"},
	}
	for _, tt := range tests {
		e, problem := compileExpr(sc, tt.src, tt.want, nil)
		switch {
		case tt.err == "" && problem != nil:
			t.Errorf("%q: %s", tt.src, problem.msg)
		case tt.err == "" && e.Type != tt.typ:
			t.Errorf("%q: type %s, want %s", tt.src, e.Type, tt.typ)
		case tt.err != "" && (problem == nil || !strings.Contains(problem.msg, tt.err)):
			t.Errorf("%q: problem %v, want %q", tt.src, problem, tt.err)
		}
	}
	// Problems inside the expression are placed at their rune offset.
	if _, problem := compileExpr(sc, "vip && 名字 > 1", TypeBool, nil); problem == nil || problem.at != 7 {
		t.Errorf("offset of unknown name: %+v", problem)
	}
}

func TestExprEval(t *testing.T) {
	sc := testScope(t)
	compile := func(src string, want Type, extra map[string]Type) *Expr {
		t.Helper()
		e, problem := compileExpr(sc, src, want, extra)
		if problem != nil {
			t.Fatalf("%q: %s", src, problem.msg)
		}
		return e
	}
	vars := map[string]any{"balance": 12.5, "n": 3, "name": "Ada", "vip": true,
		"queue_wait": func(q string) int { return map[string]int{"care": 200}[q] }}
	tests := []struct {
		src  string
		want Type
		out  any
	}{
		{"balance + n", TypeNumber, 15.5},
		{"n * 2", TypeNumber, 6.0},              // converted to the number the use needs
		{"blob ?? 4", TypeInt, 4},               // a variable never set is its zero value (nil for any)
		{"name + line", TypeString, "Ada+1555"}, // an environment constant
		{"queue_wait(\"care\") > 180", TypeBool, true},
		{"sentiment", TypeNumber, 0.0}, // a built-in the runtime did not set yet
		{"language", TypeString, ""},
		{"now.Year() > 2000", TypeBool, true},
	}
	for _, tt := range tests {
		got, err := compile(tt.src, tt.want, nil).Eval(vars)
		if err != nil || got != tt.out {
			t.Errorf("%q = %v (%T), %v; want %v (%T)", tt.src, got, got, err, tt.out, tt.out)
		}
	}
	if _, err := compile("queue_size(\"care\")", TypeInt, nil).Eval(vars); !errors.Is(err, ErrNoFunction) {
		t.Errorf("missing runtime function: %v", err)
	}
	if _, err := compile("blob.x", TypeNumber, nil).Eval(map[string]any{"blob": map[string]any{"x": "text"}}); !errors.Is(err, ErrType) {
		t.Errorf("any value of the wrong type: %v", err)
	}
	e := compile("body.balance * 2 + status", TypeNumber, responseNames)
	if got, err := e.Eval(map[string]any{"body": map[string]any{"balance": 1.5}, "status": 200}); err != nil || got != 203.0 {
		t.Errorf("response expression = %v, %v", got, err)
	}
	if _, err := (&Expr{Src: "x"}).Eval(nil); err == nil {
		t.Error("uncompiled expression evaluated")
	}
	f := &Flow{}
	if got, _ := f.Eval(compile("n", TypeInt, nil), map[string]any{"n": 7}); got != 7 {
		t.Errorf("Flow.Eval = %v", got)
	}
}

func TestTypeConvert(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		t   Type
		in  any
		out any
		ok  bool
	}{
		{TypeString, "x", "x", true}, {TypeString, 42, "42", true}, {TypeString, 2.5, "2.5", true}, {TypeString, nil, "", true},
		{TypeNumber, 3, 3.0, true}, {TypeNumber, "3", nil, false},
		{TypeInt, 4.0, 4, true}, {TypeInt, 4.5, nil, false}, {TypeInt, int64(9), 9, true},
		{TypeBool, true, true, true}, {TypeBool, "true", nil, false},
		{TypeTime, "2026-01-02T03:04:05Z", at, true}, {TypeTime, 5, nil, false},
		{TypeDuration, "2s", 2 * time.Second, true},
		{TypeList, []string{"a"}, []any{"a"}, true}, {TypeMap, map[string]any{}, map[string]any{}, true},
		{TypeAny, struct{}{}, struct{}{}, true},
	}
	for _, tt := range tests {
		got, err := tt.t.Convert(tt.in)
		if (err == nil) != tt.ok || tt.ok && !equalValue(got, tt.out) {
			t.Errorf("%s.Convert(%#v) = %#v, %v", tt.t, tt.in, got, err)
		}
	}
	for _, name := range declarableTypes() {
		if typ := parseType(name); typ.String() != name || typ.Zero() == nil && typ != TypeAny {
			t.Errorf("type %q: %v, zero %v", name, typ, typ.Zero())
		}
	}
	if Type(99).String() != "unknown" || parseType("integer") != TypeUnknown {
		t.Error("unknown types")
	}
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || x[0] == y[0])
	case map[string]any:
		_, ok := b.(map[string]any)
		return ok
	case time.Time:
		return x.Equal(b.(time.Time))
	}
	return a == b
}

func TestTemplate(t *testing.T) {
	src := `name: t
start: s
variables: {balance: number, who: string}
nodes:
  s:
    say: "Hi {{ who }}, you owe <say-as interpret-as=\"currency\">{{ balance }}</say-as>. AT&T &amp; co.<break time=\"1s\"/>Bye."
    next: u
    on: {error: z}
  u:
    say: "Plain {{ who }} & {{ balance * 2 }}"
    next: z
    on: {error: z}
  z:
    hangup:
`
	f, err := Parse(nil, "t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"who": "<Bob & Co>", "balance": 12.0}
	s := f.Nodes["s"].Action.(*Say).Msg.For("zh").Text // falls back to the flow's language
	if !s.SSML || s.Static() || len(s.Exprs()) != 2 || s.String() != s.Src {
		t.Errorf("template %+v", s)
	}
	got, err := s.Render(vars)
	want := `Hi &lt;Bob &amp; Co&gt;, you owe <say-as interpret-as="currency">12</say-as>. AT&amp;T &amp; co.<break time="1s"/>Bye.`
	if err != nil || got != want {
		t.Errorf("Render\n got %s\nwant %s", got, want)
	}
	got, err = s.Text(vars)
	if want := "Hi <Bob & Co>, you owe 12. AT&T & co. Bye."; err != nil || got != want {
		t.Errorf("Text\n got %s\nwant %s", got, want)
	}
	u := f.Nodes["u"].Action.(*Say).Msg.For("en").Text
	if got, err := u.Render(vars); u.SSML || err != nil || got != "Plain <Bob & Co> & 24" {
		t.Errorf("plain Render = %q, %v", got, err)
	}
	if got, _ := u.Text(vars); got != "Plain <Bob & Co> & 24" {
		t.Errorf("plain Text = %q", got)
	}
	if got, _ := (*Template)(nil).Render(nil); got != "" {
		t.Error("nil template")
	}
}

func TestSplitTemplate(t *testing.T) {
	tests := []struct {
		src      string
		lits     int
		exprs    []string
		problems string
	}{
		{"plain", 1, nil, ""},
		{"{{a}}{{ b }}", 3, []string{"a", " b "}, ""},
		{"x {{ }} y", 2, []string{" "}, "empty {{ }}"},
		{"x {{ a", 1, nil, `"{{" is not closed`},
		{"x }} y", 1, nil, `"}}" without "{{"`},
		{"é{{ a }}", 2, []string{" a "}, ""},
	}
	for _, tt := range tests {
		lits, exprs, problems := splitTemplate(tt.src)
		var srcs []string
		for _, e := range exprs {
			srcs = append(srcs, e.src)
		}
		var msgs []string
		for _, p := range problems {
			msgs = append(msgs, p.msg)
		}
		if len(lits) != tt.lits || strings.Join(srcs, "|") != strings.Join(tt.exprs, "|") || !strings.Contains(strings.Join(msgs, "|"), tt.problems) {
			t.Errorf("%q: lits %q exprs %q problems %q", tt.src, lits, srcs, msgs)
		}
	}
	if _, exprs, _ := splitTemplate("é{{ a }}"); exprs[0].at != 3 {
		t.Errorf("rune offset %d, want 3", exprs[0].at)
	}
}

func TestSSML(t *testing.T) {
	langs := []string{"en", "zh"}
	tests := []struct {
		text string
		errs string // "" = valid; else the messages joined by |
	}{
		{"plain text, AT&T", ""},
		{`<p><s>One.</s><s>Two.</s></p>`, ""},
		{`<break/><break time="500ms"/><break strength="strong"></break>`, ""},
		{`<say-as interpret-as="date" format="dmy">1/2/2026</say-as>`, ""},
		{`<lang xml:lang="zh">你好</lang> <voice name="cmn">x</voice> <prosody rate="90%" volume="+6dB">y</prosody>`, ""},
		{`&lt; &#65; &#x4e2d;`, ""},
		{`<break time="11s"/>`, "must be at most 10s"},
		{`<break time="fast"/>`, "must be a time such as 500ms or 2s"},
		{`<break>x`, "<break> holds no content; write <break/>"},
		{`<say-as>x</say-as>`, "requires the attribute interpret-as"},
		{`<say-as interpret-as="digits" format="dmy">1</say-as>`, "format applies only to"},
		{`<say-as interpret-as="digits"><p>1</p></say-as>`, "cannot be inside <say-as>"},
		{`<s><p>x</p></s>`, "<p> cannot be inside <s>"},
		{`<s><s>x</s></s>`, "<s> cannot be inside <s>"},
		{`<lang xml:lang="fr">x</lang>`, "which the flow does not declare"},
		{`<lang xml:lang="Fr!">x</lang>`, "must be a language code"},
		{`<voice name="a b">x</voice>`, "must be a voice name"},
		{`<prosody pitch="high">x</prosody>`, "unknown attribute pitch of <prosody>|needs rate or volume"},
		{`<prosody rate="warp">x</prosody>`, "must be x-slow"},
		{`<prosody volume="11">x</prosody>`, "must be silent"},
		{`<p>x`, "<p> is not closed"},
		{`x</p>`, "closing tag </p> has no matching <p>"},
		{`<p></s>`, "closing tag </s> does not match the open <p>|<p> is not closed"},
		{`<emphasis>x</emphasis>`, "unknown SSML element <emphasis>"},
		{`1 < 2`, `"<" does not start an SSML tag`},
		{`<p`, `"<" does not start an SSML tag`},
		{`<p a="1" a="2">x</p>`, "takes no attributes"},
		{`<break time=500ms/>`, "malformed SSML attribute"},
		{`<break time="1s/>`, "value has no closing quote"},
		{`<breaktime="1s"/>`, "unknown SSML element <breaktime"},
		{`<break time="1s" time="2s"/>`, "is given twice"},
		{`</p x>`, "malformed closing tag|has no matching"},
		{`&bogus;`, "unknown character reference"},
		{"<break time=\"\uE000\"/>", "cannot be used inside an SSML tag"},
	}
	for _, tt := range tests {
		_, errs := checkSSML([]rune(tt.text), langs)
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.msg)
		}
		got := strings.Join(msgs, "|")
		if tt.errs == "" && got != "" || tt.errs != "" && !strings.Contains(got, strings.Split(tt.errs, "|")[0]) {
			t.Errorf("%q: %q, want %q", tt.text, got, tt.errs)
		}
	}
	if got := stripSSML(`<p>Hi<break/>there &amp; <s>you</s></p>`); got != "Hi there & you" {
		t.Errorf("stripSSML = %q", got)
	}
	if got := escapeAmp("AT&T &amp; &#65; &x"); got != "AT&amp;T &amp; &#65; &amp;x" {
		t.Errorf("escapeAmp = %q", got)
	}
}

// TestValuePos checks that problems inside a YAML value are placed at the character,
// for the scalar styles.
func TestValuePos(t *testing.T) {
	tests := []struct {
		src  string
		off  int // rune offset in the value
		want string
	}{
		{"k: hello world\n", 6, "1:10"},
		{"k: \"say \\\"hi\\\" {{ x }}\"\n", 12, "1:19"},
		{"k: 'it''s {{ x }}'\n", 8, "1:14"},
		{"k: |\n  line one\n  line {{ x }}\n", 14, "3:8"},
		{"k: >\n  folded\n  text {{ x }}\n", 12, "3:8"},
		{"k: {a: 1, b: \"你好 {{ x }}\"}\n", 3, "1:18"},
		{"k: plain\n  continued {{ x }}\n", 16, "2:13"},
		{"k: x\n", 0, "1:4"},
	}
	for _, tt := range tests {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
			t.Fatal(err)
		}
		v := doc.Content[0].Content[1]
		if v.Kind == yaml.MappingNode {
			v = v.Content[3]
		}
		p := &parser{reporter: reporter{file: "f"}, data: []byte(tt.src), lines: lineStarts([]byte(tt.src))}
		got := p.valuePos(v, tt.off)
		if s := strings.TrimPrefix(got.String(), "f:"); s != tt.want {
			t.Errorf("%q at %d (%q): %s, want %s", tt.src, tt.off, string([]rune(v.Value)[tt.off:]), s, tt.want)
		}
	}
}
