package acd

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestImportsPointDown keeps acd at the bottom of the graph: the telephony side
// (sip, webrtc, media) and the flow runtime (ivr, flows) consume it through the
// interfaces it defines; acd imports none of them, only the standard library,
// Prometheus and YAML.
func TestImportsPointDown(t *testing.T) {
	allowed := []string{"github.com/prometheus/client_golang/prometheus", "gopkg.in/yaml.v3"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s; acd may use only %v", name, path, allowed)
			}
		}
	}
}
