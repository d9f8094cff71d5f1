package flows

// The node types that listen for more than a key: intent, record, survey.

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Intent recognizes one of the flow's intents in what the caller says (or in the
// text of an expression, such as a transcript) and routes by it (Node.Branch,
// intent name to node). It sets the built-ins intent, intent_confidence, transcript
// and sentiment.
type Intent struct {
	Prompt        *Prompt       `flow:"prompt" doc:"said before listening"`
	Text          *Expr         `flow:"text,type=string" doc:"classify the value of this expression instead of listening, such as transcript"`
	Intents       []string      `flow:"intents" doc:"the intents to choose from; default: the branch keys"`
	Threshold     float64       `flow:"threshold,min=0,max=1" doc:"the lowest confidence that counts as recognized, 0 to 1; default 0.5"`
	Speech        *Speech       `flow:"speech" doc:"speech recognition settings"`
	Voice         string        `flow:"voice" doc:"espeak-ng voice for the prompts"`
	BargeIn       bool          `flow:"barge_in" doc:"speech during the prompt stops it; default true"`
	Timeout       time.Duration `flow:"timeout" doc:"wait for the caller to start speaking; default timeouts.gather"`
	Retries       int           `flow:"retries,min=0,max=10" doc:"attempts after the first; default 1"`
	NoInputPrompt *Prompt       `flow:"no_input_prompt" doc:"said before a retry after silence"`
	NoMatchPrompt *Prompt       `flow:"no_match_prompt" doc:"said before a retry when no intent reached the threshold"`

	Voices map[string]string // the voice for each language
}

// DefaultThreshold is the default intent.threshold.
const DefaultThreshold = 0.5

// Record records the caller, for voicemail: after the prompt and a beep it records
// until MaxLength, EndOnSilence of silence, FinishKey or the caller hanging up
// (which keeps the recording). The recording's id is stored in Var.
type Record struct {
	Prompt       *Prompt       `flow:"prompt" doc:"said before the beep"`
	Beep         bool          `flow:"beep" doc:"play a beep before recording; default true"`
	MaxLength    time.Duration `flow:"max_length" doc:"the longest recording; default timeouts.record"`
	EndOnSilence time.Duration `flow:"end_on_silence" doc:"stop after this much silence; default 5s"`
	FinishKey    string        `flow:"finish_key" doc:"key that stops recording (0-9, * or #), \"\" for none; default #"`
	Var          string        `flow:"var" doc:"variable the recording id is stored in; default recording"`
	Voice        string        `flow:"voice" doc:"espeak-ng voice for the prompt"`

	Voices map[string]string // the voice for each language
}

// DefaultEndOnSilence is the default record.end_on_silence.
const DefaultEndOnSilence = 5 * time.Second

// Survey asks satisfaction questions, each answered 1 to 5 by key (or by speech:
// "one" to "five" in the call's language), and stores each answer, an int, in its
// question's Var; the first answer also goes to survey_score.
type Survey struct {
	Questions     []*SurveyQuestion `flow:"questions,required" doc:"the questions, asked in order"`
	Input         string            `flow:"input,enum=dtmf|speech|dtmf_speech" doc:"what the caller may answer with; default dtmf"`
	Speech        *Speech           `flow:"speech" doc:"speech recognition settings"`
	Voice         string            `flow:"voice" doc:"espeak-ng voice for the prompts"`
	BargeIn       bool              `flow:"barge_in" doc:"an answer during a question stops it; default true"`
	Timeout       time.Duration     `flow:"timeout" doc:"wait for each answer; default timeouts.gather"`
	Retries       int               `flow:"retries,min=0,max=10" doc:"attempts after the first, per question; default 1"`
	NoInputPrompt *Prompt           `flow:"no_input_prompt" doc:"said before a retry after no answer"`
	NoMatchPrompt *Prompt           `flow:"no_match_prompt" doc:"said before a retry after an answer that is not 1 to 5"`

	Voices map[string]string // the voice for each language
}

// SurveyQuestion is one question of a survey.
type SurveyQuestion struct {
	Prompt *Prompt `flow:"prompt,required" doc:"the question, such as: How satisfied were you, from 1 to 5?"`
	Var    string  `flow:"var,required" doc:"int variable the answer is stored in"`
}

func checkIntent(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Intent)
	own := voiceOwn(s, a.Voice)
	p.voice(s, a.Voice, "intent.voice")
	a.Voices = p.voices(own)
	a.Timeout = p.timeoutOr(a.Timeout, p.flow.Timeouts.Gather)
	if a.Text != nil {
		for _, f := range []string{"prompt", "speech", "retries", "no_input_prompt", "no_match_prompt", "timeout", "barge_in"} {
			if n := s.fields[f]; n != nil {
				p.errorf(n, "%sintent.%s is for listening; with text the node classifies the text and asks nothing", s.prefix, f)
			}
		}
	} else {
		a.Speech = p.checkSpeech(s, "intent", InputSpeech, a.Speech)
	}
	known := sortStrings(mapKeys(p.flow.Intents))
	if len(known) == 0 {
		p.errorf(s.action, "%sintent: the flow declares no intents; add them under intents", s.prefix)
		return
	}
	if s.brNode == nil {
		p.errorf(s.action, "%sintent needs branch: a mapping from intent to node", s.prefix)
	}
	routed := map[string]bool{}
	for _, kv := range s.branch {
		routed[kv.name] = true
		if p.flow.Intents[kv.name] == nil {
			p.errorf(kv.key, "%sbranch: no intent named %s%s", s.prefix, quote(kv.name), didYouMeanOr{kv.name, known, "intents are"})
		}
	}
	if a.Intents == nil {
		for _, kv := range s.branch {
			a.Intents = append(a.Intents, kv.name)
		}
		return
	}
	list := resolve(s.fields["intents"])
	for i, name := range a.Intents {
		at := list
		if i < len(list.Content) {
			at = list.Content[i]
		}
		switch {
		case p.flow.Intents[name] == nil:
			p.errorf(at, "%sintent.intents: no intent named %s%s", s.prefix, quote(name), didYouMeanOr{name, known, "intents are"})
		case !routed[name]:
			p.errorf(at, "%sintent %s is not routed (add branch.%s or remove it from intents)", s.prefix, name, name)
		}
	}
	for _, kv := range s.branch {
		if p.flow.Intents[kv.name] != nil && !slices.Contains(a.Intents, kv.name) {
			p.errorf(kv.key, "%sbranch.%s: %s is not one of this node's intents", s.prefix, kv.name, kv.name)
		}
	}
}

func checkRecord(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Record)
	own := voiceOwn(s, a.Voice)
	p.voice(s, a.Voice, "record.voice")
	a.Voices = p.voices(own)
	a.MaxLength = p.timeoutOr(a.MaxLength, p.flow.Timeouts.Record)
	a.EndOnSilence = p.timeoutOr(a.EndOnSilence, DefaultEndOnSilence)
	switch n, set := s.fields["finish_key"]; {
	case !set:
		a.FinishKey = "#"
	case isNull(resolve(n)):
		p.errorf(n, `%srecord.finish_key is empty: write "#" in quotes (a bare # starts a YAML comment), or "" for none`, s.prefix)
	case a.FinishKey != "" && (len(a.FinishKey) != 1 || !strings.Contains("0123456789*#", a.FinishKey)):
		p.errorf(n, `%srecord.finish_key must be one of 0-9, * or #, or "" for none, got %s`, s.prefix, quote(a.FinishKey))
	}
	p.declare(s.at("var"), s.prefix, "record.var", a.Var, TypeString)
}

func checkSurvey(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Survey)
	own := voiceOwn(s, a.Voice)
	p.voice(s, a.Voice, "survey.voice")
	a.Voices = p.voices(own)
	if a.Input == "" {
		a.Input = InputDTMF
	}
	a.Speech = p.checkSpeech(s, "survey", a.Input, a.Speech)
	a.Timeout = p.timeoutOr(a.Timeout, p.flow.Timeouts.Gather)
	list := resolve(s.fields["questions"])
	if list == nil || list.Kind != yaml.SequenceNode {
		return
	}
	seen := map[string]bool{}
	for i, q := range a.Questions {
		if i >= len(list.Content) || q.Var == "" {
			continue
		}
		at := varNode(resolve(list.Content[i]))
		p.declare(at, s.prefix, "survey.questions["+itoa(i)+"].var", q.Var, TypeInt)
		if seen[q.Var] {
			p.errorf(at, "%ssurvey: two questions store their answer in %s", s.prefix, quote(q.Var))
		}
		seen[q.Var] = true
	}
}

// varNode returns the value of the var key of mapping n, else n.
func varNode(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "var" {
				return n.Content[i+1]
			}
		}
	}
	return n
}
