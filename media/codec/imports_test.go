package codec

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// opusBinding is the one module codec may import besides the standard
// library: the cgo binding to libopus, itself a leaf that knows nothing of
// hotline.
const opusBinding = "github.com/hraban/opus"

// TestImportsPointDown keeps codec a leaf: the standard library and the
// libopus binding only, so media/audio and everything above can depend on
// it without a cycle.
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
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") && path != opusBinding {
				t.Errorf("%s imports %s; codec may use the standard library and %s only", name, path, opusBinding)
			}
		}
	}
}
