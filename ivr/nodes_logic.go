package ivr

// The nodes that compute and route without the caller: set, switch, hours, subflow,
// return.

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// setNode assigns variables in order: each value sees the ones before it. A value
// that does not convert to its variable's type is the error outcome, with the
// earlier assignments kept (as Amazon Connect's set attributes block does).
func (c *call) setNode(fr *frame, n *flows.Node, a *flows.Set) (string, error) {
	for _, as := range a.Assign {
		v, err := as.Value.Eval(fr.vars)
		if err != nil {
			return "", fmt.Errorf("set %s: %w", as.Var, err)
		}
		if err := fr.setVar(as.Var, v); err != nil {
			return "", err
		}
		if as.Var == "language" {
			c.log.Info("language changed", "language", fr.lang())
		}
	}
	return route(n, flows.OutcomeOK)
}

// switchNode routes by the first case whose condition holds; a condition that fails
// to evaluate is the error outcome, not a false one, so a broken expression is seen.
func (c *call) switchNode(fr *frame, a *flows.Switch) (string, error) {
	for i, cs := range a.Cases {
		v, err := cs.When.Eval(fr.vars)
		if err != nil {
			return "", fmt.Errorf("switch case %d (%s): %w", i, cs.When.Src, err)
		}
		if b, _ := v.(bool); b {
			return cs.Next, nil
		}
	}
	if a.Default == "" {
		return "", fmt.Errorf("switch: no case holds and there is no default")
	}
	return a.Default, nil
}

// hoursNode judges the calendar at the runtime clock's time.
func (c *call) hoursNode(n *flows.Node, a *flows.Hours) (string, error) {
	if a.Calendar == nil {
		return "", fmt.Errorf("hours node: no calendar resolved for %q", a.CalendarName)
	}
	now := c.rt.clock()
	o := a.Calendar.Status(now)
	c.log.Info("hours", "node", n.Name, "calendar", a.Calendar.Name, "status", o, "at", now.In(locationOf(a.Calendar)).Format("Mon 2006-01-02 15:04"))
	return route(n, o)
}

// subflowNode runs another flow on the call with its own variables: the built-ins
// (caller, language, digits, intent…) are shared both ways, the args set the
// child's variables, and the returns copy values back when the child returns. A
// hangup in the child ends the call; its failure is this node's error outcome.
func (c *call) subflowNode(ctx context.Context, fr *frame, n *flows.Node, a *flows.Subflow) (string, error) {
	if fr.depth >= flows.DefaultMaxSubflowDepth {
		return "", fmt.Errorf("subflow %s: the depth limit of %d nested subflows is reached", a.Flow, flows.DefaultMaxSubflowDepth)
	}
	child := a.Target
	if child == nil {
		return "", fmt.Errorf("subflow %s: the flow is not loaded with this one", a.Flow)
	}
	cf := c.newFrame(ctx, child, fr.depth+1)
	shareBuiltins(cf.vars, fr.vars)
	for _, name := range sortedKeys(a.Args) {
		v, err := a.Args[name].Eval(fr.vars)
		if err != nil {
			return "", fmt.Errorf("subflow %s: argument %s: %w", a.Flow, name, err)
		}
		if err := cf.setVar(name, v); err != nil {
			return "", fmt.Errorf("subflow %s: argument %w", a.Flow, err)
		}
	}
	c.log.Info("subflow", "node", n.Name, "subflow", child.Name, "depth", cf.depth)
	err := c.walk(ctx, cf, child.Start)
	shareBuiltins(fr.vars, cf.vars)
	switch {
	case err != nil:
		return "", fmt.Errorf("subflow %s: %w", a.Flow, err)
	case c.ended:
		return "", nil
	case !cf.done:
		return "", fmt.Errorf("subflow %s ended without a return", a.Flow)
	}
	for _, name := range sortedKeys(a.Returns) {
		from := a.Returns[name]
		v, ok := cf.returned[from]
		if !ok {
			v = cf.vars[from]
		}
		if err := fr.setVar(name, v); err != nil {
			return "", fmt.Errorf("subflow %s: returned value %s: %w", a.Flow, from, err)
		}
	}
	return route(n, flows.OutcomeOK)
}

// returnNode ends the flow it is in with its values.
func (c *call) returnNode(fr *frame, a *flows.Return) (string, error) {
	vals := make(map[string]any, len(a.Values))
	for _, as := range a.Values {
		v, err := as.Value.Eval(fr.vars)
		if err != nil {
			return "", fmt.Errorf("return value %s: %w", as.Var, err)
		}
		vals[as.Var] = v
	}
	fr.returned, fr.done = vals, true
	return "", nil
}

// shareBuiltins copies the writable built-in variables from src to dst: a subflow
// sees the caller's language and last input, and its changes come back.
func shareBuiltins(dst, src map[string]any) {
	for _, name := range builtinVars {
		if v, ok := src[name]; ok {
			dst[name] = v
		}
	}
}

// locationOf is the time zone a calendar judges in.
func locationOf(cal *flows.Calendar) *time.Location {
	if cal.Location == nil {
		return time.UTC
	}
	return cal.Location
}
