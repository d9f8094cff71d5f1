package flows

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden from the current output")

// TestInvalid loads each testdata/invalid/*.yaml and compares the complete error
// output with the .golden file beside it. Run with -update after changing messages,
// then review the diff.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	env, err := LoadEnv("testdata/valid/env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			f, err := Load(file, WithEnv(env))
			if err == nil {
				t.Fatalf("loaded %q without errors; want errors", f.Name)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			if f != nil {
				t.Errorf("flow is not nil despite errors")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	env, err := LoadEnv("testdata/valid/env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, file := range append(files, "hotline.yaml") {
		if isEnvFile(file) {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := Load(file, WithEnv(env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			checkInvariants(t, f)
		})
	}
}

// checkInvariants checks what a loaded Flow promises the runtime.
func checkInvariants(t *testing.T, f *Flow) {
	t.Helper()
	if f.Nodes[f.Start] == nil {
		t.Errorf("start %q is not a node", f.Start)
	}
	if len(f.Order) != len(f.Nodes) || len(f.Version) != 12 {
		t.Errorf("order %d names for %d nodes, version %q", len(f.Order), len(f.Nodes), f.Version)
	}
	for _, name := range f.Order {
		n := f.Nodes[name]
		if n == nil || n.Name != name {
			t.Fatalf("node %q missing or misnamed", name)
		}
		typ := lookupType(n.Type)
		if typ == nil || reflect.TypeOf(n.Action) != reflect.TypeOf(typ.newAction()) {
			t.Errorf("node %q: type %q with action %T", name, n.Type, n.Action)
			continue
		}
		for _, o := range typ.outcomes {
			if o == OutcomeOK && n.Branch != nil && n.Type == "gather" {
				continue
			}
			if f.Nodes[n.Routes[o]] == nil {
				t.Errorf("node %q: outcome %s routes to %q", name, o, n.Routes[o])
			}
		}
		for _, target := range n.Targets() {
			if f.Nodes[target] == nil {
				t.Errorf("node %q: target %q is not a node", name, target)
			}
		}
		checkCompiled(t, name, reflect.ValueOf(n.Action))
	}
	if f.Languages[f.Language] == nil || f.scope == nil || (f.OnHangup != "" && f.Nodes[f.OnHangup] == nil) {
		t.Errorf("language %q of %v, on_hangup %q", f.Language, f.Languages, f.OnHangup)
	}
	for _, p := range f.Prompts {
		if p.For(f.Language) == nil {
			t.Errorf("prompt %q has no text in %s", p.Name, f.Language)
		}
	}
}

// checkCompiled checks that every expression and template reachable from v is
// compiled, and every prompt has the flow's language.
func checkCompiled(t *testing.T, node string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		switch x := v.Interface().(type) {
		case *Expr:
			if x.Program == nil || x.scope == nil || x.Pos.Line == 0 || x.Type == TypeUnknown {
				t.Errorf("node %q: expression %q not compiled: %+v", node, x.Src, x)
			}
			return
		case *Template:
			for _, e := range x.Exprs() {
				checkCompiled(t, node, reflect.ValueOf(e))
			}
			return
		case *Prompt:
			if x.For(x.lang) == nil {
				t.Errorf("node %q: prompt without its flow's language", node)
			}
			for _, pt := range x.Langs {
				if (pt.Text == nil) == (pt.File == "") {
					t.Errorf("node %q: prompt text %+v is neither text nor file", node, pt)
				}
				checkCompiled(t, node, reflect.ValueOf(pt.Text))
			}
			return
		case *Flow, *Calendar, *Endpoint, *QueueTarget, *Trunk:
			return
		}
		checkCompiled(t, node, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				checkCompiled(t, node, v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			checkCompiled(t, node, v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			checkCompiled(t, node, v.MapIndex(k))
		}
	}
}

func TestSample(t *testing.T) {
	f, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, f)
	if f.Name != "hotline" || f.Start != "welcome" || f.File != "hotline.yaml" || f.FS == nil || f.EarlyMedia {
		t.Errorf("flow = %q start %q file %q fs %v early media %v", f.Name, f.Start, f.File, f.FS, f.EarlyMedia)
	}
	menu := f.Nodes["main_menu"]
	wantBranch := map[string]string{"1": "billing", "2": "support", "0": "agent"}
	wantRoutes := map[Outcome]string{OutcomeNoInput: "no_input_goodbye", OutcomeNoMatch: "no_input_goodbye", OutcomeError: "apology"}
	if !reflect.DeepEqual(menu.Branch, wantBranch) || !reflect.DeepEqual(menu.Routes, wantRoutes) {
		t.Errorf("main_menu branch %v routes %v", menu.Branch, menu.Routes)
	}
	// The disk copy and the embedded copy are the same file.
	env, err := LoadEnv("env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	disk, err := Load("hotline.yaml", WithEnv(env))
	if err != nil || disk.Version != f.Version {
		t.Errorf("disk copy: %v, version %v vs %v", err, disk, f.Version)
	}
}

// TestFull checks every decoded value of a flow that uses every node type and form.
func TestFull(t *testing.T) {
	f, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	beep := filepath.Join("testdata", "valid", "sounds", "beep.wav")
	tests := []struct {
		node   string
		action any
		routes map[Outcome]string
		branch map[string]string
	}{
		{"intro", &Say{Text: "Welcome.", Voice: "en-gb", BargeIn: true},
			map[Outcome]string{OutcomeOK: "chime", OutcomeError: "sorry"}, nil},
		{"chime", &Play{File: beep, BargeIn: true},
			map[Outcome]string{OutcomeOK: "long_say", OutcomeError: "sorry"}, nil},
		{"long_say", &Say{Text: "Long form: with a colon.", Voice: "en-us"},
			map[Outcome]string{OutcomeOK: "long_play", OutcomeError: "sorry"}, nil},
		{"long_play", &Play{File: beep},
			map[Outcome]string{OutcomeOK: "account", OutcomeError: "sorry"}, nil},
		{"account", &Gather{Prompt: "Enter your account number.", Voice: "en-gb", MinDigits: 4, MaxDigits: 8,
			FinishKey: "#", Timeout: 10 * time.Second, InterDigitTimeout: 2500 * time.Millisecond,
			Retries: 0, Var: "account_no", BargeIn: true},
			map[Outcome]string{OutcomeOK: "confirm", OutcomeNoInput: "sorry", OutcomeNoMatch: "sorry", OutcomeError: "sorry"}, nil},
		{"confirm", &Gather{Voice: "en-gb", PlayFile: beep, MinDigits: 1, MaxDigits: 1,
			Timeout: 10 * time.Second, InterDigitTimeout: 2500 * time.Millisecond, Var: "account_no"},
			map[Outcome]string{OutcomeNoInput: "sorry", OutcomeNoMatch: "sorry", OutcomeError: "sorry"},
			map[string]string{"1": "done", "*": "account", "#": "sorry", "A": "loop"}},
		{"loop", &Goto{Target: "account"}, nil, nil},
		{"done", &Hangup{Disposition: DispositionResolved, Reason: "account confirmed"}, nil, nil},
		{"failed", &Hangup{Disposition: DispositionUnresolved}, nil, nil},
	}
	for _, tt := range tests {
		n := f.Nodes[tt.node]
		if n == nil {
			t.Errorf("no node %q", tt.node)
			continue
		}
		if got := legacy(n.Action); !reflect.DeepEqual(got, tt.action) {
			t.Errorf("%s: action\n got %+v\nwant %+v", tt.node, got, tt.action)
		}
		if !reflect.DeepEqual(n.Routes, tt.routes) || !reflect.DeepEqual(n.Branch, tt.branch) {
			t.Errorf("%s: routes %v branch %v, want %v %v", tt.node, n.Routes, n.Branch, tt.routes, tt.branch)
		}
	}
	if got := f.Nodes["intro"].Description; got != "Scalar say." {
		t.Errorf("description = %q", got)
	}
	if want := []string{"account", "done", "loop", "sorry"}; !reflect.DeepEqual(f.Nodes["confirm"].Targets(), want) {
		t.Errorf("Targets() = %v, want %v", f.Nodes["confirm"].Targets(), want)
	}
	if p := f.Nodes["intro"].Pos; p.String() != "testdata/valid/full.yaml:11:3" {
		t.Errorf("intro at %v", p)
	}
	r, err := f.Open(f.Nodes["chime"].Action.(*Play).File)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r.Close()
}

// legacy returns a copy of action a with only the fields of the first version of
// the format, whose values must not change.
func legacy(a any) any {
	switch x := a.(type) {
	case *Say:
		return &Say{Text: x.Text, Voice: x.Voice, BargeIn: x.BargeIn}
	case *Gather:
		c := *x
		c.Input, c.Speech, c.Confirm, c.PromptMsg, c.NoInputMsg, c.NoMatchMsg, c.Voices = "", nil, nil, nil, nil, nil, nil
		return &c
	}
	return a
}

// flowWith returns a flow file whose gather node has the given field lines.
func flowWith(gather string) string {
	return "name: t\nstart: g\ndefaults: {error: z, no_input: z, no_match: z}\nnodes:\n" +
		"  g:\n    gather:\n      " + gather + "\n    next: z\n  z:\n    hangup:\n"
}

func TestDurations(t *testing.T) {
	const bad = "t.yaml:7:16: node \"g\": gather.timeout must be a duration such as 5s, 500ms or 1m30s, or a number of seconds, got "
	const rng = "t.yaml:7:16: node \"g\": gather.timeout must be more than 0 and at most 1h, got "
	tests := []struct {
		value string
		want  time.Duration
		err   string
	}{
		{"5s", 5 * time.Second, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{"7", 7 * time.Second, ""},
		{"0.25", 250 * time.Millisecond, ""},
		{`"8"`, 0, bad + `"8"`},
		{"1h", time.Hour, ""},
		{"3600", time.Hour, ""},
		{"0x10", 16 * time.Second, ""},
		{"0", 0, rng + `"0"`},
		{"0s", 0, rng + `"0s"`},
		{"-5s", 0, rng + `"-5s"`},
		{"-1", 0, rng + `"-1"`},
		{"1h1s", 0, rng + `"1h1s"`},
		{"3600.5", 0, rng + `"3600.5"`},
		{"1e300", 0, rng + `"1e300"`},
		{".inf", 0, rng + `".inf"`},
		{".nan", 0, bad + `".nan"`},
		{"1e-12", 0, rng + `"1e-12"`},
		{"5 s", 0, bad + `"5 s"`},
		{"five", 0, bad + `"five"`},
		{"true", 0, bad + `"true"`},
		{"~", 0, bad + "nothing"},
		{"[5s]", 0, bad + "a list"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			f, err := Parse(nil, "t.yaml", []byte(flowWith("timeout: "+tt.value)))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error\n got %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Nodes["g"].Action.(*Gather).Timeout; got != tt.want {
				t.Errorf("timeout = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGatherDefaults(t *testing.T) {
	tests := []struct {
		fields     string
		finish     string
		min, max   int
		retries    int
		varName    string
		timeout    time.Duration
		interDigit time.Duration
	}{
		{"prompt: Hi", "", 1, 1, 1, "digits", DefaultTimeout, DefaultInterDigitTimeout},
		{"max_digits: 4", "#", 1, 4, 1, "digits", DefaultTimeout, DefaultInterDigitTimeout},
		{`{max_digits: 4, finish_key: ""}`, "", 1, 4, 1, "digits", DefaultTimeout, DefaultInterDigitTimeout},
		{`{max_digits: 4, finish_key: "*", min_digits: 4}`, "*", 4, 4, 1, "digits", DefaultTimeout, DefaultInterDigitTimeout},
		{`{max_digits: 1, finish_key: "#"}`, "#", 1, 1, 1, "digits", DefaultTimeout, DefaultInterDigitTimeout},
		{"{retries: 0, var: pin, timeout: 2, inter_digit_timeout: 1s}", "", 1, 1, 0, "pin", 2 * time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.fields, func(t *testing.T) {
			src := flowWith(tt.fields)
			if strings.HasPrefix(tt.fields, "{") {
				src = strings.Replace(src, "gather:\n      ", "gather: ", 1)
			}
			f, err := Parse(nil, "t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			g := f.Nodes["g"].Action.(*Gather)
			if g.FinishKey != tt.finish || g.MinDigits != tt.min || g.MaxDigits != tt.max || g.Retries != tt.retries ||
				g.Var != tt.varName || g.Timeout != tt.timeout || g.InterDigitTimeout != tt.interDigit || !g.BargeIn {
				t.Errorf("got %+v", g)
			}
		})
	}
}

// TestSyntaxErrorLines checks that YAML syntax errors name the line of the problem,
// not the line yaml.v3 names (where the enclosing block starts).
func TestSyntaxErrorLines(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"name: x\nnodes:\n  a:\n    say: hi\n   next: b\n", "t.yaml:5:4: invalid YAML: did not find expected key"},
		{"name: x\nnodes:\n  a:\n    say: hi: there\n", "t.yaml:4:5: invalid YAML: mapping values are not allowed in this context"},
		{"a: \"x\n  y\"\nb: [1,\n  2]\nc:\n  d: 1\n e: 2\n", "t.yaml:7:2: invalid YAML: did not find expected key"},
		{"name: x\nb: *nope\n", "t.yaml:2:1: invalid YAML: unknown anchor 'nope' referenced"},
		{"a: {b: 1}}\n", "t.yaml:1:1: invalid YAML: did not find expected key"},
		{"name: x\n\tstart: a\n", "t.yaml:2:2: invalid YAML: found a tab character that violates indentation"},
		{"name: x\nsay: \x01\n", "t.yaml:2:6: character U+0001 is not allowed in YAML"},
		{"name: x\nsay: caf\xe9\n", "t.yaml:2:9: invalid UTF-8 (byte 0xe9); flow files must be UTF-8 text"},
		{"a: 1\n---\nb: [\n", "t.yaml:3:1: invalid YAML: did not find expected node content"},
	}
	for _, tt := range tests {
		_, err := Parse(nil, "t.yaml", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q)\n got %v\nwant %s", tt.src, err, tt.want)
		}
	}
}

func TestPlayInFS(t *testing.T) {
	fsys := fstest.MapFS{
		"flows/ivr.yaml":          {},
		"flows/sounds/hello.wav":  {Data: []byte("RIFF")},
		"shared/sounds/hello.wav": {Data: []byte("RIFF")},
	}
	tests := []struct {
		file string
		want string // resolved path, or the error
	}{
		{"sounds/hello.wav", "flows/sounds/hello.wav"},
		{"../shared/sounds/hello.wav", "shared/sounds/hello.wav"},
		{"sounds/bye.wav", `flows/ivr.yaml:5:13: node "p": play.file "sounds/bye.wav" does not exist (looked for "flows/sounds/bye.wav")`},
		{"/sounds/hello.wav", `flows/ivr.yaml:5:13: node "p": play.file "/sounds/hello.wav" must be a relative path inside the flow's file system`},
		{"../../etc/x.wav", `flows/ivr.yaml:5:13: node "p": play.file "../../etc/x.wav" must be a relative path inside the flow's file system`},
		{"sounds", `flows/ivr.yaml:5:13: node "p": play.file must name a .wav file, got "sounds"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src := "name: t\nstart: p\ndefaults: {error: z}\nnodes:\n  p: {play: " + tt.file + ", next: z}\n  z: {hangup: }\n"
			fsys["flows/ivr.yaml"].Data = []byte(src)
			f, err := LoadFS(fsys, "flows/ivr.yaml")
			if err != nil {
				if err.Error() != tt.want {
					t.Fatalf("error\n got %v\nwant %s", err, tt.want)
				}
				return
			}
			p := f.Nodes["p"].Action.(*Play)
			if p.File != tt.want {
				t.Fatalf("file = %q, want %q", p.File, tt.want)
			}
			r, err := f.Open(p.File)
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("testdata/no-such-file.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadFS(Samples, "nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFS(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := LoadDir("testdata/no-such-dir"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadDir(missing) = %v, want fs.ErrNotExist", err)
	}
	_, err := Load("testdata/invalid/targets.yaml")
	var first *Error
	if !errors.As(err, &first) || first.Pos.Line == 0 {
		t.Errorf("errors.As(*Error) = %v", first)
	}
}

func TestLoadDir(t *testing.T) {
	flows, err := LoadDir("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range flows {
		names = append(names, f.Name)
	}
	if want := []string{"every-node", "full-featured_1", "menu-loop", "minimal"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}

	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const ok = "name: same\nstart: a\nnodes:\n  a: {hangup: }\n"
	write("a.yaml", ok)
	write("b.yml", ok)
	write("c.yaml", "name: other\nstart: a\nnodes:\n  a: {hangup: , next: a}\n")
	write(".#a.yaml", "editor lock file, ignored")
	write("notes.txt", "ignored")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = LoadDir(dir)
	want := filepath.Join(dir, "b.yml") + `:1:7: flow name "same" is already used at ` + filepath.Join(dir, "a.yaml") + ":1:7\n" +
		filepath.Join(dir, "c.yaml") + `:4:23: node "a": hangup has no outcomes to route; remove next`
	if err == nil || err.Error() != want {
		t.Errorf("LoadDir errors\n got %v\nwant %s", err, want)
	}

	if flows, err := LoadDir(t.TempDir()); err != nil || len(flows) != 0 {
		t.Errorf("empty dir: %v, %v", flows, err)
	}
}

func TestErrors(t *testing.T) {
	es := Errors{
		{Pos{"b.yaml", 1, 1}, "third"},
		{Pos{"a.yaml", 2, 5}, "second"},
		{Pos{"a.yaml", 2, 1}, "first"},
		{Pos{"a.yaml", 2, 5}, "second"},
	}
	got := es.sorted().Error()
	if want := "a.yaml:2:1: first\na.yaml:2:5: second\nb.yaml:1:1: third"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if Errors(nil).sorted() != nil {
		t.Error("empty Errors is not a nil error")
	}
	for _, tt := range []struct {
		pos  Pos
		want string
	}{
		{Pos{"f.yaml", 3, 7}, "f.yaml:3:7"},
		{Pos{"f.yaml", 3, 0}, "f.yaml:3"},
		{Pos{"f.yaml", 0, 0}, "f.yaml"},
		{Pos{"", 3, 7}, "3:7"},
		{Pos{}, ""},
	} {
		if got := tt.pos.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.pos, got, tt.want)
		}
	}
	if got, want := quote(strings.Repeat("é", 50)), `"`+strings.Repeat("é", 40)+`…"`; got != want {
		t.Errorf("quote(long) = %s, want %s", got, want)
	}
	if got := (&Error{Msg: "m"}).Error(); got != "m" {
		t.Errorf("Error without position = %q", got)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"next", "on", "branch", "max_digits", "min_digits", "inter_digit_timeout"}
	tests := []struct{ word, want string }{
		{"nxt", " (did you mean next?)"},
		{"max_digit", " (did you mean max_digits?)"},
		{"Max-Digits", " (did you mean max_digits?)"},
		{"inter_digit_timout", " (did you mean inter_digit_timeout?)"},
		{"no", ""}, // a transposition costs 2: too far for a 2-letter word
		{"xy", ""},
		{"prompt", ""},
		{"", ""},
		{strings.Repeat("a", 100), ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.word, known); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// decodable reports whether setField (with the parser's hook) decodes type t.
func decodable(t reflect.Type) bool {
	switch t {
	case reflect.TypeFor[string](), reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[float64](),
		durationType, exprType, templateType, promptType, phrasesType, assignsType, stringsType, nodeType:
		return true
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Key().Kind() == reflect.String && decodable(t.Elem())
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Pointer && t.Elem().Elem().Kind() == reflect.Struct && decodable(t.Elem())
	case reflect.Pointer:
		if t.Elem().Kind() != reflect.Struct {
			return false
		}
		for _, f := range structFields(t.Elem()) {
			if !decodable(t.Elem().Field(f.index).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// TestRegistry checks that every node type can be decoded generically.
func TestRegistry(t *testing.T) {
	for _, typ := range actionTypes {
		v := reflect.TypeOf(typ.newAction())
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			t.Errorf("%s: newAction returns %v, want a pointer to struct", typ.name, v)
			continue
		}
		fields := structFields(v.Elem())
		var names []string
		for _, f := range fields {
			names = append(names, f.name)
			if ft := v.Elem().Field(f.index).Type; !decodable(ft) {
				t.Errorf("%s.%s has unsupported type %v", typ.name, f.name, ft)
			}
			if f.doc == "" {
				t.Errorf("%s.%s has no doc tag (the schema's description)", typ.name, f.name)
			}
		}
		if typ.doc == "" {
			t.Errorf("%s has no doc", typ.name)
		}
		if typ.scalar != "" && !strings.Contains(" "+strings.Join(names, " ")+" ", " "+typ.scalar+" ") {
			t.Errorf("%s: scalar field %q is not a field", typ.name, typ.scalar)
		}
		if typ.terminal && len(typ.outcomes) > 0 {
			t.Errorf("%s: terminal types have no outcomes", typ.name)
		}
	}
}

// TestDocExamples checks that the YAML examples of the package documentation parse.
func TestDocExamples(t *testing.T) {
	data, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	var cur []string
	for _, line := range strings.Split(string(data), "\n") {
		if ex, ok := strings.CutPrefix(line, "//\t"); ok {
			cur = append(cur, ex)
			continue
		}
		if cur != nil {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	n := 0
	for _, b := range blocks {
		text := strings.Join(b, "\n")
		if strings.Contains(text, ".yaml:") || strings.Contains(text, "...") {
			continue // error messages, elided examples
		}
		// A block whose lines all set the same key shows alternatives, one per line.
		key, _, _ := strings.Cut(b[0], ":")
		alternatives := len(b) > 1
		for _, l := range b {
			alternatives = alternatives && strings.HasPrefix(l, key+":")
		}
		examples := []string{text}
		if alternatives {
			examples = b
		}
		for _, ex := range examples {
			n++
			var v any
			if err := yaml.Unmarshal([]byte(ex), &v); err != nil {
				t.Errorf("doc example does not parse: %v\n%s", err, ex)
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d examples found", n)
	}
}
