package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-ivr/hotline/store"
)

// TestRetention: with 30 days kept, a purge deletes the calls started more than
// 30 days before now and their recording files, keeps the newer ones and their
// files, and a file already gone is no error; Run purges at start and stops with
// its context.
func TestRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		dir := t.TempDir()
		now := t0
		day := 24 * time.Hour
		var ops []store.Op
		for _, c := range []struct {
			id    string
			start time.Time
			file  bool
		}{{"old", now.Add(-31 * day), true}, {"old-gone", now.Add(-40 * day), false}, {"new", now.Add(-29 * day), true}} {
			r := fullRecord(c.id, c.start)
			r.Recordings = []string{filepath.Join(dir, c.id+".wav")}
			if c.file {
				if err := os.WriteFile(r.Recordings[0], []byte("RIFF"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ops = append(ops, store.FinishCall{Record: r})
		}
		write(t, s, ops...)

		var removed atomic.Int64
		r, err := store.NewRetention(s, 30, store.WithRetentionClock(func() time.Time { return now }),
			store.WithRecordingRemover(func(p string) error { removed.Add(1); return os.Remove(p) }))
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.PurgeOnce(ctx)
		if err != nil || res.Calls != 2 || len(res.Recordings) != 2 || removed.Load() != 2 {
			t.Fatalf("purge: %+v, %v; %d removed; want 2 calls and 2 recordings", res, err, removed.Load())
		}
		if _, err := os.Stat(filepath.Join(dir, "old.wav")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("old recording still there: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "new.wav")); err != nil {
			t.Errorf("new recording: %v", err)
		}
		if got := ids(searchAll(t, s, store.SearchFilter{})); len(got) != 1 || got[0] != "new" {
			t.Errorf("records left %v, want [new]", got)
		}

		// Run purges at once (a day later, "new" is still inside 30 days) and
		// returns when its context ends.
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(runCtx) }()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestRetentionErrors: a remover failing is reported (the records are gone
// anyway); zero days keeps everything and Run returns at once; bad settings are
// refused.
func TestRetentionErrors(t *testing.T) {
	s := db{driver: "sqlite", dsn: newDSN["sqlite"](t)}.open(t, "")
	r := fullRecord("old", t0.Add(-100*24*time.Hour))
	r.Recordings = []string{"/nonexistent/old.wav", "/locked/old.wav"}
	write(t, s, store.FinishCall{Record: r})
	ret, err := store.NewRetention(s, 1, store.WithRetentionClock(func() time.Time { return t0 }),
		store.WithRecordingRemover(func(p string) error {
			if strings.HasPrefix(p, "/locked") {
				return os.ErrPermission
			}
			return os.Remove(p)
		}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ret.PurgeOnce(ctx)
	if err == nil || res.Calls != 1 {
		t.Errorf("purge with an undeletable file: %+v, %v; want the call purged and an error", res, err)
	}

	keep, err := store.NewRetention(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := keep.Run(ctx); err != nil { // returns at once: ctx never ends
		t.Errorf("Run with retention off: %v", err)
	}
	if _, err := store.NewRetention(s, -1); err == nil {
		t.Error("negative days accepted")
	}
	if _, err := store.NewRetention(s, 1, store.WithPurgeEvery(0)); err == nil {
		t.Error("zero interval accepted")
	}
}

// TestConfigYAML: the store section decodes strictly from YAML (durations as
// "250ms"), unknown keys are errors, and Validate names every bad field at once.
func TestConfigYAML(t *testing.T) {
	src := `
driver: postgres
dsn: postgres://hotline@db.example:5432/hotline
node: node-a
retention_days: 90
queue_size: 4096
batch_size: 128
overflow_wait: 250ms
commit_interval: 50ms
`
	var c store.Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := store.Config{Driver: "postgres", DSN: "postgres://hotline@db.example:5432/hotline", Node: "node-a",
		RetentionDays: 90, QueueSize: 4096, BatchSize: 128, OverflowWait: 250 * time.Millisecond,
		CommitInterval: 50 * time.Millisecond}
	if c != want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if len(c.WriterOptions()) != 4 {
		t.Errorf("WriterOptions: %d options", len(c.WriterOptions()))
	}

	dec = yaml.NewDecoder(strings.NewReader("driver: sqlite\nretention: 30\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Error("unknown key retention accepted")
	}

	bad := store.Config{Driver: "postgres", RetentionDays: -1, QueueSize: -5, BatchSize: 20000, OverflowWait: time.Minute,
		CommitInterval: -time.Second}
	err := bad.Validate()
	for _, field := range []string{"store.dsn", "store.retention_days", "store.queue_size", "store.batch_size", "store.overflow_wait", "store.commit_interval"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate: %v; want %s named", err, field)
		}
	}
	if err := (store.Config{}).Validate(); err != nil {
		t.Errorf("zero config (all defaults): %v", err)
	}
}
