package flowtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hotline-ivr/hotline/flows"
)

// samplesDir holds the sample flows, testsDir their conversation tests.
const (
	samplesDir = "../../flows"
	testsDir   = "../../flows/tests"
)

// TestSampleFlowConversations runs every conversation test file of flows/tests:
// the promise that every sample flow ships with tests that pass in CI. It
// also checks that every sample flow has a test file, so a new sample cannot ship
// untested.
func TestSampleFlowConversations(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testsDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s (%v)", testsDir, err)
	}
	tested := map[string]bool{}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			t.Parallel()
			res := RunFile(context.Background(), file, Options{})
			var out bytes.Buffer
			WriteText(&out, []FileResult{res}, false)
			if passed, total := Passed([]FileResult{res}); passed != total || total == 0 {
				t.Errorf("%d of %d cases passed:\n%s", passed, total, out.String())
			}
		})
		tf, err := LoadTestFile(file)
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(tf.Flow)
		tested[abs] = true
	}
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	for _, s := range samples {
		abs, _ := filepath.Abs(s)
		if !slices.ContainsFunc(flows.EnvFileNames, func(n string) bool { return filepath.Base(s) == n }) && !tested[abs] {
			t.Errorf("sample flow %s has no conversation test file in %s", s, testsDir)
		}
	}
}

// TestSampleTestsDirIsNotLoaded: the engine loads a flow directory with
// flows.LoadDir; the conversation tests in flows/tests must not be taken for flows.
func TestSampleTestsDirIsNotLoaded(t *testing.T) {
	all, err := flows.LoadDir(samplesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		if strings.Contains(filepath.ToSlash(f.File), "/tests/") {
			t.Errorf("flows.LoadDir loaded %s, a conversation test", f.File)
		}
	}
	if _, err := os.Stat(testsDir); err != nil {
		t.Fatal(err)
	}
}
