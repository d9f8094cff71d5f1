package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

func testRecord(id string) store.CallRecord {
	return store.CallRecord{ID: id, StartedAt: time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)}
}

// TestPragmas: the file is in WAL mode, and every connection, writer and
// readers, has the busy timeout and foreign keys; readers cannot write.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), WithBusyTimeout(1234*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.write}, {"reader", s.read}} {
		for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "1234", "foreign_keys": "1"} {
			var got string
			if err := c.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", c.name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", c.name, pragma, got, want)
			}
		}
	}
	if _, err := s.read.ExecContext(ctx, `DELETE FROM calls`); err == nil {
		t.Error("a reader connection could write")
	}
}

// TestBusyTimeout: another process holding the write lock makes a write wait for
// it (within the busy timeout) instead of failing; past the timeout the failure
// is transient (a Writer retries it), not a refusal.
func TestBusyTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := Open(ctx, path, WithBusyTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	impatient, err := Open(ctx, path, WithBusyTimeout(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	err = impatient.Write(ctx, store.StartCall{Record: testRecord("impatient")})
	if err == nil || errors.Is(err, store.ErrRejected) || !strings.Contains(strings.ToLower(err.Error()), "locked") && !strings.Contains(strings.ToLower(err.Error()), "busy") {
		t.Errorf("write past the busy timeout: %v; want a transient busy/locked error, not ErrRejected", err)
	}

	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, store.StartCall{Record: testRecord("patient")}) }()
	time.Sleep(100 * time.Millisecond) // let the write reach the lock; it must wait, not fail
	select {
	case err := <-done:
		t.Fatalf("write returned while the lock was held: %v", err)
	default:
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
	if _, err := s.Call(ctx, "patient"); err != nil {
		t.Error(err)
	}
}

// TestOpenFile: a missing directory is created, a new database file is private
// to its owner, and an in-memory database is refused.
func TestOpenFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "var", "lib", "hotline", "hotline.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, store.StartCall{Record: testRecord("c")}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group and others", filepath.Base(p), perm)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Write(ctx, store.StartCall{Record: testRecord("late")}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("write after Close: %v, want ErrClosed", err)
	}
	for _, mem := range []string{":memory:", "file::memory:?cache=shared", "file:x?mode=memory"} {
		if s, err := Open(ctx, mem); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded; want refused", mem)
		}
	}
}
