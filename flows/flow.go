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
	Voice       string // default TTS voice, already applied to Say.Voice and Gather.Voice
	EarlyMedia  bool   // play prompts in 183 early media until the flow first needs input
	Start       string // the name of the first node; always a key of Nodes
	File        string // the path it was loaded from, as given
	Version     string // first 12 hex digits of the SHA-256 of the file, for call records

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

// Node is one step of a flow: an action (say, play, gather, goto, hangup) and where
// the call goes after each outcome of it.
type Node struct {
	Name        string
	Type        string // the action key: "say", "play", "gather", "goto" or "hangup"
	Pos         Pos    // where the node's name is written, for runtime log messages
	Description string // free text for people

	// Action holds the node's parameters, with defaults applied: one of *Say, *Play,
	// *Gather, *Goto or *Hangup, matching Type.
	Action any

	// Routes maps every outcome the node can produce to the name of the next node.
	// The node's own route (next, on) wins over the flow's defaults. A gather with a
	// Branch has no ok route: its input is routed by Branch. Goto and hangup nodes have
	// no outcomes, so no Routes.
	Routes map[Outcome]string

	// Branch maps the digits a gather collected to the next node (gather only). Input
	// that is not a key is a no-match: the gather retries, then takes no_match.
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
	if g, ok := n.Action.(*Goto); ok && g.Target != "" {
		out = append(out, g.Target)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Say speaks text with the text-to-speech engine.
type Say struct {
	Text    string `flow:"text,required"`
	Voice   string `flow:"voice"`    // the node's voice, else the flow's; "" = the engine's default
	BargeIn bool   `flow:"barge_in"` // a DTMF digit stops the prompt (default true)
}

// Play plays a WAV file.
type Play struct {
	// File is the path as resolved by the loader: joined to the flow file's directory
	// unless absolute; a path inside Flow.FS when the flow came from a file system.
	// Open it with Flow.Open.
	File    string `flow:"file,required"`
	BargeIn bool   `flow:"barge_in"` // a DTMF digit stops the file (default true)
}

// Gather prompts the caller and collects DTMF digits. Each attempt plays the prompt
// (Prompt spoken, or PlayFile played), then waits Timeout for the first digit and
// InterDigitTimeout for each next one, until MaxDigits digits or FinishKey. No digit
// is a no-input; too few digits, or a value outside the node's Branch, a no-match. After
// a failed attempt the gather plays NoInputPrompt or NoMatchPrompt and tries again,
// Retries times; the last failure becomes the node's no_input or no_match outcome.
// The collected digits (without FinishKey) are stored in the call variable Var.
type Gather struct {
	Prompt            string        `flow:"prompt"`
	Voice             string        `flow:"voice"` // for Prompt, NoInputPrompt, NoMatchPrompt; else the flow's
	PlayFile          string        `flow:"play"`  // resolved like Play.File; exclusive with Prompt
	MinDigits         int           `flow:"min_digits"`
	MaxDigits         int           `flow:"max_digits"`
	FinishKey         string        `flow:"finish_key"` // "" = none
	Timeout           time.Duration `flow:"timeout"`
	InterDigitTimeout time.Duration `flow:"inter_digit_timeout"`
	Retries           int           `flow:"retries"` // attempts after the first
	NoInputPrompt     string        `flow:"no_input_prompt"`
	NoMatchPrompt     string        `flow:"no_match_prompt"`
	Var               string        `flow:"var"`
	BargeIn           bool          `flow:"barge_in"` // a digit stops the prompt and counts as input
}

// Goto continues at another node without doing anything, to share a node between
// branches or loop back to a menu.
type Goto struct {
	Target string `flow:"target,required"`
}

// Hangup ends the call and records how it ended.
type Hangup struct {
	Disposition string `flow:"disposition"` // one of the Disposition constants
	Reason      string `flow:"reason"`      // free text for the call record
}
