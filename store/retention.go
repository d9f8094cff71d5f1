package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"
)

// DefaultPurgeEvery is how often Retention purges: hourly keeps each purge small
// (an hour's worth of calls) without the database noticing.
const DefaultPurgeEvery = time.Hour

// Retention applies Config.RetentionDays: it purges the store at start and then
// every DefaultPurgeEvery, and deletes the recording files of the calls it purged.
// cmd/hotline runs one per process (with PostgreSQL, every node may run one: a
// purge deletes in chunks and skips rows another node is deleting).
type Retention struct {
	s      Store
	days   int
	every  time.Duration
	remove func(path string) error
	log    *slog.Logger
	now    func() time.Time
}

// RetentionOption configures a Retention.
type RetentionOption func(*Retention)

// WithPurgeEvery sets the interval between purges (default DefaultPurgeEvery).
func WithPurgeEvery(d time.Duration) RetentionOption { return func(r *Retention) { r.every = d } }

// WithRecordingRemover sets how a purged call's recording is deleted, given the
// path its record holds (os.Remove, or a function that resolves it under the
// recordings directory). A file already gone is not an error. Default: none, the
// files are kept and only their paths are logged at debug level.
func WithRecordingRemover(remove func(path string) error) RetentionOption {
	return func(r *Retention) { r.remove = remove }
}

// WithRetentionLogger sets the logger (default: discard).
func WithRetentionLogger(l *slog.Logger) RetentionOption { return func(r *Retention) { r.log = l } }

// WithRetentionClock sets the clock the cutoff is computed from (default time.Now).
func WithRetentionClock(now func() time.Time) RetentionOption {
	return func(r *Retention) { r.now = now }
}

// NewRetention keeps days of history in s (Config.RetentionDays; 0 keeps
// everything, and Run then returns at once).
func NewRetention(s Store, days int, opts ...RetentionOption) (*Retention, error) {
	if s == nil {
		return nil, errors.New("store: NewRetention: nil Store")
	}
	if days < 0 {
		return nil, fmt.Errorf("store: NewRetention: %d days is negative (0 keeps everything)", days)
	}
	r := &Retention{s: s, days: days, every: DefaultPurgeEvery, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	if r.every <= 0 {
		return nil, fmt.Errorf("store: NewRetention: purge interval %v: want more than 0", r.every)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Run purges at once, then every interval, until ctx ends; it returns nil then.
// A failed purge is logged and tried again at the next interval (the database may
// be restarting). With a retention of 0 days it returns nil at once.
func (r *Retention) Run(ctx context.Context) error {
	if r.days == 0 {
		r.log.Info("store: retention off; call records are kept forever")
		return nil
	}
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		if _, err := r.PurgeOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("store: purge failed; trying again at the next interval", "every", r.every, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PurgeOnce deletes what is older than the retention now, then the purged calls'
// recording files. A file that cannot be deleted is logged and counted in the
// error; the records are gone either way (Purge has committed).
func (r *Retention) PurgeOnce(ctx context.Context) (PurgeResult, error) {
	cutoff := RetentionCutoff(r.now(), r.days)
	res, err := r.s.Purge(ctx, cutoff)
	if err != nil {
		return res, fmt.Errorf("store: purge before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	var failed int
	for _, p := range res.Recordings {
		if r.remove == nil {
			r.log.Debug("store: recording of a purged call kept (no remover)", "path", p)
			continue
		}
		if err := r.remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			failed++
			r.log.Warn("store: cannot delete the recording of a purged call", "path", p, "err", err)
		}
	}
	if failed > 0 {
		return res, fmt.Errorf("store: purge: %d of %d recordings could not be deleted (logged)", failed, len(res.Recordings))
	}
	return res, nil
}
