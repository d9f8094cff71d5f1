package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Store is the durable store: every backend implements it and the same tests run
// over each. All methods are safe for concurrent use. Reads return times in UTC and
// empty lists as nil.
type Store interface {
	// Write applies ops in one transaction, in order: all or none. An op that fails
	// Validate fails the whole write with ErrInvalid before anything is applied.
	Write(ctx context.Context, ops ...Op) error

	// Call returns one record, or ErrNotFound.
	Call(ctx context.Context, id string) (CallRecord, error)
	// SearchCalls returns one page of records, newest first (by StartedAt, then
	// by id). An invalid filter (see SearchFilter.Validate) is ErrInvalid.
	SearchCalls(ctx context.Context, f SearchFilter) (CallPage, error)
	// Timeline returns a call's events in time order (then write order), with the
	// call's rows of the queue event log merged in as KindQueue events, so the
	// operator sees one story. An unknown call has an empty timeline, not an error.
	Timeline(ctx context.Context, callID string) ([]CallEvent, error)

	// QueueEvents calls fn for every queue event f selects, in log order (Time, then
	// write order), streaming: a day's log need not fit in memory. An error from fn
	// stops the read and is returned as is.
	QueueEvents(ctx context.Context, f QueueEventFilter, fn func(QueueEvent) error) error

	// Ticket returns one ticket, or ErrNotFound.
	Ticket(ctx context.Context, id string) (Ticket, error)
	// Tickets returns one page of tickets, newest first.
	Tickets(ctx context.Context, f TicketFilter) (TicketPage, error)
	// SurveyResults returns the survey answers f selects, oldest first.
	SurveyResults(ctx context.Context, f SurveyFilter) ([]SurveyResult, error)

	// RecoverActive completes every record of this store's node (Config.Node) still
	// active: the engine that owned the calls died, so the calls are gone. Call it
	// once at start, before the engine takes calls. Each record becomes ended with
	// hang-up cause CauseEngineRestart and side engine, disposition error when it
	// had none, and EndedAt the last sign of life the store holds (the latest of
	// its start, answer and timeline events; never after now), so its duration is
	// not inflated by the time the engine was down. It returns the ids recovered.
	RecoverActive(ctx context.Context, now time.Time) ([]string, error)

	// Purge deletes what is older than before: ended call records that started
	// before it, with their timelines and survey results (a call with a ticket not
	// yet done is kept); queue events before it; tickets done (resolved or closed)
	// and last updated before it. Active records are never purged. It deletes in
	// chunks, each its own transaction, so a large purge does not stall the
	// writers. Recording files are not touched: the result lists them for the
	// caller to delete.
	Purge(ctx context.Context, before time.Time) (PurgeResult, error)

	// SchemaVersion is the highest migration applied.
	SchemaVersion(ctx context.Context) (int, error)

	// Close releases the database; it is idempotent. Flush Writers first.
	Close() error
}

// PurgeResult counts what Purge deleted.
type PurgeResult struct {
	Calls, Events, QueueEvents, Surveys, Tickets int64
	// Recordings are the recording files of the purged calls, for the caller to
	// delete; the store only held their paths.
	Recordings []string
}

// Errors for branching; backends wrap them with what they were doing.
var (
	// ErrNotFound: no record or ticket has the id.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid: an op, filter or cursor that cannot be used as given.
	ErrInvalid = errors.New("store: invalid")
	// ErrClosed: the Store or Writer was closed.
	ErrClosed = errors.New("store: closed")
	// ErrSchemaTooNew: the database was migrated by a newer hotline than this one,
	// which must not write to a schema it does not know.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")
	// ErrUnknownDriver: Config.Driver names no registered backend (its package was
	// not imported).
	ErrUnknownDriver = errors.New("store: unknown driver")
	// ErrRejected: the database refused an op for what it holds, not for being
	// unreachable (a constraint: a timeline event for a call with no record). Trying
	// again cannot help; a Writer logs the op and counts it as failed. Backends wrap
	// their constraint and data errors with it; any other error is taken as
	// transient and retried.
	ErrRejected = errors.New("store: rejected by the database")
)

// RetentionCutoff is the Purge bound for a retention of days: records older than
// days before now go. days <= 0 keeps everything (zero time: Purge deletes nothing).
func RetentionCutoff(now time.Time, days int) time.Time {
	if days <= 0 {
		return time.Time{}
	}
	return now.AddDate(0, 0, -days)
}

// OpenFunc opens a backend: dsn is Config.DSN (the backend's default when empty),
// node is Config.Node, log is never nil.
type OpenFunc func(ctx context.Context, dsn, node string, log *slog.Logger) (Store, error)

var (
	driversMu   sync.RWMutex
	drivers     = map[string]OpenFunc{}
	registerErr error // what went wrong in Register, reported by Open
)

// Register makes a backend available by name; backends call it from init(), so the
// binary chooses backends by importing their packages. A duplicate name or a nil
// OpenFunc is a programming error: it is not a panic (library code never panics)
// but makes every Open fail, naming it, so it is found at the first start.
func Register(name string, open OpenFunc) {
	driversMu.Lock()
	defer driversMu.Unlock()
	switch _, dup := drivers[name]; {
	case open == nil:
		registerErr = errors.Join(registerErr, fmt.Errorf("store: driver %q registered with a nil OpenFunc", name))
	case dup:
		registerErr = errors.Join(registerErr, fmt.Errorf("store: driver %q registered twice", name))
	default:
		drivers[name] = open
	}
}

// Drivers lists the registered backends, sorted; tests run over all of them.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Open opens the backend cfg names, migrating its schema to the latest version.
// log may be nil.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	driversMu.RLock()
	open, regErr := drivers[cfg.Driver], registerErr
	driversMu.RUnlock()
	if regErr != nil {
		return nil, regErr
	}
	if open == nil {
		return nil, fmt.Errorf("%w %q (registered: %v; import its package)", ErrUnknownDriver, cfg.Driver, Drivers())
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := open(ctx, cfg.DSN, cfg.Node, log.With("driver", cfg.Driver))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Driver, err)
	}
	return s, nil
}
