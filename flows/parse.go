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
// play, gather and prompts name, which must exist: with a nil fsys, file is an
// operating system path and audio paths are relative to filepath.Dir(file) on disk
// (or to the environment's prompts_dir); otherwise file is a path in fsys (see
// fs.ValidPath) and audio files are looked up in fsys, relative to path.Dir(file).
// Options give the environment that binds the names the flow uses (WithEnv) and the
// engine's default timeouts (WithTimeouts). A subflow node can only name the flow
// itself here; LoadDir and ValidateFiles resolve subflows among several flows.
// Parse reads no other file and never panics.
func Parse(fsys fs.FS, file string, data []byte, opts ...Option) (*Flow, error) {
	p := parse(fsys, file, data, newOptions(opts))
	linkFlows([]*parser{p})
	return p.result()
}

// Option adjusts how flows are loaded.
type Option func(*options)

type options struct {
	env      *Env
	timeouts Timeouts
	// envBroken is set when the environment file beside the flows has problems: they
	// are reported there, not again at every name a flow uses.
	envBroken bool
}

func newOptions(opts []Option) *options {
	o := &options{timeouts: DefaultTimeouts()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithEnv loads flows against env: the queues, trunks, http endpoints and calendars
// they name must be bound there, and its vars are constants their expressions see.
// Without it, LoadDir uses the directory's env.yaml if there is one; otherwise no
// name is bound, and a flow that uses one does not load.
func WithEnv(env *Env) Option { return func(o *options) { o.env = env } }

// WithTimeouts sets the engine's default timeouts, which flows' timeouts override;
// zero fields keep DefaultTimeouts.
func WithTimeouts(t Timeouts) Option {
	return func(o *options) { o.timeouts = t.merge(DefaultTimeouts()) }
}

// parser holds the state of parsing one file.
type parser struct {
	reporter
	fsys  fs.FS  // nil: the operating system's
	dir   string // directory of the flow file, for audio paths
	data  []byte
	lines []int // byte offset of each line, for positions inside values
	env   *Env
	opts  *options

	flow     *Flow
	namePos  Pos                 // where the flow's name is written, for LoadDir
	srcs     []*nodeSrc          // decoded nodes, in file order
	byName   map[string]*nodeSrc // the same, by name
	defaults map[Outcome]string  // flow-level routes, targets verified
	// graphBroken is set when some node's routes are unknown (a broken node, a route
	// to a missing node): whole-graph checks would then report noise, so they wait.
	graphBroken bool

	scope    *scope
	pending  []*pendingExpr // expressions to compile once every variable is declared
	later    []func()       // checks that need every variable declared, run before compiling
	inNamed  bool           // decoding the prompts section
	subflows []*nodeSrc     // subflow nodes, for linkFlows
	returns  []*nodeSrc     // return nodes, for linkFlows
}

// pendingExpr is an expression waiting to be compiled.
type pendingExpr struct {
	e            *Expr
	node         *yaml.Node // the scalar it is written in
	at           int        // rune offset of its text in node's value
	prefix, path string
	want         Type
	extra        map[string]Type
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
	// targets are the node names written in the action (menu choices, switch cases).
	targets []targetRef
	// unrouted is set when an outcome has no route: the graph is unfinished there.
	unrouted bool
}

// targetRef is a node name written in an action: link checks it and passes it to set.
type targetRef struct {
	v    *yaml.Node
	what string // names it in messages: "menu.choices.1"
	set  func(name string)
}

// fileSpec is the top level of a flow file.
type fileSpec struct {
	Name        string                `flow:"name,required" doc:"the flow's name, unique among loaded flows: a-z, 0-9, _ and -"`
	Description string                `flow:"description" doc:"free text for people"`
	Voice       string                `flow:"voice" doc:"default espeak-ng voice, such as en-us; default: the voice of the flow's language"`
	Language    string                `flow:"language" doc:"the flow's language code; default: the first of languages, else en"`
	Languages   map[string]*Language  `flow:"languages" doc:"the languages the flow speaks: code to {voice}"`
	EarlyMedia  bool                  `flow:"early_media" doc:"play prompts as early media (183) until the flow needs input or answers"`
	Start       string                `flow:"start,required" doc:"the node calls start at"`
	OnHangup    string                `flow:"on_hangup" doc:"the node that starts the section run after the call ended (set, switch, http, ticket, goto, hangup only)"`
	MaxSteps    int                   `flow:"max_steps,min=1,max=100000" doc:"the most nodes one call may run; default: the engine's (500)"`
	Timeouts    *Timeouts             `flow:"timeouts" doc:"flow-level timeouts that node fields inherit"`
	Variables   map[string]string     `flow:"variables,enum=string|number|int|bool|time|duration|list|map|any" doc:"the flow's variables: name to type"`
	Prompts     *yaml.Node            `flow:"prompts,schema=prompts" doc:"named prompts: name to text, language to text, or {file}"`
	Intents     map[string]*IntentDef `flow:"intents" doc:"what callers may want: intent name to {phrases}"`
	Defaults    *yaml.Node            `flow:"defaults,schema=defaults" doc:"routes of outcomes that nodes do not route themselves: outcome to node"`
	Nodes       *yaml.Node            `flow:"nodes,required,schema=nodes" doc:"the nodes: name to node"`
}

var (
	flowNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
	nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
)

// routingKeys are the keys of a node other than its action.
var routingKeys = []string{"next", "on", "branch", "description"}

// nodeKeys are all the keys a node may have: the action keys, then routingKeys.
var nodeKeys = append(Types(), routingKeys...)

// parse runs every check of one file that needs no other file; the result is in
// p.flow and p.errs. linkFlows does the rest.
func parse(fsys fs.FS, file string, data []byte, o *options) *parser {
	sum := sha256.Sum256(data)
	p := &parser{
		reporter: reporter{file: file},
		fsys:     fsys,
		data:     data,
		lines:    lineStarts(data),
		env:      o.env,
		opts:     o,
		flow:     &Flow{File: file, Version: hex.EncodeToString(sum[:6]), FS: fsys, Nodes: map[string]*Node{}, Env: o.env},
		byName:   map[string]*nodeSrc{},
		defaults: map[Outcome]string{},
	}
	p.hook = p.decodeHook
	p.scope = &scope{vars: map[string]Type{}} // replaced by variables once the file parses
	if fsys == nil {
		p.dir = filepath.Dir(file)
	} else {
		p.dir = path.Dir(file)
	}
	root := p.parseYAML(data, "file is empty; a flow needs name, start and nodes")
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
	f.MaxSteps, f.OnHangup = spec.MaxSteps, spec.OnHangup
	if n := fields["name"]; n != nil {
		p.namePos = p.pos(n)
		if f.Name != "" && !flowNameRE.MatchString(f.Name) {
			p.errorf(n, "name must contain only a-z, 0-9, _ and -, got %s", quote(f.Name))
		}
	}
	if n := fields["voice"]; n != nil && f.Voice != "" && !voiceRE.MatchString(f.Voice) {
		p.errorf(n, "voice must be an espeak-ng voice name such as en-us, got %s", quote(f.Voice))
	}
	p.languages(&spec, fields)
	if spec.Timeouts != nil {
		f.Timeouts = spec.Timeouts.merge(o.timeouts)
	} else {
		f.Timeouts = o.timeouts
	}
	p.variables(&spec, fields)
	p.flow.scope = p.scope
	p.namedPrompts(spec.Prompts)
	p.intents(&spec, fields)
	if spec.Nodes != nil {
		p.nodes(spec.Nodes)
	}
	for _, fn := range p.later {
		fn()
	}
	p.compileAll()
	p.link(spec.Defaults, fields["start"], fields["on_hangup"])
	return p
}

// liftLangKeys rewrites a mapping whose keys include codes of the flow's languages
// into one whose field named scalar holds them: {en: Hi, voice: x} becomes
// {text: {en: Hi}, voice: x}.
func (p *parser) liftLangKeys(v *yaml.Node, scalar, prefix, what string) *yaml.Node {
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		return v
	}
	kvs := p.pairs(v, prefix, what)
	var langs, rest []*yaml.Node
	var first *yaml.Node
	for _, kv := range kvs {
		if p.flow.Languages[kv.name] != nil {
			if first == nil {
				first = kv.key
			}
			langs = append(langs, kv.key, kv.value)
		} else {
			rest = append(rest, kv.key, kv.value)
		}
	}
	if first == nil {
		return v
	}
	for i := 0; i < len(rest); i += 2 {
		if rest[i].Value == scalar {
			p.errorf(first, "%s%s has both %s and language keys; put the languages under %s", prefix, what, scalar, scalar)
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: rest, Line: v.Line, Column: v.Column}
		}
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: scalar, Line: first.Line, Column: first.Column}
	text := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: langs, Line: first.Line, Column: first.Column}
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: append(rest, key, text), Line: v.Line, Column: v.Column}
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
				p.errorf(kv.key, "%sunknown field %q in node%s", s.prefix, kv.name, didYouMean{kv.name, nodeKeys})
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
	if s.typ.decode != nil {
		s.fields = fieldNodes{}
		s.typ.decode(p, s, actionValue)
	} else {
		if s.typ.langKeys {
			actionValue = p.liftLangKeys(actionValue, s.typ.scalar, s.prefix, s.typ.name)
		}
		s.fields = p.decodeStruct(s.action, actionValue, n.Action, s.prefix, s.typ.name, s.typ.name+".", s.typ.scalar)
	}
	if av := resolve(actionValue); s.typ.check != nil && (s.typ.decode != nil || av.Kind == yaml.MappingNode || av.Kind == yaml.ScalarNode) {
		s.typ.check(p, s) // not after "must be a mapping": the action is not there to check
	}
	return s
}
