package ivr

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsPointDown keeps ivr a consumer of small interfaces it defines: it may use
// flows, media (Source, Clip), media/audio, media/vad (end of a recording on silence)
// and Prometheus, never the packages that implement its interfaces (sip, tts, asr,
// nlu, acd, store) or wire them (cmd).
func TestImportsPointDown(t *testing.T) {
	allowed := []string{
		"github.com/hotline-ivr/hotline/flows",
		"github.com/hotline-ivr/hotline/media",
		"github.com/hotline-ivr/hotline/media/audio",
		"github.com/hotline-ivr/hotline/media/vad",
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
				t.Errorf("%s imports %s; ivr may use %s", name, path, strings.Join(allowed, ", "))
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
