package flows

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse parses and validates one flow file and returns the flow, or an Errors listing
// every problem found (and a nil flow).
//
// file names the file in positions and Flow.File, and locates the audio files that
// play and gather nodes name, which must exist: with a nil fsys, file is an operating
// system path and audio paths are relative to filepath.Dir(file) on disk; otherwise
// file is a path in fsys (see fs.ValidPath) and audio files are looked up in fsys,
// relative to path.Dir(file). Parse reads no other file and never panics.
func Parse(fsys fs.FS, file string, data []byte) (*Flow, error) {
	return parse(fsys, file, data).result()
}

// parser holds the state of parsing one file.
type parser struct {
	reporter
	fsys fs.FS  // nil: the operating system's
	dir  string // directory of the flow file, for audio paths

	flow     *Flow
	namePos  Pos                 // where the flow's name is written, for LoadDir
	srcs     []*nodeSrc          // decoded nodes, in file order
	byName   map[string]*nodeSrc // the same, by name
	defaults map[Outcome]string  // flow-level routes, targets verified
	// graphBroken is set when some node's routes are unknown (a broken node, a route
	// to a missing node): whole-graph checks would then report noise, so they wait.
	graphBroken bool
}

// nodeSrc is a node with the YAML it was decoded from, kept for checks and messages.
type nodeSrc struct {
	node   *Node
	typ    *actionType // nil when the node has no valid action: not checked further
	prefix string      // `node "name": `, which starts every message about the node
	key    *yaml.Node  // the node's name
	action *yaml.Node  // the action key ("say")
	fields fieldNodes  // fields of the action that were set
	next   *yaml.Node  // value of next, or nil
	on     *yaml.Node  // the on mapping, or nil
	onKV   []pair
	branch []pair     // entries of branch
	brNode *yaml.Node // the branch mapping, or nil
	// unrouted is set when an outcome has no route: the graph is unfinished there.
	unrouted bool
}

// fileSpec is the top level of a flow file.
type fileSpec struct {
	Name        string     `flow:"name,required"`
	Description string     `flow:"description"`
	Voice       string     `flow:"voice"`
	EarlyMedia  bool       `flow:"early_media"`
	Start       string     `flow:"start,required"`
	Defaults    *yaml.Node `flow:"defaults"`
	Nodes       *yaml.Node `flow:"nodes,required"`
}

var (
	flowNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
	nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
)

// routingKeys are the keys of a node other than its action.
var routingKeys = []string{"next", "on", "branch", "description"}

// parse runs every check on one file; the result is in p.flow and p.errs.
func parse(fsys fs.FS, file string, data []byte) *parser {
	sum := sha256.Sum256(data)
	p := &parser{
		reporter: reporter{file: file},
		fsys:     fsys,
		flow:     &Flow{File: file, Version: hex.EncodeToString(sum[:6]), FS: fsys, Nodes: map[string]*Node{}},
		byName:   map[string]*nodeSrc{},
		defaults: map[Outcome]string{},
	}
	if fsys == nil {
		p.dir = filepath.Dir(file)
	} else {
		p.dir = path.Dir(file)
	}
	root := p.parseYAML(data)
	if root == nil {
		return p
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a flow file must be a mapping with name, start and nodes, got %s", describe(root))
		return p
	}
	var spec fileSpec
	fields := p.decodeStruct(root, root, &spec, "", "flow", "", "")
	f := p.flow
	f.Name, f.Description, f.Voice, f.EarlyMedia, f.Start = spec.Name, spec.Description, spec.Voice, spec.EarlyMedia, spec.Start
	if n := fields["name"]; n != nil {
		p.namePos = p.pos(n)
		if f.Name != "" && !flowNameRE.MatchString(f.Name) {
			p.errorf(n, "name must contain only a-z, 0-9, _ and -, got %s", quote(f.Name))
		}
	}
	if n := fields["voice"]; n != nil && f.Voice != "" && !voiceRE.MatchString(f.Voice) {
		p.errorf(n, "voice must be an espeak-ng voice name such as en-us, got %s", quote(f.Voice))
	}
	if spec.Nodes != nil {
		p.nodes(spec.Nodes)
	}
	p.link(spec.Defaults, fields["start"])
	return p
}

// result returns the flow, or the errors if there were any.
func (p *parser) result() (*Flow, error) {
	if err := p.reporter.err(); err != nil {
		return nil, err
	}
	return p.flow, nil
}

// nodes decodes the nodes mapping.
func (p *parser) nodes(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "nodes must be a mapping of node names to nodes, got %s", describe(v))
		return
	}
	kvs := p.pairs(v, "", "nodes")
	if len(kvs) == 0 && len(v.Content) == 0 {
		p.errorf(v, "nodes is empty; a flow needs at least one node")
	}
	for _, kv := range kvs {
		s := p.node(kv.key, kv.value)
		p.srcs = append(p.srcs, s)
		p.byName[s.node.Name] = s
		p.flow.Nodes[s.node.Name] = s.node
		p.flow.Order = append(p.flow.Order, s.node.Name)
	}
}

// node decodes one node: its action and its routing keys. Routes are resolved later,
// by link, when every node name is known.
func (p *parser) node(key, v *yaml.Node) *nodeSrc {
	n := &Node{Name: key.Value, Pos: p.pos(key)}
	s := &nodeSrc{node: n, key: key, prefix: "node " + quote(n.Name) + ": "}
	if !nodeNameRE.MatchString(n.Name) {
		p.errorf(key, "node name %s must start with a letter, digit or _ and contain only letters, digits, _, - and .", quote(n.Name))
	}
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "%sa node must be a mapping with an action (%s), got %s", s.prefix, strings.Join(Types(), ", "), describe(v))
		return s
	}
	var actionValue *yaml.Node
	broken := false
	for _, kv := range p.pairs(v, s.prefix, "node") {
		switch kv.name {
		case "next":
			s.next = kv.value
		case "on":
			s.on = resolve(kv.value)
			if s.on.Kind != yaml.MappingNode {
				p.errorf(s.on, "%son must be a mapping of outcomes to node names, got %s", s.prefix, describe(s.on))
				p.graphBroken = true
			} else {
				s.onKV = p.pairs(s.on, s.prefix, "on")
			}
		case "branch":
			s.brNode = resolve(kv.value)
			if s.brNode.Kind != yaml.MappingNode {
				p.errorf(s.brNode, "%sbranch must be a mapping of digits to node names, got %s", s.prefix, describe(s.brNode))
				p.graphBroken = true
			} else if s.branch = p.pairs(s.brNode, s.prefix, "branch"); len(s.brNode.Content) == 0 {
				p.errorf(s.brNode, "%sbranch is empty", s.prefix)
			}
		case "description":
			n.Description, _ = p.text(resolve(kv.value), s.prefix, "description")
		default:
			t := lookupType(kv.name)
			switch {
			case t == nil:
				p.errorf(kv.key, "%sunknown field %q in node%s", s.prefix, kv.name, didYouMean{kv.name, append(Types(), routingKeys...)})
			case s.typ != nil:
				p.errorf(kv.key, "%shas two actions, %s (line %d) and %s; a node does one thing", s.prefix, s.typ.name, s.action.Line, t.name)
				broken = true
			default:
				s.typ, s.action, actionValue = t, kv.key, kv.value
			}
		}
	}
	if s.typ == nil {
		p.errorf(key, "%shas no action; add one of %s", s.prefix, strings.Join(Types(), ", "))
	}
	if s.typ == nil || broken {
		s.typ = nil
		return s
	}
	n.Type = s.typ.name
	n.Action = s.typ.newAction()
	s.fields = p.decodeStruct(s.action, actionValue, n.Action, s.prefix, s.typ.name, s.typ.name+".", s.typ.scalar)
	if s.typ.check != nil {
		s.typ.check(p, s)
	}
	return s
}
