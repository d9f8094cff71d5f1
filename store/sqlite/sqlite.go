package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/migrate"
)

// DefaultPath is the database file when the DSN is empty.
const DefaultPath = "hotline.db"

// Defaults of the options.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultReaders     = 4
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are the embedded schema steps, checked once.
var migrations = sync.OnceValues(func() ([]migrate.Migration, error) {
	return migrate.Load(migrationFS, "migrations")
})

func init() {
	store.Register("sqlite", func(ctx context.Context, dsn, node string, log *slog.Logger) (store.Store, error) {
		return Open(ctx, dsn, WithNode(node), WithLogger(log))
	})
}

// Store is the SQLite backend. Writes go through one connection (SQLite has one
// writer at a time; a pool of writers would only take turns at the file lock),
// reads through a small pool of read-only connections that WAL lets run beside
// the writer.
type Store struct {
	path  string
	node  string
	log   *slog.Logger
	write *sql.DB // one connection, BEGIN IMMEDIATE
	read  *sql.DB // query_only connections

	prepared map[string]*sql.Stmt // writeStatements on the write connection

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

var _ store.Store = (*Store)(nil)

type options struct {
	node        string
	log         *slog.Logger
	busyTimeout time.Duration
	syncFull    bool
	readers     int
	target      int // migrate up to this version (0: all); tests build old databases
}

// Option configures Open.
type Option func(*options)

// WithNode names the engine node (store.Config.Node).
func WithNode(node string) Option { return func(o *options) { o.node = node } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithBusyTimeout sets how long a statement waits for another process's lock
// before failing (default 5 s).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithSyncFull makes every commit fsync the WAL (PRAGMA synchronous=FULL). The
// default, NORMAL, already keeps every commit through a crash of the process, which
// is what principle 7 guards against; FULL also keeps the last commits through a
// power cut or kernel crash, at the cost of one fsync per transaction (the Writer's
// batching keeps that affordable).
func WithSyncFull(full bool) Option { return func(o *options) { o.syncFull = full } }

// WithReaders sets the size of the read pool (default 4).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// Open opens (creating if needed) the database file at path and migrates it to the
// latest schema. path is a file name, or a "file:" URI for SQLite's own URI
// parameters; "" is DefaultPath. A plain path's missing directories are created,
// and a new file is made readable by its owner only. An in-memory database is
// refused: every connection would see a different one.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: DefaultBusyTimeout, readers: DefaultReaders}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.readers < 1 {
		return nil, fmt.Errorf("sqlite: %d readers: want at least 1", o.readers)
	}
	if path == "" {
		path = DefaultPath
	}
	if strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return nil, errors.New("sqlite: an in-memory database cannot be shared by the store's connections; give a file path")
	}
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	s := &Store{path: path, node: o.node, log: o.log, closed: make(chan struct{})}
	var err error
	if s.write, err = sql.Open("sqlite", dsn(path, o, false)); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	if err := s.migrateRetrying(ctx, o); err != nil {
		s.write.Close()
		return nil, err
	}
	if o.target == 0 { // an old schema (tests) lacks the columns
		s.prepared = map[string]*sql.Stmt{}
		for _, q := range writeStatements {
			st, err := s.write.PrepareContext(ctx, q)
			if err != nil {
				s.write.Close()
				return nil, fmt.Errorf("sqlite: prepare %.40q: %w", q, err)
			}
			s.prepared[q] = st
		}
	}
	if s.read, err = sql.Open("sqlite", dsn(path, o, true)); err != nil {
		s.write.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	s.read.SetMaxOpenConns(o.readers)
	s.read.SetMaxIdleConns(o.readers)
	if err := s.read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	return s, nil
}

// prepareFile creates a plain path's directory (0750) and the file itself with
// mode 0600 when they do not exist: call records hold callers' numbers and what
// they said, so the file is private to the engine's user (SQLite creates its -wal
// and -shm files with the database file's mode). A "file:" URI is left to SQLite.
func prepareFile(path string) error {
	if strings.HasPrefix(path, "file:") {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("sqlite: create the directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return f.Close()
}

// dsn adds the pragmas to path. Every connection gets the busy timeout and foreign
// keys (both are per connection); the writer sets WAL (persistent in the file),
// the synchronous level and immediate transactions, so a transaction takes the
// write lock at BEGIN instead of failing with SQLITE_BUSY at its first write.
func dsn(path string, o options, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "temp_store(memory)")
	q.Add("_pragma", "cache_size(-16000)") // 16 MB of page cache per connection
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(wal)")
		q.Add("_pragma", "journal_size_limit(67108864)") // truncate the WAL back to 64 MB after checkpoints
		if o.syncFull {
			q.Add("_pragma", "synchronous(full)")
		} else {
			q.Add("_pragma", "synchronous(normal)")
		}
		q.Set("_txlock", "immediate")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + q.Encode()
}

// migrateRetrying is migrate, tried again while SQLite answers SQLITE_BUSY, up to
// the busy timeout. Processes opening one new file at once (engine nodes, `hotline
// calls show` beside a starting engine) race to switch it to WAL, and that switch
// fails with SQLITE_BUSY without waiting on the busy handler.
func (s *Store) migrateRetrying(ctx context.Context, o options) error {
	deadline := time.Now().Add(o.busyTimeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.migrate(ctx, o.target)
		if err == nil || !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		s.log.Debug("store: database busy while opening, trying again", "path", s.path, "wait", wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (primary code 5).
func isBusy(err error) bool {
	var c interface{ Code() int }
	return errors.As(err, &c) && c.Code()&0xff == 5
}

// migrate applies the pending migrations up to target (0: all), each in its own
// immediate transaction with its schema_migrations row. Another process migrating
// the same file at once is serialized by the write lock, and each step re-checks
// inside its transaction that it is still pending.
func (s *Store) migrate(ctx context.Context, target int) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	// In an immediate transaction: an autocommit CREATE starts as a reader and its
	// upgrade to a writer fails with SQLITE_BUSY at once, without the busy timeout,
	// when another process opening the same file wrote first (WAL mode).
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: create schema_migrations in %s: %w", s.path, err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("sqlite: create schema_migrations in %s: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations in %s: %w", s.path, err)
	}
	applied, err := s.applied(ctx)
	if err != nil {
		return err
	}
	pending, err := migrate.Pending(all, applied, target)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w: %w", s.path, store.ErrSchemaTooNew, err)
	}
	for _, m := range pending {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
		s.log.Info("store: schema migrated", "path", s.path, "version", m.Version, "name", m.Name)
	}
	return nil
}

func (s *Store) applied(ctx context.Context) ([]int, error) {
	rows, err := s.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read schema_migrations: %w", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlite: read schema_migrations: %w", err)
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

func (s *Store) apply(ctx context.Context, m migrate.Migration) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migration %d: begin: %w", m.Version, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: migration %d: %w", m.Version, err)
	}
	if n > 0 {
		return nil // another process applied it meanwhile
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("sqlite: migration %d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("sqlite: migration %d: record it: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migration %d: commit: %w", m.Version, err)
	}
	return nil
}

// SchemaVersion implements store.Store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", s.wrap(err))
	}
	return int(v.Int64), nil
}

// Close implements store.Store. It runs PRAGMA optimize, which SQLite recommends
// at close so the query planner's statistics follow the data.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.write.ExecContext(ctx, `PRAGMA optimize`); err != nil {
			s.log.Warn("store: PRAGMA optimize at close failed", "err", err)
		}
		var errs []error
		if s.read != nil {
			errs = append(errs, s.read.Close())
		}
		errs = append(errs, s.write.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// checkOpen returns store.ErrClosed after Close.
func (s *Store) checkOpen() error {
	select {
	case <-s.closed:
		return store.ErrClosed
	default:
		return nil
	}
}

// wrap marks errors for callers that branch: constraint and data errors are
// store.ErrRejected (retrying cannot help), and a closed pool is store.ErrClosed.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 19, 20, 18: // SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_TOOBIG
			return fmt.Errorf("%w: %w", store.ErrRejected, err)
		}
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed") {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}

// withTarget migrates only up to version n: tests build databases as an older
// hotline left them.
func withTarget(n int) Option { return func(o *options) { o.target = n } }
