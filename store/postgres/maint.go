package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline-ivr/hotline/store"
)

// recoverSQL ends a node's active records in one statement. The end is the last
// sign of life: the latest of start, answer, timeline and queue events, capped at
// now and never before the start.
const recoverSQL = `UPDATE calls SET
	state = 'ended',
	ended_at = GREATEST(started_at, LEAST($1::timestamptz, GREATEST(started_at, answered_at,
		(SELECT max(at) FROM call_events e WHERE e.call_id = calls.id),
		(SELECT max(at) FROM queue_events q WHERE q.call_id = calls.id)))),
	hangup_cause = $2,
	hangup_side = 'engine',
	disposition = CASE disposition WHEN '' THEN 'error' ELSE disposition END
	WHERE state = 'active' AND node = $3
	RETURNING id`

// RecoverActive implements store.Store.
func (s *Store) RecoverActive(ctx context.Context, now time.Time) ([]string, error) {
	if err := s.checkOpen(); err != nil {
		return nil, fmt.Errorf("postgres: recover active calls: %w", err)
	}
	rows, err := s.pool.Query(ctx, recoverSQL, now, store.CauseEngineRestart, s.node)
	if err != nil {
		return nil, fmt.Errorf("postgres: recover active calls: %w", s.wrap(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: recover active calls: %w", s.wrap(err))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	s.log.Warn("store: completed the records of calls the last run left active", "calls", len(ids), "cause", store.CauseEngineRestart)
	return ids, nil
}

// purgeChunk is how many rows one purge transaction deletes, so a purge holds no
// lock long and a crash in the middle loses nothing but progress.
const purgeChunk = 1000

// purgeCallsSQL deletes one chunk of ended calls started before $1 (keeping those
// with a ticket not yet done), with their events and survey results, and returns
// the counts and the recordings, in one statement (one transaction).
const purgeCallsSQL = `WITH doomed AS (
		SELECT id, recordings FROM calls c
		WHERE state = 'ended' AND started_at < $1
		AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.call_id = c.id AND t.status NOT IN ('resolved', 'closed'))
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	), ev AS (
		DELETE FROM call_events WHERE call_id IN (SELECT id FROM doomed) RETURNING 1
	), sv AS (
		DELETE FROM survey_results WHERE call_id IN (SELECT id FROM doomed) RETURNING 1
	), gone AS (
		DELETE FROM calls WHERE id IN (SELECT id FROM doomed) RETURNING recordings
	)
	SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM ev), (SELECT count(*) FROM sv),
		coalesce((SELECT array_agg(r) FROM gone, unnest(gone.recordings) AS r), '{}')`

// Purge implements store.Store.
func (s *Store) Purge(ctx context.Context, before time.Time) (store.PurgeResult, error) {
	var res store.PurgeResult
	if before.IsZero() {
		return res, nil
	}
	if err := s.checkOpen(); err != nil {
		return res, fmt.Errorf("postgres: purge: %w", err)
	}
	for {
		var (
			calls, evs, svs int64
			recs            []string
		)
		if err := s.pool.QueryRow(ctx, purgeCallsSQL, before, purgeChunk).Scan(&calls, &evs, &svs, &recs); err != nil {
			return res, fmt.Errorf("postgres: purge calls before %s: %w", before.UTC().Format(time.RFC3339), s.wrap(err))
		}
		res.Calls, res.Events, res.Surveys = res.Calls+calls, res.Events+evs, res.Surveys+svs
		res.Recordings = append(res.Recordings, recs...)
		if calls < purgeChunk {
			break
		}
	}
	chunks := []struct {
		what  string
		query string
		count *int64
	}{
		{"queue events", `DELETE FROM queue_events WHERE seq IN (SELECT seq FROM queue_events WHERE at < $1 LIMIT $2)`, &res.QueueEvents},
		{"tickets", `DELETE FROM tickets WHERE id IN (SELECT id FROM tickets
			WHERE status IN ('resolved', 'closed') AND updated_at < $1 LIMIT $2)`, &res.Tickets},
	}
	for _, c := range chunks {
		for {
			tag, err := s.pool.Exec(ctx, c.query, before, purgeChunk)
			if err != nil {
				return res, fmt.Errorf("postgres: purge %s: %w", c.what, s.wrap(err))
			}
			*c.count += tag.RowsAffected()
			if tag.RowsAffected() < purgeChunk {
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
