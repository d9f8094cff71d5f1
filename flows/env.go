package flows

// Environments: the file that binds the names flows use (http endpoints, queues,
// trunks, calendars, constants, the prompt directory) to the targets of one
// deployment, so that one flow file runs unchanged in test and in production.

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Env is a loaded environment file. It is immutable once loaded and may be shared
// by any number of flows.
type Env struct {
	File       string                  // the path it was loaded from
	HTTP       map[string]*Endpoint    // http endpoints, by name
	Queues     map[string]*QueueTarget // ACD queues, by name
	Trunks     map[string]*Trunk       // SIP trunks, by name
	Calendars  map[string]*Calendar    // business-hours calendars, by name
	Vars       map[string]any          // constants expressions see: string, int, float64 or bool
	PromptsDir string                  // where relative audio paths of flows read from disk resolve; "" = beside each flow
}

// Endpoint is a web service http nodes call by name.
type Endpoint struct {
	Name    string
	URL     string            `flow:"url,required" doc:"base URL, such as http://127.0.0.1:8099"`
	Headers map[string]string `flow:"headers" doc:"headers sent with every request, such as an API key"`
	Timeout time.Duration     `flow:"timeout" doc:"per attempt; default: the flow's timeouts.http"`
}

// QueueTarget is an ACD queue queue nodes hand calls to.
type QueueTarget struct {
	Name        string
	ID          string `flow:"id" doc:"the ACD's queue id; default: the name"`
	Description string `flow:"description" doc:"free text for people"`
}

// Trunk is a SIP trunk transfer nodes call numbers through. The fields that say how
// to reach it belong to the SIP configuration; the environment names it.
type Trunk struct {
	Name        string
	Description string `flow:"description" doc:"free text for people"`
}

// envSpec is the top level of an environment file.
type envSpec struct {
	HTTP       map[string]*Endpoint     `flow:"http"`
	Queues     map[string]*QueueTarget  `flow:"queues"`
	Trunks     map[string]*Trunk        `flow:"trunks"`
	Calendars  map[string]*calendarSpec `flow:"calendars"`
	Vars       *yaml.Node               `flow:"vars"`
	PromptsDir string                   `flow:"prompts_dir"`
}

// EnvFileNames are the names LoadDir and ValidateFiles take for environment files
// rather than flows.
var EnvFileNames = []string{"env.yaml", "env.yml"}

// isEnvFile reports whether path names an environment file.
func isEnvFile(path string) bool {
	base := filepath.Base(path)
	for _, n := range EnvFileNames {
		if strings.EqualFold(base, n) {
			return true
		}
	}
	return false
}

// LoadEnv reads and checks the environment file at path. A file that cannot be read
// is that error, wrapped; problems in its content are Errors, every one of them.
func LoadEnv(path string) (*Env, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return ParseEnv(path, data)
}

// ParseEnv checks an environment file already read; file names it in positions and
// locates prompts_dir, which is relative to the file's directory. It never panics.
func ParseEnv(file string, data []byte) (*Env, error) {
	r := &reporter{file: file}
	env := &Env{File: file, HTTP: map[string]*Endpoint{}, Queues: map[string]*QueueTarget{},
		Trunks: map[string]*Trunk{}, Calendars: map[string]*Calendar{}, Vars: map[string]any{}}
	root := r.parseYAML(data, "")
	if root == nil {
		if err := r.err(); err != nil {
			return nil, err
		}
		return env, nil // an empty environment binds nothing
	}
	if root.Kind != yaml.MappingNode {
		r.errorf(root, "an environment file must be a mapping (http, queues, trunks, calendars, vars, prompts_dir), got %s", describe(root))
		return nil, r.err()
	}
	var spec envSpec
	fields := r.decodeStruct(root, root, &spec, "", "environment", "", "")
	for name, e := range spec.HTTP {
		n := mapValue(fields["http"], name)
		if e == nil {
			r.errorf(n, "http.%s needs url", name)
			continue
		}
		e.Name = name
		if u, err := url.Parse(e.URL); e.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			r.errorf(mapValue(n, "url"), "http.%s.url must be an http or https URL, got %s", name, quote(e.URL))
		}
		for h := range e.Headers {
			if !headerRE.MatchString(h) {
				r.errorf(mapValue(n, "headers"), "http.%s.headers: %s is not a header name", name, quote(h))
			}
		}
		env.HTTP[name] = e
	}
	for name, q := range spec.Queues {
		if q == nil {
			q = &QueueTarget{}
		}
		q.Name = name
		if q.ID == "" {
			q.ID = name
		}
		env.Queues[name] = q
	}
	for name, t := range spec.Trunks {
		if t == nil {
			t = &Trunk{}
		}
		t.Name = name
		env.Trunks[name] = t
	}
	for _, kv := range pairsOf(r, fields["calendars"], "calendars") {
		cs := spec.Calendars[kv.name]
		v := resolve(kv.value)
		if cs == nil || v.Kind != yaml.MappingNode {
			if isNull(v) {
				r.errorf(kv.key, "calendars.%s needs timezone and weekly", kv.name)
			}
			continue // else reported by decodeStruct
		}
		cf := fieldNodes{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			cf[v.Content[i].Value] = v.Content[i+1]
		}
		if c := r.buildCalendar(kv.key, cf, cs, "", "calendars."+kv.name+"."); c != nil {
			c.Name = kv.name
			env.Calendars[kv.name] = c
		}
	}
	for _, kv := range pairsOf(r, fields["vars"], "vars") {
		v := resolve(kv.value)
		switch {
		case !varRE.MatchString(kv.name):
			r.errorf(kv.key, "vars: %s must match [a-z_][a-z0-9_]*", quote(kv.name))
		case lookupBuiltin(kv.name) != nil:
			r.errorf(kv.key, "vars: %s is a built-in variable of every flow; choose another name", quote(kv.name))
		default:
			if c, ok := r.constant(v, "vars."+kv.name); ok {
				env.Vars[kv.name] = c
			}
		}
	}
	if spec.PromptsDir != "" {
		dir := spec.PromptsDir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(file), dir)
		}
		switch info, err := os.Stat(dir); {
		case errors.Is(err, fs.ErrNotExist):
			r.errorf(fields["prompts_dir"], "prompts_dir %s does not exist (looked for %s)", quote(spec.PromptsDir), quote(dir))
		case err != nil:
			r.errorf(fields["prompts_dir"], "prompts_dir %s cannot be read: %v", quote(spec.PromptsDir), err)
		case !info.IsDir():
			r.errorf(fields["prompts_dir"], "prompts_dir %s is not a directory", quote(spec.PromptsDir))
		}
		env.PromptsDir = dir
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	return env, nil
}

// constant decodes an environment constant: text, a whole or decimal number, or a
// boolean.
func (r *reporter) constant(v *yaml.Node, path string) (any, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		r.errorf(v, "%s must be text, a number or true/false, got %s", path, describe(v))
		return nil, false
	}
	switch v.ShortTag() {
	case "!!int":
		return r.integer(v, "", path)
	case "!!float":
		return r.number(v, "", path)
	case "!!bool":
		return r.boolean(v, "", path)
	}
	return v.Value, true
}

// pairsOf returns the entries of mapping v (nil or not a mapping: none).
func pairsOf(r *reporter, v *yaml.Node, in string) []pair {
	v = resolve(v)
	if v == nil || v.Kind != yaml.MappingNode {
		if v != nil && !isNull(v) {
			r.errorf(v, "%s must be a mapping, got %s", in, describe(v))
		}
		return nil
	}
	return r.pairs(v, "", in)
}

// mapValue returns the value of key in mapping v, else v.
func mapValue(v *yaml.Node, key string) *yaml.Node {
	v = resolve(v)
	if v != nil && v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			if v.Content[i].Value == key {
				return v.Content[i+1]
			}
		}
	}
	return v
}

// envName reports a name a flow uses that the environment must bind: what is the
// kind ("queue"), plural the section of the environment file ("queues").
func (p *parser) envLookup(v *yaml.Node, prefix, path, what, section, name string, names []string, found bool) bool {
	switch {
	case found:
		return true
	case p.env == nil && p.opts.envBroken:
		// The environment did not load; its problems are reported in its file.
	case p.env == nil:
		p.errorf(v, "%s%s: %s %s is bound by an environment, but none is loaded (pass one, or put env.yaml beside the flows)", prefix, path, what, quote(name))
	default:
		p.errorf(v, "%s%s: the environment %s has no %s named %s%s", prefix, path, p.env.File, what, quote(name), didYouMeanOr{name, names, section + " are"})
	}
	return false
}

func (p *parser) endpoint(v *yaml.Node, prefix, path, name string) *Endpoint {
	var e *Endpoint
	var names []string
	if p.env != nil {
		e, names = p.env.HTTP[name], mapKeys(p.env.HTTP)
	}
	p.envLookup(v, prefix, path, "http endpoint", "endpoints", name, names, e != nil)
	return e
}

func (p *parser) queue(v *yaml.Node, prefix, path, name string) *QueueTarget {
	var q *QueueTarget
	var names []string
	if p.env != nil {
		q, names = p.env.Queues[name], mapKeys(p.env.Queues)
	}
	p.envLookup(v, prefix, path, "queue", "queues", name, names, q != nil)
	return q
}

func (p *parser) trunk(v *yaml.Node, prefix, path, name string) *Trunk {
	var t *Trunk
	var names []string
	if p.env != nil {
		t, names = p.env.Trunks[name], mapKeys(p.env.Trunks)
	}
	p.envLookup(v, prefix, path, "trunk", "trunks", name, names, t != nil)
	return t
}

func (p *parser) calendar(v *yaml.Node, prefix, path, name string) *Calendar {
	var c *Calendar
	var names []string
	if p.env != nil {
		c, names = p.env.Calendars[name], mapKeys(p.env.Calendars)
	}
	p.envLookup(v, prefix, path, "calendar", "calendars", name, names, c != nil)
	return c
}

// audioDir is the directory relative audio paths of the flow resolve in.
func (p *parser) audioDir() string {
	if p.fsys == nil && p.env != nil && p.env.PromptsDir != "" {
		return p.env.PromptsDir
	}
	return p.dir
}
