package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline-ivr/hotline/store"
)

// latestSchema is the number of migrations each backend ships; both backends
// keep the same numbering so a version means the same schema on each.
const latestSchema = 3

// rawExec runs one statement on the backend's database directly, beside the
// store: tests use it to look at schema_migrations and to forge a database a
// newer hotline left behind.
func rawExec(t testing.TB, d db, query string, args ...any) {
	t.Helper()
	switch d.driver {
	case "sqlite":
		conn, err := sql.Open("sqlite", d.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	case "postgres":
		conn, err := pgx.Connect(ctx, d.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	default:
		t.Fatalf("rawExec: no raw access to driver %s", d.driver)
	}
}

// rawCount runs a count query directly on the backend's database.
func rawCount(t testing.TB, d db, query string) int {
	t.Helper()
	var n int
	switch d.driver {
	case "sqlite":
		conn, err := sql.Open("sqlite", d.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.QueryRowContext(ctx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	case "postgres":
		conn, err := pgx.Connect(ctx, d.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	default:
		t.Fatalf("rawCount: no raw access to driver %s", d.driver)
	}
	return n
}

// TestMigrations: Open on an empty database applies every migration, once; a
// second and third Open apply nothing and lose nothing; every table the latest
// schema has is usable after the first Open.
func TestMigrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s, err := store.Open(ctx, store.Config{Driver: d.driver, DSN: d.dsn, Node: "n1"}, nil)
		if err != nil {
			t.Fatalf("open an empty database: %v", err)
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != latestSchema {
			t.Fatalf("schema version %d, %v; want %d", v, err, latestSchema)
		}
		rec := fullRecord("m-1", t0)
		tk := store.Ticket{ID: "TK-M-1", CallID: "m-1", Status: store.TicketOpen, CreatedAt: t0}
		write(t, s, store.StartCall{Record: startRecord("m-1", t0)}, store.FinishCall{Record: rec},
			store.CallEvent{CallID: "m-1", At: t0, Kind: store.KindSIP, Name: "INVITE"},
			store.QueueEvent{Time: t0, Type: store.QueueEnterQueue, Queue: "billing", CallID: "m-1"},
			store.SurveyResult{CallID: "m-1", At: t0, Node: "survey", Var: "q1", Score: 4},
			store.PutTicket{Ticket: tk})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		for range 2 {
			s := d.open(t, "n1")
			if v, err := s.SchemaVersion(ctx); err != nil || v != latestSchema {
				t.Fatalf("re-open: schema version %d, %v; want %d", v, err, latestSchema)
			}
			checkSame(t, "record after re-open", getCall(t, s, "m-1"), rec)
			if tl, err := s.Timeline(ctx, "m-1"); err != nil || len(tl) != 2 {
				t.Errorf("timeline after re-open: %d events, %v", len(tl), err)
			}
			if _, err := s.Ticket(ctx, "TK-M-1"); err != nil {
				t.Errorf("ticket after re-open: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if n := rawCount(t, d, "SELECT count(*) FROM schema_migrations"); n != latestSchema {
			t.Errorf("schema_migrations has %d rows after three opens, want %d (one per migration)", n, latestSchema)
		}
	})
}

// TestMigrationsConcurrentOpen: engine nodes (or `hotline calls show` beside a
// starting engine) opening one empty database at once migrate it once, and every
// Open succeeds.
func TestMigrationsConcurrentOpen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		const openers = 4
		var wg sync.WaitGroup
		errs := make([]error, openers)
		for i := range openers {
			wg.Go(func() {
				s, err := store.Open(ctx, store.Config{Driver: d.driver, DSN: d.dsn, Node: fmt.Sprintf("n%d", i)}, nil)
				if err != nil {
					errs[i] = err
					return
				}
				errs[i] = s.Close()
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
		if n := rawCount(t, d, "SELECT count(*) FROM schema_migrations"); n != latestSchema {
			t.Errorf("schema_migrations has %d rows, want %d", n, latestSchema)
		}
	})
}

// TestMigrationsTooNew: a database a newer hotline migrated is refused with
// ErrSchemaTooNew, untouched, rather than written with a schema this binary does
// not know.
func TestMigrationsTooNew(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d db) {
		s := d.open(t, "")
		write(t, s, store.StartCall{Record: startRecord("kept", t0)})
		s.Close()
		rawExec(t, d, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', "+
			map[string]string{"sqlite": "0", "postgres": "now()"}[d.driver]+")")

		_, err := store.Open(ctx, store.Config{Driver: d.driver, DSN: d.dsn}, nil)
		if !errors.Is(err, store.ErrSchemaTooNew) {
			t.Fatalf("open a newer schema: %v, want ErrSchemaTooNew", err)
		}
		if n := rawCount(t, d, "SELECT count(*) FROM calls WHERE state = 'active'"); n != 1 {
			t.Errorf("%d active records after the refused Open, want 1 (untouched)", n)
		}
	})
}

// TestOpenErrors: configuration mistakes are reported by Open, naming the field,
// before any database is touched.
func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  store.Config
		want error
	}{
		{"unknown driver", store.Config{Driver: "mysql", DSN: "x"}, store.ErrUnknownDriver},
		{"postgres without dsn", store.Config{Driver: "postgres"}, nil},
		{"negative retention", store.Config{Driver: "sqlite", DSN: t.TempDir() + "/x.db", RetentionDays: -1}, nil},
		{"sqlite in memory", store.Config{Driver: "sqlite", DSN: ":memory:"}, nil},
		{"postgres unreachable", store.Config{Driver: "postgres", DSN: "postgres://u@127.0.0.1:1/x?connect_timeout=2"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(ctx, tc.cfg, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRetentionCutoff: days <= 0 keeps everything; otherwise whole days back.
func TestRetentionCutoff(t *testing.T) {
	if c := store.RetentionCutoff(t0, 0); !c.IsZero() {
		t.Errorf("0 days: %v, want zero (keep everything)", c)
	}
	if c := store.RetentionCutoff(t0, 30); !c.Equal(t0.Add(-30 * 24 * time.Hour)) {
		t.Errorf("30 days: %v", c)
	}
}
