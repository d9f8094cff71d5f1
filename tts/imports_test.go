package tts

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsPointDown keeps tts below the runtime it serves: it may use
// media/audio and Prometheus, never ivr (whose Synthesizer interface Cache satisfies
// without importing it), sip or cmd.
func TestImportsPointDown(t *testing.T) {
	allowed := []string{
		"github.com/hotline-ivr/hotline/media/audio",
		"github.com/prometheus/client_golang/prometheus",
	}
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
			if strings.Contains(first, ".") && !contains(allowed, path) {
				t.Errorf("%s imports %s; tts may use %s", name, path, strings.Join(allowed, ", "))
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
