package flows

// Decoding of the field types that need the flow (expressions, templates, prompts,
// assignments) and the compilation of every expression once all variables are known.

import (
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"gopkg.in/yaml.v3"
)

// decodeHook decodes the field types the generic decoder leaves to the parser.
func (p *parser) decodeHook(fv reflect.Value, v *yaml.Node, prefix, path string, f structField) bool {
	switch fv.Type() {
	case exprType:
		if !isNull(v) {
			if e := p.expr(v, prefix, path, f.want, nil); e != nil {
				fv.Set(reflect.ValueOf(e))
			}
		}
	case templateType:
		if !isNull(v) {
			if t := p.template(v, prefix, path, false); t != nil {
				fv.Set(reflect.ValueOf(t))
			}
		}
	case promptType:
		if pr := p.prompt(v, prefix, path); pr != nil {
			fv.Set(reflect.ValueOf(pr))
		}
	case assignsType:
		fv.Set(reflect.ValueOf(p.assignments(v, prefix, path, path == "http.response")))
	default:
		return false
	}
	return true
}

// expr decodes scalar v as an expression that must have type want (TypeUnknown:
// any) and queues it for compileAll. It returns nil after reporting v.
func (p *parser) expr(v *yaml.Node, prefix, path string, want Type, extra map[string]Type) *Expr {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode || isNull(v) {
		p.errorf(v, "%s%s must be an expression, got %s", prefix, path, describe(v))
		return nil
	}
	e := &Expr{Src: v.Value, Pos: p.pos(v)}
	p.pending = append(p.pending, &pendingExpr{e: e, node: v, prefix: prefix, path: path, want: want, extra: extra})
	return e
}

// pendingOf returns the pending compilation of e, to adjust what it must be.
func (p *parser) pendingOf(e *Expr) *pendingExpr {
	for i := len(p.pending) - 1; i >= 0; i-- {
		if p.pending[i].e == e {
			return p.pending[i]
		}
	}
	return nil
}

// compileAll compiles the queued expressions in the flow's scope, reporting each
// problem at its place inside the YAML value.
func (p *parser) compileAll() {
	for _, pe := range p.pending {
		ne, problem := compileExpr(p.scope, pe.e.Src, pe.want, pe.extra)
		if problem != nil {
			p.errorAt(p.valuePos(pe.node, pe.at+problem.at), "%s%s: %s", pe.prefix, pe.path, problem.msg)
			continue
		}
		lead := utf8.RuneCountInString(pe.e.Src) - utf8.RuneCountInString(strings.TrimLeft(pe.e.Src, " \t\r\n"))
		ne.Pos = p.valuePos(pe.node, pe.at+lead)
		*pe.e = *ne
		p.checkLiterals(pe)
	}
	p.pending = nil
}

// checkLiterals checks the names an expression passes as literals: queue names of
// queue functions, and the language a set node switches to.
func (p *parser) checkLiterals(pe *pendingExpr) {
	for _, q := range literalQueues(pe.e) {
		if p.env != nil && p.env.Queues[q.name] != nil || p.env == nil && p.opts.envBroken {
			continue
		}
		at := p.valuePos(pe.node, pe.at+q.at)
		if p.env == nil {
			p.errorAt(at, "%s%s: queue %s is bound by an environment, but none is loaded", pe.prefix, pe.path, quote(q.name))
		} else {
			p.errorAt(at, "%s%s: the environment %s has no queue named %s%s", pe.prefix, pe.path, p.env.File, quote(q.name), didYouMeanOr{q.name, mapKeys(p.env.Queues), "queues are"})
		}
	}
	if strings.HasSuffix(pe.path, ".language") && pe.want == TypeString {
		node := pe.e.Program.Node()
		if s, ok := node.(*ast.StringNode); ok && p.flow.Languages[s.Value] == nil {
			p.errorAt(pe.e.Pos, "%s%s: language %s is not declared (languages: %s)", pe.prefix, pe.path, quote(s.Value), strings.Join(p.flow.languageCodes(), ", "))
		}
	}
}
