package flows

import (
	"io/fs"
	"os"
	"slices"
	"time"
)

// Outcome names how a node finished. The runtime looks the outcome up in Node.Routes
// to find the next node, so every outcome a node can produce has a route.
type Outcome string

// The outcomes of the node types in this version of the format. Which node type has
// which is listed in the package documentation.
const (
	// OutcomeOK: the node did its job (said, played, collected valid input).
	OutcomeOK Outcome = "ok"
	// OutcomeError: the node failed (synthesizer down, file unreadable, media error).
	OutcomeError Outcome = "error"
	// OutcomeNoInput: a gather timed out without a digit on every attempt.
	OutcomeNoInput Outcome = "no_input"
	// OutcomeNoMatch: a gather got input it could not accept on every attempt.
	OutcomeNoMatch Outcome = "no_match"
	// OutcomeTimeout: an http request or a queue wait ran out of time.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeOpen, OutcomeClosed, OutcomeHoliday: an hours node's verdict; closed is
	// also a queue that does not take calls now.
	OutcomeOpen    Outcome = "open"
	OutcomeClosed  Outcome = "closed"
	OutcomeHoliday Outcome = "holiday"
	// OutcomeCompleted: the caller is back from a queue's agent (the agent hung up).
	OutcomeCompleted Outcome = "completed"
	// OutcomeFull: the queue refused the call (too many waiting).
	OutcomeFull Outcome = "full"
	// OutcomeCallback: the caller took the queue's offer of a callback.
	OutcomeCallback Outcome = "callback"
	// OutcomeBusy, OutcomeNoAnswer, OutcomeFailed: a transfer's far end was busy, did
	// not answer in time, or could not be reached (rejected, unroutable).
	OutcomeBusy     Outcome = "busy"
	OutcomeNoAnswer Outcome = "no_answer"
	OutcomeFailed   Outcome = "failed"
)

// The dispositions a hangup node can record in the call's CDR: how the call ended
// from the business's point of view, for contact-center reports.
const (
	DispositionResolved    = "resolved"    // the caller's need was met
	DispositionUnresolved  = "unresolved"  // the call ended without meeting it (the default)
	DispositionTransferred = "transferred" // the call left the flow for another party
	DispositionAbandoned   = "abandoned"   // the flow treats the call as abandoned
	DispositionError       = "error"       // the call ended because something failed
)

// Flow is one validated call flow: a graph of nodes the runtime walks from Start.
// A Flow returned by this package has passed every check in the package
// documentation, so the runtime can index Nodes and Routes without checking.
// It is never modified after loading and is safe for concurrent use by any number of
// calls; callers must not modify it either (reload by loading a new Flow).
type Flow struct {
	Name        string // unique among loaded flows; matches [a-z0-9_-]+
	Description string // free text for people
	// Voice is the default TTS voice: the voice key, else the voice of the flow's
	// language; already applied to Say.Voice and Gather.Voice.
	Voice      string
	EarlyMedia bool   // play prompts in 183 early media until the flow first needs input
	Start      string // the name of the first node; always a key of Nodes
	File       string // the path it was loaded from, as given
	Version    string // first 12 hex digits of the SHA-256 of the file, for call records

	// Language is the flow's language code (language:, default DefaultLanguage): the
	// call's language variable starts with it, and every prompt has text in it.
	Language string
	// Languages holds every language the flow speaks, Language included.
	Languages map[string]*Language
	Prompts   map[string]*Prompt    // the named prompts, by name
	Intents   map[string]*IntentDef // the intents, by name
	// Variables holds the variables the flow declares, and those its nodes imply
	// (gather.var, record.var, survey vars), with their types. Built-ins are listed by
	// Builtins; NewVars returns all of them with their zero values.
	Variables map[string]Type
	// Timeouts are the flow-level timeouts, engine defaults filled in; they are
	// already applied to every node field that inherits them.
	Timeouts Timeouts
	// MaxSteps bounds the nodes one call may run; 0: the runtime's default.
	MaxSteps int
	// OnHangup names the first node of the section that runs once the call has ended
	// ("" for none). Only set, switch, http, ticket, goto and hangup nodes run there.
	OnHangup string
	// Env is the environment the flow was loaded against; nil for none.
	Env *Env

	scope *scope // what its expressions may name

	// FS is the file system the flow was read from (by LoadFS or Parse with a non-nil
	// fsys), against which Play.File and Gather.PlayFile are resolved; nil means the
	// operating system's. Use Open rather than reading it directly.
	FS fs.FS

	Nodes map[string]*Node // by name
	Order []string         // node names in file order, for listings and diagrams
}

// Open opens an audio file named by a play node (Play.File) or gather node
// (Gather.PlayFile) of f, from the file system f was loaded from.
func (f *Flow) Open(name string) (fs.File, error) {
	if f.FS == nil {
		return os.Open(name)
	}
	return f.FS.Open(name)
}

// NewVars returns the variables of a new call: every built-in and declared variable
// with its zero value, and language set to the flow's language. The runtime then
// sets caller, called and call_id, and passes the runtime functions (Builtins).
func (f *Flow) NewVars() map[string]any {
	vars := make(map[string]any, len(builtins)+len(f.Variables))
	for _, b := range builtins {
		if b.Func == nil && b.Name != "now" {
			vars[b.Name] = b.Type.Zero()
		}
	}
	for name, t := range f.Variables {
		vars[name] = t.Zero()
	}
	vars["language"] = f.Language
	return vars
}

// Node is one step of a flow: an action (say, gather, http, queue…) and where the
// call goes after each outcome of it.
type Node struct {
	Name        string
	Type        string // the action key: "say", "play", "gather", "goto", "hangup"…
	Pos         Pos    // where the node's name is written, for runtime log messages
	Description string // free text for people

	// Action holds the node's parameters, with defaults applied: a pointer to the
	// struct of its type (*Say, *Play, *Gather, *Menu, *Intent, *Set, *Switch, *HTTP,
	// *Hours, *Queue, *Transfer, *Record, *Survey, *Ticket, *Subflow, *Return,
	// *Answer, *Pause, *Goto or *Hangup), matching Type.
	Action any

	// Routes maps every outcome the node can produce to the name of the next node.
	// The node's own route (next, on) wins over the flow's defaults. A gather with a
	// Branch has no ok route: its input is routed by Branch. Goto and hangup nodes have
	// no outcomes, so no Routes.
	Routes map[Outcome]string

	// Branch maps the digits a gather collected, the key of a menu's choice or the
	// intent an intent node recognized to the next node. Input that is not a key is a
	// no-match: the node retries, then takes no_match.
	Branch map[string]string
}

// Targets returns the names of every node the call can go to from n: its routes,
// branch targets and goto target, each once, sorted. Tools draw the flow's graph
// with it; the loader uses it to find unreachable nodes.
func (n *Node) Targets() []string {
	var out []string
	for _, t := range n.Routes {
		out = append(out, t)
	}
	for _, t := range n.Branch {
		out = append(out, t)
	}
	switch a := n.Action.(type) {
	case *Goto:
		if a.Target != "" {
			out = append(out, a.Target)
		}
	case *Switch:
		for _, c := range a.Cases {
			out = append(out, c.Next)
		}
		if a.Default != "" {
			out = append(out, a.Default)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Say speaks text with the text-to-speech engine (or plays a named prompt's file).
type Say struct {
	// Text is the text in the flow's language as written ({{ }} and SSML not
	// rendered), for the first runtime; Msg is the prompt in every language.
	Text    string
	Voice   string `flow:"voice" doc:"espeak-ng voice; default: the voice of the call's language, else the flow's"`
	BargeIn bool   `flow:"barge_in" doc:"a key press stops the prompt; default true"`

	Msg        *Prompt `flow:"text" doc:"what to say: text ({{ }} and SSML allowed), or a mapping from language to text"`
	PromptName string  `flow:"prompt" doc:"the name of a prompt of the prompts section, instead of text"`
	// Voices is the voice for each language of the flow: Voice if set, else the
	// language's voice, else the flow's.
	Voices map[string]string
}

// Play plays a WAV file.
type Play struct {
	// File is the path as resolved by the loader: joined to the flow file's directory
	// (or the environment's prompts_dir) unless absolute; a path inside Flow.FS when
	// the flow came from a file system. Open it with Flow.Open.
	File    string `flow:"file,required" doc:"a .wav file, relative to the flow file (or the environment's prompts_dir)"`
	BargeIn bool   `flow:"barge_in" doc:"a key press stops the file; default true"`
}

// Gather prompts the caller and collects DTMF digits. Each attempt plays the prompt
// (Prompt spoken, or PlayFile played), then waits Timeout for the first digit and
// InterDigitTimeout for each next one, until MaxDigits digits or FinishKey. No digit
// is a no-input; too few digits, or a value outside the node's Branch, a no-match. After
// a failed attempt the gather plays NoInputPrompt or NoMatchPrompt and tries again,
// Retries times; the last failure becomes the node's no_input or no_match outcome.
// The collected digits (without FinishKey) are stored in the call variable Var.
//
// With Input speech or dtmf_speech the caller may answer by voice too (Speech holds
// the recognizer settings); with Confirm a valid answer is read back and must be
// confirmed. Prompt, NoInputPrompt and NoMatchPrompt are the flow-language texts as
// written, for the first runtime; PromptMsg, NoInputMsg and NoMatchMsg are the
// prompts in every language (PromptMsg holds PlayFile too).
type Gather struct {
	Prompt            string
	Voice             string        `flow:"voice" doc:"espeak-ng voice for the prompts; default: the language's, else the flow's"`
	PlayFile          string        `flow:"play" doc:"a .wav file to play instead of prompt"` // resolved like Play.File; exclusive with Prompt
	MinDigits         int           `flow:"min_digits" doc:"the fewest keys that make valid input; default 1"`
	MaxDigits         int           `flow:"max_digits" doc:"input ends at this many keys; default 1, at most 64"`
	FinishKey         string        `flow:"finish_key" doc:"key that ends input early (0-9, * or #), \"\" for none; default # when max_digits > 1"` // "" = none
	Timeout           time.Duration `flow:"timeout" doc:"wait for the first key; default timeouts.gather"`
	InterDigitTimeout time.Duration `flow:"inter_digit_timeout" doc:"wait for each next key; default timeouts.inter_digit"`
	Retries           int           `flow:"retries" doc:"attempts after the first, 0 to 10; default 1"` // attempts after the first
	NoInputPrompt     string
	NoMatchPrompt     string
	Var               string `flow:"var" doc:"variable the input is stored in; default digits"`
	BargeIn           bool   `flow:"barge_in" doc:"a key pressed during the prompt stops it and counts as input; default true"` // a digit stops the prompt and counts as input

	Input      string   `flow:"input,enum=dtmf|speech|dtmf_speech" doc:"what the caller may answer with; default dtmf"`
	Speech     *Speech  `flow:"speech" doc:"speech recognition settings"`
	Confirm    *Confirm `flow:"confirm" doc:"read the answer back and ask the caller to confirm it"`
	PromptMsg  *Prompt  `flow:"prompt" doc:"said before waiting: text, a mapping from language to text, {file: …} or {prompt: name}"`
	NoInputMsg *Prompt  `flow:"no_input_prompt" doc:"said before a retry after no input"`
	NoMatchMsg *Prompt  `flow:"no_match_prompt" doc:"said before a retry after invalid input"`
	Voices     map[string]string
}

// Goto continues at another node without doing anything, to share a node between
// branches or loop back to a menu.
type Goto struct {
	Target string `flow:"target,required" doc:"the node to continue at"`
}

// Hangup ends the call and records how it ended.
type Hangup struct {
	Disposition string `flow:"disposition,enum=resolved|unresolved|transferred|abandoned|error" doc:"how the call ended, for reports; default unresolved"` // one of the Disposition constants
	Reason      string `flow:"reason" doc:"free text for the call record"`                                                                                 // free text for the call record
}
