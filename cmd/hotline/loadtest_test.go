package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLoadtestTraceWindow: --trace writes a Go execution trace of the window it was
// given, which ends on time even though the run goes on; a run that ends before the
// window starts leaves an empty file and no error.
func TestLoadtestTraceWindow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gen.trace")
	wait, err := startTraceWindow(context.Background(), path, 10*time.Millisecond, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the run goes on past the window
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("go 1.")) {
		t.Fatalf("the trace file does not start with a Go trace header: %q", b[:min(len(b), 16)])
	}

	early := filepath.Join(dir, "early.trace")
	wait, err = startTraceWindow(context.Background(), early, time.Hour, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("a run that ended before the window: %v", err)
	}
	if fi, err := os.Stat(early); err != nil {
		t.Error(err)
	} else if fi.Size() != 0 {
		t.Errorf("a run that ended before the window left %d bytes", fi.Size())
	}
	if _, err := startTraceWindow(context.Background(), filepath.Join(dir, "no", "such", "dir"), 0, time.Second); err == nil {
		t.Error("a trace file that cannot be created gave no error")
	}
}
