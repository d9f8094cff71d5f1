package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hotline-ivr/hotline/store"
	"github.com/hotline-ivr/hotline/store/internal/migrate"
)

// DefaultMaxConns is the pool size when neither WithMaxConns nor the DSN's
// pool_max_conns sets one.
const DefaultMaxConns = 16

// migrateLockKey is the advisory lock that serializes migrations when several
// engine nodes start at once ("hotline" in ASCII).
const migrateLockKey int64 = 0x686f746c696e65

//go:embed migrations/*.sql
var migrationFS embed.FS

var migrations = sync.OnceValues(func() ([]migrate.Migration, error) {
	return migrate.Load(migrationFS, "migrations")
})

func init() {
	store.Register("postgres", func(ctx context.Context, dsn, node string, log *slog.Logger) (store.Store, error) {
		return Open(ctx, dsn, WithNode(node), WithLogger(log))
	})
}

// Store is the PostgreSQL backend over a pgx connection pool.
type Store struct {
	pool *pool
	node string
	log  *slog.Logger

	closeOnce sync.Once
	closed    chan struct{}
}

var _ store.Store = (*Store)(nil)

type options struct {
	node     string
	log      *slog.Logger
	maxConns int
	target   int
}

// Option configures Open.
type Option func(*options)

// WithNode names the engine node (store.Config.Node).
func WithNode(node string) Option { return func(o *options) { o.node = node } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithMaxConns sets the pool size (default: the DSN's pool_max_conns, else
// DefaultMaxConns).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// withTarget migrates only up to version n: tests build databases as an older
// hotline left them.
func withTarget(n int) Option { return func(o *options) { o.target = n } }

// Open connects to the database dsn names (a URL or libpq key=value string, with
// an optional pool_max_conns parameter as pgxpool reads it) and migrates it to the
// latest schema.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if dsn == "" {
		return nil, errors.New("postgres: empty DSN")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err) // pgx leaves the password out
	}
	maxConns := DefaultMaxConns
	if v, ok := cfg.RuntimeParams["pool_max_conns"]; ok {
		delete(cfg.RuntimeParams, "pool_max_conns") // ours, not a server setting
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 {
			return nil, fmt.Errorf("postgres: DSN pool_max_conns %q: want a positive number", v)
		}
	}
	if o.maxConns > 0 {
		maxConns = o.maxConns
	}
	// Sessions in UTC: times come back as UTC and date arithmetic in reports
	// does not depend on the server's zone.
	cfg.RuntimeParams["timezone"] = "UTC"
	s := &Store{pool: newPool(cfg, maxConns), node: o.node, log: o.log, closed: make(chan struct{})}
	if err := s.migrate(ctx, o.target); err != nil {
		s.pool.close()
		return nil, err
	}
	return s, nil
}

// migrate applies the pending migrations up to target (0: all), each in its own
// transaction with its schema_migrations row, holding an advisory lock so that
// engine nodes starting together migrate once, one after the other.
func (s *Store) migrate(ctx context.Context, target int) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer s.pool.release(conn)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx ended; a failed unlock ends with the session.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, migrateLockKey); err != nil {
			conn.Close(uctx)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	rows, _ := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("postgres: read schema_migrations: %w", err)
	}
	pending, err := migrate.Pending(all, applied, target)
	if err != nil {
		return fmt.Errorf("postgres: %w: %w", store.ErrSchemaTooNew, err)
	}
	for _, m := range pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %d (%s): %w", m.Version, m.Name, err)
		}
		s.log.Info("store: schema migrated", "version", m.Version, "name", m.Name)
	}
	return nil
}

// SchemaVersion implements store.Store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	err := s.pool.with(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", s.wrap(err))
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Close implements store.Store: it waits for queries in flight and closes the pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.pool.close()
	})
	return nil
}

func (s *Store) checkOpen() error {
	select {
	case <-s.closed:
		return store.ErrClosed
	default:
		return nil
	}
}

// wrap marks errors for callers that branch: integrity and data errors (SQLSTATE
// classes 23 and 22) are store.ErrRejected, retrying cannot help; after Close,
// store.ErrClosed. Anything else (connection lost, server restarting, serialization
// failure) is transient.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "23") || strings.HasPrefix(pe.Code, "22")) {
		return fmt.Errorf("%w: %w", store.ErrRejected, err)
	}
	if s.checkOpen() != nil {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}
