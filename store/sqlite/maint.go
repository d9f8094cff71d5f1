package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotline-ivr/hotline/store"
)

// recoverSQL ends a node's active records in one statement. The end is the last
// sign of life: the latest of start, answer, timeline and queue events, capped at
// now and never before the start.
const recoverSQL = `UPDATE calls SET
	state = 'ended',
	ended_at = max(started_at, min(?1, max(started_at, coalesce(answered_at, 0),
		coalesce((SELECT max(at) FROM call_events e WHERE e.call_id = calls.id), 0),
		coalesce((SELECT max(at) FROM queue_events q WHERE q.call_id = calls.id), 0)))),
	hangup_cause = ?2,
	hangup_side = 'engine',
	disposition = CASE disposition WHEN '' THEN 'error' ELSE disposition END
	WHERE state = 'active' AND node = ?3
	RETURNING id`

// RecoverActive implements store.Store.
func (s *Store) RecoverActive(ctx context.Context, now time.Time) ([]string, error) {
	if err := s.checkOpen(); err != nil {
		return nil, fmt.Errorf("sqlite: recover active calls: %w", err)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recover active calls: %w", s.wrap(err))
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, recoverSQL, now.UnixMicro(), store.CauseEngineRestart, s.node)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recover active calls: %w", s.wrap(err))
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: recover active calls: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: recover active calls: %w", s.wrap(err))
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: recover active calls: commit: %w", s.wrap(err))
	}
	slices.Sort(ids)
	if len(ids) > 0 {
		s.log.Warn("store: completed the records of calls the last run left active", "calls", len(ids), "cause", store.CauseEngineRestart)
	}
	return ids, nil
}

// purgeChunk is how many rows one purge transaction deletes: small enough that
// the Writer's next batch waits milliseconds, not seconds.
const purgeChunk = 500

// Purge implements store.Store.
func (s *Store) Purge(ctx context.Context, before time.Time) (store.PurgeResult, error) {
	var res store.PurgeResult
	if before.IsZero() {
		return res, nil
	}
	if err := s.checkOpen(); err != nil {
		return res, fmt.Errorf("sqlite: purge: %w", err)
	}
	cut := before.UnixMicro()
	for {
		n, err := s.purgeCalls(ctx, cut, &res)
		if err != nil {
			return res, fmt.Errorf("sqlite: purge calls before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		if n < purgeChunk {
			break
		}
	}
	chunks := []struct {
		what  string
		query string
		count *int64
	}{
		{"queue events", `DELETE FROM queue_events WHERE seq IN (SELECT seq FROM queue_events WHERE at < ? LIMIT ?)`, &res.QueueEvents},
		{"tickets", `DELETE FROM tickets WHERE id IN (SELECT id FROM tickets
			WHERE status IN ('resolved', 'closed') AND updated_at < ? LIMIT ?)`, &res.Tickets},
	}
	for _, c := range chunks {
		for {
			r, err := s.write.ExecContext(ctx, c.query, cut, purgeChunk)
			if err != nil {
				return res, fmt.Errorf("sqlite: purge %s: %w", c.what, s.wrap(err))
			}
			n, _ := r.RowsAffected()
			*c.count += n
			if n < purgeChunk {
				break
			}
		}
	}
	if res.Calls+res.QueueEvents+res.Tickets > 0 {
		s.log.Info("store: purged", "before", before.UTC(), "calls", res.Calls, "events", res.Events,
			"queue_events", res.QueueEvents, "surveys", res.Surveys, "tickets", res.Tickets, "recordings", len(res.Recordings))
	}
	return res, nil
}

// purgeCalls deletes one chunk of ended calls started before cut (keeping those
// with a ticket not yet done), with their events and survey results, in one
// transaction, and returns how many calls it deleted.
func (s *Store) purgeCalls(ctx context.Context, cut int64, res *store.PurgeResult) (int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.wrap(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, recordings FROM calls c
		WHERE state = 'ended' AND started_at < ?
		AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.call_id = c.id AND t.status NOT IN ('resolved', 'closed'))
		LIMIT ?`, cut, purgeChunk)
	if err != nil {
		return 0, s.wrap(err)
	}
	var ids []any
	var recs []string
	for rows.Next() {
		var id, rc string
		if err := rows.Scan(&id, &rc); err != nil {
			rows.Close()
			return 0, err
		}
		var l []string
		if err := decodeList(rc, &l); err != nil {
			rows.Close()
			return 0, fmt.Errorf("call %s: %w", id, err)
		}
		ids, recs = append(ids, id), append(recs, l...)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap(err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
	var counts [3]int64
	for i, q := range []string{
		"DELETE FROM call_events WHERE call_id IN " + in,
		"DELETE FROM survey_results WHERE call_id IN " + in,
		"DELETE FROM calls WHERE id IN " + in,
	} {
		r, err := tx.ExecContext(ctx, q, ids...)
		if err != nil {
			return 0, s.wrap(err)
		}
		counts[i], _ = r.RowsAffected()
	}
	if err := tx.Commit(); err != nil {
		return 0, s.wrap(err)
	}
	res.Events += counts[0]
	res.Surveys += counts[1]
	res.Calls += counts[2]
	res.Recordings = append(res.Recordings, recs...)
	return len(ids), nil
}
