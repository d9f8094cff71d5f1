package store_test

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

// crashEnv carries "driver|dsn" to the child process of TestRecoverAfterKill.
const crashEnv = "HOTLINE_STORE_CRASH_CHILD"

// TestRecoverAfterKill: an engine process is killed (SIGKILL: no Close, no
// checkpoint, no deferred code) with three calls up; the next start finds their
// records, written through the Writer before the kill, and completes them.
func TestRecoverAfterKill(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+d.driver+"|"+d.dsn)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the child engine was not killed as planned: %v\n%s", err, out)
		}

		s := d.open(t, "crashed-node")
		got, err := s.RecoverActive(ctx, at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"k-1", "k-2", "k-3"}; !slices.Equal(got, want) {
			t.Fatalf("recovered %v, want %v", got, want)
		}
		r := getCall(t, s, "k-2")
		if r.State != store.StateEnded || r.Queue != "billing" || r.HangupCause != store.CauseEngineRestart ||
			!r.EndedAt.Equal(at(7*time.Second)) {
			t.Errorf("k-2 after recovery: %+v", r)
		}
		if r := getCall(t, s, "k-done"); r.HangupCause != "normal_clearing" {
			t.Errorf("the finished call was touched: %+v", r)
		}
	})
}

// TestCrashChild is TestRecoverAfterKill's engine: it does nothing unless started
// by it. It writes through a Writer, waits for the writes to commit, and kills
// itself with the calls still up.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		return // not a test of its own: the child half of TestRecoverAfterKill
	}
	driver, dsn, _ := strings.Cut(spec, "|")
	s, err := store.Open(ctx, store.Config{Driver: driver, DSN: dsn, Node: "crashed-node"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := store.NewWriter(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"k-1", "k-2", "k-3"} {
		if err := w.Submit(store.StartCall{Record: startRecord(id, t0)}); err != nil {
			t.Fatal(err)
		}
	}
	queued := startRecord("k-2", t0)
	queued.AnsweredAt, queued.Queue = at(time.Second), "billing"
	done := fullRecord("k-done", t0)
	done.Node = ""
	if err := w.Submit(store.UpdateCall{Record: queued},
		store.CallEvent{CallID: "k-2", At: at(7 * time.Second), Kind: store.KindQueue, Name: "waiting"},
		store.FinishCall{Record: done}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the kill is on its way
}
