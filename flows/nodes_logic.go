package flows

// The node types that compute and route without the caller: set, switch, subflow,
// return, answer, pause.

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Assignment is one variable set by an expression: an entry of set, http.response
// or return.values.
type Assignment struct {
	Var   string // the variable (or, in return.values, the name of the value)
	Value *Expr  // its Type is the variable's type: Eval converts the value to it
	Pos   Pos    // where Var is written
}

// Assignments is a mapping from variable to expression, in file order: later
// entries see the values earlier ones set.
type Assignments []*Assignment

// Set assigns variables, in order. A value that cannot be converted to its
// variable's type (possible only for values of type any, such as JSON fields) is the
// error outcome.
type Set struct {
	Assign Assignments
}

// Switch routes by the first case whose condition holds, else to Default.
type Switch struct {
	Cases   []*Case
	Default string // the node when no case holds
}

// Case is one case of a switch.
type Case struct {
	When *Expr  // a bool expression
	Next string // the node it leads to
}

// caseSpec is one item of a switch as written: {when, next} or {default}.
type caseSpec struct {
	When    *Expr  `flow:"when,type=bool" doc:"a condition, such as queue_wait(\"care\") > 120"`
	Next    string `flow:"next" doc:"the node the case leads to"`
	Default string `flow:"default" doc:"in the last item only: the node when no case holds"`
}

// Subflow runs another flow (Target) on the same call, then continues at its ok
// route when that flow reaches a return node. Args are evaluated in this flow and
// set the child's variables (convert each with Target.Variables[name].Convert); the
// child starts with its own variables otherwise, and built-ins (caller, language…)
// carried over. Returns copies values back: Returns[parent variable] names a value
// of the child's return node, else a variable of the child.
type Subflow struct {
	Flow    string            `flow:"flow,required" doc:"the name of the flow to run"`
	Args    map[string]*Expr  `flow:"args" doc:"variables of the called flow to set: name to expression"`
	Returns map[string]string `flow:"returns" doc:"variables of this flow to set from the called flow: this flow's variable to the returned value's name"`

	Target *Flow // the flow named Flow, resolved when the flows are loaded together
}

// Return ends a subflow: the calling flow continues at its subflow node's ok route.
// Values are evaluated in the subflow; the caller's returns mapping picks from them.
// In a flow that was not called as a subflow, return ends the call like a hangup
// with disposition unresolved.
type Return struct {
	Values Assignments `flow:"values" doc:"values to return: name to expression"`
}

// Answer answers the call (200 OK) if it is not answered yet: after early media,
// before the first prompt the caller must be billed for. Outcomes ok and error.
type Answer struct{}

// Pause waits in silence; keys pressed meanwhile wait for the next gather.
type Pause struct {
	Duration time.Duration `flow:"duration,required" doc:"how long to wait, such as 2s"`
}

// DefaultMaxSubflowDepth bounds how deeply subflows may call subflows at run time.
const DefaultMaxSubflowDepth = 8

// assignments decodes a mapping from variable to expression. With targets the keys
// are variables of the flow, checked (and their types applied) once every node has
// declared its variables; otherwise they are free names (return values).
func (p *parser) assignments(v *yaml.Node, prefix, path string, targets bool) Assignments {
	v = resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, `%s%s must be a mapping from variable to expression, such as {language: '"zh"'}, got %s`, prefix, path, describe(v))
		return nil
	}
	var out Assignments
	for _, kv := range p.pairs(v, prefix, path) {
		if !varRE.MatchString(kv.name) {
			p.errorf(kv.key, "%s%s: %s must be a variable name matching [a-z_][a-z0-9_]*", prefix, path, quote(kv.name))
			continue
		}
		what := path + "." + kv.name
		e := p.expr(kv.value, prefix, what, TypeUnknown, nil)
		if e == nil {
			continue
		}
		a := &Assignment{Var: kv.name, Value: e, Pos: p.pos(kv.key)}
		out = append(out, a)
		if targets {
			pe := p.pendingOf(e)
			key := kv.key
			p.later = append(p.later, func() {
				if t, ok := p.writable(key, prefix, what, a.Var); ok && pe != nil {
					pe.want = t
				}
			})
		}
	}
	return out
}

func decodeSet(p *parser, s *nodeSrc, v *yaml.Node) {
	a := s.node.Action.(*Set)
	v = resolve(v)
	if v.Kind == yaml.MappingNode && len(v.Content) == 0 || isNull(v) {
		p.errorf(s.action, "%sset needs at least one variable: set: {name: expression}", s.prefix)
		return
	}
	a.Assign = p.assignments(v, s.prefix, "set", true)
}

func decodeSwitch(p *parser, s *nodeSrc, v *yaml.Node) {
	a := s.node.Action.(*Switch)
	v = resolve(v)
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		p.errorf(v, "%sswitch must be a list of cases {when: condition, next: node} ending with {default: node}, got %s", s.prefix, describe(v))
		return
	}
	var specs []*caseSpec
	p.setField(reflect.ValueOf(&specs).Elem(), v, s.prefix, "switch", structField{})
	if len(specs) != len(v.Content) {
		return
	}
	for i, c := range specs {
		item := resolve(v.Content[i])
		what := "switch[" + strconv.Itoa(i) + "]"
		field := func(name string) *yaml.Node {
			if item.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(item.Content); j += 2 {
					if item.Content[j].Value == name {
						return item.Content[j+1]
					}
				}
			}
			return item
		}
		if c.Default != "" {
			switch {
			case c.When != nil || c.Next != "":
				p.errorf(item, "%s%s: default stands alone: {default: node}", s.prefix, what)
			case i != len(specs)-1:
				p.errorf(item, "%s%s: default must be the last case; the cases after it could never be chosen", s.prefix, what)
			default:
				s.targets = append(s.targets, targetRef{v: field("default"), what: what + ".default", set: func(n string) { a.Default = n }})
			}
			continue
		}
		if c.When == nil {
			if item.Kind == yaml.MappingNode {
				p.errorf(item, "%s%s needs when (a condition) and next, or is {default: node}", s.prefix, what)
			}
			continue
		}
		if c.Next == "" {
			p.errorf(item, "%s%s needs next: the node the case leads to", s.prefix, what)
			continue
		}
		cs := &Case{When: c.When}
		a.Cases = append(a.Cases, cs)
		s.targets = append(s.targets, targetRef{v: field("next"), what: what + ".next", set: func(n string) { cs.Next = n }})
	}
	if last := specs[len(specs)-1]; last.Default == "" {
		p.errorf(v, "%sswitch needs a last case {default: node} for when no condition holds", s.prefix)
		p.graphBroken = true
	}
}

func checkSubflow(p *parser, s *nodeSrc) {
	a := s.node.Action.(*Subflow)
	if a.Flow != "" && !flowNameRE.MatchString(a.Flow) {
		p.errorf(s.fields["flow"], "%ssubflow.flow must be a flow name (a-z, 0-9, _ and -), got %s", s.prefix, quote(a.Flow))
	}
	p.subflows = append(p.subflows, s)
}

func checkReturn(p *parser, s *nodeSrc) {
	p.returns = append(p.returns, s)
}

// linkFlows resolves the subflow nodes of flows loaded together and checks their
// arguments, returned values and recursion.
func linkFlows(ps []*parser) {
	byName := map[string]*parser{}
	for _, p := range ps {
		if p.flow.Name != "" && byName[p.flow.Name] == nil {
			byName[p.flow.Name] = p
		}
	}
	names := slices.Sorted(maps.Keys(byName))
	values := map[*parser]map[string]Type{}
	for _, p := range ps {
		vals := map[string]Type{}
		for _, s := range p.returns {
			for _, as := range s.node.Action.(*Return).Values {
				if as.Value.Program != nil {
					if t, ok := vals[as.Var]; ok && t != as.Value.Type {
						vals[as.Var] = TypeAny
					} else {
						vals[as.Var] = as.Value.Type
					}
				}
			}
		}
		values[p] = vals
	}
	for _, p := range ps {
		for _, s := range p.subflows {
			a := s.node.Action.(*Subflow)
			child := byName[a.Flow]
			if child == nil {
				if a.Flow != "" && flowNameRE.MatchString(a.Flow) {
					p.errorf(s.fields["flow"], "%ssubflow: no flow named %s is loaded with this one%s (subflows are resolved among the flows loaded together)",
						s.prefix, quote(a.Flow), didYouMean{a.Flow, names})
				}
				continue
			}
			a.Target = child.flow
			p.checkArgs(s, a, child)
			p.checkReturns(s, a, child, values[child])
		}
	}
	checkRecursion(ps, byName)
}

// checkArgs checks the args of subflow node s against the child's variables.
func (p *parser) checkArgs(s *nodeSrc, a *Subflow, child *parser) {
	n := resolve(s.fields["args"])
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for _, kv := range p.pairs(n, s.prefix, "subflow.args") {
		e := a.Args[kv.name]
		t, ok := child.scope.vars[kv.name]
		b := lookupBuiltin(kv.name)
		switch {
		case !ok || b != nil && b.ReadOnly:
			p.errorf(kv.key, "%ssubflow.args: flow %s has no variable %s to set%s", s.prefix, quote(child.flow.Name), quote(kv.name), didYouMean{kv.name, mapKeys(child.flow.Variables)})
		case e != nil && e.Program != nil && !t.assignable(e.Type):
			p.errorf(kv.value, "%ssubflow.args.%s: expression has type %s, but %s's variable is %s", s.prefix, kv.name, e.Type, child.flow.Name, t)
		}
	}
}

// checkReturns checks the returns of subflow node s against what the child returns.
func (p *parser) checkReturns(s *nodeSrc, a *Subflow, child *parser, vals map[string]Type) {
	n := resolve(s.fields["returns"])
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for _, kv := range p.pairs(n, s.prefix, "subflow.returns") {
		mine, ok := p.writable(kv.key, s.prefix, "subflow.returns", kv.name)
		if !ok {
			continue
		}
		from := a.Returns[kv.name]
		theirs, ok := vals[from]
		if !ok {
			theirs, ok = child.scope.vars[from]
		}
		switch {
		case !ok:
			p.errorf(kv.value, "%ssubflow.returns.%s: flow %s returns no value and has no variable named %s", s.prefix, kv.name, quote(child.flow.Name), quote(from))
		case !mine.assignable(theirs):
			p.errorf(kv.value, "%ssubflow.returns.%s: %s's %s is %s, but this flow's %s is %s", s.prefix, kv.name, child.flow.Name, from, theirs, kv.name, mine)
		}
	}
}

// checkRecursion reports a flow that calls itself (directly or through other flows)
// when no path from its start reaches a return without making such a call: each
// call would make the next one and the call would only end at the depth limit.
func checkRecursion(ps []*parser, byName map[string]*parser) {
	calls := func(p *parser) []*parser {
		var out []*parser
		for _, s := range p.subflows {
			if c := byName[s.node.Action.(*Subflow).Flow]; c != nil {
				out = append(out, c)
			}
		}
		return out
	}
	reaches := func(from, to *parser) []string { // a call chain from -> ... -> to
		prev := map[*parser]*parser{from: nil}
		queue := []*parser{from}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			for _, c := range calls(x) {
				if _, seen := prev[c]; seen && c != to {
					continue
				}
				if c == to {
					chain := []string{to.flow.Name}
					for y := x; y != nil; y = prev[y] {
						chain = append([]string{y.flow.Name}, chain...)
					}
					return chain
				}
				prev[c] = x
				queue = append(queue, c)
			}
		}
		return nil
	}
	for _, p := range ps {
		var recursive []*nodeSrc
		var chain []string
		for _, s := range p.subflows {
			c := byName[s.node.Action.(*Subflow).Flow]
			if c == nil {
				continue
			}
			if ch := reaches(c, p); ch != nil {
				if chain == nil {
					chain = append([]string{p.flow.Name}, ch...)
				}
				recursive = append(recursive, s)
			}
		}
		if len(recursive) == 0 || p.graphBroken {
			continue
		}
		blocked := map[string]bool{}
		for _, s := range recursive {
			blocked[s.node.Name] = true
		}
		seen := map[string]bool{p.flow.Start: true}
		queue := []string{p.flow.Start}
		found := false
		for len(queue) > 0 && !found {
			name := queue[0]
			queue = queue[1:]
			n := p.flow.Nodes[name]
			if n == nil || blocked[name] {
				continue
			}
			if n.Type == "return" {
				found = true
				break
			}
			for _, t := range n.Targets() {
				if !seen[t] {
					seen[t] = true
					queue = append(queue, t)
				}
			}
		}
		if !found {
			s := recursive[0]
			p.errorf(s.key, "%ssubflow calls flow %s again (%s), but no path from start %s reaches a return without calling it: the recursion would never end",
				s.prefix, quote(p.flow.Name), joinArrow(chain), quote(p.flow.Start))
		}
	}
}

func joinArrow(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += " → "
		}
		out += n
	}
	return out
}

// mapKeys returns the keys of m, sorted.
func mapKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// sortStrings sorts s and returns it.
func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
