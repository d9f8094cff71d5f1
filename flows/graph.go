package flows

// Checks over the whole graph of nodes: every route leads to a node, every outcome is
// routed, every node is reachable from start, and no loop is closed off from the end
// of the call.

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// link resolves every route of every node and runs the graph checks. defaults is the
// flow's defaults mapping, start and onHangup the values of start and on_hangup (any
// may be nil).
func (p *parser) link(defaults, start, onHangup *yaml.Node) {
	if start != nil && p.flow.Start != "" {
		if _, ok := p.target(start, "", "start"); !ok {
			p.graphBroken = true
		}
	}
	if onHangup != nil && p.flow.OnHangup != "" {
		if _, ok := p.target(onHangup, "", "on_hangup"); !ok {
			p.graphBroken = true
			p.flow.OnHangup = ""
		}
	}
	if p.flow.Start == "" {
		p.graphBroken = true
	}
	if defaults != nil {
		p.linkDefaults(defaults)
	}
	for _, s := range p.srcs {
		if s.typ == nil {
			p.graphBroken = true
			continue
		}
		p.linkNode(s)
	}
	if !p.graphBroken && len(p.srcs) > 0 {
		p.checkReach()
	}
}

// target resolves the node name in value node v (what names it in messages,
// "on.error"): it must be text naming an existing node.
func (p *parser) target(v *yaml.Node, prefix, what string) (string, bool) {
	v = resolve(v)
	name, ok := p.text(v, prefix, what)
	switch {
	case !ok:
	case strings.TrimSpace(name) == "":
		p.errorf(v, "%s%s needs a node name", prefix, what)
	case p.byName[name] == nil:
		p.errorf(v, "%s%s: no node named %s%s", prefix, what, quote(name), didYouMean{name, p.flow.Order})
	default:
		return name, true
	}
	return "", false
}

// linkDefaults resolves the flow's defaults mapping into p.defaults.
func (p *parser) linkDefaults(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "defaults must be a mapping of outcomes to node names, got %s", describe(v))
		return
	}
	known := allOutcomes()
	for _, kv := range p.pairs(v, "", "defaults") {
		if !slices.Contains(known, kv.name) {
			p.errorf(kv.key, "defaults: unknown outcome %q%s", kv.name, didYouMeanOr{kv.name, known, "outcomes are"})
			continue
		}
		if name, ok := p.target(kv.value, "", "defaults."+kv.name); ok {
			p.defaults[Outcome(kv.name)] = name
		} else {
			// Nodes falling back on this default have an unknown route.
			p.graphBroken = true
		}
	}
}

// linkNode resolves the routes, branch and goto target of one decoded node.
func (p *parser) linkNode(s *nodeSrc) {
	t, n := s.typ, s.node
	if len(t.outcomes) == 0 {
		for _, r := range []struct {
			v   *yaml.Node
			key string
		}{{s.next, "next"}, {s.on, "on"}} {
			if r.v != nil {
				p.errorf(r.v, "%s%s has no outcomes to route; remove %s", s.prefix, t.name, r.key)
			}
		}
	}
	if s.brNode != nil && t.branch == "" {
		p.errorf(s.brNode, "%sbranch is only for gather and intent nodes", s.prefix)
	}
	hasBranch := s.brNode != nil && t.branch == "digits"
	own := map[Outcome]*yaml.Node{}
	if s.next != nil && len(t.outcomes) > 0 {
		if !t.hasOutcome(OutcomeOK) {
			names := make([]string, len(t.outcomes))
			for i, o := range t.outcomes {
				names[i] = string(o)
			}
			p.errorf(s.next, "%s%s has no ok outcome for next; route its outcomes (%s) with on", s.prefix, t.name, strings.Join(names, ", "))
		} else if hasBranch {
			p.errorf(s.next, "%snext is not used with branch: each branch key routes its input, and other input is a no_match", s.prefix)
		} else {
			own[OutcomeOK] = s.next
		}
	}
	if len(t.outcomes) > 0 {
		for _, kv := range s.onKV {
			o := Outcome(kv.name)
			switch {
			case o == OutcomeOK:
				p.errorf(kv.key, "%sroute ok with next, not on.ok", s.prefix)
			case !t.hasOutcome(o):
				names := make([]string, len(t.outcomes))
				for i, o := range t.outcomes {
					names[i] = string(o)
				}
				p.errorf(kv.key, "%s%s has no outcome %q%s", s.prefix, t.name, kv.name, didYouMeanOr{kv.name, names, "its outcomes are"})
			default:
				own[o] = kv.value
			}
		}
	}
	for _, o := range t.outcomes {
		if o == OutcomeOK && hasBranch {
			continue
		}
		if v, ok := own[o]; ok {
			what := "on." + string(o)
			if o == OutcomeOK {
				what = "next"
			}
			if name, ok := p.target(v, s.prefix, what); ok {
				p.route(n, o, name)
			} else {
				p.graphBroken = true
			}
			continue
		}
		if name, ok := p.defaults[o]; ok {
			p.route(n, o, name)
			continue
		}
		s.unrouted = true
		if o == OutcomeOK {
			p.errorf(s.key, "%soutcome ok is not routed (add next)", s.prefix)
		} else {
			p.errorf(s.key, "%soutcome %s is not routed (add on.%s or defaults.%s)", s.prefix, o, o, o)
		}
	}
	if s.brNode != nil && t.branch != "" {
		for _, kv := range s.branch {
			if name, ok := p.target(kv.value, s.prefix, "branch "+quote(kv.name)); ok {
				if n.Branch == nil {
					n.Branch = map[string]string{}
				}
				n.Branch[kv.name] = name
			} else {
				p.graphBroken = true
			}
		}
	}
	for _, tr := range s.targets {
		if name, ok := p.target(tr.v, s.prefix, tr.what); ok {
			tr.set(name)
		} else {
			p.graphBroken = true
		}
	}
	if g, ok := n.Action.(*Goto); ok {
		if g.Target == "" {
			p.graphBroken = true // reported by decodeStruct: goto requires target
		} else if _, ok := p.target(s.fields["target"], s.prefix, "goto"); !ok {
			p.graphBroken = true
		}
	}
}

// route records that outcome o of node n leads to the node named to.
func (p *parser) route(n *Node, o Outcome, to string) {
	if n.Routes == nil {
		n.Routes = map[Outcome]string{}
	}
	n.Routes[o] = to
}

// checkReach reports nodes the call can never reach from start (or on_hangup), and
// nodes from which it can never reach a terminal node (a hangup or return): the call
// would loop there forever. It follows routes (including the defaults a node uses),
// branches, choices, cases and gotos. It also checks that the on_hangup section
// holds only node types that need no caller.
func (p *parser) checkReach() {
	nodes, start := p.flow.Nodes, p.flow.Start
	reached := map[string]bool{start: true}
	queue := []string{start}
	if h := p.flow.OnHangup; h != "" && !reached[h] {
		reached[h] = true
		queue = append(queue, h)
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, t := range nodes[name].Targets() {
			if !reached[t] {
				reached[t] = true
				queue = append(queue, t)
			}
		}
	}
	// Walk back from terminal nodes to find which reached nodes can end the call.
	from := map[string][]string{}
	for name := range reached {
		for _, t := range nodes[name].Targets() {
			from[t] = append(from[t], name)
		}
	}
	ends := map[string]bool{}
	queue = queue[:0]
	for name := range reached {
		// A node missing a route may end the call once the author adds it.
		if s := p.byName[name]; s.typ.terminal || s.unrouted {
			ends[name] = true
			queue = append(queue, name)
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, f := range from[name] {
			if !ends[f] {
				ends[f] = true
				queue = append(queue, f)
			}
		}
	}
	reported := map[string]bool{}
	for _, s := range p.srcs {
		name := s.node.Name
		switch {
		case !reached[name]:
			p.errorf(s.key, "%sunreachable: no route from start %s leads here", s.prefix, quote(start))
		case !ends[name] && !reported[name]:
			// Everything reachable from here is stuck too; name it all in one message.
			loop := p.closure(name)
			for _, l := range loop {
				reported[l] = true
			}
			p.errorf(s.key, "%sno path from here reaches a hangup; the call would loop forever through %s", s.prefix, strings.Join(loop, ", "))
		}
	}
	if p.flow.OnHangup != "" {
		p.checkOnHangup()
	}
}

// checkOnHangup reports the nodes of the on_hangup section (every node reachable from
// it) whose type needs a caller on the line.
func (p *parser) checkOnHangup() {
	var allowed []string
	for _, t := range actionTypes {
		if t.afterHangup {
			allowed = append(allowed, t.name)
		}
	}
	from := map[string]string{p.flow.OnHangup: ""} // node -> the node that leads to it
	queue := []string{p.flow.OnHangup}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		s := p.byName[name]
		if !s.typ.afterHangup {
			how := "it is on_hangup"
			if prev := from[name]; prev != "" {
				how = "it is reached from " + quote(prev)
			}
			p.errorf(s.key, "%s%s cannot run in the on_hangup section (%s); after the call ended only %s can run: route the section's outcomes (error too: defaults apply) to those",
				s.prefix, s.typ.name, how, strings.Join(allowed, ", "))
			continue
		}
		for _, t := range s.node.Targets() {
			if _, seen := from[t]; !seen {
				from[t] = name
				queue = append(queue, t)
			}
		}
	}
}

// closure returns the nodes reachable from name (itself included), in file order.
func (p *parser) closure(name string) []string {
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, t := range p.flow.Nodes[n].Targets() {
			if !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	var out []string
	for _, n := range p.flow.Order {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}
