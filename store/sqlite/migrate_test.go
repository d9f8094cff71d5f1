package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

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
		path := filepath.Join(t.TempDir(), "old.db")
		old, err := Open(ctx, path, withTarget(n))
		if err != nil {
			t.Fatalf("open at version %d: %v", n, err)
		}
		if v, err := old.SchemaVersion(ctx); err != nil || v != n {
			t.Fatalf("version %d, %v; want %d", v, err, n)
		}
		if _, err := old.write.ExecContext(ctx, `INSERT INTO calls (id, state, started_at, caller, node_path)
			VALUES ('old-1', 'ended', ?, '+15550100', '["welcome"]')`, t0.UnixMicro()); err != nil {
			t.Fatalf("version %d: write an old record: %v", n, err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}

		s, err := Open(ctx, path)
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
