package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgtest.StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "stop the test PostgreSQL:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// newDatabase is a fresh database on the shared throwaway server; a missing
// PostgreSQL fails the test with how to install it.
func newDatabase(t *testing.T) string {
	t.Helper()
	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	dsn, err := srv.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// TestUpgradeFromEveryVersion builds a database as each older hotline left it
// (migrated up to version n, with a call written in the schema of version 1) and
// opens it with this one: the pending migrations apply, the old record reads back
// with the new fields empty, and every op writes.
func TestUpgradeFromEveryVersion(t *testing.T) {
	ctx := context.Background()
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 22, 9, 30, 0, 0, time.UTC)
	for n := 1; n < len(all); n++ {
		dsn := newDatabase(t)
		old, err := Open(ctx, dsn, withTarget(n))
		if err != nil {
			t.Fatalf("open at version %d: %v", n, err)
		}
		if v, err := old.SchemaVersion(ctx); err != nil || v != n {
			t.Fatalf("version %d, %v; want %d", v, err, n)
		}
		if _, err := old.pool.Exec(ctx, `INSERT INTO calls (id, state, started_at, caller, node_path)
			VALUES ('old-1', 'ended', $1, '+15550100', '{welcome}')`, t0); err != nil {
			t.Fatalf("version %d: write an old record: %v", n, err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}

		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatalf("upgrade from version %d: %v", n, err)
		}
		if v, err := s.SchemaVersion(ctx); err != nil || v != len(all) {
			t.Errorf("after upgrade from %d: version %d, %v; want %d", n, v, err, len(all))
		}
		r, err := s.Call(ctx, "old-1")
		if err != nil || r.Caller != "+15550100" || len(r.NodePath) != 1 || r.SurveyScores != nil || r.TicketIDs != nil || !r.StartedAt.Equal(t0) {
			t.Errorf("old record after upgrade from %d: %+v, %v", n, r, err)
		}
		err = s.Write(ctx,
			store.FinishCall{Record: store.CallRecord{ID: "old-1", StartedAt: t0, EndedAt: t0.Add(time.Minute), SurveyScores: []int{5}, TicketIDs: []string{"TK-1"}}},
			store.QueueEvent{Time: t0, Type: store.QueueEnterQueue, Queue: "q", CallID: "old-1"},
			store.SurveyResult{CallID: "old-1", At: t0, Score: 5},
			store.PutTicket{Ticket: store.Ticket{ID: "TK-1", CallID: "old-1", CreatedAt: t0}})
		if err != nil {
			t.Errorf("write after upgrade from %d: %v", n, err)
		}
		s.Close()
	}
}

// TestDSNErrors: a DSN pgx cannot parse, or a bad pool size, fails Open without
// echoing the password.
func TestDSNErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", "postgres://u:secretpw@127.0.0.1:5432/x?pool_max_conns=0", "postgres://u:secretpw@[::1"} {
		s, err := Open(ctx, dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("Open(%q): the error shows the password: %v", dsn, err)
		}
	}
}
