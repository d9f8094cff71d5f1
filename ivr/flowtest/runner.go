package flowtest

// Running conversation test files: each case is one simulated call in virtual
// time, driven step by step.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/flows"
)

// Options adjust how test files run.
type Options struct {
	// Env, when set, is the environment of every flow, over the test files' env and
	// the env.yaml beside the flows (hotline flow test --env).
	Env *flows.Env
	// Run, when set, selects the cases whose name it matches.
	Run *regexp.Regexp
	// CaseTimeout bounds each case in real time (default DefaultCaseTimeout): a case
	// runs in virtual time, so only something broken (a web request to a real server
	// that hangs) takes long.
	CaseTimeout time.Duration
	// Logger receives the runtime's log of every call; nil discards it.
	Logger *slog.Logger
}

// DefaultCaseTimeout is Options.CaseTimeout's default.
const DefaultCaseTimeout = 30 * time.Second

// FileResult is the outcome of one test file.
type FileResult struct {
	File  string
	Flow  string // the flow's name, once loaded
	Err   error  // the file or its flow did not load (flows.Errors, positioned)
	Cases []CaseResult
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name        string
	Pos         flows.Pos
	Passed      bool
	Failure     *Failure // why it failed
	Log         []Entry  // everything that happened, in order
	Path        []string // the nodes the call went through
	Disposition string
	Elapsed     time.Duration // real time the case took
	Virtual     time.Duration // virtual time the call lasted
}

// Failure is the first step of a case that did not hold.
type Failure struct {
	Pos      flows.Pos // the step, in the test file
	Step     string    // the step as written
	Expected string
	Got      string
}

// Passed counts the cases of results that passed, and all of them.
func Passed(results []FileResult) (passed, total int) {
	for _, f := range results {
		if f.Err != nil {
			total++
		}
		for _, c := range f.Cases {
			total++
			if c.Passed {
				passed++
			}
		}
	}
	return passed, total
}

// RunFile loads the test file at path and its flow, and runs its cases in order.
func RunFile(ctx context.Context, path string, opts Options) FileResult {
	res := FileResult{File: path}
	tf, err := LoadTestFile(path)
	if err != nil {
		res.Err = err
		return res
	}
	env := opts.Env
	if env == nil && tf.Env != "" {
		if env, err = flows.LoadEnv(tf.Env); err != nil {
			res.Err = positioned(err, tf.EnvPos)
			return res
		}
	}
	f, err := LoadFlow(tf.Flow, env)
	if err != nil {
		res.Err = positioned(err, tf.FlowPos)
		return res
	}
	res.Flow = f.Name
	if errs := tf.check(f); len(errs) > 0 {
		res.Err = errs
		return res
	}
	for _, c := range tf.Cases {
		if opts.Run != nil && !opts.Run.MatchString(c.Name) {
			continue
		}
		res.Cases = append(res.Cases, runCase(ctx, f, c, opts))
	}
	return res
}

// positioned makes an error that is not the flow loader's positioned one (a file
// that cannot be read) point at where the test file names the file.
func positioned(err error, at flows.Pos) error {
	var es flows.Errors
	if errors.As(err, &es) {
		return es
	}
	return flows.Errors{{Pos: at, Msg: strings.TrimPrefix(err.Error(), "flows: ")}}
}

// LoadFlow loads the flow file at path as the engine would: with the other flows of
// its directory when they all load (so its subflows resolve), else alone; against
// env, or else the env.yaml beside it.
func LoadFlow(path string, env *flows.Env) (*flows.Flow, error) {
	var opts []flows.Option
	if env != nil {
		opts = append(opts, flows.WithEnv(env))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	if all, err := flows.LoadDir(filepath.Dir(path), opts...); err == nil {
		for _, f := range all {
			if fa, err := filepath.Abs(f.File); err == nil && fa == abs {
				return f, nil
			}
		}
	}
	if env == nil {
		for _, name := range flows.EnvFileNames {
			p := filepath.Join(filepath.Dir(path), name)
			if _, err := os.Stat(p); err == nil {
				e, err := flows.LoadEnv(p)
				if err != nil {
					return nil, err
				}
				opts = append(opts, flows.WithEnv(e))
				break
			}
		}
	}
	return flows.Load(path, opts...)
}

// check reports the names in tf that flow f does not know: nodes, variables,
// queues, endpoints and languages, each at its place in the test file.
func (tf *TestFile) check(f *flows.Flow) flows.Errors {
	var errs flows.Errors
	add := func(at flows.Pos, format string, args ...any) {
		errs = append(errs, &flows.Error{Pos: at, Msg: fmt.Sprintf(format, args...)})
	}
	byName := reachable(f)
	var nodes []string
	for name, fl := range byName {
		for n := range fl.Nodes {
			if name == f.Name {
				nodes = append(nodes, n)
			} else {
				nodes = append(nodes, name+":"+n)
			}
		}
	}
	vars := sortedKeys(f.Variables)
	for _, b := range flows.Builtins() {
		if b.Func == nil && b.Name != "now" {
			vars = append(vars, b.Name)
		}
	}
	var queues, endpoints []string
	if f.Env != nil {
		queues, endpoints = sortedKeys(f.Env.Queues), sortedKeys(f.Env.HTTP)
	}
	checkSetup := func(s setup, seen map[string]bool) {
		for key, at := range s.pos {
			if seen[key+at.String()] {
				continue
			}
			seen[key+at.String()] = true
			kind, name, _ := strings.Cut(key, ".")
			switch {
			case kind == "language" && f.Languages[s.language] == nil:
				add(at, "language: flow %s does not speak %q (languages: %s)", f.Name, s.language, strings.Join(sortedKeys(f.Languages), ", "))
			case kind == "queues" && !slices.Contains(queues, name):
				add(at, "queues: the environment has no queue %q%s", name, suggestOr(name, queues))
			case kind == "http_mocks" && !slices.Contains(endpoints, name) && !strings.HasPrefix(name, "http://") && !strings.HasPrefix(name, "https://"):
				add(at, "http_mocks: the environment has no http endpoint %q%s (or give a base URL)", name, suggestOr(name, endpoints))
			}
		}
	}
	seen := map[string]bool{}
	checkSetup(tf.setup, seen)
	for _, c := range tf.Cases {
		checkSetup(c.setup, seen)
		for _, st := range c.steps {
			switch st.kind {
			case stepExpectNode:
				if !slices.Contains(nodes, st.node) {
					add(st.pos, "expect_node: flow %s has no node %q%s", f.Name, st.node, suggest(st.node, nodes))
				}
			case stepExpectPath:
				for _, it := range st.path {
					if it.node != pathAny && !slices.Contains(nodes, it.node) {
						add(it.pos, "expect_path: flow %s has no node %q%s", f.Name, it.node, suggest(it.node, nodes))
					}
				}
			case stepExpectVar:
				for _, v := range st.vars {
					if !slices.Contains(vars, v.name) {
						add(v.pos, "expect_var: flow %s has no variable %q%s", f.Name, v.name, suggest(v.name, vars))
					}
				}
			case stepExpectQueue:
				if f.Env != nil && !slices.Contains(queues, st.queue.name) {
					add(st.queue.pos, "expect_queue: the environment has no queue %q%s", st.queue.name, suggestOr(st.queue.name, queues))
				}
			}
		}
	}
	slices.SortStableFunc(errs, func(a, b *flows.Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return errs
}

// runCase runs one case as a simulated call.
func runCase(ctx context.Context, f *flows.Flow, c *Case, opts Options) CaseResult {
	began := time.Now()
	timeout := opts.CaseTimeout
	if timeout <= 0 {
		timeout = DefaultCaseTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := CaseResult{Name: c.Name, Pos: c.Pos}
	call, err := Start(context.WithoutCancel(ctx), f, Config{
		Caller: c.setup.caller, Called: c.setup.called, Start: c.setup.start, Language: c.setup.language,
		Queues: c.setup.queues, Logger: opts.Logger,
		HTTPClient: newMockClient(f.Env, c.setup.mocks),
	})
	if err != nil {
		res.Failure = &Failure{Pos: c.Pos, Step: "start", Expected: "the call to start", Got: err.Error()}
		res.Elapsed = time.Since(began)
		return res
	}
	r := &caseRun{ctx: ctx, call: call, playing: -1}
	if r.next() {
		for _, st := range c.steps {
			if !r.do(st) {
				break
			}
		}
	}
	result := call.Close()
	res.Failure = r.failure
	res.Passed = r.failure == nil
	res.Log = call.Log(0)
	res.Path = result.Path
	res.Disposition = result.Disposition
	res.Elapsed = time.Since(began)
	res.Virtual = call.Elapsed()
	return res
}
