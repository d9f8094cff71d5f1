package flows

// The node types that speak to the caller and listen: say, play, gather, menu.

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The values of gather.input, menu.input and survey.input.
const (
	InputDTMF       = "dtmf"        // keys only
	InputSpeech     = "speech"      // words only
	InputDTMFSpeech = "dtmf_speech" // either
)

// Bounds of Speech.LatencyBudget and Speech.MinSpeech. A budget under
// 10 ms asks the fallback every time; one over 10 s outlasts any caller's
// patience. An onset over 2 s would let short answers ("agent") end
// before they count.
const (
	MinLatencyBudget = 10 * time.Millisecond
	MaxLatencyBudget = 10 * time.Second
	MaxMinSpeech     = 2 * time.Second
)

// Speech holds the speech recognition settings of a node that listens.
type Speech struct {
	Phrases         Phrases       `flow:"phrases" doc:"phrases to expect (recognition hints): a list in the flow's language or a mapping from language to list"`
	Intents         bool          `flow:"intents" doc:"add the phrases of the flow's intents to the hints"`
	Backend         string        `flow:"backend" doc:"the recognizer, by the name the engine configures; default: the engine's"`
	FallbackBackend string        `flow:"fallback_backend" doc:"the recognizer asked when backend fails or exceeds latency_budget"`
	LatencyBudget   time.Duration `flow:"latency_budget" doc:"how long after the end of speech backend may take before fallback_backend is asked too (10ms to 10s); default: the engine's asr.latency_budget"`
	MinSpeech       time.Duration `flow:"min_speech" doc:"how long the caller must speak before it counts: stops a barge-in prompt and the no-input timer (0 to 2s); default: the VAD's 60ms; 200-400ms keeps a noisy line from cutting prompts"`
	Language        string        `flow:"language" doc:"language code to recognize; default: the call's language"`
	Timeout         time.Duration `flow:"timeout" doc:"the longest one answer may last; default timeouts.speech"`
}

// Confirm reads a gather's answer back and asks the caller to confirm it.
type Confirm struct {
	Prompt  *Prompt       `flow:"prompt,required" doc:"the read-back, such as: You entered {{ digits }}. Press 1 if correct, 2 to try again."`
	Yes     string        `flow:"yes" doc:"key that confirms; default 1"`
	No      string        `flow:"no" doc:"key that rejects (the gather asks again); default 2"`
	Timeout time.Duration `flow:"timeout" doc:"wait for the key; default: the gather's timeout"`
}

// Menu says a prompt and routes the caller's choice: a key, or with speech input a
// phrase of the choice. It is a gather of one key with a branch, written compactly;
// the choices are in Node.Branch (key to node). The chosen key is stored in Var.
type Menu struct {
	Prompt        *Prompt                `flow:"prompt,required" doc:"the menu, said before waiting"`
	Choices       map[string]*MenuChoice `flow:"choices,required,scalar=next" doc:"key (0-9, * or #) to node name, or to {next, phrases}"`
	Input         string                 `flow:"input,enum=dtmf|speech|dtmf_speech" doc:"what the caller may answer with; default dtmf"`
	Speech        *Speech                `flow:"speech" doc:"speech recognition settings"`
	Voice         string                 `flow:"voice" doc:"espeak-ng voice; default: the language's, else the flow's"`
	BargeIn       bool                   `flow:"barge_in" doc:"a key or word during the prompt stops it and counts; default true"`
	Timeout       time.Duration          `flow:"timeout" doc:"wait for the choice; default timeouts.gather"`
	Retries       int                    `flow:"retries,min=0,max=10" doc:"attempts after the first; default 1"`
	NoInputPrompt *Prompt                `flow:"no_input_prompt" doc:"said before a retry after no input"`
	NoMatchPrompt *Prompt                `flow:"no_match_prompt" doc:"said before a retry after an invalid choice"`
	Var           string                 `flow:"var" doc:"variable the chosen key is stored in; default digits"`

	Keys   []string          // the choice keys in file order
	Voices map[string]string // the voice for each language
}

// MenuChoice is one choice of a menu.
type MenuChoice struct {
	Next    string  `flow:"next,required" doc:"the node the choice leads to"`
	Phrases Phrases `flow:"phrases" doc:"words that choose it by speech: a list, or a mapping from language to list"`
}

func checkSay(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Say)
	own := p.voice(s, a.Voice, "say.voice")
	a.Voices = p.voices(voiceOwn(s, a.Voice))
	a.Voice = own
	switch {
	case a.PromptName != "":
		n := s.fields["prompt"]
		if a.Msg != nil {
			p.errorf(n, "%ssay has both text and prompt; use one", s.prefix)
		}
		a.Msg = p.flow.Prompts[a.PromptName]
		if a.Msg == nil {
			p.errorf(n, "%ssay.prompt: no prompt named %s%s", s.prefix, quote(a.PromptName), didYouMeanOr{a.PromptName, p.promptNames(), "prompts are"})
		}
	case blankPrompt(a.Msg):
		at := s.action
		if n := s.fields["text"]; n != nil && !isNull(resolve(n)) {
			if a.Msg == nil && strings.TrimSpace(resolve(n).Value) != "" {
				return // the text was reported
			}
			at = n
		}
		p.errorf(at, "%ssay requires text", s.prefix)
		a.Msg = nil
	}
	a.Text = a.Msg.defaultText()
}

// voiceOwn returns the node's own voice if it set a valid one, else "".
func voiceOwn(s *nodeSrc, v string) string {
	if s.fields["voice"] == nil || !voiceRE.MatchString(v) {
		return ""
	}
	return v
}

// blankPrompt reports whether pr is missing or text without anything to say.
func blankPrompt(pr *Prompt) bool {
	return pr == nil || pr.defaultFile() == "" && strings.TrimSpace(pr.defaultText()) == ""
}

func checkPlay(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Play)
	a.File = p.audioFile(s.prefix, s.fields["file"], a.File, "play.file")
}

// at returns the value node of field, else the action key, for messages.
func (s *nodeSrc) at(field string) *yaml.Node {
	if n := s.fields[field]; n != nil {
		return n
	}
	return s.action
}

func checkGather(p *parser, s *nodeSrc) {
	g := s.node.Action.(*Gather)
	at := s.at
	digitsOK := true
	if g.MaxDigits < 1 || g.MaxDigits > maxDigitsLimit {
		p.errorf(at("max_digits"), "%sgather.max_digits must be from 1 to %d, got %d", s.prefix, maxDigitsLimit, g.MaxDigits)
		digitsOK = false
	} else if g.MinDigits < 1 || g.MinDigits > g.MaxDigits {
		p.errorf(at("min_digits"), "%sgather.min_digits must be from 1 to max_digits (%d), got %d", s.prefix, g.MaxDigits, g.MinDigits)
		digitsOK = false
	}
	switch n, set := s.fields["finish_key"]; {
	case !set:
		if g.MaxDigits > 1 {
			g.FinishKey = "#"
		}
	case isNull(resolve(n)):
		p.errorf(n, `%sgather.finish_key is empty: write "#" in quotes (a bare # starts a YAML comment), or "" for no finish key`, s.prefix)
	case g.FinishKey != "" && (len(g.FinishKey) != 1 || !strings.Contains("0123456789*#", g.FinishKey)):
		p.errorf(n, `%sgather.finish_key must be one of 0-9, * or #, or "" for none, got %s`, s.prefix, quote(g.FinishKey))
	}
	if g.Retries < 0 || g.Retries > maxRetries {
		p.errorf(at("retries"), "%sgather.retries must be from 0 to %d, got %d", s.prefix, maxRetries, g.Retries)
	}
	p.declare(at("var"), s.prefix, "gather.var", g.Var, TypeString)
	if n := s.fields["play"]; n != nil {
		if strings.TrimSpace(g.PlayFile) == "" {
			p.errorf(n, "%sgather.play is empty; name a .wav file or remove it", s.prefix)
		} else if g.PromptMsg != nil {
			p.errorf(n, "%sgather has both prompt and play; use one", s.prefix)
		}
		g.PlayFile = p.audioFile(s.prefix, n, g.PlayFile, "gather.play")
		if g.PlayFile != "" && g.PromptMsg == nil {
			l := p.flow.Language
			g.PromptMsg = &Prompt{Langs: map[string]*PromptText{l: {Lang: l, File: g.PlayFile}}, lang: l}
		}
	}
	if blankPrompt(g.PromptMsg) {
		g.PromptMsg = nil
	}
	g.Prompt = g.PromptMsg.defaultText()
	g.NoInputPrompt = g.NoInputMsg.defaultText()
	g.NoMatchPrompt = g.NoMatchMsg.defaultText()
	if g.Timeout == 0 {
		g.Timeout = p.flow.Timeouts.Gather
	}
	if g.InterDigitTimeout == 0 {
		g.InterDigitTimeout = p.flow.Timeouts.InterDigit
	}
	own := voiceOwn(s, g.Voice)
	g.Voice = p.voice(s, g.Voice, "gather.voice")
	g.Voices = p.voices(own)
	if g.Input == "" {
		g.Input = InputDTMF
	}
	g.Speech = p.checkSpeech(s, "gather", g.Input, g.Speech)
	if g.Confirm != nil {
		c := g.Confirm
		c.Yes, c.No = p.confirmKey(s, c.Yes, "1", "yes"), p.confirmKey(s, c.No, "2", "no")
		if c.Yes == c.No {
			p.errorf(s.fields["confirm"], "%sgather.confirm: yes and no are the same key %s", s.prefix, quote(c.Yes))
		}
		if c.Timeout == 0 {
			c.Timeout = g.Timeout
		}
	}
	if s.brNode != nil && g.Input != InputDTMF {
		p.errorf(s.brNode, "%sbranch routes keys: it needs input: dtmf; use a menu with phrases, or an intent node, to route speech", s.prefix)
	}
	if !digitsOK {
		return // key lengths cannot be judged
	}
	for _, kv := range s.branch {
		k := kv.name
		switch {
		case k == "" || strings.Trim(k, "0123456789*#ABCD") != "":
			p.errorf(kv.key, `%sbranch key %s must be keypad digits (0-9, *, #, A-D); quote keys with * or #`, s.prefix, quote(k))
		case len(k) > g.MaxDigits:
			p.errorf(kv.key, "%sbranch key %s is longer than max_digits (%d)", s.prefix, quote(k), g.MaxDigits)
		case len(k) < g.MinDigits:
			p.errorf(kv.key, "%sbranch key %s is shorter than min_digits (%d)", s.prefix, quote(k), g.MinDigits)
		case g.FinishKey != "" && strings.Contains(k, g.FinishKey):
			p.errorf(kv.key, "%sbranch key %s contains the finish key %s, which ends input and is not part of it", s.prefix, quote(k), g.FinishKey)
		}
	}
}

// confirmKey checks a key of gather.confirm and returns it, or def when unset.
func (p *parser) confirmKey(s *nodeSrc, k, def, field string) string {
	switch {
	case k == "":
		return def
	case len(k) != 1 || !strings.Contains("0123456789*#", k):
		p.errorf(s.fields["confirm"], "%sgather.confirm.%s must be one key (0-9, * or #), got %s", s.prefix, field, quote(k))
	}
	return k
}

// checkSpeech checks the speech settings of a node of type typ with input input,
// fills in their defaults and returns them (nil for dtmf input).
func (p *parser) checkSpeech(s *nodeSrc, typ, input string, sp *Speech) *Speech {
	if input == InputDTMF || input == "" {
		if sp != nil {
			p.errorf(s.fields["speech"], "%s%s.speech is set but input is dtmf; set input: speech or dtmf_speech", s.prefix, typ)
		}
		return nil
	}
	if sp == nil {
		sp = &Speech{}
	}
	if sp.Timeout == 0 {
		sp.Timeout = p.flow.Timeouts.Speech
	}
	at := s.at("speech")
	for _, b := range []struct{ name, v string }{{"backend", sp.Backend}, {"fallback_backend", sp.FallbackBackend}} {
		if b.v != "" && !promptNameRE.MatchString(b.v) {
			p.errorf(mapValue(at, b.name), "%s%s.speech.%s must be a backend name such as pocketsphinx, got %s", s.prefix, typ, b.name, quote(b.v))
		}
	}
	if sp.LatencyBudget != 0 {
		if sp.FallbackBackend == "" {
			p.errorf(mapValue(at, "latency_budget"), "%s%s.speech.latency_budget is set without fallback_backend; it is how long backend may take before the fallback is asked", s.prefix, typ)
		} else if sp.LatencyBudget < MinLatencyBudget || sp.LatencyBudget > MaxLatencyBudget {
			p.errorf(mapValue(at, "latency_budget"), "%s%s.speech.latency_budget must be %v to %v, got %v", s.prefix, typ, MinLatencyBudget, MaxLatencyBudget, sp.LatencyBudget)
		}
	}
	if sp.MinSpeech < 0 || sp.MinSpeech > MaxMinSpeech {
		p.errorf(mapValue(at, "min_speech"), "%s%s.speech.min_speech must be 0 to %v, got %v", s.prefix, typ, MaxMinSpeech, sp.MinSpeech)
	}
	if sp.Language != "" && p.flow.Languages[sp.Language] == nil {
		p.errorf(mapValue(at, "language"), "%s%s.speech.language: language %s is not declared (languages: %s)", s.prefix, typ, quote(sp.Language), strings.Join(p.flow.languageCodes(), ", "))
	}
	if sp.Intents && len(p.flow.Intents) == 0 {
		p.errorf(mapValue(at, "intents"), "%s%s.speech.intents: the flow declares no intents", s.prefix, typ)
	}
	if sp.Phrases != nil {
		p.checkPhrases(sp.Phrases, resolve(at), s.prefix, typ+".speech.phrases", false)
	}
	return sp
}

// timeoutOr returns d, or def when d is unset.
func (p *parser) timeoutOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func checkMenu(p *parser, s *nodeSrc) {
	m := s.node.Action.(*Menu)
	if m.Input == "" {
		m.Input = InputDTMF
	}
	m.Speech = p.checkSpeech(s, "menu", m.Input, m.Speech)
	m.Timeout = p.timeoutOr(m.Timeout, p.flow.Timeouts.Gather)
	own := voiceOwn(s, m.Voice)
	p.voice(s, m.Voice, "menu.voice")
	m.Voices = p.voices(own)
	p.declare(s.at("var"), s.prefix, "menu.var", m.Var, TypeString)
	n := resolve(s.fields["choices"])
	if n == nil || n.Kind != yaml.MappingNode {
		return // reported by decodeStruct
	}
	for _, kv := range p.pairs(n, s.prefix, "menu.choices") {
		k := kv.name
		if len(k) != 1 || !strings.Contains("0123456789*#", k) {
			p.errorf(kv.key, `%smenu.choices key %s must be one key: 0-9, * or #; quote * and #`, s.prefix, quote(k))
			continue
		}
		c := m.Choices[k]
		if c == nil {
			if isNull(resolve(kv.value)) {
				p.errorf(kv.key, "%smenu.choices.%s needs a node name", s.prefix, k)
			}
			continue
		}
		m.Keys = append(m.Keys, k)
		v := resolve(kv.value)
		next := v
		if v.Kind == yaml.MappingNode {
			next = nil
			for i := 0; i+1 < len(v.Content); i += 2 {
				switch v.Content[i].Value {
				case "next":
					next = v.Content[i+1]
				case "phrases":
					if m.Input == InputDTMF {
						p.errorf(v.Content[i], "%smenu.choices.%s.phrases need input: speech or dtmf_speech", s.prefix, k)
					}
				}
			}
		}
		if c.Phrases != nil {
			p.checkPhrases(c.Phrases, v, s.prefix, "menu.choices."+k+".phrases", m.Input == InputSpeech)
		} else if m.Input == InputSpeech {
			p.errorf(kv.key, "%smenu.choices.%s has no phrases: with input speech a caller cannot choose it", s.prefix, k)
		}
		if next != nil {
			key := k
			s.targets = append(s.targets, targetRef{v: next, what: "menu.choices." + k, set: func(name string) {
				if s.node.Branch == nil {
					s.node.Branch = map[string]string{}
				}
				s.node.Branch[key] = name
			}})
		}
	}
}

// promptNames lists the named prompts, sorted, for suggestions.
func (p *parser) promptNames() []string {
	out := make([]string, 0, len(p.flow.Prompts))
	for n := range p.flow.Prompts {
		out = append(out, n)
	}
	return sortStrings(out)
}
