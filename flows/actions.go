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
	// outcomes lists what a node of this type can produce, each needing a route.
	outcomes []Outcome
	// scalar names the field a scalar value fills ("say: Hello"); "" = mapping only.
	scalar string
	// branch reports whether the node may route its input by value (gather).
	branch bool
	// terminal types end the call; every loop must be able to reach one.
	terminal bool
	// newAction returns a pointer to the action struct holding its defaults.
	newAction func() any
	// check validates and completes a decoded action (ranges, files, defaults that
	// depend on other fields); nil when field types say it all.
	check func(p *parser, s *nodeSrc)
}

// actionTypes is the registry of node types, in documentation order.
var actionTypes = []*actionType{
	{
		name:      "say",
		outcomes:  []Outcome{OutcomeOK, OutcomeError},
		scalar:    "text",
		newAction: func() any { return &Say{BargeIn: true} },
		check:     checkSay,
	},
	{
		name:      "play",
		outcomes:  []Outcome{OutcomeOK, OutcomeError},
		scalar:    "file",
		newAction: func() any { return &Play{BargeIn: true} },
		check:     checkPlay,
	},
	{
		name:     "gather",
		outcomes: []Outcome{OutcomeOK, OutcomeNoInput, OutcomeNoMatch, OutcomeError},
		branch:   true,
		newAction: func() any {
			return &Gather{
				MinDigits:         1,
				MaxDigits:         1,
				Timeout:           DefaultTimeout,
				InterDigitTimeout: DefaultInterDigitTimeout,
				Retries:           1,
				Var:               "digits",
				BargeIn:           true,
			}
		},
		check: checkGather,
	},
	{
		name:      "goto",
		scalar:    "target",
		newAction: func() any { return &Goto{} },
	},
	{
		name:      "hangup",
		scalar:    "disposition",
		terminal:  true,
		newAction: func() any { return &Hangup{} },
		check:     checkHangup,
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

func checkSay(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Say)
	a.Voice = p.voice(s, a.Voice, "say.voice")
}

func checkPlay(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Play)
	a.File = p.audioFile(s, s.fields["file"], a.File, "play.file")
}

func checkGather(p *parser, s *nodeSrc) {
	g := s.node.Action.(*Gather)
	at := func(field string) *yaml.Node {
		if n := s.fields[field]; n != nil {
			return n
		}
		return s.action
	}
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
	if !varRE.MatchString(g.Var) {
		p.errorf(at("var"), "%sgather.var must be a variable name matching [a-z_][a-z0-9_]*, got %s", s.prefix, quote(g.Var))
	}
	if n := s.fields["play"]; n != nil {
		if strings.TrimSpace(g.PlayFile) == "" {
			p.errorf(n, "%sgather.play is empty; name a .wav file or remove it", s.prefix)
		} else if g.Prompt != "" {
			p.errorf(n, "%sgather has both prompt and play; use one", s.prefix)
		}
		g.PlayFile = p.audioFile(s, n, g.PlayFile, "gather.play")
	}
	g.Voice = p.voice(s, g.Voice, "gather.voice")
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

// dispositions are the values of hangup.disposition.
var dispositions = []string{DispositionResolved, DispositionUnresolved, DispositionTransferred, DispositionAbandoned, DispositionError}

func checkHangup(p *parser, s *nodeSrc) {
	h := s.node.Action.(*Hangup)
	switch {
	case h.Disposition == "":
		h.Disposition = DispositionUnresolved
	case !slices.Contains(dispositions, h.Disposition):
		p.errorf(s.fields["disposition"], "%shangup.disposition must be one of %s, got %s%s",
			s.prefix, strings.Join(dispositions, ", "), quote(h.Disposition), didYouMean{h.Disposition, dispositions})
	}
}

// audioFile checks that the audio file named by value node n (text name, field path
// field) is a .wav file that exists, and returns its resolved path: on disk, joined to
// the flow file's directory unless absolute; in p.fsys, joined to the flow file's
// directory there. It returns name unchanged when it reports a problem.
func (p *parser) audioFile(s *nodeSrc, n *yaml.Node, name, field string) string {
	if n == nil || strings.TrimSpace(name) == "" {
		return name // required-field or empty-value errors are reported elsewhere
	}
	if !strings.EqualFold(path.Ext(name), ".wav") {
		p.errorf(n, "%s%s must name a .wav file, got %s", s.prefix, field, quote(name))
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
			resolved = filepath.Join(p.dir, name)
		}
		info, err = os.Stat(resolved)
	} else {
		resolved = path.Join(p.dir, name)
		if path.IsAbs(name) || filepath.IsAbs(name) || !fs.ValidPath(resolved) {
			p.errorf(n, "%s%s %s must be a relative path inside the flow's file system", s.prefix, field, quote(name))
			return name
		}
		info, err = fs.Stat(p.fsys, resolved)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.errorf(n, "%s%s %s does not exist (looked for %s)", s.prefix, field, quote(name), strconv.Quote(resolved))
	case err != nil:
		p.errorf(n, "%s%s %s cannot be read: %v", s.prefix, field, quote(name), err)
	case !info.Mode().IsRegular():
		p.errorf(n, "%s%s %s is not a regular file", s.prefix, field, quote(name))
	default:
		return resolved
	}
	return name
}
