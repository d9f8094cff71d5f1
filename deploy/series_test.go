package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// promPath is the import path of client_golang's prometheus package.
const promPath = "github.com/prometheus/client_golang/prometheus"

// kind is how a metric family is exposed: a histogram as name_bucket, name_sum and
// name_count; a summary as name, name_sum and name_count; the rest as name.
type kind int

const (
	kindPlain kind = iota
	kindHistogram
	kindSummary
)

// optsKinds are the client_golang option structs whose Name field names a metric.
var optsKinds = map[string]kind{
	"Opts": kindPlain, "CounterOpts": kindPlain, "GaugeOpts": kindPlain, "UntypedOpts": kindPlain,
	"HistogramOpts": kindHistogram, "SummaryOpts": kindSummary,
}

// series is what the engine's source defines: exposed series names (suffixes added)
// and where each was defined, plus the places where a metric name could not be
// worked out from the source.
type series struct {
	names      map[string]string // exposed name -> file:line of the definition
	families   map[string]kind   // family name -> kind
	unresolved []string          // file:line of names the scanner could not evaluate
}

func (s *series) add(name string, k kind, at string) {
	if _, dup := s.families[name]; !dup {
		s.families[name] = k
	}
	for _, n := range exposed(name, k) {
		if _, ok := s.names[n]; !ok {
			s.names[n] = at
		}
	}
}

// exposed returns the series names a family of kind k called name is scraped as.
func exposed(name string, k kind) []string {
	switch k {
	case kindHistogram:
		return []string{name + "_bucket", name + "_sum", name + "_count"}
	case kindSummary:
		return []string{name, name + "_sum", name + "_count"}
	}
	return []string{name}
}

// helper is a function that passes its parameter param on to the Name field of an
// Opts literal, like media's counter(name, help string) closure.
type helper struct {
	param          int
	kind           kind
	namespace, sub string
}

// pkgScan is one package directory being scanned.
type pkgScan struct {
	fset    *token.FileSet
	files   []*ast.File
	consts  map[string]string // package-level string constants
	helpers map[string]helper // by function name
}

// scanEngineSeries parses every non-test Go file under root (testdata, hidden
// directories and deploy itself excluded) and returns the series it defines.
func scanEngineSeries(t *testing.T, root string) *series {
	t.Helper()
	s := &series{names: map[string]string{}, families: map[string]kind{}}
	dirs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "node_modules" ||
				filepath.Clean(path) == filepath.Join(root, "deploy")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the source tree %s: %v", root, err)
	}
	var goCollectors bool
	for _, files := range dirs {
		p := &pkgScan{fset: token.NewFileSet(), consts: map[string]string{}, helpers: map[string]helper{}}
		for _, f := range files {
			af, err := parser.ParseFile(p.fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parsing %s: %v", f, err)
			}
			p.files = append(p.files, af)
		}
		p.collectConsts()
		p.collectHelpers()
		if p.scan(s, root) {
			goCollectors = true
		}
	}
	if goCollectors {
		addRuntimeSeries(t, s)
	}
	return s
}

// importName returns the name f refers to path by, or "" when f does not import it.
func importName(f *ast.File, path string) string {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == path {
			if im.Name != nil {
				return im.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

// collectConsts records the package's string constants, repeating until
// constants defined from other constants resolve.
func (p *pkgScan) collectConsts() {
	var specs []*ast.ValueSpec
	for _, f := range p.files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, sp := range g.Specs {
					specs = append(specs, sp.(*ast.ValueSpec))
				}
			}
		}
	}
	for range 4 {
		for _, vs := range specs {
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if v, ok := p.eval(vs.Values[i], nil); ok {
						p.consts[n.Name] = v
					}
				}
			}
		}
	}
}

// eval evaluates a constant string expression: literals, package constants and +.
// params, when not nil, marks identifiers that are parameters of the enclosing
// function (they do not evaluate).
func (p *pkgScan) eval(e ast.Expr, params map[string]int) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			v, err := strconv.Unquote(e.Value)
			return v, err == nil
		}
	case *ast.Ident:
		if _, isParam := params[e.Name]; isParam {
			return "", false
		}
		v, ok := p.consts[e.Name]
		return v, ok
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			a, ok1 := p.eval(e.X, params)
			b, ok2 := p.eval(e.Y, params)
			return a + b, ok1 && ok2
		}
	case *ast.ParenExpr:
		return p.eval(e.X, params)
	}
	return "", false
}

// optsLit reports whether lit is a prometheus.XxxOpts literal, and its kind.
func optsLit(lit *ast.CompositeLit, prom string) (kind, bool) {
	sel, ok := lit.Type.(*ast.SelectorExpr)
	if !ok {
		return 0, false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Name != prom {
		return 0, false
	}
	k, ok := optsKinds[sel.Sel.Name]
	return k, ok
}

// optsFields returns the Namespace, Subsystem and Name expressions of an Opts literal.
func optsFields(lit *ast.CompositeLit) (ns, sub, name ast.Expr) {
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		switch key.Name {
		case "Namespace":
			ns = kv.Value
		case "Subsystem":
			sub = kv.Value
		case "Name":
			name = kv.Value
		}
	}
	return ns, sub, name
}

// funcScope is a function whose body is being walked: its parameters by name.
type funcScope struct {
	name   string // "" for an anonymous function not assigned to a name
	params map[string]int
}

func paramIndex(ft *ast.FuncType) map[string]int {
	m := map[string]int{}
	i := 0
	for _, fl := range ft.Params.List {
		if len(fl.Names) == 0 {
			i++
			continue
		}
		for _, n := range fl.Names {
			m[n.Name] = i
			i++
		}
	}
	return m
}

// walkFuncs calls visit for every node under root with the innermost enclosing
// function. A function literal assigned with := or = to one identifier takes that
// identifier's name.
func walkFuncs(root ast.Node, visit func(n ast.Node, fn *funcScope)) {
	var walk func(n ast.Node, fn *funcScope)
	walk = func(n ast.Node, fn *funcScope) {
		ast.Inspect(n, func(c ast.Node) bool {
			if c == n {
				visit(c, fn)
				return true
			}
			switch c := c.(type) {
			case *ast.FuncDecl:
				if c.Body != nil {
					walk(c.Body, &funcScope{name: c.Name.Name, params: paramIndex(c.Type)})
				}
				return false
			case *ast.AssignStmt:
				if len(c.Lhs) == 1 && len(c.Rhs) == 1 {
					if id, ok := c.Lhs[0].(*ast.Ident); ok {
						if fl, ok := c.Rhs[0].(*ast.FuncLit); ok {
							walk(fl.Body, &funcScope{name: id.Name, params: paramIndex(fl.Type)})
							return false
						}
					}
				}
			case *ast.FuncLit:
				walk(c.Body, &funcScope{params: paramIndex(c.Type)})
				return false
			}
			visit(c, fn)
			return true
		})
	}
	walk(root, nil)
}

// collectHelpers finds the functions that hand a parameter to an Opts Name field.
func (p *pkgScan) collectHelpers() {
	for _, f := range p.files {
		prom := importName(f, promPath)
		if prom == "" {
			continue
		}
		walkFuncs(f, func(n ast.Node, fn *funcScope) {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || fn == nil || fn.name == "" {
				return
			}
			k, ok := optsLit(lit, prom)
			if !ok {
				return
			}
			nsE, subE, nameE := optsFields(lit)
			id, ok := nameE.(*ast.Ident)
			if !ok {
				return
			}
			i, isParam := fn.params[id.Name]
			if !isParam {
				return
			}
			h := helper{param: i, kind: k}
			if nsE != nil {
				h.namespace, _ = p.eval(nsE, nil)
			}
			if subE != nil {
				h.sub, _ = p.eval(subE, nil)
			}
			p.helpers[fn.name] = h
		})
	}
}

// scan adds the package's metric definitions to s. It reports whether the package
// registers the Go runtime collector (cmd/hotline does).
func (p *pkgScan) scan(s *series, root string) (goCollectors bool) {
	for _, f := range p.files {
		prom := importName(f, promPath)
		coll := importName(f, promPath+"/collectors")
		where := func(n ast.Node) string {
			pos := p.fset.Position(n.Pos())
			rel, err := filepath.Rel(root, pos.Filename)
			if err != nil {
				rel = pos.Filename
			}
			return rel + ":" + strconv.Itoa(pos.Line)
		}
		walkFuncs(f, func(n ast.Node, fn *funcScope) {
			var params map[string]int
			if fn != nil {
				params = fn.params
			}
			switch n := n.(type) {
			case *ast.CompositeLit:
				if prom == "" {
					return
				}
				k, ok := optsLit(n, prom)
				if !ok {
					return
				}
				nsE, subE, nameE := optsFields(n)
				if nameE == nil {
					s.unresolved = append(s.unresolved, where(n))
					return
				}
				if id, ok := nameE.(*ast.Ident); ok && fn != nil && fn.name != "" {
					if _, isParam := fn.params[id.Name]; isParam {
						return // a helper: its callers name the metric
					}
				}
				var ns, sub string
				ok1, ok2 := true, true
				if nsE != nil {
					ns, ok1 = p.eval(nsE, params)
				}
				if subE != nil {
					sub, ok2 = p.eval(subE, params)
				}
				name, ok3 := p.eval(nameE, params)
				if !ok1 || !ok2 || !ok3 {
					s.unresolved = append(s.unresolved, where(n))
					return
				}
				s.add(prometheus.BuildFQName(ns, sub, name), k, where(n))
			case *ast.CallExpr:
				switch fun := n.Fun.(type) {
				case *ast.SelectorExpr:
					x, ok := fun.X.(*ast.Ident)
					if !ok {
						return
					}
					if coll != "" && x.Name == coll && fun.Sel.Name == "NewGoCollector" {
						goCollectors = true
					}
					if prom == "" || x.Name != prom || fun.Sel.Name != "NewDesc" || len(n.Args) == 0 {
						return
					}
					if name, ok := p.evalFQ(n.Args[0], params, prom); ok {
						s.add(name, kindPlain, where(n))
					} else {
						s.unresolved = append(s.unresolved, where(n))
					}
				case *ast.Ident:
					h, ok := p.helpers[fun.Name]
					if !ok || h.param >= len(n.Args) {
						return
					}
					if name, ok := p.eval(n.Args[h.param], params); ok {
						s.add(prometheus.BuildFQName(h.namespace, h.sub, name), h.kind, where(n))
					} else {
						s.unresolved = append(s.unresolved, where(n))
					}
				}
			}
		})
	}
	return goCollectors
}

// evalFQ evaluates a NewDesc name: a constant string or prometheus.BuildFQName of
// constant strings.
func (p *pkgScan) evalFQ(e ast.Expr, params map[string]int, prom string) (string, bool) {
	if c, ok := e.(*ast.CallExpr); ok {
		if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "BuildFQName" && len(c.Args) == 3 {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == prom {
				var parts [3]string
				for i, a := range c.Args {
					v, ok := p.eval(a, params)
					if !ok {
						return "", false
					}
					parts[i] = v
				}
				return prometheus.BuildFQName(parts[0], parts[1], parts[2]), true
			}
		}
	}
	return p.eval(e, params)
}

// addRuntimeSeries adds what cmd/hotline's registry holds besides the engine's own
// series: the Go runtime and process collectors and promhttp's handler errors, found
// by gathering the very same collectors rather than from a list.
func addRuntimeSeries(t *testing.T, s *series) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	_ = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering the Go and process collectors: %v", err)
	}
	for _, mf := range mfs {
		k := kindPlain
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			k = kindHistogram
		case dto.MetricType_SUMMARY:
			k = kindSummary
		}
		s.add(mf.GetName(), k, "client_golang collectors")
	}
}

// prometheusSeries are the series the Prometheus server adds to every target.
var prometheusSeries = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}

// repoRoot returns the module root, the parent of this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("expected the module root with go.mod at %s: %v", root, err)
	}
	return root
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
