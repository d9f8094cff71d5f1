package flows

// The node types. Adding one is: a struct with `flow` tags in flow.go, an entry in
// actionTypes, a check function here when it has rules beyond field types, and a
// section in doc.go. Tests iterate actionTypes, so a new entry is tested for free.

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// actionType describes one node type: its action key and what a node of it may do.
type actionType struct {
	name string
	doc  string // one line, for the JSON Schema
	// outcomes lists what a node of this type can produce, each needing a route.
	outcomes []Outcome
	// scalar names the field a scalar value fills ("say: Hello"); "" = mapping only.
	scalar string
	// langKeys lets the action's mapping hold language codes as shorthand for its
	// scalar field: "say: {en: Hello, zh: 你好}" is "say: {text: {en: Hello, zh: 你好}}".
	langKeys bool
	// branch says how the node's branch key routes: "digits" (gather: by the digits
	// collected) or "intents" (intent: by the intent recognized); "" = no branch key.
	// A menu routes by its choices, a switch by its cases: both are action fields.
	branch string
	// terminal types end the call (hangup) or the subflow (return); every loop must
	// be able to reach one.
	terminal bool
	// afterHangup types may run in the on_hangup section: they need no caller.
	afterHangup bool
	// newAction returns a pointer to the action struct holding its defaults.
	newAction func() any
	// decode, when set, decodes the action's value instead of decodeStruct: for
	// actions whose value is not a mapping of fields (set, switch).
	decode func(p *parser, s *nodeSrc, v *yaml.Node)
	// check validates and completes a decoded action (ranges, files, defaults that
	// depend on other fields or on the flow); nil when field types say it all.
	check func(p *parser, s *nodeSrc)
}

// actionTypes is the registry of node types, in documentation order.
var actionTypes = []*actionType{
	{
		name:      "say",
		doc:       "speak text or a named prompt",
		outcomes:  []Outcome{OutcomeOK, OutcomeError},
		scalar:    "text",
		langKeys:  true,
		newAction: func() any { return &Say{BargeIn: true} },
		check:     checkSay,
	},
	{
		name:      "play",
		doc:       "play an audio file",
		outcomes:  []Outcome{OutcomeOK, OutcomeError},
		scalar:    "file",
		newAction: func() any { return &Play{BargeIn: true} },
		check:     checkPlay,
	},
	{
		name:     "gather",
		doc:      "prompt and collect digits or speech",
		outcomes: []Outcome{OutcomeOK, OutcomeNoInput, OutcomeNoMatch, OutcomeError},
		branch:   "digits",
		newAction: func() any {
			return &Gather{
				MinDigits: 1,
				MaxDigits: 1,
				Retries:   1,
				Var:       "digits",
				BargeIn:   true,
				Input:     InputDTMF,
			}
		},
		check: checkGather,
	},
	{
		name:      "menu",
		doc:       "prompt and route the caller's choice (key or phrase)",
		outcomes:  []Outcome{OutcomeNoInput, OutcomeNoMatch, OutcomeError},
		newAction: func() any { return &Menu{Retries: 1, Var: "digits", BargeIn: true, Input: InputDTMF} },
		check:     checkMenu,
	},
	{
		name:      "intent",
		doc:       "recognize one of the flow's intents in speech or text",
		outcomes:  []Outcome{OutcomeNoInput, OutcomeNoMatch, OutcomeError},
		branch:    "intents",
		newAction: func() any { return &Intent{Threshold: DefaultThreshold, Retries: 1, BargeIn: true} },
		check:     checkIntent,
	},
	{
		name:        "set",
		doc:         "assign variables: a mapping from variable to expression",
		outcomes:    []Outcome{OutcomeOK, OutcomeError},
		afterHangup: true,
		newAction:   func() any { return &Set{} },
		decode:      decodeSet,
	},
	{
		name:        "switch",
		doc:         "route by the first case whose condition holds: a list of {when, next} and a last {default}",
		outcomes:    []Outcome{OutcomeError},
		afterHangup: true,
		newAction:   func() any { return &Switch{} },
		decode:      decodeSwitch,
	},
	{
		name:        "http",
		doc:         "call a web service and map its response into variables",
		outcomes:    []Outcome{OutcomeOK, OutcomeError, OutcomeTimeout},
		afterHangup: true,
		newAction:   func() any { return &HTTP{} },
		check:       checkHTTP,
	},
	{
		name:      "hours",
		doc:       "route by business hours: open, closed or holiday",
		outcomes:  []Outcome{OutcomeOpen, OutcomeClosed, OutcomeHoliday},
		scalar:    "calendar",
		newAction: func() any { return &Hours{} },
		check:     checkHours,
	},
	{
		name:      "queue",
		doc:       "hand the call to a queue of human agents",
		outcomes:  []Outcome{OutcomeCompleted, OutcomeFull, OutcomeTimeout, OutcomeClosed, OutcomeCallback, OutcomeError},
		scalar:    "name",
		newAction: func() any { return &Queue{} },
		check:     checkQueue,
	},
	{
		name:      "transfer",
		doc:       "transfer the call to a number or SIP URI",
		outcomes:  []Outcome{OutcomeOK, OutcomeBusy, OutcomeNoAnswer, OutcomeFailed, OutcomeError},
		scalar:    "to",
		newAction: func() any { return &Transfer{Mode: TransferBridge, CallerID: CallerIDPass} },
		check:     checkTransfer,
	},
	{
		name:      "record",
		doc:       "record the caller (voicemail)",
		outcomes:  []Outcome{OutcomeOK, OutcomeNoInput, OutcomeError},
		newAction: func() any { return &Record{Beep: true, Var: "recording"} },
		check:     checkRecord,
	},
	{
		name:      "survey",
		doc:       "ask satisfaction questions answered 1 to 5",
		outcomes:  []Outcome{OutcomeOK, OutcomeNoInput, OutcomeError},
		newAction: func() any { return &Survey{Retries: 1, BargeIn: true, Input: InputDTMF} },
		check:     checkSurvey,
	},
	{
		name:        "ticket",
		doc:         "create a work ticket",
		outcomes:    []Outcome{OutcomeOK, OutcomeError},
		afterHangup: true,
		newAction:   func() any { return &Ticket{Priority: TicketNormal, Transcript: true} },
		check:       checkTicket,
	},
	{
		name:      "subflow",
		doc:       "run another flow and come back when it returns",
		outcomes:  []Outcome{OutcomeOK, OutcomeError},
		scalar:    "flow",
		newAction: func() any { return &Subflow{} },
		check:     checkSubflow,
	},
	{
		name:      "return",
		doc:       "end a subflow and go back to the flow that called it",
		terminal:  true,
		newAction: func() any { return &Return{} },
		check:     checkReturn,
	},
	{
		name:      "answer",
		doc:       "answer the call (after early media)",
		outcomes:  []Outcome{OutcomeOK, OutcomeError},
		newAction: func() any { return &Answer{} },
	},
	{
		name:      "pause",
		doc:       "wait in silence",
		outcomes:  []Outcome{OutcomeOK},
		scalar:    "duration",
		newAction: func() any { return &Pause{} },
	},
	{
		name:        "goto",
		doc:         "continue at another node",
		scalar:      "target",
		afterHangup: true,
		newAction:   func() any { return &Goto{} },
	},
	{
		name:        "hangup",
		doc:         "end the call with a disposition",
		scalar:      "disposition",
		terminal:    true,
		afterHangup: true,
		newAction:   func() any { return &Hangup{} },
		check:       checkHangup,
	},
}

// Defaults of the gather node, exported for tools that show effective settings.
const (
	DefaultTimeout           = 5 * time.Second // gather.timeout: wait for the first digit
	DefaultInterDigitTimeout = 3 * time.Second // gather.inter_digit_timeout: wait for each next digit
)

// Limits of the gather node.
const (
	maxDigitsLimit = 64 // gather.max_digits
	maxRetries     = 10 // gather.retries
)

// Types returns the node types this version of the format knows, in documentation
// order. The runtime tests that it has a handler for each.
func Types() []string {
	out := make([]string, len(actionTypes))
	for i, t := range actionTypes {
		out[i] = t.name
	}
	return out
}

// Outcomes returns the outcomes of node type typ, in documentation order, and
// whether typ is a node type.
func Outcomes(typ string) ([]Outcome, bool) {
	t := lookupType(typ)
	if t == nil {
		return nil, false
	}
	return slices.Clone(t.outcomes), true
}

// lookupType returns the node type whose action key is name, or nil.
func lookupType(name string) *actionType {
	for _, t := range actionTypes {
		if t.name == name {
			return t
		}
	}
	return nil
}

// hasOutcome reports whether nodes of type t can produce o.
func (t *actionType) hasOutcome(o Outcome) bool { return slices.Contains(t.outcomes, o) }

// allOutcomes lists every outcome of every type once, in registry order.
func allOutcomes() []string {
	var out []string
	for _, t := range actionTypes {
		for _, o := range t.outcomes {
			if !slices.Contains(out, string(o)) {
				out = append(out, string(o))
			}
		}
	}
	return out
}

var (
	voiceRE = regexp.MustCompile(`^[A-Za-z0-9_.+/-]{1,64}$`)
	varRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// voice validates a node's voice field and returns the voice to use: the node's own,
// else the flow's.
func (p *parser) voice(s *nodeSrc, v string, field string) string {
	if n := s.fields["voice"]; n != nil && v != "" && !voiceRE.MatchString(v) {
		p.errorf(n, "%s%s must be an espeak-ng voice name such as en-us, got %s", s.prefix, field, quote(v))
	}
	if v == "" {
		return p.flow.Voice
	}
	return v
}

// dispositions are the values of hangup.disposition.
var dispositions = []string{DispositionResolved, DispositionUnresolved, DispositionTransferred, DispositionAbandoned, DispositionError}

func checkHangup(p *parser, s *nodeSrc) {
	h := s.node.Action.(*Hangup)
	if h.Disposition == "" {
		h.Disposition = DispositionUnresolved
	}
}

// audioFile checks that the audio file named by value node n (text name, field path
// field) is a .wav file that exists, and returns its resolved path: on disk, joined to
// the flow file's directory unless absolute; in p.fsys, joined to the flow file's
// directory there. It returns name unchanged when it reports a problem.
func (p *parser) audioFile(prefix string, n *yaml.Node, name, field string) string {
	if n == nil || strings.TrimSpace(name) == "" {
		return name // required-field or empty-value errors are reported elsewhere
	}
	if !strings.EqualFold(path.Ext(name), ".wav") {
		p.errorf(n, "%s%s must name a .wav file, got %s", prefix, field, quote(name))
		return name
	}
	var (
		resolved string
		info     fs.FileInfo
		err      error
	)
	if p.fsys == nil {
		resolved = name
		if !filepath.IsAbs(name) {
			resolved = filepath.Join(p.audioDir(), name)
		}
		info, err = os.Stat(resolved)
	} else {
		resolved = path.Join(p.dir, name)
		if path.IsAbs(name) || filepath.IsAbs(name) || !fs.ValidPath(resolved) {
			p.errorf(n, "%s%s %s must be a relative path inside the flow's file system", prefix, field, quote(name))
			return name
		}
		info, err = fs.Stat(p.fsys, resolved)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.errorf(n, "%s%s %s does not exist (looked for %s)", prefix, field, quote(name), strconv.Quote(resolved))
	case err != nil:
		p.errorf(n, "%s%s %s cannot be read: %v", prefix, field, quote(name), err)
	case !info.Mode().IsRegular():
		p.errorf(n, "%s%s %s is not a regular file", prefix, field, quote(name))
	default:
		return resolved
	}
	return name
}
