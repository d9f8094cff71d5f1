package flows

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestSamples loads the shipped flows the way the engine does (LoadDir on this
// directory, env.yaml beside them) and checks the telecom flow's main paths.
func TestSamples(t *testing.T) {
	list, err := LoadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Flow{}
	for _, f := range list {
		checkInvariants(t, f)
		byName[f.Name] = f
	}
	if len(list) != 2 || byName["hotline"] == nil || byName["telecom"] == nil {
		t.Fatalf("flows %v", byName)
	}
	f := byName["telecom"]
	if f.Language != "en" || f.VoiceFor("zh") != "cmn" || f.VoiceFor("en") != "en-us" || f.OnHangup != "call_ended" || f.MaxSteps != 300 {
		t.Errorf("telecom: language %s voices %s/%s on_hangup %s max_steps %d", f.Language, f.VoiceFor("en"), f.VoiceFor("zh"), f.OnHangup, f.MaxSteps)
	}
	if f.Env == nil || filepath.Base(f.Env.File) != "env.yaml" {
		t.Errorf("env %v", f.Env)
	}
	if want := map[string]string{"1": "english", "2": "mandarin"}; !reflect.DeepEqual(f.Nodes["language_menu"].Branch, want) {
		t.Errorf("language menu %v", f.Nodes["language_menu"].Branch)
	}
	lookup := f.Nodes["billing_lookup"].Action.(*HTTP)
	if lookup.Target.URL != "http://127.0.0.1:8099" || lookup.Method != "GET" || lookup.Timeout != 3*time.Second {
		t.Errorf("billing lookup: %+v", lookup)
	}
	path, err := lookup.Path.Render(map[string]any{"account": "123456"})
	if err != nil || path != "/accounts/123456" {
		t.Errorf("path %q %v", path, err)
	}
	q := f.Nodes["complaint_queue"].Action.(*Queue)
	if p, err := q.Priority.Eval(nil); q.Target.ID != "complaints" || err != nil || p != 9 || q.Skills["complaints"] != 3 {
		t.Errorf("complaint queue %+v priority %v %v", q, p, err)
	}
	care := f.Nodes["care_queue"].Action.(*Queue)
	if p, _ := care.Priority.Eval(map[string]any{"vip": true}); p != 5 || care.Timeout != 10*time.Minute {
		t.Errorf("care queue priority %v timeout %v", p, care.Timeout)
	}
	wait := f.Nodes["wait_check"].Action.(*Switch)
	long, err := wait.Cases[0].When.Eval(map[string]any{"queue_wait": func(string) int { return 300 }})
	if err != nil || long != true || wait.Default != "care_queue" {
		t.Errorf("wait check: %v %v default %s", long, err, wait.Default)
	}
	hours := f.Nodes["agent_hours"].Action.(*Hours)
	if hours.Calendar.Name != "main" || hours.Calendar.Location.String() != "Europe/Paris" {
		t.Errorf("hours %+v", hours.Calendar)
	}
	menu := f.Nodes["main_menu"].Action.(*Menu)
	if menu.Input != InputDTMFSpeech || len(menu.Keys) != 5 || menu.Choices["2"].Phrases["zh"][0] != "故障" || menu.Voices["zh"] != "cmn" {
		t.Errorf("main menu %+v", menu)
	}
	zh := menu.Prompt.For("zh").Text
	if !strings.HasPrefix(zh.Src, "查询余额") || menu.NoInputPrompt.Name != "no_input" {
		t.Errorf("main menu prompts %q %+v", zh.Src, menu.NoInputPrompt)
	}
	say := f.Nodes["balance_report"].Action.(*Say)
	text, err := say.Msg.For("en").Text.Text(map[string]any{"balance": 42.5, "currency": "EUR", "last_bill": 39.9, "due_date": "2026-08-01"})
	if want := "Your balance is 42.5 EUR. Your last bill was 39.9 EUR, due on 2026-08-01."; err != nil || text != want {
		t.Errorf("balance report\n got %q\nwant %q", text, want)
	}
	if say.Voices["zh"] != "cmn" || say.Text != say.Msg.For("en").Text.Src {
		t.Errorf("say voices %v text %q", say.Voices, say.Text)
	}
	in := f.Nodes["describe"].Action.(*Intent)
	if in.Threshold != 0.6 || len(in.Intents) != 4 || f.Nodes["describe"].Branch["complaint"] != "complaint_hours" {
		t.Errorf("describe %+v %v", in, f.Nodes["describe"].Branch)
	}
	if f.Intents["complaint"].Phrases["zh"][0] != "我要投诉" {
		t.Errorf("intents %+v", f.Intents["complaint"])
	}
	tr := f.Nodes["business_line"].Action.(*Transfer)
	if to, _ := tr.To.Render(nil); to != "+15550100" || tr.TrunkTarget.Name != "carrier" || tr.Mode != TransferBlind {
		t.Errorf("transfer %q %+v", to, tr)
	}
	if f.Variables["satisfaction"] != TypeInt || f.Variables["voicemail"] != TypeString {
		t.Errorf("variables %v", f.Variables)
	}

	// The embedded copies load the same way.
	env, err := LoadEnvFS(Samples, "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if g, err := LoadFS(Samples, "telecom.yaml", WithEnv(env)); err != nil || g.Version != f.Version {
		t.Errorf("embedded telecom: %v", err)
	}
	if _, err := LoadEnvFS(Samples, "nope.yaml"); err == nil {
		t.Error("LoadEnvFS(missing) succeeded")
	}
}

// TestSchemaSamples validates every sample and valid test flow against schema.json,
// and checks that the validator rejects what the schema forbids.
func TestSchemaSamples(t *testing.T) {
	schema := readSchema(t).(map[string]any)
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	files = append(files, "hotline.yaml", "telecom.yaml")
	for _, file := range files {
		if isEnvFile(file) {
			continue
		}
		var doc any
		if err := yaml.Unmarshal(mustRead(t, file), &doc); err != nil {
			t.Fatal(err)
		}
		for _, e := range validate(schema, schema, normalize(doc), file) {
			t.Error(e)
		}
	}
	bad := []struct{ src, want string }{
		{"name: x\nstart: a\nnodes: {a: {say: hi, play: x.wav}}", "matches 2 of oneOf"},
		{"name: x\nstart: a\nnodes: {a: {sya: hi}}", `unknown property "sya"`},
		{"name: x\nstart: a\nnodes: {a: {gather: {max_digits: many}}}", "want type integer"},
		{"name: X\nstart: a\nnodes: {a: {hangup: }}", "does not match"},
		{"name: x\nnodes: {a: {hangup: }}", `missing required property "start"`},
		{"name: x\nstart: a\nnodes: {a: {hangup: done}}", "is not one of"},
		{"name: x\nstart: a\nnodes: {a: {queue: {name: q, skills: {x: 9}}}}", "> maximum 5"},
		{"name: x\nstart: a\nnodes: {a: {pause: -1}}", "exclusiveMinimum"},
		{"name: x\nstart: a\nvariables: {a: integer}\nnodes: {a: {hangup: }}", "is not one of"},
		{"name: x\nstart: a\nnodes: {a: {switch: []}}", "fewer than 1 items"},
	}
	for _, tt := range bad {
		var doc any
		if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
			t.Fatal(err)
		}
		errs := strings.Join(validate(schema, schema, normalize(doc), ""), "\n")
		if !strings.Contains(errs, tt.want) {
			t.Errorf("%q: schema errors\n%s\nwant %q", tt.src, errs, tt.want)
		}
	}
}

// TestEveryNode checks decoded values of the flow that uses every node type.
func TestEveryNode(t *testing.T) {
	list, err := LoadDir("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	var f *Flow
	for _, g := range list {
		if g.Name == "every-node" {
			f = g
		}
	}
	var seen []string
	for _, n := range f.Nodes {
		seen = append(seen, n.Type)
	}
	for _, typ := range Types() {
		if !strings.Contains(" "+strings.Join(seen, " ")+" ", " "+typ+" ") {
			t.Errorf("every_node.yaml has no %s node", typ)
		}
	}
	g := f.Nodes["account"].Action.(*Gather)
	if g.Timeout != 7*time.Second || g.InterDigitTimeout != DefaultInterDigitTimeout || g.Speech.Timeout != 4*time.Second ||
		g.Speech.Language != "zh" || g.Confirm.No != "3" || g.Confirm.Timeout != 7*time.Second || g.PromptMsg.Name != "mixed" ||
		g.PromptMsg.For("zh").File == "" || g.NoInputPrompt != "Nothing?" || g.Speech.Phrases["en"][1] != "two" {
		t.Errorf("gather %+v speech %+v confirm %+v", g, g.Speech, g.Confirm)
	}
	m := f.Nodes["menu"].Action.(*Menu)
	if m.Var != "choice" || m.Retries != 2 || f.Nodes["menu"].Branch["#"] != "compute" || f.Variables["choice"] != TypeString {
		t.Errorf("menu %+v branch %v", m, f.Nodes["menu"].Branch)
	}
	set := f.Nodes["compute"].Action.(*Set)
	if len(set.Assign) != 6 || set.Assign[0].Var != "balance" || set.Assign[0].Value.Type != TypeNumber || set.Assign[5].Var != "language" {
		t.Errorf("set %+v", set.Assign)
	}
	h := f.Nodes["lookup"].Action.(*HTTP)
	if h.Timeout != 1500*time.Millisecond || h.Retries != 2 || h.Target.Headers["X-Api-Key"] != "test" || len(h.JSON) != 2 || h.Response[2].Value.Type != TypeMap {
		t.Errorf("http %+v", h)
	}
	notify := f.Nodes["notify"].Action.(*HTTP)
	if notify.Timeout != 2*time.Second || notify.Method != "PUT" || notify.URL.Static() {
		t.Errorf("notify %+v", notify)
	}
	in := f.Nodes["inline_hours"].Action.(*Hours)
	if len(in.Calendar.Weekly[time.Monday]) != 2 || in.Calendar.Weekly[time.Saturday] != nil || in.Calendar.Holidays[1] != (Holiday{0, time.October, 1}) {
		t.Errorf("inline hours %+v", in.Calendar)
	}
	q := f.Nodes["queue"].Action.(*Queue)
	if q.Target.ID != "q-care" || q.CallbackAfter != 2*time.Minute || q.Timeout != 15*time.Minute || q.HoldPrompt.For("en").File == "" {
		t.Errorf("queue %+v", q)
	}
	tr := f.Nodes["transfer"].Action.(*Transfer)
	if id, _ := tr.CallerIDNumber.Render(nil); id != "+15550199" || tr.Timeout != 25*time.Second || tr.Mode != TransferBridge {
		t.Errorf("transfer %+v", tr)
	}
	if sip := f.Nodes["sip"].Action.(*Transfer); sip.Timeout != 20*time.Second || sip.TrunkTarget != nil {
		t.Errorf("sip transfer %+v", sip)
	}
	r := f.Nodes["voicemail"].Action.(*Record)
	if r.Beep || r.MaxLength != time.Minute || r.EndOnSilence != 3*time.Second || r.FinishKey != "*" || r.Var != "message" {
		t.Errorf("record %+v", r)
	}
	tk := f.Nodes["ticket"].Action.(*Ticket)
	if tk.Priority != TicketUrgent || tk.NotifyTarget.Name != "api" || tk.Transcript || tk.Fields["vip"].Type != TypeBool {
		t.Errorf("ticket %+v", tk)
	}
	if p := f.Nodes["wait"].Action.(*Pause); p.Duration != 1500*time.Millisecond {
		t.Errorf("pause %v", p.Duration)
	}
	sub := f.Nodes["sub"].Action.(*Subflow)
	if sub.Target != f || sub.Args["depth"].Type != TypeInt || sub.Returns["score"] != "result" {
		t.Errorf("subflow %+v", sub)
	}
	sv := f.Nodes["survey"].Action.(*Survey)
	if len(sv.Questions) != 2 || sv.Questions[1].Var != "again" || f.Variables["rating"] != TypeInt || sv.Timeout != 4*time.Second || sv.Retries != 2 {
		t.Errorf("survey %+v", sv)
	}
	if hi := f.Nodes["hi"].Action.(*Say); hi.Voices["zh"] != "en-gb" || hi.Voice != "en-gb" || hi.Msg.For("zh").Text.Src != "嗨。" {
		t.Errorf("say %+v", hi)
	}
	if want := []string{"answer", "give_back", "sorry"}; !reflect.DeepEqual(f.Nodes["entry"].Targets(), want) {
		t.Errorf("switch targets %v", f.Nodes["entry"].Targets())
	}
	vars := f.NewVars()
	if vars["language"] != "en" || vars["balance"] != 0.0 || vars["rating"] != 0 || vars["caller"] != "" || len(vars) < len(f.Variables) {
		t.Errorf("NewVars %v", vars)
	}
	if o, ok := Outcomes("queue"); !ok || len(o) != 6 || o[0] != OutcomeCompleted {
		t.Errorf("Outcomes(queue) = %v", o)
	}
	if _, ok := Outcomes("nope"); ok {
		t.Error("Outcomes(nope)")
	}
}

func TestTimeoutInheritance(t *testing.T) {
	src := `name: t
start: a
timeouts: {gather: 9s}
defaults: {error: z, no_input: z, no_match: z}
nodes:
  a: {gather: {prompt: x}, next: b}
  b: {gather: {prompt: x, timeout: 2s, inter_digit_timeout: 1s}, next: c}
  c: {http: {url: "http://x/"}, next: z, on: {timeout: z}}
  z: {hangup: }
`
	f, err := Parse(nil, "t.yaml", []byte(src), WithTimeouts(Timeouts{InterDigit: 4 * time.Second, HTTP: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Nodes["a"].Action.(*Gather), f.Nodes["b"].Action.(*Gather)
	switch {
	case a.Timeout != 9*time.Second || a.InterDigitTimeout != 4*time.Second: // flow, engine
		t.Errorf("a: %v %v", a.Timeout, a.InterDigitTimeout)
	case b.Timeout != 2*time.Second || b.InterDigitTimeout != time.Second: // node
		t.Errorf("b: %v %v", b.Timeout, b.InterDigitTimeout)
	case f.Nodes["c"].Action.(*HTTP).Timeout != time.Second || f.Timeouts.Queue != 10*time.Minute:
		t.Errorf("c: %+v", f.Timeouts)
	}
}

func TestCalendar(t *testing.T) {
	env, err := ParseEnv("env.yaml", []byte(`calendars:
  main:
    timezone: Europe/Paris
    weekly: {mon-fri: "08:00-12:00, 14:00-20:00", "sat": "09:00-24:00", "fri-mon": closed}
    holidays: ["12-25", "2026-04-06"]
`))
	if err == nil {
		t.Fatalf("overlapping days accepted: %+v", env.Calendars["main"])
	}
	if !strings.Contains(err.Error(), "fri is already given at line 4") {
		t.Errorf("error %v", err)
	}
	env, err = ParseEnv("env.yaml", []byte(`calendars:
  main:
    timezone: Europe/Paris
    weekly: {mon-fri: "08:00-12:00, 14:00-20:00", sat: "09:00-24:00", sun: closed}
    holidays: ["12-25", "2026-04-06"]
`))
	if err != nil {
		t.Fatal(err)
	}
	c := env.Calendars["main"]
	paris, _ := time.LoadLocation("Europe/Paris")
	tests := []struct {
		at   time.Time
		want Outcome
	}{
		{time.Date(2026, 3, 2, 8, 0, 0, 0, paris), OutcomeOpen},     // Monday, at opening
		{time.Date(2026, 3, 2, 12, 0, 0, 0, paris), OutcomeClosed},  // lunch: the end is excluded
		{time.Date(2026, 3, 2, 19, 59, 0, 0, paris), OutcomeOpen},   //
		{time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC), OutcomeOpen},  // 08:00 in Paris (CET)
		{time.Date(2026, 7, 6, 6, 30, 0, 0, time.UTC), OutcomeOpen}, // 08:30 in Paris (CEST)
		{time.Date(2026, 3, 7, 23, 59, 0, 0, paris), OutcomeOpen},   // Saturday until midnight
		{time.Date(2026, 3, 8, 10, 0, 0, 0, paris), OutcomeClosed},  // Sunday
		{time.Date(2027, 12, 25, 10, 0, 0, 0, paris), OutcomeHoliday},
		{time.Date(2026, 4, 6, 10, 0, 0, 0, paris), OutcomeHoliday},
		{time.Date(2027, 4, 6, 10, 0, 0, 0, paris), OutcomeOpen},
	}
	for _, tt := range tests {
		if got := c.Status(tt.at); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.at, got, tt.want)
		}
	}
	for _, s := range []string{"8:00-20:00", "08:00-25:00", "20:00-08:00", "08:00-12:00,11:00-13:00", "nine to five"} {
		if _, msg := parseSpans(s); msg == "" {
			t.Errorf("parseSpans(%q) accepted", s)
		}
	}
	if days, msg := parseDays("fri-mon"); msg != "" || len(days) != 4 {
		t.Errorf("fri-mon: %v %s", days, msg)
	}
}

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "audio"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "env.yaml")
	good := `http:
  billing: {url: "http://127.0.0.1:8099", headers: {X-Key: k}, timeout: 2s}
queues: {care: , sales: {id: q7}}
trunks: {carrier: {}}
vars: {line: "+1555", n: 3, ratio: 1.5, on: true}
prompts_dir: audio
`
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := LoadEnv(file)
	if err != nil {
		t.Fatal(err)
	}
	if env.HTTP["billing"].Timeout != 2*time.Second || env.Queues["care"].ID != "care" || env.Queues["sales"].ID != "q7" ||
		env.Trunks["carrier"].Name != "carrier" || env.Vars["n"] != 3 || env.Vars["ratio"] != 1.5 || env.Vars["on"] != true ||
		env.PromptsDir != filepath.Join(dir, "audio") {
		t.Errorf("env %+v", env)
	}
	if env, err := ParseEnv("e.yaml", []byte("# nothing bound yet\n")); err != nil || len(env.Queues) != 0 {
		t.Errorf("empty env: %v %v", env, err)
	}
	bad := `http:
  billing: {url: "ftp://x", headers: {"a b": c}}
  other: {timeout: 2s}
queues: {care: {idd: x}}
calendars: {main: {timezone: Nowhere/City, weekly: {mon: "9-5"}}, x: 3}
vars: {caller: x, Bad: 1, list: [1], ok: ~}
prompts_dir: missing
extra: 1
`
	_, err = ParseEnv("env.yaml", []byte(bad))
	want := []string{
		`env.yaml:2:18: http.billing.url must be an http or https URL, got "ftp://x"`,
		`env.yaml:3:10: http.other requires url`,
		`env.yaml:2:38: http.billing.headers: "a b" is not a header name`,
		`env.yaml:4:17: unknown field "idd" in queues.care (did you mean id?)`,
		`env.yaml:5:30: calendars.main.timezone must be an IANA time zone`,
		`env.yaml:5:58: calendars.main.weekly.mon: hours must be closed or ranges`,
		`env.yaml:5:70: calendars.x must be a mapping, got "3"`,
		`env.yaml:6:8: vars: "caller" is a built-in variable of every flow`,
		`env.yaml:6:19: vars: "Bad" must match`,
		`env.yaml:6:33: vars.list must be text, a number or true/false, got a list`,
		`env.yaml:6:42: vars.ok must be text, a number or true/false, got nothing`,
		`env.yaml:7:14: prompts_dir "missing" does not exist`,
		`env.yaml:8:1: unknown field "extra" in environment`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing error %s\nin:\n%v", w, err)
		}
	}
	if _, err := LoadEnv(filepath.Join(dir, "nope.yaml")); err == nil {
		t.Error("LoadEnv(missing) succeeded")
	}
	if _, err := ParseEnv("e.yaml", []byte("- a\n")); err == nil || !strings.Contains(err.Error(), "must be a mapping") {
		t.Errorf("list env: %v", err)
	}
}

// TestNoEnv checks that a flow using environment names does not load without one.
func TestNoEnv(t *testing.T) {
	src := "name: q\nstart: a\nnodes:\n  a:\n    queue: care\n    on: {completed: z, full: z, timeout: z, closed: z, callback: z, error: z}\n  z: {hangup: }\n"
	_, err := Parse(nil, "q.yaml", []byte(src))
	want := `q.yaml:5:12: node "a": queue.name: queue "care" is bound by an environment, but none is loaded (pass one, or put env.yaml beside the flows)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestLanguages(t *testing.T) {
	tests := []struct {
		top, err string
		lang     string
	}{
		{"", "", "en"},
		{"languages: {zh: {voice: cmn}, en: {}}", "", "zh"},
		{"language: fr\nlanguages: {en: {}}", `t.yaml:1:11: language "fr" is not one of the languages declared (en)`, ""},
		{"language: French", `t.yaml:1:11: language must be a language code such as en or zh, got "French"`, ""},
		{"language: pt-BR", "", "pt-BR"},
	}
	for _, tt := range tests {
		src := tt.top + "\nname: t\nstart: z\nnodes: {z: {hangup: }}\n"
		f, err := Parse(nil, "t.yaml", []byte(src))
		switch {
		case tt.err != "":
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%q: %v, want %s", tt.top, err, tt.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.top, err)
		case f.Language != tt.lang || f.Languages[tt.lang] == nil:
			t.Errorf("%q: language %q of %v", tt.top, f.Language, f.Languages)
		}
	}
}

func TestSubflows(t *testing.T) {
	write := func(dir, name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const child = `name: pin
start: ask
variables: {tries: int, pin: string}
nodes:
  ask: {gather: {prompt: "PIN?", max_digits: 4, var: pin}, next: ok, on: {no_input: fail, no_match: fail, error: fail}}
  ok: {return: {values: {code: pin, valid: "true"}}}
  fail: {return: {values: {valid: "false"}}}
`
	dir := t.TempDir()
	write(dir, "pin.yaml", child)
	write(dir, "main.yaml", `name: main
start: a
variables: {code: string, good: bool}
nodes:
  a:
    subflow: {flow: pin, args: {tries: "3"}, returns: {code: code, good: valid}}
    next: z
    on: {error: z}
  z: {hangup: }
`)
	list, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	main := list[0]
	if sub := main.Nodes["a"].Action.(*Subflow); sub.Target != list[1] || sub.Target.Name != "pin" {
		t.Errorf("subflow target %v", sub.Target)
	}

	bad := t.TempDir()
	write(bad, "pin.yaml", child)
	write(bad, "main.yaml", `name: main
start: a
variables: {code: int, good: bool}
nodes:
  a:
    subflow: {flow: pin, args: {tries: '"x"', nope: "1", caller: '"y"'}, returns: {code: code, good: missing, caller: valid}}
    next: b
    on: {error: z}
  b:
    subflow: {flow: pinn}
    next: z
    on: {error: z}
  z: {hangup: }
`)
	write(bad, "loop.yaml", `name: loop
start: a
nodes:
  a: {subflow: {flow: loop2}, next: r, on: {error: r}}
  r: {return: }
`)
	write(bad, "loop2.yaml", `name: loop2
start: a
nodes:
  a: {subflow: loop, next: r, on: {error: r}}
  r: {return: }
`)
	write(bad, "base.yaml", `name: base
start: s
variables: {n: int}
nodes:
  s:
    switch:
      - {when: n > 3, next: r}
      - default: a
    on: {error: r}
  a: {subflow: {flow: base, args: {n: n + 1}}, next: r, on: {error: r}}
  r: {return: }
`)
	_, err = LoadDir(bad)
	want := []string{
		filepath.Join(bad, "loop.yaml") + `:4:3: node "a": subflow calls flow "loop" again (loop → loop2 → loop), but no path from start "a" reaches a return without calling it: the recursion would never end`,
		filepath.Join(bad, "loop2.yaml") + `:4:3: node "a": subflow calls flow "loop2" again (loop2 → loop → loop2)`,
		filepath.Join(bad, "main.yaml") + `:6:40: node "a": subflow.args.tries: expression has type string, but pin's variable is int`,
		filepath.Join(bad, "main.yaml") + `:6:47: node "a": subflow.args: flow "pin" has no variable "nope" to set`,
		filepath.Join(bad, "main.yaml") + `:6:58: node "a": subflow.args: flow "pin" has no variable "caller" to set`,
		filepath.Join(bad, "main.yaml") + `:6:90: node "a": subflow.returns.code: pin's code is string, but this flow's code is int`,
		filepath.Join(bad, "main.yaml") + `:6:102: node "a": subflow.returns.good: flow "pin" returns no value and has no variable named "missing"`,
		filepath.Join(bad, "main.yaml") + `:6:111: node "a": subflow.returns: "caller" is a read-only built-in`,
		filepath.Join(bad, "main.yaml") + `:10:21: node "b": subflow: no flow named "pinn" is loaded with this one (did you mean pin?)`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing error\n%s\nin:\n%v", w, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "base.yaml") {
		t.Errorf("recursion with a base case reported:\n%v", err)
	}
	// Alone, a flow cannot resolve a subflow to another file.
	if _, err := Load(filepath.Join(dir, "main.yaml")); err == nil || !strings.Contains(err.Error(), `no flow named "pin" is loaded with this one`) {
		t.Errorf("Load alone: %v", err)
	}
}

func TestValidateFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\nstart: a\nnodes:\n  a: {say: hi, next: b}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	errs := ValidateFiles([]string{"telecom.yaml", "env.yaml", bad, "testdata/invalid/targets.yaml", missing}, nil)
	if len(errs) < 3 {
		t.Fatalf("errors: %v", errs)
	}
	if errs[0].Pos.File != bad || !strings.Contains(errs[1].Msg, `no node named "b"`) {
		t.Errorf("first error %v", errs[0])
	}
	last := errs[len(errs)-1]
	if last.Pos.File != missing || !strings.Contains(last.Msg, "no such file") {
		t.Errorf("last error %v", last)
	}
	for _, e := range errs {
		if strings.Contains(e.Pos.File, "telecom") {
			t.Errorf("telecom.yaml reported: %v", e)
		}
	}
	if s := errs.Summary(); !strings.HasSuffix(s, " in 3 files") {
		t.Errorf("Summary() = %q", s)
	}
	if errs := ValidateFiles([]string{"telecom.yaml", "hotline.yaml", "env.yaml"}, nil); errs != nil || errs.Summary() != "no errors" {
		t.Errorf("valid files: %v", errs)
	}
	if got := (Errors{{Msg: "a"}, {Msg: "too many errors: 7 more not shown; fix these first"}}).Summary(); got != "8 errors in 1 file" {
		t.Errorf("Summary with a cap = %q", got)
	}
}

// TestBrokenEnvDir checks that a broken env.yaml is reported in its file, not again
// at each name the flows beside it use.
func TestBrokenEnvDir(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"env.yaml":  "queues: [care]\n",
		"flow.yaml": "name: f\nstart: a\nnodes:\n  a: {queue: care, on: {completed: z, full: z, timeout: z, closed: z, callback: z, error: z}}\n  z: {hangup: }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDir(dir)
	want := filepath.Join(dir, "env.yaml") + `:1:9: queues must be a mapping, got a list`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
