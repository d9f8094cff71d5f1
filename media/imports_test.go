package media

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsPointDown keeps media below the signalling and flow layers: it may use the
// standard library, its own leaf packages and Prometheus, never sip, ivr or tts.
func TestImportsPointDown(t *testing.T) {
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
			switch {
			case !strings.Contains(first, "."):
			case strings.HasPrefix(path, "github.com/hotline-ivr/hotline/media/"):
			case strings.HasPrefix(path, "github.com/prometheus/client_golang/"):
			default:
				t.Errorf("%s imports %s; media may use the standard library, media/* and Prometheus only", name, path)
			}
		}
	}
}
