package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Writer tuning that is not configuration.
const (
	writeTimeout      = 30 * time.Second      // one transaction attempt
	retryBackoffMin   = 50 * time.Millisecond // after the first failed attempt
	retryBackoffMax   = 5 * time.Second       // a database down for long is retried this often
	defaultCloseLimit = 30 * time.Second      // how long Close keeps retrying an unreachable database
	overflowLogEvery  = 10 * time.Second      // at most one overflow warning per interval
)

// Writer is how the call path writes: Submit queues ops and returns at once; one
// goroutine takes them in order and writes them in transactions of up to BatchSize
// ops, so a thousand calls cost a few commits, not thousands.
//
// # Nothing is dropped
//
// The queue holds QueueSize ops. When it is full, Submit waits up to OverflowWait
// for room (a short stall, not a stuck call), then queues its ops anyway and counts
// them as overflows with a warning in the log (at most one per 10 s). From then on,
// until the queue drains below QueueSize, Submit does not wait at all: the database
// is stalled and waiting would only slow every call. Memory, not records, is what
// a long stall costs; Stats and the metrics show it.
//
// A transaction that fails for a transient reason (the database is busy,
// restarting, unreachable) is retried with backoff, up to every 5 s, for as long as
// it takes; later ops wait behind it, so the order of writes is kept. When the
// database refuses an op (ErrRejected: a constraint), the batch is written one op
// per transaction to find it, and that op, which no retry can store, is counted as
// failed and logged at error level with its content, so it is still not lost.
//
// Close stops new ops, writes everything queued and returns when done; if the
// database stays unreachable past the close limit (default 30 s) the remaining ops
// are logged like refused ones and Close reports how many.
type Writer struct {
	s            Store
	log          *slog.Logger
	now          func() time.Time
	capacity     int
	batch        int
	interval     time.Duration // the shortest time between two transactions under load
	overflowWait time.Duration
	closeLimit   time.Duration
	metrics      *WriterMetrics

	mu          sync.Mutex // guards everything below
	queue       []Op
	room        chan struct{} // closed (and replaced) when the writer takes ops out
	progress    chan struct{} // closed (and replaced) when ops are finished
	overflowing bool          // the queue went past capacity and has not drained yet
	waiters     int           // Submits waiting for room
	flushers    int           // Flushes waiting: the writer does not let writes gather
	closed      bool
	closeErr    error
	lastWarn    time.Time
	inflight    int // ops taken by the goroutine and not yet finished
	stats       WriterStats

	wake    chan struct{} // capacity 1: ops are queued, or Close was called
	closing chan struct{} // closed by Close: the writer stops lingering
	giveUp  chan struct{} // closed when the close limit has passed
	exited  chan struct{} // closed when the goroutine returned
	dead    bool          // the close limit passed and the database still failed: fail the rest at once (goroutine only)
}

// WriterStats counts what a Writer did; every count is of ops.
type WriterStats struct {
	Submitted uint64 // accepted by Submit
	Written   uint64 // committed
	Failed    uint64 // refused by the database or unwritten at Close: logged, not stored
	Overflows uint64 // queued past QueueSize after waiting OverflowWait
	Retries   uint64 // transaction attempts that failed and were retried
	Batches   uint64 // transactions committed
	Pending   int    // queued now, including the batch being written
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithQueueSize sets how many ops the queue holds before Submit waits (default
// DefaultQueueSize).
func WithQueueSize(n int) WriterOption { return func(w *Writer) { w.capacity = n } }

// WithBatchSize sets the most ops per transaction (default DefaultBatchSize).
func WithBatchSize(n int) WriterOption { return func(w *Writer) { w.batch = n } }

// WithCommitInterval sets the shortest time between the starts of two transactions
// while writes keep coming (default 0: write as soon as anything is queued). Under
// load every commit costs page writes (WAL frames, one system call each), so letting
// a few milliseconds of writes gather in one transaction cuts the store's CPU many
// times over at hundreds of calls per second; a write after a quiet spell is not
// delayed, and a full batch or Close does not wait.
func WithCommitInterval(d time.Duration) WriterOption {
	return func(w *Writer) { w.interval = d }
}

// WithOverflowWait sets how long Submit waits for room in a full queue (default
// DefaultOverflowWait); 0 never waits.
func WithOverflowWait(d time.Duration) WriterOption {
	return func(w *Writer) { w.overflowWait = d }
}

// WithCloseLimit sets how long Close keeps retrying an unreachable database before it
// logs what is left (default 30 s).
func WithCloseLimit(d time.Duration) WriterOption { return func(w *Writer) { w.closeLimit = d } }

// WithWriterLogger sets the logger for overflows and failures (default: discard).
func WithWriterLogger(l *slog.Logger) WriterOption { return func(w *Writer) { w.log = l } }

// WithClock sets the clock CreateTicket stamps tickets with (default time.Now).
func WithClock(now func() time.Time) WriterOption { return func(w *Writer) { w.now = now } }

// WithMetrics records the Writer's counts in m (nil: none).
func WithMetrics(m *WriterMetrics) WriterOption { return func(w *Writer) { w.metrics = m } }

// NewWriter starts a Writer over s; Close stops it. It owns one goroutine.
func NewWriter(s Store, opts ...WriterOption) (*Writer, error) {
	if s == nil {
		return nil, errors.New("store: NewWriter: nil Store")
	}
	w := &Writer{
		s: s, now: time.Now, capacity: DefaultQueueSize, batch: DefaultBatchSize,
		overflowWait: DefaultOverflowWait, closeLimit: defaultCloseLimit,
		room: make(chan struct{}), progress: make(chan struct{}),
		wake: make(chan struct{}, 1), closing: make(chan struct{}), giveUp: make(chan struct{}), exited: make(chan struct{}),
	}
	for _, o := range opts {
		o(w)
	}
	switch {
	case w.capacity < 1:
		return nil, fmt.Errorf("store: NewWriter: queue size %d: want at least 1", w.capacity)
	case w.batch < 1:
		return nil, fmt.Errorf("store: NewWriter: batch size %d: want at least 1", w.batch)
	case w.overflowWait < 0 || w.closeLimit < 0 || w.interval < 0:
		return nil, errors.New("store: NewWriter: negative wait")
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	go w.run()
	return w, nil
}

// Submit queues ops to be written in order, after every op queued before them. It
// validates them first: an invalid op is returned as ErrInvalid and none of ops is
// queued. It queues a copy of each op's lists and JSON, so the caller may go on
// changing the record it submitted (append to NodePath, reuse a buffer) while the
// op waits. It never blocks longer than OverflowWait. After Close it returns
// ErrClosed: log what could not be queued.
func (w *Writer) Submit(ops ...Op) error {
	for _, op := range ops {
		if op == nil {
			return fmt.Errorf("%w: nil Op", ErrInvalid)
		}
		if err := op.Validate(); err != nil {
			return err
		}
	}
	if len(ops) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("store: submit %d ops: %w", len(ops), ErrClosed)
	}
	if len(w.queue)+len(ops) > w.capacity && !w.overflowing && w.overflowWait > 0 {
		w.waitForRoom(len(ops))
	}
	if len(w.queue)+len(ops) > w.capacity {
		w.overflowing = true
		w.stats.Overflows += uint64(len(ops))
		w.metrics.overflow(len(ops))
		if now := time.Now(); now.Sub(w.lastWarn) >= overflowLogEvery {
			w.lastWarn = now
			w.log.Warn("store: write queue full; queuing past its size (nothing is dropped)",
				"queued", len(w.queue), "queue_size", w.capacity, "overflows", w.stats.Overflows)
		}
	}
	for _, op := range ops {
		w.queue = append(w.queue, snapshot(op))
	}
	w.stats.Submitted += uint64(len(ops))
	w.metrics.pending(len(w.queue) + w.inflight)
	w.poke()
	return nil
}

// poke wakes the writer goroutine without waiting: ops are queued, a Submit or a
// Flush waits, or Close was called. wake holds one token, so pokes before the
// goroutine looks coalesce.
func (w *Writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// full reports, with w.mu held, that the writer should not let writes gather: a
// batch is ready, a Submit waits for room or a Flush waits.
func (w *Writer) full() bool { return len(w.queue) >= w.batch || w.waiters > 0 || w.flushers > 0 }

// waitForRoom waits, with w.mu held on entry and exit, until n more ops fit, the
// OverflowWait passes, or Close is called (then the ops are queued anyway: they were
// submitted before Close).
func (w *Writer) waitForRoom(n int) {
	timer := time.NewTimer(w.overflowWait)
	defer timer.Stop()
	w.waiters++
	defer func() { w.waiters-- }()
	w.poke() // a writer letting writes gather must take them now
	for len(w.queue)+n > w.capacity && !w.closed {
		room := w.room
		w.mu.Unlock()
		select {
		case <-room:
			w.mu.Lock()
		case <-timer.C:
			w.mu.Lock()
			return
		}
	}
}

// CreateTicket queues a new ticket and returns its id at once, so a ticket node can
// tell the caller the id without waiting for the database. An empty ID is made with
// NewTicketID, an empty Status is open, a zero CreatedAt is now and a zero
// UpdatedAt is CreatedAt.
func (w *Writer) CreateTicket(t Ticket) (string, error) {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = w.now()
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	if t.Status == TicketUnknown {
		t.Status = TicketOpen
	}
	if t.ID == "" {
		id, err := NewTicketID(t.CreatedAt)
		if err != nil {
			return "", err
		}
		t.ID = id
	}
	if err := w.Submit(PutTicket{Ticket: t}); err != nil {
		return "", err
	}
	return t.ID, nil
}

// Flush waits until every op submitted before it was written (or failed), or ctx
// ends. `hotline calls show` right after a call and tests use it.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	target := w.stats.Submitted
	w.flushers++
	defer func() { w.flushers-- }() // before the Unlock deferred above
	// A writer letting writes gather writes them now.
	w.poke()
	for w.stats.Written+w.stats.Failed < target {
		progress := w.progress
		w.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			w.mu.Lock()
			return fmt.Errorf("store: flush: %w", ctx.Err())
		}
		w.mu.Lock()
	}
	return nil
}

// Stats returns the Writer's counts so far.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.stats
	st.Pending = len(w.queue) + w.inflight
	return st
}

// Close stops accepting ops, writes every op queued and waits for the goroutine. It
// is idempotent; every call returns the same result: nil, or an error counting the
// ops that could not be written within the close limit (they are in the log).
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.closing)
		close(w.room) // waiting Submits queue their ops now
		w.room = make(chan struct{})
		w.poke()
		limit := time.AfterFunc(w.closeLimit, func() { close(w.giveUp) })
		defer limit.Stop()
	}
	w.mu.Unlock()
	<-w.exited
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeErr
}

// run is the writer goroutine: it takes up to batch ops at a time, in order, and
// writes them until the Writer is closed and the queue is empty.
func (w *Writer) run() {
	defer close(w.exited)
	var lost uint64
	var last time.Time // when the previous transaction started
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !(w.closed && w.waiters == 0) {
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if wait := w.interval - time.Since(last); wait > 0 && !w.full() && !w.closed {
			// Writes keep coming: let them gather for the rest of the interval, unless a
			// batch fills up, a Submit waits for room or Close is called.
			w.mu.Unlock()
			t := time.NewTimer(wait)
		linger:
			for {
				select {
				case <-t.C:
					break linger
				case <-w.closing:
					break linger
				case <-w.wake:
					w.mu.Lock()
					full := w.full()
					w.mu.Unlock()
					if full {
						break linger
					}
				}
			}
			t.Stop()
			w.mu.Lock()
		}
		last = time.Now()
		if len(w.queue) == 0 {
			if lost > 0 {
				w.closeErr = fmt.Errorf("store: writer closed with %d ops unwritten (logged at error level)", lost)
			}
			w.mu.Unlock()
			return
		}
		n := min(len(w.queue), w.batch)
		ops := make([]Op, n)
		copy(ops, w.queue)
		clear(w.queue[:n])
		w.queue = w.queue[n:]
		if len(w.queue) == 0 {
			w.queue = nil // let a backlog's array go
		}
		if len(w.queue) < w.capacity {
			w.overflowing = false
		}
		close(w.room)
		w.room = make(chan struct{})
		w.inflight = n
		w.mu.Unlock()

		written, failed := w.write(ops)
		// A backlog is written transaction after transaction without blocking; step
		// aside between them so the engine's other goroutines (the media clock above
		// all) do not wait for the whole backlog on a busy core.
		runtime.Gosched()

		w.mu.Lock()
		w.inflight = 0
		w.stats.Written += uint64(written)
		w.stats.Failed += uint64(failed)
		w.metrics.done(written, failed, len(w.queue))
		if w.closed {
			select {
			case <-w.giveUp:
				lost += uint64(failed)
			default:
			}
		}
		close(w.progress)
		w.progress = make(chan struct{})
		w.mu.Unlock()
	}
}

// write stores ops in one transaction, retrying transient failures; when the
// database refuses an op it writes them one per transaction so that only the
// refused ones fail. It returns how many were written and failed.
func (w *Writer) write(ops []Op) (written, failed int) {
	err := w.attempt(ops)
	if err == nil {
		return len(ops), 0
	}
	if len(ops) > 1 && errors.Is(err, ErrRejected) {
		for _, op := range ops {
			if err := w.attempt([]Op{op}); err != nil {
				w.logFailed(op, err)
				failed++
			} else {
				written++
			}
		}
		return written, failed
	}
	for _, op := range ops {
		w.logFailed(op, err)
	}
	return 0, len(ops)
}

// attempt writes ops in one transaction, retrying with backoff while the error is
// transient, until it succeeds, the database refuses (ErrRejected), or the Writer
// was closed and the close limit passed.
func (w *Writer) attempt(ops []Op) error {
	backoff := retryBackoffMin
	for {
		if w.dead {
			return errors.New("the database failed past the close limit")
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err := w.s.Write(ctx, ops...)
		cancel()
		if err == nil {
			w.metrics.batch(time.Since(start))
			w.mu.Lock()
			w.stats.Batches++
			w.mu.Unlock()
			return nil
		}
		if errors.Is(err, ErrRejected) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrClosed) {
			return err
		}
		w.mu.Lock()
		w.stats.Retries++
		w.mu.Unlock()
		w.metrics.retry()
		w.log.Warn("store: write failed; retrying", "ops", len(ops), "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.giveUp:
			t.Stop()
			w.dead = true
			return fmt.Errorf("close limit passed: %w", err)
		}
		backoff = min(2*backoff, retryBackoffMax)
	}
}

// logFailed logs an op that could not be stored, with its content, so an operator
// can still recover it from the log.
func (w *Writer) logFailed(op Op, err error) {
	w.log.Error("store: op not stored; its content follows", "call_id", opCallID(op),
		"op_type", fmt.Sprintf("%T", op), "op", op, "err", err)
}

// opCallID is the call an op belongs to, "" for none (a ticket made through the
// API, an agent state change).
func opCallID(op Op) string {
	switch o := op.(type) {
	case StartCall:
		return o.Record.ID
	case UpdateCall:
		return o.Record.ID
	case FinishCall:
		return o.Record.ID
	case CallEvent:
		return o.CallID
	case QueueEvent:
		return o.CallID
	case SurveyResult:
		return o.CallID
	case PutTicket:
		return o.Ticket.CallID
	}
	return ""
}

// snapshot copies what an op shares with its caller: the lists and JSON of a
// record or ticket, an event's data.
func snapshot(op Op) Op {
	switch o := op.(type) {
	case StartCall:
		o.Record = o.Record.clone()
		return o
	case UpdateCall:
		o.Record = o.Record.clone()
		return o
	case FinishCall:
		o.Record = o.Record.clone()
		return o
	case CallEvent:
		o.Data = slices.Clone(o.Data)
		return o
	case PutTicket:
		t := &o.Ticket
		t.Fields, t.Transcript, t.Recordings = slices.Clone(t.Fields), slices.Clone(t.Transcript), slices.Clone(t.Recordings)
		return o
	}
	return op
}
