package flowtest

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
	"github.com/hotline-ivr/hotline/ivr"
)

// EntryKind says what an Entry of a call's log records.
type EntryKind int

// The entry kinds; the zero value is EntryUnknown, never logged.
const (
	EntryUnknown   EntryKind = iota
	EntryNode                // the call entered Node, of Type
	EntryDone                // Node finished: Next, Err and the variables it Changed
	EntryPrompt              // the call said Text (with Voice)
	EntryAudio               // the call played audio that is not speech: Text describes it
	EntryPress               // the caller pressed the keys in Text
	EntrySay                 // the caller said Text
	EntryNoInput             // the caller did nothing for Wait
	EntryHangup              // the caller hung up
	EntryHTTP                // a web request: Text is "METHOD url -> status (source)"
	EntryQueue               // the call entered a queue: Queue; Outcome once it left
	EntryTransfer            // a transfer: Transfer; Outcome
	EntryTicket              // a ticket was created: Ticket
	EntryRecording           // a recording was kept (Text is its id) or discarded
	EntryEnd                 // the call is over: Text is the disposition
	EntryNote                // anything else worth knowing (the engine hung up…)
)

// Entry is one thing that happened in a simulated call, in order: the transcript
// the simulator prints as the call goes and a failed test shows.
type Entry struct {
	Kind EntryKind
	// Node is the node it happened at, as ivr.Result.Path writes it ("child:node" in
	// a subflow), "" before the first one.
	Node     string
	Type     string // EntryNode: the node's type
	Section  bool   // EntryNode: the node is in the on_hangup section
	Text     string
	Voice    string        // EntryPrompt: the voice it was spoken with
	Wait     time.Duration // EntryNoInput: how long the caller stayed silent
	Next     string        // EntryDone: where the call goes next ("" for nowhere)
	Err      string        // EntryDone: why the node failed, if it did
	Changed  []Change      // EntryDone: the variables the node changed
	Outcome  flows.Outcome // EntryQueue, EntryTransfer: how it came out ("" while it runs)
	Queue    *ivr.QueueRequest
	Transfer *ivr.TransferRequest
	Ticket   *Ticket
	At       time.Duration // virtual time since the call started
}

// Change is one variable a node changed.
type Change struct {
	Name     string
	Old, New any
}

// Ticket is a ticket a simulated call created, with the id the simulator gave it
// (T-1, T-2… in each call).
type Ticket struct {
	ID string
	ivr.Ticket
}

// String renders e as one transcript line (without indentation).
func (e Entry) String() string {
	switch e.Kind {
	case EntryNode:
		if e.Section {
			return "-> " + e.Node + " (" + e.Type + ", on_hangup)"
		}
		return "-> " + e.Node + " (" + e.Type + ")"
	case EntryDone:
		var parts []string
		for _, c := range e.Changed {
			parts = append(parts, c.Name+" = "+formatValue(c.New))
		}
		if e.Err != "" {
			parts = append(parts, "failed: "+e.Err)
			if e.Next != "" {
				parts = append(parts, "error route to "+e.Next)
			}
		}
		return strings.Join(parts, "; ")
	case EntryPrompt:
		return "says: " + e.Text
	case EntryAudio:
		return "plays: " + e.Text
	case EntryPress:
		return "caller presses " + e.Text
	case EntrySay:
		return "caller says: " + e.Text
	case EntryNoInput:
		return "caller is silent for " + formatDuration(e.Wait)
	case EntryHangup:
		return "caller hangs up"
	case EntryHTTP:
		return "http " + e.Text
	case EntryQueue:
		if e.Outcome != "" {
			return "left queue " + e.Queue.Name + ": " + string(e.Outcome)
		}
		return "queue " + describeQueue(e.Queue)
	case EntryTransfer:
		s := "transfer to " + e.Transfer.To + " (" + e.Transfer.Mode
		if e.Transfer.Trunk != "" {
			s += " via " + e.Transfer.Trunk
		}
		s += ")"
		if e.Outcome != "" {
			s += " -> " + string(e.Outcome)
		}
		return s
	case EntryTicket:
		return "ticket " + describeTicket(e.Ticket)
	case EntryRecording:
		return "recording " + e.Text
	case EntryEnd:
		return "call ended: " + e.Text
	}
	return e.Text
}

// describeQueue renders a queue request: name, priority, skills and screen pop.
func describeQueue(q *ivr.QueueRequest) string {
	if q == nil {
		return "?"
	}
	s := q.Name + ", priority " + strconv.Itoa(q.Priority)
	if len(q.Skills) > 0 {
		var sk []string
		for _, k := range slices.Sorted(maps.Keys(q.Skills)) {
			sk = append(sk, fmt.Sprintf("%s>=%d", k, q.Skills[k]))
		}
		s += ", skills " + strings.Join(sk, " ")
	}
	if q.Callback {
		s += ", callback offered"
	}
	if len(q.ScreenPop) > 0 {
		s += ", screen pop " + formatVars(q.ScreenPop)
	}
	return s
}

// describeTicket renders a ticket: id, category, priority, summary and fields.
func describeTicket(t *Ticket) string {
	if t == nil {
		return "?"
	}
	s := t.ID + ": " + t.Category + ", " + t.Priority
	if t.Summary != "" {
		s += ", " + strconv.Quote(t.Summary)
	}
	if len(t.Fields) > 0 {
		s += ", " + formatVars(t.Fields)
	}
	return s
}

// formatVars renders variables as sorted name=value pairs in braces.
func formatVars(m map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+formatValue(m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// formatValue renders a variable's value for people: text quoted, whole numbers
// without decimals, others to 6 significant digits (a confidence of
// 0.999965604262929 reads 0.999966), times in RFC 3339.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', 0, 64)
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	case time.Time:
		return x.Format(time.RFC3339)
	case time.Duration:
		return x.String()
	}
	return fmt.Sprint(v)
}

// formatDuration renders d briefly: 6s, 1.5s, 2m0s.
func formatDuration(d time.Duration) string {
	if d%time.Second == 0 && d < time.Minute {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return d.String()
}

// changes lists the variables whose value differs between before and after, sorted.
func changes(before, after ivr.Vars) []Change {
	var out []Change
	for _, k := range slices.Sorted(maps.Keys(after)) {
		old, had := before[k]
		if had && reflect.DeepEqual(old, after[k]) {
			continue
		}
		out = append(out, Change{Name: k, Old: old, New: after[k]})
	}
	return out
}

// speechText reduces a prompt as the synthesizer gets it to what a person reads:
// markup removed (in case an SSML document comes through) and runs of white space
// (folded YAML) made single spaces.
func speechText(s string) string {
	if strings.Contains(s, "<") {
		var b strings.Builder
		in := false
		for _, r := range s {
			switch {
			case r == '<':
				in = true
			case r == '>' && in:
				in = false
			case !in:
				b.WriteRune(r)
			}
		}
		s = b.String()
		s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&").Replace(s)
	}
	return strings.Join(strings.Fields(s), " ")
}
