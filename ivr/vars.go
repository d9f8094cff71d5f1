package ivr

// Call variables: typed values from flows.Flow.NewVars, the runtime functions
// expressions call, languages and voices.

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"weak"

	"github.com/hotline-ivr/hotline/flows"
)

// builtinVars are the built-in variables (not functions) every flow shares with the
// subflows it calls; runtimeFuncs the functions the runtime passes to expressions.
var builtinVars, runtimeFuncs = func() (vars, funcs []string) {
	for _, b := range flows.Builtins() {
		if b.Func != nil {
			funcs = append(funcs, b.Name)
		} else {
			vars = append(vars, b.Name)
		}
	}
	return vars, funcs
}()

// newFrame returns the frame of flow f on this call with fresh variables: every
// declared and built-in variable at its zero value, the call's identity, and the
// runtime functions, bound to ctx (the call's context).
func (c *call) newFrame(ctx context.Context, f *flows.Flow, depth int) *frame {
	vars := f.NewVars()
	vars["caller"] = c.ch.Caller()
	vars["called"] = c.ch.Called()
	vars["call_id"] = c.ch.ID()
	if p, ok := c.ch.(Presetter); ok && depth == 0 {
		c.preset(vars, f, p.Presets())
	}
	c.installFuncs(ctx, vars, f)
	return &frame{flow: f, vars: vars, depth: depth}
}

// Presetter is implemented by a Channel whose call starts with some of the flow's
// variables already known: an outbound call the API originated ("remind the customer
// of appointment 42") sets them from the request. Values are text, converted to the
// variable's declared type; undeclared or built-in names and values that do not
// convert are logged and ignored, so a request cannot break the flow.
type Presetter interface {
	Presets() map[string]string
}

// preset sets the declared variables of f from the channel's presets.
func (c *call) preset(vars map[string]any, f *flows.Flow, presets map[string]string) {
	for name, text := range presets {
		typ, declared := f.Variables[name]
		if !declared || isBuiltin(name) {
			c.log.Warn("preset ignored: not a variable the flow declares", "var", name)
			continue
		}
		v, err := convertPreset(text, typ)
		if err != nil {
			c.log.Warn("preset ignored", "var", name, "type", typ.String(), "error", err)
			continue
		}
		vars[name] = v
	}
}

// isBuiltin reports whether name is one of the runtime's built-in variables.
func isBuiltin(name string) bool {
	return slices.Contains(builtinVars, name) || slices.Contains(runtimeFuncs, name)
}

// convertPreset turns a preset's text into a value of typ.
func convertPreset(text string, typ flows.Type) (any, error) {
	switch typ {
	case flows.TypeString, flows.TypeAny:
		return text, nil
	case flows.TypeNumber:
		return strconv.ParseFloat(text, 64)
	case flows.TypeInt:
		return strconv.Atoi(text)
	case flows.TypeBool:
		return strconv.ParseBool(text)
	case flows.TypeDuration:
		return time.ParseDuration(text)
	case flows.TypeTime:
		return time.Parse(time.RFC3339, text)
	}
	return nil, fmt.Errorf("a %s cannot be preset from text", typ)
}

// installFuncs puts queue_size, queue_wait and agents_available in vars. Each asks
// the QueueInfo for the queue's id (the environment's binding of the name the flow
// uses); without a QueueInfo, or when it fails, the value is 0 (and the failure is
// logged), so a switch on queue figures takes its default branch.
func (c *call) installFuncs(ctx context.Context, vars map[string]any, f *flows.Flow) {
	status := func(fn, name string) QueueStatus {
		if c.rt.queueInfo == nil {
			c.log.Debug("queue figures: no queue info configured; the value is 0", "function", fn, "queue", name)
			return QueueStatus{}
		}
		id := name
		if f.Env != nil && f.Env.Queues[name] != nil {
			id = f.Env.Queues[name].ID
		}
		st, err := c.rt.queueInfo.QueueStatus(ctx, id)
		if err != nil {
			c.log.Warn("queue figures unavailable; the value is 0", "function", fn, "queue", name, "error", err)
			return QueueStatus{}
		}
		return st
	}
	vars["queue_size"] = func(q string) int { return status("queue_size", q).Waiting }
	vars["queue_wait"] = func(q string) int { return int(status("queue_wait", q).ExpectedWait / time.Second) }
	vars["agents_available"] = func(q string) int { return status("agents_available", q).AgentsAvailable }
}

// refreshNow sets the now variable from the runtime's clock before a node runs, so
// expressions and hours nodes agree on the time.
func (c *call) refreshNow(fr *frame) { fr.vars["now"] = c.rt.clock() }

// lang returns the call's language: the language variable of fr.
func (fr *frame) lang() string {
	if l, ok := fr.vars["language"].(string); ok && l != "" {
		return l
	}
	return fr.flow.Language
}

// voice returns the voice of a node for text in language l (the call's language, or
// the flow's when a prompt has no text in the call's): the node's voices table (its
// own voice, else the language's), else the flow's voice for the language, else the
// flow's default.
func (fr *frame) voice(voices map[string]string, l string) string {
	if v := voices[l]; v != "" {
		return v
	}
	if fr.flow.Languages[l] == nil { // a language the flow does not speak: its own
		if v := voices[fr.flow.Language]; v != "" {
			return v
		}
	}
	return fr.flow.VoiceFor(l)
}

// setVar stores v in variable name of fr, converted to its declared type (a
// built-in's type for built-ins), so variables always hold the type the flow's
// expressions were checked against.
func (fr *frame) setVar(name string, v any) error {
	t, ok := fr.flow.Variables[name]
	if !ok {
		t = builtinType(name)
	}
	cv, err := t.Convert(v)
	if err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	fr.vars[name] = cv
	return nil
}

// builtinType returns the type of built-in variable name, TypeAny if it is none.
func builtinType(name string) flows.Type {
	for _, b := range flows.Builtins() {
		if b.Name == name && b.Func == nil {
			return b.Type
		}
	}
	return flows.TypeAny
}

// lookup returns the value of name as an expression would see it: a variable of fr,
// else an environment constant.
func (fr *frame) lookup(name string) (any, bool) {
	if v, ok := fr.vars[name]; ok {
		return v, true
	}
	if fr.flow.Env != nil {
		if v, ok := fr.flow.Env.Vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// dataVars returns a copy of vars without the runtime functions and now: the
// variables as the call record stores them.
func dataVars(vars map[string]any) Vars {
	out := make(Vars, len(vars))
	maps.Copy(out, vars)
	for _, fn := range runtimeFuncs {
		delete(out, fn)
	}
	delete(out, "now")
	return out
}

// flowCache keeps one value per loaded flow (a classifier trained on its intents),
// dropped when the garbage collector frees the flow, like fileCache.
type flowCache[T any] struct {
	mu sync.Mutex
	m  map[weak.Pointer[flows.Flow]]flowEntry[T]
}

type flowEntry[T any] struct {
	v   T
	err error
}

func newFlowCache[T any]() *flowCache[T] {
	return &flowCache[T]{m: map[weak.Pointer[flows.Flow]]flowEntry[T]{}}
}

// get returns the value for f, computing it with make the first time. make runs
// under the lock: it is called once per flow, and concurrent first calls wait for it.
func (fc *flowCache[T]) get(f *flows.Flow, make func() (T, error)) (T, error) {
	wp := weak.Make(f)
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if e, ok := fc.m[wp]; ok {
		return e.v, e.err
	}
	v, err := make()
	fc.m[wp] = flowEntry[T]{v, err}
	runtime.AddCleanup(f, func(wp weak.Pointer[flows.Flow]) {
		fc.mu.Lock()
		delete(fc.m, wp)
		fc.mu.Unlock()
	}, wp)
	return v, err
}
