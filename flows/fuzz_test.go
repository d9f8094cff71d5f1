package flows

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzParse checks that no input makes Parse panic or break its contract: either a
// flow that keeps every promise of Flow, or a non-empty Errors sorted by position
// in which every problem has a message and names the file. The seed corpus is
// testdata/fuzz/FuzzParse (valid and broken flows) plus every flow in testdata.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range append(files, "hotline.yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	fsys := fstest.MapFS{"flows/sounds/beep.wav": {Data: []byte("RIFF")}}
	const name = "flows/f.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		flow, err := Parse(fsys, name, data)
		if err == nil {
			checkInvariants(t, flow)
			return
		}
		if flow != nil {
			t.Fatal("flow and error both returned")
		}
		errs, ok := err.(Errors)
		if !ok || len(errs) == 0 {
			t.Fatalf("error %T %v is not a non-empty Errors", err, err)
		}
		if !slices.IsSortedFunc(errs, func(a, b *Error) int { return a.Pos.compare(b.Pos) }) {
			t.Errorf("errors not sorted:\n%v", err)
		}
		for _, e := range errs {
			if e.Pos.File != name || e.Msg == "" || e.Pos.Line < 0 || strings.Contains(e.Msg, "internal error") {
				t.Errorf("bad error %#v", e)
			}
		}
	})
}

// TestHostileInput checks inputs built to make the loader slow: YAML merge keys that
// would expand exponentially, one anchored mistake reused by hundreds of nodes, and
// hundreds of misspelled routes that each look for a suggestion. Each must finish
// quickly, with at most maxErrors problems and a last line counting the rest.
func TestHostileInput(t *testing.T) {
	wide := func() string {
		var b strings.Builder
		b.WriteString("name: x\nstart: n0\nnodes:\n  n0: &x {")
		for i := range 500 {
			fmt.Fprintf(&b, "k%d: 1, ", i)
		}
		b.WriteString("say: hi}\n")
		for i := 1; i < 500; i++ {
			fmt.Fprintf(&b, "  n%d: *x\n", i)
		}
		return b.String()
	}
	routes := func() string {
		var b strings.Builder
		b.WriteString("name: x\nstart: m0\ndefaults: {error: m0}\nnodes:\n")
		for i := range 2000 {
			fmt.Fprintf(&b, "  m%d: {say: x, next: node_with_a_rather_long_name_%d}\n", i, i)
		}
		return b.String()
	}
	tests := []struct {
		name, src string
		errors    int
	}{
		{"merge bomb", "name: x\nstart: a\nnodes:\n  a: &a {<<: [*a, *a, *a, *a, *a, *a, *a, *a], hangup: }\n", 1},
		{"merge diamond", "name: x\nstart: a\nd: &d {b: 1}\nc: &c {<<: [*d, *d, *d]}\nnodes:\n  a: {<<: [*c, *c, *c, *c], hangup: }\n", 3},
		{"wide alias", wide(), maxErrors + 1},
		{"misspelled routes", routes(), maxErrors + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse(nil, "f.yaml", []byte(tt.src))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			errs, _ := err.(Errors)
			if len(errs) != tt.errors {
				t.Errorf("%d errors, want %d:\n%v", len(errs), tt.errors, err)
			}
			if tt.errors > maxErrors && !strings.HasPrefix(errs[len(errs)-1].Msg, "too many errors: ") {
				t.Errorf("last error = %q", errs[len(errs)-1].Msg)
			}
		})
	}
}
