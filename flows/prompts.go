package flows

// The flow-level declarations nodes refer to: languages, named prompts, intents,
// variables and timeouts.

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Language is one language a flow speaks (languages: {zh: {voice: cmn}}).
type Language struct {
	Code  string // the language code, such as en or zh
	Voice string `flow:"voice" doc:"espeak-ng voice for this language, such as en-us or cmn; default: the flow's voice"`
}

// Phrases lists example phrases by language code: speech recognition hints, and the
// training examples of an intent.
type Phrases map[string][]string

// IntentDef is one intent the flow can recognize in the caller's words.
type IntentDef struct {
	Name        string
	Description string  `flow:"description" doc:"free text for people"`
	Phrases     Phrases `flow:"phrases,required" doc:"example phrases: a list in the flow's language, or a mapping from language code to list"`
}

// Prompt is what a node says or plays, in each language of the flow. The runtime
// picks the call's language with For.
type Prompt struct {
	Name  string                 // the named prompt (prompts:), or "" for one written in a node
	Langs map[string]*PromptText // by language code; always holds the flow's language
	lang  string                 // the flow's language, the fallback
}

// PromptText is a prompt in one language: text to speak or an audio file to play.
type PromptText struct {
	Lang string
	Text *Template // nil for a file
	File string    // for a file: resolved like Play.File (open it with Flow.Open); "" for text
}

// For returns the prompt in language lang, or in the flow's language when it has
// none in lang.
func (p *Prompt) For(lang string) *PromptText {
	if p == nil {
		return nil
	}
	if t := p.Langs[lang]; t != nil {
		return t
	}
	return p.Langs[p.lang]
}

// defaultText returns the prompt's text in the flow's language as written, "" for a
// file or none: the Text of the node types the first runtime knows.
func (p *Prompt) defaultText() string {
	if t := p.For(""); t != nil && t.Text != nil {
		return t.Text.Src
	}
	return ""
}

// defaultFile returns the prompt's file in the flow's language, "" for text.
func (p *Prompt) defaultFile() string {
	if t := p.For(""); t != nil {
		return t.File
	}
	return ""
}

// Timeouts are the waits a flow's nodes inherit: engine defaults (WithTimeouts, else
// DefaultTimeouts), overridden by the flow's timeouts, overridden by a node's own field.
type Timeouts struct {
	Gather     time.Duration `flow:"gather" doc:"wait for the first key or the start of speech (gather, menu, intent, survey); default 5s"`
	InterDigit time.Duration `flow:"inter_digit" doc:"wait for each next key; default 3s"`
	Speech     time.Duration `flow:"speech" doc:"the longest one spoken answer may last; default 8s"`
	HTTP       time.Duration `flow:"http" doc:"http request timeout, per attempt; default 5s"`
	Transfer   time.Duration `flow:"transfer" doc:"how long a transfer rings before no_answer; default 30s"`
	Queue      time.Duration `flow:"queue" doc:"the longest wait in a queue before timeout; default 10m"`
	Record     time.Duration `flow:"record" doc:"the longest recording; default 2m"`
}

// DefaultTimeouts returns the engine's default timeouts.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Gather:     DefaultTimeout,
		InterDigit: DefaultInterDigitTimeout,
		Speech:     8 * time.Second,
		HTTP:       5 * time.Second,
		Transfer:   30 * time.Second,
		Queue:      10 * time.Minute,
		Record:     2 * time.Minute,
	}
}

// merge returns t with the zero fields taken from base.
func (t Timeouts) merge(base Timeouts) Timeouts {
	pick := func(d, b time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return b
	}
	return Timeouts{
		Gather: pick(t.Gather, base.Gather), InterDigit: pick(t.InterDigit, base.InterDigit),
		Speech: pick(t.Speech, base.Speech), HTTP: pick(t.HTTP, base.HTTP), Transfer: pick(t.Transfer, base.Transfer),
		Queue: pick(t.Queue, base.Queue), Record: pick(t.Record, base.Record),
	}
}

// DefaultLanguage is the language of a flow that declares none.
const DefaultLanguage = "en"

var promptNameRE = nodeNameRE

// languageCodes returns the declared language codes, sorted.
func (f *Flow) languageCodes() []string {
	return slices.Sorted(maps.Keys(f.Languages))
}

// VoiceFor returns the voice for language lang: the voice of that language, else
// the flow's voice. A node's own voice, when it has one, wins over both (the
// Voices field of each speaking node holds the result per language).
func (f *Flow) VoiceFor(lang string) string {
	if l := f.Languages[lang]; l != nil && l.Voice != "" {
		return l.Voice
	}
	return f.Voice
}

// voices returns the voice of a speaking node for each language: its own voice if
// set, else the language's.
func (p *parser) voices(own string) map[string]string {
	out := make(map[string]string, len(p.flow.Languages))
	for code := range p.flow.Languages {
		if own != "" {
			out[code] = own
		} else {
			out[code] = p.flow.VoiceFor(code)
		}
	}
	return out
}

// languages checks language and languages and fills the flow's.
func (p *parser) languages(spec *fileSpec, fields fieldNodes) {
	f := p.flow
	f.Language = spec.Language
	f.Languages = map[string]*Language{}
	var first string
	if n := fields["languages"]; n != nil {
		for _, kv := range p.pairs(resolve(n), "", "languages") {
			if !langCodeRE.MatchString(kv.name) {
				p.errorf(kv.key, "languages: %s is not a language code such as en, zh or pt-BR", quote(kv.name))
				continue
			}
			l := spec.Languages[kv.name]
			if l == nil {
				l = &Language{}
			}
			l.Code = kv.name
			if l.Voice != "" && !voiceRE.MatchString(l.Voice) {
				p.errorf(kv.value, "languages.%s.voice must be an espeak-ng voice name such as cmn, got %s", kv.name, quote(l.Voice))
			}
			f.Languages[kv.name] = l
			if first == "" {
				first = kv.name
			}
		}
	}
	switch n := fields["language"]; {
	case f.Language == "" && first != "":
		f.Language = first
	case f.Language == "":
		f.Language = DefaultLanguage
	case !langCodeRE.MatchString(f.Language):
		p.errorf(n, "language must be a language code such as en or zh, got %s", quote(f.Language))
	case first != "" && f.Languages[f.Language] == nil:
		p.errorf(n, "language %s is not one of the languages declared (%s)%s", quote(f.Language), strings.Join(f.languageCodes(), ", "), didYouMean{f.Language, f.languageCodes()})
	}
	if f.Languages[f.Language] == nil {
		f.Languages[f.Language] = &Language{Code: f.Language}
	}
	if f.Voice == "" {
		f.Voice = f.Languages[f.Language].Voice
	}
}

// variables checks the declared variables and builds the expression scope.
func (p *parser) variables(spec *fileSpec, fields fieldNodes) {
	sc := &scope{vars: map[string]Type{}, consts: map[string]any{}}
	p.scope = sc
	for _, b := range builtins {
		if b.Func == nil {
			sc.vars[b.Name] = b.Type
		}
	}
	if p.env != nil {
		maps.Copy(sc.consts, p.env.Vars)
	}
	p.flow.Variables = map[string]Type{}
	n := fields["variables"]
	if n == nil {
		return
	}
	for _, kv := range p.pairs(resolve(n), "", "variables") {
		name := kv.name
		switch {
		case !varRE.MatchString(name):
			p.errorf(kv.key, "variables: name %s must match [a-z_][a-z0-9_]*", quote(name))
			continue
		case lookupBuiltin(name) != nil:
			p.errorf(kv.key, "variables: %s is built in; remove it", quote(name))
			continue
		case p.env != nil && p.env.Vars[name] != nil:
			p.errorf(kv.key, "variables: %s is a constant of the environment %s; choose another name", quote(name), p.env.File)
			continue
		}
		t := parseType(spec.Variables[name])
		if t == TypeUnknown {
			t = TypeAny // reported by decodeStruct (enum); declared, so its uses are not reported too
		}
		sc.vars[name] = t
		p.flow.Variables[name] = t
	}
}

// declare declares variable name of type t implied by a node (gather.var): a variable
// the flow declares must have a type t can be stored in.
func (p *parser) declare(v *yaml.Node, prefix, path, name string, t Type) {
	if !varRE.MatchString(name) {
		p.errorf(v, "%s%s must be a variable name matching [a-z_][a-z0-9_]*, got %s", prefix, path, quote(name))
		return
	}
	if b := lookupBuiltin(name); b != nil {
		switch {
		case b.Func != nil || b.ReadOnly:
			p.errorf(v, "%s%s: %s is a read-only built-in", prefix, path, quote(name))
		case !b.Type.assignable(t):
			p.errorf(v, "%s%s: built-in %s has type %s, but this node stores a %s", prefix, path, quote(name), b.Type, t)
		}
		return
	}
	if p.env != nil && p.env.Vars[name] != nil {
		p.errorf(v, "%s%s: %s is a constant of the environment; choose another name", prefix, path, quote(name))
		return
	}
	if have, ok := p.scope.vars[name]; ok {
		if !have.assignable(t) {
			p.errorf(v, "%s%s: variable %s is declared %s, but this node stores a %s", prefix, path, quote(name), have, t)
		}
		return
	}
	p.scope.vars[name] = t
	p.flow.Variables[name] = t
}

// writable checks that a set, http response or subflow return may assign variable
// name, and returns its type.
func (p *parser) writable(v *yaml.Node, prefix, path, name string) (Type, bool) {
	if b := lookupBuiltin(name); b != nil {
		if b.Func != nil || b.ReadOnly {
			p.errorf(v, "%s%s: %s is a read-only built-in", prefix, path, quote(name))
			return TypeUnknown, false
		}
		return b.Type, true
	}
	if p.env != nil && p.env.Vars[name] != nil {
		p.errorf(v, "%s%s: %s is a constant of the environment and cannot be set", prefix, path, quote(name))
		return TypeUnknown, false
	}
	t, ok := p.scope.vars[name]
	if !ok {
		var names []string
		for n := range p.scope.vars {
			names = append(names, n)
		}
		slices.Sort(names)
		p.errorf(v, "%s%s: unknown variable %s%s; declare it under variables", prefix, path, quote(name), didYouMean{name, names})
		return TypeUnknown, false
	}
	return t, true
}

// namedPrompts decodes the prompts mapping.
func (p *parser) namedPrompts(v *yaml.Node) {
	p.flow.Prompts = map[string]*Prompt{}
	if v == nil {
		return
	}
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "prompts must be a mapping of prompt names to prompts, got %s", describe(v))
		return
	}
	for _, kv := range p.pairs(v, "", "prompts") {
		if !promptNameRE.MatchString(kv.name) {
			p.errorf(kv.key, "prompt name %s must start with a letter, digit or _ and contain only letters, digits, _, - and .", quote(kv.name))
			continue
		}
		p.inNamed = true
		pr := p.prompt(kv.value, "", "prompts."+kv.name)
		p.inNamed = false
		if pr == nil {
			if isNull(resolve(kv.value)) {
				p.errorf(kv.key, "prompts.%s is empty", kv.name)
			}
			// A stand-in, so that the prompt's uses do not each report it missing.
			pr = &Prompt{Langs: map[string]*PromptText{}, lang: p.flow.Language}
		}
		pr.Name = kv.name
		p.flow.Prompts[kv.name] = pr
	}
}

// prompt decodes a prompt value: text, a mapping from language to text or {file: f},
// {file: f}, or {prompt: name} naming a prompt of the prompts mapping. It returns nil
// for an empty value or after reporting a problem.
func (p *parser) prompt(v *yaml.Node, prefix, path string) *Prompt {
	v = resolve(v)
	def := p.flow.Language
	pr := &Prompt{Langs: map[string]*PromptText{}, lang: def}
	before := len(p.errs) + p.dropped
	switch {
	case isNull(v):
		return nil
	case v.Kind == yaml.ScalarNode:
		if t := p.template(v, prefix, path, true); t != nil {
			pr.Langs[def] = &PromptText{Lang: def, Text: t}
		}
	case v.Kind == yaml.MappingNode:
		kvs := p.pairs(v, prefix, path)
		for _, kv := range kvs {
			switch {
			case kv.name == "prompt":
				return p.promptRef(kv, len(kvs), prefix, path)
			case kv.name == "file":
				if pr.Langs[def] != nil {
					p.errorf(kv.key, "%s%s has both file and %s; file is the %s one", prefix, path, def, def)
				}
				pr.Langs[def] = p.promptFile(kv.value, def, prefix, path+".file")
			case !langCodeRE.MatchString(kv.name):
				p.errorf(kv.key, "%sunknown key %s in %s: a prompt maps language codes (%s) to text, or has file or prompt",
					prefix, quote(kv.name), path, strings.Join(p.flow.languageCodes(), ", "))
			case p.flow.Languages[kv.name] == nil:
				p.errorf(kv.key, "%s%s: language %s is not declared (languages: %s)%s", prefix, path, quote(kv.name),
					strings.Join(p.flow.languageCodes(), ", "), didYouMean{kv.name, p.flow.languageCodes()})
			case pr.Langs[kv.name] != nil:
				p.errorf(kv.key, "%s%s has both file and %s; file is the %s one", prefix, path, kv.name, kv.name)
			default:
				pr.Langs[kv.name] = p.promptLang(kv.value, kv.name, prefix, path+"."+kv.name)
			}
		}
	default:
		p.errorf(v, "%s%s must be text, a mapping from language to text, {file: …} or {prompt: name}, got %s", prefix, path, describe(v))
		return nil
	}
	for k, t := range pr.Langs {
		if t == nil {
			delete(pr.Langs, k)
		}
	}
	if len(p.errs)+p.dropped > before {
		return nil
	}
	if pr.Langs[def] == nil {
		p.errorf(v, "%s%s has no text in the flow's language %s", prefix, path, def)
		return nil
	}
	return pr
}

// promptRef resolves {prompt: name}.
func (p *parser) promptRef(kv pair, keys int, prefix, path string) *Prompt {
	name, ok := p.text(resolve(kv.value), prefix, path+".prompt")
	switch {
	case !ok:
	case p.inNamed:
		p.errorf(kv.key, "%s%s: a named prompt cannot refer to another prompt", prefix, path)
	case keys > 1:
		p.errorf(kv.key, "%s%s: {prompt: name} refers to a named prompt and takes no other keys", prefix, path)
	case p.flow.Prompts[name] == nil:
		p.errorf(kv.value, "%s%s: no prompt named %s%s", prefix, path, quote(name), didYouMeanOr{name, slices.Sorted(maps.Keys(p.flow.Prompts)), "prompts are"})
	default:
		return p.flow.Prompts[name]
	}
	return nil
}

// promptLang decodes the prompt of one language: text or {file: f}.
func (p *parser) promptLang(v *yaml.Node, lang, prefix, path string) *PromptText {
	v = resolve(v)
	switch {
	case v.Kind == yaml.ScalarNode && !isNull(v):
		if t := p.template(v, prefix, path, true); t != nil {
			return &PromptText{Lang: lang, Text: t}
		}
		return nil
	case v.Kind == yaml.MappingNode:
		kvs := p.pairs(v, prefix, path)
		if len(kvs) == 1 && kvs[0].name == "file" {
			return p.promptFile(kvs[0].value, lang, prefix, path+".file")
		}
	}
	p.errorf(v, "%s%s must be text or {file: name.wav}, got %s", prefix, path, describe(v))
	return nil
}

// promptFile decodes the audio file of a prompt.
func (p *parser) promptFile(v *yaml.Node, lang, prefix, path string) *PromptText {
	v = resolve(v)
	name, ok := p.text(v, prefix, path)
	if !ok {
		return nil
	}
	if strings.TrimSpace(name) == "" {
		p.errorf(v, "%s%s is empty; name a .wav file", prefix, path)
		return nil
	}
	before := len(p.errs) + p.dropped
	file := p.audioFile(prefix, v, name, path)
	if len(p.errs)+p.dropped > before {
		return nil
	}
	return &PromptText{Lang: lang, File: file}
}

var intentNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// intents checks the declared intents and fills the flow's.
func (p *parser) intents(spec *fileSpec, fields fieldNodes) {
	p.flow.Intents = map[string]*IntentDef{}
	n := fields["intents"]
	if n == nil {
		return
	}
	seen := map[string]string{} // normalized phrase -> intent
	for _, kv := range p.pairs(resolve(n), "", "intents") {
		in := spec.Intents[kv.name]
		if !intentNameRE.MatchString(kv.name) {
			p.errorf(kv.key, "intents: name %s must match [a-z_][a-z0-9_]*", quote(kv.name))
			continue
		}
		if in == nil {
			p.errorf(kv.key, "intents.%s needs phrases", kv.name)
			continue
		}
		in.Name = kv.name
		p.flow.Intents[kv.name] = in
		if len(in.Phrases) > 0 { // else reported by decodeStruct: intents.x requires phrases
			p.checkPhrases(in.Phrases, resolve(kv.value), "", "intents."+kv.name+".phrases", true)
		}
		for lang, list := range in.Phrases {
			for _, ph := range list {
				key := lang + "\x00" + strings.Join(strings.Fields(strings.ToLower(ph)), " ")
				if other, dup := seen[key]; dup && other != kv.name {
					p.errorf(kv.key, "intents.%s: phrase %s is also an example of intent %s; an example must belong to one intent", kv.name, quote(ph), other)
				}
				seen[key] = kv.name
			}
		}
	}
}

// checkPhrases moves phrases listed without a language to the flow's language and
// checks the language codes; need requires phrases in the flow's language. v is the
// mapping that holds phrases (for positions).
func (p *parser) checkPhrases(ph Phrases, holder *yaml.Node, prefix, path string, need bool) {
	if list, ok := ph[""]; ok {
		delete(ph, "")
		ph[p.flow.Language] = append(ph[p.flow.Language], list...)
	}
	at := holder
	if holder.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(holder.Content); i += 2 {
			if holder.Content[i].Value == "phrases" {
				at = resolve(holder.Content[i+1])
			}
		}
	}
	for _, lang := range slices.Sorted(maps.Keys(ph)) {
		if p.flow.Languages[lang] == nil {
			p.errorf(at, "%s%s: language %s is not declared (languages: %s)", prefix, path, quote(lang), strings.Join(p.flow.languageCodes(), ", "))
		}
	}
	if need && len(ph[p.flow.Language]) == 0 {
		p.errorf(at, "%s%s has no phrases in the flow's language %s", prefix, path, p.flow.Language)
	}
}
