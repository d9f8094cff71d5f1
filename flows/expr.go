package flows

// Expressions: github.com/expr-lang/expr programs compiled once at load, type-checked
// against the variables a flow declares, the built-in call variables, the
// environment's constants and the functions the runtime provides.

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Type is the type of a flow variable or expression.
type Type int

// The types a flow variable can be declared with (variables: {name: type}).
const (
	TypeUnknown  Type = iota // not declared; never the type of a loaded variable
	TypeString               // string: Go string
	TypeNumber               // number: Go float64 (ints convert)
	TypeInt                  // int: Go int (whole floats convert)
	TypeBool                 // bool: Go bool
	TypeTime                 // time: Go time.Time
	TypeDuration             // duration: Go time.Duration
	TypeList                 // list: Go []any
	TypeMap                  // map: Go map[string]any
	TypeAny                  // any: any Go value; checked when used
)

var typeNames = [...]string{"unknown", "string", "number", "int", "bool", "time", "duration", "list", "map", "any"}

// String returns the name a flow file uses for t.
func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return "unknown"
	}
	return typeNames[t]
}

// parseType returns the type named s, or TypeUnknown.
func parseType(s string) Type {
	for i, n := range typeNames[1:] {
		if n == s {
			return Type(i + 1)
		}
	}
	return TypeUnknown
}

// declarableTypes lists the type names variables may be declared with.
func declarableTypes() []string { return slices.Clone(typeNames[1:]) }

// checkerType is the expr type of t, for the type checker.
func (t Type) checkerType() types.Type {
	switch t {
	case TypeString:
		return types.String
	case TypeNumber:
		return types.Float64
	case TypeInt:
		return types.Int
	case TypeBool:
		return types.Bool
	case TypeTime:
		return types.TypeOf(time.Time{})
	case TypeDuration:
		return types.TypeOf(time.Duration(0))
	case TypeList:
		return types.TypeOf([]any{})
	case TypeMap:
		return types.TypeOf(map[string]any{})
	}
	return types.Any
}

// typeOfKind maps a type the checker inferred back to a flow type.
func typeOfKind(rt reflect.Type) Type {
	if rt == nil {
		return TypeAny
	}
	switch rt {
	case reflect.TypeFor[time.Time]():
		return TypeTime
	case reflect.TypeFor[time.Duration]():
		return TypeDuration
	}
	switch rt.Kind() {
	case reflect.String:
		return TypeString
	case reflect.Float32, reflect.Float64:
		return TypeNumber
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return TypeInt
	case reflect.Bool:
		return TypeBool
	case reflect.Slice, reflect.Array:
		return TypeList
	case reflect.Map:
		return TypeMap
	}
	return TypeAny
}

// assignable reports whether a value of type from may be stored in a variable of
// type to: the same type, a number from an int, or anything into any. A value of
// type any (a JSON field, say) is accepted here and converted when assigned.
func (to Type) assignable(from Type) bool {
	return to == from || to == TypeAny || from == TypeAny || (to == TypeNumber && from == TypeInt)
}

// Zero returns the value a variable of type t has before it is set.
func (t Type) Zero() any {
	switch t {
	case TypeString:
		return ""
	case TypeNumber:
		return 0.0
	case TypeInt:
		return 0
	case TypeBool:
		return false
	case TypeTime:
		return time.Time{}
	case TypeDuration:
		return time.Duration(0)
	case TypeList:
		return []any{}
	case TypeMap:
		return map[string]any{}
	}
	return nil
}

// Convert returns v as a value of type t, for storing an expression's result (or a
// value from outside, such as a JSON field) in a variable of type t. Whole numbers
// convert between int and number; a number or bool converts to string by formatting.
func (t Type) Convert(v any) (any, error) {
	switch t {
	case TypeAny, TypeUnknown:
		return v, nil
	case TypeString:
		switch x := v.(type) {
		case string:
			return x, nil
		case nil:
			return "", nil
		case int, int64, float64, bool:
			return formatValue(x), nil
		}
	case TypeNumber:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float32:
			return float64(x), nil
		case nil:
			return 0.0, nil
		}
	case TypeInt:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), nil
			}
		case nil:
			return 0, nil
		}
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if v == nil {
			return false, nil
		}
	case TypeTime:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			if tm, err := time.Parse(time.RFC3339, x); err == nil {
				return tm, nil
			}
		}
	case TypeDuration:
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case string:
			if d, err := time.ParseDuration(x); err == nil {
				return d, nil
			}
		}
	case TypeList:
		if x, ok := v.([]any); ok {
			return x, nil
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
			out := make([]any, rv.Len())
			for i := range out {
				out[i] = rv.Index(i).Interface()
			}
			return out, nil
		}
	case TypeMap:
		if x, ok := v.(map[string]any); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%w: cannot use %T value %s as %s", ErrType, v, quote(fmt.Sprint(v)), t)
}

// ErrType is wrapped by the errors of Type.Convert and of an expression whose value
// does not have the type its use needs.
var ErrType = errors.New("flows: wrong type")

// ErrNoFunction is wrapped by Eval's error when an expression calls a runtime
// function (queue_size, queue_wait, agents_available) that vars does not provide.
var ErrNoFunction = errors.New("flows: runtime function not provided")

// Builtin describes a variable every flow has or a function the runtime provides.
type Builtin struct {
	Name     string
	Type     Type   // the variable's type; TypeUnknown for functions
	ReadOnly bool   // set by the runtime only: set nodes cannot assign it
	Func     any    // for functions: a nil value of the Go function type the runtime must pass
	Doc      string // what it holds, for documentation and tools
}

// Builtins lists the built-in variables and runtime functions, in documentation
// order. The runtime sets the variables as the call goes on and passes each function,
// under its name, in the vars of Expr.Eval and Template.Render.
func Builtins() []Builtin { return slices.Clone(builtins) }

var builtins = []Builtin{
	{Name: "caller", Type: TypeString, ReadOnly: true, Doc: "the caller's number or SIP user"},
	{Name: "called", Type: TypeString, ReadOnly: true, Doc: "the number or SIP user that was called"},
	{Name: "call_id", Type: TypeString, ReadOnly: true, Doc: "the call's unique id"},
	{Name: "now", Type: TypeTime, ReadOnly: true, Doc: "the current time (time.Now() unless the runtime passes one)"},
	{Name: "disposition", Type: TypeString, ReadOnly: true, Doc: "how the call ended, in the on_hangup section; empty before"},
	{Name: "digits", Type: TypeString, Doc: "the last input of a gather or menu without a var of its own"},
	{Name: "language", Type: TypeString, Doc: "the call's language code; starts as the flow's language"},
	{Name: "intent", Type: TypeString, Doc: "the intent the last intent node (or speech menu) recognized"},
	{Name: "intent_confidence", Type: TypeNumber, Doc: "its confidence, from 0 to 1"},
	{Name: "sentiment", Type: TypeNumber, Doc: "the sentiment of the caller's last speech, from -1 (negative) to 1"},
	{Name: "transcript", Type: TypeString, Doc: "the text of the caller's last speech"},
	{Name: "http_status", Type: TypeInt, Doc: "the status code of the last http node; 0 when no response came"},
	{Name: "ticket_id", Type: TypeString, Doc: "the id of the last ticket created"},
	{Name: "survey_score", Type: TypeInt, Doc: "the answer to the first question of the last survey, 1 to 5; 0 when none"},
	{Name: "recording", Type: TypeString, Doc: "the id of the last recording (record node without a var of its own)"},
	{Name: "queue_size", Func: (func(queue string) int)(nil), Doc: "callers waiting in the queue now"},
	{Name: "queue_wait", Func: (func(queue string) int)(nil), Doc: "the expected wait in the queue, in whole seconds"},
	{Name: "agents_available", Func: (func(queue string) int)(nil), Doc: "agents ready to take a call of the queue"},
}

// queueFuncs are the runtime functions whose first argument names a queue.
var queueFuncs = []string{"queue_size", "queue_wait", "agents_available"}

func lookupBuiltin(name string) *Builtin {
	for i := range builtins {
		if builtins[i].Name == name {
			return &builtins[i]
		}
	}
	return nil
}

// scope is what the expressions of one flow may name: every variable with its type,
// the environment's constants and the runtime functions.
type scope struct {
	vars   map[string]Type // built-in, declared and implicitly declared variables
	consts map[string]any  // the environment's vars, read-only
	env    types.Map       // the checker's view of all of the above, built once
}

// checkerEnv returns the type environment for the checker, with extra names (the
// body, status and headers of an http response) added.
func (s *scope) checkerEnv(extra map[string]Type) types.Map {
	if s.env == nil {
		s.env = types.Map{}
		for name, t := range s.vars {
			s.env[name] = t.checkerType()
		}
		for name, v := range s.consts {
			s.env[name] = constType(v).checkerType()
		}
		for _, b := range builtins {
			if b.Func != nil {
				s.env[b.Name] = types.TypeOf(b.Func)
			}
		}
	}
	if len(extra) == 0 {
		return s.env
	}
	env := make(types.Map, len(s.env)+len(extra))
	for k, v := range s.env {
		env[k] = v
	}
	for k, t := range extra {
		env[k] = t.checkerType()
	}
	return env
}

// names lists every name expressions may use, for suggestions.
func (s *scope) names(extra map[string]Type) []string {
	var out []string
	for n := range s.checkerEnv(extra) {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// constType is the type of an environment constant, from its YAML type.
func constType(v any) Type {
	switch v.(type) {
	case string:
		return TypeString
	case int:
		return TypeInt
	case float64:
		return TypeNumber
	case bool:
		return TypeBool
	}
	return TypeAny
}

// Expr is one compiled expression of a flow: a switch condition, a set value, an
// http response mapping, a {{ }} interpolation. Evaluate it with Eval (or
// Flow.Eval) and the call's variables.
type Expr struct {
	Src string // as written in the flow file
	Pos Pos    // where it is written
	// Type is the type of the value Eval returns: the type its use requires (bool for
	// switch, the variable's type for set) or, where any type will do, the type the
	// checker inferred (TypeAny when it cannot tell).
	Type Type
	// Program is the compiled program, for expr.Run; Eval is simpler and fills in
	// what vars lacks.
	Program *vm.Program

	refs  []string        // names of the scope it reads, for Eval
	scope *scope          // the flow's names
	extra map[string]Type // more names it may read (http response: body, status, headers)
}

// Eval runs e with the call's variables. Names that vars lacks take the
// environment's constant, else now the current time, else the zero value of their
// declared type; a runtime function missing from vars is an error wrapping
// ErrNoFunction. The result has type e.Type (converted, as Type.Convert does, when the
// expression's value is of type any). Eval does not modify vars.
func (e *Expr) Eval(vars map[string]any) (any, error) {
	if e == nil || e.Program == nil {
		return nil, errors.New("flows: expression not compiled")
	}
	env := make(map[string]any, len(e.refs))
	for _, name := range e.refs {
		if v, ok := vars[name]; ok {
			env[name] = v
			continue
		}
		if v, ok := e.scope.consts[name]; ok {
			env[name] = v
			continue
		}
		if t, ok := e.scope.vars[name]; ok {
			if name == "now" {
				env[name] = time.Now()
			} else {
				env[name] = t.Zero()
			}
			continue
		}
		if t, ok := e.extra[name]; ok {
			env[name] = t.Zero()
			continue
		}
		if b := lookupBuiltin(name); b != nil && b.Func != nil {
			return nil, fmt.Errorf("%w: %s (expression %s at %s)", ErrNoFunction, name, quote(e.Src), e.Pos)
		}
	}
	out, err := vm.Run(e.Program, env)
	if err != nil {
		return nil, fmt.Errorf("flows: expression %s at %s: %w", quote(e.Src), e.Pos, err)
	}
	if e.Type == TypeAny {
		return out, nil
	}
	v, err := e.Type.Convert(out)
	if err != nil {
		return nil, fmt.Errorf("expression %s at %s: %w", quote(e.Src), e.Pos, err)
	}
	return v, nil
}

// Eval evaluates e, an expression of f, with the call's variables (see Expr.Eval).
func (f *Flow) Eval(e *Expr, vars map[string]any) (any, error) { return e.Eval(vars) }

// maxExprLen bounds the text of one expression: longer ones are not expressions.
const maxExprLen = 4096

// exprError is a problem found compiling an expression: at is the rune offset in the
// expression's text where it is.
type exprError struct {
	at  int
	msg string
}

// compileExpr compiles src in scope sc with the extra names; want is the type the
// use needs (TypeUnknown: any). It never panics: a panic inside expr becomes an error.
func compileExpr(sc *scope, src string, want Type, extra map[string]Type) (e *Expr, problem *exprError) {
	e = &Expr{Src: src, scope: sc, extra: extra}
	if strings.TrimSpace(src) == "" {
		return nil, &exprError{0, "expression is empty"}
	}
	if len(src) > maxExprLen {
		return nil, &exprError{0, fmt.Sprintf("expression is longer than %d bytes", maxExprLen)}
	}
	defer func() {
		if r := recover(); r != nil {
			e, problem = nil, &exprError{0, fmt.Sprintf("the expression compiler failed on this input (%v)", r)}
		}
	}()
	env := sc.checkerEnv(extra)
	prog, err := expr.Compile(src, expr.Env(env), expr.MaxNodes(2000))
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			msg := strings.TrimSpace(fe.Message)
			if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
				msg = "unknown variable " + quote(name) + didYouMean{name, sc.names(extra)}.String()
			}
			if strings.Contains(src, "{{") {
				msg += " (an expression is written without {{ }}, which are for text)"
			}
			return nil, &exprError{max(fe.From, 0), msg}
		}
		return nil, &exprError{0, err.Error()}
	}
	e.Program = prog
	node := prog.Node()
	got := typeOfKind(node.Type())
	v := &refVisitor{env: env}
	ast.Walk(&node, v)
	e.refs = v.refs
	switch {
	case want == TypeUnknown || want == TypeAny:
		e.Type = got
	case !want.assignable(got):
		return nil, &exprError{0, fmt.Sprintf("expression has type %s, want %s", got, want)}
	default:
		e.Type = want
	}
	return e, nil
}

// refVisitor collects the scope names an expression reads, and the literal queue
// names passed to queue functions.
type refVisitor struct {
	env    types.Map
	refs   []string
	queues []queueRef
}

type queueRef struct {
	name string
	at   int // rune offset of the literal
}

func (v *refVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if _, ok := v.env[x.Value]; ok && !slices.Contains(v.refs, x.Value) {
			v.refs = append(v.refs, x.Value)
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && slices.Contains(queueFuncs, id.Value) && len(x.Arguments) > 0 {
			if s, ok := x.Arguments[0].(*ast.StringNode); ok {
				v.queues = append(v.queues, queueRef{s.Value, s.Location().From})
			}
		}
	}
}

// literalQueues returns the queue names e passes as literals to queue functions.
func literalQueues(e *Expr) []queueRef {
	if e == nil || e.Program == nil {
		return nil
	}
	node := e.Program.Node()
	v := &refVisitor{env: types.Map{}}
	ast.Walk(&node, v)
	return v.queues
}

// formatValue renders a value for a prompt: text as is, whole numbers without a
// decimal point, times as RFC 3339, nil as nothing.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%.0f", x)
		}
		return fmt.Sprintf("%g", x)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}
